/// \file
/// Fuzz target: the program loader and validator. Bytes → parseProgram
/// (checksum not verified, so mutations reach the field checks) → validated
/// Program → disassembler → one image through the functional model (the
/// exact Fast kernel when the ADC cannot saturate, else MacroLevel, as
/// `marsc run --mode auto` chooses) on a zero input.
///
/// Programs whose image would take long to simulate are skipped: the bound
/// below counts the macro work of every Compute instruction and the digital
/// work of every layer, and the fuzzer looks for crashes, not slow inputs.

#include "mars/program/ProgramFile.h"
#include "mars/runtime/Functional.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

using namespace mars;

constexpr int64_t kMaxWork = int64_t(1) << 22;

/// An upper bound on the element operations of one image (saturating).
int64_t workBound(const program::Program &p, bool macroLevel) {
  int64_t work = 0;
  auto add = [&work](int64_t w) { work = std::min(kMaxWork + 1, work + w); };
  for (const program::Buffer &b : p.buffers)
    add(b.size());
  for (const program::Layer &l : p.layers) {
    if (l.output < 0 || size_t(l.output) >= p.buffers.size())
      continue;
    int64_t outSize = p.buffers[size_t(l.output)].size();
    add(std::min(kMaxWork + 1, outSize * int64_t(l.kernelH) * l.kernelW *
                                   int64_t(l.inputs.size() + 1)));
  }
  const int sliceBits = 16 + 1; // a 16-bit input bit-serially, plus sign
  for (const auto &stream : p.streams)
    for (const program::Instr &in : stream) {
      if (in.op != program::Opcode::Compute)
        continue;
      const program::WeightImage &image = p.images[size_t(in.a)];
      int64_t groups = 0;
      for (const program::PartitionImage &part : image.partitions)
        groups += part.matrix < 0 ? 0 : program::storedGroups(part);
      const program::WeightMatrix &m =
          p.matrices[size_t(p.layers[size_t(image.layer)].matrix)];
      int64_t perPixel = groups * m.rowsPerGroup * m.channelsPerGroup *
                         sliceBits * (macroLevel ? m.weightBits : 1);
      int64_t pixels = std::max<int64_t>(0, int64_t(in.c) - in.b);
      if (perPixel > 0 && pixels > (kMaxWork + 1) / perPixel)
        return kMaxWork + 1;
      add(pixels * perPixel);
    }
  return work;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20))
    return -1;
  program::ReadOptions options;
  options.verifyChecksum = false;
  auto program = program::parseProgram(data, size, "fuzz.bin", options);
  if (!program)
    return 0;
  (void)program::disassemble(*program);

  runtime::ExecOptions exec;
  exec.mode = runtime::adcIsExact(*program) ? runtime::ExecMode::Fast
                                            : runtime::ExecMode::MacroLevel;
  if (workBound(*program, exec.mode == runtime::ExecMode::MacroLevel) >
      kMaxWork)
    return 0;
  auto executor = runtime::Executor::create(*program, exec);
  if (!executor)
    return 0;
  const program::Buffer &in = program->buffers[size_t(program->input)];
  std::vector<float> image(size_t(in.size()), 0.0f);
  std::vector<int32_t> input = runtime::quantizeInput(*program, image.data());
  auto out = executor->run(input);
  if (out && !out->empty())
    (void)runtime::argmaxClass(*program, *out);
  return 0;
}
