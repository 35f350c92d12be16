// The ADC forward pass as bit masks and popcounts over integer copies of the
// operands: the counts tensor of a layer (images × pixels × row groups ×
// slices × weight bits × channels) is far too large to build with tensor
// ops on every training step (that ran 200 times slower than the exact
// convolution), while each count is one AND and one popcount.
#include "AdcForward.h"
#include "mars/quant/BitSerial.h"

#include <ATen/Parallel.h>

#include <algorithm>

namespace mars::train {

namespace {

/// Where row r of the chip's weight matrix reads: tap (ky, kx) and absolute
/// input channel ic, r = (ky × kW + kx) × Cin + ic (lib/arch's order).
struct RowSource {
  int ky = 0, kx = 0, ic = 0;
};

struct Geometry {
  int64_t n = 0, cin = 0, h = 1, w = 1, outC = 0, kh = 1, kw = 1;
  int64_t oh = 1, ow = 1, groups = 1, cinPerGroup = 0;
  int64_t strideH = 1, strideW = 1, padTop = 0, padLeft = 0;
  int64_t dilH = 1, dilW = 1;
  int64_t rows = 0, rowGroups = 0, words = 0, wl = 0;
};

Geometry geometryOf(const torch::Tensor &qx, const torch::Tensor &qw,
                    const AdcLayerShape &s, int64_t wl) {
  Geometry g;
  g.n = qx.size(0);
  g.cin = qx.size(1);
  g.outC = qw.size(0);
  g.groups = s.isConv ? s.groups : 1;
  g.cinPerGroup = g.cin / g.groups;
  if (s.isConv) {
    g.h = qx.size(2);
    g.w = qx.size(3);
    g.kh = qw.size(2);
    g.kw = qw.size(3);
    g.strideH = s.strides[0];
    g.strideW = s.strides[1];
    g.padTop = s.pads[0];
    g.padLeft = s.pads[1];
    g.dilH = s.dilations[0];
    g.dilW = s.dilations[1];
    g.oh =
        (g.h + s.pads[0] + s.pads[2] - g.dilH * (g.kh - 1) - 1) / g.strideH + 1;
    g.ow =
        (g.w + s.pads[1] + s.pads[3] - g.dilW * (g.kw - 1) - 1) / g.strideW + 1;
  }
  g.rows = g.kh * g.kw * g.cin;
  g.wl = wl;
  g.rowGroups = (g.rows + wl - 1) / wl;
  g.words = (wl + 63) / 64;
  return g;
}

/// Per (channel, row group): whether any weight is non-zero, and per weight
/// bit the mask of rows whose two's-complement weight has that bit set.
struct WeightMasks {
  std::vector<uint8_t> used;  ///< [O][G]
  std::vector<uint64_t> bits; ///< [O][G][B][words]
};

WeightMasks weightMasks(const torch::Tensor &qw, const Geometry &g, int B) {
  const torch::Tensor w = qw.to(torch::kInt32).contiguous();
  const int32_t *wp = w.data_ptr<int32_t>();
  WeightMasks m;
  m.used.assign(size_t(g.outC * g.rowGroups), 0);
  m.bits.assign(size_t(g.outC * g.rowGroups * B * g.words), 0);
  const int64_t outPerGroup = g.outC / g.groups;
  const uint32_t typeMask = uint32_t((uint64_t(1) << B) - 1);
  for (int64_t o = 0; o < g.outC; ++o) {
    const int64_t grp = o / outPerGroup;
    for (int64_t icg = 0; icg < g.cinPerGroup; ++icg)
      for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int32_t v =
              wp[((o * g.cinPerGroup + icg) * g.kh + ky) * g.kw + kx];
          if (v == 0)
            continue;
          const int64_t ic = grp * g.cinPerGroup + icg;
          const int64_t r = (ky * g.kw + kx) * g.cin + ic;
          const int64_t rg = r / g.wl, within = r % g.wl;
          m.used[size_t(o * g.rowGroups + rg)] = 1;
          const uint32_t u = uint32_t(v) & typeMask;
          for (int b = 0; b < B; ++b)
            if (u >> b & 1)
              m.bits[size_t(((o * g.rowGroups + rg) * B + b) * g.words +
                            within / 64)] |= uint64_t(1) << (within % 64);
        }
  }
  return m;
}

/// One pixel's accumulators: per output column, per stored row group, input
/// slice and weight bit, the ADC's reading of the column's count (clipped at
/// `adcMax`), times its ±2^k. `xm` holds the pixel's input bit masks
/// [row group][input bit][word].
// popcnt is not in the x86-64 baseline the build targets, so without it
// every count is a libgcc call (a sixth of a training step with the ADC in
// the loop); the function is built twice and the loader picks the copy the
// CPU can run (GNU ifunc).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("popcnt", "default")))
#endif
void accumulatePixel(const Geometry &g, const WeightMasks &wm, const uint64_t *xm,
                     const std::vector<quant::InputSlice> &slices,
                     const std::vector<int64_t> &coef, int B, int T,
                     int64_t adcMax, int64_t *acc) {
  const int64_t S = int64_t(slices.size()), W = g.words;
  for (int64_t o = 0; o < g.outC; ++o) {
    acc[o] = 0;
    for (int64_t rg = 0; rg < g.rowGroups; ++rg) {
      if (!wm.used[size_t(o * g.rowGroups + rg)])
        continue;
      const uint64_t *xg = xm + rg * T * W;
      const uint64_t *wg = wm.bits.data() + (o * g.rowGroups + rg) * B * W;
      for (int64_t s = 0; s < S; ++s) {
        const quant::InputSlice &sl = slices[size_t(s)];
        for (int b = 0; b < B; ++b) {
          const int64_t count = quant::sliceCount(xg, wg + b * W, sl, W);
          acc[o] += std::min(count, adcMax) * coef[size_t(s * B + b)];
        }
      }
    }
  }
}

} // namespace

