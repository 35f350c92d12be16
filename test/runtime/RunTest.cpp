// runtime/Run: the functional part of `marsc run` (mode policy, accuracy
// and one-image runs, text and JSON) on lenet5 compiled by the real passes.
#include "../passes/CompileTestUtil.h"

#include "mars/program/ProgramFile.h"
#include "mars/quant/Execute.h"
#include "mars/runtime/Report.h"
#include "mars/runtime/Run.h"
#include "mars/support/Random.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <memory>

using namespace mars;

namespace {

/// lenet5 compiled for `spec`, parsed back from its bytes.
struct Compiled {
  passes::CompileState state;
  program::Program program;
};

Compiled compileLenet5(const arch::ArchSpec &spec) {
  test::CompileSetup setup;
  setup.arch = spec;
  Compiled c{test::compileZoo(setup), {}};
  auto p = program::parseProgram(c.state.bytes.data(), c.state.bytes.size(),
                                 "lenet5.bin");
  REQUIRE(p);
  c.program = p.take();
  return c;
}

arch::ArchSpec saturatingArch() {
  arch::ArchSpec spec = arch::defaultArch();
  spec.macro.adcBits = 3; // 7 < wl_on 16: column counts can saturate
  REQUIRE_FALSE(spec.adcExact());
  return spec;
}

std::vector<float> image(const program::Program &p, uint64_t seed) {
  return Random(seed).unitFloats(size_t(p.buffers[p.input].size()));
}

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("run mode: auto is fast exactly when the ADC cannot saturate",
          "[run]") {
  Compiled exact = compileLenet5(arch::defaultArch());
  CHECK(*runtime::chooseExecMode("auto", exact.program) ==
        runtime::ExecMode::Fast);
  CHECK(*runtime::chooseExecMode("fast", exact.program) ==
        runtime::ExecMode::Fast);
  CHECK(*runtime::chooseExecMode("macro", exact.program) ==
        runtime::ExecMode::MacroLevel);
  auto bad = runtime::chooseExecMode("fast2", exact.program);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() ==
        "--mode must be auto, fast or macro, got 'fast2'");

  Compiled saturating = compileLenet5(saturatingArch());
  CHECK(*runtime::chooseExecMode("auto", saturating.program) ==
        runtime::ExecMode::MacroLevel);
  auto fast = runtime::chooseExecMode("fast", saturating.program);
  REQUIRE_FALSE(fast);
  CHECK(contains(fast.error().message(), "(adc_bits 3) can saturate"));
  // Post-training quantization records no trained ADC: nothing to note.
  CHECK(runtime::trainedAdcNote(exact.program).empty());
  CHECK(runtime::defaultThreads() >= 1);
  CHECK(runtime::defaultThreads() <= 8);
}

TEST_CASE("accuracy counts the images whose class is the label", "[run]") {
  Compiled c = compileLenet5(arch::defaultArch());
  const program::Program &p = c.program;
  const int64_t count = 6;
  // The labels: the integer reference's class of each image.
  std::vector<int> classes;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<float> x = image(p, 50 + uint64_t(i));
    auto q = quant::runInteger(*c.state.net,
                               quant::quantizeInput(*c.state.net, x.data()));
    classes.push_back(quant::argmaxClass(*c.state.net, q));
  }
  auto source = [&](int64_t i, float *dst) {
    std::vector<float> x = image(p, 50 + uint64_t(i));
    std::copy(x.begin(), x.end(), dst);
  };
  int64_t progressCalls = 0;
  auto all = runtime::runAccuracy(
      p, runtime::ExecMode::Fast, count, 2, source,
      [&](int64_t i) { return classes[size_t(i)]; },
      [&](int64_t) { ++progressCalls; }, "six images");
  REQUIRE(all);
  CHECK(all->correct == count);
  CHECK(all->images == count);
  CHECK(all->what == "six images");
  CHECK(all->mode == "fast (exact ADC)");
  CHECK(progressCalls == count);
  auto none = runtime::runAccuracy(
      p, runtime::ExecMode::MacroLevel, count, 1, source,
      [&](int64_t i) { return (classes[size_t(i)] + 1) % 10; }, {}, "shifted");
  REQUIRE(none);
  CHECK(none->correct == 0);
  CHECK(none->mode == "macro-level (bit-serial)");

  none->seconds = 0.5;
  none->kernels = "AVX2";
  CHECK(runtime::formatFunctional(*none, p) ==
        "functional: shifted, macro-level (bit-serial) model (AVX2 kernels), "
        "0.50 s (12.0 images/s)\naccuracy: 0/6 = 0.00%\n");
  auto j = nlohmann::json::parse(runtime::functionalJson(*all, p));
  // The instruction set the simulator's kernels ran on, named.
  CHECK(j["kernels"] == runtime::bestFastKernelName());
  CHECK(j["correct"] == count);
  CHECK(j["accuracy"] == 1.0);
  CHECK_FALSE(j.contains("output"));
}

