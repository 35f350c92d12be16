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
/// (counted over all stages) for `seed`.
std::vector<int64_t> epochOrder(int64_t count, uint64_t seed,
                                int64_t epochIndex);

/// Images `indices` as a float batch (pixel / 255) and their labels. With
/// `augment`, each image gets a random 4-pixel-padded crop and horizontal
/// flip from a generator seeded by (seed, epochIndex, position).
std::pair<torch::Tensor, torch::Tensor>
makeBatch(const data::Dataset &d, const int64_t *indices, int64_t count,
          bool augment, uint64_t seed, int64_t epochIndex, int64_t position);

} // namespace mars::train
