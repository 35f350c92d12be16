// Exact sums corrected where the ADC clips (see AdcClipCorrection.h).
#include "AdcClipCorrection.h"
#include "RequantSimd.h"

#include "mars/quant/BitSerial.h"

#include <algorithm>
#include <immintrin.h>
#include <limits>

// GCC 12 warns about the _mm512_undefined_*() placeholders inside its own
// AVX-512 intrinsics (GCC bug 105593; SaturatingKernel.cpp has the same);
// nothing here is uninitialized. Clang has no such warning.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mars::runtime::detail {

namespace {

// popcnt is not in the x86-64 baseline the build targets: without a clone
// for it every popcount is a libgcc call.
#if defined(__x86_64__) && defined(__GNUC__)
#define MARS_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define MARS_POPCNT_CLONES
#endif

bool cpuHasAvx512BwPopcnt() {
  static const bool has = cpuHasAvx512bw() && __builtin_cpu_supports("popcnt");
  return has;
}

bool cpuHasAvx512Bitalg() {
  static const bool has =
      cpuHasAvx512BwPopcnt() && __builtin_cpu_supports("avx512bitalg");
  return has;
}

bool cpuHasAvx512Direct() {
  static const bool has =
      cpuHasAvx512Bitalg() && __builtin_cpu_supports("avx512vpopcntdq");
  return has;
}

/// A bit per slice whose sum over the group's rows (the count of a column
/// whose weight bit is 1 on every row, the largest any column can reach)
/// exceeds the ceiling; `planes` [input bit][word].
inline uint32_t clippingSlices(const AdcClipLayout &l, const uint64_t *planes,
                               int32_t W) {
  uint32_t clips = 0;
  for (size_t s = 0; s < l.slices.size(); ++s) {
    int64_t sum = 0;
    for (int t = 0; t < l.slices[s].count; ++t) {
      const uint64_t *plane = planes + (l.slices[s].first + t) * W;
      int64_t ones = 0;
      for (int32_t w = 0; w < W; ++w)
        ones += __builtin_popcountll(plane[w]);
      sum += ones << t;
    }
    if (sum > l.ceiling)
      clips |= 1u << s;
  }
  return clips;
}

void addClipRow(Im2col::ClipRows &rows, int32_t px, uint32_t clips,
                const uint64_t *planes, size_t words) {
  rows.pixels.push_back(px);
  rows.slices.push_back(uint8_t(clips));
  rows.planes.insert(rows.planes.end(), planes, planes + words);
}

/// From the bit masks (buildInputMasks), any geometry.
MARS_POPCNT_CLONES void clipRowsFromMasks(const AdcClipLayout &l,
                                          int32_t rowGroups, Im2col &c) {
  const size_t words = size_t(c.bits) * c.words;
  const uint64_t *planes = c.masks.data();
  for (int64_t px = 0; px < c.pixels; ++px)
    for (int32_t rg = 0; rg < rowGroups; ++rg, planes += words)
      if (const uint32_t clips = clippingSlices(l, planes, c.words))
        addClipRow(c.clipRows[size_t(rg)], int32_t(px), clips, planes, words);
}

/// From int16 rows, groups of at most 64 rows (one word): per (pixel, row
/// group) one masked load per 32 rows and one bit test per input bit, and
/// no mask array. A masked-out lane is not read, so the last group may end
/// where the rows do.
__attribute__((target("avx512f,avx512bw,popcnt"))) void
clipRowsAvx512(const AdcClipLayout &l, int32_t R, Im2col &c) {
  const int32_t rowGroups = c.rowsPadded / R;
  const __mmask32 low = R >= 32 ? ~__mmask32(0) : (__mmask32(1) << R) - 1;
  const __mmask32 high = R <= 32   ? 0
                         : R == 64 ? ~__mmask32(0)
                                   : (__mmask32(1) << (R - 32)) - 1;
  uint64_t planes[8]; // bits ≤ 8 (adcClipLayoutOf)
  for (int64_t px = 0; px < c.pixels; ++px)
    for (int32_t rg = 0; rg < rowGroups; ++rg) {
      const int16_t *v = c.x16.data() + px * c.rowsPadded + int64_t(rg) * R;
      const __m512i a = _mm512_maskz_loadu_epi16(low, v);
      const __m512i b = high ? _mm512_maskz_loadu_epi16(high, v + 32)
                             : _mm512_setzero_si512();
      // Bit t of the int16 is bit t of the input type for t < bits (the
      // sign bit of a signed type is sign-extended).
      for (int32_t t = 0; t < c.bits; ++t) {
        const __m512i bit = _mm512_set1_epi16(int16_t(1 << t));
        planes[t] = uint64_t(_mm512_test_epi16_mask(a, bit)) |
                    uint64_t(_mm512_test_epi16_mask(b, bit)) << 32;
      }
      if (const uint32_t clips = clippingSlices(l, planes, 1))
        addClipRow(c.clipRows[size_t(rg)], int32_t(px), clips, planes,
                   size_t(c.bits));
    }
}

/// clipRowsAvx512 on AVX2 for groups of 16 or 32 rows (whole vectors, so no
/// masked 16-bit loads are needed): bit t of each row shifted to the sign,
/// packed to bytes with signed saturation (which keeps the sign), put back
/// in row order across the two lanes and gathered by `vpmovmskb`.
__attribute__((target("avx2,popcnt"))) void clipRowsAvx2(const AdcClipLayout &l,
                                                         int32_t R, Im2col &c) {
  const int32_t rowGroups = c.rowsPadded / R;
  uint64_t planes[8]; // bits ≤ 8 (adcClipLayoutOf)
  for (int64_t px = 0; px < c.pixels; ++px)
    for (int32_t rg = 0; rg < rowGroups; ++rg) {
      const int16_t *v = c.x16.data() + px * c.rowsPadded + int64_t(rg) * R;
      const __m256i a =
          _mm256_loadu_si256(reinterpret_cast<const __m256i *>(v));
      const __m256i b =
          R == 32
              ? _mm256_loadu_si256(reinterpret_cast<const __m256i *>(v + 16))
              : _mm256_setzero_si256();
      for (int32_t t = 0; t < c.bits; ++t) {
        const __m128i shift = _mm_cvtsi32_si128(15 - t);
        const __m256i bytes = _mm256_permute4x64_epi64(
            _mm256_packs_epi16(_mm256_sll_epi16(a, shift),
                               _mm256_sll_epi16(b, shift)),
            0xd8);
        planes[t] = uint32_t(_mm256_movemask_epi8(bytes));
      }
      if (const uint32_t clips = clippingSlices(l, planes, 1))
        addClipRow(c.clipRows[size_t(rg)], int32_t(px), clips, planes,
                   size_t(c.bits));
    }
}

/// Direct layers: per channel block, 16 input positions a register (int32
/// lanes); per input bit and channel a bit test, OR-ed into the position's
/// plane as bit `channel`; popcounts give the slice sums of all 16.
__attribute__((target("avx512f,avx512bw,avx512vpopcntdq,popcnt"))) void
clipInputsAvx512(const AdcClipLayout &l, const int32_t *in, Im2col &c) {
  const int32_t R = l.rowsPerGroup, plane = l.inH * l.inW;
  const __m512i ceiling = _mm512_set1_epi32(int32_t(
      std::min<int64_t>(l.ceiling, std::numeric_limits<int32_t>::max())));
  __m512i bitOf[8]; // bits ≤ 8 (adcClipLayoutOf)
  for (int32_t t = 0; t < c.bits; ++t)
    bitOf[t] = _mm512_set1_epi32(1 << t);
  for (int32_t block = 0; block * R < l.inC; ++block) {
    Im2col::ClipRows &rows = c.clipRows[size_t(block)];
    const int32_t *channels = in + int64_t(block) * R * plane;
    for (int32_t at = 0; at < plane; at += 16) {
      const __mmask16 live = plane - at >= 16
                                 ? __mmask16(0xffff)
                                 : __mmask16((1u << (plane - at)) - 1);
      __m512i planes[8];
      for (int32_t t = 0; t < c.bits; ++t)
        planes[t] = _mm512_setzero_si512();
      for (int32_t r = 0; r < R; ++r) {
        const __m512i v =
            _mm512_maskz_loadu_epi32(live, channels + int64_t(r) * plane + at);
        const __m512i row = _mm512_set1_epi32(1 << r);
        // Bit t of the int32 is bit t of the input type for t < bits (the
        // sign bit of a signed type is sign-extended).
        for (int32_t t = 0; t < c.bits; ++t)
          planes[t] = _mm512_mask_or_epi32(
              planes[t], _mm512_test_epi32_mask(v, bitOf[t]), planes[t], row);
      }
      __mmask16 any = 0, clipsOf[8] = {};
      for (size_t s = 0; s < l.slices.size(); ++s) {
        __m512i sum = _mm512_setzero_si512();
        for (int t = 0; t < l.slices[s].count; ++t)
          sum = _mm512_add_epi32(
              sum, _mm512_sll_epi32(
                       _mm512_popcnt_epi32(planes[l.slices[s].first + t]),
                       _mm_cvtsi32_si128(t)));
        clipsOf[s] = _mm512_cmpgt_epi32_mask(sum, ceiling);
        any = __mmask16(any | clipsOf[s]);
      }
      if (!any)
        continue;
      alignas(64) uint32_t lanes[8][16];
      for (int32_t t = 0; t < c.bits; ++t)
        _mm512_store_si512(lanes[t], planes[t]);
      for (uint32_t left = any; left; left &= left - 1) {
        const int32_t k = __builtin_ctz(left);
        uint32_t clips = 0;
        for (size_t s = 0; s < l.slices.size(); ++s)
          clips |= uint32_t(clipsOf[s] >> k & 1) << s;
        uint64_t masks[8];
        for (int32_t t = 0; t < c.bits; ++t)
          masks[t] = lanes[t][k];
        const int32_t pos = at + k;
        addClipRow(rows, (pos / l.inW) << 16 | pos % l.inW, clips, masks,
                   size_t(c.bits));
      }
    }
  }
}

} // namespace

