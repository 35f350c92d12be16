#pragma once
/// \file
/// Where quantization points go and at which bits: the one decision that
/// post-training quantization (passes/ QuantizePlan) and quantization-aware
/// training (lib/train GraphModule) both take from here, so that the QDQ
/// files both write lower to the same integer network (DESIGN.md §3):
///  - the network input (after a Sub → Mul input normalisation when there is
///    one, then signed), `inputBits`;
///  - the output of every Conv/Gemm/MatMul (after the BatchNormalization that
///    is its only user, for a graph BN is not folded in yet) and of every
///    Add, or of the Relu (or Clip at ≥ 0) that is its only user, then
///    unsigned; except the last layer's logits, which stay int32
///    accumulators;
///  - the output of every AveragePool/GlobalAveragePool: tied to its input's
///    scale (Policy.h nudges it off ties), or, when it joins a Concat, a
///    point of its own in the Concat's union;
///  - Concat inputs are united: one scale, bits and signedness (the widest,
///    signed if any is); the union's root is its lowest-numbered point, so
///    the fixed input grid stays a root;
///  - weighted layers: `edgeBits` for the first and last, `weightBits`
///    otherwise; activations feeding the last layer `edgeBits`.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <vector>

namespace mars::quant {

struct PlacementOptions {
  int weightBits = 4;
  int activationBits = 4;
  int edgeBits = 8;  ///< First/last layers and the last layer's input.
  int inputBits = 8; ///< The network input's point.
  bool inputSigned = false;
};

struct PlacedPoint {
  ir::ValueId value = ir::kNoValue; ///< Quantized after this value.
  int bits = 8;
  bool isSigned = true;
  int tiedTo = -1;   ///< Average pool output: this point's scale.
  int unionRoot = 0; ///< Its Concat union's root (itself when none).
  /// A Concat input: its scale is its union's exactly.
  bool concatInput = false;
};

struct PlacedLayer {
  ir::NodeId node = ir::kNoNode; ///< The Conv/Gemm/MatMul.
  int bits = 4;
  int inputPoint = -1;
};

struct Placement {
  std::vector<PlacedPoint> points; ///< points[0] is the input's.
  std::vector<PlacedLayer> layers; ///< In graph order.
  /// The point whose scale point `p` uses (ties and unions followed).
  int root(int p) const;
};

/// Places the points of a float graph (BN folded or not); errors name the
/// node whose input cannot be quantized.
Expected<Placement> placeQuantization(const ir::Graph &g,
                                      const PlacementOptions &options);

} // namespace mars::quant
