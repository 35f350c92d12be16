#pragma once
// Turning dataset images into LibTorch batches: per-epoch shuffling and
// CIFAR-style augmentation, all driven by explicit seeds so that a resumed
// run sees exactly the data an uninterrupted one would.

#include "mars/data/Dataset.h"

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace mars::train {

/// The order of the first `count` training images in epoch `epochIndex`
/// (Trainer's dataEpochOf: the stage and the epoch within it) for `seed`.
std::vector<int64_t> epochOrder(int64_t count, uint64_t seed,
                                int64_t epochIndex);

/// What makeBatch does to each image.
enum class Augmentation {
  None,        ///< The image as it is (seed, epoch and position unused).
  CropAndFlip, ///< A random 4-pixel-padded crop and horizontal flip.
};

/// Images `indices` as a float batch (pixel / 255) and their labels. With
/// `CropAndFlip`, each image's crop and flip come from a generator seeded by
/// (seed, epochIndex, position).
std::pair<torch::Tensor, torch::Tensor>
makeBatch(const data::Dataset &d, const int64_t *indices, int64_t count,
          Augmentation augment, uint64_t seed, int64_t epochIndex,
          int64_t position);

} // namespace mars::train
