// Channel-sliced digital layers; see DigitalOps.h.
#include "DigitalOps.h"
#include "RequantSimd.h"

#include "mars/quant/FixedPoint.h"
#include "mars/quant/PoolWindow.h"

#include <algorithm>
#include <cstring>
#include <limits>

// GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_* used as
// the pass-through of unmasked intrinsics); the values are never read.
// Clang has no such warning (and would warn about the unknown option).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mars::runtime::detail {

namespace {

using program::Buffer;
using program::Layer;
using program::LayerKind;

quant::Multiplier multiplierOf(const program::Requant &r) {
  return {r.value, r.shift};
}

int32_t saturateToInt32(int64_t v) {
  return static_cast<int32_t>(
      quant::clampTo(v, std::numeric_limits<int32_t>::min(),
                     std::numeric_limits<int32_t>::max()));
}

/// True for the max pool of most CNNs: 2×2 windows, stride 2, no dilation,
/// every window inside the input (no padding reached). Then each output is
/// the largest of its four inputs, which maxPool2x2 reads directly.
bool isInnerMaxPool2x2(const Layer &l, const Buffer &in, const Buffer &out) {
  return l.kind == LayerKind::MaxPool && l.kernelH == 2 && l.kernelW == 2 &&
         l.strideH == 2 && l.strideW == 2 && l.dilationH == 1 &&
         l.dilationW == 1 && l.padTop == 0 && l.padLeft == 0 &&
         2 * int64_t(out.height) <= in.height &&
         2 * int64_t(out.width) <= in.width;
}

/// Channels [begin, end) of such a pool: the same result as the window walk
/// below, without its per-element bounds checks (this loop vectorises).
void maxPool2x2(const Buffer &in, const Buffer &out, const int32_t *src,
                int32_t *dst, int32_t begin, int32_t end) {
  for (int32_t c = begin; c < end; ++c)
    for (int y = 0; y < out.height; ++y) {
      const int32_t *top =
          src + (int64_t(c) * in.height + 2 * y) * int64_t(in.width);
      const int32_t *bottom = top + in.width;
      int32_t *o = dst + (int64_t(c) * out.height + y) * int64_t(out.width);
      for (int x = 0; x < out.width; ++x)
        o[x] = std::max(std::max(top[2 * x], top[2 * x + 1]),
                        std::max(bottom[2 * x], bottom[2 * x + 1]));
    }
}

void pool(const program::Program &p, const Layer &l, int32_t begin, int32_t end,
          Buffers &buffers) {
  const Buffer &in = p.buffers[l.inputs[0]];
  const Buffer &out = p.buffers[l.output];
  const std::vector<int32_t> &src = buffers[l.inputs[0]];
  std::vector<int32_t> &dst = buffers[l.output];
  if (isInnerMaxPool2x2(l, in, out))
    return maxPool2x2(in, out, src.data(), dst.data(), begin, end);
  for (int32_t c = begin; c < end; ++c) {
    const int32_t *plane = src.data() + int64_t(c) * in.height * in.width;
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width; ++x) {
        int32_t &o = dst[(int64_t(c) * out.height + y) * out.width + x];
        if (l.kind == LayerKind::MaxPool) {
          int32_t best = std::numeric_limits<int32_t>::min();
          const int n = quant::forPoolWindow(
              l, in, plane, y, x, [&](int32_t v) { best = std::max(best, v); });
          o = n ? best : 0;
          continue;
        }
        int64_t sum = 0;
        int n = quant::forPoolWindow(l, in, plane, y, x,
                                     [&](int32_t v) { sum += v; });
        if (l.countIncludePad)
          n = quant::paddedWindowCount(l, in, y, x);
        o = n == 0 ? 0
                   : static_cast<int32_t>(quant::clampTo(
                         quant::requantize(sum, multiplierOf(l.requant[n - 1])),
                         l.clampLo, l.clampHi));
      }
  }
}

/// Add on AVX-512, 8 elements at a time, for inputs of at most 16 bits:
/// then each q × value is below 2^47 and the sum of at most 64 of them fits
/// int64, so requantizeSum's 128-bit sum and int64 clamp change nothing.
/// Returns the first element left for the scalar loop.
__attribute__((target("avx512f"))) int64_t
addAvx512(const Layer &l, const std::vector<quant::Multiplier> &ms,
          const Buffers &buffers, int64_t first, int64_t last, int32_t *dst) {
  int64_t i = first;
  const int shift = ms.empty() ? 0 : ms[0].shift;
  for (; i + 8 <= last; i += 8) {
    __m512i sum = _mm512_setzero_si512();
    for (size_t k = 0; k < l.inputs.size(); ++k) {
      const __m512i q = _mm512_cvtepi32_epi64(_mm256_loadu_si256(
          reinterpret_cast<const __m256i *>(buffers[l.inputs[k]].data() + i)));
      sum = _mm512_add_epi64(
          sum, _mm512_mul_epi32(q, _mm512_set1_epi64(ms[k].value)));
    }
    if (shift > 0)
      sum = roundingShift8(sum, shift);
    _mm256_storeu_si256(
        reinterpret_cast<__m256i *>(dst + i),
        _mm512_cvtepi64_epi32(clamp8(sum, l.clampLo, l.clampHi)));
  }
  return i;
}

