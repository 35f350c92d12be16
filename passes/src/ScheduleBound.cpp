// The cycle lower bound (ScheduleBound.h).
#include "ScheduleBound.h"

#include "MappingModel.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mars::passes {

namespace {

int64_t storedWeightBits(const program::Program &p, const program::Layer &l) {
  return static_cast<int64_t>(p.matrices[l.matrix].groups.size()) *
         p.arch.macro.wlOn * p.arch.partitionCols();
}

/// Cycles for `bytes` to cross the DRAM channel and arrive.
int64_t dramCycles(const arch::ArchSpec &a, int64_t bytes) {
  return (bytes + a.timing.dramBytesPerCycle - 1) / a.timing.dramBytesPerCycle +
         a.timing.dramLatencyCycles;
}

/// Weight bytes the chip can hold at once: its weight SRAMs and the
/// macros' cells.
int64_t onChipWeightBytes(const arch::ArchSpec &a) {
  return int64_t(a.chip.cores) * a.chip.weightSramKiB * 1024 +
         int64_t(a.totalMacros()) * a.macro.rows * a.macro.cols / 8;
}

} // namespace

int64_t layerWeightBytes(const program::Program &p, int32_t layer) {
  return storedWeightBits(p, p.layers[layer]) / 8;
}

double layerMacroCycles(const program::Program &p, int32_t layer) {
  const arch::ArchSpec &a = p.arch;
  const program::Layer &l = p.layers[layer];
  const program::WeightMatrix &m = p.matrices[l.matrix];
  const program::Buffer &out = p.buffers[l.output];
  const double activations = double(m.groups.size()) * out.height * out.width *
                             inputSlices(a, p.buffers[l.inputs[0]]) *
                             a.timing.activationCycles;
  // A partition wider than the ADCs is sensed in several steps, alone.
  if (a.macro.blOn < a.partitionCols())
    return activations * std::ceil(double(a.partitionCols()) / a.macro.blOn);
  return activations / concurrentPartitions(a);
}

int64_t lowerBoundCycles(const program::Program &p) {
  const arch::ArchSpec &a = p.arch;
  double macroCycles = 0;
  int64_t weightBits = 0;
  for (size_t i = 0; i < p.layers.size(); ++i)
    if (p.layers[i].kind == program::LayerKind::Conv) {
      macroCycles += layerMacroCycles(p, static_cast<int32_t>(i));
      weightBits += storedWeightBits(p, p.layers[i]);
    }
  const int64_t macroBits =
      int64_t(a.totalMacros()) * a.macro.rows * a.macro.cols;
  const int64_t compute =
      static_cast<int64_t>(std::floor(macroCycles / a.totalMacros()));
  const int64_t writeBitsPerCycle =
      int64_t(a.totalMacros()) * a.macro.cols / a.timing.rowWriteCycles;
  const int64_t writes =
      std::max<int64_t>(0, weightBits - macroBits) / writeBitsPerCycle;

  const int64_t inBytes = p.buffers[p.input].bytes();
  const int64_t outBytes = p.buffers[p.output].bytes();
  const int64_t onChipBytes = onChipWeightBytes(a);
  const int64_t weightBytes =
      std::max<int64_t>(0, weightBits / 8 - onChipBytes);
  const int64_t serial = dramCycles(a, inBytes) + std::max(compute, writes) +
                         dramCycles(a, outBytes);
  return std::max(serial, dramCycles(a, inBytes + outBytes + weightBytes));
}

CapacityBound capacityBound(const program::Program &p, int64_t plainBound) {
  const arch::ArchSpec &a = p.arch;
  CapacityBound best;
  best.cycles = plainBound;
  best.onChipBytes = onChipWeightBytes(a);
  // The Conv layers in execution order: their compute and stored bytes.
  std::vector<int32_t> layer;
  std::vector<double> compute;
  std::vector<int64_t> bytes;
  double allCompute = 0;
  for (size_t i = 0; i < p.layers.size(); ++i)
    if (p.layers[i].kind == program::LayerKind::Conv) {
      layer.push_back(static_cast<int32_t>(i));
      compute.push_back(layerMacroCycles(p, layer.back()) / a.totalMacros());
      bytes.push_back(storedWeightBits(p, p.layers[i]) / 8);
      allCompute += compute.back();
    }
  const int64_t imageInOut = dramCycles(a, p.buffers[p.input].bytes()) +
                             dramCycles(a, p.buffers[p.output].bytes());
  for (size_t first = 0; first < layer.size(); ++first) {
    double windowCompute = 0;
    int64_t windowBytes = 0;
    for (size_t last = first; last < layer.size(); ++last) {
      windowCompute += compute[last];
      windowBytes += bytes[last];
      const double channel =
          double(windowBytes - best.onChipBytes) / a.timing.dramBytesPerCycle -
          a.timing.dramLatencyCycles;
      if (channel <= windowCompute)
        continue;
      const int64_t cycles =
          imageInOut + static_cast<int64_t>(
                           std::floor(allCompute - windowCompute + channel));
      if (cycles <= best.cycles)
        continue;
      best.cycles = cycles;
      best.firstLayer = layer[first];
      best.lastLayer = layer[last];
      best.weightBytes = windowBytes;
      best.computeCycles = static_cast<int64_t>(std::floor(windowCompute));
    }
  }
  return best;
}

} // namespace mars::passes
