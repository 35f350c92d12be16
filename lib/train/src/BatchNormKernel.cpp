#include "BatchNormKernel.h"

#include <ATen/Parallel.h>

#include <cmath>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mars::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The sums and the affine pass compute more per element than they load;
// their AVX2 clones do the same IEEE operations per lane ("avx2" enables no
// FMA), so the bits are those of the x86-64 baseline.
#if defined(__x86_64__) && defined(__GNUC__)
#define MARS_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MARS_AVX2_CLONES
#endif

/// The (N, C, pixels) view of a 2-D or 4-D activation.
struct Planes {
  int64_t images, channels, pixels;
  int64_t perChannel() const { return images * pixels; }
  int64_t at(int64_t image, int64_t c) const {
    return (image * channels + c) * pixels;
  }
};
Planes planesOf(const torch::Tensor &y) {
  return {y.size(0), y.size(1), y.dim() == 4 ? y.size(2) * y.size(3) : 1};
}

/// Eight double accumulators, added in a fixed order: element i of every
/// plane adds into lane i % 8, so the sums take SSE2's two-double registers
/// and do not depend on the threads (which split channels, never a channel's
/// elements).
struct Lanes {
  double v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  double total() const {
    return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
  }
};

/// Over one plane of n values: a += Σ (y − c) and b += Σ (y − c)² when `g`
/// is null, else a += Σ g and b += Σ g · (y − c), all in double (the
/// differences, products and sums round at double precision, far below a
/// float's).
MARS_AVX2_CLONES void planeSums(const float *y, const float *g, int64_t n,
                                double c, Lanes &a, Lanes &b) {
  int64_t i = 0;
#if defined(__SSE2__)
  __m128d va[4], vb[4];
  for (int k = 0; k < 4; ++k) {
    va[k] = _mm_loadu_pd(a.v + 2 * k);
    vb[k] = _mm_loadu_pd(b.v + 2 * k);
  }
  const __m128d vc = _mm_set1_pd(c);
  // Lanes 2k and 2k + 1 of the eight, from four floats starting at p.
  const auto widen = [](const float *p, __m128d out[2]) {
    const __m128 v = _mm_loadu_ps(p);
    out[0] = _mm_cvtps_pd(v);
    out[1] = _mm_cvtps_pd(_mm_movehl_ps(v, v));
  };
  for (; i + 8 <= n; i += 8) {
    __m128d d[4];
    widen(y + i, d);
    widen(y + i + 4, d + 2);
    if (g) {
      __m128d w[4];
      widen(g + i, w);
      widen(g + i + 4, w + 2);
      for (int k = 0; k < 4; ++k) {
        va[k] = _mm_add_pd(va[k], w[k]);
        vb[k] = _mm_add_pd(vb[k], _mm_mul_pd(w[k], _mm_sub_pd(d[k], vc)));
      }
    } else {
      for (int k = 0; k < 4; ++k) {
        const __m128d e = _mm_sub_pd(d[k], vc);
        va[k] = _mm_add_pd(va[k], e);
        vb[k] = _mm_add_pd(vb[k], _mm_mul_pd(e, e));
      }
    }
  }
  for (int k = 0; k < 4; ++k) {
    _mm_storeu_pd(a.v + 2 * k, va[k]);
    _mm_storeu_pd(b.v + 2 * k, vb[k]);
  }
#endif
  for (; i < n; ++i) {
    const double e = double(y[i]) - c;
    if (g) {
      a.v[i % 8] += double(g[i]);
      b.v[i % 8] += double(g[i]) * e;
    } else {
      a.v[i % 8] += e;
      b.v[i % 8] += e * e;
    }
  }
}

/// out = y · p + r (g null) or g · p + y · q + r over one plane.
MARS_AVX2_CLONES void affinePlane(const float *y, const float *g, float *out,
                                  int64_t n, float p, float q, float r) {
  if (g) {
    for (int64_t i = 0; i < n; ++i)
      out[i] = g[i] * p + y[i] * q + r;
  } else {
    for (int64_t i = 0; i < n; ++i)
      out[i] = y[i] * p + r;
  }
}

