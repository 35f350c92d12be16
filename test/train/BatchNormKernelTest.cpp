// divideBatchNorm (lib/train BatchNormKernel), the (c0) QAT step's
// batch_norm(conv / factor + bias) in training mode, against the same torch
// expression evaluated in double precision: the output, every gradient and
// the running statistics to float rounding of the terms that make them, the
// bias's gradient exactly zero, and the same bits at 1 and 2 threads. The
// float torch expression it replaced is checked against the same double
// reference with the same tolerances, so the bounds are not looser than
// what float arithmetic gives anyway.
#include "BatchNormKernel.h"
#include "TensorBits.h"

#include <catch2/catch.hpp>

using namespace mars::train;
using mars::train::test::sameBits;

namespace {

struct Operands {
  torch::Tensor y, f, b, gamma, beta, g;
  double eps;
};

Operands makeOperands(std::vector<int64_t> shape, bool withBias, double eps,
                      uint64_t seed) {
  torch::manual_seed(seed);
  const int64_t channels = shape[1];
  Operands o;
  // An offset mean, so the centring matters.
  o.y = torch::randn(shape) * 3 + 5;
  // Factors of both signs and far from 1, as gamma / sqrt(var) can be.
  o.f = (torch::rand({channels}) * 4 + 0.05) *
        torch::where(torch::rand({channels}) > 0.3, 1.0, -1.0);
  o.b = withBias ? torch::randn({channels}) : torch::Tensor();
  o.gamma = torch::rand({channels}) + 0.5;
  o.beta = torch::randn({channels});
  o.g = torch::randn(shape);
  o.eps = eps;
  return o;
}

std::vector<int64_t> channelView(const torch::Tensor &y) {
  std::vector<int64_t> view(y.dim(), 1);
  view[1] = -1;
  return view;
}

struct Result {
  torch::Tensor out, gy, gf, gb, gGamma, gBeta, runningMean, runningVar;
};

/// Runs forward and backward in `dtype`; `fused` picks divideBatchNorm
/// (float only), else the torch expression.
Result run(const Operands &o, torch::ScalarType dtype, bool fused) {
  auto leaf = [&](const torch::Tensor &t) {
    return t.defined() ? t.to(dtype).clone().requires_grad_(true)
                       : torch::Tensor();
  };
  torch::Tensor y = leaf(o.y), f = leaf(o.f), b = leaf(o.b);
  torch::Tensor gamma = leaf(o.gamma), beta = leaf(o.beta);
  const int64_t channels = o.y.size(1);
  torch::Tensor runningMean = torch::full({channels}, 0.5, dtype);
  torch::Tensor runningVar = torch::full({channels}, 2.0, dtype);
  torch::Tensor out;
  if (fused) {
    out = divideBatchNorm(
        y, f, b,
        BatchNormOperands{gamma, beta, runningMean, runningVar, 0.1, o.eps});
  } else {
    const auto view = channelView(o.y);
    torch::Tensor z = y / f.view(view);
    if (b.defined())
      z = z + b.view(view);
    out = torch::batch_norm(z, gamma, beta, runningMean, runningVar, true, 0.1,
                            o.eps, false);
  }
  out.backward(o.g.to(dtype));
  return {out.detach(), y.grad(),
          f.grad(),     b.defined() ? b.grad() : torch::Tensor(),
          gamma.grad(), beta.grad(),
          runningMean,  runningVar};
}

/// Every |got − ref| within `rel` × `scale` (elementwise or one number).
bool within(const torch::Tensor &got, const torch::Tensor &ref,
            const torch::Tensor &scale, double rel) {
  const auto diff = (got.to(torch::kDouble) - ref.to(torch::kDouble)).abs();
  return (diff <= scale.to(torch::kDouble) * rel).all().item<bool>();
}

std::vector<int64_t> reduceDims(const torch::Tensor &y) {
  return y.dim() == 4 ? std::vector<int64_t>{0, 2, 3} : std::vector<int64_t>{0};
}

/// The checks, for the fused kernel and for the float torch expression
/// alike, against the double reference `ref`.
void checkAgainst(const Result &got, const Result &ref, const Operands &o) {
  const auto dims = reduceDims(o.y);
  const torch::Tensor g = o.g.to(torch::kDouble);
  const torch::Tensor yd = o.y.to(torch::kDouble);
  // Elementwise: the output and y's gradient are sums of a few terms of
  // about their own size, so float rounding of the largest.
  const double outScale = ref.out.abs().max().item<double>() + 1;
  CHECK(within(got.out, ref.out, torch::tensor(outScale), 1e-5));
  const double gyScale = ref.gy.abs().max().item<double>();
  CHECK(within(got.gy, ref.gy, torch::tensor(gyScale), 1e-4));
  // Per-channel sums: rounding of the magnitudes summed.
  CHECK(within(got.gBeta, ref.gBeta, g.abs().sum(dims), 1e-5));
  const auto view = channelView(o.y);
  const torch::Tensor xhat = (ref.out - o.beta.to(torch::kDouble).view(view)) /
                             o.gamma.to(torch::kDouble).view(view);
  CHECK(within(got.gGamma, ref.gGamma, (g * xhat).abs().sum(dims), 1e-5));
  CHECK(within(got.runningMean, ref.runningMean, ref.runningMean.abs() + 1,
               1e-6));
  CHECK(within(got.runningVar, ref.runningVar, ref.runningVar.abs(), 1e-5));
}

} // namespace

