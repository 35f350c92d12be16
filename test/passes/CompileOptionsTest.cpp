// passes/CompileOptions and formatStatistics: `marsc compile`'s options and
// --stats as the compiler takes and prints them.
#include "mars/passes/CompileOptions.h"
#include "mars/passes/PassManager.h"
#include "mars/passes/Report.h"

#include "CompileTestUtil.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace mars;

TEST_CASE("--calib-method names", "[compileoptions]") {
  CHECK(*passes::parseCalibMethod("minmax") == passes::CalibMethod::MinMax);
  CHECK(*passes::parseCalibMethod("percentile") ==
        passes::CalibMethod::Percentile);
  auto bad = passes::parseCalibMethod("median");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() ==
        "--calib-method must be minmax or percentile, got 'median'");
}

TEST_CASE("--prune and --percentile ranges, NaN included", "[compileoptions]") {
  passes::CompileOptions o;
  CHECK(passes::checkCompileOptions(o).ok());
  o.prune = 0.99;
  CHECK(passes::checkCompileOptions(o).ok());
  o.prune = 1.0;
  Status s = passes::checkCompileOptions(o);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message() == "--prune must be in [0, 1), got 1");
  o.prune = std::nan("");
  CHECK_FALSE(passes::checkCompileOptions(o).ok());
  o.prune = 0;
  o.percentile = 49.5;
  s = passes::checkCompileOptions(o);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message() == "--percentile must be in [50, 100], got 49.5");
  o.percentile = 100;
  CHECK(passes::checkCompileOptions(o).ok());
}

TEST_CASE("--pipeline lists, the pass help and the default output name",
          "[compileoptions]") {
  CHECK(passes::parsePipeline("") == passes::defaultPipeline());
  CHECK(passes::parsePipeline("fold-bn,,quantize,") ==
        std::vector<std::string>{"fold-bn", "quantize"});
  const std::string help = passes::passListHelp();
  CHECK(help.rfind("Passes (default pipeline in this order):\n", 0) == 0);
  for (const passes::PassInfo &p : passes::registeredPasses())
    CHECK(help.find(std::string("\n  ") + p.name + ": ") != std::string::npos);
  CHECK(passes::defaultProgramPath("dir/m.onnx") == "dir/m.bin");
  CHECK(passes::defaultProgramPath("m.model") == "m.model.bin");
  CHECK(passes::defaultProgramPath(".onnx") == ".onnx.bin");
}

TEST_CASE("--stats lists every counter of a compilation", "[compileoptions]") {
  passes::CompileState state = test::compileZoo({});
  const std::string text = passes::formatStatistics(state);
  CHECK(text.rfind("statistics:\n", 0) == 0);
  size_t lines = 0;
  for (char c : text)
    lines += c == '\n';
  CHECK(lines == state.stats.size() + 1);
  const passes::Statistic &first = state.stats.front();
  char expected[128];
  std::snprintf(expected, sizeof expected, "\n  %-16s %12lld  %s\n",
                first.pass.c_str(), static_cast<long long>(first.value),
                first.name.c_str());
  CHECK(text.find(expected) != std::string::npos);
}
