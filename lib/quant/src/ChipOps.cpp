// The ops the chip runs; see ChipOps.h.
#include "mars/quant/ChipOps.h"

#include <set>
#include <string>
#include <vector>

namespace mars::quant {

namespace {

using ir::OpKind;

bool isFinalSoftmax(const ir::Graph &g, const ir::Node &n) {
  return n.op == OpKind::Softmax && g.outputs.size() == 1 &&
         n.outputs.size() == 1 && n.outputs[0] == g.outputs[0] &&
         g.users(n.inputs[0]).size() == 1;
}

/// Why the chip cannot run `op`, and what to do instead.
std::string advice(OpKind op) {
  const std::string runs =
      "the chip runs Conv, Gemm/MatMul, Relu/Clip, MaxPool, AveragePool/"
      "GlobalAveragePool, Add, Concat and Flatten/Reshape";
  switch (op) {
  case OpKind::Softmax:
    return "Softmax in the middle of the network cannot run on the chip (" +
           runs +
           "); only a final Softmax is dropped automatically, so "
           "move it to the end of the network or remove it before compiling";
  case OpKind::LeakyRelu:
    return "LeakyRelu has no integer form on the chip (" + runs +
           "); retrain with Relu";
  case OpKind::Pad:
    return "a separate Pad cannot run on the chip (" + runs +
           "); fold the padding into the next Conv's pads attribute "
           "(marsc compile's fold-pad pass folds zero-valued constant Pads "
           "of H and W into the Conv or pooling that reads them: a "
           "--pipeline should name it after fold-bn)";
  default:
    return std::string(ir::opName(op)) + " cannot run on the chip (" + runs +
           "); replace or remove it before compiling";
  }
}

} // namespace

/// Removes a Softmax/LogSoftmax whose output is the graph output.
bool dropFinalSoftmax(ir::Graph &g) {
  if (g.outputs.size() != 1)
    return false;
  ir::NodeId producer = g.value(g.outputs[0]).producer;
  if (producer == ir::kNoNode || g.node(producer).op != OpKind::Softmax)
    return false;
  ir::ValueId logits = g.node(producer).inputs[0];
  if (g.users(logits).size() != 1)
    return false;
  g.outputs[0] = logits;
  std::vector<bool> dead(g.numNodes(), false);
  dead[producer] = true;
  g.eraseNodes(dead);
  return true;
}

bool chipRunsOp(OpKind op) {
  static const std::set<OpKind> supported = {OpKind::QuantizeLinear,
                                             OpKind::DequantizeLinear,
                                             OpKind::Conv,
                                             OpKind::Gemm,
                                             OpKind::MatMul,
                                             OpKind::Relu,
                                             OpKind::Clip,
                                             OpKind::MaxPool,
                                             OpKind::AveragePool,
                                             OpKind::GlobalAveragePool,
                                             OpKind::Add,
                                             OpKind::Concat,
                                             OpKind::Flatten,
                                             OpKind::Reshape,
                                             OpKind::Identity,
                                             OpKind::Dropout,
                                             OpKind::Sub,
                                             OpKind::Mul,
                                             OpKind::BatchNormalization};
  return supported.count(op) != 0;
}

Status checkChipOps(const ir::Graph &g) {
  for (const ir::Node &n : g.nodes()) {
    if (n.op == OpKind::BatchNormalization &&
        n.attrs.getInt("training_mode", 0))
      return makeError(nodeContext(n),
                       ": training-mode "
                       "batch normalization normalises with the statistics of "
                       "each batch, which a chip running one image at a time "
                       "does not have; export the model after model.eval() so "
                       "that it uses the running statistics (which fold into "
                       "the preceding Conv)");
    if (!chipRunsOp(n.op) && !isFinalSoftmax(g, n))
      return makeError(nodeContext(n), ": ", advice(n.op));
  }
  return Status::success();
}

} // namespace mars::quant
