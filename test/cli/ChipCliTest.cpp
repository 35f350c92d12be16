// `marsc compile`, `marsc disasm` and `marsc run` as a user runs them: the
// files they write, their reports, determinism, and every bad-input path
// ending in exit 1 with nothing written.
#include "common/Golden.h"
#include "common/Subprocess.h"

#include "mars/data/Npy.h"
#include "mars/support/Random.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

using mars::test::CommandResult;
using mars::test::goldenText;
using mars::test::quote;
using mars::test::readWholeFile;
using mars::test::runCommand;

namespace {

std::string scratch(const std::string &name) {
  static const std::string dir = [] {
    std::string d = std::string(MARS_BINARY_DIR) + "/test/cli/scratch-chip";
    std::system(("mkdir -p " + quote(d)).c_str());
    return d;
  }();
  return dir + "/" + name;
}

CommandResult marsc(const std::string &args) {
  return runCommand(std::string(MARSC_PATH) + " " + args);
}

bool exists(const std::string &path) { return std::ifstream(path).good(); }

void checkUserError(const CommandResult &r, const std::string &mustMention) {
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("marsc: error: ") != std::string::npos);
  CHECK_THAT(r.err, Catch::Contains(mustMention));
}

/// A float lenet5 at a quarter of its width (small programs, fast tests).
const std::string &smallModel() {
  static const std::string path = [] {
    std::string p = scratch("lenet5-small.onnx");
    CommandResult r =
        marsc("zoo lenet5 --width-multiplier 0.25 --seed 3 -o " + quote(p));
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    return p;
  }();
  return path;
}

const std::string kCalib = " --calib random --calib-limit 2 --seed 5";

/// The small model compiled once (PTQ on random calibration images).
const std::string &smallProgram() {
  static const std::string path = [] {
    std::string p = scratch("lenet5-small.bin");
    CommandResult r =
        marsc("compile " + quote(smallModel()) + kCalib + " -o " + quote(p));
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    return p;
  }();
  return path;
}

void writeNpy(const std::vector<float> &v, const std::vector<int64_t> &shape,
              const std::string &path) {
  mars::data::NpyArray a;
  a.dtype = mars::data::NpyDType::Float32;
  a.shape = shape;
  a.bytes.resize(v.size() * sizeof(float));
  std::memcpy(a.bytes.data(), v.data(), a.bytes.size());
  REQUIRE(mars::data::writeNpyFile(a, path).ok());
}

} // namespace

TEST_CASE("chip cli: --help explains compile, disasm and run") {
  for (const char *sub : {"compile", "disasm", "run"}) {
    INFO(sub);
    CommandResult r = marsc(std::string(sub) + " --help");
    CHECK(r.exitCode == 0);
    CHECK(r.out.size() > 500);
  }
  CommandResult r = marsc("compile --help");
  for (const char *pass :
       {"fold-bn", "quantize", "lower-to-integer", "fuse", "lower-to-program",
        "group-compress", "map-to-macros", "schedule", "emit"})
    CHECK_THAT(r.out, Catch::Contains(pass));
}

TEST_CASE("chip cli: compile is deterministic, byte for byte") {
  std::string again = scratch("lenet5-small.again.bin");
  CommandResult r =
      marsc("compile " + quote(smallModel()) + kCalib + " -o " + quote(again));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  std::string a = readWholeFile(smallProgram());
  CHECK(a.size() > 64);
  CHECK(a == readWholeFile(again));
}

TEST_CASE("chip cli: disasm matches the golden file") {
  CommandResult r = marsc("disasm " + quote(smallProgram()));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  std::string expected = goldenText("cli/golden/lenet5-small.disasm", r.out);
  REQUIRE_FALSE(expected.empty());
  CHECK(r.out == expected);
  for (const char *part : {"load ", "compute ", "post ", "sync ", "conv"})
    CHECK_THAT(r.out, Catch::Contains(part));
}

TEST_CASE("chip cli: compile reports, statistics, IR printing, timings") {
  std::string out = scratch("report.bin");
  CommandResult r = marsc("compile " + quote(smallModel()) + kCalib +
                          " --report --stats --time-passes "
                          "--print-ir-after=lower-to-integer -o " +
                          quote(out));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK_THAT(r.out, Catch::Contains("scheduled") && Catch::Contains("bound"));
  CHECK_THAT(r.out, Catch::Contains("statistics"));
  CHECK_THAT(r.err, Catch::Contains("IR after lower-to-integer"));
  CHECK_THAT(r.err, Catch::Contains("map-to-macros"));

  r = marsc("compile " + quote(smallModel()) + kCalib + " --json -o " +
            quote(out));
  REQUIRE(r.exitCode == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["scheduled_cycles"].get<int64_t>() >=
        j["bound_cycles"].get<int64_t>());
  // Both bounds are lower bounds; the capacity one is never the looser.
  CHECK(j["scheduled_cycles"].get<int64_t>() >=
        j["capacity_bound"]["cycles"].get<int64_t>());
  CHECK(j["capacity_bound"]["cycles"].get<int64_t>() >=
        j["bound_cycles"].get<int64_t>());
  CHECK(j["layers"].size() >= 3);
}

