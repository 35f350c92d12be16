#include "FakeQuantKernels.h"
#include "KernelClones.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mars::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The loops below are compute-bound (a division and the rounding per
// element, or the tie-aware selects backward): their AVX2 clones
// (KernelClones.h) run clipAndRound about 2x faster than the baseline.

/// Elements per parallel task of the elementwise loops.
constexpr int64_t kGrain = int64_t(1) << 15;
/// Elements per partial sum of the clip's gradient: fixed, so the partials
/// and their order (and so the sum's bits) do not depend on the threads.
constexpr int64_t kSumChunk = int64_t(1) << 14;

/// std::nearbyint in the default rounding mode (half to even, the sign of a
/// zero result kept), written so that the loops vectorise without SSE4.1's
/// roundps: adding and subtracting 2^23 rounds any |v| < 2^23 to an integer,
/// and a larger float is an integer already. NaN and infinities pass.
inline float roundHalfEven(float v) {
  const float twoTo23 = 8388608.0f;
  const float a = std::fabs(v);
  const float r = (a + twoTo23) - twoTo23;
  return a < twoTo23 ? std::copysign(r, v) : v;
}

/// torch's relu, minimum and maximum on one float, NaN propagating.
inline float relu(float x) { return x <= 0.0f ? 0.0f : x; }
inline float minimum(float a, float b) { return a > b ? b : a; }
inline float maximum(float a, float b) { return a < b ? b : a; }

/// y + (round(y / s) * s - y): the straight-through fake quantization's
/// forward value, written as torch evaluates it.
inline float roundTrip(float y, float s) {
  const float q = roundHalfEven(y / s) * s;
  return y + (q - y);
}

template <bool Signed>
MARS_INLINE_INTO_CLONES void
clipAndRoundLoop(const float *__restrict x, float *__restrict out,
                 int64_t begin, int64_t end, float clip, float scale) {
  for (int64_t i = begin; i < end; ++i) {
    const float y = Signed ? maximum(minimum(x[i], clip), -clip)
                           : minimum(relu(x[i]), clip);
    out[i] = roundTrip(y, scale);
  }
}

MARS_AVX2_CLONES void clipAndRoundRange(bool isSigned, const float *x,
                                        float *out, int64_t begin, int64_t end,
                                        float clip, float scale) {
  if (isSigned)
    clipAndRoundLoop<true>(x, out, begin, end, clip, scale);
  else
    clipAndRoundLoop<false>(x, out, begin, end, clip, scale);
}

/// The gradient of the clip for one element and its share to x, as torch's
/// minimum(a, b) and maximum(a, b) backwards split it: the operand that is
/// not chosen gets 0, a tie gives each half (g * 0.5f is g / 2 exactly).
/// Selects, not branches, so that the loops vectorise.
struct Split {
  float toInput;
  float toBound;
};
inline Split minimumBackward(float a, float b, float g) {
  const bool tie = a == b;
  return {tie ? g * 0.5f : (a > b ? 0.0f : g),
          tie ? g * 0.5f : (a < b ? 0.0f : g)};
}
inline Split maximumBackward(float a, float b, float g) {
  const bool tie = a == b;
  return {tie ? g * 0.5f : (a < b ? 0.0f : g),
          tie ? g * 0.5f : (a > b ? 0.0f : g)};
}

/// x's gradient over [begin, end) into gx, and each element's gradient to
/// the clip into toClip[i - begin].
template <bool Signed>
MARS_INLINE_INTO_CLONES void
clipAndRoundBackwardLoop(const float *__restrict x, const float *__restrict g,
                         float *__restrict gx, float *__restrict toClip,
                         int64_t begin, int64_t end, float clip) {
  for (int64_t i = begin; i < end; ++i) {
    if (Signed) {
      const float m = minimum(x[i], clip);
      const Split lower = maximumBackward(m, -clip, g[i]);
      const Split upper = minimumBackward(x[i], clip, lower.toInput);
      gx[i] = upper.toInput;
      toClip[i - begin] = upper.toBound - lower.toBound;
    } else {
      const float r = relu(x[i]);
      const Split upper = minimumBackward(r, clip, g[i]);
      gx[i] = r <= 0.0f ? 0.0f : upper.toInput;
      toClip[i - begin] = upper.toBound;
    }
  }
}

MARS_AVX2_CLONES void clipAndRoundBackwardRange(bool isSigned, const float *x,
                                                const float *g, float *gx,
                                                float *toClip, int64_t begin,
                                                int64_t end, float clip) {
  if (isSigned)
    clipAndRoundBackwardLoop<true>(x, g, gx, toClip, begin, end, clip);
  else
    clipAndRoundBackwardLoop<false>(x, g, gx, toClip, begin, end, clip);
}

/// The sum of t[0, n) in double: element i adds into lane i % 16, and the
/// lanes are added in a fixed tree, so the bits are the same on every run.
/// Sixteen lanes are eight independent two-double adds in flight; with four
/// this sum was latency-bound and took a third of the clip's backward.
MARS_AVX2_CLONES double sumInDouble(const float *t, int64_t n) {
  double lane[16] = {};
  int64_t i = 0;
#if defined(__SSE2__)
  __m128d acc[8];
  for (int k = 0; k < 8; ++k)
    acc[k] = _mm_setzero_pd();
  for (; i + 16 <= n; i += 16)
    for (int q = 0; q < 4; ++q) {
      const __m128 v = _mm_loadu_ps(t + i + 4 * q);
      acc[2 * q] = _mm_add_pd(acc[2 * q], _mm_cvtps_pd(v));
      acc[2 * q + 1] =
          _mm_add_pd(acc[2 * q + 1], _mm_cvtps_pd(_mm_movehl_ps(v, v)));
    }
  for (int k = 0; k < 8; ++k)
    _mm_storeu_pd(lane + 2 * k, acc[k]);
#endif
  for (; i < n; ++i)
    lane[i % 16] += double(t[i]);
  for (int width = 8; width >= 1; width /= 2)
    for (int j = 0; j < width; ++j)
      lane[j] += lane[j + width];
  return lane[0];
}

