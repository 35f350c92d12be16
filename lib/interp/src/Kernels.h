#pragma once
/// \file
/// The interface between the dispatcher (Interpreter.cpp) and the kernels,
/// one file per op family. Private to lib/interp.

#include "MatrixMultiply.h"

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <map>
#include <mutex>
#include <utility>
#include <vector>

namespace mars::interp {

/// Conv weights packed for the matrix product, kept by an interp::Session
/// across its runs. Keyed by the weight tensor, a constant of the session's
/// graph, and the group. Runs on several threads share it: an entry, once
/// made, never moves or changes (std::map), so only the lookup is locked.
class PackedWeights {
public:
  const PackedMatrixA &get(const ir::Tensor *weights, int64_t group, int64_t m,
                           int64_t k, const float *a) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, added] = packed_.try_emplace({weights, group});
    if (added)
      it->second = packMatrixA(m, k, a, k);
    return it->second;
  }

private:
  std::mutex mutex_;
  std::map<std::pair<const ir::Tensor *, int64_t>, PackedMatrixA> packed_;
};

/// What a kernel sees of one node. Output tensors are allocated by the
/// dispatcher with the types the graph declares (shape inference is the one
/// authority on shapes); kernels check that their own arithmetic agrees.
struct KernelArgs {
  const ir::Node &node;
  /// One entry per node input; nullptr for an absent optional input.
  std::vector<const ir::Tensor *> inputs;
  /// One entry per node output; nullptr for an absent optional output.
  std::vector<ir::Tensor *> outputs;
  /// A session's cache, and which inputs are graph constants (only those
  /// may be cached); null and empty for a single run.
  PackedWeights *packedWeights = nullptr;
  std::vector<bool> constantInputs;

  bool isConstantInput(size_t i) const {
    return i < constantInputs.size() && constantInputs[i];
  }

  bool hasInput(size_t i) const {
    return i < inputs.size() && inputs[i] != nullptr;
  }
  const ir::Tensor &input(size_t i) const {
    MARS_CHECK(hasInput(i), "required input missing");
    return *inputs[i];
  }
  bool hasOutput(size_t i) const {
    return i < outputs.size() && outputs[i] != nullptr;
  }
  ir::Tensor &output(size_t i) const {
    MARS_CHECK(hasOutput(i), "required output missing");
    return *outputs[i];
  }
  const ir::AttributeMap &attrs() const { return node.attrs; }
};

/// Every kernel returns an Error (without node context; the dispatcher adds
/// it) for what a user can cause, such as an unsupported dtype.
using Kernel = Status (*)(const KernelArgs &);

// Conv.cpp
Status runConv(const KernelArgs &args);
// Pooling.cpp
Status runMaxPool(const KernelArgs &args);
Status runAveragePool(const KernelArgs &args);
Status runGlobalAveragePool(const KernelArgs &args);
// Gemm.cpp
Status runGemm(const KernelArgs &args);
Status runMatMul(const KernelArgs &args);
// Elementwise.cpp
Status runAdd(const KernelArgs &args);
Status runSub(const KernelArgs &args);
Status runMul(const KernelArgs &args);
Status runRelu(const KernelArgs &args);
Status runLeakyRelu(const KernelArgs &args);
Status runClip(const KernelArgs &args);
// Normalization.cpp
Status runBatchNormalization(const KernelArgs &args);
// ShapeOps.cpp
Status runCopy(const KernelArgs &args); // Flatten, Reshape, Identity
Status runDropout(const KernelArgs &args);
Status runPad(const KernelArgs &args);
Status runConcat(const KernelArgs &args);
// Softmax.cpp
Status runSoftmax(const KernelArgs &args);
// Quantize.cpp
Status runQuantizeLinear(const KernelArgs &args);
Status runDequantizeLinear(const KernelArgs &args);

} // namespace mars::interp
