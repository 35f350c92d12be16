#pragma once
/// \file
/// The float32 reference interpreter: the yardstick for every pass and for the
/// simulator. Plain loops, ONNX semantics.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <functional>
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
  /// `outputs`: the values each run returns, in this order; empty means the
  /// graph's outputs (calibration reads inner values without copying the
  /// graph to change its outputs).
  explicit Session(const ir::Graph &graph,
                   std::vector<ir::ValueId> outputs = {});
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  Expected<std::vector<ir::Tensor>> run(const std::vector<ir::Tensor> &inputs);

  /// Runs `count` input sets, up to `threads` at once, each on one thread
  /// (the matrix products inside it stay on that thread; with one thread
  /// they use all cores as in run()). `inputsOf(i)` makes set i and may be
  /// called on several threads at once;
  /// `consume(i, outputs)` receives its outputs, one call at a time, in no
  /// fixed order. Each set's outputs are those of run(). The first error,
  /// from a run or from `consume`, stops the work and is returned.
  using InputMaker = std::function<std::vector<ir::Tensor>(int64_t)>;
  using OutputConsumer =
      std::function<Status(int64_t, std::vector<ir::Tensor> &)>;
  Status runEach(int64_t count, int threads, const InputMaker &inputsOf,
                 const OutputConsumer &consume);

private:
  const ir::Graph &graph_;
  std::vector<ir::ValueId> outputs_;
  std::unique_ptr<PackedWeights> packedWeights_;
};

} // namespace mars::interp
