// The single-pass fake-quantization kernels (lib/train FakeQuantKernels)
// against the torch expressions they replaced, which this file writes out
// again with torch ops (the reference shares no code with the kernels):
// forward values and x's gradient bit for bit (ties at the clip bounds,
// rounding ties, zeros of both signs, values beyond the grid included), the
// clip's gradient to the float rounding of a sum, and the same bits at 1 and
// 2 threads. Also: fakeQuantActivation/fakeQuantToGrid take the kernels for
// float32 and keep the torch expression otherwise.
#include "FakeQuant.h"
#include "FakeQuantKernels.h"
#include "TensorBits.h"

#include <catch2/catch.hpp>

using namespace mars::train;
using mars::train::test::sameBits;

namespace {

torch::Tensor referenceClipAndRound(const torch::Tensor &x,
                                    const torch::Tensor &clip,
                                    const torch::Tensor &s, bool isSigned) {
  torch::Tensor y = isSigned ? torch::max(torch::min(x, clip), -clip)
                             : torch::min(torch::relu(x), clip);
  auto q = torch::round(y.detach() / s) * s;
  return y + (q - y).detach();
}

torch::Tensor referenceRoundToGrid(const torch::Tensor &x,
                                   const torch::Tensor &s, double lo,
                                   double hi) {
  auto q = torch::clamp(torch::round(x.detach() / s), lo, hi) * s;
  return x + (q - x).detach();
}

/// More elements than one partial sum of the kernels (2^14), in a shape
/// like a conv activation, with the values that decide the edge cases: the
/// clip bounds exactly, rounding ties (k + 0.5) × s, zeros of both signs,
/// values far beyond the clip.
torch::Tensor hardInput(float clip, float s, uint64_t seed) {
  torch::manual_seed(seed);
  torch::Tensor x = torch::randn({3, 16, 40, 41}) * clip;
  float *p = x.data_ptr<float>();
  const int64_t n = x.numel();
  for (int64_t i = 0; i < n; i += 7) {
    switch ((i / 7) % 8) {
    case 0: p[i] = clip; break;
    case 1: p[i] = -clip; break;
    case 2: p[i] = (float((i / 56) % 15) + 0.5f) * s; break;
    case 3: p[i] = -(float((i / 56) % 15) + 0.5f) * s; break;
    case 4: p[i] = 0.0f; break;
    case 5: p[i] = -0.0f; break;
    case 6: p[i] = 1e6f * clip; break;
    default: break;
    }
  }
  return x;
}

struct Grads {
  torch::Tensor out, gx, gclip;
};

template <typename F>
Grads runWithGrad(const torch::Tensor &x0, const torch::Tensor &clip0,
                  const torch::Tensor &g, F f) {
  torch::Tensor x = x0.clone().requires_grad_(true);
  torch::Tensor clip = clip0.clone().requires_grad_(true);
  torch::Tensor out = f(x, clip);
  out.backward(g);
  return {out.detach(), x.grad(), clip.grad()};
}

} // namespace

TEST_CASE("clipAndRound equals the torch expression, forward and backward",
          "[train][fakequant]") {
  for (bool isSigned : {false, true})
    for (float alpha : {1.7f, 0.3f, 6.0f}) {
      const int qmax = isSigned ? 7 : 15;
      const torch::Tensor clip = torch::full({1}, alpha);
      const torch::Tensor s = clip.abs() / double(qmax);
      const torch::Tensor x = hardInput(alpha, s.item<float>(), 7);
      torch::manual_seed(11);
      const torch::Tensor g = torch::randn(x.sizes());
      CAPTURE(isSigned, alpha);
      Grads ref = runWithGrad(x, clip, g, [&](auto &xv, auto &cv) {
        return referenceClipAndRound(xv, cv, s, isSigned);
      });
      Grads got = runWithGrad(x, clip, g, [&](auto &xv, auto &cv) {
        return clipAndRound(xv, cv, s, isSigned);
      });
      CHECK(sameBits(got.out, ref.out));
      CHECK(sameBits(got.gx, ref.gx));
      // The clip's gradient sums about 30,000 terms of size ~1: torch adds
      // them in float, the kernel in double; they agree to float rounding
      // of the sum, not bit for bit.
      const double refSum = ref.gclip.item<double>();
      const double gotSum = got.gclip.item<double>();
      const double scale = g.abs().sum().item<double>();
      CHECK(std::abs(gotSum - refSum) <= 1e-5 * scale);
      CHECK(gotSum != 0.0);
      CHECK(got.gclip.sizes() == clip.sizes());
    }
}

TEST_CASE("clipAndRound with a clip that takes no gradient (power-of-two "
          "scales)",
          "[train][fakequant]") {
  const torch::Tensor s = torch::full({1}, 0.125f);
  const torch::Tensor clip = s * 15.0;
  const torch::Tensor x = hardInput(clip.item<float>(), 0.125f, 3);
  const torch::Tensor g = torch::ones(x.sizes());
  torch::Tensor xr = x.clone().requires_grad_(true);
  torch::Tensor xk = x.clone().requires_grad_(true);
  torch::Tensor ref = referenceClipAndRound(xr, clip, s, false);
  torch::Tensor got = clipAndRound(xk, clip, s, false);
  ref.backward(g);
  got.backward(g);
  CHECK(sameBits(got.detach(), ref.detach()));
  CHECK(sameBits(xk.grad(), xr.grad()));
}

