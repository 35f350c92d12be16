#include "QuantizePlan.h"

#include "mars/quant/Placement.h"
#include "mars/quant/Policy.h"
#include "mars/support/IntRange.h"

#include <algorithm>
#include <map>

namespace mars::passes::ptq {

using ir::OpKind;

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
  for (const ir::Node &n : g.nodes())
    if (n.op == OpKind::MatMul)
      return makeError(nodeContext(n),
                       ": post-training "
                       "quantization supports Conv and Gemm layers; export "
                       "fully-connected layers as Gemm (torch.nn.Linear)");
  quant::PlacementOptions options;
  options.weightBits = weightBits;
  options.activationBits = activationBits;
  options.edgeBits = edgeBits;
  options.inputBits = edgeBits;
  auto placed = quant::placeQuantization(g, options);
  if (!placed)
    return placed.error();
  Plan plan;
  for (const quant::PlacedPoint &q : placed->points) {
    Point p;
    p.value = q.value;
    p.bits = q.bits;
    p.isSigned = q.isSigned;
    p.tiedTo = q.tiedTo;
    p.concatInput = q.concatInput;
    p.clip = q.tiedTo < 0;
    plan.points.push_back(p);
    plan.unionOf.push_back(q.unionRoot);
  }
  plan.points[0].clip = false; // the input: its range is the data's
  for (const quant::PlacedLayer &q : placed->layers)
    plan.layers.push_back({q.node, q.bits, q.inputPoint});
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
    const double levels = double(intHi(root.bits, root.isSigned));
    plan.points[p].scale = std::max(range[r], 1e-6) / levels;
    if (powerOfTwo)
      plan.points[p].scale = quant::nearestPowerOfTwo(plan.points[p].scale);
  }
  // Average pool outputs take their input's scale, nudged off rounding ties
  // (lib/quant Policy.h); points are in graph order, so an input's scale is
  // final before the pool that reads it.
  for (Point &p : plan.points)
    if (p.tiedTo >= 0 && !p.concatInput)
      p.scale =
          quant::avgPoolOutputScale(plan.points[p.tiedTo].scale, powerOfTwo);
}

} // namespace mars::passes::ptq
