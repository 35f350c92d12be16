#include "BufferAllocation.h"

#include <algorithm>
#include <vector>

namespace mars::passes {

namespace {
struct Interval {
  int64_t begin, end; // layer indices, inclusive
  int64_t offset, bytes;
};
} // namespace

int64_t allocateBuffers(program::Program &p) {
  const int64_t n = static_cast<int64_t>(p.buffers.size());
  const int64_t last = static_cast<int64_t>(p.layers.size());
  std::vector<int64_t> def(n, -1), use(n, -1), depth(n, 0);
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const program::Layer &l = p.layers[i];
    int64_t d = 0;
    for (int32_t in : l.inputs) {
      use[in] = static_cast<int64_t>(i);
      d = std::max(d, depth[in] + 1);
    }
    def[l.output] = static_cast<int64_t>(i);
    depth[l.output] = d;
  }
  if (p.output >= 0)
    use[p.output] = last; // read back after the last layer
  const int64_t capacity = int64_t(p.arch.chip.activationSramKiB) * 1024;
  std::vector<Interval> placed[2];
  int64_t spilled = 0;
  for (int64_t b = 0; b < n; ++b) {
    program::Buffer &buf = p.buffers[b];
    buf.bank = static_cast<int32_t>(depth[b] % 2);
    buf.memory = program::Memory::Sram;
    const int64_t begin = def[b], end = std::max(use[b], def[b]);
    const int64_t bytes = buf.bytes();
    // First fit: try offset 0 and the end of every overlapping live buffer.
    std::vector<int64_t> starts = {0};
    for (const Interval &iv : placed[buf.bank])
      if (iv.begin <= end && begin <= iv.end)
        starts.push_back(iv.offset + iv.bytes);
    std::sort(starts.begin(), starts.end());
    int64_t chosen = -1;
    for (int64_t s : starts) {
      bool clash = s + bytes > capacity;
      for (const Interval &iv : placed[buf.bank])
        clash = clash || (iv.begin <= end && begin <= iv.end &&
                          s < iv.offset + iv.bytes && iv.offset < s + bytes);
      if (!clash) {
        chosen = s;
        break;
      }
    }
    if (chosen < 0) {
      buf.memory = program::Memory::Dram;
      buf.offset = 0;
      ++spilled;
      continue;
    }
    buf.offset = chosen;
    placed[buf.bank].push_back({begin, end, chosen, bytes});
  }
  return spilled;
}

} // namespace mars::passes
