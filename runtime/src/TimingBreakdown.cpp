// Where the time goes: a sweep over one core's tagged intervals.
#include "TimingInternal.h"

#include <algorithm>
#include <array>
#include <tuple>

namespace mars::runtime::detail {

TimeBreakdown &operator+=(TimeBreakdown &a, const TimeBreakdown &b) {
  a.compute += b.compute;
  a.digital += b.digital;
  a.reload += b.reload;
  a.memory += b.memory;
  a.stall += b.stall;
  a.idle += b.idle;
  return a;
}

TimeBreakdown splitTime(const std::vector<Interval> &intervals, int64_t from,
                        int64_t to, int32_t layer) {
  TimeBreakdown out;
  if (to <= from)
    return out;
  // (time, cause, +1/-1): a sweep keeps how many intervals of each cause
  // cover the current point, so the whole split is O(n log n).
  std::vector<std::tuple<int64_t, int, int>> edges;
  for (const Interval &iv : intervals) {
    if (layer != kAnyLayer && iv.layer != layer)
      continue;
    const int64_t s = std::max(iv.start, from), e = std::min(iv.end, to);
    if (e <= s)
      continue;
    edges.emplace_back(s, static_cast<int>(iv.cause), +1);
    edges.emplace_back(e, static_cast<int>(iv.cause), -1);
  }
  std::sort(edges.begin(), edges.end());
  std::array<int64_t, static_cast<size_t>(Cause::Count)> cover{};
  auto charge = [&](int64_t cycles) {
    if (cycles <= 0)
      return;
    for (size_t c = 0; c < cover.size(); ++c) {
      if (cover[c] == 0)
        continue;
      switch (static_cast<Cause>(c)) {
      case Cause::Compute: out.compute += cycles; return;
      case Cause::Digital: out.digital += cycles; return;
      case Cause::Reload: out.reload += cycles; return;
      case Cause::Memory: out.memory += cycles; return;
      case Cause::Stall: out.stall += cycles; return;
      case Cause::Count: break;
      }
    }
    out.idle += cycles;
  };
  int64_t at = from;
  for (const auto &[time, cause, delta] : edges) {
    charge(time - at);
    at = time;
    cover[cause] += delta;
  }
  charge(to - at);
  return out;
}

} // namespace mars::runtime::detail
