#include "MaxPoolKernel.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mars::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// Planes per parallel task: a lenet5 plane is under a thousand floats.
constexpr int64_t kPlaneGrain = 16;

/// One window, as torch's cpu_max_pool walks it: the first input, then each
/// later one that is greater or NaN. `k` gets the winner's place (0..3).
inline float windowMax(float a, float b, float c, float d, uint8_t &k) {
  float m = a; // torch starts from −∞ and takes `a` unless a is −∞: same m
  k = 0;
  const float later[3] = {b, c, d};
  for (uint8_t j = 0; j < 3; ++j)
    if (later[j] > m || std::isnan(later[j])) {
      m = later[j];
      k = uint8_t(j + 1);
    }
  return m;
}

struct Shape {
  int64_t planes, height, width, outHeight, outWidth;
};

void forwardPlane(const float *x, float *out, uint8_t *winner, const Shape &s) {
  for (int64_t oh = 0; oh < s.outHeight; ++oh) {
    const float *r0 = x + 2 * oh * s.width, *r1 = r0 + s.width;
    float *o = out + oh * s.outWidth;
    uint8_t *w = winner + oh * s.outWidth;
    int64_t ow = 0;
#if defined(__SSE2__)
    // Four windows at a time: the even and odd columns of both rows.
    for (; ow + 4 <= s.outWidth; ow += 4) {
      const __m128 lo0 = _mm_loadu_ps(r0 + 2 * ow),
                   hi0 = _mm_loadu_ps(r0 + 2 * ow + 4);
      const __m128 lo1 = _mm_loadu_ps(r1 + 2 * ow),
                   hi1 = _mm_loadu_ps(r1 + 2 * ow + 4);
      const __m128 in[4] = {_mm_shuffle_ps(lo0, hi0, _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm_shuffle_ps(lo0, hi0, _MM_SHUFFLE(3, 1, 3, 1)),
                            _mm_shuffle_ps(lo1, hi1, _MM_SHUFFLE(2, 0, 2, 0)),
                            _mm_shuffle_ps(lo1, hi1, _MM_SHUFFLE(3, 1, 3, 1))};
      __m128 m = in[0];
      __m128i k = _mm_setzero_si128();
      for (int j = 1; j < 4; ++j) {
        const __m128 takes =
            _mm_or_ps(_mm_cmpgt_ps(in[j], m), _mm_cmpunord_ps(in[j], in[j]));
        m = _mm_or_ps(_mm_and_ps(takes, in[j]), _mm_andnot_ps(takes, m));
        const __m128i t = _mm_castps_si128(takes);
        k = _mm_or_si128(_mm_and_si128(t, _mm_set1_epi32(j)),
                         _mm_andnot_si128(t, k));
      }
      _mm_storeu_ps(o + ow, m);
      const __m128i bytes =
          _mm_packus_epi16(_mm_packs_epi32(k, k), _mm_setzero_si128());
      const int32_t four = _mm_cvtsi128_si32(bytes);
      std::memcpy(w + ow, &four, 4);
    }
#endif
    for (; ow < s.outWidth; ++ow)
      o[ow] = windowMax(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1],
                        w[ow]);
  }
}

void backwardPlane(const float *g, const uint8_t *winner, float *gx,
                   const Shape &s) {
  // Rows and columns no window covers (odd sizes) get no gradient.
  std::memset(gx, 0, sizeof(float) * size_t(s.height * s.width));
  for (int64_t oh = 0; oh < s.outHeight; ++oh) {
    float *r0 = gx + 2 * oh * s.width, *r1 = r0 + s.width;
    const float *go = g + oh * s.outWidth;
    const uint8_t *w = winner + oh * s.outWidth;
    int64_t ow = 0;
#if defined(__SSE2__)
    const __m128 zero = _mm_setzero_ps();
    for (; ow + 4 <= s.outWidth; ow += 4) {
      const __m128 grad = _mm_loadu_ps(go + ow);
      int32_t four;
      std::memcpy(&four, w + ow, 4);
      const __m128i k = _mm_unpacklo_epi16(
          _mm_unpacklo_epi8(_mm_cvtsi32_si128(four), _mm_setzero_si128()),
          _mm_setzero_si128());
      __m128 at[4];
      for (int j = 0; j < 4; ++j) {
        const __m128 hit =
            _mm_castsi128_ps(_mm_cmpeq_epi32(k, _mm_set1_epi32(j)));
        at[j] = _mm_add_ps(zero, _mm_and_ps(hit, grad)); // 0 + g, as torch
      }
      _mm_storeu_ps(r0 + 2 * ow, _mm_unpacklo_ps(at[0], at[1]));
      _mm_storeu_ps(r0 + 2 * ow + 4, _mm_unpackhi_ps(at[0], at[1]));
      _mm_storeu_ps(r1 + 2 * ow, _mm_unpacklo_ps(at[2], at[3]));
      _mm_storeu_ps(r1 + 2 * ow + 4, _mm_unpackhi_ps(at[2], at[3]));
    }
#endif
    for (; ow < s.outWidth; ++ow) {
      float *slot[4] = {r0 + 2 * ow, r0 + 2 * ow + 1, r1 + 2 * ow,
                        r1 + 2 * ow + 1};
      *slot[w[ow]] = 0.0f + go[ow];
    }
  }
}

