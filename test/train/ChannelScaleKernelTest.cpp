// divideChannels (lib/train ChannelScaleKernel), the (c0) QAT step's
// "conv / factor + bias", against the torch expression it replaced, written
// out here with torch ops: forward values and the input's gradient bit for
// bit, the factor's and bias's gradients to the rounding of a float sum,
// and the same bits at 1 and 2 threads.
#include "ChannelScaleKernel.h"
#include "TensorBits.h"

#include <catch2/catch.hpp>

using namespace mars::train;
using mars::train::test::sameBits;

namespace {

torch::Tensor reference(const torch::Tensor &y, const torch::Tensor &f,
                        const torch::Tensor &b) {
  std::vector<int64_t> view(y.dim(), 1);
  view[1] = f.size(0);
  torch::Tensor out = y / f.view(view);
  return b.defined() ? out + b.view(view) : out;
}

struct Run {
  torch::Tensor out, gy, gf, gb;
};

template <typename F>
Run run(const torch::Tensor &y0, const torch::Tensor &f0,
        const torch::Tensor &b0, const torch::Tensor &g, F fn) {
  torch::Tensor y = y0.clone().requires_grad_(true);
  torch::Tensor f = f0.clone().requires_grad_(true);
  torch::Tensor b =
      b0.defined() ? b0.clone().requires_grad_(true) : torch::Tensor();
  torch::Tensor out = fn(y, f, b);
  out.backward(g);
  return {out.detach(), y.grad(), f.grad(),
          b.defined() ? b.grad() : torch::Tensor()};
}

/// |a - b| within `rel` of the sum of magnitudes that made each element.
void checkSums(const torch::Tensor &got, const torch::Tensor &ref,
               const torch::Tensor &magnitude, double rel) {
  REQUIRE(got.sizes() == ref.sizes());
  const auto diff = (got.to(torch::kDouble) - ref.to(torch::kDouble)).abs();
  const auto bound = magnitude.to(torch::kDouble) * rel;
  CHECK((diff <= bound).all().item<bool>());
}

} // namespace

TEST_CASE("divideChannels equals y / factor + bias, forward and backward",
          "[train][channelscale]") {
  for (bool withBias : {true, false})
    for (std::vector<int64_t> shape :
         {std::vector<int64_t>{8, 12, 9, 11}, std::vector<int64_t>{64, 30}}) {
      torch::manual_seed(3);
      const int64_t channels = shape[1];
      const torch::Tensor y = torch::randn(shape) * 3;
      // Factors of both signs and far from 1, as gamma / sqrt(var) can be.
      const torch::Tensor f =
          (torch::rand({channels}) * 4 + 0.05) *
          torch::where(torch::rand({channels}) > 0.3, 1.0, -1.0);
      const torch::Tensor b =
          withBias ? torch::randn({channels}) : torch::Tensor();
      const torch::Tensor g = torch::randn(shape);
      CAPTURE(withBias, shape);
      REQUIRE(divideChannelsApplies(y, f, b));
      Run ref = run(y, f, b, g, [](auto &a, auto &c, auto &d) {
        return reference(a, c, d);
      });
      Run got = run(y, f, b, g, [](auto &a, auto &c, auto &d) {
        return divideChannels(a, c, d);
      });
      CHECK(sameBits(got.out, ref.out));
      CHECK(sameBits(got.gy, ref.gy));
      // Per channel, torch sums float terms in float and the kernel in
      // double: equal to about float epsilon of the terms' magnitudes.
      std::vector<int64_t> reduce = {0};
      if (y.dim() == 4)
        reduce = {0, 2, 3};
      const torch::Tensor fView =
          y.dim() == 4 ? f.view({1, channels, 1, 1}) : f.view({1, channels});
      const torch::Tensor termsF = (g * y / (fView * fView)).abs().sum(reduce);
      checkSums(got.gf, ref.gf, termsF, 1e-5);
      CHECK(got.gf.abs().sum().item<double>() > 0);
      if (withBias)
        checkSums(got.gb, ref.gb, g.abs().sum(reduce), 1e-5);
      else
        CHECK_FALSE(got.gb.defined());
    }
}

TEST_CASE("divideChannels' gradients have the same bits at 1 and 2 threads",
          "[train][channelscale]") {
  torch::manual_seed(5);
  const torch::Tensor y = torch::randn({16, 8, 20, 20});
  const torch::Tensor f = torch::rand({8}) + 0.5;
  const torch::Tensor b = torch::randn({8});
  const torch::Tensor g = torch::randn(y.sizes());
  const int before = at::get_num_threads();
  std::vector<Run> runs;
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    runs.push_back(run(y, f, b, g, [](auto &a, auto &c, auto &d) {
      return divideChannels(a, c, d);
    }));
  }
  at::set_num_threads(before);
  CHECK(sameBits(runs[0].gy, runs[1].gy));
  CHECK(sameBits(runs[0].gf, runs[1].gf));
  CHECK(sameBits(runs[0].gb, runs[1].gb));
}

TEST_CASE("divideChannels refuses what it does not handle",
          "[train][channelscale]") {
  const torch::Tensor f = torch::ones({4});
  CHECK_FALSE(divideChannelsApplies(torch::ones({2, 4, 3}), f, {}));
  CHECK_FALSE(divideChannelsApplies(torch::ones({2, 5, 3, 3}), f, {}));
  CHECK_FALSE(
      divideChannelsApplies(torch::ones({2, 4}, torch::kDouble), f, {}));
  CHECK_FALSE(divideChannelsApplies(torch::ones({2, 4}), f, torch::ones({3})));
  CHECK_THROWS(divideChannels(torch::ones({2, 5}), f, {}));
}