TEST_CASE("chip cli: compile names the capacity bound when one sets it") {
  // resnet18 on slow-dram: its last layers' weights exceed the chip's
  // weight SRAM and macros (README, "Cycles: the schedule and its bound").
  const std::string model = scratch("resnet18.onnx");
  CommandResult r = marsc("zoo resnet18 -o " + quote(model));
  REQUIRE(r.exitCode == 0);
  const std::string out = scratch("resnet18-slow.bin");
  r = marsc(
      "compile " + quote(model) + kCalib + " --prune 0.5 --arch " +
      quote(std::string(MARS_SOURCE_DIR) + "/examples/arch/slow-dram.json") +
      " --report -o " + quote(out));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK_THAT(r.out, Catch::Contains("capacity bound: ") &&
                        Catch::Contains("Conv layers 'layer3.0.conv1' to "
                                        "'fc' store"));
  // It runs as a two-stage pipeline (--image-stages auto), which the capacity
  // bound of one image at a time does not hold to; the report says both.
  CHECK_THAT(r.out, Catch::Contains("two-stage pipeline: cores 0-1 run "
                                    "layers 'conv1' to ") &&
                        Catch::Contains("the pipeline overlaps images, which "
                                        "is how it gets below it"));
  CHECK_THAT(
      r.out,
      Catch::Matches("[\\s\\S]*\\nwrote .*resnet18-slow\\.bin: .* cycles per "
                     "image in a two-stage pipeline, latency [0-9]+ \\(bound "
                     "[0-9]+, ratio [0-9.]+; capacity bound [0-9]+, ratio "
                     "[0-9.]+\\)\\n"));
  r = marsc(
      "compile " + quote(model) + kCalib + " --prune 0.5 --arch " +
      quote(std::string(MARS_SOURCE_DIR) + "/examples/arch/slow-dram.json") +
      " --json -o " + quote(out));
  REQUIRE(r.exitCode == 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  CHECK(j["pipeline"]["stages"] == 2);
  CHECK(j["pipeline"]["first_stage_cores"] == 2);
  CHECK(j["pipeline"]["latency_cycles"].get<int64_t>() ==
        2 * j["scheduled_cycles"].get<int64_t>());
  // --image-stages 1: one image at a time, held to the capacity bound.
  r = marsc(
      "compile " + quote(model) + kCalib + " --prune 0.5 --arch " +
      quote(std::string(MARS_SOURCE_DIR) + "/examples/arch/slow-dram.json") +
      " --image-stages 1 --json -o " + quote(out));
  REQUIRE(r.exitCode == 0);
  j = nlohmann::json::parse(r.out);
  CHECK(j["pipeline"]["stages"] == 1);
  CHECK(j["pipeline"]["latency_cycles"] == j["scheduled_cycles"]);
  CHECK(j["scheduled_cycles"].get<int64_t>() >=
        j["capacity_bound"]["cycles"].get<int64_t>());
  r = marsc("compile " + quote(model) + kCalib + " --image-stages 3 -o " +
            quote(out));
  CHECK(r.exitCode != 0);
  CHECK_THAT(r.err, Catch::Contains("--image-stages"));
  // Where no window sets it (lenet5 on the default arch), neither line
  // mentions it.
  r = marsc("compile " + quote(smallModel()) + kCalib + " --report -o " +
            quote(scratch("report-plain.bin")));
  REQUIRE(r.exitCode == 0);
  CHECK(r.out.find("capacity") == std::string::npos);
}

TEST_CASE("chip cli: compile errors exit 1 and write nothing") {
  std::string out = scratch("never.bin");
  std::remove(out.c_str());

  // A float model without calibration data: both routes explained.
  CommandResult r =
      marsc("compile " + quote(smallModel()) + " -o " + quote(out));
  checkUserError(r, "--calib");
  CHECK_THAT(r.err, Catch::Contains("marsc train"));
  CHECK_FALSE(exists(out));

  // An invalid arch names the field.
  std::string badArch = scratch("bad-arch.json");
  std::ofstream(badArch) << R"({"macro": {"wl_on": 0}})";
  r = marsc("compile " + quote(smallModel()) + kCalib + " --arch " +
            quote(badArch) + " -o " + quote(out));
  checkUserError(r, "wl_on");
  CHECK_FALSE(exists(out));

  std::string badJson = scratch("bad-json.json");
  std::ofstream(badJson) << "{\"chip\": ";
  r = marsc("compile " + quote(smallModel()) + kCalib + " --arch " +
            quote(badJson) + " -o " + quote(out));
  checkUserError(r, "bad-json.json");
  CHECK_FALSE(exists(out));

  // A weight SRAM too small for one weight image: the numbers are given.
  std::string tiny = scratch("tiny-sram.json");
  std::ofstream(tiny) << R"({"chip": {"weight_sram_kib": 1, "cores": 1,
                             "macros_per_core": 1}})";
  r = marsc("compile " + quote(smallModel()) + kCalib + " --arch " +
            quote(tiny) + " -o " + quote(out));
  checkUserError(r, "cannot be mapped");
  CHECK_FALSE(exists(out));

  // Bad options and missing files.
  checkUserError(marsc("compile " + quote(smallModel()) +
                       " --calib no-such-data -o " + quote(out)),
                 "no-such-data");
  checkUserError(marsc("compile " + quote(smallModel()) + kCalib +
                       " --prune 1.5 -o " + quote(out)),
                 "--prune");
  checkUserError(marsc("compile " + quote(smallModel()) + kCalib +
                       " --pipeline lower-to-integer,no-such-pass -o " +
                       quote(out)),
                 "no-such-pass");
  // Passes renamed in issue 16: the old name is refused with the new one.
  checkUserError(marsc("compile " + quote(smallModel()) + kCalib +
                       " --pipeline fold-bn,legalize -o " + quote(out)),
                 "unknown pass 'legalize': it was renamed to "
                 "'lower-to-integer'");
  checkUserError(marsc("compile " + quote(smallModel()) + kCalib +
                       " --print-ir-after lower-matrix -o " + quote(out)),
                 "it was renamed to 'lower-to-program'");
  checkUserError(marsc("compile " + quote(scratch("missing.onnx"))),
                 "missing.onnx");
  CHECK_FALSE(exists(out));
}

