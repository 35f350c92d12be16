#pragma once
/// \file
/// The zoo's model builders, one per architecture family. Options arrive
/// resolved (defaults applied, ranges checked); spatial sizes too small for a
/// model's pools are reported by GraphBuilder.

#include "GraphBuilder.h"

namespace mars::zoo {

/// LeNet-5 with BatchNormalization after each conv.
Expected<ir::Graph> buildLeNet5(const ResolvedOptions &options);
/// VGG-small (128,128,M,256,256,M,512,512,M, linear).
Expected<ir::Graph> buildVggSmall(const ResolvedOptions &options);
/// VGG-16 for CIFAR (13 convs, 5 pools, one linear layer).
Expected<ir::Graph> buildVgg16(const ResolvedOptions &options);
/// CIFAR ResNet-18 (3x3 stem, no max pool, 4 stages of 2 BasicBlocks).
Expected<ir::Graph> buildResNet18(const ResolvedOptions &options);
/// CIFAR ResNet-20 (3 stages of 3 BasicBlocks, 1x1-conv shortcuts).
Expected<ir::Graph> buildResNet20(const ResolvedOptions &options);
/// A MobileNet-style net for MNIST-sized inputs: a depthwise and a grouped
/// convolution between pointwise ones, global average pool, one linear layer.
Expected<ir::Graph> buildMobileNetTiny(const ResolvedOptions &options);

} // namespace mars::zoo
