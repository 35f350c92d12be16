// A macro's peak figures with the simulator's counting and pricing
// (MacroPeak.h).
#include "mars/runtime/MacroPeak.h"

#include "mars/runtime/Energy.h"
#include "mars/runtime/Timing.h"

namespace mars::runtime {

namespace {
/// The peak is quoted for unsigned inputs, as after ReLU (MacroPeak.h).
constexpr bool kInputSigned = false;
} // namespace

Expected<MacroPeak> macroPeak(const arch::ArchSpec &base, int inputBits,
                              int weightBits) {
  arch::ArchSpec a = base;
  a.macro.weightBits = weightBits;
  if (inputBits < 1 || inputBits > 16)
    return makeError("macro peak: input bits must be in 1..16, got ",
                     inputBits);
  if (std::vector<std::string> problems = arch::validate(a); !problems.empty())
    return makeError("macro peak at ", weightBits,
                     "-bit weights: ", problems.front());

  MacroPeak p;
  p.inputBits = inputBits;
  p.weightBits = weightBits;
  const int channels = a.channelsPerPartition();
  TimingCounters counters;
  countActivations(a, /*groups=*/1, /*pixels=*/1, inputBits, kInputSigned,
                   channels, weightBits, counters);
  p.macs = int64_t(a.macro.wlOn) * channels;
  p.pj = dynamicEnergy(a.energy, counters).macrosPj();
  p.pjPerMac = p.pj / double(p.macs);
  p.topsPerWatt = p.pjPerMac > 0 ? 2.0 / p.pjPerMac : 0.0;
  p.cycles = a.inputSlices(inputBits, kInputSigned) * pixelSliceCycles(a, {1});
  p.latencyNs = double(p.cycles) * 1e3 / a.timing.clockMhz;
  return p;
}

} // namespace mars::runtime
