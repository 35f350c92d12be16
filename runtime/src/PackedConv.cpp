// The packed Conv kernel of the fast path; PackedConv.h explains the layout
// and why it is exact. Three SIMD versions (AVX-512 VNNI, AVX-VNNI, AVX2)
// and a portable one compute the same wrapped int32 sums; the CPU picks at
// run time (bestPackedIsa).
#include "PackedConv.h"
#include "RequantSimd.h"

#include "mars/quant/FixedPoint.h"
#include "mars/support/Error.h"

#include <algorithm>
#include <cpuid.h>
#include <cstring>
#include <immintrin.h>
#include <limits>
#include <new>
#include <sys/mman.h>

// GCC 12 warns inside its own AVX-512 headers (_mm512_undefined_* used as
// the pass-through of unmasked intrinsics); the values are never read.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace mars::runtime::detail {

using program::Buffer;
using program::Layer;
using program::WeightMatrix;

namespace {

/// AVX-VNNI (CPUID leaf 7, sub-leaf 1, EAX bit 4), read directly: clang 14's
/// __builtin_cpu_supports does not know the feature's name.
bool cpuHasAvxVnni() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx))
    return false;
  return (eax >> 4) & 1u;
}

} // namespace

bool packedIsaSupported(PackedIsa isa) {
  switch (isa) {
  case PackedIsa::Scalar: return true;
  case PackedIsa::Avx2: return __builtin_cpu_supports("avx2");
  case PackedIsa::AvxVnni:
    return __builtin_cpu_supports("avx2") && cpuHasAvxVnni();
  case PackedIsa::Avx512Vnni:
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

PackedIsa bestPackedIsa() {
  static const PackedIsa best = [] {
    for (PackedIsa isa :
         {PackedIsa::Avx512Vnni, PackedIsa::AvxVnni, PackedIsa::Avx2})
      if (packedIsaSupported(isa))
        return isa;
    return PackedIsa::Scalar;
  }();
  return best;
}

PackedLayer packedLayerOf(const program::Program &p, const Layer &l,
                          int64_t maxTerms, PackedIsa isa) {
  PackedLayer pl;
  const Buffer &ib = p.buffers[l.inputs[0]];
  const Buffer &ob = p.buffers[l.output];
  const WeightMatrix &m = p.matrices[l.matrix];
  if (ib.isAccumulator || ib.bits < 1 || ib.bits > 8 || m.weightBits > 8)
    return pl;
  const double maxX = ib.isSigned ? double(int64_t(1) << (ib.bits - 1))
                                  : double((int64_t(1) << ib.bits) - 1);
  const double maxW = double(int64_t(1) << (m.weightBits - 1));
  if (maxX * maxW * double(maxTerms) >=
      double(std::numeric_limits<int32_t>::max()))
    return pl;
  pl.isa = isa;
  pl.offset = ib.isSigned ? 1 << (ib.bits - 1) : 0;
  const int32_t storedMax = (1 << ib.bits) - 1; // x + offset ≤ this
  pl.pairSumsFitInt16 = 2 * storedMax * (1 << (m.weightBits - 1)) <= 32767;
  const int32_t C = m.channelsPerGroup;
  pl.words = isa == PackedIsa::Avx2 && !pl.pairSumsFitInt16 &&
             (C == 1 || C == 2 || C == 4 || C == 8 || C == 16);
  pl.rowsPerGroup = m.rowsPerGroup;
  pl.channelsPerGroup = m.channelsPerGroup;
  pl.rowGroups = m.rowGroups;
  pl.rows = m.rows;
  pl.cols = m.cols;
  pl.quadsPerGroup = (m.rowsPerGroup + 3) / 4;
  pl.inC = ib.channels;
  pl.inH = ib.height;
  pl.inW = ib.width;
  pl.outH = ob.height;
  pl.outW = ob.width;
  pl.pixels = int64_t(ob.height) * ob.width;
  pl.strideH = l.strideH;
  pl.strideW = l.strideW;
  pl.planes = (ib.channels + 3) / 4;
  const bool quadsAligned = ib.channels % 4 == 0 && m.rowsPerGroup % 4 == 0;
  pl.planar = quadsAligned;
  pl.direct = quadsAligned && l.strideW == 1 && ob.width >= 16;
  pl.narrow = isa == PackedIsa::Avx512Vnni && !pl.direct &&
              m.channelsPerGroup % 4 == 0 && m.channelsPerGroup <= 16 &&
              pl.pixels <= kNarrowMaxPixels;
  const int64_t quads = int64_t(m.rowGroups) * pl.quadsPerGroup;
  pl.blockBytes = quads * 64;
  if (quadsAligned) {
    pl.padH = std::max((ob.height - 1) * l.strideH +
                           (l.kernelH - 1) * l.dilationH + 1,
                       l.padTop + ib.height);
    pl.padW =
        std::max((ob.width - 1) * l.strideW + (l.kernelW - 1) * l.dilationW + 1,
                 l.padLeft + ib.width);
    pl.padTop = l.padTop;
    pl.padLeft = l.padLeft;
    if (double(pl.padH) * pl.planes * pl.padW * 4 > 1e9)
      return pl; // offsets must fit int32
    pl.planarOffset.assign(size_t(quads), 0);
    for (int32_t rg = 0; rg < m.rowGroups; ++rg)
      for (int32_t k = 0; k < pl.quadsPerGroup; ++k) {
        const int32_t row = rg * m.rowsPerGroup + 4 * k;
        if (row >= m.rows)
          continue; // zero weights: any in-bounds bytes will do
        const int32_t tap = row / ib.channels, q = row % ib.channels / 4;
        const int32_t ky = tap / l.kernelW, kx = tap % l.kernelW;
        pl.planarOffset[size_t(rg) * pl.quadsPerGroup + k] =
            ((ky * l.dilationH * pl.planes + q) * pl.padW + kx * l.dilationW) *
            4;
      }
  }
  if (pl.direct) {
    pl.quadOffset = pl.planarOffset;
  } else {
    if (double(pl.blockBytes) > 1e9)
      return pl;
    pl.quadOffset.resize(size_t(quads));
    for (int64_t q = 0; q < quads; ++q)
      pl.quadOffset[size_t(q)] = int32_t(q * 64);
  }
  pl.kernelH = l.kernelH;
  pl.kernelW = l.kernelW;
  pl.dilationH = l.dilationH;
  pl.dilationW = l.dilationW;
  pl.enabled = true;
  return pl;
}

namespace {

/// Bytes of a record's correction and row groups, padded to 64.
size_t packedHeaderBytes(const PackedLayer &pl, const PartitionWork &work) {
  return (sizeof(int32_t) * (size_t(pl.channelsPerGroup) + work.groups.size()) +
          63) /
         64 * 64;
}

} // namespace

size_t packedWeightBytes(const PackedLayer &pl, const PartitionWork &work) {
  const size_t weights =
      work.groups.size() * size_t(pl.quadsPerGroup) * pl.channelsPerGroup * 4;
  return packedHeaderBytes(pl, work) + (weights + 63) / 64 * 64;
}

HugeBytes::HugeBytes(size_t bytes) : size_(bytes) {
  if (bytes == 0)
    return;
  constexpr size_t kHuge = size_t(1) << 21;
  const bool huge = bytes >= kHuge / 2;
  const size_t align = huge ? kHuge : 64;
  const size_t size = (bytes + align - 1) / align * align;
  void *p = nullptr;
  if (posix_memalign(&p, align, size) != 0)
    throw std::bad_alloc();
  if (huge)
    madvise(p, size, MADV_HUGEPAGE); // advice only: fine if refused
  std::memset(p, 0, bytes);
  data_ = static_cast<uint8_t *>(p);
}

HugeBytes::HugeBytes(const HugeBytes &o) : HugeBytes(o.size_) {
  if (size_)
    std::memcpy(data_, o.data_, size_);
}

HugeBytes &HugeBytes::operator=(HugeBytes &&o) noexcept {
  std::swap(data_, o.data_);
  std::swap(size_, o.size_);
  return *this;
}

HugeBytes::~HugeBytes() { std::free(data_); }

namespace {

/// Four rows of `n` int8 into [n][4]: dst[4j + t] = rows[t][j]. SSE2
/// unpacks (part of x86-64) interleave 16, 8 or 4 channels at a time: a
/// partition holds only 4 channels of 8-bit weights, so the narrow widths
/// are the common case.
void interleaveRows(const int8_t *const rows[4], int32_t n, int8_t *dst) {
  int32_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const auto load = [&](int t) {
      return _mm_loadu_si128(reinterpret_cast<const __m128i *>(rows[t] + j));
    };
    const __m128i a = load(0), b = load(1), c = load(2), d = load(3);
    const __m128i abLo = _mm_unpacklo_epi8(a, b),
                  abHi = _mm_unpackhi_epi8(a, b);
    const __m128i cdLo = _mm_unpacklo_epi8(c, d),
                  cdHi = _mm_unpackhi_epi8(c, d);
    __m128i *out = reinterpret_cast<__m128i *>(dst + int64_t(j) * 4);
    _mm_storeu_si128(out + 0, _mm_unpacklo_epi16(abLo, cdLo));
    _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(abLo, cdLo));
    _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(abHi, cdHi));
    _mm_storeu_si128(out + 3, _mm_unpackhi_epi16(abHi, cdHi));
  }
  for (; j + 8 <= n; j += 8) {
    const auto load = [&](int t) {
      return _mm_loadl_epi64(reinterpret_cast<const __m128i *>(rows[t] + j));
    };
    const __m128i ab = _mm_unpacklo_epi8(load(0), load(1));
    const __m128i cd = _mm_unpacklo_epi8(load(2), load(3));
    __m128i *out = reinterpret_cast<__m128i *>(dst + int64_t(j) * 4);
    _mm_storeu_si128(out + 0, _mm_unpacklo_epi16(ab, cd));
    _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(ab, cd));
  }
  for (; j + 4 <= n; j += 4) {
    const auto load = [&](int t) {
      int32_t v;
      std::memcpy(&v, rows[t] + j, 4);
      return _mm_cvtsi32_si128(v);
    };
    const __m128i ab = _mm_unpacklo_epi8(load(0), load(1));
    const __m128i cd = _mm_unpacklo_epi8(load(2), load(3));
    _mm_storeu_si128(reinterpret_cast<__m128i *>(dst + int64_t(j) * 4),
                     _mm_unpacklo_epi16(ab, cd));
  }
  for (; j < n; ++j)
    for (int t = 0; t < 4; ++t)
      dst[int64_t(j) * 4 + t] = rows[t][j];
}

} // namespace