TEST_CASE("one image: its output, class and report", "[run]") {
  Compiled c = compileLenet5(arch::defaultArch());
  const program::Program &p = c.program;
  std::vector<float> x = image(p, 9);
  auto r = runtime::runOneImage(p, runtime::ExecMode::Fast, x, "x.npy");
  REQUIRE(r);
  auto ref = quant::runInteger(*c.state.net,
                               quant::quantizeInput(*c.state.net, x.data()));
  CHECK(r->output == ref);
  CHECK(r->correct == -1);
  const int cls = runtime::argmaxClass(p, ref);
  CHECK(contains(runtime::formatFunctional(*r, p),
                 "\noutput: 10 values, class " + std::to_string(cls) + "\n"));
  auto j = nlohmann::json::parse(runtime::functionalJson(*r, p));
  CHECK(j["class"] == cls);
  REQUIRE(j["output"].size() == 10);
  CHECK(j["output"][3].get<double>() == runtime::outputReal(p, ref, 3));

  runtime::RunReport report;
  report.program = &p;
  report.path = "lenet5.bin";
  auto timing = runtime::simulateTiming(p, {});
  REQUIRE(timing);
  report.timing = timing.take();
  report.energy = runtime::estimateEnergy(p, report.timing);
  report.functional = *r;
  const std::string text = runtime::formatRunReport(report);
  CHECK(text.rfind("lenet5.bin: lenet5, ", 0) == 0);
  CHECK(contains(text, "\ntiming: steady-state image\n"));
  auto doc = nlohmann::ordered_json::parse(runtime::runReportJson(report));
  std::vector<std::string> keys;
  for (auto it = doc.begin(); it != doc.end(); ++it)
    keys.push_back(it.key());
  CHECK(keys == std::vector<std::string>{"program", "adc", "functional",
                                         "timing", "timing_model_seconds"});
  CHECK(doc["adc"]["arch"] == "exact");
  CHECK(doc["functional"]["class"] == cls);
}

namespace {

/// `count` labelled images of `p`'s input shape: image i is the seeded image
/// 50 + i, labelled with the integer reference's class plus `shift`.
runtime::LabelledImages labelled(const Compiled &c, int64_t count, int shift) {
  const program::Program &p = c.program;
  const program::Buffer &in = p.buffers[p.input];
  auto classes = std::make_shared<std::vector<int>>();
  for (int64_t i = 0; i < count; ++i) {
    std::vector<float> x = image(p, 50 + uint64_t(i));
    auto q = quant::runInteger(*c.state.net,
                               quant::quantizeInput(*c.state.net, x.data()));
    classes->push_back((quant::argmaxClass(*c.state.net, q) + shift) % 10);
  }
  const program::Program *program = &p;
  return {"six/test",
          count,
          in.channels,
          in.height,
          in.width,
          [program](int64_t i, float *dst) {
            std::vector<float> x = image(*program, 50 + uint64_t(i));
            std::copy(x.begin(), x.end(), dst);
          },
          [classes](int64_t i) { return (*classes)[size_t(i)]; }};
}

/// Inputs whose loaders fail the test if called.
runtime::RunInputs noLoads() {
  runtime::RunInputs in;
  in.loadData = []() -> Expected<runtime::LabelledImages> {
    FAIL("--data loaded");
    return Error("");
  };
  in.loadInput = []() -> Expected<runtime::InputImage> {
    FAIL("--input loaded");
    return Error("");
  };
  return in;
}

} // namespace