TEST_CASE("chip cli: run with --input writes --output; random input") {
  std::vector<float> image(28 * 28);
  mars::Random random(4);
  for (float &v : image)
    v = float(random.uniform(0, 1));
  std::string in = scratch("x.npy"), out = scratch("y.npy");
  std::remove(out.c_str());
  writeNpy(image, {1, 1, 28, 28}, in);
  CommandResult r = marsc("run " + quote(smallProgram()) + " --input " +
                          quote(in) + " --output " + quote(out));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK(exists(out));
  CHECK_THAT(r.out, Catch::Contains("FPS") && Catch::Contains("TOPS/W"));
  // Energy and TOPS/W for the macros, the chip without and with DRAM.
  CHECK_THAT(r.out, Catch::Contains("macros (macro+ADC+shift-add)") &&
                        Catch::Contains("chip without DRAM") &&
                        Catch::Contains("chip with DRAM") &&
                        Catch::Contains("TOPS/W effective") &&
                        Catch::Contains("TOPS/W executed"));

  r = marsc("run " + quote(smallProgram()) + " --json");
  REQUIRE(r.exitCode == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["functional"]["images"] == 1);
  // --json carries the six figures; the older keys are the system scope.
  const auto &energy = j["timing"]["energy"];
  const auto &scopes = energy["scopes"];
  for (const char *scope : {"macros", "chip", "system"})
    for (const char *key : {"per_image_uj", "tops_per_watt_effective",
                            "tops_per_watt_executed"}) {
      INFO(scope << " " << key);
      REQUIRE(scopes[scope][key].is_number());
      CHECK(scopes[scope][key].get<double>() > 0);
    }
  auto uj = [&](const char *scope) {
    return scopes[scope]["per_image_uj"].get<double>();
  };
  CHECK(uj("macros") < uj("chip"));
  CHECK(uj("chip") < uj("system"));
  CHECK(uj("system") == Approx(energy["per_image_uj"].get<double>()));
  CHECK(uj("chip") ==
        Approx(uj("system") -
               energy["breakdown"]["dram_pj"].get<double>() * 1e-6));
  CHECK(scopes["system"]["tops_per_watt_effective"].get<double>() ==
        Approx(energy["tops_per_watt_effective"].get<double>()));
  CHECK(scopes["macros"]["tops_per_watt_executed"].get<double>() ==
        Approx(energy["executed_ops"].get<double>() / (uj("macros") * 1e6)));
  CHECK(j["functional"]["output"].size() == 10);
  CommandResult again = marsc("run " + quote(smallProgram()) + " --json");
  CHECK(nlohmann::json::parse(again.out)["functional"]["output"] ==
        j["functional"]["output"]);

  // Wrong input shape: both shapes named, nothing written.
  std::remove(out.c_str());
  writeNpy(std::vector<float>(3 * 32 * 32), {1, 3, 32, 32}, in);
  r = marsc("run " + quote(smallProgram()) + " --input " + quote(in) +
            " --output " + quote(out));
  checkUserError(r, "28");
  CHECK_FALSE(exists(out));
}

