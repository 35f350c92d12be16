/// fold-bn: folds every inference-mode BatchNormalization that directly
/// follows a Conv or Gemm into that layer's weights and bias:
///   W'[oc] = W[oc] × γ/√(σ²+ε),  b' = (b − μ) × γ/√(σ²+ε) + β.
/// The folded layer takes over the BN's output value, so every consumer and
/// graph output stays connected. A BN elsewhere (after an Add, in training
/// mode, or behind a layer whose output has other users or is a graph
/// output) is left in place;
/// legalize then rejects it by name. QDQ models from `marsc train` have no
/// BN left, so this is a no-op on them.
///
/// It also folds a zero-valued constant Pad (as PyTorch exports for some
/// pooling and convolution paddings) into the single Conv or AveragePool
/// that reads it: into the Conv's pads, or into the pool's pads with
/// count_include_pad = 1 (the padded zeros count in the average, exactly as
/// they did). A Pad of all zeros is removed.
#include "mars/ir/ShapeInference.h"
#include "mars/passes/Passes.h"

#include <algorithm>
#include <cmath>

namespace mars::passes {

namespace {

using ir::OpKind;

/// The float values of a constant input, or nullopt.
std::optional<std::vector<float>> constantFloats(const ir::Graph &g,
                                                 ir::ValueId v) {
  if (v == ir::kNoValue || !g.value(v).constant ||
      g.value(v).constant->dtype() != ir::DType::Float32)
    return std::nullopt;
  return g.value(v).constant->toFloats();
}

/// Folds BN node `bnId` into its producer when possible.
bool foldOne(ir::Graph &g, ir::NodeId bnId) {
  const ir::Node bn = g.node(bnId);
  if (bn.attrs.getInt("training_mode", 0) != 0 || bn.outputs.size() != 1)
    return false;
  const ir::NodeId layerId = g.value(bn.inputs[0]).producer;
  if (layerId == ir::kNoNode)
    return false;
  const ir::Node &layer = g.node(layerId);
  const bool conv = layer.op == OpKind::Conv;
  const bool gemm = layer.op == OpKind::Gemm &&
                    layer.attrs.getInt("transA", 0) == 0 &&
                    layer.attrs.getFloat("alpha", 1.f) == 1.f &&
                    layer.attrs.getFloat("beta", 1.f) == 1.f;
  if ((!conv && !gemm) || g.users(bn.inputs[0]).size() != 1)
    return false;
  // The layer's own output disappears when it takes over the BN's; a graph
  // output must keep its value.
  if (std::find(g.outputs.begin(), g.outputs.end(), bn.inputs[0]) !=
      g.outputs.end())
    return false;
  auto w = constantFloats(g, layer.input(1));
  auto gamma = constantFloats(g, bn.input(1)), beta = constantFloats(g, bn.input(2));
  auto mean = constantFloats(g, bn.input(3)), var = constantFloats(g, bn.input(4));
  if (!w || !gamma || !beta || !mean || !var)
    return false;
  const ir::Shape wShape = g.value(layer.input(1)).type.shape;
  const bool transB = gemm && layer.attrs.getInt("transB", 0) != 0;
  const int64_t out = conv || transB ? wShape[0] : wShape[1];
  if (int64_t(gamma->size()) != out || int64_t(beta->size()) != out ||
      int64_t(mean->size()) != out || int64_t(var->size()) != out)
    return false;
  std::vector<float> bias(static_cast<size_t>(out), 0.f);
  if (layer.input(2) != ir::kNoValue) {
    auto b = constantFloats(g, layer.input(2));
    if (!b || int64_t(b->size()) != out)
      return false;
    bias = *b;
  }
  const double eps = bn.attrs.getFloat("epsilon", 1e-5f);
  const int64_t perChannel = int64_t(w->size()) / out;
  std::vector<float> folded = *w;
  for (int64_t c = 0; c < out; ++c) {
    const double k = double((*gamma)[c]) / std::sqrt(double((*var)[c]) + eps);
    if (conv || transB)
      for (int64_t i = 0; i < perChannel; ++i)
        folded[c * perChannel + i] = float(folded[c * perChannel + i] * k);
    else // Gemm weight [in, out]
      for (int64_t i = 0; i < perChannel; ++i)
        folded[i * out + c] = float(folded[i * out + c] * k);
    bias[c] = float((double(bias[c]) - (*mean)[c]) * k + (*beta)[c]);
  }
  const std::string base = layer.name.empty() ? "layer" : layer.name;
  ir::ValueId wv = g.addInitializer(g.uniqueValueName(base + ".weight_folded"),
                                    ir::Tensor::fromFloats(wShape, folded));
  ir::ValueId bv = g.addInitializer(g.uniqueValueName(base + ".bias_folded"),
                                    ir::Tensor::fromFloats({out}, bias));
  ir::Node &l = g.node(layerId);
  l.inputs.resize(3, ir::kNoValue);
  l.inputs[1] = wv;
  l.inputs[2] = bv;
  l.outputs[0] = bn.outputs[0];
  g.value(bn.outputs[0]).producer = layerId;
  std::vector<bool> dead(g.numNodes(), false);
  dead[bnId] = true;
  g.eraseNodes(dead);
  return true;
}

/// The H/W pads of a zero-valued constant Pad of a 4-D tensor as
/// (top, left, bottom, right), or nullopt when it pads N or C, is not
/// constant-mode with value 0, or its pads are not constant.
std::optional<std::vector<int64_t>> spatialPads(const ir::Graph &g,
                                                const ir::Node &pad) {
  if (pad.attrs.getString("mode", "constant") != "constant" ||
      pad.input(1) == ir::kNoValue || !g.value(pad.input(1)).constant)
    return std::nullopt;
  const ir::Tensor &pads = *g.value(pad.input(1)).constant;
  if (pads.numElements() != 8)
    return std::nullopt;
  if (pad.input(2) != ir::kNoValue) {
    const ir::Value &v = g.value(pad.input(2));
    if (!v.constant || v.constant->numElements() != 1 || v.constant->getAsDouble(0) != 0)
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
bool foldPad(ir::Graph &g, ir::NodeId padId) {
  const ir::Node pad = g.node(padId);
  auto pads = spatialPads(g, pad);
  if (!pads || pad.outputs.size() != 1)
    return false;
  const ir::ValueId out = pad.outputs[0];
  const auto users = g.users(out);
  for (ir::ValueId o : g.outputs)
    if (o == out)
      return false;
  if (users.size() != 1)
    return false;
  ir::Node &user = g.node(users[0]);
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
      user.attrs.set("count_include_pad", ir::Attribute(int64_t(1)));
    } else if (user.op != OpKind::Conv) {
      return false;
    }
    for (size_t i = 0; i < 4; ++i)
      own[i] += (*pads)[i];
    user.attrs.set("pads", ir::Attribute(own));
  }
  for (ir::ValueId &in : user.inputs)
    if (in == out)
      in = pad.inputs[0];
  std::vector<bool> dead(g.numNodes(), false);
  dead[padId] = true;
  g.eraseNodes(dead);
  return true;
}

} // namespace

Expected<bool> runFoldBn(CompileState &state, const CompileContext &) {
  ir::Graph &g = state.graph;
  int64_t folded = 0;
  for (bool again = true; again;) {
    again = false;
    for (ir::NodeId id = 0; id < ir::NodeId(g.numNodes()); ++id)
      if (g.node(id).op == OpKind::BatchNormalization && foldOne(g, id)) {
        ++folded;
        again = true;
        break;
      }
  }
  int64_t pads = 0;
  for (bool again = true; again;) {
    again = false;
    for (ir::NodeId id = 0; id < ir::NodeId(g.numNodes()); ++id)
      if (g.node(id).op == OpKind::Pad && foldPad(g, id)) {
        ++pads;
        again = true;
        break;
      }
  }
  if (folded == 0 && pads == 0)
    return false;
  g.removeDeadCode();
  MARS_TRY(g.topoSort());
  MARS_TRY(ir::inferShapes(g));
  state.count("fold-bn", "folded BatchNormalization nodes", folded);
  state.count("fold-bn", "Pad nodes folded into the next layer", pads);
  return true;
}

} // namespace mars::passes