AdcClipLayout adcClipLayoutOf(const program::Program &p,
                              const program::Layer &layer, int64_t maxTerms,
                              ClipSimd simd) {
  AdcClipLayout l;
  const program::Buffer &input = p.buffers[layer.inputs[0]];
  const program::Buffer &output = p.buffers[layer.output];
  const program::WeightMatrix &m = p.matrices[layer.matrix];
  if (input.isAccumulator || input.bits < 1 || input.bits > 8 ||
      m.weightBits > 8)
    return l;
  // Over bit patterns, Σ over slices and bits of |count| · 2^(first + b)
  // is at most (2^bits − 1) · (2^wbits − 1) per product: bounds every
  // partial sum of the corrected accumulator.
  const double bound = double(maxTerms) *
                       double((int64_t(1) << input.bits) - 1) *
                       double((int64_t(1) << m.weightBits) - 1);
  if (bound >= double(std::numeric_limits<int32_t>::max()))
    return l;
  l.fits = true;
  const bool avx2 =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  l.avx2 = avx2 && (simd == ClipSimd::Avx2 ||
                    (simd == ClipSimd::Best && !cpuHasAvx512Bitalg()));
  l.portable = simd == ClipSimd::Portable || (!l.avx2 && !cpuHasAvx512Bitalg());
  l.ceiling = (int64_t(1) << p.arch.macro.adcBits) - 1;
  l.slices = quant::inputSlices(input.bits, input.isSigned,
                                p.arch.macro.inputBitsPerCycle);
  l.bits = input.bits;
  l.rowsPerGroup = m.rowsPerGroup;
  for (int32_t col = 0; col < m.channelsPerGroup * m.weightBits; ++col) {
    l.channelOf.push_back(col / m.weightBits);
    l.bitOf.push_back(col % m.weightBits);
    l.msb.push_back(col % m.weightBits == m.weightBits - 1);
  }
  l.direct = !l.portable && !l.avx2 && cpuHasAvx512Direct() &&
             m.rowsPerGroup <= 16 && input.channels % m.rowsPerGroup == 0 &&
             input.width < 65536 && input.height < 32768;
  l.inC = input.channels;
  l.inH = input.height;
  l.inW = input.width;
  l.outH = output.height;
  l.outW = output.width;
  l.kernelH = layer.kernelH;
  l.kernelW = layer.kernelW;
  l.strideH = layer.strideH;
  l.strideW = layer.strideW;
  l.dilationH = layer.dilationH;
  l.dilationW = layer.dilationW;
  l.padTop = layer.padTop;
  l.padLeft = layer.padLeft;
  return l;
}