/// addAvx512 on AVX2, 4 elements at a time (the same bound applies).
__attribute__((target("avx2"))) int64_t
addAvx2(const Layer &l, const std::vector<quant::Multiplier> &ms,
        const Buffers &buffers, int64_t first, int64_t last, int32_t *dst) {
  int64_t i = first;
  const int shift = ms.empty() ? 0 : ms[0].shift;
  const __m256i evens = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  for (; i + 4 <= last; i += 4) {
    __m256i sum = _mm256_setzero_si256();
    for (size_t k = 0; k < l.inputs.size(); ++k) {
      const __m256i q = _mm256_cvtepi32_epi64(_mm_loadu_si128(
          reinterpret_cast<const __m128i *>(buffers[l.inputs[k]].data() + i)));
      sum = _mm256_add_epi64(
          sum, _mm256_mul_epi32(q, _mm256_set1_epi64x(ms[k].value)));
    }
    if (shift > 0)
      sum = roundingShift4(sum, shift);
    sum = clamp4(sum, l.clampLo, l.clampHi);
    _mm_storeu_si128(
        reinterpret_cast<__m128i *>(dst + i),
        _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(sum, evens)));
  }
  return i;
}

void add(const program::Program &p, const Layer &l, int32_t begin, int32_t end,
         DigitalSimd simd, Buffers &buffers) {
  const Buffer &out = p.buffers[l.output];
  const int64_t plane = int64_t(out.height) * out.width;
  std::vector<int32_t> &dst = buffers[l.output];
  // The validator guarantees one shared shift: the exact sum is rounded
  // once, as lib/quant's Add.
  std::vector<quant::Multiplier> ms;
  for (const program::Requant &r : l.inputRequant)
    ms.push_back(multiplierOf(r));
  std::vector<int32_t> q(l.inputs.size());
  bool narrow = true;
  for (int32_t b : l.inputs)
    narrow = narrow && !p.buffers[b].isAccumulator && p.buffers[b].bits <= 16;
  int64_t first = begin * plane;
  if (narrow && simd == DigitalSimd::Avx512)
    first = addAvx512(l, ms, buffers, first, end * plane, dst.data());
  else if (narrow && simd == DigitalSimd::Avx2)
    first = addAvx2(l, ms, buffers, first, end * plane, dst.data());
  for (int64_t i = first; i < end * plane; ++i) {
    for (size_t k = 0; k < l.inputs.size(); ++k)
      q[k] = buffers[l.inputs[k]][i];
    dst[i] = static_cast<int32_t>(
        quant::clampTo(quant::requantizeSum(q.data(), ms.data(), ms.size()),
                       l.clampLo, l.clampHi));
  }
}

void concat(const program::Program &p, const Layer &l, int32_t begin,
            int32_t end, Buffers &buffers) {
  const Buffer &out = p.buffers[l.output];
  const int64_t plane = int64_t(out.height) * out.width;
  std::vector<int32_t> &dst = buffers[l.output];
  int32_t first = 0; // The first output channel of the current input.
  for (int32_t in : l.inputs) {
    const int32_t channels = p.buffers[in].channels;
    const int32_t lo = std::max(begin, first);
    const int32_t hi = std::min(end, first + channels);
    if (lo < hi) {
      // memmove: a hostile program may name the output as an input.
      std::memmove(dst.data() + lo * plane,
                   buffers[in].data() + (lo - first) * plane,
                   sizeof(int32_t) * size_t((hi - lo) * plane));
    }
    first += channels;
  }
}

} // namespace

void postConv(const program::Program &p, const Layer &l,
              const std::vector<int64_t> &acc, int32_t begin, int32_t end,
              Buffers &buffers) {
  const Buffer &out = p.buffers[l.output];
  const int64_t pixels = int64_t(out.height) * out.width;
  std::vector<int32_t> &dst = buffers[l.output];
  for (int32_t c = begin; c < end; ++c) {
    int32_t *plane = dst.data() + c * pixels;
    const int64_t bias = l.bias[c];
    if (out.isAccumulator) {
      for (int64_t px = 0; px < pixels; ++px)
        plane[px] = saturateToInt32(bias + acc[px * out.channels + c]);
      continue;
    }
    const quant::Multiplier m = multiplierOf(l.requant[c]);
    for (int64_t px = 0; px < pixels; ++px)
      plane[px] = static_cast<int32_t>(quant::clampTo(
          quant::requantize(saturateToInt32(bias + acc[px * out.channels + c]),
                            m),
          l.clampLo, l.clampHi));
  }
}

DigitalSimd bestDigitalSimd() {
  static const DigitalSimd best = cpuHasAvx512() ? DigitalSimd::Avx512
                                  : __builtin_cpu_supports("avx2")
                                      ? DigitalSimd::Avx2
                                      : DigitalSimd::Scalar;
  return best;
}

void runDigitalLayer(const program::Program &p, const Layer &l, int32_t begin,
                     int32_t end, DigitalSimd simd, Buffers &buffers) {
  switch (l.kind) {
  case LayerKind::MaxPool:
  case LayerKind::AvgPool: return pool(p, l, begin, end, buffers);
  case LayerKind::Add: return add(p, l, begin, end, simd, buffers);
  case LayerKind::Concat: return concat(p, l, begin, end, buffers);
  case LayerKind::Reshape: {
    const Buffer &out = p.buffers[l.output];
    const int64_t plane = int64_t(out.height) * out.width;
    const std::vector<int32_t> &src = buffers[l.inputs[0]];
    std::vector<int32_t> &dst = buffers[l.output];
    if (&src != &dst)
      std::copy(src.begin() + begin * plane, src.begin() + end * plane,
                dst.begin() + begin * plane);
    return;
  }
  case LayerKind::Conv: return; // Conv runs through Compute and Post.
  }
}

} // namespace mars::runtime::detail
