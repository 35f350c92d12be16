// What `marsc run` does: the timing and energy models once, the mode
// policy, accuracy and one-image runs, and their text and JSON.
#include "mars/runtime/Run.h"

#include "mars/quant/IntegerNet.h"
#include "mars/runtime/Report.h"
#include "mars/support/Random.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

namespace mars::runtime {

namespace {

const char *modeName(ExecMode mode) {
  return mode == ExecMode::Fast ? "fast (exact ADC)"
                                : "macro-level (bit-serial)";
}

/// The ADC of the program's arch, as lib/quant describes it.
quant::AdcModel chipAdc(const program::Program &p) {
  return {p.arch.macro.wlOn, p.arch.macro.adcBits,
          p.arch.macro.inputBitsPerCycle};
}

} // namespace

Expected<ExecMode> chooseExecMode(const std::string &mode,
                                  const program::Program &p) {
  bool exact = adcIsExact(p);
  if (mode == "macro")
    return ExecMode::MacroLevel;
  if (mode == "fast") {
    if (!exact)
      return makeError("--mode fast: this program's ADC (adc_bits ",
                       p.arch.macro.adcBits,
                       ") can saturate, so only the macro-level model is "
                       "exact; use --mode macro or auto");
    return ExecMode::Fast;
  }
  if (mode != "auto")
    return makeError("--mode must be auto, fast or macro, got '", mode, "'");
  return exact ? ExecMode::Fast : ExecMode::MacroLevel;
}

std::string trainedAdcNote(const program::Program &p) {
  return quant::adcMismatchNote(p.info.trainedAdc, chipAdc(p));
}

int defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(std::min(n, 8u));
}

Expected<FunctionalResult>
runAccuracy(const program::Program &p, ExecMode mode, int64_t count,
            int threads, const ImageSource &source, const LabelSource &label,
            const ProgressSink &progress, const std::string &what) {
  FunctionalResult r;
  r.mode = modeName(mode);
  ExecOptions opts;
  opts.mode = mode;
  std::atomic<int64_t> correct{0};
  MARS_TRY(runImages(
      p, opts, count, threads, source,
      [&](int64_t i, const std::vector<int32_t> &out) {
        if (argmaxClass(p, out) == label(i))
          ++correct;
      },
      progress));
  r.what = what;
  r.images = count;
  r.correct = correct;
  return r;
}

Expected<FunctionalResult> runOneImage(const program::Program &p, ExecMode mode,
                                       const std::vector<float> &image,
                                       const std::string &what) {
  FunctionalResult r;
  r.mode = modeName(mode);
  ExecOptions opts;
  opts.mode = mode;
  MARS_TRY(runImages(
      p, opts, 1, 1,
      [&](int64_t, float *dst) { std::copy(image.begin(), image.end(), dst); },
      [&](int64_t, const std::vector<int32_t> &out) { r.output = out; }));
  r.what = what;
  r.images = 1;
  return r;
}

namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Accuracy over the first `inputs.limit` labelled images.
Expected<FunctionalResult> runLabelled(const program::Program &p, ExecMode mode,
                                       const RunInputs &inputs) {
  auto images = inputs.loadData();
  if (!images)
    return images.error();
  const program::Buffer &in = p.buffers[p.input];
  if (images->channels != in.channels || images->height != in.height ||
      images->width != in.width)
    return makeError("--data ", inputs.data, ": images are ", images->channels,
                     "×", images->height, "×", images->width,
                     " but the program expects ", in.channels, "×", in.height,
                     "×", in.width);
  const int64_t count =
      inputs.limit > 0 ? std::min(inputs.limit, images->count) : images->count;
  const ProgressSink progress =
      inputs.progress ? inputs.progress(count) : ProgressSink();
  return runAccuracy(p, mode, count,
                     inputs.threads > 0 ? inputs.threads : defaultThreads(),
                     images->image, images->label, progress,
                     images->name + " (" + std::to_string(count) + " images)");
}

/// The one image of `--input`, checked against the program's input.
Expected<FunctionalResult> runInput(const program::Program &p, ExecMode mode,
                                    const RunInputs &inputs) {
  auto image = inputs.loadInput();
  if (!image)
    return image.error();
  const program::Buffer &in = p.buffers[p.input];
  if (int64_t(image->values.size()) != in.size() || !image->float32)
    return makeError(inputs.input, ": the program expects float32 ", "[1, ",
                     in.channels, ", ", in.height, ", ", in.width,
                     "] but the file holds ", image->type,
                     image->type.rfind("f64", 0) == 0 ? kFloat64Advice : "");
  return runOneImage(p, mode, image->values, inputs.input);
}

} // namespace

