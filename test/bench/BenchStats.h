#pragma once
/// \file
/// The summaries every benchmark prints: medians (these machines are noisy)
/// and quantiles of repeated timings.
#include <algorithm>
#include <cstddef>
#include <vector>

namespace mars::bench {

/// The median; the mean of the middle two for an even count.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// The q-quantile (0..1), the nearest sample.
inline double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))];
}

} // namespace mars::bench
