#include "QuantizePlan.h"

#include "mars/quant/Policy.h"

#include <algorithm>
#include <map>

namespace mars::passes::ptq {

namespace {

using ir::OpKind;

bool passThrough(OpKind op) {
  return op == OpKind::MaxPool || op == OpKind::Flatten ||
         op == OpKind::Reshape || op == OpKind::Identity ||
         op == OpKind::Dropout;
}

ir::NodeId singleUser(const ir::Graph &g, ir::ValueId v) {
  std::vector<ir::NodeId> users = g.users(v);
  bool isOutput = std::find(g.outputs.begin(), g.outputs.end(), v) !=
                  g.outputs.end();
  return users.size() == 1 && !isOutput ? users[0] : ir::kNoNode;
}

/// A Clip whose lower bound is ≥ 0 acts as a ReLU.
bool clipsAtZero(const ir::Graph &g, const ir::Node &n) {
  if (n.op == OpKind::Relu)
    return true;
  if (n.op != OpKind::Clip)
    return false;
  ir::ValueId lo = n.input(1);
  if (lo != ir::kNoValue && g.value(lo).constant)
    return g.value(lo).constant->getAsDouble(0) >= 0;
  return n.attrs.getFloat("min", -1.f) >= 0;
}

/// True when `v` reaches a graph output through pass-through ops and a
/// final Softmax only.
bool reachesOutput(const ir::Graph &g, ir::ValueId v) {
  for (int hops = 0; hops < 16; ++hops) {
    if (std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end())
      return true;
    ir::NodeId u = singleUser(g, v);
    if (u == ir::kNoNode)
      return false;
    const ir::Node &n = g.node(u);
    if (!passThrough(n.op) && n.op != OpKind::Softmax)
      return false;
    v = n.outputs[0];
  }
  return false;
}

} // namespace

int Plan::root(int p) const {
  for (int hops = 0; hops < 1000; ++hops) {
    if (points[p].tiedTo >= 0)
      p = points[p].tiedTo;
    else if (unionOf[p] != p)
      p = unionOf[p];
    else
      return p;
  }
  return p;
}

Expected<Plan> planPoints(const ir::Graph &g, int weightBits,
                          int activationBits, int edgeBits) {
  Plan plan;
  std::map<ir::ValueId, int> pointOf;
  auto add = [&](ir::ValueId v, int bits, bool isSigned, int tiedTo) {
    Point p;
    p.value = v;
    p.bits = bits;
    p.isSigned = isSigned;
    p.tiedTo = tiedTo;
    p.clip = tiedTo < 0;
    pointOf[v] = int(plan.points.size());
    plan.points.push_back(p);
    plan.unionOf.push_back(int(plan.unionOf.size()));
  };
  // The source point of `v` through pass-through ops and Concat.
  auto source = [&](ir::ValueId v) -> int {
    for (int hops = 0; hops < 256; ++hops) {
      auto it = pointOf.find(v);
      if (it != pointOf.end())
        return it->second;
      ir::NodeId p = g.value(v).producer;
      if (p == ir::kNoNode)
        return -1;
      const ir::Node &n = g.node(p);
      if (!passThrough(n.op) && n.op != OpKind::Concat)
        return -1;
      v = n.inputs[0];
    }
    return -1;
  };
  if (g.inputs.size() != 1)
    return makeError("post-training quantization needs a model with one "
                     "input, this one has ", g.inputs.size());

  // The input point: after Sub -> Mul normalisation when present.
  ir::ValueId input = g.inputs[0];
  bool inputSigned = false;
  ir::NodeId sub = singleUser(g, input);
  if (sub != ir::kNoNode && g.node(sub).op == OpKind::Sub) {
    ir::NodeId mul = singleUser(g, g.node(sub).outputs[0]);
    if (mul != ir::kNoNode && g.node(mul).op == OpKind::Mul) {
      input = g.node(mul).outputs[0];
      inputSigned = true;
    }
  }
  add(input, edgeBits, inputSigned, -1);
  plan.points[0].clip = false;

  std::vector<ir::NodeId> weighted;
  for (ir::NodeId id = 0; id < ir::NodeId(g.numNodes()); ++id)
    if (g.node(id).op == OpKind::Conv || g.node(id).op == OpKind::Gemm ||
        g.node(id).op == OpKind::MatMul)
      weighted.push_back(id);
  if (weighted.empty())
    return makeError("the model has no Conv or Gemm layer");

  for (ir::NodeId id = 0; id < ir::NodeId(g.numNodes()); ++id) {
    const ir::Node &n = g.node(id);
    const bool isWeighted = n.op == OpKind::Conv || n.op == OpKind::Gemm ||
                            n.op == OpKind::MatMul;
    if (n.op == OpKind::MatMul)
      return makeError("node '", n.name, "' (MatMul): post-training "
                       "quantization supports Conv and Gemm layers; export "
                       "fully-connected layers as Gemm (torch.nn.Linear)");
    if (isWeighted) {
      Layer l;
      l.node = id;
      l.bits = (id == weighted.front() || id == weighted.back()) ? edgeBits
                                                                  : weightBits;
      l.inputPoint = source(n.inputs[0]);
      if (l.inputPoint < 0)
        return makeError("node '", n.name, "' (", ir::opName(n.op),
                         "): its input is not a quantizable activation");
      plan.layers.push_back(l);
    }
    if (isWeighted || n.op == OpKind::Add) {
      ir::ValueId out = n.outputs[0];
      bool relu = false;
      ir::NodeId user = singleUser(g, out);
      if (user != ir::kNoNode && clipsAtZero(g, g.node(user))) {
        relu = true;
        out = g.node(user).outputs[0];
      }
      if (isWeighted && id == weighted.back() && !relu && reachesOutput(g, out))
        continue; // the logits stay int32 accumulators
      add(out, activationBits, !relu, -1);
    }
    if (n.op == OpKind::AveragePool || n.op == OpKind::GlobalAveragePool) {
      int src = source(n.inputs[0]);
      if (src < 0)
        return makeError("node '", n.name, "' (", ir::opName(n.op),
                         "): its input is not a quantized activation");
      // Tied to its input's scale, unless it joins a Concat: a calibrated
      // scale of its own, in the Concat's union, keeps window averages off
      // exact rounding ties there (lib/quant Policy.h); the trainer agrees.
      const std::vector<ir::NodeId> users = g.users(n.outputs[0]);
      const bool joinsConcat =
          std::any_of(users.begin(), users.end(), [&](ir::NodeId u) {
            return g.node(u).op == OpKind::Concat;
          });
      add(n.outputs[0], plan.points[src].bits, plan.points[src].isSigned,
          joinsConcat ? -1 : src);
    }
    if (n.op == OpKind::Concat) {
      std::vector<int> parts;
      for (ir::ValueId v : n.inputs) {
        int s = source(v);
        if (s < 0)
          return makeError("node '", n.name, "' (Concat): input '",
                           g.value(v).name, "' is not a quantized activation");
        parts.push_back(plan.root(s));
        plan.points[s].concatInput = true;
      }
      for (int p : parts)
        plan.unionOf[p] = parts[0];
    }
  }

  // Edge bits for activations feeding the last layer.
  for (int p = plan.layers.back().inputPoint; p >= 0;) {
    plan.points[p].bits = edgeBits;
    int next = plan.points[p].tiedTo >= 0 ? plan.points[p].tiedTo
               : plan.unionOf[p] != p     ? plan.unionOf[p]
                                          : -1;
    p = next;
  }
  // A union shares bits and signedness: the widest and signed if any is.
  for (size_t p = 0; p < plan.points.size(); ++p) {
    Point &r = plan.points[plan.root(int(p))];
    r.bits = std::max(r.bits, plan.points[p].bits);
    r.isSigned = r.isSigned || plan.points[p].isSigned;
  }
  for (size_t p = 0; p < plan.points.size(); ++p) {
    const Point &r = plan.points[plan.root(int(p))];
    plan.points[p].bits = r.bits;
    plan.points[p].isSigned = r.isSigned;
  }
  return plan;
}

void assignScales(Plan &plan, bool powerOfTwo) {
  // Roots take the largest range of everything that shares their scale.
  std::vector<double> range(plan.points.size(), 0.0);
  for (size_t p = 0; p < plan.points.size(); ++p) {
    int r = plan.root(int(p));
    range[r] = std::max(range[r], plan.points[p].range);
  }
  for (size_t p = 0; p < plan.points.size(); ++p) {
    const int r = plan.root(int(p));
    const Point &root = plan.points[r];
    const double levels = root.isSigned ? double((1 << (root.bits - 1)) - 1)
                                        : double((1 << root.bits) - 1);
    plan.points[p].scale = std::max(range[r], 1e-6) / levels;
    if (powerOfTwo)
      plan.points[p].scale = quant::nearestPowerOfTwo(plan.points[p].scale);
  }
  // Average pool outputs take their input's scale, nudged off rounding ties
  // (lib/quant Policy.h); points are in graph order, so an input's scale is
  // final before the pool that reads it.
  for (Point &p : plan.points)
    if (p.tiedTo >= 0 && !p.concatInput)
      p.scale = quant::avgPoolOutputScale(plan.points[p.tiedTo].scale,
                                          powerOfTwo);
}

} // namespace mars::passes::ptq
