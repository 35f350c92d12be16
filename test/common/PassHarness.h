#pragma once
/// \file
/// The harness every compiler pass is tested with (STYLE.md, Tests): a pass
/// gets its input by running the default pipeline's prefix on a small model,
/// and each pass has
///  - a golden test: the state printed before and after the pass
///    (`passes::printState`, what `--print-ir-after` prints), compared with
///    `test/passes/golden/<pass>.<model>.txt` through Golden.h: a difference
///    fails; only `scripts/update-golden.sh` rewrites the file;
///  - a numerical-equivalence test on the reference that fits the state the
///    pass works on: the float interpreter for graph passes
///    (`checkFloatClose`), the QDQ graph against its integer reference for
///    quantize and lower-to-integer (`checkQdqMatchesInteger`), the chip's
///    functional model against the integer reference, bit for bit, for every
///    pass from fuse to emit (`checkChipMatchesNet`);
///  - a must-not-fire test: an input on which the pass changes nothing
///    (`checkUnchanged`), or, for a pass that always transforms, the closest
///    meaningful check, stated in the test.
/// Used by test/passes/<Pass>Test.cpp; compiled into
/// test_passes (test/passes/CMakeLists.txt).

#include "mars/ir/Graph.h"
#include "mars/passes/PassManager.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mars::test {

/// lenet5 at a quarter width: two Conv → BN → ReLU → MaxPool blocks and
/// three Gemm layers (fold-bn's golden model).
ir::Graph quarterLenet5();

/// A float model with one of everything the back end handles, small enough
/// for readable goldens (input 1×8×8, 3 classes):
///   Conv3×3(4)-BN-ReLU-MaxPool, Conv3×3(4)-BN, Add(the pool), ReLU,
///   GlobalAveragePool, Flatten, Gemm(4→3).
/// After lower-to-integer, the pool, the Add and the global pool all fuse into
/// a Conv's digital pipeline.
ir::Graph tinyResidualNet();

/// The same size without pooling or Add (input 1×6×6, 3 classes):
///   Conv3×3(4)-BN-ReLU, Conv3×3(4)-BN-ReLU, Flatten, Gemm(144→3).
/// Nothing in it can fuse.
ir::Graph tinyPlainNet();

/// tinyPlainNet with its padding written as separate Pad nodes, as PyTorch
/// exports `F.pad` and `nn.ZeroPad2d`: a Pad of 1 in front of each Conv
/// (whose own pads are 0), and before the Flatten a Pad of 1 and a 3×3
/// AveragePool (stride 1, so the Gemm still reads 4×6×6).
ir::Graph tinyPaddedNet();

/// Inserts a zero-valued Pad of H/W by `hw` = {top, left, bottom, right}
/// in front of input 0 of node `user`, named `name`; re-sorts `g` and
/// re-infers its shapes.
/// Returns the Pad's output.
ir::ValueId insertPad(ir::Graph &g, ir::NodeId user,
                      const std::vector<int64_t> &hw, const std::string &name);

/// A model and everything constant while compiling it.
struct PassInput {
  std::string name; ///< Names the golden file: <pass>.<name>.txt.
  ir::Graph model;
  passes::CompileContext context;
};

/// `model` on a small chip (2 cores × 2 macros, default macro: exact ADC)
/// with 2 seeded random calibration images and `--prune prune`.
PassInput smallChipInput(const std::string &name, ir::Graph model,
                         double prune);

/// A pass applied once: the state before and after, and its answer.
struct PassRun {
  passes::CompileState before, after;
  bool changed = false;
};

/// The state the default pipeline hands to `pass`: every pass before it
/// run on `input.model`. REQUIREs success.
passes::CompileState stateBefore(const std::string &pass,
                                 const PassInput &input);
/// Runs `pass` on a copy of `before`. REQUIREs success.
PassRun runPassOn(const std::string &pass, const passes::CompileState &before,
                  const passes::CompileContext &context);
/// stateBefore then runPassOn.
PassRun runPass(const std::string &pass, const PassInput &input);
/// Runs the default pipeline's passes after `pass` on `state` (through
/// emit). REQUIREs success.
void finishPipeline(const std::string &pass, passes::CompileState &state,
                    const passes::CompileContext &context);

/// The golden text of a run: `printState` before and after, each under a
/// "// ----- before|after <pass> -----" line.
std::string beforeAfterText(const std::string &pass, const PassRun &run);
/// CHECKs beforeAfterText against test/passes/golden/<pass>.<model>.txt
/// (and leaves it in <build>/golden-actual/ for update-golden.sh).
void checkGolden(const std::string &pass, const std::string &model,
                 const PassRun &run);

/// Must not fire: the pass reported no change and the state prints the same.
void checkUnchanged(const PassRun &run);

/// `count` seeded images of uniform [0, 1) values, each C×H×W of the graph
/// input (batch 1).
std::vector<std::vector<float>> seededImages(const ir::Graph &g, int count,
                                             uint64_t seed);
/// Every output of `g` on each image, on the float reference interpreter.
std::vector<std::vector<float>>
interpret(const ir::Graph &g, const std::vector<std::vector<float>> &images);
/// CHECKs |a - b| <= relTol × max(1, |a|) element by element.
void checkFloatClose(const std::vector<std::vector<float>> &a,
                     const std::vector<std::vector<float>> &b, double relTol);

/// The QDQ graph `qdq` under ONNX semantics ≡ its integer reference, as
/// `marsc verify` decides it (lib/verify: every integer value within one
/// LSB where its inputs agreed, the same top-1 class) on `images` seeded
/// images. `compiled` is a finished compilation of `qdq` (emitted bytes):
/// verify also holds its chip to the integer reference, exactly.
void checkQdqMatchesInteger(const ir::Graph &qdq,
                            const passes::CompileState &compiled, int images);

/// The state after `pass` (which must come after lower-to-integer), finished by
/// the rest of the default pipeline: its program, read back from the emitted
/// bytes, on the functional model (fast and macro-level paths) equals the
/// integer reference of `after.net` bit for bit on `images` seeded images.
void checkChipMatchesNet(const std::string &pass,
                         const passes::CompileState &after,
                         const passes::CompileContext &context, int images);

/// How many nodes of `g` are `op`.
int countOps(const ir::Graph &g, ir::OpKind op);
/// The first node of `g` that is `op`; fails the test when there is none.
ir::NodeId firstNode(const ir::Graph &g, ir::OpKind op);

} // namespace mars::test
