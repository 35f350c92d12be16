/// \file
/// The dispatcher: binds inputs and constants, runs the nodes in order with
/// the kernel for each op kind, and frees intermediate values after their
/// last use so that large networks run in bounded memory.

#include "mars/interp/Interpreter.h"

#include "Kernels.h"

#include <memory>

namespace mars::interp {

namespace {

Kernel kernelFor(ir::OpKind op) {
  using ir::OpKind;
  switch (op) {
  case OpKind::Conv: return runConv;
  case OpKind::BatchNormalization: return runBatchNormalization;
  case OpKind::Relu: return runRelu;
  case OpKind::LeakyRelu: return runLeakyRelu;
  case OpKind::Clip: return runClip;
  case OpKind::MaxPool: return runMaxPool;
  case OpKind::AveragePool: return runAveragePool;
  case OpKind::GlobalAveragePool: return runGlobalAveragePool;
  case OpKind::Gemm: return runGemm;
  case OpKind::MatMul: return runMatMul;
  case OpKind::Add: return runAdd;
  case OpKind::Sub: return runSub;
  case OpKind::Mul: return runMul;
  case OpKind::Flatten: return runCopy;
  case OpKind::Reshape: return runCopy;
  case OpKind::Identity: return runCopy;
  case OpKind::Dropout: return runDropout;
  case OpKind::Pad: return runPad;
  case OpKind::Concat: return runConcat;
  case OpKind::Softmax: return runSoftmax;
  case OpKind::QuantizeLinear: return runQuantizeLinear;
  case OpKind::DequantizeLinear: return runDequantizeLinear;
  }
  MARS_CHECK(false, "op kind without a kernel");
}

Expected<std::vector<ir::Tensor>>
runGraph(const ir::Graph &graph, const std::vector<ir::Tensor> &inputs,
         PackedWeights *packedWeights) {
  if (inputs.size() != graph.inputs.size())
    return makeError("graph '", graph.name, "' has ", graph.inputs.size(),
                     " inputs but ", inputs.size(), " tensors were given");

  // bound[v] points at the tensor holding value v: the caller's input, the
  // graph's constant, or a tensor this function owns in `owned`.
  const size_t numValues = graph.numValues();
  std::vector<const ir::Tensor *> bound(numValues, nullptr);
  std::vector<std::unique_ptr<ir::Tensor>> owned(numValues);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::Value &v = graph.value(graph.inputs[i]);
    if (inputs[i].dtype() != v.type.dtype || inputs[i].shape() != v.type.shape)
      return makeError("input '", v.name, "': expected ",
                       ir::dtypeName(v.type.dtype),
                       ir::shapeToString(v.type.shape), ", got ",
                       ir::dtypeName(inputs[i].dtype()),
                       ir::shapeToString(inputs[i].shape()));
    bound[graph.inputs[i]] = &inputs[i];
  }
  for (size_t id = 0; id < numValues; ++id)
    if (graph.values()[id].isConstant())
      bound[id] = &*graph.values()[id].constant;

  // lastUse[v]: the last node reading v; graph outputs are never freed.
  const auto &nodes = graph.nodes();
  std::vector<size_t> lastUse(numValues, 0);
  std::vector<bool> read(numValues, false), keep(numValues, false);
  for (size_t n = 0; n < nodes.size(); ++n)
    for (ir::ValueId in : nodes[n].inputs)
      if (in != ir::kNoValue) {
        lastUse[in] = n;
        read[in] = true;
      }
  for (ir::ValueId out : graph.outputs)
    keep[out] = true;

  for (size_t n = 0; n < nodes.size(); ++n) {
    const ir::Node &node = nodes[n];
    KernelArgs args{node, {}, {}, packedWeights, {}};
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const ir::ValueId in = node.inputs[i];
      args.constantInputs.push_back(in != ir::kNoValue &&
                                    graph.value(in).isConstant());
      if (in != ir::kNoValue && !bound[in])
        return makeError("input ", i, " ('", graph.value(in).name,
                         "') is not computed yet; is the graph sorted?")
            .withContext(nodeContext(node));
      args.inputs.push_back(in == ir::kNoValue ? nullptr : bound[in]);
    }
    for (ir::ValueId out : node.outputs) {
      if (out == ir::kNoValue) {
        args.outputs.push_back(nullptr);
        continue;
      }
      owned[out] = std::make_unique<ir::Tensor>(graph.value(out).type);
      args.outputs.push_back(owned[out].get());
    }
    Status status = kernelFor(node.op)(args);
    if (!status)
      return status.error().withContext(nodeContext(node));
    for (ir::ValueId out : node.outputs)
      if (out != ir::kNoValue)
        bound[out] = owned[out].get();
    // Free what no later node reads.
    for (ir::ValueId v : node.inputs)
      if (v != ir::kNoValue && owned[v] && lastUse[v] == n && !keep[v]) {
        owned[v].reset();
        bound[v] = nullptr;
      }
    for (ir::ValueId v : node.outputs)
      if (v != ir::kNoValue && !keep[v] && !read[v]) {
        owned[v].reset();
        bound[v] = nullptr;
      }
  }

  std::vector<ir::Tensor> results;
  for (ir::ValueId out : graph.outputs) {
    if (!bound[out])
      return makeError("graph output '", graph.value(out).name,
                       "' is never computed");
    results.push_back(*bound[out]);
  }
  return results;
}

} // namespace

Expected<std::vector<ir::Tensor>> run(const ir::Graph &graph,
                                      const std::vector<ir::Tensor> &inputs) {
  return runGraph(graph, inputs, nullptr);
}

Session::Session(const ir::Graph &graph)
    : graph_(graph), packedWeights_(std::make_unique<PackedWeights>()) {}

Session::~Session() = default;

Expected<std::vector<ir::Tensor>>
Session::run(const std::vector<ir::Tensor> &inputs) {
  return runGraph(graph_, inputs, packedWeights_.get());
}

} // namespace mars::interp
