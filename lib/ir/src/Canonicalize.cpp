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

/// Folds Pad node `padId` into its only user when possible.
bool foldPad(Graph &g, NodeId padId) {
  const Node pad = g.node(padId);
  auto pads = spatialPads(g, pad);
  if (!pads || pad.outputs.size() != 1)
    return false;
  const ValueId out = pad.outputs[0];
  const auto users = g.users(out);
  if (isGraphOutput(g, out) || users.size() != 1)
    return false;
  Node &user = g.node(users[0]);
  const bool zero = std::all_of(pads->begin(), pads->end(),
                                [](int64_t p) { return p == 0; });
  if (!zero) {
    if (user.input(0) != out ||
        user.attrs.getString("auto_pad", "NOTSET") != "NOTSET")
      return false;
    std::vector<int64_t> own = user.attrs.getInts("pads", {0, 0, 0, 0});
    if (own.size() != 4)
      return false;
    if (user.op == OpKind::AveragePool) {
      // Only a pool without pads of its own: then every padded position
      // the window covers is a zero of the Pad, counted in the average.
      if (std::any_of(own.begin(), own.end(), [](int64_t p) { return p != 0; }))
        return false;
      user.attrs.set("count_include_pad", Attribute(int64_t(1)));
    } else if (user.op != OpKind::Conv) {
      return false;
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
  return true;
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

/// Applies `rule` to nodes of kind `op` until it no longer fires.
template <typename Rule>
int64_t rewriteAll(Graph &g, OpKind op, Rule rule) {
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

Expected<CanonicalizeCounts> canonicalize(Graph &g) {
  CanonicalizeCounts counts;
  counts.constants = rewriteAll(g, OpKind::Identity, foldConstantIdentity);
  counts.pads = rewriteAll(g, OpKind::Pad, foldPad);
  counts.matMuls = rewriteAll(g, OpKind::MatMul, matMulToGemm);
  if (counts.total() == 0)
    return counts;
  g.removeDeadCode();
  MARS_TRY(g.topoSort());
  MARS_TRY(inferShapes(g));
  return counts;
}

} // namespace mars::ir