/// Running statistics and constants, outside autograd's inputs: updated in
/// place, as ATen's batch_norm updates its buffers.
struct Running {
  torch::Tensor mean, var;
  double momentum, eps;
};

// With z = y / f + b per channel and M values per channel, batch_norm in
// training mode is an affine map of y:
//   mean_z = mean_y / f + b, var_z = var_y / f² (biased), s = 1 / √(var_z + ε),
//   out = (z − mean_z) · s · γ + β = y · P + (β − mean_y · P), P = γ s / f.
// Backward, with g the output's gradient, G = Σ g (y − mean_y):
//   ∂γ = Σ g (z − mean_z) s = G s / f,   ∂β = Σ g,
//   ∂y = P (g − Σg / M − (y − mean_y) (s / f) ∂γ / M)   (ATen's formula),
//   ∂b = 0 (normalisation removes any per-channel shift),
//   ∂f = −Σ ∂z · y / f² = −P G ε s² / f (the rest cancels exactly: BN is
//   scale-invariant but for ε).
// So each way is one pass of per-channel sums and one affine pass, with no
// per-element division.

struct DivideBatchNormFunction
    : public torch::autograd::Function<DivideBatchNormFunction> {
  static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &y,
                               const torch::Tensor &factor,
                               const torch::Tensor &bias,
                               const torch::Tensor &gamma,
                               const torch::Tensor &beta, Running running) {
    const torch::Tensor in = y.contiguous();
    const bool hasBias = bias.numel() > 0; // see divideBatchNorm
    const Planes p = planesOf(in);
    torch::Tensor out = torch::empty_like(in);
    // Per channel: mean_y and s, in double, for the backward.
    torch::Tensor stats = torch::empty({p.channels, 2}, torch::kDouble);
    const float *py = in.data_ptr<float>(), *pf = factor.data_ptr<float>();
    const float *pb = hasBias ? bias.data_ptr<float>() : nullptr;
    const float *pg = gamma.data_ptr<float>(), *pbeta = beta.data_ptr<float>();
    float *po = out.data_ptr<float>();
    double *ps = stats.data_ptr<double>();
    float *rm = running.mean.data_ptr<float>();
    float *rv = running.var.data_ptr<float>();
    const double count = double(p.perChannel());
    at::parallel_for(0, p.channels, 1, [&](int64_t s, int64_t e) {
      for (int64_t c = s; c < e; ++c) {
        // Sums of d = y − y₀, y₀ the channel's first value (shifted sums:
        // in double the cancellation is negligible).
        const double y0 = py[p.at(0, c)];
        Lanes sum, squares;
        for (int64_t n = 0; n < p.images; ++n)
          planeSums(py + p.at(n, c), nullptr, p.pixels, y0, sum, squares);
        const double shift = sum.total();
        const double f = pf[c], b = pb ? pb[c] : 0.0;
        const double meanY = y0 + shift / count;
        const double varSumZ =
            std::max(0.0, squares.total() - shift * shift / count) / (f * f);
        const double invstd = 1.0 / std::sqrt(varSumZ / count + running.eps);
        ps[2 * c] = meanY;
        ps[2 * c + 1] = invstd;
        const double meanZ = meanY / f + b;
        rm[c] =
            float(running.momentum * meanZ + (1 - running.momentum) * rm[c]);
        rv[c] = float(running.momentum * varSumZ / (count - 1) +
                      (1 - running.momentum) * rv[c]);
        const double slope = double(pg[c]) * invstd / f;
        const float offset = float(double(pbeta[c]) - meanY * slope);
        for (int64_t n = 0; n < p.images; ++n)
          affinePlane(py + p.at(n, c), nullptr, po + p.at(n, c), p.pixels,
                      float(slope), 0.0f, offset);
      }
    });
    ctx->save_for_backward({in, factor, gamma, stats});
    ctx->saved_data["has_bias"] = hasBias;
    ctx->saved_data["eps"] = running.eps;
    return out;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &in = saved[0];
    const bool hasBias = ctx->saved_data["has_bias"].toBool();
    const double eps = ctx->saved_data["eps"].toDouble();
    const torch::Tensor g = grads[0].contiguous();
    const Planes p = planesOf(in);
    torch::Tensor gy = torch::empty_like(in);
    torch::Tensor gf = torch::empty_like(saved[1]);
    torch::Tensor gGamma = torch::empty_like(saved[2]);
    torch::Tensor gBeta = torch::empty_like(saved[2]);
    const float *py = in.data_ptr<float>(), *pf = saved[1].data_ptr<float>();
    const float *pgamma = saved[2].data_ptr<float>();
    const double *ps = saved[3].data_ptr<double>();
    const float *pg = g.data_ptr<float>();
    float *pgy = gy.data_ptr<float>(), *pgf = gf.data_ptr<float>();
    float *pgGamma = gGamma.data_ptr<float>(),
          *pgBeta = gBeta.data_ptr<float>();
    const double count = double(p.perChannel());
    at::parallel_for(0, p.channels, 1, [&](int64_t s, int64_t e) {
      for (int64_t c = s; c < e; ++c) {
        const double meanY = ps[2 * c], invstd = ps[2 * c + 1], f = pf[c];
        Lanes sumGrad, centred; // Σ g and G = Σ g (y − mean_y).
        for (int64_t n = 0; n < p.images; ++n)
          planeSums(py + p.at(n, c), pg + p.at(n, c), p.pixels, meanY, sumGrad,
                    centred);
        const double sg = sumGrad.total(), big = centred.total();
        const double slope = double(pgamma[c]) * invstd / f; // P
        const double dGamma = big * invstd / f;
        pgGamma[c] = float(dGamma);
        pgBeta[c] = float(sg);
        pgf[c] = float(-slope * big * eps * invstd * invstd / f);
        // ∂y = g · P + y · Q + R.
        const double q = -slope * (invstd / f) * dGamma / count;
        const double r = -slope * sg / count - q * meanY;
        for (int64_t n = 0; n < p.images; ++n)
          affinePlane(py + p.at(n, c), pg + p.at(n, c), pgy + p.at(n, c),
                      p.pixels, float(slope), float(q), float(r));
      }
    });
    torch::Tensor gb = hasBias ? torch::zeros_like(saved[1]) : torch::Tensor();
    return {gy, gf, gb, gGamma, gBeta, torch::Tensor()};
  }
};

