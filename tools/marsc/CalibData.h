#pragma once
/// \file
/// Calibration images for `marsc compile --calib` (post-training
/// quantization of float models).

#include "mars/passes/CompileState.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::cli {

/// Loads up to `limit` images of `shape` (C, H, W) from `spec`:
///  - a dataset (`fashion-mnist`, `fashion-mnist:DIR`, `mnist:DIR`,
///    `cifar10:DIR`, `cifar100:DIR`): the training split, pixels / 255, the
///    same floats `marsc run --data` feeds the program;
///  - `x.npy`: float32 (N, C, H, W) or (C, H, W);
///  - `random`: seeded uniform [0, 1) images (a smoke test: real ranges come
///    from real data).
Expected<passes::CalibrationData> loadCalibration(
    const std::string &spec, const std::vector<int64_t> &shape, int64_t limit,
    uint64_t seed);

} // namespace mars::cli
