#include "mars/quant/Placement.h"

#include <algorithm>
#include <map>

namespace mars::quant {

namespace {

using ir::OpKind;

bool passThrough(OpKind op) {
  return op == OpKind::MaxPool || op == OpKind::Flatten ||
         op == OpKind::Reshape || op == OpKind::Identity ||
         op == OpKind::Dropout;
}

bool isWeighted(OpKind op) {
  return op == OpKind::Conv || op == OpKind::Gemm || op == OpKind::MatMul;
}

ir::NodeId singleUser(const ir::Graph &g, ir::ValueId v) {
  const std::vector<ir::NodeId> users = g.users(v);
  const bool isOutput =
      std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
  return users.size() == 1 && !isOutput ? users[0] : ir::kNoNode;
}

/// A Clip whose lower bound is ≥ 0 acts as a ReLU.
bool clipsAtZero(const ir::Graph &g, const ir::Node &n) {
  if (n.op == OpKind::Relu)
    return true;
  if (n.op != OpKind::Clip)
    return false;
  const ir::ValueId lo = n.input(1);
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
    const ir::NodeId u = singleUser(g, v);
    if (u == ir::kNoNode)
      return false;
    const ir::Node &n = g.node(u);
    if (!passThrough(n.op) && n.op != OpKind::Softmax)
      return false;
    v = n.outputs[0];
  }
  return false;
}

/// A weighted layer's output: its BatchNormalization's when a BN is its
/// only user (the trainer folds it during QAT; the compiler already has).
ir::ValueId layerOutput(const ir::Graph &g, const ir::Node &n) {
  const ir::NodeId u = singleUser(g, n.outputs[0]);
  if (u != ir::kNoNode && g.node(u).op == OpKind::BatchNormalization)
    return g.node(u).outputs[0];
  return n.outputs[0];
}

class Placer {
public:
  Placer(const ir::Graph &g, const PlacementOptions &o)
      : graph_(g), options_(o) {}

  Expected<Placement> run() {
    if (graph_.inputs.size() != 1)
      return makeError("quantization needs a model with one input, this one "
                       "has ",
                       graph_.inputs.size());
    placeInput();
    std::vector<ir::NodeId> weighted;
    for (ir::NodeId id = 0; id < ir::NodeId(graph_.numNodes()); ++id)
      if (isWeighted(graph_.node(id).op))
        weighted.push_back(id);
    if (weighted.empty())
      return makeError("the model has no Conv or Gemm layer");
    for (ir::NodeId id = 0; id < ir::NodeId(graph_.numNodes()); ++id)
      MARS_TRY(visit(id, weighted));
    widenFeedingLastLayer();
    unifyUnions();
    return std::move(placement_);
  }

private:
  int add(ir::ValueId v, int bits, bool isSigned, int tiedTo) {
    PlacedPoint pt;
    pt.value = v;
    pt.bits = bits;
    pt.isSigned = isSigned;
    pt.tiedTo = tiedTo;
    pt.unionRoot = int(placement_.points.size());
    pointOf_[v] = int(placement_.points.size());
    placement_.points.push_back(pt);
    return int(placement_.points.size()) - 1;
  }

  /// The point `v` carries, through pass-through ops and Concat.
  int source(ir::ValueId v) const {
    for (int hops = 0; hops < 256; ++hops) {
      auto it = pointOf_.find(v);
      if (it != pointOf_.end())
        return it->second;
      const ir::NodeId p = graph_.value(v).producer;
      if (p == ir::kNoNode)
        return -1;
      const ir::Node &n = graph_.node(p);
      if (!passThrough(n.op) && n.op != OpKind::Concat)
        return -1;
      v = n.inputs[0];
    }
    return -1;
  }

  void placeInput() {
    ir::ValueId input = graph_.inputs[0];
    bool isSigned = options_.inputSigned;
    const ir::NodeId sub = singleUser(graph_, input);
    if (sub != ir::kNoNode && graph_.node(sub).op == OpKind::Sub) {
      const ir::NodeId mul = singleUser(graph_, graph_.node(sub).outputs[0]);
      if (mul != ir::kNoNode && graph_.node(mul).op == OpKind::Mul) {
        input = graph_.node(mul).outputs[0];
        isSigned = true;
      }
    }
    add(input, options_.inputBits, isSigned, -1);
  }

