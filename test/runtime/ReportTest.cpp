// Reports: the table, JSON, Chrome trace and SVG plot of a two-core program.
#include "../passes/CompileTestUtil.h"
#include "TimingTestPrograms.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Report.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
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

/// Three 1×1 Convs on one core, one after the other (a 3-layer program).
Timed threeLayers() {
  Timed t{tinyConvProgram(handArch(), {3, 3, 3, 3}), {}, {}};
  program::Program &p = t.program;
  p.layers[0].name = "conv1";
  p.layers.push_back(p.layers[0]);
  p.layers.back().name = "conv2";
  p.layers.push_back(p.layers[0]);
  p.layers.back().name = "conv3";
  for (int32_t layer = 0; layer < 3; ++layer) {
    int32_t image = addImage(p, 0, layer, {3, 3, 3, 3});
    p.images[image].layer = layer;
    emit(p, 0, Opcode::LoadImage, image);
    emit(p, 0, Opcode::Compute, image, 0, 16);
    emit(p, 0, Opcode::Post, layer, 0, 32);
  }
  Expected<TimingResult> r = simulateTiming(p);
  REQUIRE(r);
  t.timing = r.take();
  t.energy = estimateEnergy(p, t.timing);
  return t;
}

/// lenet5 compiled by the default pipeline (50% of its groups pruned),
/// parsed back from its bytes, timed from a cold start.
Timed compiledLenet() {
  test::CompileSetup setup;
  setup.options.prune = 0.5;
  passes::CompileState state = test::compileZoo(setup);
  auto p = program::parseProgram(state.bytes.data(), state.bytes.size(),
                                 "lenet5.bin");
  REQUIRE(p);
  Timed t{p.take(), {}, {}};
  Expected<TimingResult> r = simulateTiming(t.program);
  REQUIRE(r);
  t.timing = r.take();
  t.energy = estimateEnergy(t.program, t.timing);
  return t;
}

