#include "mars/passes/PassManager.h"

namespace mars::passes {

/// The default pipeline of `marsc compile`. Each entry says why it sits
/// where it does.
const std::vector<std::string> &defaultPipeline() {
  static const std::vector<std::string> pipeline = {
      // Float models from PyTorch or the zoo carry BatchNormalization; fold
      // it first so that calibration and quantization see the real weights.
      "fold-bn",
      // The chip has no Pad: zero-valued Pads (PyTorch's F.pad, ZeroPad2d)
      // fold into the pads of the layer that reads them. After fold-bn, which
      // removes Pads that pad nothing so that a BN behind one still folds
      // into its Conv (a graph that compiled when fold-bn folded all Pads
      // first is the same; see FoldPad.cpp); before quantize, which
      // calibrates the layers as the chip will run them.
      "fold-pad",
      // Post-training quantization needs BN folded (one weight per output
      // channel) and must precede lower-to-integer, which only accepts QDQ
      // graphs. Compressed models from `marsc train` pass through unchanged.
      "quantize",
      // From here on there is one integer semantics (DESIGN.md §3): the
      // QDQ graph becomes integer layers, and ops the chip cannot run stop
      // the compilation with the node's name.
      "lower-to-integer",
      // Fusion decides which layers run in a Conv's digital pipeline; it
      // must precede lowering, which creates the program's layers.
      "fuse",
      // Unrolled weight matrices, buffers and layers of the program.
      "lower-to-program",
      // Zero CIM groups are found on the unrolled matrices, whose row order
      // defines the groups.
      "group-compress",
      // Mapping places only the non-zero groups.
      "map-to-macros",
      // Instructions need the mapping (which image is in which macro).
      "schedule",
      // Last: serialises the finished program.
      "emit",
  };
  return pipeline;
}

} // namespace mars::passes
