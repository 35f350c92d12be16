#include "mars/train/GroupSparsity.h"

#include "mars/quant/Policy.h"

#include <cmath>

namespace mars::train {

torch::Tensor groupNorms(const GraphModule &m, const WeightedLayer &l) {
  torch::NoGradGuard noGrad;
  torch::Tensor w = m.effectiveWeight(l, /*folded=*/true).detach().flatten();
  auto sums = torch::zeros({l.groupCount}, w.options());
  sums.index_add_(0, l.groupIndex, w * w);
  return sums.sqrt();
}

namespace {
bool prunable(const WeightedLayer &l) {
  const torch::Tensor &w = l.weight;
  return !l.isConv || quant::prunableWeights(w.size(1), w.size(2), w.size(3));
}
} // namespace

std::vector<double> layerPruneTargets(const GraphModule &m, double target) {
  const auto &layers = m.layers();
  std::vector<double> out(layers.size(), 0.0);
  if (layers.size() <= 2) {
    for (size_t i = 0; i < layers.size(); ++i)
      out[i] = prunable(layers[i]) ? target : 0.0;
    return out;
  }
  int64_t total = 0, middle = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    total += layers[i].groupCount;
    if (i != 0 && i + 1 != layers.size() && prunable(layers[i]))
      middle += layers[i].groupCount;
  }
  if (middle == 0)
    return out;
  double share = std::min(0.95, target * double(total) / double(middle));
  for (size_t i = 1; i + 1 < layers.size(); ++i)
    out[i] = prunable(layers[i]) ? share : 0.0;
  return out;
}

void pruneLayer(WeightedLayer &l, const torch::Tensor &norms, double fraction) {
  torch::NoGradGuard noGrad;
  const int64_t groups = norms.numel();
  // Round up: a target of 50% means at least half of the groups.
  const int64_t prune =
      std::min(groups, int64_t(std::ceil(fraction * double(groups) - 1e-9)));
  // Groups already pruned have norm 0 and sort first, so they stay pruned.
  auto order = std::get<1>(norms.sort(/*stable=*/true, /*dim=*/0,
                                      /*descending=*/false));
  auto keep = torch::ones({groups});
  if (prune > 0)
    keep.index_fill_(0, order.slice(0, 0, prune), 0.0);
  l.mask.copy_(keep.index_select(0, l.groupIndex).view_as(l.mask));
}

torch::Tensor groupLassoPenalty(const GraphModule &m) {
  torch::Tensor total = torch::zeros({});
  for (const WeightedLayer &l : m.layers()) {
    torch::Tensor w = (l.weight * l.mask).flatten();
    auto sums = torch::zeros({l.groupCount}, w.options());
    sums = sums.index_add(0, l.groupIndex, w * w);
    // Rescaled by the group size so that layers of different shapes are
    // penalised comparably; epsilon keeps the gradient finite at zero.
    total = total + (sums + 1e-12).sqrt().sum() /
                        std::sqrt(double(l.geometry.rowsPerGroup *
                                         l.geometry.channelsPerGroup));
  }
  return total;
}

double maskedGroupFraction(const GraphModule &m) {
  torch::NoGradGuard noGrad;
  int64_t groups = 0, masked = 0;
  for (const WeightedLayer &l : m.layers()) {
    auto live = torch::zeros({l.groupCount});
    live.index_add_(0, l.groupIndex, l.mask.flatten());
    groups += l.groupCount;
    masked += (live == 0).sum().item<int64_t>();
  }
  return groups ? double(masked) / double(groups) : 0.0;
}

double gradualTarget(double target, double t) {
  t = std::min(1.0, std::max(0.0, t));
  return target * (1.0 - std::pow(1.0 - t, 3.0));
}

} // namespace mars::train
