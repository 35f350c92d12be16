#pragma once
/// \file
/// Calibration images for post-training quantization (`marsc compile
/// --calib`): float pixels from a dataset, a `.npy` file or a seeded random
/// source, all as N×C×H×W float32 in [0, 1] like the runtime's inputs.

#include "mars/support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::data {

/// Images of one shape, pixel values as the model sees them.
struct CalibrationImages {
  std::string source;         ///< For messages ("fashion-mnist", "x.npy").
  std::vector<int64_t> shape; ///< C, H, W of one image.
  int64_t count = 0;
  std::vector<float> pixels; ///< count × C × H × W.
};

/// Loads up to `limit` images of `shape` (C, H, W) from `spec`:
///  - a dataset (`fashion-mnist`, `fashion-mnist:DIR`, `mnist:DIR`,
///    `cifar10:DIR`, `cifar100:DIR`): the training split, pixels / 255, the
///    same floats `marsc run --data` feeds the program;
///  - `x.npy`: float32 (N, C, H, W) or (C, H, W);
///  - `random`: min(limit, 16) (at least one) seeded uniform [0, 1) images
///    (a smoke test: real ranges come from real data).
/// A shape that differs from the source's is an error naming both.
Expected<CalibrationImages>
loadCalibrationImages(const std::string &spec,
                      const std::vector<int64_t> &shape, int64_t limit,
                      uint64_t seed);

} // namespace mars::data