PackedWork packWork(const PackedLayer &pl, const WeightMatrix &m,
                    const PartitionWork &work, int8_t *record) {
  PackedWork pw;
  const int32_t R = m.rowsPerGroup, C = m.channelsPerGroup,
                Q = pl.quadsPerGroup;
  auto *correction = reinterpret_cast<int32_t *>(record);
  int32_t *rowGroups = correction + C;
  std::copy(work.rowGroups.begin(), work.rowGroups.end(), rowGroups);
  int8_t *out = record + packedHeaderBytes(pl, work);
  pw.colGroup = work.colGroup;
  pw.groupCount = int32_t(work.rowGroups.size());
  pw.rowGroups = rowGroups;
  pw.correction = correction;
  pw.weights = out;
  // Rows past the group's R (up to 4Q) read zeros.
  const std::vector<int8_t> zeros(size_t(C), 0);
  std::vector<int32_t> sums(size_t(C), 0); // Σ w per channel.
  for (size_t k = 0; k < work.groups.size(); ++k) {
    const int8_t *w = m.groups[size_t(work.groups[k])].weights.data();
    int8_t *dst = out + k * size_t(Q) * C * 4;
    for (int32_t q = 0; q < Q; ++q) {
      const int8_t *rows[4];
      for (int32_t t = 0; t < 4; ++t)
        rows[t] = 4 * q + t < R ? w + int64_t(4 * q + t) * C : zeros.data();
      interleaveRows(rows, C, dst + int64_t(q) * C * 4);
    }
    if (pl.offset != 0) // Unsigned inputs need no correction.
      for (int32_t r = 0; r < R; ++r)
        for (int32_t j = 0; j < C; ++j)
          sums[size_t(j)] += w[int64_t(r) * C + j];
  }
  for (int32_t j = 0; j < C; ++j)
    correction[j] = pl.offset * sums[size_t(j)];
  return pw;
}

