#include "ChannelScaleKernel.h"

#include <ATen/Parallel.h>

#include <vector>

namespace mars::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// The (N, C, pixels) view of a 2-D or 4-D activation.
struct Planes {
  int64_t images, channels, pixels;
};
Planes planesOf(const torch::Tensor &y) {
  return {y.size(0), y.size(1), y.dim() == 4 ? y.size(2) * y.size(3) : 1};
}

/// Σ a[i]·b[i] and Σ a[i] over [0, n) in double, four lanes added in a fixed
/// order (a product of two floats is exact in double).
struct PlaneSums {
  double product = 0, plain = 0;
};
PlaneSums planeSums(const float *a, const float *b, int64_t n) {
  double prod[4] = {0, 0, 0, 0};
  double sum[4] = {0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) {
      prod[j] += double(a[i + j]) * double(b[i + j]);
      sum[j] += double(a[i + j]);
    }
  for (; i < n; ++i) {
    prod[0] += double(a[i]) * double(b[i]);
    sum[0] += double(a[i]);
  }
  return {(prod[0] + prod[1]) + (prod[2] + prod[3]),
          (sum[0] + sum[1]) + (sum[2] + sum[3])};
}

/// Planes [first, last) of y / f[c] (+ b[c] when b is not null) into out.
void divideRange(const float *y, const float *f, const float *b, float *out,
                 const Planes &p, int64_t first, int64_t last) {
  for (int64_t plane = first; plane < last; ++plane) {
    const int64_t c = plane % p.channels;
    const float fc = f[c];
    const float *src = y + plane * p.pixels;
    float *dst = out + plane * p.pixels;
    if (b) {
      const float bc = b[c];
      for (int64_t i = 0; i < p.pixels; ++i)
        dst[i] = src[i] / fc + bc;
    } else {
      for (int64_t i = 0; i < p.pixels; ++i)
        dst[i] = src[i] / fc;
    }
  }
}

struct DivideChannelsFunction
    : public torch::autograd::Function<DivideChannelsFunction> {
  static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &y,
                               const torch::Tensor &factor,
                               const torch::Tensor &bias) {
    const torch::Tensor in = y.contiguous();
    const torch::Tensor f = factor.detach().contiguous();
    const bool hasBias = bias.numel() > 0; // see divideChannels
    const torch::Tensor b = hasBias ? bias.detach().contiguous() : bias;
    torch::Tensor out = torch::empty_like(in);
    const Planes p = planesOf(in);
    const float *py = in.data_ptr<float>();
    const float *pf = f.data_ptr<float>();
    const float *pb = hasBias ? b.data_ptr<float>() : nullptr;
    float *po = out.data_ptr<float>();
    const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 15) / p.pixels);
    at::parallel_for(
        0, p.images * p.channels, grain,
        [&](int64_t s, int64_t e) { divideRange(py, pf, pb, po, p, s, e); });
    ctx->save_for_backward({in, f});
    ctx->saved_data["has_bias"] = hasBias;
    return out;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &in = saved[0];
    const torch::Tensor &f = saved[1];
    const torch::Tensor g = grads[0].contiguous();
    const Planes p = planesOf(in);
    torch::Tensor gy = torch::empty_like(in);
    std::vector<double> sumGradTimesY(size_t(p.channels), 0.0);
    std::vector<double> sumGrad(size_t(p.channels), 0.0);
    const float *py = in.data_ptr<float>();
    const float *pf = f.data_ptr<float>();
    const float *pg = g.data_ptr<float>();
    float *pgy = gy.data_ptr<float>();
    // One task per channel: each channel's sums run over the images in order,
    // so their bits do not depend on the threads.
    at::parallel_for(0, p.channels, 1, [&](int64_t s, int64_t e) {
      for (int64_t c = s; c < e; ++c) {
        const float fc = pf[c];
        for (int64_t n = 0; n < p.images; ++n) {
          const int64_t at = (n * p.channels + c) * p.pixels;
          for (int64_t i = 0; i < p.pixels; ++i)
            pgy[at + i] = pg[at + i] / fc;
          const PlaneSums sums = planeSums(pg + at, py + at, p.pixels);
          sumGradTimesY[size_t(c)] += sums.product;
          sumGrad[size_t(c)] += sums.plain;
        }
      }
    });
    // d(y / f)/df = -y / f²; d(+ b)/db = 1.
    torch::Tensor gf = torch::empty_like(f);
    float *pgf = gf.data_ptr<float>();
    for (int64_t c = 0; c < p.channels; ++c)
      pgf[c] = float(-sumGradTimesY[size_t(c)] / (double(pf[c]) * pf[c]));
    torch::Tensor gb;
    if (ctx->saved_data["has_bias"].toBool()) {
      gb = torch::empty_like(f);
      float *pgb = gb.data_ptr<float>();
      for (int64_t c = 0; c < p.channels; ++c)
        pgb[c] = float(sumGrad[size_t(c)]);
    }
    return {gy, gf, gb};
  }
};

bool isChannelVector(const torch::Tensor &t, int64_t channels) {
  return t.scalar_type() == torch::kFloat && t.device().is_cpu() &&
         t.layout() == torch::kStrided && t.dim() == 1 && t.size(0) == channels;
}

} // namespace

bool divideChannelsApplies(const torch::Tensor &y, const torch::Tensor &factor,
                           const torch::Tensor &bias) {
  if (!y.defined() || y.scalar_type() != torch::kFloat ||
      !y.device().is_cpu() || y.layout() != torch::kStrided ||
      (y.dim() != 2 && y.dim() != 4) || y.numel() == 0)
    return false;
  return isChannelVector(factor, y.size(1)) &&
         (!bias.defined() || isChannelVector(bias, y.size(1)));
}

torch::Tensor divideChannels(const torch::Tensor &y,
                             const torch::Tensor &factor,
                             const torch::Tensor &bias) {
  TORCH_CHECK(divideChannelsApplies(y, factor, bias),
              "divideChannels: y float32 (N, C[, H, W]) on the CPU, factor "
              "and bias float32 with C elements");
  // Without a bias, an empty tensor stands in: autograd's Function does not
  // take an undefined tensor as an input.
  return DivideChannelsFunction::apply(
      y, factor, bias.defined() ? bias : torch::empty({0}, y.options()));
}

} // namespace mars::train
