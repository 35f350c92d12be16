#include "FakeQuant.h"

#include "FakeQuantKernels.h"

#include "mars/support/IntRange.h"

namespace mars::train {

namespace {
torch::Tensor roundToPowerOfTwo(const torch::Tensor &s) {
  return torch::pow(2.0, torch::round(torch::log2(s)));
}
double qmax(int bits, bool isSigned) { return double(intHi(bits, isSigned)); }
/// Forward: q; backward: identity to x.
torch::Tensor straightThrough(const torch::Tensor &x, const torch::Tensor &q) {
  return x + (q - x).detach();
}
} // namespace

torch::Tensor weightScales(const torch::Tensor &w, int bits, bool powerOfTwo) {
  torch::NoGradGuard noGrad;
  auto maxAbs = w.detach().abs().reshape({w.size(0), -1}).amax(1);
  // A channel whose weights are all zero (pruned away) gets scale 1: any
  // scale represents it exactly, and a tiny one would blow up the bias's
  // int32 scale (weight scale x input scale).
  auto s = torch::where(maxAbs > 0, maxAbs / double(signedHi(bits)),
                        torch::ones_like(maxAbs));
  return powerOfTwo ? roundToPowerOfTwo(s) : s;
}

torch::Tensor fakeQuantWeight(const torch::Tensor &w, int bits,
                              bool powerOfTwo) {
  std::vector<int64_t> view(w.dim(), 1);
  view[0] = w.size(0);
  auto s = weightScales(w, bits, powerOfTwo).view(view);
  const double lim = double(signedHi(bits));
  auto q = torch::clamp(torch::round(w.detach() / s), -lim, lim) * s;
  return straightThrough(w, q);
}

torch::Tensor activationScale(const torch::Tensor &alpha, int bits,
                              bool isSigned, bool powerOfTwo) {
  auto s = (alpha.detach().abs() / qmax(bits, isSigned)).clamp_min(1e-12);
  return powerOfTwo ? roundToPowerOfTwo(s) : s;
}

torch::Tensor fakeQuantActivation(const torch::Tensor &x,
                                  const torch::Tensor &alpha, int bits,
                                  bool isSigned, bool powerOfTwo) {
  auto s = activationScale(alpha, bits, isSigned, powerOfTwo);
  // With power-of-two scales the representable clip is s × qmax, which may
  // differ from alpha; clip there so forward values match the integer model.
  auto clip = powerOfTwo ? (s * qmax(bits, isSigned)).detach() : alpha;
  if (fusedFakeQuantApplies(x, {clip, s}))
    return clipAndRound(x, clip, s, isSigned);
  torch::Tensor y = isSigned ? torch::max(torch::min(x, clip), -clip)
                             : torch::min(torch::relu(x), clip);
  auto q = torch::round(y.detach() / s) * s;
  return straightThrough(y, q);
}

torch::Tensor fakeQuantToGrid(const torch::Tensor &x,
                              const torch::Tensor &scale, int bits,
                              bool isSigned) {
  auto s = scale.detach();
  const double hi = qmax(bits, isSigned);
  const double lo = isSigned ? -hi - 1 : 0.0;
  if (fusedFakeQuantApplies(x, {s}))
    return roundToGrid(x, s, lo, hi);
  auto q = torch::clamp(torch::round(x.detach() / s), lo, hi) * s;
  return straightThrough(x, q);
}

} // namespace mars::train
