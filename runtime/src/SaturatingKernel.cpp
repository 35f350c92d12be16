// The macro-level model's fast kernel (see SaturatingKernel.h).
//
// Packing. computeMacroLevel counts, per (pixel, group, input slice s,
// channel j, weight bit b), count = Σ_r slice_s(x_r) · bit_b(w_rj) over the
// group's R rows, clips it at 2^adc_bits − 1 and adds ±count · 2^(first_s + b).
// Slices come in pairs (s0, s1) and bits in pairs (bA, bB). With
//   a_r  = slice_s0(x_r) + (slice_s1(x_r) << 2F)           (int16)
//   b_rj = bit_bA(w_rj)  + (bit_bB(w_rj)  << F)            (int16)
// the product a_r · b_rj holds the four products in F-bit fields at 0, F,
// 2F and 3F: (s0,bA), (s0,bB), (s1,bA), (s1,bB). Summed over the rows, each
// field is a column count ≤ R · (2^pc − 1) (pc = input_bits_per_cycle), so
// no field carries into the next when R · (2^pc − 1) < 2^F; a_r fits int16
// when pc + 2F ≤ 15 and the four fields fit a non-negative int32 when
// 4F ≤ 31. One pmaddwd of a broadcast pair (a_2q, a_2q+1) with the
// interleaved b of 8 channels then adds two rows of 32 column counts.
//
// After a group's rows: the fields move to bytes 0..3 of their lane, are
// clipped with an unsigned byte minimum (counts < 2^F ≤ 128, so a ceiling
// above 127 clips nothing and is lowered to fit), the bytes above the
// ceiling are counted as saturations, then pmaddubsw with the bytes
// (±2^bA, ±2^bB, ±2^bA, ±2^bB) — the weight's MSB column negative — and
// pmaddwd with (±2^first_s0, ±2^first_s1) — a sign slice negative — give
// the group's signed contribution of both slices and both bits.
// An odd number of slices or bits pairs with a zero slice or bit, whose
// counts are zero: they neither change the sum nor saturate.
//
// Bounds. Every partial sum of a partition's contribution for one pixel is
// at most Σ_r |x_r| · |w_r| in bit patterns, ≤ rows · (2^bits − 1) ·
// (2^wbits − 1) over the macro's rows; satLayoutOf requires that below 2^31
// so the per-pixel totals stay int32 until they are added to the int64
// accumulators.
#include "SaturatingKernel.h"
#include "Avx2Accumulate.h"

#include <algorithm>
#include <cstring>
#include <immintrin.h>

