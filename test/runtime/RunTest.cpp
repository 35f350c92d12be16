// runtime/Run: the functional part of `marsc run` (mode policy, accuracy
// and one-image runs, text and JSON) on lenet5 compiled by the real passes.
#include "../passes/CompileTestUtil.h"

#include "mars/program/ProgramFile.h"
#include "mars/quant/Execute.h"
#include "mars/runtime/Run.h"
#include "mars/support/Random.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

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
  CHECK(runtime::formatFunctional(*none, p) ==
        "functional: shifted, macro-level (bit-serial) model, 0.50 s (12.0 "
        "images/s)\naccuracy: 0/6 = 0.00%\n");
  auto j = nlohmann::json::parse(runtime::functionalJson(*all, p));
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