namespace {

/// One row of four channel planes into [x][4] bytes, 16 x at a time on
/// AVX-512, the last (or only: deep layers are 8, 4 or 2 wide) by masked
/// loads and stores; returns the width.
__attribute__((target("avx512f"))) int32_t
interleaveAvx512(const int32_t *const src[4], int32_t width, int32_t offset,
                 uint8_t *dst) {
  const __m512i off = _mm512_set1_epi32(offset), byte = _mm512_set1_epi32(0xff);
  for (int32_t x = 0; x < width; x += 16) {
    const __mmask16 m = width - x >= 16 ? __mmask16(0xffff)
                                        : __mmask16((1u << (width - x)) - 1);
    __m512i v = _mm512_setzero_si512();
    for (int t = 0; t < 4; ++t) {
      const __m512i c = _mm512_and_si512(
          _mm512_add_epi32(_mm512_maskz_loadu_epi32(m, src[t] + x), off), byte);
      v = _mm512_or_si512(v, _mm512_slli_epi32(c, 8 * t));
    }
    _mm512_mask_storeu_epi32(dst + int64_t(x) * 4, m, v);
  }
  return width;
}

/// One run of `bytes` (≤ 64) per quad from the planar input into a 64-byte
/// quad slot each, by masked loads and stores (a libc memcpy call per run
/// cost more than the copy).
__attribute__((target("avx512f,avx512bw"))) void
copyQuadRunsAvx512(uint8_t *dst, const uint8_t *base, const int32_t *offsets,
                   int32_t quads, int64_t bytes) {
  const __mmask64 m = bytes >= 64 ? ~__mmask64(0) : (__mmask64(1) << bytes) - 1;
  for (int32_t q = 0; q < quads; ++q)
    _mm512_mask_storeu_epi8(dst + int64_t(q) * 64, m,
                            _mm512_maskz_loadu_epi8(m, base + offsets[q]));
}

/// The same for stride 2 (ResNet's downsampling): `len` (≤ 16) pixels
/// whose 4 bytes lie 8 apart, by two masked loads of the span and a
/// permute that keeps the even dwords.
__attribute__((target("avx512f,avx512bw"))) void
copyQuadRunsStride2Avx512(uint8_t *dst, const uint8_t *base,
                          const int32_t *offsets, int32_t quads, int64_t len) {
  const int64_t span = 2 * len - 1; // dwords read
  const __mmask16 lo =
      span >= 16 ? __mmask16(0xffff) : __mmask16((1u << span) - 1);
  const __mmask16 hi =
      span <= 16 ? __mmask16(0) : __mmask16((1u << (span - 16)) - 1);
  const __mmask16 out =
      len >= 16 ? __mmask16(0xffff) : __mmask16((1u << len) - 1);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                         22, 24, 26, 28, 30);
  for (int32_t q = 0; q < quads; ++q) {
    const uint8_t *src = base + offsets[q];
    const __m512i a = _mm512_maskz_loadu_epi32(lo, src);
    const __m512i b = _mm512_maskz_loadu_epi32(hi, src + 64);
    _mm512_mask_storeu_epi32(dst + int64_t(q) * 64, out,
                             _mm512_permutex2var_epi32(a, even, b));
  }
}

/// interleaveAvx512 on AVX2, 8 x at a time.
__attribute__((target("avx2"))) int32_t
interleaveAvx2(const int32_t *const src[4], int32_t width, int32_t offset,
               uint8_t *dst) {
  const __m256i off = _mm256_set1_epi32(offset), byte = _mm256_set1_epi32(0xff);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int32_t x = 0; x < width; x += 8) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(width - x), lane);
    __m256i v = _mm256_setzero_si256();
    for (int t = 0; t < 4; ++t) {
      const __m256i c = _mm256_and_si256(
          _mm256_add_epi32(_mm256_maskload_epi32(src[t] + x, m), off), byte);
      v = _mm256_or_si256(v, _mm256_slli_epi32(c, 8 * t));
    }
    _mm256_maskstore_epi32(reinterpret_cast<int *>(dst + int64_t(x) * 4), m, v);
  }
  return width;
}

/// copyQuadRunsAvx512 on AVX2: `bytes` is a multiple of 4 (whole pixels),
/// so two 32-byte dword-masked loads and stores cover a run.
__attribute__((target("avx2"))) void
copyQuadRunsAvx2(uint8_t *dst, const uint8_t *base, const int32_t *offsets,
                 int32_t quads, int64_t bytes) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i dwords = _mm256_set1_epi32(int32_t(bytes / 4));
  const __m256i m0 = _mm256_cmpgt_epi32(dwords, lane);
  const __m256i m1 =
      _mm256_cmpgt_epi32(dwords, _mm256_add_epi32(lane, _mm256_set1_epi32(8)));
  for (int32_t q = 0; q < quads; ++q) {
    const int *src = reinterpret_cast<const int *>(base + offsets[q]);
    int *out = reinterpret_cast<int *>(dst + int64_t(q) * 64);
    _mm256_maskstore_epi32(out, m0, _mm256_maskload_epi32(src, m0));
    _mm256_maskstore_epi32(out + 8, m1, _mm256_maskload_epi32(src + 8, m1));
  }
}

/// copyQuadRunsStride2Avx512 on AVX2: the even dwords of up to four
/// 8-dword masked loads, 8 pixels per store.
__attribute__((target("avx2"))) void
copyQuadRunsStride2Avx2(uint8_t *dst, const uint8_t *base,
                        const int32_t *offsets, int32_t quads, int64_t len) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  const int32_t span = int32_t(2 * len - 1); // dwords read
  __m256i in[4], out[2];
  for (int i = 0; i < 4; ++i)
    in[i] = _mm256_cmpgt_epi32(_mm256_set1_epi32(span - 8 * i), lane);
  for (int i = 0; i < 2; ++i)
    out[i] = _mm256_cmpgt_epi32(_mm256_set1_epi32(int32_t(len) - 8 * i), lane);
  for (int32_t q = 0; q < quads; ++q) {
    const int *src = reinterpret_cast<const int *>(base + offsets[q]);
    int *dstq = reinterpret_cast<int *>(dst + int64_t(q) * 64);
    for (int i = 0; i < 2 && 8 * i < len; ++i) {
      const __m256i a = _mm256_permutevar8x32_epi32(
          _mm256_maskload_epi32(src + 16 * i, in[2 * i]), even);
      const __m256i b = _mm256_permutevar8x32_epi32(
          _mm256_maskload_epi32(src + 16 * i + 8, in[2 * i + 1]), even);
      _mm256_maskstore_epi32(dstq + 8 * i, out[i],
                             _mm256_permute2x128_si256(a, b, 0x20));
    }
  }
}

} // namespace

size_t packedPlanarBytes(const PackedLayer &pl) {
  return pl.planar ? size_t(pl.padH) * pl.planes * pl.padW * 4 + 64 : 0;
}

size_t packedColsBytes(const PackedLayer &pl) {
  return pl.direct ? 0
                   : size_t((pl.pixels + pl.blockPixels() - 1) /
                            pl.blockPixels() * pl.blockBytes);
}

namespace {

/// The packed bytes the kernel reads (the planar input when direct, else
/// the im2col copy), rounded up to 64: the part widened for Words.
size_t wordsSourceBytes(const PackedLayer &pl) {
  const size_t n = pl.direct ? packedPlanarBytes(pl) : packedColsBytes(pl);
  return (n + 63) / 64 * 64;
}

} // namespace

size_t packedWordsBytes(const PackedLayer &pl) {
  return pl.words ? 2 * wordsSourceBytes(pl) : 0;
}

