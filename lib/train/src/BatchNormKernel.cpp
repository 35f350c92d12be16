#include "BatchNormKernel.h"
#include "KernelClones.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mars::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The sums and the affine pass compute more per element than they load:
// they are cloned for AVX2 (KernelClones.h, same bits).

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
/// plane adds into lane i % 8, so the sums take SSE2's two-double registers.
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

/// Images per partial sum. The passes walk the activation in memory order,
/// (image, channel) plane after plane, so that the hardware prefetcher sees
/// one stream (a channel's planes are a plane-size stride apart; walking
/// them channel by channel restarted the stream at every plane: forward and
/// backward of a 128x16x32x32 activation took 4.5 ms against 3.3 at one
/// thread). Threads take whole chunks of images; each chunk keeps
/// per-channel lanes, and the chunks are added in order: the sums have the
/// same bits at any thread count.
constexpr int64_t kImagesPerChunk = 8;

/// Per chunk and channel, the two sums of planeSums.
struct ChunkSums {
  int64_t chunks, channels;
  std::vector<Lanes> a, b;
  explicit ChunkSums(const Planes &p)
      : chunks((p.images + kImagesPerChunk - 1) / kImagesPerChunk),
        channels(p.channels), a(size_t(chunks * channels)),
        b(size_t(chunks * channels)) {}
  /// Channel c's two sums over all images, chunk by chunk in order.
  std::pair<double, double> total(int64_t c) const {
    double ta = 0, tb = 0;
    for (int64_t k = 0; k < chunks; ++k) {
      ta += a[size_t(k * channels + c)].total();
      tb += b[size_t(k * channels + c)].total();
    }
    return {ta, tb};
  }
};

/// planeSums over every plane, centred on centre[c]; g may be null.
ChunkSums sumsByChannel(const Planes &p, const float *y, const float *g,
                        const double *centre) {
  ChunkSums sums(p);
  at::parallel_for(0, sums.chunks, 1, [&](int64_t s, int64_t e) {
    for (int64_t k = s; k < e; ++k) {
      const int64_t last = std::min(p.images, (k + 1) * kImagesPerChunk);
      for (int64_t n = k * kImagesPerChunk; n < last; ++n)
        for (int64_t c = 0; c < p.channels; ++c) {
          const size_t slot = size_t(k * p.channels + c);
          planeSums(y + p.at(n, c), g ? g + p.at(n, c) : nullptr, p.pixels,
                    centre[c], sums.a[slot], sums.b[slot]);
        }
    }
  });
  return sums;
}

/// Planes per parallel task of the affine pass.
constexpr int64_t kPlaneGrain = 16;

/// out = y · p[c] + r[c] (g null) or g · p[c] + y · q[c] + r[c] over every
/// plane, in memory order.
void affineByChannel(const Planes &p, const float *y, const float *g,
                     float *out, const float *pc, const float *qc,
                     const float *rc) {
  at::parallel_for(
      0, p.images * p.channels, kPlaneGrain, [&](int64_t s, int64_t e) {
        for (int64_t plane = s; plane < e; ++plane) {
          const int64_t c = plane % p.channels, at = plane * p.pixels;
          affinePlane(y + at, g ? g + at : nullptr, out + at, p.pixels, pc[c],
                      qc ? qc[c] : 0.0f, rc[c]);
        }
      });
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
    // Sums of d = y − y₀, y₀ each channel's first value (shifted sums: in
    // double the cancellation is negligible).
    std::vector<double> first(size_t(p.channels));
    for (int64_t c = 0; c < p.channels; ++c)
      first[size_t(c)] = py[p.at(0, c)];
    const ChunkSums sums = sumsByChannel(p, py, nullptr, first.data());
    std::vector<float> slopes(size_t(p.channels)), offsets(size_t(p.channels));
    for (int64_t c = 0; c < p.channels; ++c) {
      const auto [shift, squares] = sums.total(c);
      const double f = pf[c], b = pb ? pb[c] : 0.0;
      const double meanY = first[size_t(c)] + shift / count;
      const double varSumZ =
          std::max(0.0, squares - shift * shift / count) / (f * f);
      const double invstd = 1.0 / std::sqrt(varSumZ / count + running.eps);
      ps[2 * c] = meanY;
      ps[2 * c + 1] = invstd;
      const double meanZ = meanY / f + b;
      rm[c] = float(running.momentum * meanZ + (1 - running.momentum) * rm[c]);
      rv[c] = float(running.momentum * varSumZ / (count - 1) +
                    (1 - running.momentum) * rv[c]);
      const double slope = double(pg[c]) * invstd / f;
      slopes[size_t(c)] = float(slope);
      offsets[size_t(c)] = float(double(pbeta[c]) - meanY * slope);
    }
    affineByChannel(p, py, nullptr, po, slopes.data(), nullptr, offsets.data());
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
    // Σ g and G = Σ g (y − mean_y) per channel.
    std::vector<double> means(size_t(p.channels));
    for (int64_t c = 0; c < p.channels; ++c)
      means[size_t(c)] = ps[2 * c];
    const ChunkSums sums = sumsByChannel(p, py, pg, means.data());
    std::vector<float> slopes(size_t(p.channels)), qs(size_t(p.channels)),
        rs(size_t(p.channels));
    for (int64_t c = 0; c < p.channels; ++c) {
      const auto [sg, big] = sums.total(c);
      const double meanY = ps[2 * c], invstd = ps[2 * c + 1], f = pf[c];
      const double slope = double(pgamma[c]) * invstd / f; // P
      const double dGamma = big * invstd / f;
      pgGamma[c] = float(dGamma);
      pgBeta[c] = float(sg);
      pgf[c] = float(-slope * big * eps * invstd * invstd / f);
      // ∂y = g · P + y · Q + R.
      const double q = -slope * (invstd / f) * dGamma / count;
      slopes[size_t(c)] = float(slope);
      qs[size_t(c)] = float(q);
      rs[size_t(c)] = float(-slope * sg / count - q * meanY);
    }
    affineByChannel(p, py, pg, pgy, slopes.data(), qs.data(), rs.data());
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
