#pragma once
// CIM-group sparsity: group norms, gradual magnitude pruning of whole groups,
// the group-lasso penalty. A group is `wl_on` rows of the unrolled weight
// matrix × one partition's output channels (arch/CimGroups.h).

#include "mars/train/GraphModule.h"

namespace mars::train {

/// L2 norm of each CIM group of the layer's folded, masked weights.
torch::Tensor groupNorms(const GraphModule &m, const WeightedLayer &l);

/// Per-layer pruning fractions that reach `target` overall: the first and
/// last layers (8-bit, few groups, most sensitive) and per-channel scales
/// (quant::prunableWeights) are not pruned and the others share the target,
/// capped at 0.95.
std::vector<double> layerPruneTargets(const GraphModule &m, double target);

/// Masks the `fraction` of the layer's groups with the smallest norms;
/// groups already masked stay masked.
void pruneLayer(WeightedLayer &l, const torch::Tensor &norms, double fraction);

/// Σ over layers and groups of the group L2 norm (unmasked groups).
torch::Tensor groupLassoPenalty(const GraphModule &m);

/// Fraction of all CIM groups that are masked.
double maskedGroupFraction(const GraphModule &m);

/// Zhu & Gupta's gradual schedule: target × (1 − (1 − t)^3), t in [0, 1].
double gradualTarget(double target, double t);

} // namespace mars::train
