#pragma once
/// \file
/// Builds zoo graphs layer by layer, PyTorch-style: each layer creates its
/// initialised weights and tracks the output shape so the next layer knows
/// its input size. The first impossible layer (a feature map smaller than
/// its kernel, an oversized weight) records an error; later calls do nothing
/// and finish() returns that error.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"
#include "mars/support/Random.h"

#include <cstdint>
#include <string>

namespace mars::zoo {

/// Options after defaults are applied and validated.
struct ResolvedOptions {
  int64_t batch, channels, height, width, classes;
  double widthMultiplier;
  uint64_t seed;
};

class GraphBuilder {
public:
  GraphBuilder(const std::string &modelName, const ResolvedOptions &options);

  /// The graph input "input": f32[batch, channels, height, width].
  ir::ValueId input();
  /// Conv without bias, `outChannels` square kernels, in `groups`
  /// convolution groups (groups = channels: depthwise).
  ir::ValueId conv(ir::ValueId x, const std::string &name, int64_t outChannels,
                   int64_t kernel, int64_t stride, int64_t pad,
                   int64_t groups = 1);
  /// BatchNormalization with seeded non-trivial statistics.
  ir::ValueId batchNorm(ir::ValueId x, const std::string &name);
  ir::ValueId relu(ir::ValueId x, const std::string &name);
  ir::ValueId maxPool(ir::ValueId x, const std::string &name, int64_t kernel,
                      int64_t stride);
  ir::ValueId globalAveragePool(ir::ValueId x, const std::string &name);
  /// Flatten with axis 1.
  ir::ValueId flatten(ir::ValueId x, const std::string &name);
  /// Gemm with transB=1: weight [out, in] and bias [out], like nn.Linear.
  /// The output value is named `valueName`, or `name` when empty.
  ir::ValueId linear(ir::ValueId x, const std::string &name,
                     int64_t outFeatures, const std::string &valueName = "");
  ir::ValueId add(ir::ValueId a, ir::ValueId b, const std::string &name);

  /// `channels` scaled by the width multiplier (at least 1).
  int64_t scaled(int64_t channels) const;
  /// Channel count (dim 1) of `x`.
  int64_t channelsOf(ir::ValueId x) const;

  /// Marks `output` as the graph output, then topologically sorts, infers
  /// shapes and verifies.
  Expected<ir::Graph> finish(ir::ValueId output);

private:
  const ir::Shape &shapeOf(ir::ValueId x) const;
  /// Adds an f32 value named `name` with `shape` as the output of a node.
  ir::ValueId addOutput(const std::string &name, ir::Shape shape);
  /// A constant of `shape` with elements uniform in [lo, hi].
  ir::ValueId uniformInit(const std::string &name, ir::Shape shape, double lo,
                          double hi);
  /// Output size of a window op along one dim, or records an error.
  int64_t windowOutput(const std::string &node, const char *op, int64_t size,
                       int64_t kernel, int64_t stride, int64_t pad);

  std::string modelName_;
  ResolvedOptions options_;
  ir::Graph graph_;
  Random random_;
  Status status_;
};

} // namespace mars::zoo