struct ClipAndRoundFunction
    : public torch::autograd::Function<ClipAndRoundFunction> {
  static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &x,
                               const torch::Tensor &clip, double scale,
                               bool isSigned) {
    const torch::Tensor in = x.contiguous();
    torch::Tensor out = torch::empty_like(in);
    const float c = clip.item<float>();
    const float s = float(scale);
    const float *px = in.data_ptr<float>();
    float *po = out.data_ptr<float>();
    at::parallel_for(0, in.numel(), kGrain, [&](int64_t b, int64_t e) {
      clipAndRoundRange(isSigned, px, po, b, e, c, s);
    });
    ctx->save_for_backward({in});
    ctx->saved_data["clip"] = double(c);
    ctx->saved_data["signed"] = isSigned;
    ctx->saved_data["clip_sizes"] = clip.sizes().vec();
    return out;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    const torch::Tensor x = ctx->get_saved_variables()[0];
    const torch::Tensor g = grads[0].contiguous();
    const float c = float(ctx->saved_data["clip"].toDouble());
    const bool isSigned = ctx->saved_data["signed"].toBool();
    torch::Tensor gx = torch::empty_like(x);
    const float *px = x.data_ptr<float>();
    const float *pg = g.data_ptr<float>();
    float *pgx = gx.data_ptr<float>();
    const int64_t n = x.numel();
    const int64_t chunks = (n + kSumChunk - 1) / kSumChunk;
    std::vector<double> partial(size_t(chunks), 0.0);
    at::parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
      float toClip[kSumChunk]; // 64 KiB
      for (int64_t k = b; k < e; ++k) {
        const int64_t lo = k * kSumChunk;
        const int64_t hi = std::min(n, lo + kSumChunk);
        clipAndRoundBackwardRange(isSigned, px, pg, pgx, toClip, lo, hi, c);
        partial[size_t(k)] = sumInDouble(toClip, hi - lo);
      }
    });
    torch::Tensor gclip;
    if (ctx->needs_input_grad(1)) {
      double sum = 0;
      for (double p : partial)
        sum += p;
      gclip = torch::full(ctx->saved_data["clip_sizes"].toIntVector(),
                          float(sum), x.options());
    }
    return {gx, gclip, torch::Tensor(), torch::Tensor()};
  }
};

MARS_AVX2_CLONES void roundToGridRange(const float *__restrict x,
                                       float *__restrict out, int64_t begin,
                                       int64_t end, float s, float lo,
                                       float hi) {
  for (int64_t i = begin; i < end; ++i) {
    // torch's clamp: max with lo, then min with hi, NaN propagating.
    const float q = minimum(maximum(roundHalfEven(x[i] / s), lo), hi) * s;
    out[i] = x[i] + (q - x[i]);
  }
}

struct RoundToGridFunction
    : public torch::autograd::Function<RoundToGridFunction> {
  static torch::Tensor forward(AutogradContext *, const torch::Tensor &x,
                               double scale, double lo, double hi) {
    const torch::Tensor in = x.contiguous();
    torch::Tensor out = torch::empty_like(in);
    const float s = float(scale);
    const float l = float(lo);
    const float h = float(hi);
    const float *px = in.data_ptr<float>();
    float *po = out.data_ptr<float>();
    at::parallel_for(0, in.numel(), kGrain, [&](int64_t b, int64_t e) {
      roundToGridRange(px, po, b, e, s, l, h);
    });
    return out;
  }

  static variable_list backward(AutogradContext *, variable_list grads) {
    return {grads[0], torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

bool isFloatScalar(const torch::Tensor &t) {
  return t.defined() && t.scalar_type() == torch::kFloat &&
         t.device().is_cpu() && t.numel() == 1 &&
         std::isfinite(t.item<float>());
}

} // namespace

bool fusedFakeQuantApplies(const torch::Tensor &x,
                           std::initializer_list<torch::Tensor> scalars) {
  if (!x.defined() || x.scalar_type() != torch::kFloat ||
      !x.device().is_cpu() || x.layout() != torch::kStrided)
    return false;
  for (const torch::Tensor &t : scalars)
    if (!isFloatScalar(t))
      return false;
  return true;
}

torch::Tensor clipAndRound(const torch::Tensor &x, const torch::Tensor &clip,
                           const torch::Tensor &scale, bool isSigned) {
  TORCH_CHECK(fusedFakeQuantApplies(x, {clip, scale}),
              "clipAndRound: x float32 on the CPU, clip and scale one "
              "finite float32 each");
  return ClipAndRoundFunction::apply(x, clip, double(scale.item<float>()),
                                     isSigned);
}

torch::Tensor roundToGrid(const torch::Tensor &x, const torch::Tensor &scale,
                          double lo, double hi) {
  TORCH_CHECK(fusedFakeQuantApplies(x, {scale}),
              "roundToGrid: x float32 on the CPU, scale one finite float32");
  return RoundToGridFunction::apply(x, double(scale.item<float>()), lo, hi);
}

} // namespace mars::train
