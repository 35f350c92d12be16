#pragma once
/// \file
/// `marsc verify`: the three faces of the integer contract (DESIGN.md §3)
/// side by side, layer by layer, on the same images:
///  - the QDQ model under ONNX semantics (the float reference interpreter,
///    lib/interp, in float64 by default, or float32), read at each
///    QuantizeLinear output;
///  - the integer reference (lib/quant's IntegerNet of the same model);
///  - the chip (the runtime's functional model executing the program).
/// The integer reference and the chip must agree exactly. So must the QDQ
/// model evaluated in float64: it is the file's exact real arithmetic to
/// about 2^-50, and the integer contract is that arithmetic. Evaluated in
/// float32 it may differ by 1 LSB where float32 rounding decides a tie (the
/// only accepted cause of a difference).

#include "mars/interp/Interpreter.h"
#include "mars/ir/Graph.h"
#include "mars/program/Program.h"
#include "mars/runtime/Functional.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mars::verify {

/// Agreement of one integer value (a layer's output, or the quantized
/// input) over all images. Differences are in LSBs of the value's scale.
struct ValueAgreement {
  std::string layer;     ///< The layer producing it ("input" for the input).
  std::string op;        ///< Its integer op ("Quantize" for the input).
  std::string value;     ///< The value's name.
  int64_t elements = 0;  ///< Per image.
  bool hasFloat = false; ///< The QDQ graph holds this value.
  bool hasChip = false;  ///< The program has a buffer of that name.
  int64_t floatDiffering = 0; ///< Elements where float ≠ integer.
  int64_t floatMaxDiff = 0;
  int64_t chipDiffering = 0; ///< Elements where chip ≠ integer.
  int64_t chipMaxDiff = 0;
  /// The layer's inputs agreed everywhere, so a difference starts here.
  bool inputsAgreed = true;
};

/// The first place where the three disagree beyond what is allowed.
struct Divergence {
  std::string layer, op, value;
  int image = 0;
  int64_t element = 0;           ///< Flat index into C×H×W.
  int channel = 0, y = 0, x = 0; ///< The same element as coordinates.
  std::optional<int64_t> floatValue, chipValue;
  int64_t integerValue = 0;
  std::string what; ///< "chip" or "float": which face disagrees.
};

struct VerifyResult {
  int images = 0;
  /// The predicted class of each image by each face (largest output, lowest
  /// index on ties).
  std::vector<int> qdqClasses, integerClasses, chipClasses;
  std::vector<ValueAgreement> values; ///< In execution order.
  std::optional<Divergence> first;
  interp::Precision precision = interp::Precision::Float64; ///< The QDQ's.
};

struct VerifyOptions {
  runtime::ExecMode mode = runtime::ExecMode::Fast;
  /// The float interpreter's precision for the QDQ model. Float64 allows no
  /// difference; Float32 one LSB (a tie float32 rounding decided).
  interp::Precision precision = interp::Precision::Float64;
};

/// The largest difference, in LSBs, allowed between the QDQ model and the
/// integer reference in a layer whose inputs agreed.
inline int64_t allowedQdqDifference(interp::Precision precision) {
  return precision == interp::Precision::Float64 ? 0 : 1;
}

/// Runs `images` (each C×H×W floats) through the three and compares every
/// value. `qdq` is the quantized model in QDQ form (what `marsc train`
/// writes, or `marsc compile --save-qdq`); `program` is its compiled program.
/// A divergence is a chip value ≠ the integer value, or a QDQ value further
/// from it than allowedQdqDifference(options.precision), in a layer whose
/// inputs agreed exactly.
Expected<VerifyResult>
verifyModel(const ir::Graph &qdq, const program::Program &program,
            const std::vector<std::vector<float>> &images,
            const VerifyOptions &options = {});

/// A human-readable table of `result` (one row per value) and a verdict.
std::string formatVerifyResult(const VerifyResult &result);

} // namespace mars::verify