TEST_CASE("run inputs: labelled images, --limit and the progress count",
          "[run]") {
  Compiled c = compileLenet5(arch::defaultArch());
  const program::Program &p = c.program;
  runtime::RunInputs in = noLoads();
  in.data = "six";
  in.loadData = [&] { return labelled(c, 6, 0); };
  int64_t progressCount = -1, progressCalls = 0;
  in.progress = [&](int64_t count) {
    progressCount = count;
    return [&](int64_t) { ++progressCalls; };
  };
  in.input = "ignored.npy"; // --data takes precedence

  auto all = runtime::runFunctional(p, "auto", in);
  REQUIRE(all);
  CHECK(all->what == "six/test (6 images)");
  CHECK(all->images == 6);
  CHECK(all->correct == 6);
  CHECK(all->mode == "fast (exact ADC)");
  CHECK(all->seconds > 0);
  CHECK(progressCount == 6);
  CHECK(progressCalls == 6);

  in.limit = 4;
  in.loadData = [&] { return labelled(c, 6, 1); };
  auto some = runtime::runFunctional(p, "macro", in);
  REQUIRE(some);
  CHECK(some->what == "six/test (4 images)");
  CHECK(some->images == 4);
  CHECK(some->correct == 0);
  CHECK(progressCount == 4);

  in.limit = 100; // more than there are: all of them
  in.progress = nullptr;
  auto capped = runtime::runFunctional(p, "auto", in);
  REQUIRE(capped);
  CHECK(capped->images == 6);
}

TEST_CASE("run inputs: labelled images of another shape, a failed load",
          "[run]") {
  Compiled c = compileLenet5(arch::defaultArch());
  runtime::RunInputs in = noLoads();
  in.data = "cifar10:DIR";
  in.loadData = [&]() -> Expected<runtime::LabelledImages> {
    runtime::LabelledImages images = labelled(c, 1, 0);
    images.channels = 3;
    images.height = images.width = 32;
    return images;
  };
  auto shape = runtime::runFunctional(c.program, "auto", in);
  REQUIRE_FALSE(shape);
  CHECK(shape.error().message() == "--data cifar10:DIR: images are 3×32×32 "
                                   "but the program expects 1×28×28");

  in.loadData = []() -> Expected<runtime::LabelledImages> {
    return Error("--data: x: file not found");
  };
  auto missing = runtime::runFunctional(c.program, "auto", in);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message() == "--data: x: file not found");
}

TEST_CASE("run inputs: the mode is checked before anything is loaded",
          "[run]") {
  Compiled c = compileLenet5(arch::defaultArch());
  runtime::RunInputs in = noLoads();
  in.data = "six";
  auto bad = runtime::runFunctional(c.program, "fastest", in);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() ==
        "--mode must be auto, fast or macro, got 'fastest'");
}