namespace {

/// Direct lists: the output pixel that reads input position (y << 16 | x)
/// through kernel tap (ky, kx), or −1 when none does. Ascending positions
/// give ascending pixels. Divides only for strides above 1.
struct TapPixel {
  int32_t offsetY = 0, offsetX = 0; ///< pad − k · dilation.
  int32_t strideH = 1, strideW = 1, outH = 0, outW = 0;
  TapPixel(const AdcClipLayout &l, int32_t ky, int32_t kx)
      : offsetY(l.padTop - ky * l.dilationH),
        offsetX(l.padLeft - kx * l.dilationW), strideH(l.strideH),
        strideW(l.strideW), outH(l.outH), outW(l.outW) {}
  int32_t operator()(int32_t yx) const {
    int32_t oy = (yx >> 16) + offsetY, ox = (yx & 0xffff) + offsetX;
    if (oy < 0 || ox < 0)
      return -1;
    if (strideH > 1) {
      if (oy % strideH)
        return -1;
      oy /= strideH;
    }
    if (strideW > 1) {
      if (ox % strideW)
        return -1;
      ox /= strideW;
    }
    if (oy >= outH || ox >= outW)
      return -1;
    return oy * outW + ox;
  }
};

} // namespace

void findClippingSlices(const AdcClipLayout &l, const std::vector<int32_t> &in,
                        Im2col &c) {
  const int32_t R = l.rowsPerGroup;
  const int32_t lists = l.direct ? l.inC / R : c.rowsPadded / R;
  c.clipRows.resize(size_t(lists));
  for (Im2col::ClipRows &rows : c.clipRows) { // keeps their capacity
    rows.pixels.clear();
    rows.slices.clear();
    rows.planes.clear();
  }
  if (l.direct) {
    c.bits = l.bits;
    c.words = 1;
    clipInputsAvx512(l, in.data(), c);
    // Each partition's groups read these lists through their taps: map
    // positions to pixels here, once.
    for (Im2col::ClipRows &rows : c.clipRows) {
      rows.byTap.resize(size_t(l.kernelH) * l.kernelW);
      for (int32_t tap = 0; tap < l.kernelH * l.kernelW; ++tap) {
        std::vector<Im2col::ClipRows::TapEntry> &list = rows.byTap[size_t(tap)];
        list.clear();
        const TapPixel pixelOf(l, tap / l.kernelW, tap % l.kernelW);
        for (size_t e = 0; e < rows.pixels.size(); ++e)
          if (const int32_t px = pixelOf(rows.pixels[e]); px >= 0)
            list.push_back({px, int32_t(e)});
      }
    }
    return;
  }
  const int32_t rowGroups = lists;
  const bool simdRows = !l.portable && c.narrow && c.words == 1;
  if (simdRows && l.avx2 && (R == 16 || R == 32)) {
    clipRowsAvx2(l, R, c);
  } else if (simdRows && !l.avx2 && cpuHasAvx512BwPopcnt()) {
    clipRowsAvx512(l, R, c);
  } else {
    buildInputMasks(R, c);
    clipRowsFromMasks(l, rowGroups, c);
    std::vector<uint64_t>().swap(c.masks);
  }
  // The rows are not needed again: free them for the next layer's.
  std::vector<int16_t>().swap(c.x16);
  std::vector<int32_t>().swap(c.x32);
}

