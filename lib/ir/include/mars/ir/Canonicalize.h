#pragma once
/// \file
/// Canonicalisation of float models shared by `marsc compile` (its fold-bn
/// and fold-pad passes) and `marsc train` (before it builds its modules), so
/// that both take the same PyTorch exports. BatchNormalization is not folded
/// here: the compiler folds it (fold-bn), the trainer keeps it to fold during
/// QAT; here every BN only gets a layer to fold into.

#include "mars/ir/Graph.h"
#include "mars/support/Error.h"

#include <cstdint>

namespace mars::ir {

/// Which rewrites canonicalize applies: every one by default (`marsc
/// train`). The compiler splits them over two passes: fold-bn applies all but
/// `pads`, fold-pad then only the two Pad rewrites.
struct CanonicalizeOptions {
  bool constants = true;  ///< Identity of a constant → the constant.
  bool noOpPads = true;   ///< Pads that pad nothing removed.
  bool pads = true;       ///< Zero-valued Pads folded into the next layer.
  bool matMuls = true;    ///< MatMul by a constant matrix → Gemm.
  bool batchNorms = true; ///< BNs given a depthwise 1×1 Conv to fold into.
};

struct CanonicalizeCounts {
  int64_t pads = 0;       ///< Zero-valued Pads folded into the next layer.
  int64_t noOpPads = 0;   ///< Pads that pad nothing removed.
  int64_t constants = 0;  ///< Identity of a constant replaced by the constant.
  int64_t matMuls = 0;    ///< MatMul by a constant matrix turned into Gemm.
  int64_t batchNorms = 0; ///< BNs given a depthwise 1×1 Conv to fold into.
  int64_t total() const {
    return pads + noOpPads + constants + matMuls + batchNorms;
  }
};

/// Applies, in place and in this order, each rewrite that `options` selects
/// until it no longer applies:
///  - Identity of a constant (as exporters write for biases and weights that
///    arrive through Identity or Constant nodes): its readers read the
///    constant itself;
///  - a zero-valued constant Pad of H/W read by exactly one Conv or
///    AveragePool: folded into the Conv's pads, or into the pool's pads with
///    count_include_pad = 1 (the padded zeros count in the average exactly
///    as they did) (`pads`); a Pad whose pads are all zero, whatever reads
///    it, is removed (`noOpPads`); both kinds in one sweep;
///  - MatMul of a 2-D activation by a constant 2-D matrix: Gemm (transB = 0,
///    no bias), the form quantization handles;
///  - a 4-D inference BatchNormalization whose input no Conv produces alone
///    (pre-activation BN → ReLU → Conv, BN after a Concat or Add): a
///    depthwise 1×1 Conv with unit weights is inserted before it, so that it
///    folds into a layer like every other BN (the chip runs it as one
///    weight and one bias per channel).
/// Then, if anything changed, removes dead code, sorts and re-infers shapes.
Expected<CanonicalizeCounts>
canonicalize(Graph &g, const CanonicalizeOptions &options = {});

} // namespace mars::ir
