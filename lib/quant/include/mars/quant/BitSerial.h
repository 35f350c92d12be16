#pragma once
/// \file
/// The bit-serial column count of the ADC model, written once for the
/// runtime's macro-level kernel and training's ADC forward pass: inputs and
/// weights held as bit masks (one bit per row, 64 rows a word), so that a
/// column's count over a CIM group is one AND and one popcount a word.

#include "mars/quant/IntegerNet.h"

#include <cstdint>

namespace mars::quant {

/// What one column's ADC reads for one input slice, before saturation:
/// Σ_t 2^t · popcount(input bit plane (slice.first + t) AND weight column),
/// where `inputPlanes` holds a pixel's bit planes ([input bit][word]) and
/// `column` one weight bit of one output channel, `words` 64-bit words each.
inline int64_t sliceCount(const uint64_t *inputPlanes, const uint64_t *column,
                          const InputSlice &slice, int64_t words) {
  int64_t count = 0;
  for (int t = 0; t < slice.count; ++t) {
    const uint64_t *plane = inputPlanes + (slice.first + t) * words;
    int64_t ones = 0;
    for (int64_t word = 0; word < words; ++word)
      ones += __builtin_popcountll(plane[word] & column[word]);
    count += ones << t;
  }
  return count;
}

} // namespace mars::quant
