#pragma once
/// \file
/// The functional part of `marsc run`: which model runs a program (the
/// run-mode policy), top-1 accuracy over labelled images or one image's
/// output, and the results as text and JSON. The caller supplies the images
/// (the runtime reads programs, not datasets or models).

#include "mars/runtime/Batch.h"
#include "mars/runtime/Energy.h"
#include "mars/runtime/Functional.h"
#include "mars/runtime/Timing.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mars::runtime {

/// The functional model for `mode`: "macro" is the macro-level model, "fast"
/// the integer GEMM (an error when the program's ADC can saturate, since
/// only the macro-level model is then exact), "auto" the fast one exactly
/// when the ADC cannot saturate. Anything else is an error.
Expected<ExecMode> chooseExecMode(const std::string &mode,
                                  const program::Program &program);

/// The note on a program whose model was trained through another ADC than
/// its arch's (quant::adcMismatchNote); empty when both compute the same
/// sums. `marsc compile` warns with it, `marsc run` prints it.
std::string trainedAdcNote(const program::Program &program);

/// Simulator threads when none are asked for: the machine's cores, at most 8.
int defaultThreads();

/// What a functional run produced.
struct FunctionalResult {
  std::string what; ///< "fashion-mnist/test (10000 images)", "x.npy", ...
  std::string mode; ///< "fast (exact ADC)" or "macro-level (bit-serial)".
  int64_t images = 0;
  int64_t correct = -1;        ///< Only for labelled images.
  std::vector<int32_t> output; ///< Only for one image.
  double seconds = 0;          ///< Wall-clock time, set by the caller (it knows
                      ///< what to count: `marsc run` includes loading).
};

/// Image i's class label.
using LabelSource = std::function<int(int64_t index)>;

/// Runs images 0..count-1 of `source` on `threads` executors and counts
/// those whose predicted class (argmaxClass) is `label(i)`. `what` names the
/// images in the result.
Expected<FunctionalResult>
runAccuracy(const program::Program &program, ExecMode mode, int64_t count,
            int threads, const ImageSource &source, const LabelSource &label,
            const ProgressSink &progress, const std::string &what);

/// Runs one image (the program input's C×H×W floats) and keeps its output.
Expected<FunctionalResult> runOneImage(const program::Program &program,
                                       ExecMode mode,
                                       const std::vector<float> &image,
                                       const std::string &what);

/// The result as `marsc run` prints it: the functional line (source, model,
/// time, images/s), the accuracy line for labelled images, the output size
/// (and class, for a one-pixel output) for one image.
std::string formatFunctional(const FunctionalResult &result,
                             const program::Program &program);

/// The result as the "functional" object of `marsc run --json`: source,
/// mode, images, seconds; correct and accuracy for labelled images; the
/// first 1024 real output values and the class for one image.
std::string functionalJson(const FunctionalResult &result,
                           const program::Program &program);

/// Everything one `marsc run` reports about the program at `path`.
struct RunReport {
  const program::Program *program = nullptr;
  std::string path;
  TimingResult timing; ///< One image (steady-state or cold-start).
  EnergyResult energy;
  bool coldStart = false;
  double timingSeconds = 0; ///< Wall-clock time of the timing/energy models.
  FunctionalResult functional;
};

/// `marsc run`'s text: program, model, layers, cores; a note when the
/// program's ADC is not the one its model was trained for
/// (quant::adcMismatchNote); the functional result; the timing table.
std::string formatRunReport(const RunReport &report);

/// `marsc run --json`: program, adc (arch, trained_for, note), functional
/// (functionalJson), timing (reportJson), timing_model_seconds; two-space
/// indents and a final newline.
std::string runReportJson(const RunReport &report);

} // namespace mars::runtime
