// lib/dse, the library behind `marsc collect`: result kinds, design points
// from file names, the join, the row order, Pareto fronts, the formats and
// byte-identical output for the same files in any order.
#include "mars/support/Random.h"
#include "common/Subprocess.h"

#include "mars/dse/FrontPlot.h"
#include "mars/dse/Join.h"
#include "mars/dse/Pareto.h"
#include "mars/dse/Table.h"
#include "mars/support/AtomicFile.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <fstream>

using namespace mars::dse;

namespace {

const std::string kData = std::string(MARS_SOURCE_DIR) + "/test/dse/data";

std::vector<std::string> fixturePaths() {
  std::vector<std::string> paths;
  DIR *dir = opendir(kData.c_str());
  REQUIRE(dir);
  while (dirent *e = readdir(dir)) {
    const std::string name = e->d_name;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0)
      paths.push_back(kData + "/" + name);
  }
  closedir(dir);
  std::sort(paths.begin(), paths.end());
  return paths;
}

/// A result file made in memory (no JSON): for join and sort tests.
ResultFile file(const std::string &path, ResultKind kind,
                std::map<std::string, double> metrics = {}) {
  return {path, kind, parsePoint(path), std::move(metrics)};
}

std::vector<std::pair<std::string, std::string>>
axes(std::initializer_list<std::pair<std::string, std::string>> list) {
  return list;
}

} // namespace

// Proves: the kind comes from the content, not the name; anything else and
// invalid JSON are errors naming the file (invalid JSON with line/column).
TEST_CASE("dse: result kinds are detected by content") {
  auto run = parseResult("x.json", R"({"functional": {}, "timing": {}})");
  REQUIRE(run.ok());
  CHECK(run->kind == ResultKind::Run);
  auto compile =
      parseResult("x.run.json", R"({"scheduled_cycles": 5, "statistics": []})");
  REQUIRE(compile.ok());
  CHECK(compile->kind == ResultKind::Compile); // ".run" in the name is no kind
  auto train =
      parseResult("y.json", R"({"accuracy": {}, "training_curve": []})");
  REQUIRE(train.ok());
  CHECK(train->kind == ResultKind::Train);

  for (const char *text : {R"({"functional": 1, "timing": {}})", // not objects
                           R"({"scheduled_cycles": 5})", R"([1, 2])", "{}"}) {
    INFO(text);
    auto bad = parseResult("dir/odd.json", text);
    REQUIRE_FALSE(bad.ok());
    CHECK_THAT(
        bad.error().message(),
        Catch::StartsWith("dir/odd.json: ") &&
            Catch::Contains("is not a marsc train, compile or run result"));
  }
  auto invalid = parseResult("broken.json", "{\n  \"a\": 1,\n  oops\n}");
  REQUIRE_FALSE(invalid.ok());
  CHECK_THAT(invalid.error().message(),
             Catch::StartsWith("broken.json: invalid JSON") &&
                 Catch::Contains("line 3") && !Catch::Contains("[json."));
  auto missing = readResult(kData + "/no-such-file.json");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message(), Catch::Contains("no-such-file.json"));
}

