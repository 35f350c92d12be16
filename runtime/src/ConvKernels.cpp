// The Conv kernels of the functional model: im2col, the fast integer GEMM
// over stored groups (AVX2 when the CPU has it), and the bit-serial macro
// model with its ADC.
#include "ConvKernels.h"
#include "Avx2Accumulate.h"
#include "mars/quant/BitSerial.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>

namespace mars::runtime::detail {

namespace {

template <typename T>
void fillRows(const program::Program &p, const program::Layer &l,
              const std::vector<int32_t> &in, int32_t rowsPadded,
              std::vector<T> &x) {
  const program::Buffer &ib = p.buffers[l.inputs[0]];
  const program::Buffer &ob = p.buffers[l.output];
  const int64_t plane = int64_t(ib.height) * ib.width;
  const int32_t C = ib.channels;
  // Channels-last copy of the input first: then each (pixel, kernel tap)
  // of the im2col row is one contiguous run of C values.
  thread_local std::vector<T> hwc;
  hwc.resize(size_t(plane) * C);
  for (int32_t c = 0; c < C; ++c) {
    const int32_t *src = in.data() + c * plane;
    for (int64_t i = 0; i < plane; ++i)
      hwc[size_t(i) * C + c] = static_cast<T>(src[i]);
  }
  x.assign(static_cast<size_t>(ob.height) * ob.width * rowsPadded, T(0));
  for (int32_t oy = 0; oy < ob.height; ++oy)
    for (int32_t ox = 0; ox < ob.width; ++ox) {
      T *row = x.data() + (int64_t(oy) * ob.width + ox) * rowsPadded;
      for (int32_t ky = 0; ky < l.kernelH; ++ky) {
        const int32_t sy = oy * l.strideH - l.padTop + ky * l.dilationH;
        if (sy < 0 || sy >= ib.height)
          continue;
        for (int32_t kx = 0; kx < l.kernelW; ++kx) {
          const int32_t sx = ox * l.strideW - l.padLeft + kx * l.dilationW;
          if (sx < 0 || sx >= ib.width)
            continue;
          std::memcpy(row + int64_t(ky * l.kernelW + kx) * C,
                      hwc.data() + (int64_t(sy) * ib.width + sx) * C,
                      sizeof(T) * size_t(C));
        }
      }
    }
}

template <typename T>
void fillMasks(const T *x, int64_t pixels, int32_t rowsPadded, int32_t R,
               int32_t bits, int32_t words, std::vector<uint64_t> &masks) {
  const int32_t rowGroups = rowsPadded / R;
  masks.assign(static_cast<size_t>(pixels) * rowGroups * bits * words, 0);
  const uint32_t typeMask = bits >= 32 ? ~0u : (1u << bits) - 1;
  for (int64_t px = 0; px < pixels; ++px)
    for (int32_t rg = 0; rg < rowGroups; ++rg) {
      uint64_t *m = masks.data() + ((px * rowGroups + rg) * bits) * words;
      const T *v = x + px * rowsPadded + int64_t(rg) * R;
      for (int32_t r = 0; r < R; ++r) {
        uint32_t u = static_cast<uint32_t>(int32_t(v[r])) & typeMask;
        while (u) {
          const int t = __builtin_ctz(u);
          m[t * words + r / 64] |= uint64_t(1) << (r % 64);
          u &= u - 1;
        }
      }
    }
}

} // namespace

void buildIm2col(const program::Program &p, const program::Layer &layer,
                 const std::vector<int32_t> &in, bool withMasks, Im2col &c) {
  const program::WeightMatrix &m = p.matrices[layer.matrix];
  const program::Buffer &ib = p.buffers[layer.inputs[0]];
  const program::Buffer &ob = p.buffers[layer.output];
  c.pixels = int64_t(ob.height) * ob.width;
  c.rowsPadded = m.rowGroups * m.rowsPerGroup;
  c.narrow = ib.isSigned ? ib.bits <= 16 : ib.bits <= 15;
  c.bits = ib.bits;
  c.words = (m.rowsPerGroup + 63) / 64;
  if (c.narrow) {
    c.x32.clear();
    fillRows(p, layer, in, c.rowsPadded, c.x16);
  } else {
    c.x16.clear();
    fillRows(p, layer, in, c.rowsPadded, c.x32);
  }
  c.masks.clear();
  if (withMasks)
    buildInputMasks(m.rowsPerGroup, c);
}

void buildInputMasks(int32_t R, Im2col &c) {
  if (c.narrow)
    fillMasks(c.x16.data(), c.pixels, c.rowsPadded, R, c.bits, c.words,
              c.masks);
  else
    fillMasks(c.x32.data(), c.pixels, c.rowsPadded, R, c.bits, c.words,
              c.masks);
}

PreparedMatrix prepareMatrix(const program::WeightMatrix &m,
                             PreparedLayouts layouts) {
  const bool withBitMasks = layouts.bitMasks;
  PreparedMatrix pm;
  const int32_t R = m.rowsPerGroup, C = m.channelsPerGroup, B = m.weightBits;
  pm.rowsPerGroup = R;
  pm.channelsPerGroup = C;
  pm.weightBits = B;
  pm.pairRows = (R + 1) / 2 * 2;
  pm.words = (R + 63) / 64;
  if (layouts.pairs)
    pm.pairs.assign(m.groups.size() * size_t(pm.pairRows) * C, 0);
  if (withBitMasks)
    pm.bitMasks.assign(m.groups.size() * size_t(C) * B * pm.words, 0);
  const uint32_t typeMask = (1u << B) - 1;
  for (size_t g = 0; g < m.groups.size(); ++g) {
    const std::vector<int8_t> &w = m.groups[g].weights; // [R][C]
    if (layouts.pairs) {
      int16_t *pairs = pm.pairs.data() + g * size_t(pm.pairRows) * C;
      for (int32_t r = 0; r < R; ++r)
        for (int32_t j = 0; j < C; ++j)
          pairs[(r / 2) * 2 * C + j * 2 + r % 2] = w[size_t(r) * C + j];
    }
    if (!withBitMasks)
      continue;
    uint64_t *masks = pm.bitMasks.data() + g * size_t(C) * B * pm.words;
    // Branch-free: a weight's bits are as good as random, and a
    // mispredicted branch per bit made this most of the set-up time.
    for (int32_t r = 0; r < R; ++r)
      for (int32_t j = 0; j < C; ++j) {
        const int8_t v = w[size_t(r) * C + j];
        const uint64_t u = static_cast<uint32_t>(int32_t(v)) & typeMask;
        uint64_t *column = masks + size_t(j) * B * pm.words + r / 64;
        for (int32_t b = 0; b < B; ++b)
          column[size_t(b) * pm.words] |= (u >> b & 1) << (r % 64);
      }
  }
  return pm;
}

namespace {

/// Adds a partition's [pixel][channel] int32 sums into the accumulators.
void addPartition(const ComputeArgs &a, int32_t colGroup,
                  const std::vector<int32_t> &sums, int32_t C) {
  const int32_t cols = a.matrix->cols;
  const int32_t first = colGroup * C;
  const int32_t valid = std::min(C, cols - first);
  for (int32_t px = a.pixelBegin; px < a.pixelEnd; ++px) {
    const int32_t *s = sums.data() + int64_t(px - a.pixelBegin) * C;
    int64_t *dst = a.acc + int64_t(px) * cols + first;
    for (int32_t j = 0; j < valid; ++j)
      dst[j] += s[j];
  }
}

/// 8 channels per partition, even wl_on, int16 inputs: one 256-bit
/// multiply-add of a broadcast input pair covers a row pair of all 8
/// channels.
/// Two adjacent int16 inputs broadcast to every 32-bit lane.
__attribute__((target("avx2"))) inline __m256i pairAt(const int16_t *p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

/// Full column groups add straight into the accumulators; a partial last
/// one goes through `sums` (returns false then, and the caller adds).
__attribute__((target("avx2"))) bool partitionAvx2(const ComputeArgs &a,
                                                   const PartitionWork &w,
                                                   std::vector<int32_t> &sums) {
  const PreparedMatrix &pm = *a.prepared;
  const int32_t R = pm.rowsPerGroup, pairsPerGroup = R / 2;
  const int64_t stride = a.cols->rowsPadded;
  const int16_t *x = a.cols->x16.data();
  const int32_t cols = a.matrix->cols, first = w.colGroup * 8;
  const bool direct = first + 8 <= cols;
  int32_t px = a.pixelBegin;
  // Four pixels at a time share each weight load.
  for (; px + 4 <= a.pixelEnd; px += 4) {
    __m256i acc0 = _mm256_setzero_si256(), acc1 = acc0, acc2 = acc0,
            acc3 = acc0;
    for (size_t k = 0; k < w.groups.size(); ++k) {
      const int16_t *x0 = x + px * stride + int64_t(w.rowGroups[k]) * R;
      const int16_t *x1 = x0 + stride, *x2 = x1 + stride, *x3 = x2 + stride;
      const int16_t *wg =
          pm.pairs.data() + size_t(w.groups[k]) * pm.pairRows * 8;
      for (int32_t q = 0; q < pairsPerGroup; ++q) {
        const __m256i wv =
            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(wg + q * 16));
        acc0 =
            _mm256_add_epi32(acc0, _mm256_madd_epi16(pairAt(x0 + 2 * q), wv));
        acc1 =
            _mm256_add_epi32(acc1, _mm256_madd_epi16(pairAt(x1 + 2 * q), wv));
        acc2 =
            _mm256_add_epi32(acc2, _mm256_madd_epi16(pairAt(x2 + 2 * q), wv));
        acc3 =
            _mm256_add_epi32(acc3, _mm256_madd_epi16(pairAt(x3 + 2 * q), wv));
      }
    }
    if (direct) {
      int64_t *dst = a.acc + int64_t(px) * cols + first;
      addWide(dst, acc0);
      addWide(dst + cols, acc1);
      addWide(dst + 2 * cols, acc2);
      addWide(dst + 3 * cols, acc3);
      continue;
    }
    int32_t *out = sums.data() + int64_t(px - a.pixelBegin) * 8;
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(out), acc0);
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + 8), acc1);
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + 16), acc2);
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + 24), acc3);
  }
  for (; px < a.pixelEnd; ++px) {
    __m256i acc = _mm256_setzero_si256();
    for (size_t k = 0; k < w.groups.size(); ++k) {
      const int16_t *xr = x + px * stride + int64_t(w.rowGroups[k]) * R;
      const int16_t *wg =
          pm.pairs.data() + size_t(w.groups[k]) * pm.pairRows * 8;
      for (int32_t q = 0; q < pairsPerGroup; ++q) {
        const __m256i wv =
            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(wg + q * 16));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairAt(xr + 2 * q), wv));
      }
    }
    if (direct)
      addWide(a.acc + int64_t(px) * cols + first, acc);
    else
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(
                              sums.data() + int64_t(px - a.pixelBegin) * 8),
                          acc);
  }
  return direct;
}

