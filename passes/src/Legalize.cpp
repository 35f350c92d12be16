/// legalize: QDQ graph → integer layers (lib/quant's IntegerNet), the one
/// integer semantics of DESIGN.md §3.
///
/// Requires: a quantized (QDQ) graph — the output of `marsc train` or of the
/// quantize pass. A Softmax/LogSoftmax producing the graph output is dropped
/// (it does not change the predicted class; the program outputs logits). Any
/// op the chip cannot run is an error naming the node and what to do.
#include "mars/passes/Passes.h"
#include "mars/quant/Lower.h"

#include <set>

namespace mars::passes {

namespace {

using ir::OpKind;

bool isQuantized(const ir::Graph &g) {
  for (const ir::Node &n : g.nodes())
    if (n.op == OpKind::QuantizeLinear)
      return true;
  return false;
}

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

/// Why the chip cannot run `op`, and what to do instead.
std::string advice(OpKind op) {
  const std::string runs =
      "the chip runs Conv, Gemm/MatMul, Relu/Clip, MaxPool, AveragePool/"
      "GlobalAveragePool, Add, Concat and Flatten/Reshape";
  switch (op) {
  case OpKind::Softmax:
    return "Softmax in the middle of the network cannot run on the chip (" +
           runs + "); only a final Softmax is dropped automatically, so "
           "move it to the end of the network or remove it before compiling";
  case OpKind::LeakyRelu:
    return "LeakyRelu has no integer form on the chip (" + runs +
           "); retrain with Relu";
  case OpKind::Pad:
    return "a separate Pad cannot run on the chip (" + runs +
           "); fold the padding into the next Conv's pads attribute";
  default:
    return std::string(ir::opName(op)) + " cannot run on the chip (" + runs +
           "); replace or remove it before compiling";
  }
}

} // namespace

Expected<bool> runLegalize(CompileState &state, const CompileContext &context) {
  if (state.net)
    return false;
  ir::Graph &g = state.graph;
  if (!isQuantized(g))
    return makeError("the model is not quantized: compile it with --calib "
                     "(post-training quantization) or compress it with "
                     "`marsc train` first");
  if (dropFinalSoftmax(g))
    state.count("legalize", "final Softmax dropped (argmax unchanged)", 1);

  static const std::set<OpKind> supported = {
      OpKind::QuantizeLinear, OpKind::DequantizeLinear, OpKind::Conv,
      OpKind::Gemm, OpKind::MatMul, OpKind::Relu, OpKind::Clip,
      OpKind::MaxPool, OpKind::AveragePool, OpKind::GlobalAveragePool,
      OpKind::Add, OpKind::Concat, OpKind::Flatten, OpKind::Reshape,
      OpKind::Identity, OpKind::Dropout, OpKind::Sub, OpKind::Mul,
      OpKind::BatchNormalization};
  for (const ir::Node &n : g.nodes())
    if (!supported.count(n.op))
      return makeError("node '", n.name, "' (", ir::opName(n.op), "): ",
                       advice(n.op));

  quant::LowerOptions options;
  options.powerOfTwoScales = context.options.powerOfTwoScales;
  Expected<quant::IntegerNet> net = quant::lowerToInteger(g, options);
  if (!net)
    return net.error();
  state.net = net.take();
  state.fusedInto.assign(state.net->layers.size(), -1);
  int64_t convs = 0;
  for (const quant::IntLayer &l : state.net->layers)
    convs += l.op == quant::IntOp::Conv;
  state.count("legalize", "integer layers", int64_t(state.net->layers.size()));
  state.count("legalize", "Conv/Gemm layers", convs);
  return true;
}

} // namespace mars::passes