namespace {

/// dst[i] = src[i] widened to 16 bits, for i < n (a multiple of 16).
__attribute__((target("avx2"))) void widenBytes(const uint8_t *src, size_t n,
                                                int16_t *dst) {
  for (size_t i = 0; i < n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(dst + i),
                        _mm256_cvtepu8_epi16(_mm_loadu_si128(
                            reinterpret_cast<const __m128i *>(src + i))));
}

void packInputBytes(const PackedLayer &pl, const Layer &l,
                    const std::vector<int32_t> &in, const PackedInput &out) {
  const int64_t plane = int64_t(pl.inH) * pl.inW;
  const uint8_t fill = uint8_t(pl.offset);
  if (pl.planar) {
    // [y][channel / 4][x][channel % 4], padding = the stored zero.
    std::memset(out.planar, fill, packedPlanarBytes(pl));
    for (int32_t y = 0; y < pl.inH; ++y)
      for (int32_t q = 0; q < pl.planes; ++q) {
        uint8_t *dst =
            out.planar +
            ((int64_t(y + pl.padTop) * pl.planes + q) * pl.padW + pl.padLeft) *
                4;
        const int32_t *src[4];
        for (int32_t t = 0; t < 4; ++t)
          src[t] = in.data() + (4 * q + t) * plane + int64_t(y) * pl.inW;
        int32_t done = 0;
        if (pl.isa == PackedIsa::Avx512Vnni)
          done = interleaveAvx512(src, pl.inW, pl.offset, dst);
        else if (pl.isa != PackedIsa::Scalar)
          done = interleaveAvx2(src, pl.inW, pl.offset, dst);
        for (int32_t t = 0; t < 4; ++t)
          for (int32_t x = done; x < pl.inW; ++x)
            dst[x * 4 + t] = uint8_t(src[t][x] + pl.offset);
      }
  }
  if (pl.direct)
    return;
  const int32_t quads = pl.rowGroups * pl.quadsPerGroup;
  const size_t colsBytes = packedColsBytes(pl);
  // From the planar input every quad of every pixel is copied (padding
  // included), and lanes past the last pixel are masked off: only the
  // byte-by-byte path below skips bytes, the padding, and needs the fill.
  if (!pl.planar)
    std::memset(out.cols, fill, colsBytes);
  // A pixel's 4 bytes of a quad: 4 apart, or 16 apart in narrow blocks
  // (whose copies 2 to 4 are filled at the end).
  const int64_t B = pl.blockPixels(), laneBytes = pl.narrow ? 16 : 4;
  const auto laneOf = [&](int64_t px) {
    return out.cols + (px / B) * pl.blockBytes + (px % B) * laneBytes;
  };
  const auto copyNarrowLanes = [&] {
    if (pl.narrow)
      for (size_t i = 0; i < colsBytes; i += 16)
        for (size_t c = 4; c < 16; c += 4)
          std::memcpy(out.cols + i + c, out.cols + i, 4);
  };
  if (pl.planar) {
    // Runs of pixels in one output row and one block: with stride 1 each
    // quad's run is contiguous in the planar input.
    for (int64_t px = 0; px < pl.pixels;) {
      const int32_t oy = int32_t(px / pl.outW), ox = int32_t(px % pl.outW);
      const int64_t len =
          std::min<int64_t>({pl.outW - ox, B - px % B, pl.pixels - px});
      uint8_t *dst = laneOf(px);
      const uint8_t *base =
          out.planar + ((int64_t(oy) * pl.strideH * pl.planes) * pl.padW +
                        int64_t(ox) * pl.strideW) *
                           4;
      if (pl.strideW <= 2 && laneBytes == 4 && pl.isa != PackedIsa::Scalar) {
        const int32_t *offsets = pl.planarOffset.data();
        if (pl.isa == PackedIsa::Avx512Vnni && pl.strideW == 1)
          copyQuadRunsAvx512(dst, base, offsets, quads, len * 4);
        else if (pl.isa == PackedIsa::Avx512Vnni)
          copyQuadRunsStride2Avx512(dst, base, offsets, quads, len);
        else if (pl.strideW == 1)
          copyQuadRunsAvx2(dst, base, offsets, quads, len * 4);
        else
          copyQuadRunsStride2Avx2(dst, base, offsets, quads, len);
        px += len;
        continue;
      }
      for (int32_t q = 0; q < quads; ++q) {
        const uint8_t *src = base + pl.planarOffset[size_t(q)];
        if (pl.strideW == 1 && laneBytes == 4) {
          std::memcpy(dst + int64_t(q) * 64, src, size_t(len) * 4);
          continue;
        }
        for (int64_t i = 0; i < len; ++i)
          std::memcpy(dst + int64_t(q) * 64 + i * laneBytes,
                      src + i * pl.strideW * 4, 4);
      }
      px += len;
    }
    copyNarrowLanes();
    return;
  }
  // Any geometry, byte by byte from the CHW input (a first layer's 3
  // channels): each row's tap and channel once, then its bytes pixel by
  // pixel, without a division in the inner loop.
  thread_local std::vector<int64_t> laneAt;
  laneAt.resize(size_t(pl.pixels));
  for (int64_t px = 0; px < pl.pixels; ++px)
    laneAt[size_t(px)] = laneOf(px) - out.cols;
  for (int32_t row = 0; row < pl.rows; ++row) {
    const int32_t tap = row / pl.inC, ic = row % pl.inC;
    const int32_t dy = tap / l.kernelW * l.dilationH - l.padTop;
    const int32_t dx = tap % l.kernelW * l.dilationW - l.padLeft;
    const int32_t rg = row / pl.rowsPerGroup, r = row % pl.rowsPerGroup;
    const int64_t at = (int64_t(rg) * pl.quadsPerGroup + r / 4) * 64 + r % 4;
    const int32_t *channel = in.data() + int64_t(ic) * plane;
    int64_t px = 0;
    for (int32_t oy = 0; oy < pl.outH; ++oy) {
      const int32_t sy = oy * l.strideH + dy;
      if (sy < 0 || sy >= pl.inH) {
        px += pl.outW;
        continue;
      }
      const int32_t *src = channel + int64_t(sy) * pl.inW;
      for (int32_t ox = 0; ox < pl.outW; ++ox, ++px) {
        const int32_t sx = ox * l.strideW + dx;
        if (sx >= 0 && sx < pl.inW)
          out.cols[laneAt[size_t(px)] + at] = uint8_t(src[sx] + pl.offset);
      }
    }
  }
  copyNarrowLanes();
}

} // namespace

void packInput(const PackedLayer &pl, const Layer &l,
               const std::vector<int32_t> &in, const PackedInput &out) {
  packInputBytes(pl, l, in, out);
  if (pl.words) // the bytes past the input's end are the arena's 64-byte pad
    widenBytes(pl.direct ? out.planar : out.cols, wordsSourceBytes(pl),
               out.words);
}