TEST_CASE("chip cli: run --data reports accuracy; trace and plot") {
  std::string trace = scratch("trace.json"), plot = scratch("plot.svg");
  CommandResult r = marsc("run " + quote(smallProgram()) +
                          " --data fashion-mnist --limit 50 --json --quiet "
                          "--trace " +
                          quote(trace) + " --plot " + quote(plot));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["functional"]["images"] == 50);
  // The count is the same whatever the thread count (images are
  // independent), and the accuracy printed is that count over 50.
  const int correct = j["functional"]["correct"].get<int>();
  CHECK(correct <= 50);
  CHECK(j["functional"]["accuracy"].get<double>() == Approx(correct / 50.0));
  CommandResult one = marsc("run " + quote(smallProgram()) +
                            " --data fashion-mnist --limit 50 --json --quiet "
                            "--threads 1");
  REQUIRE(one.exitCode == 0);
  CHECK(nlohmann::json::parse(one.out)["functional"]["correct"] == correct);
  CHECK(j["timing"].contains("layers"));
  auto t = nlohmann::json::parse(readWholeFile(trace));
  CHECK(t["traceEvents"].size() > 10);
  const std::string svg = readWholeFile(plot);
  CHECK_THAT(svg, Catch::StartsWith("<svg"));
  CHECK_THAT(svg, Catch::EndsWith("</svg>\n"));
  // Both panels stacked, each with its legend.
  CHECK_THAT(svg, Catch::Contains("core-cycles") &&
                      Catch::Contains(">barrier stall</text>") &&
                      Catch::Contains(">ADC</text>") &&
                      Catch::Contains(">DRAM</text>") &&
                      Catch::Contains("<title>conv1: compute "));

  r = marsc("run " + quote(smallProgram()) + " --data cifar10:/nonexistent");
  checkUserError(r, "nonexistent");
}

TEST_CASE("chip cli: run rejects damaged program files") {
  std::string good = readWholeFile(smallProgram());
  std::string path = scratch("damaged.bin");

  std::ofstream(path, std::ios::binary) << good.substr(0, good.size() / 2);
  checkUserError(marsc("run " + quote(path)), "damaged.bin");

  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x40;
  std::ofstream(path, std::ios::binary) << flipped;
  checkUserError(marsc("run " + quote(path)), "checksum");
  // Without the checksum, field validation still stops or runs it safely.
  // A flip that field validation catches is a one-line user error; one it
  // cannot see (a weight or scale byte) runs to a result. Either way no crash
  // and no sanitizer report (ASan also exits 1, so the message is checked).
  CommandResult r = marsc("run " + quote(path) + " --no-verify-checksum");
  INFO("stderr: " << r.err);
  if (r.exitCode == 1) {
    checkUserError(r, "damaged.bin");
  } else {
    REQUIRE(r.exitCode == 0);
    CHECK(r.err.find("ERROR") == std::string::npos);
    CHECK_FALSE(r.out.empty());
  }

  std::ofstream(path, std::ios::binary) << "MARSPRG";
  checkUserError(marsc("run " + quote(path)), "damaged.bin");
  checkUserError(marsc("run " + quote(scratch("absent.bin"))), "absent.bin");
  checkUserError(marsc("disasm " + quote(scratch("absent.bin"))), "absent.bin");
}

