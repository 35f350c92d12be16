/// fold-pad: folds every zero-valued constant Pad of H/W into the one layer
/// that reads it: into a Conv's pads, or into an AveragePool without pads of
/// its own with count_include_pad = 1 (the padded zeros count in the average
/// exactly as they did). The chip has no Pad; PyTorch exports `F.pad` and
/// `nn.ZeroPad2d` as one. A Pad that pads nothing is removed. The rewrite
/// is lib/ir Canonicalize.h's, which `marsc train` applies too.
///
/// Requires fold-bn, whose canonicalisation (constants read through
/// Identity: a Pad's pads may arrive that way) this completes.
///
/// Why fold-pad may follow fold-bn, although fold-bn folded the Pads first
/// before this pass existed, and the graph must not change: folding a Pad
/// rewires its one reader (a Conv or AveragePool) to the Pad's input and
/// grows that reader's pads. fold-bn's rules look at the producer of a BN's
/// input and at how many nodes read it. A fold replaces one reader (the Pad)
/// by another (its reader) and changes no producer, except where the BN
/// reads the Pad itself:
///  - a Pad that pads nothing between a Conv and its BN: fold-bn still
///    removes those first, so the BN folds into the Conv as before;
///  - real padding read by a BN: fold-bn gives the BN a depthwise Conv, and
///    the Pad then folds into it. Before, the Pad was tried first, stayed
///    (a BN cannot take padding) and the chip refused it; now it compiles.
/// Node order is kept too: a Pad sits between its input and its one reader,
/// and erasing it leaves a valid order that topoSort keeps. FoldPadTest
/// checks that fold-bn then fold-pad give the graph of one canonicalisation.
/// One difference remains, on graphs with dead nodes only: fold-bn removes
/// dead code before folding BNs when its canonicalisation changed something,
/// which a fold of real padding no longer counts as; a BN whose Conv output
/// also feeds a dead node then stays (and is refused) where it folded before.
#include "mars/ir/Canonicalize.h"
#include "mars/passes/Passes.h"

namespace mars::passes {

Expected<bool> runFoldPad(CompileState &state, const CompileContext &) {
  ir::CanonicalizeOptions options;
  options.constants = options.matMuls = options.batchNorms = false;
  auto canonical = ir::canonicalize(state.graph, options);
  if (!canonical)
    return canonical.error();
  if (canonical->total() == 0)
    return false;
  state.count("fold-pad", "Pad nodes folded into the next layer",
              canonical->pads + canonical->noOpPads);
  return true;
}

} // namespace mars::passes