namespace {

/// 16 output pixels of one row (direct) or of one im2col block, or 4 of a
/// narrow block; pixels outside `mask` are computed on whatever bytes are
/// there and dropped.
struct Block {
  const uint8_t *x;
  int64_t accPixel; ///< The pixel of lane 0.
  uint32_t mask;
};

struct KernelArgs {
  const PackedLayer *pl;
  const PackedWork *w;
  const Block *blocks;
  size_t count;
  int32_t *acc;  ///< The partition's first channel, [channel][pixel].
  int32_t valid; ///< Channels inside the matrix.
};

int32_t load32(const void *p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// The portable kernel: any channels per partition, wrapped uint32 sums.
void kernelScalar(const KernelArgs &a) {
  const PackedLayer &pl = *a.pl;
  const int32_t C = pl.channelsPerGroup, Q = pl.quadsPerGroup;
  for (size_t bi = 0; bi < a.count; ++bi) {
    const Block &b = a.blocks[bi];
    for (int32_t j = 0; j < a.valid; ++j) {
      uint32_t s[16] = {};
      const int8_t *wp = a.w->weights;
      for (size_t g = 0; g < size_t(a.w->groupCount); ++g) {
        const int32_t *off =
            pl.quadOffset.data() + size_t(a.w->rowGroups[g]) * Q;
        for (int32_t k = 0; k < Q; ++k, wp += C * 4) {
          const uint8_t *xq = b.x + off[k];
          const int8_t *wq = wp + j * 4;
          for (int lane = 0; lane < 16; ++lane)
            for (int t = 0; t < 4; ++t)
              s[lane] += uint32_t(xq[lane * 4 + t]) * uint32_t(int32_t(wq[t]));
        }
      }
      int32_t *dst = a.acc + int64_t(j) * pl.pixels + b.accPixel;
      const uint32_t corr = uint32_t(a.w->correction[j]);
      for (int lane = 0; lane < 16; ++lane)
        if (b.mask >> lane & 1)
          dst[lane] = int32_t(uint32_t(dst[lane]) + s[lane] - corr);
    }
  }
}

/// How far ahead of its reads an AVX-512 kernel asks for the packed
/// weights. They stream from memory (a network's weights rarely fit the
/// caches), and at 4 channels a group's quads are one cache line, too
/// little work to hide its latency: in a profile of vgg16 W8A8 the first
/// weight load of each group held 30% of the narrow kernel's samples.
/// Measured there (min of 25 runs): 256 B gained nothing, 1 KiB 3%,
/// 4 KiB 6%.
constexpr int kPrefetchBytes = 4096;

/// One quad of NB blocks × C channels into `acc`.
template <int C, int NB>
__attribute__((target("avx512f,avx512bw,avx512vnni"),
               always_inline)) inline void
quadAvx512(__m512i (&acc)[NB][C], const Block *blk, int32_t offset,
           const int8_t *w) {
  __m512i x[NB];
  for (int b = 0; b < NB; ++b)
    x[b] = _mm512_loadu_si512(blk[b].x + offset);
  for (int j = 0; j < C; ++j) {
    const __m512i wv = _mm512_set1_epi32(load32(w + 4 * j));
    for (int b = 0; b < NB; ++b)
      acc[b][j] = _mm512_dpbusd_epi32(acc[b][j], x[b], wv);
  }
}

/// AVX-512 VNNI: NB blocks × C channels of 16-lane accumulators; a quad's
/// weights for channel j broadcast to every lane for `vpdpbusd`. With S = 2
/// even and odd quads go to separate accumulators (summed at the end), so
/// that a tile of few accumulators is not held up by `vpdpbusd`'s latency.
template <int C, int NB, int S>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void
tileAvx512(const KernelArgs &a, const Block *blk) {
  const PackedLayer &pl = *a.pl;
  const int32_t Q = pl.quadsPerGroup;
  __m512i acc[S][NB][C];
  for (int u = 0; u < S; ++u)
    for (int b = 0; b < NB; ++b)
      for (int j = 0; j < C; ++j)
        acc[u][b][j] = _mm512_setzero_si512();
  const int8_t *wp = a.w->weights;
  const size_t groups = size_t(a.w->groupCount);
  for (size_t g = 0; g < groups; ++g) {
    _mm_prefetch(reinterpret_cast<const char *>(wp) + kPrefetchBytes,
                 _MM_HINT_T0);
    const int32_t *off = pl.quadOffset.data() + size_t(a.w->rowGroups[g]) * Q;
    int32_t k = 0;
    if constexpr (S == 2)
      for (; k + 2 <= Q; k += 2, wp += 2 * C * 4) {
        quadAvx512<C, NB>(acc[0], blk, off[k], wp);
        quadAvx512<C, NB>(acc[1], blk, off[k + 1], wp + C * 4);
      }
    for (; k < Q; ++k, wp += C * 4)
      quadAvx512<C, NB>(acc[0], blk, off[k], wp);
  }
  for (int j = 0; j < C && j < a.valid; ++j) {
    const __m512i corr = _mm512_set1_epi32(a.w->correction[j]);
    for (int b = 0; b < NB; ++b) {
      __m512i sum = acc[0][b][j];
      if constexpr (S == 2)
        sum = _mm512_add_epi32(sum, acc[1][b][j]);
      const __mmask16 m = __mmask16(blk[b].mask);
      int32_t *dst = a.acc + int64_t(j) * pl.pixels + blk[b].accPixel;
      const __m512i old = _mm512_maskz_loadu_epi32(m, dst);
      _mm512_mask_storeu_epi32(
          dst, m, _mm512_add_epi32(old, _mm512_sub_epi32(sum, corr)));
    }
  }
}

template <int C, int NB>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void
kernelAvx512(const KernelArgs &a) {
  size_t i = 0;
  for (; i + NB <= a.count; i += NB)
    tileAvx512<C, NB, NB * C <= 8 ? 2 : 1>(a, a.blocks + i);
  for (; i < a.count; ++i)
    tileAvx512<C, 1, C <= 8 ? 2 : 1>(a, a.blocks + i);
}

/// One quad of G narrow blocks × 4V channels into `acc`: the quad's 16
/// weight bytes of channels 4v..4v+3 go to every 128-bit lane, so lane
/// 4p + c adds pixel p's 4 products with channel 4v + c.
template <int V, int G>
__attribute__((target("avx512f,avx512bw,avx512vnni"),
               always_inline)) inline void
narrowQuadAvx512(__m512i (&acc)[G][V], const Block *blk, int32_t offset,
                 const int8_t *w) {
  __m512i x[G];
  for (int g = 0; g < G; ++g)
    x[g] = _mm512_loadu_si512(blk[g].x + offset);
  for (int v = 0; v < V; ++v) {
    const __m512i wv = _mm512_broadcast_i32x4(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(w + 16 * v)));
    for (int g = 0; g < G; ++g)
      acc[g][v] = _mm512_dpbusd_epi32(acc[g][v], x[g], wv);
  }
}

/// AVX-512 VNNI on narrow blocks: G blocks of 4 pixels × 4V channels, the
/// quads spread over S accumulator sets so that a few accumulators are
/// not held up by `vpdpbusd`'s latency.
template <int V, int G, int S>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void
narrowTileAvx512(const KernelArgs &a, const Block *blk) {
  const PackedLayer &pl = *a.pl;
  const int32_t Q = pl.quadsPerGroup;
  constexpr int C = 4 * V;
  __m512i acc[S][G][V];
  for (int s = 0; s < S; ++s)
    for (int g = 0; g < G; ++g)
      for (int v = 0; v < V; ++v)
        acc[s][g][v] = _mm512_setzero_si512();
  const int8_t *wp = a.w->weights;
  const size_t groups = size_t(a.w->groupCount);
  for (size_t rg = 0; rg < groups; ++rg) {
    _mm_prefetch(reinterpret_cast<const char *>(wp) + kPrefetchBytes,
                 _MM_HINT_T0);
    const int32_t *off = pl.quadOffset.data() + size_t(a.w->rowGroups[rg]) * Q;
    int32_t k = 0;
    for (; k + S <= Q; k += S, wp += S * C * 4)
      for (int s = 0; s < S; ++s)
        narrowQuadAvx512<V, G>(acc[s], blk, off[k + s], wp + s * C * 4);
    for (; k < Q; ++k, wp += C * 4)
      narrowQuadAvx512<V, G>(acc[0], blk, off[k], wp);
  }
  for (int g = 0; g < G; ++g)
    for (int v = 0; v < V; ++v) {
      __m512i sum = acc[0][g][v];
      for (int s = 1; s < S; ++s)
        sum = _mm512_add_epi32(sum, acc[s][g][v]);
      alignas(64) int32_t lanes[16];
      _mm512_store_si512(lanes, sum);
      for (int c = 0; c < 4 && 4 * v + c < a.valid; ++c) {
        const int32_t j = 4 * v + c;
        const uint32_t corr = uint32_t(a.w->correction[j]);
        int32_t *dst = a.acc + int64_t(j) * pl.pixels + blk[g].accPixel;
        for (int p = 0; p < 4; ++p)
          if (blk[g].mask >> p & 1)
            dst[p] =
                int32_t(uint32_t(dst[p]) + uint32_t(lanes[4 * p + c]) - corr);
      }
    }
}

template <int V>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void
narrowKernelAvx512(const KernelArgs &a) {
  // Enough accumulators in flight; S at most 4 since a group has 4 quads
  // at the usual wl_on of 16 (the quads past a multiple of S go to set 0).
  constexpr int S1 = V == 1 ? 4 : 2, S2 = V == 1 ? 4 : 2, S3 = 2;
  size_t i = 0;
  for (; i + 3 <= a.count; i += 3)
    narrowTileAvx512<V, 3, S3>(a, a.blocks + i);
  if (a.count - i == 2)
    narrowTileAvx512<V, 2, S2>(a, a.blocks + i);
  else if (a.count - i == 1)
    narrowTileAvx512<V, 1, S1>(a, a.blocks + i);
}

/// How the 256-bit kernel multiplies a quad of input bytes by a weight quad
/// (for 8-bit inputs by 8-bit weights on AVX2, see wordsKernelAvx2).
enum class Dot256 {
  /// AVX-VNNI `vpdpbusd`.
  Vnni,
  /// AVX2 `vpmaddubsw` (u8 × s8 pairs summed into int16) then `vpmaddwd`
  /// by 1: exact only when the pairs fit int16 (pairSumsFitInt16).
  Pairs,
};

/// AVX-VNNI's `vpdpbusd` (acc += u8 x · s8 w, 4 products a lane) by inline
/// assembly, so that the 256-bit kernels' target stays plain AVX2: with
/// avxvnni in their target attribute clang fused the Pairs path's
/// `vpmaddwd` + `vpaddd` into AVX-VNNI's `vpdpwssd`, an illegal
/// instruction on a CPU without AVX-VNNI (the fuzz build died so on a
/// Zen 3). Called only when the CPU has AVX-VNNI (PackedIsa::AvxVnni).
__attribute__((target("avx2"), always_inline)) inline __m256i
dpbusdAvxVnni(__m256i acc, __m256i x, __m256i w) {
  asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(w));
  return acc;
}

