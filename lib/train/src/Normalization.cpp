#include "Normalization.h"

#include "mars/ir/ShapeInference.h"
#include "mars/ir/Verifier.h"

#include <cmath>

namespace mars::train {

ChannelStats channelStats(const data::Dataset &d, int64_t count) {
  count = std::min(count, d.count);
  const int64_t plane = int64_t(d.height) * d.width;
  std::vector<double> sum(d.channels, 0.0), sumSq(d.channels, 0.0);
  for (int64_t i = 0; i < count; ++i) {
    const uint8_t *p = d.image(i);
    for (int c = 0; c < d.channels; ++c)
      for (int64_t k = 0; k < plane; ++k) {
        double v = p[c * plane + k] / 255.0;
        sum[c] += v;
        sumSq[c] += v * v;
      }
  }
  ChannelStats s;
  const double n = double(count) * double(plane);
  for (int c = 0; c < d.channels; ++c) {
    double mean = sum[c] / n;
    double var = std::max(sumSq[c] / n - mean * mean, 1e-12);
    s.mean.push_back(float(mean));
    s.std.push_back(float(std::sqrt(var)));
  }
  return s;
}

Expected<ir::Graph> withInputNormalization(const ir::Graph &source,
                                           const ChannelStats &stats) {
  ir::Graph g = source;
  const ir::ValueId input = g.inputs[0];
  // A model saved by --save-float after a normalised run already starts with
  // the Sub/Mul pair: keep it as it is.
  std::vector<ir::NodeId> users = g.users(input);
  if (users.size() == 1 && g.node(users[0]).op == ir::OpKind::Sub &&
      g.value(g.node(users[0]).inputs[1]).isConstant())
    return g;
  const ir::TensorType inType = g.value(input).type;
  if (inType.rank() != 4 || inType.shape[1] != int64_t(stats.mean.size()))
    return makeError("--normalize meanstd needs an (N, C, H, W) input with ",
                     stats.mean.size(), " channels");
  const int64_t c = inType.shape[1];
  std::vector<float> inverse;
  for (float s : stats.std)
    inverse.push_back(1.0f / s);
  ir::ValueId mean =
      g.addInitializer(g.uniqueValueName("input.mean"),
                       ir::Tensor::fromFloats({1, c, 1, 1}, stats.mean));
  ir::ValueId scale =
      g.addInitializer(g.uniqueValueName("input.inv_std"),
                       ir::Tensor::fromFloats({1, c, 1, 1}, inverse));
  ir::ValueId centred = g.addValue(g.uniqueValueName("input.centred"), inType);
  ir::ValueId normalised =
      g.addValue(g.uniqueValueName("input.normalised"), inType);
  // Rewire the input's users first, then add the two nodes that read it.
  for (ir::Node &node : g.nodes())
    for (ir::ValueId &v : node.inputs)
      if (v == input)
        v = normalised;
  for (ir::ValueId &v : g.outputs)
    if (v == input)
      v = normalised;
  g.addNode(ir::OpKind::Sub, "input.normalize.sub", {input, mean}, {centred});
  g.addNode(ir::OpKind::Mul, "input.normalize.mul", {centred, scale},
            {normalised});
  MARS_TRY(g.topoSort());
  MARS_TRY(ir::inferShapes(g));
  MARS_TRY(ir::verifyStatus(g));
  return g;
}

} // namespace mars::train
