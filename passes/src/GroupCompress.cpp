/// group-compress: keeps only the non-zero CIM groups of every weight matrix
/// (DESIGN.md §2: a group of all zeros is neither stored nor activated). The
/// surviving groups of a column group are what a partition's index code
/// lists; map-to-macros writes the codes when it places them.
///
/// Requires lower-to-program (which keeps every group, zero or not).
#include "mars/passes/Passes.h"

#include <algorithm>

namespace mars::passes {

Expected<bool> runGroupCompress(CompileState &state, const CompileContext &) {
  if (!state.program)
    return makeError("group-compress needs the matrices of lower-to-program");
  int64_t total = 0, zero = 0;
  for (program::WeightMatrix &m : state.program->matrices) {
    total += int64_t(m.rowGroups) * m.colGroups;
    auto isZero = [](const program::Group &g) {
      return std::all_of(g.weights.begin(), g.weights.end(),
                         [](int8_t w) { return w == 0; });
    };
    const size_t before = m.groups.size();
    m.groups.erase(std::remove_if(m.groups.begin(), m.groups.end(), isZero),
                   m.groups.end());
    zero += static_cast<int64_t>(before - m.groups.size());
    // Index codes list row groups in ascending order within a column group.
    std::sort(m.groups.begin(), m.groups.end(),
              [](const program::Group &a, const program::Group &b) {
                return std::tie(a.colGroup, a.rowGroup) <
                       std::tie(b.colGroup, b.rowGroup);
              });
  }
  state.count("group-compress", "CIM groups", total);
  state.count("group-compress", "zero CIM groups skipped", zero);
  state.count("group-compress", "CIM groups stored", total - zero);
  return zero > 0;
}

} // namespace mars::passes