/// AVX2 or AVX-VNNI: each 16-pixel block as two 8-lane halves, of which
/// only the first when the block's pixels all lie in it (H = 1: layers of
/// at most 8 output pixels, such as VGG's 2×2 convolutions, would
/// otherwise spend half the work on empty lanes).
template <int C, int NB, int H, Dot256 D>
__attribute__((target("avx2"))) void tileAvx2(const KernelArgs &a,
                                              const Block *blk) {
  const PackedLayer &pl = *a.pl;
  const int32_t Q = pl.quadsPerGroup;
  __m256i acc[NB][H][C];
  for (int b = 0; b < NB; ++b)
    for (int h = 0; h < H; ++h)
      for (int j = 0; j < C; ++j)
        acc[b][h][j] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  const int8_t *wp = a.w->weights;
  const size_t groups = size_t(a.w->groupCount);
  for (size_t g = 0; g < groups; ++g) {
    const int32_t *off = pl.quadOffset.data() + size_t(a.w->rowGroups[g]) * Q;
    for (int32_t k = 0; k < Q; ++k, wp += C * 4) {
      __m256i x[NB][H];
      for (int b = 0; b < NB; ++b)
        for (int h = 0; h < H; ++h)
          x[b][h] = _mm256_loadu_si256(
              reinterpret_cast<const __m256i *>(blk[b].x + off[k] + 32 * h));
      for (int j = 0; j < C; ++j) {
        const __m256i wv = _mm256_set1_epi32(load32(wp + 4 * j));
        for (int b = 0; b < NB; ++b)
          for (int h = 0; h < H; ++h) {
            if constexpr (D == Dot256::Vnni) {
              acc[b][h][j] = dpbusdAvxVnni(acc[b][h][j], x[b][h], wv);
            } else {
              const __m256i pairs = _mm256_maddubs_epi16(x[b][h], wv);
              acc[b][h][j] = _mm256_add_epi32(acc[b][h][j],
                                              _mm256_madd_epi16(pairs, ones));
            }
          }
      }
    }
  }
  const __m256i laneBit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  for (int j = 0; j < C && j < a.valid; ++j) {
    const __m256i corr = _mm256_set1_epi32(a.w->correction[j]);
    for (int b = 0; b < NB; ++b)
      for (int h = 0; h < H; ++h) {
        const __m256i bits =
            _mm256_set1_epi32(int32_t(blk[b].mask >> (8 * h) & 0xff));
        const __m256i m =
            _mm256_cmpeq_epi32(_mm256_and_si256(bits, laneBit), laneBit);
        int *dst = a.acc + int64_t(j) * pl.pixels + blk[b].accPixel + 8 * h;
        const __m256i old = _mm256_maskload_epi32(dst, m);
        _mm256_maskstore_epi32(
            dst, m,
            _mm256_add_epi32(old, _mm256_sub_epi32(acc[b][h][j], corr)));
      }
  }
}

