// The training forward pass through a saturating ADC (lib/train AdcForward)
// against the integer reference's ADC Conv (lib/quant runConvAdc): on random
// layers, every accumulator equal. The two are written separately (batched
// LibTorch tensor algebra vs. a per-pixel scalar walk of the macro's
// description); this is what makes train's QAT forward mean the chip.
#include "mars/support/Random.h"
#include "mars/support/IntRange.h"
#include "AdcForward.h"
#include "mars/quant/Execute.h"

#include <catch2/catch.hpp>

using namespace mars;

namespace {

struct Case {
  int cin, cout, h, w, k, stride, pad, groups;
  bool isConv;
  int inputBits;
  bool inputSigned;
  int weightBits;
  quant::AdcModel adc;
};

/// runConvAdc's accumulators for one image through a one-layer IntegerNet
/// whose output is the raw accumulator.
std::vector<int32_t> referenceAcc(const Case &c, const std::vector<int32_t> &x,
                                  const std::vector<int8_t> &w, int oh,
                                  int ow) {
  quant::IntegerNet net;
  quant::IntValue in;
  in.channels = c.cin;
  in.height = c.h;
  in.width = c.w;
  in.quant.bits = c.inputBits;
  in.quant.isSigned = c.inputSigned;
  quant::IntValue out;
  out.channels = c.cout;
  out.height = oh;
  out.width = ow;
  out.isAccumulator = true;
  net.values = {in, out};
  quant::IntLayer l;
  l.op = quant::IntOp::Conv;
  l.inputs = {0};
  l.output = 1;
  l.kernelH = l.kernelW = c.k;
  l.strideH = l.strideW = c.stride;
  l.padTop = l.padLeft = l.padBottom = l.padRight = c.pad;
  l.groups = c.groups;
  l.weightBits = c.weightBits;
  l.weights = w;
  l.bias.assign(size_t(c.cout), 0);
  net.adc = c.adc;
  std::vector<std::vector<int32_t>> values = {x, {}};
  quant::runLayer(net, l, values);
  return values[1];
}

void check(const Case &c, uint32_t seed) {
  Random rng(seed);
  const int n = 3;
  const int64_t lo = intLo(c.inputBits, c.inputSigned);
  const int64_t hi = intHi(c.inputBits, c.inputSigned);
  const int64_t wLim = signedHi(c.weightBits);
  const int cinPerGroup = c.cin / c.groups;
  std::vector<int8_t> w(size_t(c.cout) * cinPerGroup * c.k * c.k);
  for (int8_t &v : w)
    v = rng.chance(0.3) ? 0 : int8_t(rng.uniformInt(-wLim - 1, wLim));
  const int oh = (c.h + 2 * c.pad - c.k) / c.stride + 1;
  const int ow = (c.w + 2 * c.pad - c.k) / c.stride + 1;
  torch::Tensor qx = torch::empty({n, c.cin, c.h, c.w});
  std::vector<std::vector<int32_t>> images(n);
  for (int i = 0; i < n; ++i) {
    images[i].resize(size_t(c.cin) * c.h * c.w);
    for (size_t e = 0; e < images[i].size(); ++e) {
      images[i][e] = rng.chance(0.3) ? 0 : int32_t(rng.uniformInt(lo, hi));
      qx[i].view({-1})[int64_t(e)] = float(images[i][e]);
    }
  }
  torch::Tensor qw = torch::empty({c.cout, cinPerGroup, c.k, c.k});
  for (size_t e = 0; e < w.size(); ++e)
    qw.view({-1})[int64_t(e)] = float(w[e]);
  train::AdcLayerShape shape;
  shape.isConv = c.isConv;
  shape.strides = {c.stride, c.stride};
  shape.pads = {c.pad, c.pad, c.pad, c.pad};
  shape.groups = c.groups;
  torch::Tensor x = c.isConv ? qx : qx.reshape({n, -1});
  torch::Tensor wt = c.isConv ? qw : qw.reshape({c.cout, -1});
  torch::Tensor acc = train::adcAccumulators(
      x, wt, shape, {c.inputBits, c.inputSigned, c.weightBits}, c.adc);
  acc = acc.reshape({n, -1});
  int64_t differing = 0, clippedSomewhere = 0;
  for (int i = 0; i < n; ++i) {
    const std::vector<int32_t> ref = referenceAcc(c, images[i], w, oh, ow);
    // The same layer through an exact ADC, to see that clipping happened.
    Case exact = c;
    exact.adc = {};
    const std::vector<int32_t> plain =
        referenceAcc(exact, images[i], w, oh, ow);
    REQUIRE(int64_t(ref.size()) == acc.size(1));
    for (size_t e = 0; e < ref.size(); ++e) {
      differing += int64_t(acc[i][int64_t(e)].item<float>()) != ref[e];
      clippedSomewhere += ref[e] != plain[e];
    }
  }
  INFO("seed " << seed << ", " << clippedSomewhere
               << " accumulators changed by clipping");
  CHECK(differing == 0);
  // Every case is chosen so that the ADC clips: otherwise the comparison
  // would not exercise the clip at all.
  CHECK(clippedSomewhere > 0);
}

} // namespace

TEST_CASE("the QAT forward's ADC equals the integer reference's", "[adc]") {
  // wl_on, adc_bits, input bits per cycle.
  const quant::AdcModel wl16a3{16, 3, 2}, wl8a2{8, 2, 1}, wl32a4{32, 4, 2},
      wl16a4{16, 4, 4}, wl16a2{16, 2, 2};
  const std::vector<Case> cases = {
      // cin cout h w k s p g conv  in-bits signed w-bits  adc
      {3, 8, 7, 7, 3, 1, 1, 1, true, 4, false, 4, wl16a3},
      {6, 5, 6, 5, 5, 1, 2, 1, true, 8, true, 8, wl16a3}, // signed 8-bit
      {8, 8, 6, 6, 3, 2, 1, 2, true, 4, false, 4, wl8a2}, // grouped
      // depthwise: two weights per column in a group of 16 rows, so a
      // 2-bit ADC is what clips
      {8, 8, 5, 5, 3, 1, 1, 8, true, 3, false, 2, wl16a2},
      {16, 4, 4, 4, 1, 1, 0, 1, true, 5, true, 6, wl32a4},
      {7, 9, 5, 5, 3, 1, 0, 1, true, 8, false, 4, wl16a4},    // 4 bits/cycle
      {40, 10, 1, 1, 1, 1, 0, 1, false, 4, false, 4, wl16a3}, // Gemm
  };
  uint32_t seed = 1;
  for (const Case &c : cases)
    check(c, seed++);
}
