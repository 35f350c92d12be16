// `marsc compile model.onnx`: a compressed (or float + --calib) ONNX model to
// program.bin for the CIM accelerator, through the pass pipeline.
#include "Commands.h"

#include "mars/data/Calibration.h"
#include "mars/onnx/Export.h"
#include "mars/onnx/Import.h"
#include "mars/passes/CompileOptions.h"
#include "mars/passes/PassManager.h"
#include "mars/passes/Report.h"
#include "mars/runtime/Run.h"
#include "mars/support/AtomicFile.h"
#include "mars/support/Format.h"

#include <cstdio>
#include <iostream>
#include <memory>

namespace mars::cli {

namespace {

struct CompileCli {
  std::string model;
  std::string output;
  std::string archPath;
  std::string calib;
  int64_t calibLimit = 256;
  std::string calibMethod = "minmax";
  uint64_t seed = 1;
  std::string pipeline;
  std::vector<std::string> printIrAfter;
  bool timePasses = false;
  bool stats = false;
  bool verifyEach = false;
  bool report = false;
  bool json = false;
  std::string jsonOut;
  bool noDuplicate = false;
  std::string scheduleFor = "cycles";
  std::string stages = "auto";
  std::string saveQdq;
  passes::CompileOptions options;
};

Status runCompile(CompileCli &cli) {
  passes::CompileContext context;
  Expected<arch::ArchSpec> spec = arch::loadArchOrDefault(cli.archPath);
  if (!spec)
    return spec.error();
  context.arch = spec.take();
  auto method = passes::parseCalibMethod(cli.calibMethod);
  if (!method)
    return method.error();
  cli.options.calibMethod = *method;
  MARS_TRY(passes::checkCompileOptions(cli.options));
  cli.options.duplicate = !cli.noDuplicate;
  cli.options.scheduleFor = cli.scheduleFor == "traffic"
                                ? passes::ScheduleGoal::Traffic
                                : passes::ScheduleGoal::Cycles;
  cli.options.stages = cli.stages == "1"   ? passes::Stages::One
                       : cli.stages == "2" ? passes::Stages::Two
                                           : passes::Stages::Auto;
  context.options = cli.options;
  context.modelPath = cli.model;

  passes::CompileState state;
  Expected<ir::Graph> graph = onnx::importModelFile(cli.model);
  if (!graph)
    return graph.error();
  state.graph = graph.take();

  if (!cli.calib.empty()) {
    if (state.graph.inputs.size() != 1)
      return makeError(cli.model, ": --calib needs a model with one input");
    const ir::Shape &shape =
        state.graph.value(state.graph.inputs[0]).type.shape;
    if (shape.size() != 4)
      return makeError(cli.model, ": --calib needs an N×C×H×W input, got rank ",
                       shape.size());
    auto images = data::loadCalibrationImages(
        cli.calib, {shape[1], shape[2], shape[3]}, cli.calibLimit, cli.seed);
    if (!images)
      return images.error().withContext("--calib");
    context.calibration =
        passes::CalibrationData{images->source, images->shape, images->count,
                                std::move(images->pixels)};
  }

  passes::PassManagerOptions pm;
  pm.printIrAfter = cli.printIrAfter;
  pm.timePasses = cli.timePasses;
  pm.verifyEach = cli.verifyEach;
  pm.log = &std::cerr;
  std::vector<std::string> pipeline = passes::parsePipeline(cli.pipeline);
  std::fprintf(stderr, "marsc compile: %s (%zu passes)\n", cli.model.c_str(),
               pipeline.size());
  auto timings = passes::runPipeline(pipeline, state, context, pm);
  if (!timings)
    return timings.error().withContext(cli.model);
  if (state.bytes.empty())
    return makeError(cli.model, ": the pipeline did not end with emit; "
                                "nothing written");
  // A model trained through one ADC and compiled for another computes other
  // sums than training saw: say so before anything is written.
  const std::string note = runtime::trainedAdcNote(*state.program);
  if (!note.empty())
    std::fprintf(stderr, "marsc compile: warning: %s\n", note.c_str());
  if (cli.output.empty())
    cli.output = passes::defaultProgramPath(cli.model);
  // All the files or none; the program is renamed into place last, so that
  // its presence means every file this command writes is there (a Makefile
  // target, examples/dse).
  AtomicFileSet files;
  if (!cli.jsonOut.empty())
    MARS_TRY(files.add(cli.jsonOut, passes::mappingReportJson(state) + "\n"));
  if (!cli.saveQdq.empty()) {
    auto qdq = onnx::exportModel(state.graph);
    if (!qdq)
      return qdq.error().withContext("--save-qdq " + cli.saveQdq);
    MARS_TRY(files.add(cli.saveQdq, *qdq));
  }
  MARS_TRY(files.add(cli.output,
                     std::string(state.bytes.begin(), state.bytes.end())));
  MARS_TRY(files.commit());

  if (cli.json) {
    std::printf("%s\n", passes::mappingReportJson(state).c_str());
    return Status::success();
  }
  if (cli.stats)
    std::printf("%s", passes::formatStatistics(state).c_str());
  if (cli.report)
    std::printf("%s", passes::formatMappingReport(state).c_str());
  const program::Program &p = *state.program;
  // The capacity bound only when a window of layers sets it (--report
  // says which).
  const passes::CapacityBound &cap = state.capacityBound;
  const std::string capacity =
      cap.firstLayer >= 0 ? formatString("; capacity bound %lld, ratio %.3f",
                                         static_cast<long long>(cap.cycles),
                                         passes::capacityRatio(state))
                          : std::string();
  const std::string stages =
      state.pipelineCut >= 0
          ? formatString(" in a two-stage pipeline, latency %lld",
                         static_cast<long long>(passes::latencyCycles(state)))
          : std::string();
  std::printf("wrote %s: %zu bytes, %zu layers, %zu weight images, %lld "
              "cycles per image%s (bound %lld, ratio %.3f%s)\n",
              cli.output.c_str(), state.bytes.size(), p.layers.size(),
              p.images.size(), static_cast<long long>(p.info.scheduledCycles),
              stages.c_str(), static_cast<long long>(p.info.boundCycles),
              passes::scheduleRatio(state), capacity.c_str());
  return Status::success();
}

} // namespace

Command addCompileCommand(CLI::App &parent) {
  auto cli = std::make_shared<CompileCli>();
  CLI::App *app = parent.add_subcommand(
      "compile",
      "Compile a compressed (or float, with --calib) ONNX model into "
      "a program for the CIM accelerator.");
  app->footer(passes::passListHelp() +
              "\nInputs: a compressed model from `marsc train` compiles as is; "
              "a float model needs --calib (post-training quantization).\n"
              "Nothing is written when compilation fails.");
  app->add_option("model", cli->model, "ONNX model")->required();
  app->add_option("-o,--output", cli->output,
                  "Program file (default: the model name with .bin)");
  app->add_option("--arch", cli->archPath,
                  "Arch JSON (default: the built-in examples/arch/mars.json)");
  app->add_option("--calib", cli->calib,
                  "Calibration data for float models: fashion-mnist, "
                  "fashion-mnist:DIR, mnist:DIR, cifar10:DIR, cifar100:DIR, "
                  "x.npy, or random (seeded uniform images in [0, 1): at "
                  "most 16, whatever --calib-limit says; a quick check, not "
                  "a calibration)");
  app->add_option("--calib-limit", cli->calibLimit, "Calibration images to use")
      ->capture_default_str()
      ->check(CLI::Range(int64_t(1), int64_t(1000000)));
  app->add_option("--calib-method", cli->calibMethod, "minmax or percentile")
      ->capture_default_str();
  app->add_option("--percentile", cli->options.percentile,
                  "Percentile of |activation| for --calib-method percentile")
      ->capture_default_str()
      ->check(CLI::Range(50.0, 100.0));
  app->add_option("--wbits", cli->options.weightBits,
                  "Weight bits of inner layers (PTQ)")
      ->capture_default_str()
      ->check(CLI::Range(2, 8));
  app->add_option("--abits", cli->options.activationBits,
                  "Activation bits (PTQ)")
      ->capture_default_str()
      ->check(CLI::Range(2, 8));
  app->add_option("--prune", cli->options.prune,
                  "Fraction of each inner layer's CIM groups to zero by "
                  "magnitude, one shot")
      ->capture_default_str();
  app->add_flag("--pow2-scales", cli->options.powerOfTwoScales,
                "Requantize with power-of-two shifts only");
  app->add_option("--seed", cli->seed, "Seed (random calibration data)")
      ->capture_default_str();
  app->add_flag("--no-duplicate", cli->noDuplicate,
                "Do not duplicate weights into idle macros");
  app->add_option(
         "--schedule-for", cli->scheduleFor,
         "What the mapping and weight streaming minimise when weights "
         "stream from DRAM: cycles (per image, by the schedule's clock) or "
         "traffic (off-chip weight bytes per image, hence DRAM energy; then "
         "cycles)")
      ->capture_default_str()
      ->check(CLI::IsMember({"cycles", "traffic"}));
  app->add_option(
         "--image-stages", cli->stages,
         "auto: run the model as a two-stage pipeline over the cores (the "
         "first half runs the early layers of image n+1 while the second "
         "runs the late layers of image n) when a run of layers stores more "
         "weight than the chip holds (so one image at a time leaves the DRAM "
         "channel idle) and that cuts the cycles per image by 5% or more; it "
         "doubles one image's latency. 1: one image at a time (the lowest latency). 2: "
         "a pipeline whenever the model can be cut")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "1", "2"}));
  app->add_option(
      "--save-qdq", cli->saveQdq,
      "Also write the quantized model (QDQ ONNX) that was compiled; "
      "`marsc eval --integer` runs its integer reference");
  app->add_option("--pipeline", cli->pipeline,
                  "Comma-separated pass list replacing the default pipeline");
  app->add_option("--print-ir-after", cli->printIrAfter,
                  "Print the IR after PASS (or all) to stderr")
      ->delimiter(',');
  app->add_flag("--time-passes", cli->timePasses, "Per-pass timings to stderr");
  app->add_flag("--stats", cli->stats, "Per-pass statistics");
  app->add_flag("--verify-each", cli->verifyEach,
                "Verify the IR after every pass (always on in Debug builds)");
  app->add_flag("--report", cli->report,
                "Mapping quality per layer and scheduled/bound cycles");
  app->add_flag("--json", cli->json,
                "Machine-readable report and statistics on stdout");
  app->add_option("--json-out", cli->jsonOut,
                  "Also write the --json report to this file (atomically; for "
                  "batch pipelines such as examples/dse)");
  return {app, [cli] { return runCompile(*cli); }};
}

} // namespace mars::cli