namespace {

/// What a partition's corrections read.
struct ClipJob {
  const AdcClipLayout *layout = nullptr;
  int32_t B = 0, W = 0, bits = 0, columns = 0; ///< columns: valid × B.
  const uint64_t *weights = nullptr;   ///< One group's [channel][bit][word].
  const uint16_t *weights16 = nullptr; ///< The same, columnMasks16.
  /// Per column: its channel and weight bit, and whether it weighs
  /// negative (the MSB).
  const int32_t *channelOf = nullptr, *bitOf = nullptr;
  const uint8_t *msb = nullptr;
};

/// Adds ±(count − ceiling) · 2^(first + b) of a clipped column: what the
/// clipping takes away from the exact count · 2^(first + b).
inline void takeClipped(const ClipJob &j, const Slice &slice, int32_t col,
                        int64_t count, int32_t *dst) {
  const int64_t excess = (count - j.layout->ceiling)
                         << (slice.first + j.bitOf[col]);
  const bool negative = slice.negative != bool(j.msb[col]);
  *dst = int32_t(uint32_t(*dst) + uint32_t(negative ? excess : -excess));
}

/// The corrections of one group for its clip rows [e, end) below
/// pixelEnd, in plain C++: the portable version and the SIMD one's
/// specification. `acc` is the partition's first channel.
MARS_POPCNT_CLONES void clipGroupScalar(const ClipJob &j,
                                        const Im2col::ClipRows &rows, size_t e,
                                        int32_t pixelEnd, int32_t *acc,
                                        int64_t stride, int64_t &saturations) {
  const AdcClipLayout &l = *j.layout;
  const size_t words = size_t(j.bits) * j.W;
  for (; e < rows.pixels.size() && rows.pixels[e] < pixelEnd; ++e) {
    const int32_t px = rows.pixels[e];
    const uint64_t *xm = rows.planes.data() + e * words;
    for (uint32_t clips = rows.slices[e]; clips; clips &= clips - 1) {
      const Slice &slice = l.slices[size_t(__builtin_ctz(clips))];
      for (int32_t col = 0; col < j.columns; ++col) {
        const int64_t count =
            quant::sliceCount(xm, j.weights + size_t(col) * j.W, slice, j.W);
        if (count <= l.ceiling)
          continue;
        ++saturations;
        takeClipped(j, slice, col, count, acc + j.channelOf[col] * stride + px);
      }
    }
  }
}

/// A group's clip rows in pixel order: (pixel, entry) of the i-th. Im2col
/// lists are their own pixels; direct lists go through the group's tap.
struct SameRows {
  const Im2col::ClipRows &rows;
  size_t size() const { return rows.pixels.size(); }
  int32_t pixel(size_t i) const { return rows.pixels[i]; }
  size_t entry(size_t i) const { return i; }
  size_t first(int32_t px) const {
    return size_t(std::lower_bound(rows.pixels.begin(), rows.pixels.end(), px) -
                  rows.pixels.begin());
  }
};
struct TapRows {
  const std::vector<Im2col::ClipRows::TapEntry> &list;
  size_t size() const { return list.size(); }
  int32_t pixel(size_t i) const { return list[i].pixel; }
  size_t entry(size_t i) const { return size_t(list[i].entry); }
  size_t first(int32_t px) const {
    return size_t(std::lower_bound(list.begin(), list.end(), px,
                                   [](const Im2col::ClipRows::TapEntry &t,
                                      int32_t p) { return t.pixel < p; }) -
                  list.begin());
  }
};

/// clipGroupScalar for groups of at most 16 rows, 32 columns a register:
/// the input plane broadcast AND the 16-bit weight columns, vpopcntw, and a
/// compare with the ceiling; only the columns that clip (a few percent)
/// are then corrected one by one.
/// OneBit: every slice is one input bit (input_bits_per_cycle 1), so a
/// count is one popcount.
#define MARS_CLIP_AVX512 "avx512f,avx512bw,avx512bitalg,popcnt"
template <bool OneBit, typename Rows>
__attribute__((target(MARS_CLIP_AVX512), always_inline)) inline void
clipGroupAvx512(const ClipJob &j, const Im2col::ClipRows &rows, Rows order,
                int32_t pixelBegin, int32_t pixelEnd, int32_t *acc,
                int64_t stride, int64_t &clipped) {
  const AdcClipLayout &l = *j.layout;
  const __m512i ceiling =
      _mm512_set1_epi16(int16_t(std::min<int64_t>(l.ceiling, 65535)));
  const size_t begin = order.first(pixelBegin), end = order.size();
  for (int32_t chunk = 0; chunk * 32 < j.columns; ++chunk) {
    const __mmask32 live = j.columns - chunk * 32 >= 32
                               ? ~__mmask32(0)
                               : (__mmask32(1) << (j.columns - chunk * 32)) - 1;
    const __m512i w = _mm512_loadu_si512(j.weights16 + chunk * 32);
    for (size_t i = begin; i < end; ++i) {
      const int32_t px = order.pixel(i);
      if (px >= pixelEnd)
        break;
      const size_t e = order.entry(i);
      const uint64_t *xm = rows.planes.data() + e * size_t(j.bits);
      for (uint32_t clips = rows.slices[e]; clips; clips &= clips - 1) {
        const Slice &slice = l.slices[size_t(__builtin_ctz(clips))];
        __m512i count = _mm512_popcnt_epi16(_mm512_and_si512(
            _mm512_set1_epi16(int16_t(uint16_t(xm[slice.first]))), w));
        for (int t = 1; !OneBit && t < slice.count; ++t) {
          const __m512i plane =
              _mm512_set1_epi16(int16_t(uint16_t(xm[slice.first + t])));
          count = _mm512_add_epi16(
              count,
              _mm512_sll_epi16(_mm512_popcnt_epi16(_mm512_and_si512(plane, w)),
                               _mm_cvtsi32_si128(t)));
        }
        __mmask32 over = _mm512_mask_cmpgt_epu16_mask(live, count, ceiling);
        if (!over)
          continue;
        clipped += __builtin_popcount(over);
        alignas(64) uint16_t counts[32];
        _mm512_store_si512(counts, count);
        for (; over; over &= over - 1) {
          const int32_t k = __builtin_ctz(over), col = chunk * 32 + k;
          takeClipped(j, slice, col, counts[k],
                      acc + j.channelOf[col] * stride + px);
        }
      }
    }
  }
}

/// A partition's groups on clipGroupAvx512 (one call, so that the group
/// loop and the kernel inline into each other).
template <bool OneBit>
__attribute__((target(MARS_CLIP_AVX512))) void
clipPartitionAvx512(ClipJob j, const ComputeArgs &a, const PartitionWork &w,
                    int32_t *acc, int64_t pixels, int64_t &saturations) {
  const AdcClipLayout &l = *j.layout;
  const PreparedMatrix &pm = *a.prepared;
  const Im2col &ic = *a.cols;
  const int32_t R = a.matrix->rowsPerGroup;
  int64_t clipped = 0;
  for (size_t k = 0; k < w.groups.size(); ++k) {
    j.weights16 =
        pm.columnMasks16.data() + size_t(w.groups[k]) * pm.columnChunks * 32;
    const int32_t firstRow = w.rowGroups[k] * R;
    if (!l.direct) {
      const Im2col::ClipRows &rows = ic.clipRows[size_t(w.rowGroups[k])];
      clipGroupAvx512<OneBit>(j, rows, SameRows{rows}, a.pixelBegin, a.pixelEnd,
                              acc, pixels, clipped);
      continue;
    }
    // A direct group is one channel block at one kernel tap.
    const Im2col::ClipRows &rows = ic.clipRows[size_t(firstRow % l.inC / R)];
    clipGroupAvx512<OneBit>(j, rows,
                            TapRows{rows.byTap[size_t(firstRow / l.inC)]},
                            a.pixelBegin, a.pixelEnd, acc, pixels, clipped);
  }
  saturations += clipped;
}

/// Popcount of each 16-bit lane (AVX2 has no vpopcntw): nibble counts by
/// table lookup, added per byte, then per word by `vpmaddubsw` with 1s.
__attribute__((target("avx2"), always_inline)) inline __m256i
popcount16Avx2(__m256i v) {
  const __m256i table =
      _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                       2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i nibble = _mm256_set1_epi8(0x0f);
  const __m256i bytes = _mm256_add_epi8(
      _mm256_shuffle_epi8(table, _mm256_and_si256(v, nibble)),
      _mm256_shuffle_epi8(table,
                          _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble)));
  return _mm256_maddubs_epi16(bytes, _mm256_set1_epi8(1));
}