// Proves: the metric columns come from the documented fields of real
// (trimmed) marsc outputs, absent fields are simply missing, and a field of
// the wrong type is an error naming the file and the field.
TEST_CASE("dse: metrics from the fields of real results") {
  const std::string stem = kData + "/model-lenet5_sparsity-0.5_adcbits-3";
  auto run = readResult(stem + ".run.json");
  REQUIRE(run.ok());
  CHECK(run->kind == ResultKind::Run);
  CHECK(run->metrics.at("acc") == Approx(0.8));
  CHECK(run->metrics.at("test_images") == 2000);
  CHECK(run->metrics.at("cycles") == 2222);
  CHECK(run->metrics.at("energy_per_image") == Approx(0.5));
  CHECK(run->metrics.at("fps") == 90000);
  CHECK(run->metrics.at("tops_per_watt_effective") == Approx(1.5655842));
  CHECK(run->metrics.count("macro_utilisation") == 1);
  auto compile = readResult(stem + ".compile.json");
  REQUIRE(compile.ok());
  CHECK(compile->metrics.at("program_bytes") == 57288);
  CHECK(compile->metrics.at("scheduled_cycles") == 2202);
  CHECK(compile->metrics.at("capacity_bound_cycles") == 999);
  // The capacity bound is its own field, not the plain bound's.
  auto held = parseResult("c.json", R"({"scheduled_cycles": 9, "statistics": [],
                    "bound_cycles": 5, "capacity_bound": {"cycles": 7}})");
  REQUIRE(held.ok());
  CHECK(held->metrics.at("bound_cycles") == 5);
  CHECK(held->metrics.at("capacity_bound_cycles") == 7);
  auto train = readResult(stem + ".report.json");
  REQUIRE(train.ok());
  CHECK(train->metrics.at("train_integer_acc") == Approx(0.8));
  CHECK(train->metrics.at("adc_in_loop") == 1);
  CHECK(train->metrics.count("seconds") == 0);
  auto floatTrain = readResult(kData + "/model-lenet5.report.json");
  REQUIRE(floatTrain.ok());
  CHECK(floatTrain->metrics.count("train_float_acc") == 1);
  CHECK(floatTrain->metrics.count("train_integer_acc") == 0); // absent: fine

  // acc only with a test set: images > 0 and a correct count.
  auto noData = parseResult(
      "r.json", R"({"functional": {"images": 1}, "timing": {"cycles": 7}})");
  REQUIRE(noData.ok());
  CHECK(noData->metrics.count("acc") == 0);
  CHECK(noData->metrics.at("cycles") == 7);

  struct Bad {
    const char *text, *field;
  };
  for (const Bad &bad :
       {Bad{R"({"accuracy": {"float": "0.9"}, "training_curve": []})",
            "'accuracy.float' is string"},
        Bad{R"({"accuracy": 3, "training_curve": []})", "'accuracy' is number"},
        Bad{R"({"accuracy": {}, "training_curve": [], "adc": {"in_loop": 1}})",
            "'adc.in_loop' is number, expected a boolean"},
        Bad{R"({"scheduled_cycles": 5, "statistics": {}})", "'statistics'"},
        Bad{R"({"scheduled_cycles": 5, "statistics": [{"pass": "emit",
              "name": "program bytes", "value": "big"}]})",
            "'statistics[0].value'"},
        Bad{R"({"functional": {"accuracy": "x"}, "timing": {}})",
            "'functional.accuracy' is string"}, // checked even without images
        Bad{R"({"functional": {}, "timing": {"energy": {"per_image_uj":
              [1]}}})",
            "'timing.energy.per_image_uj' is array"}}) {
    INFO(bad.text);
    auto r = parseResult("sweep/p.json", bad.text);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), Catch::StartsWith("sweep/p.json: field ") &&
                                        Catch::Contains(bad.field));
  }
}

// Proves: names become points as documented, including values with '-'
// and '.', and every kind of name that is not key-value falls back to
// point=<stem>.
TEST_CASE("dse: design points from file names") {
  Point p =
      parsePoint("out/sweep/model-vgg-small_sparsity-0.5_adcbits-3.run.json");
  CHECK(p.stem == "model-vgg-small_sparsity-0.5_adcbits-3");
  CHECK(p.axes ==
        axes({{"model", "vgg-small"}, {"sparsity", "0.5"}, {"adcbits", "3"}}));
  CHECK(parsePoint("a-1.compile.json").axes == axes({{"a", "1"}}));
  CHECK(parsePoint("a-1.report.json").axes == axes({{"a", "1"}}));
  CHECK(parsePoint("a-1.train.json").axes == axes({{"a", "1"}}));
  CHECK(parsePoint("lr-1e-3_x2-a.b-c").axes ==
        axes({{"lr", "1e-3"}, {"x2", "a.b-c"}})); // no .json: kept as is
  // Only one kind suffix is dropped.
  CHECK(parsePoint("a-1.run.run.json").axes == axes({{"a", "1.run"}}));
  for (const char *name :
       {"a.run.json", "Model-x.json", "x-.json", "a-1__b-2.json", "a-1_b.json",
        "2a-1.json", "a-1_a-2.json", "-1.json"}) {
    INFO(name);
    Point fallback = parsePoint(name);
    REQUIRE(fallback.axes.size() == 1);
    CHECK(fallback.axes[0].first == "point");
    CHECK(fallback.axes[0].second == fallback.stem);
  }
  CHECK(parsePoint("dir/a.run.json").axes == axes({{"point", "a"}}));

  Point row = parsePoint("model-l_sparsity-0.5_adcbits-3");
  CHECK(isSubset(parsePoint("model-l"), row));
  CHECK(isSubset(parsePoint("adcbits-3_model-l"), row));
  CHECK_FALSE(isSubset(parsePoint("model-l_sparsity-0.50"), row));
  CHECK_FALSE(isSubset(parsePoint("model-l_wbits-4"), row));
  CHECK(samePoint(parsePoint("a-1_b-2"), parsePoint("b-2_a-1")));
  CHECK_FALSE(samePoint(parsePoint("a-1"), parsePoint("a-1_b-2")));
}

