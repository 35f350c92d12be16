// The named costs of the timing model (Timing.h explains each).
#include "mars/runtime/Timing.h"

#include <algorithm>
#include <utility>

namespace mars::runtime {

TimingCounters &TimingCounters::operator+=(const TimingCounters &o) {
  activations += o.activations;
  adcConversions += o.adcConversions;
  accumulates += o.accumulates;
  shiftAddBits += o.shiftAddBits;
  digitalOps += o.digitalOps;
  rowWrites += o.rowWrites;
  sramBytes += o.sramBytes;
  weightSramBytes += o.weightSramBytes;
  dramBytes += o.dramBytes;
  executedMacs += o.executedMacs;
  return *this;
}

void countActivations(const arch::ArchSpec &arch, int64_t groups,
                      int64_t pixels, int inputBits, bool inputSigned,
                      int channelsPerGroup, int weightBits,
                      TimingCounters &counters) {
  const int64_t activations =
      groups * pixels * arch.inputSlices(inputBits, inputSigned);
  const int64_t conversions = activations * channelsPerGroup * weightBits;
  counters.activations += activations;
  counters.adcConversions += conversions;
  counters.accumulates += conversions;
  counters.shiftAddBits +=
      conversions * arch.shiftAddBits(inputBits, weightBits);
}

int64_t pixelSliceCycles(const arch::ArchSpec &arch,
                         const std::vector<int64_t> &storedGroups) {
  int64_t maxGroups = 0, sumGroups = 0;
  for (int64_t n : storedGroups) {
    maxGroups = std::max(maxGroups, n);
    sumGroups += n;
  }
  return program::pixelSliceCycles(arch, maxGroups, sumGroups);
}

int64_t distinctRowGroups(const program::WeightImage &image) {
  // Partitions share word lines: one fetched row group feeds every partition
  // that stores it. The union of each matrix's index codes counts them.
  std::vector<std::pair<int32_t, std::vector<uint8_t>>> unions;
  for (const program::PartitionImage &p : image.partitions) {
    if (p.matrix < 0)
      continue;
    auto it = std::find_if(unions.begin(), unions.end(),
                           [&](const auto &u) { return u.first == p.matrix; });
    if (it == unions.end()) {
      unions.emplace_back(p.matrix, p.indexCode);
      continue;
    }
    std::vector<uint8_t> &bits = it->second;
    if (bits.size() < p.indexCode.size())
      bits.resize(p.indexCode.size(), 0);
    for (size_t i = 0; i < p.indexCode.size(); ++i)
      bits[i] |= p.indexCode[i];
  }
  int64_t rows = 0;
  for (const auto &u : unions)
    for (uint8_t byte : u.second)
      rows += __builtin_popcount(byte);
  return rows;
}

int64_t transferCycles(int64_t bytes, int64_t bytesPerCycle) {
  if (bytes <= 0)
    return 0;
  bytesPerCycle = std::max<int64_t>(bytesPerCycle, 1);
  return (bytes + bytesPerCycle - 1) / bytesPerCycle;
}

} // namespace mars::runtime