/// clipGroupAvx512 on AVX2: 32 columns as two vectors of 16 words. A count
/// is at most 16 × 255, so the signed word compare with the ceiling is
/// exact; `vpacksswb` and a lane permute put the 32 results in column
/// order for one `vpmovmskb`.
template <bool OneBit, typename Rows>
__attribute__((target("avx2,popcnt"), always_inline)) inline void
clipGroupAvx2(const ClipJob &j, const Im2col::ClipRows &rows, Rows order,
              int32_t pixelBegin, int32_t pixelEnd, int32_t *acc,
              int64_t stride, int64_t &clipped) {
  const AdcClipLayout &l = *j.layout;
  const __m256i ceiling =
      _mm256_set1_epi16(int16_t(std::min<int64_t>(l.ceiling, 32767)));
  const size_t begin = order.first(pixelBegin), end = order.size();
  for (int32_t chunk = 0; chunk * 32 < j.columns; ++chunk) {
    const uint32_t live = j.columns - chunk * 32 >= 32
                              ? ~uint32_t(0)
                              : (uint32_t(1) << (j.columns - chunk * 32)) - 1;
    const __m256i *wp =
        reinterpret_cast<const __m256i *>(j.weights16 + chunk * 32);
    const __m256i w0 = _mm256_loadu_si256(wp), w1 = _mm256_loadu_si256(wp + 1);
    for (size_t i = begin; i < end; ++i) {
      const int32_t px = order.pixel(i);
      if (px >= pixelEnd)
        break;
      const size_t e = order.entry(i);
      const uint64_t *xm = rows.planes.data() + e * size_t(j.bits);
      for (uint32_t clips = rows.slices[e]; clips; clips &= clips - 1) {
        const Slice &slice = l.slices[size_t(__builtin_ctz(clips))];
        __m256i plane = _mm256_set1_epi16(int16_t(uint16_t(xm[slice.first])));
        __m256i c0 = popcount16Avx2(_mm256_and_si256(plane, w0));
        __m256i c1 = popcount16Avx2(_mm256_and_si256(plane, w1));
        for (int t = 1; !OneBit && t < slice.count; ++t) {
          plane = _mm256_set1_epi16(int16_t(uint16_t(xm[slice.first + t])));
          const __m128i shift = _mm_cvtsi32_si128(t);
          c0 = _mm256_add_epi16(
              c0, _mm256_sll_epi16(popcount16Avx2(_mm256_and_si256(plane, w0)),
                                   shift));
          c1 = _mm256_add_epi16(
              c1, _mm256_sll_epi16(popcount16Avx2(_mm256_and_si256(plane, w1)),
                                   shift));
        }
        const __m256i over16 = _mm256_permute4x64_epi64(
            _mm256_packs_epi16(_mm256_cmpgt_epi16(c0, ceiling),
                               _mm256_cmpgt_epi16(c1, ceiling)),
            0xd8);
        uint32_t over = uint32_t(_mm256_movemask_epi8(over16)) & live;
        if (!over)
          continue;
        clipped += __builtin_popcount(over);
        alignas(32) uint16_t counts[32];
        _mm256_store_si256(reinterpret_cast<__m256i *>(counts), c0);
        _mm256_store_si256(reinterpret_cast<__m256i *>(counts + 16), c1);
        for (; over; over &= over - 1) {
          const int32_t k = __builtin_ctz(over), col = chunk * 32 + k;
          takeClipped(j, slice, col, counts[k],
                      acc + j.channelOf[col] * stride + px);
        }
      }
    }
  }
}