bool isChannelVector(const torch::Tensor &t, int64_t channels) {
  return t.defined() && t.scalar_type() == torch::kFloat &&
         t.device().is_cpu() && t.layout() == torch::kStrided && t.dim() == 1 &&
         t.size(0) == channels && t.is_contiguous();
}

} // namespace

bool divideBatchNormApplies(const torch::Tensor &y, const torch::Tensor &factor,
                            const torch::Tensor &bias,
                            const BatchNormOperands &bn) {
  if (!y.defined() || y.scalar_type() != torch::kFloat ||
      !y.device().is_cpu() || y.layout() != torch::kStrided ||
      (y.dim() != 2 && y.dim() != 4) || y.numel() == 0)
    return false;
  const int64_t c = y.size(1);
  // batch_norm refuses one value per channel in training; so does this.
  if (y.numel() / c < 2)
    return false;
  return isChannelVector(factor, c) &&
         (!bias.defined() || isChannelVector(bias, c)) &&
         isChannelVector(bn.gamma, c) && isChannelVector(bn.beta, c) &&
         isChannelVector(bn.runningMean, c) &&
         isChannelVector(bn.runningVar, c) && bn.eps > 0;
}

torch::Tensor divideBatchNorm(const torch::Tensor &y,
                              const torch::Tensor &factor,
                              const torch::Tensor &bias,
                              const BatchNormOperands &bn) {
  TORCH_CHECK(divideBatchNormApplies(y, factor, bias, bn),
              "divideBatchNorm: y float32 (N, C[, H, W]) on the CPU with "
              "more than one value per channel; factor, bias and the BN "
              "tensors contiguous float32 with C elements");
  // Without a bias, an empty tensor stands in: autograd's Function does not
  // take an undefined tensor as an input.
  return DivideBatchNormFunction::apply(
      y, factor, bias.defined() ? bias : torch::empty({0}, y.options()),
      bn.gamma, bn.beta,
      Running{bn.runningMean.detach(), bn.runningVar.detach(), bn.momentum,
              bn.eps});
}

} // namespace mars::train