namespace mars::runtime::detail {

SatLayout satLayoutOf(const arch::ArchSpec &arch,
                      const program::WeightMatrix &m,
                      const program::Buffer &input) {
  SatLayout l;
  const int32_t pc = arch.macro.inputBitsPerCycle, R = m.rowsPerGroup;
  const bool narrow = input.isSigned ? input.bits <= 16 : input.bits <= 15;
  const double bound = double(arch.macro.rows) *
                       (double(int64_t(1) << input.bits) - 1) *
                       ((1 << m.weightBits) - 1);
  if (!narrow || m.weightBits > 8 || pc > 7 || bound >= 2147483648.0)
    return l;
  const int64_t maxCount = int64_t(R) * ((int64_t(1) << pc) - 1);
  int32_t f = 1;
  while ((int64_t(1) << f) <= maxCount)
    ++f;
  if (pc + 2 * f > 15 || 4 * f > 31)
    return l;
  l.fieldBits = f;
  l.slices = quant::inputSlices(input.bits, input.isSigned, pc);
  l.slicePairs = int32_t(l.slices.size() + 1) / 2;
  l.bitPairs = (m.weightBits + 1) / 2;
  l.bitPairStride = (l.bitPairs + 1) / 2 * 2;
  l.pairedRows = (R + 1) / 2 * 2;
  l.blocks = (m.channelsPerGroup + 7) / 8;
  return l;
}

void buildSlicePairs(const SatLayout &l, int32_t R, Im2col &c) {
  const int32_t rowGroups = c.rowsPadded / R, P2 = l.pairedRows;
  const int32_t S = int32_t(l.slices.size()), SP = l.slicePairs;
  // Per slice pair: the shift and mask of each slice (mask 0 for the zero
  // slice pairing an odd last one); the same for every row, so the row
  // loop below vectorizes.
  struct Shifts {
    uint16_t first0, mask0, first1, mask1;
  };
  Shifts shifts[16] = {};
  for (int32_t s = 0; s < S; ++s) {
    Shifts &p = shifts[s / 2];
    const uint16_t mask = uint16_t((1u << l.slices[s].count) - 1);
    (s % 2 ? p.first1 : p.first0) = uint16_t(l.slices[s].first);
    (s % 2 ? p.mask1 : p.mask0) = mask;
  }
  const uint16_t typeMask = uint16_t((1u << c.bits) - 1); // bits ≤ 16
  const int32_t high = 2 * l.fieldBits;
  // Every element is written, an odd group's padding row too, so the
  // buffer needs no zero fill.
  c.slicePairs.resize(size_t(c.pixels) * rowGroups * SP * P2);
  int16_t *out = c.slicePairs.data();
  for (int64_t px = 0; px < c.pixels; ++px)
    for (int32_t rg = 0; rg < rowGroups; ++rg) {
      const int16_t *x = c.x16.data() + px * c.rowsPadded + int64_t(rg) * R;
      for (int32_t sp = 0; sp < SP; ++sp, out += P2) {
        const Shifts p = shifts[sp];
        for (int32_t r = 0; r < R; ++r) {
          const uint16_t u = uint16_t(x[r]) & typeMask;
          out[r] = int16_t((u >> p.first0 & p.mask0) | (u >> p.first1 & p.mask1)
                                                           << high);
        }
        if (R < P2)
          out[R] = 0;
      }
    }
}

void prepareBitPairs(const SatLayout &l, const program::WeightMatrix &m,
                     PreparedMatrix &pm) {
  const int32_t R = m.rowsPerGroup, C = m.channelsPerGroup, B = m.weightBits;
  const int32_t Q = l.pairedRows / 2, stride = l.bitPairStride;
  const uint32_t typeMask = (1u << B) - 1;
  const size_t perBlock = size_t(Q) * stride * 16;
  pm.bitPairs.assign(m.groups.size() * l.blocks * perBlock, 0);
  for (size_t g = 0; g < m.groups.size(); ++g) {
    const program::Group &group = m.groups[g];
    for (int32_t r = 0; r < R; ++r)
      for (int32_t j = 0; j < C; ++j) {
        // Columns past the matrix edge are not converted by the macro
        // model: zero weights here make their counts zero.
        if (group.colGroup * C + j >= m.cols)
          continue;
        const uint32_t u =
            static_cast<uint32_t>(int32_t(group.weights[size_t(r) * C + j])) &
            typeMask;
        int16_t *blk = pm.bitPairs.data() + (g * l.blocks + j / 8) * perBlock;
        for (int32_t bp = 0; bp < l.bitPairs; ++bp) {
          const uint32_t v = (u >> 2 * bp & 1) | (u >> (2 * bp + 1) & 1)
                                                     << l.fieldBits;
          blk[((r / 2) * stride + bp) * 16 + (j % 8) * 2 + r % 2] = int16_t(v);
        }
      }
  }
}

namespace {

/// What every version reads for one partition.
struct Job {
  const int16_t *x = nullptr; ///< Im2col::slicePairs
  const int16_t *w = nullptr; ///< PreparedMatrix::bitPairs
  int32_t R = 0, Q = 0, rowGroups = 0, SP = 0, BP = 0, stride = 0, F = 0;
  int32_t blocks = 0, valid = 0, cols = 0, first = 0;
  uint32_t adcMax = 0;        ///< Clip ceiling, at most 127.
  int32_t sliceCoef[16] = {}; ///< ±2^first per slice, 0 for the pad.
  int32_t bitCoef[8] = {};    ///< ±2^b per weight bit, 0 for the pad.