/// A partition's groups on clipGroupAvx2 (never direct).
template <bool OneBit>
__attribute__((target("avx2,popcnt"))) void
clipPartitionAvx2(ClipJob j, const ComputeArgs &a, const PartitionWork &w,
                  int32_t *acc, int64_t pixels, int64_t &saturations) {
  const PreparedMatrix &pm = *a.prepared;
  const Im2col &ic = *a.cols;
  int64_t clipped = 0;
  for (size_t k = 0; k < w.groups.size(); ++k) {
    j.weights16 =
        pm.columnMasks16.data() + size_t(w.groups[k]) * pm.columnChunks * 32;
    const Im2col::ClipRows &rows = ic.clipRows[size_t(w.rowGroups[k])];
    clipGroupAvx2<OneBit>(j, rows, SameRows{rows}, a.pixelBegin, a.pixelEnd,
                          acc, pixels, clipped);
  }
  saturations += clipped;
}

} // namespace

PreparedMatrix prepareClipColumns(const AdcClipLayout &l,
                                  const program::WeightMatrix &m) {
  const int32_t R = m.rowsPerGroup, C = m.channelsPerGroup, B = m.weightBits;
  if (R > 16 || l.portable || (!l.avx2 && !cpuHasAvx512Bitalg()))
    return prepareMatrix(m, {/*pairs=*/false, /*bitMasks=*/true});
  PreparedMatrix pm;
  pm.rowsPerGroup = R;
  pm.channelsPerGroup = C;
  pm.weightBits = B;
  pm.words = 1;
  pm.columnChunks = (C * B + 31) / 32;
  const size_t stride = size_t(pm.columnChunks) * 32;
  pm.columnMasks16.assign(m.groups.size() * stride, 0);
  for (size_t g = 0; g < m.groups.size(); ++g) {
    const int8_t *w = m.groups[g].weights.data(); // [R][C]
    uint16_t *columns = pm.columnMasks16.data() + g * stride;
    // Bit b of the byte is bit b of the B-bit weight for b < B. The mask is
    // built in a register, branch-free (a weight's bits are as good as
    // random).
    for (int32_t j = 0; j < C; ++j)
      for (int32_t b = 0; b < B; ++b) {
        uint32_t mask = 0;
        for (int32_t r = 0; r < R; ++r)
          mask |= (uint32_t(uint8_t(w[r * C + j])) >> b & 1) << r;
        columns[j * B + b] = uint16_t(mask);
      }
  }
  return pm;
}