/// Empty when every tag of `xml` is closed in order; else what is wrong.
std::string tagBalance(const std::string &xml) {
  std::vector<std::string> open;
  for (size_t i = xml.find('<'); i != std::string::npos;
       i = xml.find('<', i + 1)) {
    const size_t end = xml.find('>', i);
    if (end == std::string::npos)
      return "unterminated tag at " + std::to_string(i);
    const std::string tag = xml.substr(i + 1, end - i - 1);
    if (tag.empty() || tag[0] == '?' || tag[0] == '!')
      continue;
    if (tag.back() == '/')
      continue; // <line .../>
    const std::string name =
        tag.substr(tag[0] == '/' ? 1 : 0,
                   tag.find_first_of(" \n/", 1) - (tag[0] == '/' ? 1 : 0));
    if (tag[0] != '/') {
      open.push_back(name);
      continue;
    }
    if (open.empty() || open.back() != name)
      return "</" + name + "> closes " +
             (open.empty() ? std::string("nothing") : "<" + open.back() + ">");
    open.pop_back();
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

/// The value of attribute `name` in the first tag of `tag`.
double attribute(const std::string &tag, const std::string &name) {
  std::smatch m;
  const std::regex re(" " + name + "=\"([-0-9.e+]+)\"");
  REQUIRE(std::regex_search(tag, m, re));
  return std::stod(m[1]);
}

/// Every `<rect class="bar" ...>` opening tag of `svg`.
std::vector<std::string> barTags(const std::string &svg) {
  std::vector<std::string> tags;
  const std::regex re("<rect class=\"bar\"[^>]*>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re);
       it != std::sregex_iterator(); ++it)
    tags.push_back(it->str());
  return tags;
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

TEST_CASE("the table gives energy and TOPS/W for the three scopes",
          "[report]") {
  Timed t = compiledLenet();
  std::string table = formatTimingTable(t.program, t.timing, t.energy);
  char row[256];
  const struct {
    const char *name;
    const EnergyScope &scope;
  } scopes[] = {{"macros (macro+ADC+shift-add)", t.energy.macros},
                {"chip without DRAM", t.energy.chip},
                {"chip with DRAM", t.energy.system}};
  for (const auto &s : scopes) {
    std::snprintf(row, sizeof row, "%.3f %18.3f %17.3f\n", s.scope.perImageUj(),
                  s.scope.topsPerWattEffective, s.scope.topsPerWattExecuted);
    INFO(table);
    CHECK_THAT(table, Catch::Contains(s.name));
    CHECK_THAT(table, Catch::Contains(row));
  }
  CHECK_THAT(table, Catch::Contains("macros") && Catch::Contains("DRAM"));
  // The split columns of the total row: macro + ADC + shift-add, the
  // rest, DRAM, all.
  const EnergyBreakdown &e = t.energy.total;
  std::snprintf(row, sizeof row, "%11.3f %11.3f %9.3f %11.3f\n",
                (e.macroPj + e.adcPj + e.shiftAddPj) * 1e-3,
                (e.digitalPj + e.sramPj + e.reloadPj + e.staticPj) * 1e-3,
                e.dramPj * 1e-3, e.totalPj() * 1e-3);
  CHECK_THAT(table, Catch::Contains(row));
  // No line grows past a terminal's width.
  std::istringstream lines(table);
  for (std::string line; std::getline(lines, line);)
    CHECK(line.size() <= 120);
}

TEST_CASE("the JSON report has the three scopes and every component",
          "[report]") {
  Timed t = compiledLenet();
  nlohmann::json j =
      nlohmann::json::parse(reportJson(t.program, t.timing, t.energy));
  const nlohmann::json &energy = j["energy"];
  // The keys other tools read stay.
  CHECK(energy["per_image_uj"].get<double>() ==
        Approx(t.energy.energyPerImageUj()));
  CHECK(energy["tops_per_watt_effective"].get<double>() ==
        Approx(t.energy.topsPerWattEffective));
  CHECK(energy["tops_per_watt_executed"].get<double>() ==
        Approx(t.energy.topsPerWattExecuted));
  const struct {
    const char *key;
    const EnergyScope &scope;
  } scopes[] = {{"macros", t.energy.macros},
                {"chip", t.energy.chip},
                {"system", t.energy.system}};
  for (const auto &s : scopes) {
    INFO(s.key);
    const nlohmann::json &js = energy["scopes"][s.key];
    REQUIRE(js.size() == 3);
    CHECK(js["per_image_uj"].get<double>() == Approx(s.scope.perImageUj()));
    CHECK(js["tops_per_watt_effective"].get<double>() ==
          Approx(s.scope.topsPerWattEffective));
    CHECK(js["tops_per_watt_executed"].get<double>() ==
          Approx(s.scope.topsPerWattExecuted));
  }
  CHECK(energy["scopes"]["macros"]["per_image_uj"].get<double>() <
        energy["scopes"]["chip"]["per_image_uj"].get<double>());
  for (size_t i = 0; i < t.timing.layers.size(); ++i) {
    const nlohmann::json &l = j["layers"][i];
    const EnergyBreakdown &e = t.energy.layers[i];
    const TimeBreakdown &b = t.timing.layers[i].breakdown;
    INFO(l["name"]);
    CHECK(l["energy"]["macro_pj"].get<double>() == Approx(e.macroPj));
    CHECK(l["energy"]["adc_pj"].get<double>() == Approx(e.adcPj));
    CHECK(l["energy"]["shift_add_pj"].get<double>() == Approx(e.shiftAddPj));
    CHECK(l["energy"]["digital_pj"].get<double>() == Approx(e.digitalPj));
    CHECK(l["energy"]["sram_pj"].get<double>() == Approx(e.sramPj));
    CHECK(l["energy"]["reload_pj"].get<double>() == Approx(e.reloadPj));
    CHECK(l["energy"]["dram_pj"].get<double>() == Approx(e.dramPj));
    CHECK(l["energy"]["static_pj"].get<double>() == Approx(e.staticPj));
    CHECK(l["energy_scopes_pj"]["macros"].get<double>() ==
          Approx(e.macroPj + e.adcPj + e.shiftAddPj));
    CHECK(l["energy_scopes_pj"]["chip"].get<double>() ==
          Approx(e.totalPj() - e.dramPj));
    CHECK(l["energy_scopes_pj"]["system"].get<double>() == Approx(e.totalPj()));
    const nlohmann::json &tb = l["time_breakdown_core_cycles"];
    CHECK(tb["compute"] == b.compute);
    CHECK(tb["digital"] == b.digital);
    CHECK(tb["reload"] == b.reload);
    CHECK(tb["memory"] == b.memory);
    CHECK(tb["stall"] == b.stall);
    CHECK(tb["idle"] == b.idle);
  }
}

TEST_CASE("the JSON report has per-layer entries and totals", "[report]") {
  Timed t = twoCores();
  nlohmann::json j =
      nlohmann::json::parse(reportJson(t.program, t.timing, t.energy));
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

TEST_CASE("the SVG plot stacks time and energy per layer, with legends",
          "[report]") {
  Timed t = compiledLenet();
  const std::string svg = svgPlot(t.program, t.timing, t.energy);
  CHECK(tagBalance(svg) == "");
  CHECK(tagBalance("<svg><g></svg>") != ""); // The checker can fail.

  // A legend entry for every time category and energy component.
  std::vector<std::string> legend;
  const std::regex re("<text class=\"legend\"[^>]*>([^<]*)</text>");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re);
       it != std::sregex_iterator(); ++it)
    legend.push_back((*it)[1]);
  const std::vector<std::string> expected = {
      "compute",       "digital post-processing",
      "weight reload", "memory wait (SRAM/DRAM)",
      "barrier stall", "idle",
      "macro",         "ADC",
      "shift-add",     "digital",
      "SRAM",          "reload",
      "DRAM",          "static"};
  CHECK(legend == expected);

  // One stacked rect per non-zero part of every drawn layer, each with its
  // tooltip naming the layer.
  size_t parts = 0, layers = 0;
  for (const LayerTiming &lt : t.timing.layers) {
    if (!lt.hasInstructions)
      continue;
    ++layers;
    const TimeBreakdown &b = lt.breakdown;
    const EnergyBreakdown &e = t.energy.layers[lt.layer];
    for (double v : {double(b.compute), double(b.digital), double(b.reload),
                     double(b.memory), double(b.stall), double(b.idle),
                     e.macroPj, e.adcPj, e.shiftAddPj, e.digitalPj, e.sramPj,
                     e.reloadPj, e.dramPj, e.staticPj})
      parts += v > 0 ? 1 : 0;
    CHECK_THAT(svg, Catch::Contains("<title>" + lt.name + ": "));
  }
  REQUIRE(layers >= 3);
  CHECK(barTags(svg).size() == parts);
  const size_t titles = [&] {
    size_t n = 0;
    for (size_t i = svg.find("</title></rect>"); i != std::string::npos;
         i = svg.find("</title></rect>", i + 1))
      ++n;
    return n;
  }();
  CHECK(titles == parts);

  // The figure title's line is above everything else drawn.
  for (const std::string &tag : barTags(svg))
    CHECK(attribute(tag, "y") > 30);
  CHECK_THAT(svg, Catch::Contains("core-cycles"));
  CHECK_THAT(svg, Catch::Contains("energy (nJ)"));
}

TEST_CASE("the SVG plot's bars use its width", "[report]") {
  Timed t = threeLayers();
  REQUIRE(t.timing.layers.size() == 3);
  const std::string svg = svgPlot(t.program, t.timing, t.energy);
  CHECK(tagBalance(svg) == "");
  const double width = attribute(svg.substr(0, svg.find('>')), "width");
  CHECK(width >= 720);
  double right = 0, left = width;
  for (const std::string &tag : barTags(svg)) {
    right = std::max(right, attribute(tag, "x") + attribute(tag, "width"));
    left = std::min(left, attribute(tag, "x"));
  }
  CHECK(right >= 0.9 * width);
  CHECK(right <= width);
  CHECK(left < 0.2 * width);
  for (const char *name : {"conv1", "conv2", "conv3"})
    CHECK_THAT(svg, Catch::Contains(std::string(">") + name + "</text>"));
}

TEST_CASE("report files are not written into a missing directory", "[report]") {
  Timed t = twoCores();
  const std::string path = tempPath("missing-dir") + "/trace.json";
  Status s = writeChromeTrace(path, t.program, t.timing);
  REQUIRE_FALSE(s);
  CHECK_THAT(s.error().message(), Catch::Contains("cannot write"));
  REQUIRE_FALSE(writeSvgPlot(path, t.program, t.timing, t.energy));
}