// Proves: the spec's example: a float train file and a compression train
// file both fit a run row; the more specific one wins and the other is
// reported unused; the compile file with the row's whole point joins.
TEST_CASE("dse: each row takes the most specific matching file") {
  std::vector<std::string> warnings;
  auto table = joinResults(
      {file("t/model-lenet5.report.json", ResultKind::Train,
            {{"train_float_acc", 0.9}, {"group_sparsity", 0.0}}),
       file("t/model-lenet5_sparsity-0.5.report.json", ResultKind::Train,
            {{"train_float_acc", 0.91}, {"group_sparsity", 0.5}}),
       file("c/model-lenet5_sparsity-0.5_adcbits-3.compile.json",
            ResultKind::Compile, {{"scheduled_cycles", 100}}),
       file("r/model-lenet5_sparsity-0.5_adcbits-3.run.json", ResultKind::Run,
            {{"acc", 0.8}}),
       file("r/model-lenet5_sparsity-0.75.compile.json", ResultKind::Compile,
            {{"scheduled_cycles", 7}})},
      warnings);
  REQUIRE(table.ok());
  REQUIRE(table->rows.size() == 1);
  const Row &row = table->rows[0];
  CHECK(row.sources.at(ResultKind::Train) ==
        "t/model-lenet5_sparsity-0.5.report.json");
  CHECK(row.metric("group_sparsity") == 0.5);
  CHECK(row.metric("train_float_acc") == 0.91);
  CHECK(row.metric("scheduled_cycles") == 100);
  CHECK(table->axes ==
        std::vector<std::string>{"model", "sparsity", "adcbits"});
  CHECK(table->metrics == std::vector<std::string>{"train_float_acc",
                                                   "group_sparsity",
                                                   "scheduled_cycles", "acc"});
  REQUIRE(warnings.size() == 2);
  CHECK_THAT(warnings[0], Catch::StartsWith("r/model-lenet5_sparsity-0.75"
                                            ".compile.json: joins no row"));
  CHECK_THAT(warnings[1], Catch::StartsWith("t/model-lenet5.report.json: "
                                            "unused"));

  // Without run files the compile results are the rows.
  warnings.clear();
  auto compileRows = joinResults(
      {file("model-a_x-1.compile.json", ResultKind::Compile),
       file("model-a_x-2.compile.json", ResultKind::Compile),
       file("model-a.report.json", ResultKind::Train, {{"compression", 2}})},
      warnings);
  REQUIRE(compileRows.ok());
  REQUIRE(compileRows->rows.size() == 2);
  CHECK(compileRows->rows[1].metric("compression") == 2);
  CHECK(warnings.empty());
}

// Proves: equally specific files of one kind for a row, and two row files
// of the same point, are errors naming both files and the row.
TEST_CASE("dse: ambiguous joins are errors") {
  std::vector<std::string> warnings;
  auto tie = joinResults(
      {file("model-l_sparsity-0.5.report.json", ResultKind::Train),
       file("adcbits-3_model-l.report.json", ResultKind::Train),
       file("model-l_sparsity-0.5_adcbits-3.run.json", ResultKind::Run)},
      warnings);
  REQUIRE_FALSE(tie.ok());
  CHECK_THAT(tie.error().message(),
             Catch::Contains("adcbits-3_model-l.report.json") &&
                 Catch::Contains("model-l_sparsity-0.5.report.json") &&
                 Catch::Contains("'model-l_sparsity-0.5_adcbits-3'"));

  auto twice = joinResults({file("a/x-1_y-2.run.json", ResultKind::Run),
                            file("b/y-2_x-1.run.json", ResultKind::Run)},
                           warnings);
  REQUIRE_FALSE(twice.ok());
  CHECK_THAT(twice.error().message(),
             Catch::StartsWith("a/x-1_y-2.run.json and b/y-2_x-1.run.json: "));
  // An axis that would collide with a metric column.
  auto clash = joinResults({file("acc-1.run.json", ResultKind::Run)}, warnings);
  REQUIRE_FALSE(clash.ok());
  CHECK_THAT(clash.error().message(), Catch::Contains("axis 'acc'"));
}

