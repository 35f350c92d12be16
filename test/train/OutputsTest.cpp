// lib/train's outputs: the files `marsc train` publishes together (all or
// none, the model last) and the summary it prints. The model writer is a
// stand-in for lib/onnx's exportModel.
#include "mars/train/Train.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace mars;
namespace fs = std::filesystem;

namespace {

/// A fresh directory for one test, removed afterwards.
struct TempDir {
  fs::path path;
  explicit TempDir(const std::string &name)
      : path(fs::temp_directory_path() /
             ("mars-train-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string &file) const {
    return (path / file).string();
  }
};

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

train::TrainResult result() {
  train::TrainResult r;
  r.compressed.name = "compressed";
  r.testCount = 1000;
  r.floatCorrect = 909;
  r.integerCorrect = 899;
  r.groupSparsity = 0.505;
  r.seconds = 12.34;
  return r;
}

/// The model's name as its "file": which graph went where.
Expected<std::string> writeName(const ir::Graph &g) {
  return "model " + g.name;
}

} // namespace

TEST_CASE("outputs: the model, its report and the float model together",
          "[train][outputs]") {
  TempDir dir("outputs");
  train::TrainOptions o;
  o.output = dir / "m.onnx";
  o.saveFloat = dir / "f.onnx";
  train::TrainResult r = result();
  r.floatModel = ir::Graph();
  r.floatModel->name = "float";
  // A temporary that a run killed while writing the report left (a pid
  // above the kernel's limit is never running).
  const std::string stale = o.reportPath() + ".tmp.99999999";
  std::ofstream(stale) << "half";

  auto report = train::writeOutputs(o, r, writeName);
  REQUIRE(report);
  CHECK(*report == train::reportJson(o, r));
  CHECK(readFile(dir / "m.report.json") == *report);
  CHECK(readFile(dir / "m.onnx") == "model compressed");
  CHECK(readFile(dir / "f.onnx") == "model float");
  CHECK_FALSE(fs::exists(stale));
}

TEST_CASE("outputs: --save-float after a resume past the float stage",
          "[train][outputs]") {
  TempDir dir("nofloat");
  train::TrainOptions o;
  o.output = dir / "m.onnx";
  o.saveFloat = dir / "f.onnx";
  auto report = train::writeOutputs(o, result(), writeName);
  REQUIRE_FALSE(report);
  CHECK(report.error().message() ==
        "--save-float: the float stage did not run in this invocation "
        "(resumed after it?)");
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("outputs: a model that cannot be written leaves no file",
          "[train][outputs]") {
  TempDir dir("fails");
  train::TrainOptions o;
  o.output = dir / "m.onnx";
  auto report = train::writeOutputs(
      o, result(), [](const ir::Graph &) -> Expected<std::string> {
        return Error("cannot export");
      });
  REQUIRE_FALSE(report);
  CHECK(report.error().message() == o.output + ": cannot export");
  CHECK(fs::is_empty(dir.path));
}

TEST_CASE("summary: accuracies, the change and the files", "[train][outputs]") {
  train::TrainOptions o;
  o.output = "out/lenet5.w4a4.onnx";
  o.wbits = 4;
  o.abits = 3;
  CHECK(
      train::summaryText(o, result()) ==
      "float accuracy      90.90% (909/1000)\n"
      "integer accuracy    89.90% (899/1000), W4A3, 50.5% of CIM groups "
      "zero\n"
      "accuracy change     -1.00 points\n"
      "wrote out/lenet5.w4a4.onnx and out/lenet5.w4a4.report.json (12.3 s)\n");
}