TEST_CASE("divideBatchNorm equals batch_norm(y / factor + bias), training",
          "[train][batchnorm]") {
  for (bool withBias : {true, false})
    for (std::vector<int64_t> shape :
         {std::vector<int64_t>{8, 12, 9, 11}, std::vector<int64_t>{64, 30}}) {
      CAPTURE(withBias, shape);
      const Operands o = makeOperands(shape, withBias, 1e-5, 3);
      REQUIRE(divideBatchNormApplies(
          o.y, o.f, o.b,
          BatchNormOperands{o.gamma, o.beta, torch::zeros({shape[1]}),
                            torch::ones({shape[1]}), 0.1, o.eps}));
      const Result ref = run(o, torch::kDouble, false);
      const Result fused = run(o, torch::kFloat, true);
      const Result torchFloat = run(o, torch::kFloat, false);
      checkAgainst(fused, ref, o);
      checkAgainst(torchFloat, ref, o); // The bounds hold for torch too.
      // Normalisation removes any per-channel shift: the bias's gradient is
      // zero (the double reference's is rounding of a cancelling sum).
      if (withBias) {
        CHECK((fused.gb == 0).all().item<bool>());
        CHECK(within(ref.gb, torch::zeros_like(ref.gb),
                     o.g.to(torch::kDouble).abs().sum(reduceDims(o.y)), 1e-9));
      } else {
        CHECK_FALSE(fused.gb.defined());
      }
    }
}

TEST_CASE("divideBatchNorm's factor gradient is the ε term of a "
          "scale-invariant map",
          "[train][batchnorm]") {
  // With a large ε the factor's gradient is far from rounding noise: the
  // kernel's closed form matches the double reference to float precision.
  for (double eps : {0.5, 1e-5}) {
    CAPTURE(eps);
    const Operands o = makeOperands({16, 6, 7, 7}, true, eps, 11);
    const Result ref = run(o, torch::kDouble, false);
    const Result fused = run(o, torch::kFloat, true);
    const torch::Tensor fd = o.f.to(torch::kDouble);
    const torch::Tensor terms =
        (o.g.to(torch::kDouble) * o.y.to(torch::kDouble)).abs().sum({0, 2, 3}) /
        (fd * fd);
    // Within float rounding of the reference itself or, where the
    // reference is tiny (small ε), of the terms it cancels from.
    CHECK(within(fused.gf, ref.gf, ref.gf.abs() + terms * 1e-7, 1e-4));
    // At ε = 0.5 most channels' gradients stand far above float noise
    // (about 1e-7 of the terms), so the comparison above is not vacuous.
    if (eps == 0.5)
      CHECK((ref.gf.abs() > terms * 1e-4).sum().item<int64_t>() >= 4);
  }
}

TEST_CASE("divideBatchNorm has the same bits at 1 and 2 threads",
          "[train][batchnorm]") {
  // 20 images: three chunks of partial sums (8, 8 and 4 images), split
  // unevenly between the two threads.
  const Operands o = makeOperands({20, 8, 20, 20}, true, 1e-5, 5);
  const int before = at::get_num_threads();
  std::vector<Result> runs;
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    runs.push_back(run(o, torch::kFloat, true));
  }
  at::set_num_threads(before);
  CHECK(sameBits(runs[0].out, runs[1].out));
  CHECK(sameBits(runs[0].gy, runs[1].gy));
  CHECK(sameBits(runs[0].gf, runs[1].gf));
  CHECK(sameBits(runs[0].gGamma, runs[1].gGamma));
  CHECK(sameBits(runs[0].gBeta, runs[1].gBeta));
  CHECK(sameBits(runs[0].runningVar, runs[1].runningVar));
}

TEST_CASE("divideBatchNorm refuses what it does not handle",
          "[train][batchnorm]") {
  const torch::Tensor v = torch::ones({4});
  const BatchNormOperands bn{v,   v,   torch::zeros({4}), torch::ones({4}),
                             0.1, 1e-5};
  CHECK(divideBatchNormApplies(torch::ones({2, 4}), v, {}, bn));
  // One value per channel: batch_norm refuses it in training mode.
  CHECK_FALSE(divideBatchNormApplies(torch::ones({1, 4}), v, {}, bn));
  CHECK_FALSE(divideBatchNormApplies(torch::ones({2, 4, 3}), v, {}, bn));
  CHECK_FALSE(divideBatchNormApplies(torch::ones({2, 5}), v, {}, bn));
  CHECK_FALSE(
      divideBatchNormApplies(torch::ones({2, 4}, torch::kDouble), v, {}, bn));
  CHECK_FALSE(
      divideBatchNormApplies(torch::ones({2, 4}), v, torch::ones({3}), bn));
  BatchNormOperands strided = bn;
  strided.runningVar = torch::ones({8}).slice(0, 0, 8, 2);
  CHECK_FALSE(divideBatchNormApplies(torch::ones({2, 4}), v, {}, strided));
  CHECK_THROWS(divideBatchNorm(torch::ones({1, 4}), v, {}, bn));
}