  Status visit(ir::NodeId id, const std::vector<ir::NodeId> &weighted) {
    const ir::Node &n = graph_.node(id);
    if (isWeighted(n.op)) {
      PlacedLayer l;
      l.node = id;
      l.bits = id == weighted.front() || id == weighted.back()
                   ? options_.edgeBits
                   : options_.weightBits;
      l.inputPoint = source(n.inputs[0]);
      if (l.inputPoint < 0)
        return makeError(nodeContext(n),
                         ": its input is not a quantizable activation (put "
                         "a Relu, Add or another Conv before it)");
      placement_.layers.push_back(l);
    }
    if (isWeighted(n.op) || n.op == OpKind::Add) {
      ir::ValueId out =
          isWeighted(n.op) ? layerOutput(graph_, n) : n.outputs[0];
      bool relu = false;
      const ir::NodeId user = singleUser(graph_, out);
      if (user != ir::kNoNode && clipsAtZero(graph_, graph_.node(user))) {
        relu = true;
        out = graph_.node(user).outputs[0];
      }
      if (isWeighted(n.op) && id == weighted.back() && !relu &&
          reachesOutput(graph_, out))
        return Status::success(); // the logits stay int32 accumulators
      add(out, options_.activationBits, !relu, -1);
      return Status::success();
    }
    if (n.op == OpKind::AveragePool || n.op == OpKind::GlobalAveragePool) {
      const int src = source(n.inputs[0]);
      if (src < 0)
        return makeError(nodeContext(n),
                         ": its input is not a quantized activation");
      // Tied to its input's scale, unless it joins a Concat: a scale of its
      // own, in the Concat's union, keeps window averages off exact rounding
      // ties there (Policy.h).
      const std::vector<ir::NodeId> users = graph_.users(n.outputs[0]);
      const bool joinsConcat =
          std::any_of(users.begin(), users.end(), [&](ir::NodeId u) {
            return graph_.node(u).op == OpKind::Concat;
          });
      add(n.outputs[0], placement_.points[size_t(src)].bits,
          placement_.points[size_t(src)].isSigned, joinsConcat ? -1 : src);
      return Status::success();
    }
    if (n.op == OpKind::Concat) {
      std::vector<int> roots;
      for (ir::ValueId v : n.inputs) {
        const int s = source(v);
        if (s < 0)
          return makeError(nodeContext(n), ": input '", graph_.value(v).name,
                           "' is not a quantized activation");
        roots.push_back(placement_.root(s));
        placement_.points[size_t(s)].concatInput = true;
      }
      const int r = *std::min_element(roots.begin(), roots.end());
      for (PlacedPoint &pt : placement_.points)
        if (std::find(roots.begin(), roots.end(), pt.unionRoot) != roots.end())
          pt.unionRoot = r;
    }
    return Status::success();
  }

  /// Activations feeding the last layer get edge bits (not the input,
  /// whose bits are its own).
  void widenFeedingLastLayer() {
    for (int p = placement_.layers.back().inputPoint; p >= 0;) {
      if (p != 0)
        placement_.points[size_t(p)].bits = options_.edgeBits;
      const PlacedPoint &pt = placement_.points[size_t(p)];
      p = pt.tiedTo >= 0 ? pt.tiedTo : pt.unionRoot != p ? pt.unionRoot : -1;
    }
  }

  /// Points sharing a scale (a union, an average pool's tie) share bits
  /// and signedness: the widest, signed if any is.
  void unifyUnions() {
    std::vector<PlacedPoint> &pts = placement_.points;
    for (size_t p = 0; p < pts.size(); ++p) {
      PlacedPoint &r = pts[size_t(placement_.root(int(p)))];
      r.bits = std::max(r.bits, pts[p].bits);
      r.isSigned = r.isSigned || pts[p].isSigned;
    }
    for (size_t p = 0; p < pts.size(); ++p) {
      const PlacedPoint &r = pts[size_t(placement_.root(int(p)))];
      pts[p].bits = r.bits;
      pts[p].isSigned = r.isSigned;
    }
  }

  const ir::Graph &graph_;
  const PlacementOptions &options_;
  Placement placement_;
  std::map<ir::ValueId, int> pointOf_;
};

} // namespace

int Placement::root(int p) const {
  for (int hops = 0; hops < 1000; ++hops) {
    if (points[size_t(p)].tiedTo >= 0)
      p = points[size_t(p)].tiedTo;
    else if (points[size_t(p)].unionRoot != p)
      p = points[size_t(p)].unionRoot;
    else
      return p;
  }
  return p;
}

Expected<Placement> placeQuantization(const ir::Graph &g,
                                      const PlacementOptions &options) {
  return Placer(g, options).run();
}

} // namespace mars::quant
