#pragma once
// The digital side of a core: Conv post-processing (bias, requantization,
// clamp) and the unfused or fused digital layers, each on a range of output
// channels. The arithmetic mirrors lib/quant's runInteger exactly; the
// agreement tests hold the two together.
#include "mars/program/Program.h"

#include <cstdint>
#include <vector>

namespace mars::runtime::detail {

using Buffers = std::vector<std::vector<int32_t>>;

/// Bias add, int32 saturation, requantization and clamp of Conv `layer`'s
/// channels [begin, end) from `acc` ([pixel][channel]) into its output
/// buffer (raw int32 for an accumulator output).
void postConv(const program::Program &p, const program::Layer &layer,
              const std::vector<int64_t> &acc, int32_t begin, int32_t end,
              Buffers &buffers);

/// Which vector instructions the digital layers use (the Add's
/// requantization): the executor derives it from its fast kernel, so a
/// kernel forced to AVX2 on an AVX-512 machine runs (and its tests test)
/// the AVX2 forms. Every level computes the same bits.
enum class DigitalSimd { Scalar, Avx2, Avx512 };
/// The widest level this CPU runs.
DigitalSimd bestDigitalSimd();

/// A pooling, Add, Concat or Reshape layer on output channels [begin, end).
void runDigitalLayer(const program::Program &p, const program::Layer &layer,
                     int32_t begin, int32_t end, DigitalSimd simd,
                     Buffers &buffers);

} // namespace mars::runtime::detail