  const int16_t *xAt(int64_t px, int32_t rowGroup, int32_t sp) const {
    return x + ((px * rowGroups + rowGroup) * SP + sp) * int64_t(2 * Q);
  }
  const int16_t *wAt(int32_t group, int32_t block) const {
    return w + (int64_t(group) * blocks + block) * Q * stride * 16;
  }
};

/// Adds one block's 8 int32 channel totals into the accumulators.
void addBlock(const Job &j, int64_t *dst, int32_t block, const int32_t *t) {
  const int32_t n = std::min(8, j.valid - block * 8);
  for (int32_t c = 0; c < n; ++c)
    dst[block * 8 + c] += t[c];
}

/// The packed arithmetic in plain C++: the portable version, and the
/// SIMD versions' specification.
void runScalar(const ComputeArgs &a, const PartitionWork &w, const Job &j,
               int64_t &saturations) {
  const uint32_t mask = (1u << j.F) - 1;
  for (int32_t px = a.pixelBegin; px < a.pixelEnd; ++px) {
    int64_t *dst = a.acc + int64_t(px) * j.cols + j.first;
    for (int32_t blk = 0; blk * 8 < j.valid; ++blk) {
      int32_t total[8] = {};
      for (size_t k = 0; k < w.groups.size(); ++k) {
        const int16_t *wg = j.wAt(w.groups[k], blk);
        for (int32_t sp = 0; sp < j.SP; ++sp) {
          const int16_t *xs = j.xAt(px, w.rowGroups[k], sp);
          for (int32_t bp = 0; bp < j.BP; ++bp)
            for (int32_t c = 0; c < 8; ++c) {
              uint32_t lane = 0; // four F-bit column counts
              for (int32_t q = 0; q < j.Q; ++q) {
                const int16_t *wq = wg + (q * j.stride + bp) * 16 + c * 2;
                lane += uint32_t(int32_t(xs[2 * q]) * wq[0] +
                                 int32_t(xs[2 * q + 1]) * wq[1]);
              }
              for (int32_t f = 0; f < 4; ++f) {
                uint32_t count = lane >> (f * j.F) & mask;
                if (count > j.adcMax) {
                  count = j.adcMax;
                  ++saturations;
                }
                total[c] += int32_t(count) * j.sliceCoef[2 * sp + f / 2] *
                            j.bitCoef[2 * bp + f % 2];
              }
            }
        }
      }
      addBlock(j, dst, blk, total);
    }
  }
}

/// Two adjacent int16 values broadcast to every 32-bit lane.
__attribute__((target("avx2"))) inline __m256i pair256(const int16_t *p) {
  int32_t v;
  std::memcpy(&v, p, sizeof v);
  return _mm256_set1_epi32(v);
}

/// AVX2 constants of one partition.
struct Avx2Consts {
  __m256i hi, mid, adcMax, bitCoef[4], sliceCoef[8];
  __m128i shiftHi, shiftMid;
};

/// One stream's lanes after a group: fields to bytes, clip, count
/// saturations, shift-and-add of the four counts into int32 per channel.
__attribute__((target("avx2"))) inline __m256i
finishAvx2(__m256i v, const Avx2Consts &k, __m256i bitCoef, __m256i sliceCoef,
           int64_t &saturations) {
  // Fields at 0, F, 2F, 3F → 0, F, 16, 16+F → 0, 8, 16, 24.
  __m256i t = _mm256_and_si256(v, k.hi);
  v = _mm256_or_si256(_mm256_xor_si256(v, t), _mm256_sll_epi32(t, k.shiftHi));
  t = _mm256_and_si256(v, k.mid);
  v = _mm256_or_si256(_mm256_xor_si256(v, t), _mm256_sll_epi32(t, k.shiftMid));
  saturations += __builtin_popcount(
      uint32_t(_mm256_movemask_epi8(_mm256_cmpgt_epi8(v, k.adcMax))));
  v = _mm256_min_epu8(v, k.adcMax);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(v, bitCoef), sliceCoef);
}

__attribute__((target("avx2"))) inline void
storeBlock(const Job &j, int64_t *dst, int32_t blk, __m256i total) {
  if (blk * 8 + 8 <= j.valid) {
    addWide(dst + blk * 8, total);
    return;
  }
  alignas(32) int32_t t[8];
  _mm256_store_si256(reinterpret_cast<__m256i *>(t), total);
  addBlock(j, dst, blk, t);
}

/// P pixels × BP bit-pair streams of one slice pair at a time; the
/// pixels share each weight load, the bit pairs each input broadcast.
template <int BP, int P>
__attribute__((target("avx2"))) void
pixelsAvx2(const PartitionWork &w, const Job &j, const Avx2Consts &k,
           int64_t *acc, int32_t px, int32_t blk, int64_t &saturations) {
  __m256i total[P];
  for (int p = 0; p < P; ++p)
    total[p] = _mm256_setzero_si256();
  for (size_t g = 0; g < w.groups.size(); ++g) {
    const int16_t *wg = j.wAt(w.groups[g], blk);
    for (int32_t sp = 0; sp < j.SP; ++sp) {
      const int16_t *xs[P];
      for (int p = 0; p < P; ++p)
        xs[p] = j.xAt(px + p, w.rowGroups[g], sp);
      __m256i s[P][BP];
      for (int p = 0; p < P; ++p)
        for (int b = 0; b < BP; ++b)
          s[p][b] = _mm256_setzero_si256();
      for (int32_t q = 0; q < j.Q; ++q) {
        __m256i wv[BP];
        for (int b = 0; b < BP; ++b)
          wv[b] = _mm256_loadu_si256(
              reinterpret_cast<const __m256i *>(wg + (q * j.stride + b) * 16));
        for (int p = 0; p < P; ++p) {
          const __m256i xv = pair256(xs[p] + 2 * q);
          for (int b = 0; b < BP; ++b)
            s[p][b] = _mm256_add_epi32(s[p][b], _mm256_madd_epi16(xv, wv[b]));
        }
      }
      for (int p = 0; p < P; ++p)
        for (int b = 0; b < BP; ++b)
          total[p] = _mm256_add_epi32(total[p],
                                      finishAvx2(s[p][b], k, k.bitCoef[b],
                                                 k.sliceCoef[sp], saturations));
    }
  }
  for (int p = 0; p < P; ++p)
    storeBlock(j, acc + int64_t(px + p) * j.cols + j.first, blk, total[p]);
}

template <int BP>
__attribute__((target("avx2"))) void
runAvx2(const ComputeArgs &a, const PartitionWork &w, const Job &j,
        int64_t &saturations) {
  Avx2Consts k;
  const uint32_t fieldMask = (1u << j.F) - 1;
  k.hi = _mm256_set1_epi32(int32_t(((1u << 2 * j.F) - 1) << 2 * j.F));
  k.mid =
      _mm256_set1_epi32(int32_t(fieldMask << j.F | fieldMask << (16 + j.F)));
  k.shiftHi = _mm_cvtsi32_si128(16 - 2 * j.F);
  k.shiftMid = _mm_cvtsi32_si128(8 - j.F);
  k.adcMax = _mm256_set1_epi8(char(j.adcMax));
  for (int b = 0; b < BP; ++b) {
    const int8_t lo = int8_t(j.bitCoef[2 * b]),
                 hi = int8_t(j.bitCoef[2 * b + 1]);
    k.bitCoef[b] = _mm256_set1_epi32(
        int32_t(uint32_t(uint8_t(lo)) | uint32_t(uint8_t(hi)) << 8 |
                uint32_t(uint8_t(lo)) << 16 | uint32_t(uint8_t(hi)) << 24));
  }
  for (int32_t sp = 0; sp < j.SP; ++sp)
    k.sliceCoef[sp] = _mm256_set1_epi32(
        int32_t(uint32_t(uint16_t(j.sliceCoef[2 * sp])) |
                uint32_t(uint16_t(j.sliceCoef[2 * sp + 1])) << 16));
  for (int32_t blk = 0; blk * 8 < j.valid; ++blk) {
    int32_t px = a.pixelBegin;
    for (; px + 2 <= a.pixelEnd; px += 2)
      pixelsAvx2<BP, 2>(w, j, k, a.acc, px, blk, saturations);
    for (; px < a.pixelEnd; ++px)
      pixelsAvx2<BP, 1>(w, j, k, a.acc, px, blk, saturations);
  }
}

// GCC 12 warns about the _mm512_undefined_*() placeholders inside its own
// AVX-512 intrinsics (GCC bug 105593); nothing here is uninitialized.
// Clang has no such warning (and would warn about the unknown option).
#pragma GCC diagnostic push
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define MARS_AVX512 "avx2,avx512f,avx512bw,avx512vbmi,avx512vnni"

/// AVX-512 constants of one partition: one zmm holds two bit pairs.
struct Avx512Consts {
  __m512i select, fieldMask, adcMax, one, bitCoef[2], sliceCoef[8];
  /// Dot: per slice pair and zmm, each count's whole weight ±2^(first + b)
  /// as one byte.
  __m512i dotCoef[8][2];
};

/// Saturations counted per byte lane (a masked byte add per group instead
/// of a popcount), summed before a lane can wrap.
struct Avx512Saturations {
  __m512i counts;
  int32_t pending = 0;
};

__attribute__((target(MARS_AVX512))) inline void
flushAvx512(Avx512Saturations &s, int64_t &saturations) {
  saturations += _mm512_reduce_add_epi64(
      _mm512_sad_epu8(s.counts, _mm512_setzero_si512()));
  s.counts = _mm512_setzero_si512();
  s.pending = 0;
}

/// finishAvx2 for a zmm of two bit pairs (slice pair `sp`, zmm `z`), adding
/// into `total`. Dot: one vpdpbusd with byte weights replaces pmaddubsw +
/// pmaddwd + add (when every ±2^(first + b) fits a byte).
template <bool Dot>
__attribute__((target(MARS_AVX512))) inline void
finishAvx512(__m512i v, const Avx512Consts &k, int32_t sp, int z,
             __m512i &total, Avx512Saturations &sat, int64_t &saturations) {
  // Each byte picks its field out of its 64-bit word (vpmultishiftqb).
  v = _mm512_and_si512(_mm512_multishift_epi64_epi8(k.select, v), k.fieldMask);
  sat.counts = _mm512_mask_add_epi8(
      sat.counts, _mm512_cmpgt_epu8_mask(v, k.adcMax), sat.counts, k.one);
  if (++sat.pending == 255)
    flushAvx512(sat, saturations);
  v = _mm512_min_epu8(v, k.adcMax);
  if (Dot)
    total = _mm512_dpbusd_epi32(total, v, k.dotCoef[sp][z]);
  else
    total = _mm512_add_epi32(
        total, _mm512_madd_epi16(_mm512_maddubs_epi16(v, k.bitCoef[z]),
                                 k.sliceCoef[sp]));
}

/// As pixelsAvx2 with Z zmm streams of two bit pairs each, accumulated
/// with vpdpwssd.
template <int Z, int P, bool Dot>
__attribute__((target(MARS_AVX512))) void
pixelsAvx512(const PartitionWork &w, const Job &j, const Avx512Consts &k,
             int64_t *acc, int32_t px, int32_t blk, int64_t &saturations) {
  __m512i total[P];
  for (int p = 0; p < P; ++p)
    total[p] = _mm512_setzero_si512();
  Avx512Saturations sat;
  sat.counts = _mm512_setzero_si512();
  for (size_t g = 0; g < w.groups.size(); ++g) {
    const int16_t *wg = j.wAt(w.groups[g], blk);
    for (int32_t sp = 0; sp < j.SP; ++sp) {
      const int16_t *xs[P];
      for (int p = 0; p < P; ++p)
        xs[p] = j.xAt(px + p, w.rowGroups[g], sp);
      __m512i s[P][Z];
      for (int p = 0; p < P; ++p)
        for (int z = 0; z < Z; ++z)
          s[p][z] = _mm512_setzero_si512();
      for (int32_t q = 0; q < j.Q; ++q) {
        __m512i wv[Z];
        for (int z = 0; z < Z; ++z)
          wv[z] = _mm512_loadu_si512(wg + (q * j.stride + 2 * z) * 16);
        for (int p = 0; p < P; ++p) {
          int32_t pair;
          std::memcpy(&pair, xs[p] + 2 * q, sizeof pair);
          const __m512i xv = _mm512_set1_epi32(pair);
          for (int z = 0; z < Z; ++z)
            s[p][z] = _mm512_dpwssd_epi32(s[p][z], xv, wv[z]);
        }
      }
      for (int p = 0; p < P; ++p)
        for (int z = 0; z < Z; ++z)
          finishAvx512<Dot>(s[p][z], k, sp, z, total[p], sat, saturations);
    }
  }
  flushAvx512(sat, saturations);
  for (int p = 0; p < P; ++p) {
    // Lanes 8..15 hold the second bit pair of the same 8 channels.
    const __m256i t = _mm256_add_epi32(_mm512_castsi512_si256(total[p]),
                                       _mm512_extracti64x4_epi64(total[p], 1));
    storeBlock(j, acc + int64_t(px + p) * j.cols + j.first, blk, t);
  }
}

template <int Z, bool Dot>
__attribute__((target(MARS_AVX512))) void
pixelsAvx512All(const ComputeArgs &a, const PartitionWork &w, const Job &j,
                const Avx512Consts &k, int64_t &saturations) {
  // 8 / Z pixels at a time: 8 independent vpdpwssd chains hide its
  // latency.
  constexpr int P = 8 / Z;
  for (int32_t blk = 0; blk * 8 < j.valid; ++blk) {
    int32_t px = a.pixelBegin;
    for (; px + P <= a.pixelEnd; px += P)
      pixelsAvx512<Z, P, Dot>(w, j, k, a.acc, px, blk, saturations);
    for (; px < a.pixelEnd; ++px)
      pixelsAvx512<Z, 1, Dot>(w, j, k, a.acc, px, blk, saturations);
  }
}

template <int Z>
__attribute__((target(MARS_AVX512))) void
runAvx512(const ComputeArgs &a, const PartitionWork &w, const Job &j,
          int64_t &saturations) {
  Avx512Consts k;
  alignas(64) uint8_t select[64], coef[2][64], dot[8][2][64];
  bool byteWeights = true;
  for (int i = 0; i < 64; ++i) {
    // Byte f of a dword takes the bits of field f: offset 32 · (dword
    // within the 64-bit word) + f · F.
    const int f = i % 4;
    select[i] = uint8_t((i % 8) / 4 * 32 + f * j.F);
    // Lanes 0..7 weigh the bit pair 2z, lanes 8..15 the pair 2z + 1.
    for (int z = 0; z < Z; ++z) {
      const int32_t bp = 2 * z + i / 32, b = 2 * bp + f % 2;
      coef[z][i] = uint8_t(int8_t(j.bitCoef[b]));
      for (int32_t sp = 0; sp < j.SP; ++sp) {
        const int32_t weight = j.sliceCoef[2 * sp + f / 2] * j.bitCoef[b];
        byteWeights = byteWeights && weight >= -128 && weight <= 127;
        dot[sp][z][i] = uint8_t(int8_t(weight));
      }
    }
  }
  k.select = _mm512_load_si512(select);
  k.fieldMask = _mm512_set1_epi8(char((1u << j.F) - 1));
  k.adcMax = _mm512_set1_epi8(char(j.adcMax));
  k.one = _mm512_set1_epi8(1);
  for (int z = 0; z < Z; ++z) {
    k.bitCoef[z] = _mm512_load_si512(coef[z]);
    for (int32_t sp = 0; sp < j.SP; ++sp)
      k.dotCoef[sp][z] = _mm512_load_si512(dot[sp][z]);
  }
  for (int32_t sp = 0; sp < j.SP; ++sp)
    k.sliceCoef[sp] = _mm512_set1_epi32(
        int32_t(uint32_t(uint16_t(j.sliceCoef[2 * sp])) |
                uint32_t(uint16_t(j.sliceCoef[2 * sp + 1])) << 16));
  if (byteWeights)
    pixelsAvx512All<Z, true>(a, w, j, k, saturations);
  else
    pixelsAvx512All<Z, false>(a, w, j, k, saturations);
}

#pragma GCC diagnostic pop

} // namespace