Expected<FunctionalResult> runFunctional(const program::Program &p,
                                         const std::string &mode,
                                         const RunInputs &inputs) {
  auto exec = chooseExecMode(mode, p);
  if (!exec)
    return exec.error();
  const auto start = std::chrono::steady_clock::now();
  Expected<FunctionalResult> r = Error("");
  if (!inputs.data.empty()) {
    r = runLabelled(p, *exec, inputs);
  } else if (!inputs.input.empty()) {
    r = runInput(p, *exec, inputs);
  } else {
    const size_t size = size_t(p.buffers[p.input].size());
    r = runOneImage(p, *exec, Random(inputs.seed).unitFloats(size),
                    "random image (seed " + std::to_string(inputs.seed) + ")");
  }
  if (r)
    r->seconds = secondsSince(start);
  return r;
}

std::vector<int64_t> outputShape(const program::Program &p) {
  const program::Buffer &b = p.buffers[p.output];
  if (b.height == 1 && b.width == 1)
    return {1, b.channels};
  return {1, b.channels, b.height, b.width};
}

std::vector<float> outputReals(const program::Program &p,
                               const std::vector<int32_t> &output) {
  std::vector<float> values(output.size());
  for (size_t i = 0; i < output.size(); ++i)
    values[i] = static_cast<float>(outputReal(p, output, int64_t(i)));
  return values;
}

Expected<RunReport> simulateRun(const program::Program &p,
                                const std::string &path, bool coldStart) {
  RunReport report;
  report.program = &p;
  report.path = path;
  report.coldStart = coldStart;
  TimingOptions options;
  options.steadyState = !coldStart;
  const auto start = std::chrono::steady_clock::now();
  auto timing = simulateTiming(p, options);
  if (!timing)
    return timing.error().withContext(path);
  report.timing = timing.take();
  report.energy = estimateEnergy(p, report.timing);
  report.timingSeconds = secondsSince(start);
  return report;
}

std::string formatFunctional(const FunctionalResult &r,
                             const program::Program &p) {
  char line[192];
  std::snprintf(line, sizeof line,
                " model (%s kernels), %.2f s (%.1f images/s)\n",
                r.kernels.c_str(), r.seconds,
                r.seconds > 0 ? double(r.images) / r.seconds : 0.0);
  std::string text = "functional: " + r.what + ", " + r.mode + line;
  if (r.correct >= 0) {
    std::snprintf(
        line, sizeof line, "accuracy: %lld/%lld = %.2f%%\n",
        static_cast<long long>(r.correct), static_cast<long long>(r.images),
        100.0 * double(r.correct) / double(std::max<int64_t>(1, r.images)));
    text += line;
  }
  if (!r.output.empty()) {
    text += "output: " + std::to_string(r.output.size()) + " values";
    if (p.buffers[p.output].height == 1 && p.buffers[p.output].width == 1)
      text += ", class " + std::to_string(argmaxClass(p, r.output));
    text += "\n";
  }
  return text;
}

std::string functionalJson(const FunctionalResult &r,
                           const program::Program &p) {
  nlohmann::ordered_json j = {{"source", r.what},
                              {"mode", r.mode},
                              {"kernels", r.kernels},
                              {"images", r.images},
                              {"seconds", r.seconds}};
  if (r.correct >= 0) {
    j["correct"] = r.correct;
    j["accuracy"] = double(r.correct) / double(std::max<int64_t>(1, r.images));
  }
  if (!r.output.empty()) {
    std::vector<double> values;
    for (size_t i = 0; i < r.output.size() && i < 1024; ++i)
      values.push_back(outputReal(p, r.output, int64_t(i)));
    j["output"] = values;
    j["class"] = argmaxClass(p, r.output);
  }
  return j.dump();
}

std::string formatRunReport(const RunReport &r) {
  const program::Program &p = *r.program;
  std::string text = r.path + ": " + p.info.model + ", " +
                     std::to_string(p.layers.size()) + " layers, " +
                     std::to_string(p.arch.chip.cores) + " cores\n";
  const std::string note = trainedAdcNote(p);
  if (!note.empty())
    text += "note: " + note + "\n";
  text += formatFunctional(r.functional, p);
  text += std::string("timing: ") +
          (r.coldStart ? "first (cold-start) " : "steady-state") + " image\n";
  return text + formatTimingTable(p, r.timing, r.energy);
}

std::string runReportJson(const RunReport &r) {
  const program::Program &p = *r.program;
  // The ADC the model was trained for against the one this program runs.
  const quant::AdcModel adc = chipAdc(p);
  nlohmann::ordered_json j;
  j["program"] = r.path;
  j["adc"] = {{"arch", adc.describe()},
              {"trained_for", p.info.trainedAdc},
              {"note", quant::adcMismatchNote(p.info.trainedAdc, adc)}};
  j["functional"] =
      nlohmann::ordered_json::parse(functionalJson(r.functional, p));
  j["timing"] =
      nlohmann::ordered_json::parse(reportJson(p, r.timing, r.energy));
  // The simulator's own run time: the timing and energy models (once per
  // run) and the functional model (functional.seconds).
  j["timing_model_seconds"] = r.timingSeconds;
  return j.dump(2) + "\n";
}

} // namespace mars::runtime