// Proves: values compare as numbers when both are numbers (0.25 < 0.5 <
// 0.75, 9 < 10), strings otherwise; missing axes sort first; the order does
// not depend on the order of the inputs.
TEST_CASE("dse: rows sort numerically by axis values") {
  CHECK(compareValues("9", "10") < 0);
  CHECK(compareValues("0.25", "0.5") < 0);
  CHECK(compareValues("1e-3", "0.01") < 0);
  CHECK(compareValues("-2", "1") < 0);
  CHECK(compareValues("0.5", "0.50") != 0); // equal numbers, still ordered
  CHECK(compareValues("10", "abc") < 0);    // numbers before strings
  CHECK(compareValues("0x10", "2") > 0);    // hex is not a number here
  CHECK(compareValues("vgg", "lenet") > 0);

  std::vector<ResultFile> files;
  for (const char *s : {"0.75", "0.25", "0.5"})
    for (const char *b : {"10", "9"})
      files.push_back(
          file(std::string("sparsity-") + s + "_adcbits-" + b + ".run.json",
               ResultKind::Run));
  files.push_back(file("sparsity-0.5.run.json", ResultKind::Run));
  std::vector<std::string> expected = {"sparsity-0.25_adcbits-9",
                                       "sparsity-0.25_adcbits-10",
                                       "sparsity-0.5",
                                       "sparsity-0.5_adcbits-9",
                                       "sparsity-0.5_adcbits-10",
                                       "sparsity-0.75_adcbits-9",
                                       "sparsity-0.75_adcbits-10"};
  mars::Random shuffle(5);
  for (int round = 0; round < 5; ++round) {
    shuffle.shuffle(files);
    std::vector<std::string> warnings;
    auto table = joinResults(files, warnings);
    REQUIRE(table.ok());
    std::vector<std::string> order;
    for (const Row &row : table->rows)
      order.push_back(row.point.stem);
    CHECK(order == expected);
    CHECK(table->axes == std::vector<std::string>{"sparsity", "adcbits"});
  }
}

// Proves: the dominance rule on a hand-made set with a known answer: ties
// are all optimal, a row missing an objective is neither optimal nor a
// dominator, and directions are honoured.
TEST_CASE("dse: Pareto fronts") {
  using D = Direction;
  const std::vector<D> accEnergy = {D::Maximise, D::Minimise};
  std::vector<std::vector<std::optional<double>>> values = {
      {0.90, 5.0},         // 0 optimal: best accuracy
      {0.80, 2.0},         // 1 optimal
      {0.80, 2.0},         // 2 optimal: ties 1, neither dominates
      {0.80, 3.0},         // 3 dominated by 1 (same acc, more energy)
      {0.70, 1.0},         // 4 optimal: least energy
      {0.60, 4.0},         // 5 dominated
      {std::nullopt, 0.1}, // 6 missing acc: never optimal
      {0.95, std::nullopt} // 7 missing energy: does not dominate 0
  };
  CHECK(paretoOptimal(values, accEnergy) ==
        std::vector<bool>{true, true, true, false, true, false, false, false});
  // Minimising accuracy too: 4 (0.70, 1.0) dominates 0-3; 5 has the least
  // accuracy.
  CHECK(
      paretoOptimal(values, {D::Minimise, D::Minimise}) ==
      std::vector<bool>{false, false, false, false, true, true, false, false});
  CHECK(paretoOptimal({{1.0, 1.0, 1.0}, {1.0, 1.0, 2.0}},
                      {D::Maximise, D::Maximise, D::Maximise}) ==
        std::vector<bool>{false, true});
  CHECK(paretoOptimal({}, accEnergy).empty());

  auto spec = parseParetoSpec("acc:energy_per_image,fps");
  REQUIRE(spec.ok());
  CHECK(*spec == std::vector<std::string>{"acc", "energy_per_image", "fps"});
  for (const char *bad :
       {"acc", "acc:watts", "acc:test_images", "acc:acc", "acc:", ""}) {
    INFO(bad);
    auto r = parseParetoSpec(bad);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message(), Catch::StartsWith("--pareto "));
  }
  CHECK_THAT(parseParetoSpec("acc:watts").error().message(),
             Catch::Contains("'watts'") &&
                 Catch::Contains("valid: train_float_acc,") &&
                 Catch::Contains("energy_per_image") &&
                 !Catch::Contains("test_images"));
}

