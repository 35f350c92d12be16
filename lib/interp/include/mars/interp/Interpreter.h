#pragma once
/// \file
/// The float32 reference interpreter: the yardstick for every pass and for the
/// simulator. Plain loops, ONNX semantics.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <memory>
#include <vector>

namespace mars::interp {

/// Runs `graph` on `inputs`, one tensor per graph input in order, and returns
/// one tensor per graph output. Inputs whose dtype or shape differ from the
/// graph input's type are an error naming the input. QuantizeLinear and
/// DequantizeLinear follow ONNX exactly (round half to even, saturation).
Expected<std::vector<ir::Tensor>> run(const ir::Graph &graph,
                                      const std::vector<ir::Tensor> &inputs);

class PackedWeights;

/// Runs one graph many times (calibration images): the same results as run(),
/// with each Conv's constant weights converted for the matrix product once
/// rather than on every run. The graph must outlive the session and not
/// change during it.
class Session {
public:
  explicit Session(const ir::Graph &graph);
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  Expected<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor> &inputs);

private:
  const ir::Graph &graph_;
  std::unique_ptr<PackedWeights> packedWeights_;
};

} // namespace mars::interp