Shape shapeOf(const torch::Tensor &x) {
  return {x.size(0) * x.size(1), x.size(2), x.size(3), x.size(2) / 2,
          x.size(3) / 2};
}

struct MaxPool2x2Function
    : public torch::autograd::Function<MaxPool2x2Function> {
  static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &x) {
    const torch::Tensor in = x.contiguous();
    const Shape s = shapeOf(in);
    torch::Tensor out = torch::empty(
        {in.size(0), in.size(1), s.outHeight, s.outWidth}, in.options());
    torch::Tensor winner = torch::empty(out.sizes(), torch::kUInt8);
    const float *px = in.data_ptr<float>();
    float *po = out.data_ptr<float>();
    uint8_t *pw = winner.data_ptr<uint8_t>();
    const int64_t inPlane = s.height * s.width,
                  outPlane = s.outHeight * s.outWidth;
    at::parallel_for(0, s.planes, kPlaneGrain, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p)
        forwardPlane(px + p * inPlane, po + p * outPlane, pw + p * outPlane, s);
    });
    ctx->save_for_backward({winner});
    ctx->saved_data["sizes"] = in.sizes().vec();
    return out;
  }

  static variable_list backward(AutogradContext *ctx, variable_list grads) {
    const torch::Tensor winner = ctx->get_saved_variables()[0];
    const std::vector<int64_t> sizes = ctx->saved_data["sizes"].toIntVector();
    const torch::Tensor g = grads[0].contiguous();
    torch::Tensor gx = torch::empty(sizes, g.options());
    const Shape s = shapeOf(gx);
    const float *pg = g.data_ptr<float>();
    const uint8_t *pw = winner.data_ptr<uint8_t>();
    float *pgx = gx.data_ptr<float>();
    const int64_t inPlane = s.height * s.width,
                  outPlane = s.outHeight * s.outWidth;
    at::parallel_for(0, s.planes, kPlaneGrain, [&](int64_t b, int64_t e) {
      for (int64_t p = b; p < e; ++p)
        backwardPlane(pg + p * outPlane, pw + p * outPlane, pgx + p * inPlane,
                      s);
    });
    return {gx};
  }
};

} // namespace

bool maxPool2x2Applies(const torch::Tensor &x,
                       const std::vector<int64_t> &kernel,
                       const std::vector<int64_t> &strides,
                       const std::vector<int64_t> &pads,
                       const std::vector<int64_t> &dilations, bool ceilMode) {
  const auto all = [](const std::vector<int64_t> &v, size_t n, int64_t value) {
    if (v.size() != n)
      return false;
    for (int64_t e : v)
      if (e != value)
        return false;
    return true;
  };
  if (!x.defined() || x.scalar_type() != torch::kFloat ||
      !x.device().is_cpu() || x.layout() != torch::kStrided || x.dim() != 4 ||
      x.size(2) < 2 || x.size(3) < 2 || x.numel() == 0)
    return false;
  if (!all(kernel, 2, 2) || !all(strides, 2, 2) || !all(pads, 4, 0) ||
      !all(dilations, 2, 1))
    return false;
  return !ceilMode || (x.size(2) % 2 == 0 && x.size(3) % 2 == 0);
}

torch::Tensor maxPool2x2(const torch::Tensor &x) {
  TORCH_CHECK(maxPool2x2Applies(x, {2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, false),
              "maxPool2x2: x float32 NCHW on the CPU, at least 2x2");
  return MaxPool2x2Function::apply(x);
}

} // namespace mars::train