bool satIsaSupported(SatIsa isa) {
  switch (isa) {
  case SatIsa::Scalar: return true;
  case SatIsa::Avx2: return __builtin_cpu_supports("avx2");
  case SatIsa::Avx512:
    return __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi") &&
           __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

SatIsa bestSatIsa() {
  static const SatIsa best = satIsaSupported(SatIsa::Avx512) ? SatIsa::Avx512
                             : satIsaSupported(SatIsa::Avx2) ? SatIsa::Avx2
                                                             : SatIsa::Scalar;
  return best;
}

int64_t computeSaturating(const ComputeArgs &a, const PartitionWork &w,
                          const SatLayout &l, int64_t &saturations,
                          SatIsa isa) {
  const program::WeightMatrix &m = *a.matrix;
  const int64_t activations = int64_t(a.pixelEnd - a.pixelBegin) *
                              int64_t(w.groups.size()) *
                              static_cast<int64_t>(l.slices.size());
  if (w.groups.empty() || a.pixelEnd <= a.pixelBegin)
    return activations;
  Job j;
  j.x = a.cols->slicePairs.data();
  j.w = a.prepared->bitPairs.data();
  j.R = m.rowsPerGroup;
  j.Q = l.pairedRows / 2;
  j.rowGroups = a.cols->rowsPadded / m.rowsPerGroup;
  j.SP = l.slicePairs;
  j.BP = l.bitPairs;
  j.stride = l.bitPairStride;
  j.F = l.fieldBits;
  j.blocks = l.blocks;
  j.cols = m.cols;
  j.first = w.colGroup * m.channelsPerGroup;
  j.valid = std::min(m.channelsPerGroup, m.cols - j.first);
  j.adcMax = uint32_t(std::min<int64_t>(
      (int64_t(1) << a.program->arch.macro.adcBits) - 1, 127));
  for (size_t s = 0; s < l.slices.size(); ++s)
    j.sliceCoef[s] = (l.slices[s].negative ? -1 : 1) * (1 << l.slices[s].first);
  for (int32_t b = 0; b < m.weightBits; ++b)
    j.bitCoef[b] = (b == m.weightBits - 1 ? -1 : 1) * (1 << b);

  switch (isa) {
  case SatIsa::Avx512:
    if (j.stride == 2)
      runAvx512<1>(a, w, j, saturations);
    else
      runAvx512<2>(a, w, j, saturations);
    break;
  case SatIsa::Avx2:
    switch (j.BP) {
    case 1: runAvx2<1>(a, w, j, saturations); break;
    case 2: runAvx2<2>(a, w, j, saturations); break;
    case 3: runAvx2<3>(a, w, j, saturations); break;
    default: runAvx2<4>(a, w, j, saturations); break;
    }
    break;
  case SatIsa::Scalar: runScalar(a, w, j, saturations); break;
  }
  return activations;
}

} // namespace mars::runtime::detail
