/// fold-bn: folds every inference-mode BatchNormalization that directly
/// follows a Conv or Gemm into that layer's weights and bias:
///   W'[oc] = W[oc] × γ/√(σ²+ε),  b' = (b − μ) × γ/√(σ²+ε) + β.
/// The folded layer takes over the BN's output value, so every consumer and
/// graph output stays connected. A BN that no Conv produces the input of
/// (pre-activation BN → ReLU → Conv, after a Concat or an Add) has been
/// given a depthwise 1×1 Conv of its own by canonicalisation and folds into
/// that. A BN in training mode, or of a 2-D input behind no Gemm, is left
/// in place; lower-to-integer then rejects it by name. QDQ models from `marsc
/// train` have no BN left, so this is a no-op on them.
///
/// First it canonicalises the model the way `marsc train` does before
/// training (lib/ir Canonicalize.h), but for real padding, which fold-pad
/// folds next: constants reached through Identity, Pads that pad nothing
/// removed, MatMul by a constant as Gemm. Biases arriving through Identity
/// must be constants before BN folding can use them, and a Pad of nothing
/// between a Conv and its BN would make the BN fold into a Conv of its own.
#include "mars/ir/Canonicalize.h"
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
  auto gamma = constantFloats(g, bn.input(1)),
       beta = constantFloats(g, bn.input(2));
  auto mean = constantFloats(g, bn.input(3)),
       var = constantFloats(g, bn.input(4));
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

} // namespace

Expected<bool> runFoldBn(CompileState &state, const CompileContext &) {
  ir::Graph &g = state.graph;
  ir::CanonicalizeOptions options;
  options.pads = false; // fold-pad's
  auto canonical = ir::canonicalize(g, options);
  if (!canonical)
    return canonical.error();
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
  if (folded == 0 && canonical->total() == 0)
    return false;
  g.removeDeadCode();
  MARS_TRY(g.topoSort());
  MARS_TRY(ir::inferShapes(g));
  state.count("fold-bn", "folded BatchNormalization nodes", folded);
  if (canonical->noOpPads > 0)
    state.count("fold-bn", "Pad nodes that pad nothing removed",
                canonical->noOpPads);
  if (canonical->constants > 0)
    state.count("fold-bn", "constants read through Identity",
                canonical->constants);
  if (canonical->batchNorms > 0)
    state.count("fold-bn", "BatchNormalization given a depthwise 1x1 Conv",
                canonical->batchNorms);
  if (canonical->matMuls > 0)
    state.count("fold-bn", "MatMul by a constant as Gemm", canonical->matMuls);
  return true;
}

} // namespace mars::passes
