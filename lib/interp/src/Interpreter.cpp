/// \file
/// The dispatcher: binds inputs and constants, runs the nodes in order with
/// the kernel for each op kind, and frees intermediate values after their
/// last use so that large networks run in bounded memory.

#include "mars/interp/Interpreter.h"

#include "Kernels.h"

#include "MatrixMultiply.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

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
runGraph(const ir::Graph &graph, const std::vector<ir::ValueId> &outputs,
         const std::vector<ir::Tensor> &inputs, PackedWeights *packedWeights) {
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
  for (ir::ValueId out : outputs)
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
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ir::ValueId out = outputs[i];
    if (!bound[out])
      return makeError("graph output '", graph.value(out).name,
                       "' is never computed");
    // What this run owns is moved out at its last mention; inputs,
    // constants and values asked for twice are copied.
    const bool lastMention =
        std::find(outputs.begin() + i + 1, outputs.end(), out) == outputs.end();
    results.push_back(owned[out] && lastMention ? std::move(*owned[out])
                                                : *bound[out]);
  }
  return results;
}

} // namespace

Expected<std::vector<ir::Tensor>> run(const ir::Graph &graph,
                                      const std::vector<ir::Tensor> &inputs) {
  return runGraph(graph, graph.outputs, inputs, nullptr);
}

Session::Session(const ir::Graph &graph, std::vector<ir::ValueId> outputs)
    : graph_(graph),
      outputs_(outputs.empty() ? graph.outputs : std::move(outputs)),
      packedWeights_(std::make_unique<PackedWeights>()) {}

Session::~Session() = default;

Expected<std::vector<ir::Tensor>>
Session::run(const std::vector<ir::Tensor> &inputs) {
  return runGraph(graph_, outputs_, inputs, packedWeights_.get());
}

Status Session::runEach(int64_t count, int threads, const InputMaker &inputsOf,
                        const OutputConsumer &consume) {
  std::mutex mutex; // guards next, failure and the calls of consume
  int64_t next = 0;
  Status failure = Status::success();
  auto work = [&](bool ownThreads) {
    std::optional<MatmulOnCallingThread> stayHere;
    if (ownThreads)
      stayHere.emplace();
    for (;;) {
      int64_t i;
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (next >= count || !failure)
          return;
        i = next++;
      }
      Expected<std::vector<ir::Tensor>> outs =
          runGraph(graph_, outputs_, inputsOf(i), packedWeights_.get());
      std::lock_guard<std::mutex> lock(mutex);
      if (!failure)
        return;
      failure = outs ? consume(i, *outs) : Status(outs.error());
    }
  };
  const int64_t workers = std::clamp<int64_t>(threads, 1, count);
  if (workers <= 1) {
    work(false);
    return failure;
  }
  std::vector<std::thread> pool;
  for (int64_t t = 0; t < workers; ++t)
    pool.emplace_back(work, true);
  for (std::thread &thread : pool)
    thread.join();
  return failure;
}

} // namespace mars::interp
