#include "mars/support/Random.h"
#include "InterpTestUtil.h"

using namespace mars;
using namespace mars::interp::test;
using ir::OpKind;

TEST_CASE("Conv without padding sums each window") {
  Tensor x = f32({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor w = f32({1, 1, 2, 2}, {1, 1, 1, 1});
  Tensor y = runOne(OpKind::Conv, {x, w}, f32Type({1, 1, 2, 2}));
  checkClose(y, {12, 16, 24, 28});
}

TEST_CASE("Conv with strides and padding matches the ONNX example") {
  // test_conv_with_strides_padding: 5x5 ramp, 3x3 ones, stride 2, pads 1.
  std::vector<float> ramp(25);
  for (int i = 0; i < 25; ++i)
    ramp[i] = float(i);
  Tensor y = runOne(
      OpKind::Conv,
      {f32({1, 1, 5, 5}, ramp), f32({1, 1, 3, 3}, std::vector<float>(9, 1.0f))},
      f32Type({1, 1, 3, 3}),
      attrs({{"pads", std::vector<int64_t>{1, 1, 1, 1}},
             {"strides", std::vector<int64_t>{2, 2}}}));
  checkClose(y, {12, 27, 24, 63, 108, 81, 72, 117, 84});
}

TEST_CASE("Conv asymmetric pads are [top, left, bottom, right]") {
  // 1x2 input, 1x1 kernel of 1, pads top=1 left=0 bottom=0 right=2.
  Tensor y =
      runOne(OpKind::Conv, {f32({1, 1, 1, 2}, {5, 6}), f32({1, 1, 1, 1}, {1})},
             f32Type({1, 1, 2, 4}),
             attrs({{"pads", std::vector<int64_t>{1, 0, 0, 2}}}));
  checkClose(y, {0, 0, 0, 0, 5, 6, 0, 0});
}

TEST_CASE("Depthwise Conv with bias scales each channel") {
  Tensor x = f32({1, 2, 1, 2}, {1, 2, 3, 4});
  Tensor w = f32({2, 1, 1, 1}, {2, 3});
  Tensor b = f32({2}, {1, -1});
  Tensor y = runOne(OpKind::Conv, {x, w, b}, f32Type({1, 2, 1, 2}),
                    attrs({{"group", int64_t{2}}}));
  checkClose(y, {3, 5, 8, 11});
}

namespace {
struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr;
};

/// The definition of Conv, one output element at a time.
std::vector<double> naiveConv(const ConvCase &p, const Tensor &x,
                              const Tensor &w, const Tensor &b, int64_t oh,
                              int64_t ow) {
  std::vector<double> out;
  const int64_t cg = p.c / p.group, mg = p.m / p.group;
  for (int64_t n = 0; n < p.n; ++n)
    for (int64_t m = 0; m < p.m; ++m)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double acc = b.data<float>()[m];
          const int64_t g = m / mg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t ky = 0; ky < p.kh; ++ky)
              for (int64_t kx = 0; kx < p.kw; ++kx) {
                const int64_t iy = oy * p.sh - p.pt + ky * p.dh;
                const int64_t ix = ox * p.sw - p.pl + kx * p.dw;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w)
                  continue;
                acc +=
                    double(x.data<float>()[((n * p.c + g * cg + c) * p.h + iy) *
                                               p.w +
                                           ix]) *
                    w.data<float>()[((m * cg + c) * p.kh + ky) * p.kw + kx];
              }
          out.push_back(acc);
        }
  return out;
}

Tensor randomTensor(Shape shape, Random &rng) {
  Tensor t(ir::DType::Float32, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data<float>()[i] = rng.uniform(-1.0, 1.0);
  return t;
}
} // namespace

TEST_CASE("Conv sweep against the naive definition") {
  const std::vector<ConvCase> cases = {
      {1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {2, 4, 7, 5, 6, 3, 2, 2, 2, 1, 1, 2, 0, 1, 2, 0},
      {1, 6, 9, 9, 6, 3, 3, 6, 2, 2, 1, 1, 1, 1, 1, 1}, // depthwise
      {1, 4, 6, 6, 8, 3, 3, 4, 1, 1, 2, 2, 2, 2, 2, 2}, // depthwise x2
      {1, 5, 4, 4, 7, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}, // 1x1 direct
      {2, 3, 10, 6, 5, 5, 3, 1, 3, 2, 1, 1, 2, 1, 0, 1},
      {1, 8, 5, 5, 9, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0}, // 1x1 strided
  };
  Random rng(7);
  for (const ConvCase &p : cases) {
    const int64_t oh = (p.h + p.pt + p.pb - p.dh * (p.kh - 1) - 1) / p.sh + 1;
    const int64_t ow = (p.w + p.pl + p.pr - p.dw * (p.kw - 1) - 1) / p.sw + 1;
    Tensor x = randomTensor({p.n, p.c, p.h, p.w}, rng);
    Tensor w = randomTensor({p.m, p.c / p.group, p.kh, p.kw}, rng);
    Tensor b = randomTensor({p.m}, rng);
    Tensor y =
        runOne(OpKind::Conv, {x, w, b}, f32Type({p.n, p.m, oh, ow}),
               attrs({{"group", p.group},
                      {"strides", std::vector<int64_t>{p.sh, p.sw}},
                      {"dilations", std::vector<int64_t>{p.dh, p.dw}},
                      {"pads", std::vector<int64_t>{p.pt, p.pl, p.pb, p.pr}},
                      {"kernel_shape", std::vector<int64_t>{p.kh, p.kw}}}));
    checkClose(y, naiveConv(p, x, w, b, oh, ow), 1e-4);
  }
}

TEST_CASE("Conv rejects groups that do not divide the channels") {
  auto result = runNode(
      OpKind::Conv,
      {f32({1, 3, 2, 2}, std::vector<float>(12, 1)), f32({2, 1, 1, 1}, {1, 1})},
      {f32Type({1, 2, 2, 2})}, attrs({{"group", int64_t{2}}}));
  REQUIRE_FALSE(result.ok());
  CHECK_THAT(result.error().message(),
             Catch::Contains("node 'n' (Conv)") && Catch::Contains("group=2"));
}