bool cpuHasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}

/// Any geometry: int64 sums straight into the accumulators.
template <typename T>
void partitionScalar(const ComputeArgs &a, const PartitionWork &w, const T *x) {
  const program::WeightMatrix &m = *a.matrix;
  const int32_t R = m.rowsPerGroup, C = m.channelsPerGroup;
  const int32_t first = w.colGroup * C;
  const int32_t valid = std::min(C, m.cols - first);
  const int64_t stride = a.cols->rowsPadded;
  for (int32_t px = a.pixelBegin; px < a.pixelEnd; ++px) {
    int64_t *dst = a.acc + int64_t(px) * m.cols + first;
    for (size_t k = 0; k < w.groups.size(); ++k) {
      const T *xr = x + px * stride + int64_t(w.rowGroups[k]) * R;
      const int8_t *wg = m.groups[w.groups[k]].weights.data();
      for (int32_t j = 0; j < valid; ++j) {
        int64_t s = 0;
        for (int32_t r = 0; r < R; ++r)
          s += int64_t(xr[r]) * wg[r * C + j];
        dst[j] += s;
      }
    }
  }
}

} // namespace

void computeFast(const ComputeArgs &a, const PartitionWork &w, bool int32Safe) {
  if (w.groups.empty())
    return;
  const PreparedMatrix &pm = *a.prepared;
  if (int32Safe && a.cols->narrow && pm.channelsPerGroup == 8 &&
      pm.rowsPerGroup % 2 == 0 && cpuHasAvx2()) {
    thread_local std::vector<int32_t> sums;
    sums.resize(size_t(a.pixelEnd - a.pixelBegin) * 8);
    if (!partitionAvx2(a, w, sums))
      addPartition(a, w.colGroup, sums, 8);
    return;
  }
  if (a.cols->narrow)
    partitionScalar(a, w, a.cols->x16.data());
  else
    partitionScalar(a, w, a.cols->x32.data());
}

