// Integer kernels swept over shapes against a naive double-precision
// reference written independently here (XNNPACK-tester style).

#include "mars/support/Random.h"
#include "mars/support/IntRange.h"
#include "mars/arch/ArchSpec.h"
#include "mars/quant/Execute.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace mars::quant;

namespace {

/// A value with no QDQ tensor behind it (`qdqName` empty): the fields a
/// hand-built net sets, by name.
IntValue makeValue(const char *name, int channels, int height, int width,
                   ActQuant quant, bool isAccumulator) {
  IntValue v;
  v.name = name;
  v.channels = channels;
  v.height = height;
  v.width = width;
  v.quant = quant;
  v.isAccumulator = isAccumulator;
  return v;
}

struct ConvCase {
  int cin, cout, h, w, k, stride, pad, dil, groups, wbits;
  bool logits;
};

/// Independent reference: real-valued conv of the integers, then
/// round(acc × multiplier.real()) — exact for these magnitudes.
std::vector<int64_t> referenceConv(const IntegerNet &net, const IntLayer &l,
                                   const std::vector<int32_t> &in) {
  const IntValue &iv = net.value(l.inputs[0]);
  const IntValue &ov = net.value(l.output);
  std::vector<int64_t> out;
  int cinG = iv.channels / l.groups, coutG = ov.channels / l.groups;
  for (int oc = 0; oc < ov.channels; ++oc)
    for (int y = 0; y < ov.height; ++y)
      for (int x = 0; x < ov.width; ++x) {
        long long acc = l.bias[oc];
        for (int icg = 0; icg < cinG; ++icg)
          for (int ky = 0; ky < l.kernelH; ++ky)
            for (int kx = 0; kx < l.kernelW; ++kx) {
              int sy = y * l.strideH - l.padTop + ky * l.dilationH;
              int sx = x * l.strideW - l.padLeft + kx * l.dilationW;
              if (sy < 0 || sx < 0 || sy >= iv.height || sx >= iv.width)
                continue;
              int ic = (oc / coutG) * cinG + icg;
              acc += (long long)l.weights[((oc * cinG + icg) * l.kernelH + ky) *
                                              l.kernelW +
                                          kx] *
                     in[(ic * iv.height + sy) * iv.width + sx];
            }
        if (ov.isAccumulator) {
          out.push_back(acc);
          continue;
        }
        long double r = std::round((long double)acc * l.multipliers[oc].value /
                                   std::ldexp(1.0L, l.multipliers[oc].shift));
        out.push_back(std::min<int64_t>(
            std::max<int64_t>((int64_t)r, l.clampLo), l.clampHi));
      }
  return out;
}

IntegerNet makeConvNet(const ConvCase &c, mars::Random &rng) {
  IntegerNet net;
  IntValue in = makeValue("x", c.cin, c.h, c.w, ActQuant{0.1, 4, false}, false);
  int oh = (c.h + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
  int ow = (c.w + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
  IntValue out =
      makeValue("y", c.cout, oh, ow, ActQuant{0.2, 4, false}, c.logits);
  net.values = {in, out};
  net.input = 0;
  net.output = 1;
  IntLayer l;
  l.op = IntOp::Conv;
  l.inputs = {0};
  l.output = 1;
  l.kernelH = l.kernelW = c.k;
  l.strideH = l.strideW = c.stride;
  l.padTop = l.padLeft = l.padBottom = l.padRight = c.pad;
  l.dilationH = l.dilationW = c.dil;
  l.groups = c.groups;
  l.weightBits = c.wbits;
  const int lim = int(mars::signedHi(c.wbits));
  for (int i = 0; i < c.cout * (c.cin / c.groups) * c.k * c.k; ++i)
    l.weights.push_back(int8_t(int(rng.bits() % (2 * lim + 2)) - lim - 1));
  for (int oc = 0; oc < c.cout; ++oc) {
    l.bias.push_back(int32_t(rng.bits() % 2001) - 1000);
    l.multipliers.push_back(
        quantizeMultiplier(0.001 + (rng.bits() % 1000) * 1e-4));
    l.logitScales.push_back(0.01);
  }
  l.clampLo = 0;
  l.clampHi = 15;
  net.layers = {l};
  return net;
}

} // namespace

TEST_CASE("integer conv matches the independent reference over a sweep") {
  mars::Random rng(7);
  std::vector<ConvCase> cases = {
      {1, 4, 8, 8, 3, 1, 1, 1, 1, 4, false},
      {3, 8, 9, 7, 3, 2, 1, 1, 1, 4, false},
      {8, 8, 6, 6, 3, 1, 1, 1, 8, 8, false},  // depthwise
      {4, 6, 7, 7, 3, 1, 2, 2, 2, 2, false},  // grouped, dilated
      {16, 10, 1, 1, 1, 1, 0, 1, 1, 8, true}, // fully connected logits
      {2, 3, 5, 5, 5, 1, 2, 1, 1, 3, false},
  };
  for (const ConvCase &c : cases) {
    IntegerNet net = makeConvNet(c, rng);
    std::vector<int32_t> input(static_cast<size_t>(net.value(0).size()));
    for (int32_t &v : input)
      v = int32_t(rng.bits() % 16);
    std::vector<int32_t> got = runInteger(net, input);
    std::vector<int64_t> want = referenceConv(net, net.layers[0], input);
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i)
      REQUIRE(got[i] == want[i]);
  }
}

TEST_CASE("pools and add") {
  IntegerNet net;
  net.values = {makeValue("x", 1, 4, 4, ActQuant{0.5, 8, false}, false),
                makeValue("m", 1, 2, 2, ActQuant{0.5, 8, false}, false),
                makeValue("a", 1, 1, 1, ActQuant{0.25, 8, false}, false)};
  net.input = 0;
  IntLayer mp;
  mp.op = IntOp::MaxPool;
  mp.inputs = {0};
  mp.output = 1;
  mp.kernelH = mp.kernelW = mp.strideH = mp.strideW = 2;
  IntLayer gap;
  gap.op = IntOp::AvgPool;
  gap.inputs = {0};
  gap.output = 2;
  gap.kernelH = gap.kernelW = 4;
  gap.clampLo = 0;
  gap.clampHi = 255;
  net.layers = {mp, gap};
  net.output = 2;
  std::vector<int32_t> x = {1, 2,  3,  4,  5,  6,  7,  8,
                            9, 10, 11, 12, 13, 14, 15, 17};
  std::vector<std::vector<int32_t>> values(3);
  values[0] = x;
  runLayer(net, net.layers[0], values);
  CHECK(values[1] == std::vector<int32_t>{6, 8, 14, 17});
  runLayer(net, net.layers[1], values);
  // mean = 137/16 = 8.5625 at scale 0.5 -> real 4.28125 -> /0.25 = 17.125
  CHECK(values[2] == std::vector<int32_t>{17});

  IntLayer add;
  add.op = IntOp::Add;
  add.inputs = {0, 0};
  add.output = 1;
  add.inputMultipliers = {quantizeMultiplier(0.5), quantizeMultiplier(0.25)};
  add.clampLo = 0;
  add.clampHi = 10;
  net.values[1].height = 1;
  net.values[1].width = 2;
  std::vector<std::vector<int32_t>> vals = {{3, 40}, {}};
  runLayer(net, add, vals);
  // 3*0.5=1.5->2, 3*0.25=0.75->1: 3 ; 40 -> 20 + 10 = 30 -> clamp 10
  CHECK(vals[1] == std::vector<int32_t>{3, 10});
}

TEST_CASE("the integer reference's ADC slices are the chip's slice count") {
  // lib/quant lists the slices runConvAdc and training compute with;
  // lib/arch counts them for the compiler, timing and energy.
  mars::arch::ArchSpec a = mars::arch::defaultArch();
  for (int perCycle = 1; perCycle <= 8; ++perCycle)
    for (int bits = 1; bits <= 16; ++bits)
      for (bool isSigned : {false, true}) {
        a.macro.inputBitsPerCycle = perCycle;
        INFO(bits << " bits, signed " << isSigned << ", " << perCycle
                  << " per cycle");
        CHECK(int(mars::quant::inputSlices(bits, isSigned, perCycle).size()) ==
              a.inputSlices(bits, isSigned));
      }
}
