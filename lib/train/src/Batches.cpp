#include "Batches.h"

#include <algorithm>
#include <random>

namespace mars::train {

namespace {
/// SplitMix64: a well-mixed seed from several integers.
uint64_t mix(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t z = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL) ^
               (c * 0xBF58476D1CE4E5B9ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
} // namespace

std::vector<int64_t> epochOrder(int64_t count, uint64_t seed,
                                int64_t epochIndex) {
  std::vector<int64_t> order(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    order[i] = i;
  // Fisher-Yates with our own draws: std::shuffle's use of the engine is
  // implementation-defined, and results must not depend on the library.
  std::mt19937_64 rng(mix(seed, uint64_t(epochIndex), 1));
  for (int64_t i = count - 1; i > 0; --i) {
    int64_t j = int64_t(rng() % uint64_t(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

std::pair<torch::Tensor, torch::Tensor>
makeBatch(const data::Dataset &d, const int64_t *indices, int64_t count,
          Augmentation augment, uint64_t seed, int64_t epochIndex,
          int64_t position) {
  const int c = d.channels, h = d.height, w = d.width;
  auto x = torch::empty({count, c, h, w});
  auto y = torch::empty({count}, torch::kLong);
  float *xp = x.data_ptr<float>();
  int64_t *yp = y.data_ptr<int64_t>();
  std::vector<float> image(static_cast<size_t>(d.imageSize()));
  for (int64_t b = 0; b < count; ++b) {
    const int64_t i = indices[b];
    yp[b] = d.labels[i];
    data::imageAsFloat(d, i, image.data());
    float *dst = xp + b * d.imageSize();
    if (augment == Augmentation::None) {
      std::copy(image.begin(), image.end(), dst);
      continue;
    }
    std::mt19937_64 rng(
        mix(seed, uint64_t(epochIndex), uint64_t(position + b) + 2));
    const int dy = int(rng() % 9) - 4, dx = int(rng() % 9) - 4;
    const bool flip = (rng() & 1) != 0;
    for (int ch = 0; ch < c; ++ch)
      for (int yy = 0; yy < h; ++yy)
        for (int xx = 0; xx < w; ++xx) {
          int sy = yy + dy, sx = (flip ? w - 1 - xx : xx) + dx;
          float v = (sy < 0 || sy >= h || sx < 0 || sx >= w)
                        ? 0.f
                        : image[(size_t(ch) * h + sy) * w + sx];
          dst[(size_t(ch) * h + yy) * w + xx] = v;
        }
  }
  return {x, y};
}

} // namespace mars::train
