#pragma once
// Input normalisation (--normalize meanstd): per-channel mean and standard
// deviation of the training images, and the graph surgery that puts
// (x - mean) * (1/std) in front of the model as Sub and Mul nodes, so the
// compressed ONNX model carries it and the integer lowering folds it into
// input quantization.

#include "mars/data/Dataset.h"
#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <vector>

namespace mars::train {

struct ChannelStats {
  std::vector<float> mean, std;
};

/// Mean and standard deviation per channel of pixel / 255 over the first
/// `count` images.
ChannelStats channelStats(const data::Dataset &d, int64_t count);

/// The graph with Sub(mean) and Mul(1/std) between its input and every user
/// of the input.
Expected<ir::Graph> withInputNormalization(const ir::Graph &graph,
                                           const ChannelStats &stats);

} // namespace mars::train