template <int C, int NB, Dot256 D>
__attribute__((target("avx2"))) void kernelAvx2(const KernelArgs &a) {
  size_t i = 0;
  // Blocks of one layer either all fit the first half (at most 8 output
  // pixels in all, so every block starts at pixel 0) or mostly do not.
  if (a.pl->pixels <= 8) {
    for (; i < a.count; ++i)
      if (a.blocks[i].mask >> 8)
        tileAvx2<C, 1, 2, D>(a, a.blocks + i);
      else
        tileAvx2<C, 1, 1, D>(a, a.blocks + i);
    return;
  }
  for (; i + NB <= a.count; i += NB)
    tileAvx2<C, NB, 2, D>(a, a.blocks + i);
  for (; i < a.count; ++i)
    tileAvx2<C, 1, 2, D>(a, a.blocks + i);
}

/// AVX2 for inputs too wide for Dot256::Pairs (8-bit inputs by 8-bit
/// weights, PackedLayer::words): int16 inputs (packInput's widened copy)
/// by int16 weights in `vpmaddwd`, whose pair sums (at most 2 × 255 × 128
/// in magnitude) are exact in int32. A 256-bit vector holds 4 pixels × the
/// 4 rows of a quad, so each pixel keeps its two pair sums in adjacent
/// lanes until the end. One call computes the first QS quarters (4 pixels
/// each) of a block, for channels [j0, j0 + CC). One `vpmaddwd` per 4
/// products: splitting the bytes into nibbles for `vpmaddubsw` instead
/// takes two multiplies and two `vpmaddwd` per 8, and the multiply ports
/// bound this loop (measured: vgg16 W8A8 11% faster in all than nibbles).
template <int C, int CC, int QS>
__attribute__((target("avx2"))) void wordsTileAvx2(const KernelArgs &a,
                                                   const Block &blk, int j0) {
  const PackedLayer &pl = *a.pl;
  const int32_t Q = pl.quadsPerGroup;
  __m256i acc[QS][CC];
  for (int q = 0; q < QS; ++q)
    for (int j = 0; j < CC; ++j)
      acc[q][j] = _mm256_setzero_si256();
  const int8_t *wp = a.w->weights + 4 * j0;
  const size_t groups = size_t(a.w->groupCount);
  for (size_t g = 0; g < groups; ++g) {
    const int32_t *off = pl.quadOffset.data() + size_t(a.w->rowGroups[g]) * Q;
    for (int32_t k = 0; k < Q; ++k, wp += C * 4) {
      const uint8_t *xb = blk.x + 2 * int64_t(off[k]);
      __m256i wv[CC];
      if constexpr (CC >= 2) {
        // The weight bytes of CC channels widened at once, then each
        // channel's 4 words broadcast.
        const __m256i w4 = _mm256_cvtepi8_epi16(
            CC == 4 ? _mm_loadu_si128(reinterpret_cast<const __m128i *>(wp))
                    : _mm_loadl_epi64(reinterpret_cast<const __m128i *>(wp)));
        wv[0] = _mm256_permute4x64_epi64(w4, 0x00);
        wv[1] = _mm256_permute4x64_epi64(w4, 0x55);
        if constexpr (CC == 4) {
          wv[2] = _mm256_permute4x64_epi64(w4, 0xaa);
          wv[3] = _mm256_permute4x64_epi64(w4, 0xff);
        }
      } else {
        wv[0] = _mm256_broadcastq_epi64(
            _mm_cvtepi8_epi16(_mm_cvtsi32_si128(load32(wp))));
      }
      for (int q = 0; q < QS; ++q) {
        const __m256i x =
            _mm256_loadu_si256(reinterpret_cast<const __m256i *>(xb + 32 * q));
        for (int j = 0; j < CC; ++j)
          acc[q][j] = _mm256_add_epi32(acc[q][j], _mm256_madd_epi16(x, wv[j]));
      }
    }
  }
  const __m256i laneBit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  for (int q = 0; q < QS; q += 2) {
    const int h = q / 2; // 8 pixels: quarters q and q + 1
    const __m256i bits = _mm256_set1_epi32(int32_t(blk.mask >> (8 * h) & 0xff));
    const __m256i m =
        _mm256_cmpeq_epi32(_mm256_and_si256(bits, laneBit), laneBit);
    for (int j = 0; j < CC && j0 + j < a.valid; ++j) {
      // Lanes (p0 p0' p1 p1' | p2 p2' p3 p3') and the same for p4..p7:
      // the horizontal add gives (p0 p1 p4 p5 | p2 p3 p6 p7). A lone
      // quarter (QS 1) adds zeros for p4..p7, which the mask leaves out.
      __m256i next = _mm256_setzero_si256();
      if constexpr (QS > 1)
        next = acc[q + 1][j];
      const __m256i sums =
          _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[q][j], next), 0xd8);
      const __m256i corr = _mm256_set1_epi32(a.w->correction[j0 + j]);
      int *dst = a.acc + int64_t(j0 + j) * pl.pixels + blk.accPixel + 8 * h;
      const __m256i old = _mm256_maskload_epi32(dst, m);
      _mm256_maskstore_epi32(
          dst, m, _mm256_add_epi32(old, _mm256_sub_epi32(sums, corr)));
    }
  }
}

template <int C>
__attribute__((target("avx2"))) void wordsKernelAvx2(const KernelArgs &a) {
  // 16 pixels × 2 channels (8 accumulators), 8 pixels × 4 or 4 × 4.
  constexpr int CC16 = C < 2 ? C : 2, CC8 = C < 4 ? C : 4;
  for (size_t i = 0; i < a.count; ++i) {
    const Block &blk = a.blocks[i];
    if (blk.mask >> 8) {
      for (int j0 = 0; j0 < C; j0 += CC16)
        wordsTileAvx2<C, CC16, 4>(a, blk, j0);
    } else if (blk.mask >> 4) {
      for (int j0 = 0; j0 < C; j0 += CC8)
        wordsTileAvx2<C, CC8, 2>(a, blk, j0);
    } else { // at most 4 pixels (VGG's 2×2 layers): one quarter
      for (int j0 = 0; j0 < C; j0 += CC8)
        wordsTileAvx2<C, CC8, 1>(a, blk, j0);
    }
  }
}

/// The kernel for C channels per partition on `isa`; null for a C the SIMD
/// kernels are not built for.
template <int C>
void (*simdKernel(PackedIsa isa, bool pairsFit))(const KernelArgs &) {
  constexpr int nb512 = C >= 16 ? 1 : 16 / C > 4 ? 4 : 16 / C;
  constexpr int nb256 = C >= 8 ? 1 : 8 / C > 4 ? 4 : 8 / C;
  switch (isa) {
  case PackedIsa::Avx512Vnni: return kernelAvx512<C, nb512>;
  case PackedIsa::AvxVnni: return kernelAvx2<C, nb256, Dot256::Vnni>;
  case PackedIsa::Avx2:
    return pairsFit ? kernelAvx2<C, nb256, Dot256::Pairs> : wordsKernelAvx2<C>;
  case PackedIsa::Scalar: return nullptr;
  }
  return nullptr;
}

} // namespace