int64_t computeMacroLevel(const ComputeArgs &a, const PartitionWork &w,
                          bool inputSigned, int64_t &saturations) {
  const program::WeightMatrix &m = *a.matrix;
  const PreparedMatrix &pm = *a.prepared;
  const Im2col &ic = *a.cols;
  const int32_t C = m.channelsPerGroup, B = m.weightBits, W = pm.words;
  const int32_t first = w.colGroup * C;
  const int32_t valid = std::min(C, m.cols - first);
  const int32_t rowGroups = ic.rowsPadded / m.rowsPerGroup;
  const int64_t adcMax = (int64_t(1) << a.program->arch.macro.adcBits) - 1;
  const std::vector<Slice> slices = quant::inputSlices(
      ic.bits, inputSigned, a.program->arch.macro.inputBitsPerCycle);
  for (int32_t px = a.pixelBegin; px < a.pixelEnd; ++px) {
    int64_t *dst = a.acc + int64_t(px) * m.cols + first;
    for (size_t k = 0; k < w.groups.size(); ++k) {
      const uint64_t *xm =
          ic.masks.data() +
          ((int64_t(px) * rowGroups + w.rowGroups[k]) * ic.bits) * W;
      const uint64_t *wm = pm.bitMasks.data() + size_t(w.groups[k]) * C * B * W;
      // One activation per slice: every column of the partition converts.
      for (const Slice &s : slices)
        for (int32_t j = 0; j < valid; ++j)
          for (int32_t b = 0; b < B; ++b) {
            int64_t count =
                quant::sliceCount(xm, wm + (size_t(j) * B + b) * W, s, W);
            if (count > adcMax) {
              count = adcMax;
              ++saturations;
            }
            const bool negative = s.negative != (b == B - 1);
            const int64_t value = count << (s.first + b);
            dst[j] += negative ? -value : value;
          }
    }
  }
  // Columns past the matrix edge hold zero weights: they convert zero and
  // are not added, but their partition is activated all the same.
  return int64_t(a.pixelEnd - a.pixelBegin) * int64_t(w.groups.size()) *
         static_cast<int64_t>(slices.size());
}

} // namespace mars::runtime::detail
