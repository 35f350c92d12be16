// marsc as a library: loads an ONNX model, compiles it for the default chip
// and runs one image through the simulator's functional model. The compile
// is `marsc compile MODEL --calib random` (post-training quantization on the
// same 16 seeded random images) and the image is the one `marsc run` uses
// without --input (seed 1), so the program and the outputs equal the CLI's.
//
//   embed MODEL.onnx [PROGRAM.bin]   (writes the program when given a path)
#include "mars/arch/ArchSpec.h"
#include "mars/onnx/Import.h"
#include "mars/passes/PassManager.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Functional.h"
#include "mars/support/Random.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace {

int fail(const mars::Error &error) {
  std::fprintf(stderr, "embed: error: %s\n", error.message().c_str());
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: embed MODEL.onnx [PROGRAM.bin]\n");
    return 2;
  }
  const std::string model = argv[1];

  // Import: ONNX file -> Graph IR.
  mars::Expected<mars::ir::Graph> graph = mars::onnx::importModelFile(model);
  if (!graph)
    return fail(graph.error());
  mars::passes::CompileState state;
  state.graph = graph.take();

  // Compile: the default pipeline for the default chip; a float model is
  // quantized on calibration images (here 16 seeded random ones).
  mars::passes::CompileContext context;
  context.arch = mars::arch::defaultArch();
  context.modelPath = model;
  const mars::ir::Shape &shape =
      state.graph.value(state.graph.inputs.at(0)).type.shape;
  if (shape.size() != 4)
    return fail(mars::Error(model + ": expected an N×C×H×W input"));
  mars::passes::CalibrationData calib;
  calib.source = "random";
  calib.shape = {shape[1], shape[2], shape[3]};
  calib.count = 16;
  calib.pixels =
      mars::Random(/*seed=*/1)
          .unitFloats(size_t(calib.count * shape[1] * shape[2] * shape[3]));
  context.calibration = calib;
  auto timings = mars::passes::runPipeline(mars::passes::defaultPipeline(),
                                           state, context);
  if (!timings)
    return fail(timings.error());
  if (argc == 3) {
    mars::Status written =
        mars::program::writeProgramFile(*state.program, argv[2]);
    if (!written)
      return fail(written.error());
  }

  // Run: the emitted bytes parsed (and validated) the way `marsc run` reads
  // a file, then one image through an Executor.
  auto program = mars::program::parseProgram(state.bytes.data(),
                                             state.bytes.size(), model);
  if (!program)
    return fail(program.error());
  const mars::program::Program &p = *program;
  mars::runtime::ExecOptions options;
  options.mode = mars::runtime::adcIsExact(p)
                     ? mars::runtime::ExecMode::Fast
                     : mars::runtime::ExecMode::MacroLevel;
  auto executor = mars::runtime::Executor::create(p, options);
  if (!executor)
    return fail(executor.error());
  const std::vector<float> image =
      mars::Random(/*seed=*/1).unitFloats(size_t(p.buffers[p.input].size()));
  auto out = executor->run(mars::runtime::quantizeInput(p, image.data()));
  if (!out)
    return fail(out.error());

  std::printf("program: %zu bytes, %zu layers\n", state.bytes.size(),
              p.layers.size());
  std::printf("class: %d\n", mars::runtime::argmaxClass(p, *out));
  std::printf("output:");
  for (size_t i = 0; i < out->size(); ++i)
    std::printf(" %.17g", mars::runtime::outputReal(p, *out, int64_t(i)));
  std::printf("\n");
  return 0;
}