torch::Tensor adcAccumulators(const torch::Tensor &qxIn,
                              const torch::Tensor &qwIn,
                              const AdcLayerShape &shape,
                              const AdcOperands &types,
                              const quant::AdcModel &adc) {
  torch::NoGradGuard noGrad;
  const torch::Tensor qx = qxIn.detach().to(torch::kInt32).contiguous();
  const Geometry g = geometryOf(qx, qwIn, shape, adc.rowsPerGroup);
  const int B = types.weightBits, T = types.inputBits;
  const WeightMasks wm = weightMasks(qwIn.detach(), g, B);
  const std::vector<quant::InputSlice> slices =
      quant::inputSlices(T, types.inputSigned, adc.inputBitsPerCycle);
  const int64_t S = int64_t(slices.size());
  // ±2^(first + b): the sign bit of either operand negates.
  std::vector<int64_t> coef(size_t(S * B));
  for (int64_t s = 0; s < S; ++s)
    for (int b = 0; b < B; ++b) {
      const int64_t v = int64_t(1) << (slices[s].first + b);
      coef[size_t(s * B + b)] = slices[s].negative != (b == B - 1) ? -v : v;
    }
  const int64_t adcMax = (int64_t(1) << adc.adcBits) - 1;
  const uint32_t inputMask = uint32_t((uint64_t(1) << T) - 1);
  const int64_t pixels = g.oh * g.ow, W = g.words;

  std::vector<RowSource> source(size_t(g.rows));
  for (int64_t ky = 0; ky < g.kh; ++ky)
    for (int64_t kx = 0; kx < g.kw; ++kx)
      for (int64_t ic = 0; ic < g.cin; ++ic)
        source[size_t((ky * g.kw + kx) * g.cin + ic)] = {int(ky), int(kx),
                                                         int(ic)};

  torch::Tensor out = torch::empty({g.n, g.outC, pixels}, torch::kFloat32);
  const int32_t *xp = qx.data_ptr<int32_t>();
  float *op = out.data_ptr<float>();
  at::parallel_for(0, g.n, 1, [&](int64_t begin, int64_t end) {
    // Input bit masks of one pixel: [row group][input bit][word].
    std::vector<uint64_t> xm(size_t(g.rowGroups * T * W));
    std::vector<int64_t> acc(size_t(g.outC));
    for (int64_t m = begin; m < end; ++m) {
      const int32_t *image = xp + m * g.cin * g.h * g.w;
      for (int64_t p = 0; p < pixels; ++p) {
        const int64_t y = p / g.ow, x = p % g.ow;
        std::fill(xm.begin(), xm.end(), 0);
        for (int64_t r = 0; r < g.rows; ++r) {
          const RowSource &rs = source[size_t(r)];
          const int64_t sy = y * g.strideH - g.padTop + rs.ky * g.dilH;
          const int64_t sx = x * g.strideW - g.padLeft + rs.kx * g.dilW;
          if (sy < 0 || sy >= g.h || sx < 0 || sx >= g.w)
            continue; // padding drives nothing
          uint32_t u =
              uint32_t(image[(rs.ic * g.h + sy) * g.w + sx]) & inputMask;
          const int64_t rg = r / g.wl, within = r % g.wl;
          while (u) {
            const int t = __builtin_ctz(u);
            xm[size_t((rg * T + t) * W + within / 64)] |= uint64_t(1)
                                                          << (within % 64);
            u &= u - 1;
          }
        }
        accumulatePixel(g, wm, xm.data(), slices, coef, B, T, adcMax,
                        acc.data());
        for (int64_t o = 0; o < g.outC; ++o)
          op[(m * g.outC + o) * pixels + p] = float(acc[size_t(o)]);
      }
    }
  });
  if (!shape.isConv)
    return out.reshape({g.n, g.outC});
  return out.reshape({g.n, g.outC, g.oh, g.ow});
}

} // namespace mars::train
