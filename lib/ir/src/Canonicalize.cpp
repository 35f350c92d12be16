#include "mars/ir/Canonicalize.h"

#include "mars/ir/ShapeInference.h"

#include <algorithm>
#include <optional>

namespace mars::ir {

namespace {

bool isGraphOutput(const Graph &g, ValueId v) {
  return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
}

/// The H/W pads of a zero-valued constant Pad of a 4-D tensor as
/// (top, left, bottom, right), or nullopt when it pads N or C, is not
/// constant-mode with value 0, or its pads are not constant.
std::optional<std::vector<int64_t>> spatialPads(const Graph &g,
                                                const Node &pad) {
  if (pad.attrs.getString("mode", "constant") != "constant" ||
      pad.input(1) == kNoValue || !g.value(pad.input(1)).constant)
    return std::nullopt;
  const Tensor &pads = *g.value(pad.input(1)).constant;
  if (pads.numElements() != 8)
    return std::nullopt;
  if (pad.input(2) != kNoValue) {
    const Value &v = g.value(pad.input(2));
    if (!v.constant || v.constant->numElements() != 1 ||
        v.constant->getAsDouble(0) != 0)
      return std::nullopt;
  }
  // ONNX order: begins of N, C, H, W, then ends of N, C, H, W.
  if (pads.getAsInt64(0) || pads.getAsInt64(1) || pads.getAsInt64(4) ||
      pads.getAsInt64(5))
    return std::nullopt;
  std::vector<int64_t> out = {pads.getAsInt64(2), pads.getAsInt64(3),
                              pads.getAsInt64(6), pads.getAsInt64(7)};
  for (int64_t p : out)
    if (p < 0)
      return std::nullopt;
  return out;
}

/// What foldPad did.
enum class PadFold { None, Removed, Folded };

/// Folds Pad node `padId` into its only user when possible: removes it if it
/// pads nothing (`options.noOpPads`), else folds it into the user's pads
/// (`options.pads`).
PadFold foldPad(Graph &g, NodeId padId, const CanonicalizeOptions &options) {
  const Node pad = g.node(padId);
  auto pads = spatialPads(g, pad);
  if (!pads || pad.outputs.size() != 1)
    return PadFold::None;
  const ValueId out = pad.outputs[0];
  const auto users = g.users(out);
  if (isGraphOutput(g, out) || users.size() != 1)
    return PadFold::None;
  Node &user = g.node(users[0]);
  const bool zero =
      std::all_of(pads->begin(), pads->end(), [](int64_t p) { return p == 0; });
  if (zero ? !options.noOpPads : !options.pads)
    return PadFold::None;
  if (!zero) {
    if (user.input(0) != out ||
        user.attrs.getString("auto_pad", "NOTSET") != "NOTSET")
      return PadFold::None;
    std::vector<int64_t> own = user.attrs.getInts("pads", {0, 0, 0, 0});
    if (own.size() != 4)
      return PadFold::None;
    if (user.op == OpKind::AveragePool) {
      // Only a pool without pads of its own: then every padded position
      // the window covers is a zero of the Pad, counted in the average.
      if (std::any_of(own.begin(), own.end(), [](int64_t p) { return p != 0; }))
        return PadFold::None;
      user.attrs.set("count_include_pad", Attribute(int64_t(1)));
    } else if (user.op != OpKind::Conv) {
      return PadFold::None;
    }
    for (size_t i = 0; i < 4; ++i)
      own[i] += (*pads)[i];
    user.attrs.set("pads", Attribute(own));
  }
  for (ValueId &in : user.inputs)
    if (in == out)
      in = pad.inputs[0];
  std::vector<bool> dead(g.numNodes(), false);
  dead[padId] = true;
  g.eraseNodes(dead);
  return zero ? PadFold::Removed : PadFold::Folded;
}

/// Makes the readers of an Identity of a constant read the constant.
bool foldConstantIdentity(Graph &g, NodeId id) {
  const Node n = g.node(id);
  if (n.inputs.empty() || !g.value(n.inputs[0]).constant ||
      isGraphOutput(g, n.outputs[0]))
    return false;
  for (NodeId u : g.users(n.outputs[0]))
    for (ValueId &in : g.node(u).inputs)
      if (in == n.outputs[0])
        in = n.inputs[0];
  std::vector<bool> dead(g.numNodes(), false);
  dead[id] = true;
  g.eraseNodes(dead);
  return true;
}

/// MatMul(x [N, K], W [K, M] constant) is Gemm(x, W) with transB = 0.
bool matMulToGemm(Graph &g, NodeId id) {
  Node &n = g.node(id);
  const Value &w = g.value(n.inputs[1]);
  if (!w.constant || w.constant->dtype() != DType::Float32 ||
      w.constant->shape().size() != 2 ||
      g.value(n.inputs[0]).type.shape.size() != 2)
    return false;
  n.op = OpKind::Gemm;
  return true;
}

/// A BatchNormalization that no Conv produces the input of alone (the
/// pre-activation order BN → ReLU → Conv, a BN after a Concat or an Add)
/// gets a depthwise 1×1 Conv with unit weights and zero bias in front of
/// it. The BN then folds into that Conv like any other (fold-bn in the
/// compiler, QAT folding in the trainer): one weight and one bias per
/// channel, the per-channel scale and offset the BN is. A per-channel
/// weight is represented exactly by its own per-channel scale, so the chip
/// computes the affine without weight rounding.
bool giveBatchNormAConv(Graph &g, NodeId id) {
  const Node bn = g.node(id);
  if (bn.attrs.getInt("training_mode", 0) != 0 || bn.outputs.size() != 1 ||
      bn.inputs.size() != 5)
    return false;
  const ValueId x = bn.inputs[0];
  const Value &xv = g.value(x);
  if (xv.constant || xv.type.shape.size() != 4 || xv.type.shape[1] <= 0)
    return false;
  for (size_t i = 1; i < 5; ++i)
    if (!g.value(bn.inputs[i]).constant)
      return false;
  if (xv.producer != kNoNode && g.node(xv.producer).op == OpKind::Conv &&
      g.users(x).size() == 1 && !isGraphOutput(g, x))
    return false; // fold-bn folds it into that Conv
  const int64_t c = xv.type.shape[1];
  const TensorType type = xv.type;
  const std::string base = bn.name.empty() ? "batchnorm" : bn.name;
  const ValueId w = g.addInitializer(
      g.uniqueValueName(base + ".affine_weight"),
      Tensor::fromFloats({c, 1, 1, 1}, std::vector<float>(size_t(c), 1.f)));
  const ValueId b = g.addInitializer(
      g.uniqueValueName(base + ".affine_bias"),
      Tensor::fromFloats({c}, std::vector<float>(size_t(c), 0.f)));
  const ValueId y = g.addValue(g.uniqueValueName(base + ".affine_input"), type);
  AttributeMap attrs;
  attrs.set("group", Attribute(c));
  attrs.set("kernel_shape", Attribute(std::vector<int64_t>{1, 1}));
  g.addNode(OpKind::Conv, base + ".affine", {x, w, b}, {y}, std::move(attrs));
  g.node(id).inputs[0] = y;
  return true;
}

/// Applies `rule` to nodes of kind `op` until it no longer fires.
template <typename Rule> int64_t rewriteAll(Graph &g, OpKind op, Rule rule) {
  int64_t count = 0;
  for (bool again = true; again;) {
    again = false;
    for (NodeId id = 0; id < NodeId(g.numNodes()); ++id)
      if (g.node(id).op == op && rule(g, id)) {
        ++count;
        again = true;
        break;
      }
  }
  return count;
}

} // namespace

Expected<CanonicalizeCounts> canonicalize(Graph &g,
                                          const CanonicalizeOptions &options) {
  CanonicalizeCounts counts;
  if (options.constants)
    counts.constants = rewriteAll(g, OpKind::Identity, foldConstantIdentity);
  // Both kinds of Pad in one sweep: with every option on, the rewrites and
  // their order are those of canonicalize before it had options.
  if (options.noOpPads || options.pads)
    rewriteAll(g, OpKind::Pad, [&](Graph &graph, NodeId id) {
      const PadFold fold = foldPad(graph, id, options);
      counts.noOpPads += fold == PadFold::Removed;
      counts.pads += fold == PadFold::Folded;
      return fold != PadFold::None;
    });
  if (options.matMuls)
    counts.matMuls = rewriteAll(g, OpKind::MatMul, matMulToGemm);
  if (options.batchNorms)
    counts.batchNorms =
        rewriteAll(g, OpKind::BatchNormalization, giveBatchNormAConv);
  if (counts.total() == 0)
    return counts;
  g.removeDeadCode();
  MARS_TRY(g.topoSort());
  MARS_TRY(inferShapes(g));
  return counts;
}

} // namespace mars::ir
