#pragma once
/// \file
/// One ONNX backend test directory (model.onnx and test_data_set_*/
/// {input,output}_N.pb) run through the importer and the interpreter.

#include <string>

namespace mars::conformance {

enum class Outcome {
  Unsupported, ///< The model uses an op the IR does not have.
  Skipped,     ///< The importer rejected it for a documented limitation.
  Passed,
  Failed,
};

struct CaseResult {
  Outcome outcome = Outcome::Failed;
  /// Why it was skipped or failed (the importer's or interpreter's message,
  /// or the worst mismatch).
  std::string reason;
  /// False when the importer refused the model (skipped, or failed for an
  /// undocumented reason), so nothing ran.
  bool imported = true;
};

/// Runs the test in `dir` for every data set. Inputs that must be constant
/// for static shapes are bound as initializers (int64 inputs, and inputs
/// read only as operand >= 1 of Clip, Dropout, Pad and Reshape); the rest
/// are fed in graph-input order. Outputs are compared with
/// |actual - expected| <= 1e-7 + 1e-3 * |expected| (exact for integers).
CaseResult runOnnxTestCase(const std::string &dir);

/// The category of an importer rejection that the IR documents as a
/// limitation ("3-D convolution", "unsupported dtype", ...), or "" when the
/// message is not one of them (then the rejection is a failure).
std::string acceptableRejection(const std::string &message);

} // namespace mars::conformance