// Proves: the fixture sweep (2x2 grid, train + compile + run each, one
// float train report) gives 4 rows with the known front, and every format
// shows the same columns.
TEST_CASE("dse: the fixture sweep as a table") {
  std::vector<std::string> warnings;
  auto collected = collectResults(fixturePaths(), warnings);
  REQUIRE(collected.ok());
  Table table = collected.take();
  REQUIRE(table.rows.size() == 4);
  REQUIRE(warnings.size() == 1); // the float report: every row has a better one
  CHECK_THAT(warnings[0], Catch::Contains("model-lenet5.report.json: unused"));
  markPareto(table, {"acc", "energy_per_image"});
  std::vector<std::string> optimal;
  for (const Row &row : table.rows)
    if (row.optimal)
      optimal.push_back(row.point.stem);
  CHECK(optimal ==
        std::vector<std::string>{"model-lenet5_sparsity-0.5_adcbits-3",
                                 "model-lenet5_sparsity-0.5_adcbits-4",
                                 "model-lenet5_sparsity-0.75_adcbits-3"});

  const std::string csv = formatCsv(table);
  CHECK_THAT(
      csv,
      Catch::StartsWith(
          "model,sparsity,adcbits,train_float_acc,"
          "train_fake_quant_acc,train_integer_acc,group_sparsity,"
          "compression,adc_in_loop,scheduled_cycles,bound_cycles,"
          "capacity_bound_cycles,program_bytes,acc,test_images,cycles,latency_us,fps,"
          "energy_per_image,tops_per_watt_effective,"
          "tops_per_watt_executed,macro_utilisation,pareto\n"
          "lenet5,0.5,3,0.9,0.801,0.8,0.504,1.99,1,2202,999,999,57288,"
          "0.8,2000,2222,11.11,90000,0.5,"));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 5);
  CHECK_THAT(csv, Catch::EndsWith(",0\n"));
  const std::string markdown = formatMarkdown(table);
  CHECK_THAT(markdown, Catch::StartsWith("| model | sparsity | adcbits |"));
  CHECK_THAT(markdown, Catch::Contains("\n|---|---|---|---:|"));
  const std::string text = formatText(table);
  CHECK(std::count(text.begin(), text.end(), '\n') == 5);
  auto json = nlohmann::json::parse(formatJson(table));
  CHECK(json["columns"].size() == 23);
  CHECK(json["rows"].size() == 4);
  CHECK(json["rows"][0]["sparsity"] == "0.5");
  CHECK(json["rows"][0]["cycles"] == 2222);
  CHECK(json["rows"][3]["pareto"] == 0);
  CHECK(json["pareto"] == std::vector<std::string>{"acc", "energy_per_image"});
  table.pareto.clear();
  CHECK(nlohmann::json::parse(formatJson(table))["pareto"].is_null());
  CHECK_THAT(formatCsv(table), !Catch::Contains("pareto"));
}