TEST_CASE("clipAndRound's clip gradient has the same bits at 1 and 2 threads",
          "[train][fakequant]") {
  const torch::Tensor clip = torch::full({1}, 2.5f);
  const torch::Tensor s = clip / 15.0;
  const torch::Tensor x = hardInput(2.5f, s.item<float>(), 5);
  torch::manual_seed(13);
  const torch::Tensor g = torch::randn(x.sizes());
  const int before = at::get_num_threads();
  std::vector<Grads> runs;
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    runs.push_back(runWithGrad(x, clip, g, [&](auto &xv, auto &cv) {
      return clipAndRound(xv, cv, s, true);
    }));
  }
  at::set_num_threads(before);
  CHECK(sameBits(runs[0].out, runs[1].out));
  CHECK(sameBits(runs[0].gx, runs[1].gx));
  CHECK(sameBits(runs[0].gclip, runs[1].gclip));
}

TEST_CASE("roundToGrid equals the torch expression; its gradient is the "
          "identity",
          "[train][fakequant]") {
  for (bool isSigned : {false, true}) {
    const double hi = isSigned ? 127 : 255;
    const double lo = isSigned ? -128 : 0;
    const torch::Tensor s = torch::full({1}, 0.02f);
    // Beyond both ends of the grid, rounding ties and signed zeros.
    const torch::Tensor x = hardInput(3.0f, 0.02f, 9);
    torch::Tensor xr = x.clone().requires_grad_(true);
    torch::Tensor xk = x.clone().requires_grad_(true);
    torch::Tensor ref = referenceRoundToGrid(xr, s, lo, hi);
    torch::Tensor got = roundToGrid(xk, s, lo, hi);
    torch::manual_seed(17);
    const torch::Tensor g = torch::randn(x.sizes());
    ref.backward(g);
    got.backward(g);
    CAPTURE(isSigned);
    CHECK(sameBits(got.detach(), ref.detach()));
    CHECK(sameBits(xk.grad(), g));
    CHECK(sameBits(xr.grad(), g));
  }
}

TEST_CASE("fakeQuantActivation takes the kernel for float32 and the torch "
          "expression otherwise",
          "[train][fakequant]") {
  const torch::Tensor alpha = torch::full({1}, 1.5f);
  const torch::Tensor x = hardInput(1.5f, 0.1f, 21);
  SECTION("float32: the kernel's bits, through the public function") {
    for (bool pow2 : {false, true}) {
      const torch::Tensor s = activationScale(alpha, 4, false, pow2);
      const torch::Tensor clip = pow2 ? (s * 15.0).detach() : alpha;
      CHECK(fusedFakeQuantApplies(x, {clip, s}));
      CHECK(sameBits(fakeQuantActivation(x, alpha, 4, false, pow2),
                     referenceClipAndRound(x, clip, s, false)));
    }
  }
  SECTION("double, or a NaN clip: not the kernel, and the same values") {
    const torch::Tensor xd = x.to(torch::kDouble);
    CHECK_FALSE(fusedFakeQuantApplies(xd, {alpha}));
    const torch::Tensor s = activationScale(alpha, 4, false, false);
    CHECK(torch::equal(fakeQuantActivation(xd, alpha, 4, false, false),
                       referenceClipAndRound(xd, alpha, s, false)));
    const torch::Tensor nan = torch::full({1}, std::nanf(""));
    CHECK_FALSE(fusedFakeQuantApplies(x, {nan}));
    CHECK(torch::isnan(fakeQuantActivation(x, nan, 4, false, false))
              .all()
              .item<bool>());
  }
}

TEST_CASE("an unsigned clipAndRound absorbs a Relu before it, forward and "
          "backward",
          "[train][fakequant]") {
  // GraphModule skips a Relu whose output an unsigned learned-clip point
  // quantizes (GraphModule::pointAppliesRelu); this is the identity that
  // makes that exact.
  const torch::Tensor clip = torch::full({1}, 1.2f);
  const torch::Tensor s = clip / 15.0;
  const torch::Tensor x = hardInput(1.2f, s.item<float>(), 23);
  torch::manual_seed(29);
  const torch::Tensor g = torch::randn(x.sizes());
  Grads withRelu = runWithGrad(x, clip, g, [&](auto &xv, auto &cv) {
    return clipAndRound(torch::relu(xv), cv, s, false);
  });
  Grads without = runWithGrad(x, clip, g, [&](auto &xv, auto &cv) {
    return clipAndRound(xv, cv, s, false);
  });
  CHECK(sameBits(without.out, withRelu.out));
  CHECK(sameBits(without.gx, withRelu.gx));
  CHECK(sameBits(without.gclip, withRelu.gclip));
}
