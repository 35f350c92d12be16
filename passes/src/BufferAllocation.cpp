#include "BufferAllocation.h"

#include <algorithm>
#include <vector>

namespace mars::passes {

namespace {

/// Which part of a pipelined image a buffer belongs to (one stage, or both).
enum class Part { First, Second, HandOff };

struct Interval {
  int64_t begin, end; // layer indices, inclusive
  int64_t offset, bytes;
  Part part;
};

/// Whether `x` may not share bytes with `y`: they are live at once, because
/// their layers overlap, they belong to different stages (which run at
/// once in the steady state), or one is a hand-off (held all the time).
bool liveTogether(const Interval &x, const Interval &y) {
  if (x.part != y.part || x.part == Part::HandOff)
    return true;
  return x.begin <= y.end && y.begin <= x.end;
}

bool clash(const Interval &x, const std::vector<Interval> &placed) {
  for (const Interval &y : placed)
    if (x.offset < y.offset + y.bytes && y.offset < x.offset + x.bytes &&
        liveTogether(x, y))
      return true;
  return false;
}

} // namespace

int64_t allocateBuffers(program::Program &p, int32_t cut) {
  const int64_t n = static_cast<int64_t>(p.buffers.size());
  const int64_t last = static_cast<int64_t>(p.layers.size());
  std::vector<int64_t> def(n, -1), use(n, -1), depth(n, 0);
  for (size_t i = 0; i < p.layers.size(); ++i) {
    const program::Layer &l = p.layers[i];
    // A fused layer runs in its producer's Post, on every core at once: its
    // buffers are live from the producer on, so that a core writing the
    // fused output never overwrites an input another core still reads.
    const int64_t at = l.fusedInto >= 0 ? l.fusedInto : int64_t(i);
    int64_t d = 0;
    for (int32_t in : l.inputs) {
      use[in] = std::max(use[in], at);
      d = std::max(d, depth[in] + 1);
    }
    def[l.output] = at;
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
    if (end < 0 && b != p.input) {
      // No layer touches it (a pipeline stage compiled on its own keeps
      // the other stage's buffers): it takes no room.
      buf.offset = 0;
      continue;
    }
    Part part = Part::First;
    if (cut >= 0 && begin >= cut)
      part = Part::Second;
    else if (cut >= 0 && end >= cut)
      part = Part::HandOff;
    // A hand-off's second copy sits at the same offset in the other bank.
    std::vector<int> banks = {buf.bank};
    if (part == Part::HandOff)
      banks.push_back(1 - buf.bank);
    // First fit: try offset 0 and the end of every buffer in its banks
    // that is live with it.
    Interval mine{begin, end, -1, buf.bytes(), part};
    std::vector<int64_t> starts = {0};
    for (int bank : banks)
      for (const Interval &iv : placed[bank])
        if (liveTogether(mine, iv))
          starts.push_back(iv.offset + iv.bytes);
    std::sort(starts.begin(), starts.end());
    for (int64_t s : starts) {
      mine.offset = s;
      bool fits = s + mine.bytes <= capacity;
      for (int bank : banks)
        fits = fits && !clash(mine, placed[bank]);
      if (fits)
        break;
      mine.offset = -1;
    }
    if (mine.offset < 0) {
      buf.memory = program::Memory::Dram;
      buf.offset = 0;
      ++spilled;
      continue;
    }
    buf.offset = mine.offset;
    for (int bank : banks)
      placed[bank].push_back(mine);
  }
  return spilled;
}

} // namespace mars::passes