TEST_CASE("run inputs: one image, checked against the program's input",
          "[run]") {
  Compiled c = compileLenet5(arch::defaultArch());
  const program::Program &p = c.program;
  runtime::RunInputs in = noLoads();
  in.input = "x.npy";
  runtime::InputImage x{"f32[1,1,28,28]", /*float32=*/true, image(p, 9)};
  in.loadInput = [&] { return x; };
  auto one = runtime::runFunctional(p, "auto", in);
  REQUIRE(one);
  auto direct = runtime::runOneImage(p, runtime::ExecMode::Fast, x.values, "");
  REQUIRE(direct);
  CHECK(one->output == direct->output);
  CHECK(one->what == "x.npy");
  CHECK(one->images == 1);

  x = {"f32[1,3,28,28]", true, std::vector<float>(3 * 28 * 28)};
  auto size = runtime::runFunctional(p, "auto", in);
  REQUIRE_FALSE(size);
  CHECK(size.error().message() == "x.npy: the program expects float32 "
                                  "[1, 1, 28, 28] but the file holds "
                                  "f32[1,3,28,28]");
  x = {"i64[1,1,28,28]", false, std::vector<float>(28 * 28)};
  auto dtype = runtime::runFunctional(p, "auto", in);
  REQUIRE_FALSE(dtype);
  CHECK(dtype.error().message() == "x.npy: the program expects float32 "
                                   "[1, 1, 28, 28] but the file holds "
                                   "i64[1,1,28,28]");
}

TEST_CASE("run inputs: neither --data nor --input is the seeded image",
          "[run]") {
  Compiled c = compileLenet5(arch::defaultArch());
  const program::Program &p = c.program;
  runtime::RunInputs in = noLoads();
  in.seed = 7;
  auto r = runtime::runFunctional(p, "macro", in);
  REQUIRE(r);
  CHECK(r->what == "random image (seed 7)");
  auto direct =
      runtime::runOneImage(p, runtime::ExecMode::MacroLevel, image(p, 7), "");
  REQUIRE(direct);
  CHECK(r->output == direct->output);
}

TEST_CASE("run output: logits as [1, C] real values", "[run]") {
  Compiled c = compileLenet5(arch::defaultArch());
  const program::Program &p = c.program;
  auto r = runtime::runOneImage(p, runtime::ExecMode::Fast, image(p, 3), "");
  REQUIRE(r);
  CHECK(runtime::outputShape(p) == std::vector<int64_t>{1, 10});
  std::vector<float> values = runtime::outputReals(p, r->output);
  REQUIRE(values.size() == 10);
  for (size_t i = 0; i < values.size(); ++i)
    CHECK(values[i] == float(runtime::outputReal(p, r->output, int64_t(i))));

  // A program whose output is a feature map keeps its height and width.
  program::Program map = p;
  program::Buffer &out = map.buffers[map.output];
  out.channels = 4;
  out.height = 2;
  out.width = 3;
  CHECK(runtime::outputShape(map) == std::vector<int64_t>{1, 4, 2, 3});
}

TEST_CASE("the timing and energy models of a run, steady or cold", "[run]") {
  Compiled c = compileLenet5(arch::defaultArch());
  const program::Program &p = c.program;
  for (bool cold : {false, true}) {
    auto report = runtime::simulateRun(p, "lenet5.bin", cold);
    REQUIRE(report);
    runtime::TimingOptions options;
    options.steadyState = !cold;
    auto timing = runtime::simulateTiming(p, options);
    REQUIRE(timing);
    CHECK(report->program == &p);
    CHECK(report->path == "lenet5.bin");
    CHECK(report->coldStart == cold);
    CHECK(report->timing.steadyState == !cold);
    CHECK(report->timing.cycles == timing->cycles);
    CHECK(runtime::reportJson(p, report->timing, report->energy) ==
          runtime::reportJson(p, *timing, runtime::estimateEnergy(p, *timing)));
    CHECK(report->timingSeconds > 0);
    CHECK(report->functional.images == 0);
  }
  // Cold start pays the first weight loads.
  auto steady = runtime::simulateRun(p, "", false);
  auto cold = runtime::simulateRun(p, "", true);
  REQUIRE(steady);
  REQUIRE(cold);
  CHECK(cold->timing.cycles >= steady->timing.cycles);
}