TEST_CASE("chip cli: --json-out writes the --json results as a file, or "
          "nothing") {
  // Batch pipelines (examples/dse) keep compile and run results as files
  // make can see: the file holds exactly what --json prints.
  const std::string program = scratch("jsonout.bin");
  const std::string report = scratch("jsonout.compile.json");
  std::remove(program.c_str());
  std::remove(report.c_str());
  CommandResult compiled =
      marsc("compile " + quote(smallModel()) + kCalib + " -o " +
            quote(program) + " --json --json-out " + quote(report));
  INFO(compiled.err);
  REQUIRE(compiled.exitCode == 0);
  CHECK(nlohmann::json::parse(readWholeFile(report)) ==
        nlohmann::json::parse(compiled.out));
  CHECK(nlohmann::json::parse(compiled.out).contains("scheduled_cycles"));

  const std::string results = scratch("jsonout.run.json");
  std::remove(results.c_str());
  CommandResult ran =
      marsc("run " + quote(program) + " --seed 4 --quiet --json --json-out " +
            quote(results));
  INFO(ran.err);
  REQUIRE(ran.exitCode == 0);
  CHECK(readWholeFile(results) == ran.out);

  // An unwritable --json-out: exit 1, and the program is not written either
  // (it is written last, so that its presence means the set is complete).
  const std::string orphan = scratch("jsonout-orphan.bin");
  std::remove(orphan.c_str());
  CommandResult failed =
      marsc("compile " + quote(smallModel()) + kCalib + " -o " + quote(orphan) +
            " --json-out /nonexistent-dir/r.json");
  checkUserError(failed, "/nonexistent-dir/r.json");
  CHECK(!exists(orphan));
  CommandResult runFailed = marsc("run " + quote(program) +
                                  " --seed 4 --quiet --json-out "
                                  "/nonexistent-dir/r.json");
  checkUserError(runFailed, "/nonexistent-dir/r.json");
}

namespace {
/// Files in `dir` whose names contain `part` (temporaries: ".tmp.").
std::vector<std::string> filesContaining(const std::string &dir,
                                         const std::string &part) {
  std::vector<std::string> found;
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    if (entry.path().filename().string().find(part) != std::string::npos)
      found.push_back(entry.path().string());
  return found;
}
} // namespace

TEST_CASE("chip cli: run and compile write all their files or none") {
  // A fresh folder per case, so that any file or temporary left is ours.
  const std::string dir = scratch("all-or-nothing");
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string image = dir + "/x.npy";
  writeNpy(std::vector<float>(28 * 28, 0.25f), {1, 1, 28, 28}, image);

  // run: the last destination (--json-out) cannot be written, so neither
  // --output, --trace nor --plot may appear.
  CommandResult ran =
      marsc("run " + quote(smallProgram()) + " --input " + quote(image) +
            " --output " + quote(dir + "/y.npy") + " --trace " +
            quote(dir + "/t.json") + " --plot " + quote(dir + "/p.svg") +
            " --quiet --json-out " + quote(dir + "/missing/r.json"));
  checkUserError(ran, dir + "/missing/r.json");
  CHECK(!exists(dir + "/y.npy"));
  CHECK(!exists(dir + "/t.json"));
  CHECK(!exists(dir + "/p.svg"));
  CHECK(filesContaining(dir, ".tmp.").empty());

  // compile: the program (renamed last) cannot be put in place because a
  // directory has its name; --json-out and --save-qdq, already renamed by
  // then, are taken back.
  std::filesystem::create_directories(dir + "/p.bin");
  CommandResult compiled =
      marsc("compile " + quote(smallModel()) + kCalib + " -o " +
            quote(dir + "/p.bin") + " --save-qdq " + quote(dir + "/q.onnx") +
            " --json-out " + quote(dir + "/r.json"));
  checkUserError(compiled, dir + "/p.bin");
  CHECK(!exists(dir + "/q.onnx"));
  CHECK(!exists(dir + "/r.json"));
  CHECK(filesContaining(dir, ".tmp.").empty());

  // The same commands with writable destinations write every file.
  std::filesystem::remove_all(dir + "/p.bin");
  REQUIRE(marsc("compile " + quote(smallModel()) + kCalib + " -o " +
                quote(dir + "/p.bin") + " --save-qdq " +
                quote(dir + "/q.onnx") + " --json-out " +
                quote(dir + "/r.json"))
              .exitCode == 0);
  CHECK(exists(dir + "/p.bin"));
  CHECK(exists(dir + "/q.onnx"));
  CHECK(exists(dir + "/r.json"));
  REQUIRE(marsc("run " + quote(dir + "/p.bin") + " --input " + quote(image) +
                " --output " + quote(dir + "/y.npy") + " --trace " +
                quote(dir + "/t.json") + " --plot " + quote(dir + "/p.svg") +
                " --quiet --json-out " + quote(dir + "/rr.json"))
              .exitCode == 0);
  for (const char *f : {"/y.npy", "/t.json", "/p.svg", "/rr.json"})
    CHECK(exists(dir + f));
}
