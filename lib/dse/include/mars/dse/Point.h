#pragma once
/// \file
/// Design points encoded in result file names:
/// `model-vgg-small_sparsity-0.5_adcbits-3.run.json` is the point
/// {model: vgg-small, sparsity: 0.5, adcbits: 3}.

#include <string>
#include <utility>
#include <vector>

namespace mars::dse {

/// A design point: axis names and values, in file-name order.
struct Point {
  /// The file name without directory, `.json` and one of `.run`,
  /// `.compile`, `.report` or `.train`.
  std::string stem;
  std::vector<std::pair<std::string, std::string>> axes;

  /// The value of `key`, or nullptr when the point has no such axis.
  const std::string *find(const std::string &key) const;
};

/// The point of a result file. The stem is split on `_` into `key-value`
/// tokens, split at the first `-` (key `[a-z][a-z0-9]*`, value non-empty,
/// may contain `-` and `.`). When any token is not of that form, or a key
/// appears twice, the point is the single axis `point=<stem>`.
Point parsePoint(const std::string &path);

/// True when every axis of `part` is in `whole` with the same value.
bool isSubset(const Point &part, const Point &whole);

/// True when both points have the same axes and values (in any order).
bool samePoint(const Point &a, const Point &b);

/// Orders axis values: values that parse fully as finite numbers first,
/// compared numerically (so 9 < 10 and 0.25 < 0.5), then the rest as
/// strings; equal numbers written differently ("0.5", "0.50") by string.
/// Returns <0, 0 or >0. A total order, so sorting never depends on the
/// order of the inputs.
int compareValues(const std::string &a, const std::string &b);

} // namespace mars::dse
