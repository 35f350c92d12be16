// Reports: the table, JSON, Chrome trace and SVG plot of a two-core program.
#include "TimingTestPrograms.h"
#include "mars/runtime/Report.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace mars;
using namespace mars::runtime;
using mars::program::Opcode;
using namespace mars::runtime::testing;

namespace {

struct Timed {
  program::Program program;
  TimingResult timing;
  EnergyResult energy;
};

/// Two cores split a Conv's pixels, meet at a barrier, and post-process
/// half of the channels each.
Timed twoCores() {
  arch::ArchSpec a = handArch();
  a.chip.cores = 2;
  Timed t{tinyConvProgram(a, {3, 3, 3, 3}), {}, {}};
  program::Program &p = t.program;
  p.layers[0].name = "conv<1>";
  int32_t i0 = addImage(p, 0, 0, {3, 3, 3, 3});
  int32_t i1 = addImage(p, 1, 0, {3, 3, 3, 3});
  emit(p, 0, Opcode::LoadImage, i0);
  emit(p, 0, Opcode::Compute, i0, 0, 8);
  emit(p, 0, Opcode::Sync, 0);
  emit(p, 0, Opcode::Post, 0, 0, 16);
  emit(p, 1, Opcode::LoadImage, i1);
  emit(p, 1, Opcode::Compute, i1, 8, 16);
  emit(p, 1, Opcode::Sync, 0);
  emit(p, 1, Opcode::Post, 0, 16, 32);
  Expected<TimingResult> r = simulateTiming(p);
  REQUIRE(r);
  t.timing = r.take();
  t.energy = estimateEnergy(p, t.timing);
  return t;
}

std::string tempPath(const std::string &name) {
  return (std::filesystem::temp_directory_path() /
          ("mars_report_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::string slurp(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

} // namespace

TEST_CASE("the table lists layers and totals", "[report]") {
  Timed t = twoCores();
  std::string table = formatTimingTable(t.program, t.timing, t.energy);
  CHECK_THAT(table, Catch::Contains("conv<1>"));
  CHECK_THAT(table, Catch::Contains("latency"));
  CHECK_THAT(table, Catch::Contains("TOPS/W"));
  CHECK_THAT(table, Catch::Contains("stall"));
  CHECK_THAT(table,
             Catch::Contains(std::to_string(t.timing.layers[0].cycles())));
}

TEST_CASE("the JSON report has per-layer entries and totals", "[report]") {
  Timed t = twoCores();
  nlohmann::json j = nlohmann::json::parse(
      reportJson(t.program, t.timing, t.energy));
  CHECK(j["cycles"] == t.timing.cycles);
  REQUIRE(j["layers"].size() == t.program.layers.size());
  CHECK(j["layers"][0]["name"] == "conv<1>");
  CHECK(j["layers"][0]["cycles"] == t.timing.layers[0].cycles());
  CHECK(j["layers"][0]["counters"]["activations"] ==
        t.timing.layers[0].counters.activations);
  CHECK(j["energy"]["breakdown"]["total_pj"].get<double>() ==
        Approx(t.energy.total.totalPj()));
  CHECK(j["core_stall_cycles"].size() == 2);
  // Deterministic: the same results give the same text.
  CHECK(reportJson(t.program, t.timing, t.energy) ==
        reportJson(t.program, t.timing, t.energy));
}

TEST_CASE("the Chrome trace has one complete event per instruction",
          "[report]") {
  Timed t = twoCores();
  const std::string path = tempPath("trace.json");
  REQUIRE(writeChromeTrace(path, t.program, t.timing));
  nlohmann::json j = nlohmann::json::parse(slurp(path));
  std::filesystem::remove(path);

  size_t instructions = 0, io = 0;
  bool sawCompute = false;
  for (const nlohmann::json &ev : j["traceEvents"]) {
    if (ev["ph"] != "X")
      continue;
    CHECK(ev["dur"].get<double>() >= 0);
    if (ev["cat"] == "io") {
      ++io;
      continue;
    }
    ++instructions;
    CHECK(ev["pid"].get<int>() < 2);
    if (ev["name"] == "conv<1> compute px[8,16)") {
      sawCompute = true;
      CHECK(ev["pid"] == 1);
      CHECK(ev["tid"] == 0); // Macro 0.
      const TimedEvent &c = t.timing.events[5];
      CHECK(ev["ts"].get<double>() == Approx(c.start / 200.0));
      CHECK(ev["dur"].get<double>() == Approx((c.end - c.start) / 200.0));
    }
  }
  CHECK(instructions == 8);
  CHECK(io == 2);
  CHECK(sawCompute);
}

TEST_CASE("the SVG plot names every layer", "[report]") {
  Timed t = twoCores();
  const std::string path = tempPath("plot.svg");
  REQUIRE(writeSvgPlot(path, t.program, t.timing, t.energy));
  std::string svg = slurp(path);
  std::filesystem::remove(path);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK_THAT(svg, Catch::Contains("conv&lt;1&gt;"));
  CHECK_THAT(svg, !Catch::Contains("conv<1>"));
  CHECK_THAT(svg, Catch::Contains("cycles"));
  CHECK_THAT(svg, Catch::Contains("energy (nJ)"));
}

TEST_CASE("report files are not written into a missing directory",
          "[report]") {
  Timed t = twoCores();
  const std::string path = tempPath("missing-dir") + "/trace.json";
  Status s = writeChromeTrace(path, t.program, t.timing);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().message(), Catch::Contains("cannot write"));
  REQUIRE_FALSE(writeSvgPlot(path, t.program, t.timing, t.energy));
}