int64_t correctAdcClipping(const ComputeArgs &a, const PartitionWork &w,
                           const AdcClipLayout &l, int32_t *acc32,
                           int64_t pixels, int64_t &saturations) {
  const program::WeightMatrix &m = *a.matrix;
  const PreparedMatrix &pm = *a.prepared;
  const Im2col &ic = *a.cols;
  const int32_t C = m.channelsPerGroup, first = w.colGroup * C;
  ClipJob j;
  j.layout = &l;
  j.B = m.weightBits;
  j.W = ic.words;
  j.bits = ic.bits;
  j.columns = std::min(C, m.cols - first) * j.B;
  j.channelOf = l.channelOf.data();
  j.bitOf = l.bitOf.data();
  j.msb = l.msb.data();
  int32_t *acc = acc32 + first * pixels;
  if (pm.columnChunks > 0) { // prepareClipColumns chose the SIMD form
    const bool oneBit =
        std::all_of(l.slices.begin(), l.slices.end(),
                    [](const Slice &s) { return s.count == 1; });
    if (l.avx2 && oneBit)
      clipPartitionAvx2<true>(j, a, w, acc, pixels, saturations);
    else if (l.avx2)
      clipPartitionAvx2<false>(j, a, w, acc, pixels, saturations);
    else if (oneBit)
      clipPartitionAvx512<true>(j, a, w, acc, pixels, saturations);
    else
      clipPartitionAvx512<false>(j, a, w, acc, pixels, saturations);
  } else { // portable; never direct
    for (size_t k = 0; k < w.groups.size(); ++k) {
      j.weights = pm.bitMasks.data() + size_t(w.groups[k]) * C * j.B * j.W;
      const Im2col::ClipRows &rows = ic.clipRows[size_t(w.rowGroups[k])];
      const size_t e =
          size_t(std::lower_bound(rows.pixels.begin(), rows.pixels.end(),
                                  a.pixelBegin) -
                 rows.pixels.begin());
      clipGroupScalar(j, rows, e, a.pixelEnd, acc, pixels, saturations);
    }
  }
  // Columns past the matrix edge hold zero weights: they convert zero and
  // are not added, but their partition is activated all the same.
  return int64_t(a.pixelEnd - a.pixelBegin) * int64_t(w.groups.size()) *
         static_cast<int64_t>(l.slices.size());
}

} // namespace mars::runtime::detail
