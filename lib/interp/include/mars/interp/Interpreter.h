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

/// The reference interpreter's two precisions. Float32 computes what a
/// float32 ONNX runtime computes (each Conv/Gemm accumulated in double and
/// rounded once). Float64 runs the same model with every float32 tensor
/// (input, constant, intermediate value) held as a double: the value a QDQ
/// model hands each QuantizeLinear is then its exact real meaning to about
/// 2^-50 instead of float32's 2^-24, so a value near a rounding tie rounds
/// as the integer contract's exact arithmetic does (README, "The integer
/// contract"). Used by `marsc eval --precision f64` and `marsc verify`.
/// The float32 preprocessing before an input's QuantizeLinear stays float32
/// (see widenedToFloat64).
enum class Precision { Float32, Float64 };
const char *precisionName(Precision precision); ///< "f32" or "f64".

/// `graph` with its float32 values and constants widened to float64 (other
/// dtypes unchanged): run() on it computes in Precision::Float64 and
/// returns float64 tensors where the graph has float32 ones. The float32
/// preprocessing of an input before its QuantizeLinear stays float32, as
/// the integer contract defines the input's quantization in float32 (such
/// a graph input stays float32 too). Fails when one value is read both
/// there and after quantization.
Expected<ir::Graph> widenedToFloat64(const ir::Graph &graph);
/// A float32 tensor as float64, exactly; other dtypes unchanged.
ir::Tensor widenedToFloat64(const ir::Tensor &tensor);
/// `inputs` converted to the input dtypes of a widened `graph` (float32
/// tensors become float64 where the graph input is float64).
std::vector<ir::Tensor> inputsFor(const ir::Graph &graph,
                                  const std::vector<ir::Tensor> &inputs);
/// run() at `precision`: in Float64, on widenedToFloat64(graph).
Expected<std::vector<ir::Tensor>> run(const ir::Graph &graph,
                                      const std::vector<ir::Tensor> &inputs,
                                      Precision precision);

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
