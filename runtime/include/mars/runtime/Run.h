#pragma once
/// \file
/// What `marsc run` does: the timing and energy models once per run, the
/// functional model on the images asked for (which model runs a program is
/// the run-mode policy; top-1 accuracy over labelled images, or one image's
/// output), and the results as text and JSON. The caller loads the images
/// (the runtime reads programs, not datasets, tensor files or models).

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
  std::string kernels = bestFastKernelName(); ///< Their instruction set.
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

/// Labelled images as the caller loaded them (`marsc run --data`: a
/// dataset's test split).
struct LabelledImages {
  std::string name;                            ///< "fashion-mnist/test".
  int64_t count = 0;                           ///< Images available.
  int64_t channels = 0, height = 0, width = 0; ///< Every image's shape.
  ImageSource image;
  LabelSource label;
};

/// One image as the caller read it from a tensor file (`marsc run
/// --input`).
struct InputImage {
  std::string type;     ///< The file's tensor type ("f32[1,3,32,32]").
  bool float32 = false; ///< Whether the file holds float32 values.
  std::vector<float> values;
};

/// The images of one `marsc run`, by precedence: labelled images when
/// `data` is set, else one image when `input` is set, else the seeded
/// random image. Only the loader of the images used is called.
struct RunInputs {
  std::string data; ///< `--data SPEC`, for errors.
  std::function<Expected<LabelledImages>()> loadData;
  int64_t limit = 0; ///< Run the first N labelled images (0: all).
  /// Progress while `count` labelled images run; may return an empty sink.
  std::function<ProgressSink(int64_t count)> progress;
  std::string input; ///< `--input PATH`, for errors.
  std::function<Expected<InputImage>()> loadInput;
  /// The random image's seed: the same image as `marsc eval --random SEED`
  /// and `marsc verify --seed SEED`.
  uint64_t seed = 1;
  int threads = 0; ///< Threads for labelled images (0: defaultThreads()).
};

/// The functional model (`mode` as chooseExecMode takes it) on the images
/// of `inputs`: top-1 accuracy over the labelled images (an error unless
/// they have the program input's shape), or the output of the one image (an
/// error unless it is float32 of the input's size) or of the random image.
/// The result's `seconds` count loading the images too.
Expected<FunctionalResult> runFunctional(const program::Program &program,
                                         const std::string &mode,
                                         const RunInputs &inputs);

/// The shape `marsc run --output` writes the output buffer in: [1, C] when
/// it is 1×1 (logits), else [1, C, H, W].
std::vector<int64_t> outputShape(const program::Program &program);

/// Every element of a run's `output` as its real value (outputReal) in
/// float32, in the order of outputShape: what `marsc run --output` writes.
std::vector<float> outputReals(const program::Program &program,
                               const std::vector<int32_t> &output);

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

/// The timing and energy models of `program` (read from `path`) for one
/// steady-state image, or with `coldStart` the first image after power-up:
/// a report with everything but the functional result, `timingSeconds`
/// their wall-clock time. Errors are prefixed with `path`.
Expected<RunReport> simulateRun(const program::Program &program,
                                const std::string &path, bool coldStart);

/// `marsc run`'s text: program, model, layers, cores; a note when the
/// program's ADC is not the one its model was trained for
/// (quant::adcMismatchNote); the functional result; the timing table.
std::string formatRunReport(const RunReport &report);

/// `marsc run --json`: program, adc (arch, trained_for, note), functional
/// (functionalJson), timing (reportJson), timing_model_seconds; two-space
/// indents and a final newline.
std::string runReportJson(const RunReport &report);

} // namespace mars::runtime
