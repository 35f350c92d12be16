#pragma once
/// \file
/// Where post-training quantization puts its quantization points, and with
/// which bits and signedness — the same places `marsc train` puts them
/// (lib/train GraphModule), so that lowerToInteger accepts the result:
///  - the network input (after an input Sub/Mul normalisation if present),
///    8 bits (edge bits);
///  - the output of every Conv/Gemm and Add, or of the Relu/Clip that is its
///    only user (then unsigned), except the last layer's logits, which stay
///    int32 accumulators;
///  - the output of every AveragePool/GlobalAveragePool, tied to its input's
///    scale;
///  - Concat inputs are united: they share one scale, bits and signedness.
/// Points feeding the last layer get edge bits; others --abits.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <vector>

namespace mars::passes::ptq {

struct Point {
  ir::ValueId value = ir::kNoValue; ///< Quantized after this value.
  int bits = 8;
  bool isSigned = true;
  int tiedTo = -1; ///< AvgPool outputs: use this point's scale.
  /// A Concat input: its scale is its union's, exactly (an average pool's
  /// tie-avoiding factor would break the Concat's one scale).
  bool concatInput = false;
  bool clip = true; ///< A Clip before QuantizeLinear (bits < container).
  double range = 0; ///< Calibrated |x| bound.
  double scale = 1;
};

struct Layer {
  ir::NodeId node = ir::kNoNode;
  int bits = 4;
  int inputPoint = -1;
};

struct Plan {
  std::vector<Point> points;
  std::vector<Layer> layers; ///< Conv/Gemm nodes in graph order.
  std::vector<int> unionOf;  ///< Per point, its Concat union's root.

  /// The point whose scale point `p` uses (ties and unions followed).
  int root(int p) const;
};

/// Plans the points of a float graph; errors name the node that cannot be
/// quantized.
Expected<Plan> planPoints(const ir::Graph &g, int weightBits,
                          int activationBits, int edgeBits);

/// Sets every point's scale from its calibrated range (or its root's).
void assignScales(Plan &plan, bool powerOfTwo);

} // namespace mars::passes::ptq