// Proves: RFC 4180 quoting where needed (comma, quote), plain cells
// otherwise, empty cells for absent values, fixed number formats.
TEST_CASE("dse: CSV quoting and numbers") {
  CHECK(formatNumber(2239) == "2239");
  CHECK(formatNumber(-3) == "-3");
  CHECK(formatNumber(0.5320953) == "0.532095");
  CHECK(formatNumber(89325.59178204555) == "89325.6");
  CHECK(formatNumber(1e20) == "1e+20");
  std::vector<std::string> warnings;
  auto table = joinResults(
      {file("m-a,b_q-say\"hi\".run.json", ResultKind::Run, {{"acc", 0.5}}),
       file("m-c_q-x.run.json", ResultKind::Run, {{"cycles", 12}})},
      warnings);
  REQUIRE(table.ok());
  CHECK(formatCsv(*table) == "m,q,acc,cycles\n"
                             "\"a,b\",\"say\"\"hi\"\"\",0.5,\n"
                             "c,x,,12\n");
  CHECK(formatMarkdown(*table) == "| m | q | acc | cycles |\n"
                                  "|---|---|---:|---:|\n"
                                  "| a,b | say\"hi\" | 0.5 |  |\n"
                                  "| c | x |  | 12 |\n");
  CHECK(formatText(*table) == "m    q        acc  cycles\n"
                              "a,b  say\"hi\"  0.5       -\n"
                              "c    x          -      12\n");
}

// Proves: the same files in any order give byte-identical CSV, JSON and
// SVG, and the SVG has one marker per row per panel.
TEST_CASE("dse: byte-identical output for permuted inputs") {
  std::vector<std::string> paths = fixturePaths();
  std::string csv, json, svg;
  mars::Random shuffle(1);
  for (int round = 0; round < 6; ++round) {
    if (round > 0)
      shuffle.shuffle(paths);
    std::vector<std::string> warnings;
    auto table = collectResults(paths, warnings);
    REQUIRE(table.ok());
    markPareto(*table, defaultPlotPareto(*table));
    auto plot = frontPlotSvg(*table);
    REQUIRE(plot.ok());
    if (round == 0) {
      csv = formatCsv(*table), json = formatJson(*table), svg = *plot;
      CHECK(table->pareto ==
            std::vector<std::string>{"acc", "energy_per_image", "fps"});
      size_t markers = 0;
      for (size_t at = 0;
           (at = svg.find("<circle class=\"point", at)) != std::string::npos;
           ++at)
        ++markers;
      CHECK(markers == 2 * 4);
      CHECK_THAT(svg, Catch::Contains("energy per image (\xc2\xb5J)") &&
                          Catch::Contains("frames per second") &&
                          Catch::Contains("sparsity 0.5, adcbits 3") &&
                          !Catch::Contains("model lenet5"));
      continue;
    }
    CHECK(formatCsv(*table) == csv);
    CHECK(formatJson(*table) == json);
    CHECK(*plot == svg);
  }
  // Without energy there is nothing to plot.
  std::vector<std::string> warnings;
  auto compileOnly = collectResults(
      {kData + "/model-lenet5_sparsity-0.5_adcbits-3.compile.json"}, warnings);
  REQUIRE(compileOnly.ok());
  CHECK_FALSE(frontPlotSvg(*compileOnly).ok());
}

// Proves: AtomicFileSet publishes all files only on commit and leaves
// neither files nor temporaries when one of them cannot be written.
TEST_CASE("dse: AtomicFileSet is all or nothing") {
  const std::string dir = std::string(MARS_BINARY_DIR) + "/test/dse/atomic";
  std::system(("rm -rf " + mars::test::quote(dir) + " && mkdir -p " +
               mars::test::quote(dir))
                  .c_str());
  auto listing = [&] {
    std::vector<std::string> names;
    DIR *d = opendir(dir.c_str());
    while (dirent *e = readdir(d))
      if (e->d_name[0] != '.')
        names.push_back(e->d_name);
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  };
  {
    mars::AtomicFileSet set;
    REQUIRE(set.add(dir + "/a.csv", "a").ok());
    CHECK(listing().size() == 1); // only the temporary
    CHECK_FALSE(set.add(dir + "/a.csv", "again").ok());
    CHECK_FALSE(set.add(dir + "/missing/b.svg", "b").ok());
  }
  CHECK(listing().empty());
  {
    mars::AtomicFileSet set;
    REQUIRE(set.add(dir + "/a.csv", "a").ok());
    REQUIRE(set.add(dir + "/b.svg", "b").ok());
    REQUIRE(set.commit().ok());
  }
  CHECK(listing() == std::vector<std::string>{"a.csv", "b.svg"});
  CHECK(mars::test::readWholeFile(dir + "/b.svg") == "b");
}
