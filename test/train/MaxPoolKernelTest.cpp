// maxPool2x2 (lib/train MaxPoolKernel) against torch::max_pool2d(x, 2, 2):
// the output and x's gradient bit for bit, on values with many ties (small
// integers), NaNs, infinities, signed zeros in the gradient, odd heights and
// widths (an uncovered last row and column), widths that leave a scalar
// tail after the four-window blocks, at 1 and 2 threads.
#include "MaxPoolKernel.h"
#include "TensorBits.h"

#include <ATen/Parallel.h>
#include <catch2/catch.hpp>

#include <limits>

using namespace mars::train;
using mars::train::test::sameBits;

namespace {

/// Inputs on a coarse grid (ties in most windows), with NaN, +inf and −inf
/// sprinkled in.
torch::Tensor tiedInput(std::vector<int64_t> shape, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randint(-3, 4, shape).to(torch::kFloat);
  const torch::Tensor u = torch::rand(shape);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  x = torch::where(u < 0.02, torch::full_like(x, nan), x);
  x = torch::where((u >= 0.02) & (u < 0.04), torch::full_like(x, inf), x);
  x = torch::where((u >= 0.04) & (u < 0.06), torch::full_like(x, -inf), x);
  return x;
}

/// A gradient with −0, +0 and NaN among normal values.
torch::Tensor gradientFor(const torch::Tensor &out, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor g = torch::randn(out.sizes());
  const torch::Tensor u = torch::rand(out.sizes());
  g = torch::where(u < 0.1, torch::full_like(g, -0.0f), g);
  g = torch::where((u >= 0.1) & (u < 0.15), torch::zeros_like(g), g);
  return torch::where(
      (u >= 0.15) & (u < 0.17),
      torch::full_like(g, std::numeric_limits<float>::quiet_NaN()), g);
}

struct Result {
  torch::Tensor out, grad;
};

Result run(const torch::Tensor &input, const torch::Tensor &g, bool kernel) {
  torch::Tensor x = input.clone().requires_grad_(true);
  torch::Tensor out = kernel ? maxPool2x2(x) : torch::max_pool2d(x, 2, 2);
  out.backward(g);
  return {out.detach(), x.grad()};
}

} // namespace

TEST_CASE("maxPool2x2 matches torch::max_pool2d bit for bit", "[maxpool]") {
  const std::vector<std::vector<int64_t>> shapes = {
      {4, 6, 28, 28}, // lenet5's pool1
      {3, 5, 10, 10}, // lenet5's pool2
      {2, 3, 9, 7},   // odd: the last row and column take no window
      {2, 2, 6, 22},  // 11 windows a row: two blocks of four and a tail
      {1, 1, 2, 2},   // one window
      {2, 4, 5, 3}};
  const int threadsBefore = at::get_num_threads();
  for (size_t i = 0; i < shapes.size(); ++i) {
    const torch::Tensor x = tiedInput(shapes[i], 100 + i);
    at::set_num_threads(1);
    const Result want = run(x, gradientFor(torch::max_pool2d(x, 2, 2), 7 + i),
                            /*kernel=*/false);
    const torch::Tensor g = gradientFor(want.out, 7 + i);
    for (int threads : {1, 2}) {
      at::set_num_threads(threads);
      const Result got = run(x, g, /*kernel=*/true);
      INFO("shape " << i << ", " << threads << " threads");
      CHECK(sameBits(got.out, want.out));
      CHECK(sameBits(got.grad, want.grad));
    }
  }
  at::set_num_threads(threadsBefore);
}

TEST_CASE("maxPool2x2 takes only what it computes exactly", "[maxpool]") {
  const torch::Tensor x = torch::zeros({1, 2, 6, 6});
  CHECK(maxPool2x2Applies(x, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, false));
  CHECK(maxPool2x2Applies(x, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, true));
  // A partial window under ceil_mode; other kernels, strides, pads,
  // dilations; other types and ranks.
  CHECK_FALSE(maxPool2x2Applies(torch::zeros({1, 2, 5, 6}), {2, 2}, {2, 2},
                                {0, 0, 0, 0}, {1, 1}, true));
  CHECK_FALSE(
      maxPool2x2Applies(x, {3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, false));
  CHECK_FALSE(
      maxPool2x2Applies(x, {2, 2}, {1, 1}, {0, 0, 0, 0}, {1, 1}, false));
  CHECK_FALSE(
      maxPool2x2Applies(x, {2, 2}, {2, 2}, {0, 0, 1, 1}, {1, 1}, false));
  CHECK_FALSE(
      maxPool2x2Applies(x, {2, 2}, {2, 2}, {0, 0, 0, 0}, {2, 2}, false));
  CHECK_FALSE(maxPool2x2Applies(x.to(torch::kDouble), {2, 2}, {2, 2},
                                {0, 0, 0, 0}, {1, 1}, false));
  CHECK_FALSE(maxPool2x2Applies(torch::zeros({2, 6, 6}), {2, 2}, {2, 2},
                                {0, 0, 0, 0}, {1, 1}, false));
  CHECK_FALSE(maxPool2x2Applies(torch::zeros({1, 2, 1, 6}), {2, 2}, {2, 2},
                                {0, 0, 0, 0}, {1, 1}, false));
}