void computePacked(const PackedLayer &pl, const std::vector<PackedWork> &work,
                   const PackedInput &in, int32_t begin, int32_t end,
                   int32_t *acc) {
  if (work.empty() || begin >= end)
    return;
  thread_local std::vector<Block> blocks;
  blocks.clear();
  int64_t px = begin;
  while (px < end) {
    if (pl.direct) {
      const int64_t oy = px / pl.outW, ox = px % pl.outW;
      const int64_t len = std::min<int64_t>({16, end - px, pl.outW - ox});
      blocks.push_back(
          {in.planar + ((oy * pl.strideH * pl.planes) * pl.padW + ox) * 4, px,
           (uint32_t(1) << len) - 1});
      px += len;
      continue;
    }
    const int64_t B = pl.blockPixels();
    const int64_t block = px / B, lane = px % B;
    const int64_t len = std::min<int64_t>(B - lane, end - px);
    blocks.push_back({in.cols + block * pl.blockBytes, block * B,
                      ((uint32_t(1) << len) - 1) << lane});
    px += len;
  }
  if (pl.words) { // the same places in the widened copy
    const uint8_t *bytes = pl.direct ? in.planar : in.cols;
    for (Block &b : blocks)
      b.x = reinterpret_cast<const uint8_t *>(in.words) + 2 * (b.x - bytes);
  }
  const int32_t C = pl.channelsPerGroup;
  void (*kernel)(const KernelArgs &) = nullptr;
  if (pl.narrow) {
    switch (C) {
    case 4: kernel = narrowKernelAvx512<1>; break;
    case 8: kernel = narrowKernelAvx512<2>; break;
    case 16: kernel = narrowKernelAvx512<4>; break;
    default: break; // packedLayerOf allows only these
    }
  } else
    switch (C) {
    case 1: kernel = simdKernel<1>(pl.isa, pl.pairSumsFitInt16); break;
    case 2: kernel = simdKernel<2>(pl.isa, pl.pairSumsFitInt16); break;
    case 4: kernel = simdKernel<4>(pl.isa, pl.pairSumsFitInt16); break;
    case 8: kernel = simdKernel<8>(pl.isa, pl.pairSumsFitInt16); break;
    case 16: kernel = simdKernel<16>(pl.isa, pl.pairSumsFitInt16); break;
    default: break;
    }
  if (!kernel)
    kernel = kernelScalar;
  // The blocks and the kernel serve every partition of the image.
  for (const PackedWork &w : work)
    if (w.groupCount > 0)
      kernel({&pl, &w, blocks.data(), blocks.size(),
              acc + int64_t(w.colGroup) * C * pl.pixels,
              std::min(C, pl.cols - w.colGroup * C)});
}

namespace {

/// One channel of postConvPacked on AVX-512, 8 pixels at a time: bias add,
/// int32 saturation, then (unless `accumulator`) acc × value by vpmuldq on
/// the saturated (int32) lanes, the rounding shift and the clamp.
__attribute__((target("avx512f"))) int64_t
postPlaneAvx512(const int32_t *a, int32_t *out, int64_t n, int64_t bias,
                bool accumulator, quant::Multiplier m, int64_t lo, int64_t hi) {
  const __m512i b = _mm512_set1_epi64(bias);
  const __m512i value = _mm512_set1_epi64(m.value);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m512i v = _mm512_add_epi64(_mm512_cvtepi32_epi64(_mm256_loadu_si256(
                                     reinterpret_cast<const __m256i *>(a + i))),
                                 b);
    v = clamp8(v, std::numeric_limits<int32_t>::min(),
               std::numeric_limits<int32_t>::max());
    if (!accumulator) {
      v = _mm512_mul_epi32(v, value);
      if (m.shift > 0)
        v = roundingShift8(v, m.shift);
      v = clamp8(v, lo, hi);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + i),
                        _mm512_cvtepi64_epi32(v));
  }
  return i;
}

/// postPlaneAvx512 on AVX2, 4 pixels at a time.
__attribute__((target("avx2"))) int64_t
postPlaneAvx2(const int32_t *a, int32_t *out, int64_t n, int64_t bias,
              bool accumulator, quant::Multiplier m, int64_t lo, int64_t hi) {
  const __m256i b = _mm256_set1_epi64x(bias);
  const __m256i value = _mm256_set1_epi64x(m.value);
  const __m256i evens = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256i v = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm_loadu_si128(
                                     reinterpret_cast<const __m128i *>(a + i))),
                                 b);
    v = clamp4(v, std::numeric_limits<int32_t>::min(),
               std::numeric_limits<int32_t>::max());
    if (!accumulator) {
      v = _mm256_mul_epi32(v, value);
      if (m.shift > 0)
        v = roundingShift4(v, m.shift);
      v = clamp4(v, lo, hi);
    }
    _mm_storeu_si128(
        reinterpret_cast<__m128i *>(out + i),
        _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(v, evens)));
  }
  return i;
}

} // namespace

void postConvPacked(const program::Program &p, const Layer &l,
                    const int32_t *acc, int32_t begin, int32_t end,
                    PackedIsa isa, std::vector<int32_t> &dst) {
  const Buffer &out = p.buffers[l.output];
  const int64_t pixels = int64_t(out.height) * out.width;
  for (int32_t c = begin; c < end; ++c) {
    int32_t *plane = dst.data() + c * pixels;
    const int32_t *a = acc + c * pixels;
    const int64_t bias = l.bias[size_t(c)];
    const auto saturate = [](int64_t v) {
      return quant::clampTo(v, std::numeric_limits<int32_t>::min(),
                            std::numeric_limits<int32_t>::max());
    };
    quant::Multiplier m;
    if (!out.isAccumulator)
      m = {l.requant[size_t(c)].value, l.requant[size_t(c)].shift};
    int64_t done = 0;
    if (isa == PackedIsa::Avx512Vnni)
      done = postPlaneAvx512(a, plane, pixels, bias, out.isAccumulator, m,
                             l.clampLo, l.clampHi);
    else if (isa != PackedIsa::Scalar)
      done = postPlaneAvx2(a, plane, pixels, bias, out.isAccumulator, m,
                           l.clampLo, l.clampHi);
    if (out.isAccumulator) {
      for (int64_t px = done; px < pixels; ++px)
        plane[px] = int32_t(saturate(bias + a[px]));
      continue;
    }
    for (int64_t px = done; px < pixels; ++px)
      plane[px] = int32_t(quant::clampTo(
          quant::requantize(saturate(bias + a[px]), m), l.clampLo, l.clampHi));
  }
}

} // namespace mars::runtime::detail
