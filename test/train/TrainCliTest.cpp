// `marsc train` end to end on small slices of Debian's Fashion-MNIST: the
// outputs, the integer contract, resume, and every bad-input path.

#include "common/RequireData.h"
#include "common/Subprocess.h"

#include "mars/data/Dataset.h"
#include "mars/onnx/Export.h"
#include "mars/onnx/Import.h"
#include "mars/quant/Execute.h"
#include "mars/quant/Lower.h"
#include "mars/zoo/Zoo.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sys/stat.h>

using mars::test::CommandResult;
using mars::test::quote;
using mars::test::readWholeFile;
using mars::test::runCommand;

namespace {

const std::string kOut = std::string(MARS_BINARY_DIR) + "/test/train/out";

bool fashionMnistInstalled() {
  return std::ifstream(std::string(mars::data::kFashionMnistDir) +
                       "/t10k-labels-idx1-ubyte.gz")
      .good();
}

bool exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

/// A short schedule on 2048 training and 500 test images.
std::string quickTrain(const std::string &output, const std::string &extra) {
  ::mkdir(kOut.c_str(), 0755);
  return std::string(MARSC_PATH) +
         " train --limit-train 2048 --limit-test 500 --epochs 1 "
         "--qat-epochs 1 --prune-epochs 1 --finetune-epochs 1 --threads 2 "
         "--no-progress --seed 3 -o " +
         quote(output) + " " + extra;
}

/// Checks the error contract: exit 1, one line, context, no outputs.
void expectTrainError(const std::string &extra, const std::string &mention,
                      const std::string &name) {
  std::string output = kOut + "/" + name + ".onnx";
  std::remove(output.c_str());
  CommandResult r = runCommand(quickTrain(output, extra));
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK(r.err.find("marsc: error: ") != std::string::npos);
  CHECK_THAT(r.err, Catch::Contains(mention));
  CHECK(!exists(output));
  CHECK(!exists(kOut + "/" + name + ".report.json"));
}

/// Correct predictions among the first `count` test images of an
/// integer lowering of the ONNX file (lib/quant, the code train itself uses:
/// this checks the written file, not the contract; the independent NumPy
/// reference is test/quant/check_numpy_reference.py).
int64_t countIntegerCorrect(const std::string &onnxPath, int64_t count) {
  auto graph = mars::onnx::importModelFile(onnxPath);
  REQUIRE(graph.ok());
  auto net = mars::quant::lowerToInteger(*graph);
  INFO((net.ok() ? "" : net.error().message()));
  REQUIRE(net.ok());
  auto test = mars::data::loadDataset("fashion-mnist", mars::data::Split::Test);
  REQUIRE(test.ok());
  int64_t correct = 0;
  std::vector<float> image(784);
  for (int64_t i = 0; i < count; ++i) {
    mars::data::imageAsFloat(*test, i, image.data());
    auto out = mars::quant::runInteger(
        *net, mars::quant::quantizeInput(*net, image.data()));
    correct += mars::quant::argmaxClass(*net, out) == test->labels[i];
  }
  return correct;
}

} // namespace

TEST_CASE("train writes a compressed model whose integer accuracy the "
          "integer contract reproduces") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  const std::string output = kOut + "/quick.onnx";
  CommandResult r = runCommand(quickTrain(output, "--json"));
  INFO("stderr: " << r.err);
  REQUIRE(r.exitCode == 0);
  auto report = nlohmann::json::parse(r.out);
  CHECK(report ==
        nlohmann::json::parse(readWholeFile(kOut + "/quick.report.json")));
  const int64_t reported = report["accuracy"]["integer_correct"];
  CHECK(report["accuracy"]["test_images"] == 500);
  CHECK(reported > 150); // three times chance after a very short schedule
  CHECK(report["group_sparsity"].get<double>() >= 0.45);
  CHECK(report["layers"].size() == 5);
  CHECK(report["layers"][0]["weight_bits"] == 8);
  CHECK(report["layers"][1]["weight_bits"] == 4);
  CHECK(report["training_curve"].size() == 4);

  // Independently: import the ONNX file, lower to integers, count.
  CHECK(countIntegerCorrect(output, 500) == reported);

  // The integer contract end to end (DESIGN.md §3): compiled for the chip
  // and run on the simulator over the same 500 test images, the program
  // classifies exactly as many correctly as training's integer evaluation.
  const std::string program = kOut + "/quick.bin";
  CommandResult compile = runCommand(std::string(MARSC_PATH) + " compile " +
                                     quote(output) + " -o " + quote(program));
  INFO("compile stderr: " << compile.err);
  REQUIRE(compile.exitCode == 0);
  CommandResult run =
      runCommand(std::string(MARSC_PATH) + " run " + quote(program) +
                 " --data fashion-mnist --limit 500 --json --quiet");
  INFO("run stderr: " << run.err);
  REQUIRE(run.exitCode == 0);
  auto ran = nlohmann::json::parse(run.out);
  CHECK(ran["functional"]["images"] == 500);
  CHECK(ran["functional"]["correct"].get<int64_t>() == reported);

  // The compressed model is a valid ONNX model the reference interpreter runs.
  CommandResult inspect =
      runCommand(std::string(MARSC_PATH) + " inspect " + quote(output));
  CHECK(inspect.exitCode == 0);
  CommandResult eval = runCommand(std::string(MARSC_PATH) + " eval " +
                                  quote(output) + " --random 1");
  INFO(eval.err);
  CHECK(eval.exitCode == 0);

  // Other ONNX tools open it: the official checker (Debian's python3-onnx),
  // with no BatchNormalization left, the integer weights visible and a
  // symbolic batch.
  CommandResult checker = runCommand(
      "/usr/bin/python3 -c " +
      quote("import onnx, sys; m = onnx.load(sys.argv[1]); "
            "onnx.checker.check_model(m, full_check=True); "
            "ops = {n.op_type for n in m.graph.node}; "
            "assert 'BatchNormalization' not in ops, ops; "
            "assert 'QuantizeLinear' in ops and 'DequantizeLinear' in ops; "
            "assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_param "
            "== 'N'; "
            "ints = [t for t in m.graph.initializer if t.data_type == 3]; "
            "assert len(ints) >= 5, len(ints); print('checked')") +
      " " + quote(output));
  if (checker.err.find("No module named") != std::string::npos) {
    MARS_SKIP_MISSING("python3-onnx (for onnx.checker)");
  } else {
    INFO(checker.err);
    CHECK(checker.exitCode == 0);
    CHECK_THAT(checker.out, Catch::Contains("checked"));
  }
}

TEST_CASE("mean/std input normalisation travels in the model and the "
          "integer contract") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  const std::string output = kOut + "/normalised.onnx";
  CommandResult r = runCommand(
      quickTrain(output, "--json --normalize meanstd --stages float,qat"));
  INFO("stderr: " << r.err);
  REQUIRE(r.exitCode == 0);
  auto report = nlohmann::json::parse(r.out);
  const int64_t reported = report["accuracy"]["integer_correct"];
  CHECK(reported > 100);
  CHECK(countIntegerCorrect(output, 500) == reported);
  auto graph = mars::onnx::importModelFile(output);
  REQUIRE(graph.ok());
  CHECK(graph->nodes()[0].op == mars::ir::OpKind::Sub);
  CHECK(graph->nodes()[1].op == mars::ir::OpKind::Mul);
}

TEST_CASE("an interrupted run resumes to exactly the uninterrupted model") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  const std::string full = kOut + "/full.onnx";
  const std::string cut = kOut + "/cut.onnx";
  // Outputs of an earlier run in the same build tree must not count.
  std::remove(full.c_str());
  std::remove(cut.c_str());
  REQUIRE(runCommand(quickTrain(full, "")).exitCode == 0);
  // Interrupt in the middle of the prune stage (16 steps per epoch).
  CommandResult stopped =
      runCommand(quickTrain(cut, "--interrupt-after-steps 37"));
  INFO("stderr: " << stopped.err);
  REQUIRE(stopped.exitCode == 1);
  CHECK_THAT(stopped.err, Catch::Contains("--resume"));
  CHECK(!exists(cut));
  CommandResult resumed =
      runCommand(quickTrain(cut, "--resume " + quote(cut + ".ckpt/last.pt")));
  INFO("stderr: " << resumed.err);
  REQUIRE(resumed.exitCode == 0);
  CHECK(readWholeFile(full) == readWholeFile(cut));
}

TEST_CASE("a diverging run stops at once, naming stage, epoch and step") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  // An absurd learning rate: the float stage survives it (BatchNorm), QAT's
  // loss is NaN at once. Training stops there (exit 1, one line, no model
  // or report) instead of failing later on a NaN scale, and the float
  // epoch's checkpoint stays on disk, named in the message.
  const std::string output = kOut + "/diverge.onnx";
  const std::string checkpoint = output + ".ckpt/last.pt";
  std::remove(checkpoint.c_str());
  std::remove(output.c_str());
  CommandResult r = runCommand(quickTrain(output, "--lr 100"));
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.err, Catch::StartsWith("marsc: error: training diverged in "
                                      "stage 'qat', epoch 1, step "));
  CHECK_THAT(r.err, Catch::Contains("(loss nan); try a lower --lr (now 100)"));
  CHECK_THAT(r.err,
             Catch::Contains("the last good checkpoint is " + checkpoint));
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(exists(checkpoint));
  CHECK(!exists(output));
  CHECK(!exists(kOut + "/diverge.report.json"));
}

TEST_CASE("train rejects bad options, data, models and arch files") {
  expectTrainError("--wbits 9", "--wbits must be in 2..8, got 9", "wbits");
  expectTrainError("--sparsity 1.0", "--sparsity must be in [0, 1)",
                   "sparsity");
  expectTrainError("--lr -0.1", "--lr must be positive", "lr");
  expectTrainError("--checkpoint-every -3",
                   "--checkpoint-every must not be negative, got -3",
                   "checkpointevery");
  expectTrainError("--data mnist:/nonexistent/dir", "/nonexistent/dir",
                   "nodata");
  expectTrainError("--data imagenet", "unknown dataset", "unknowndata");

  // A corrupt dataset: truncated gzip image file.
  std::string dir = kOut + "/corrupt_mnist";
  ::mkdir(kOut.c_str(), 0755);
  ::mkdir(dir.c_str(), 0755);
  std::string images = readWholeFile(std::string(mars::data::kFashionMnistDir) +
                                     "/t10k-images-idx3-ubyte.gz");
  if (!images.empty()) {
    for (const char *prefix : {"train", "t10k"}) {
      std::ofstream(dir + "/" + prefix + "-images-idx3-ubyte.gz",
                    std::ios::binary)
          << images.substr(0, images.size() / 3);
      std::ofstream(dir + "/" + prefix + "-labels-idx1-ubyte.gz",
                    std::ios::binary)
          << readWholeFile(std::string(mars::data::kFashionMnistDir) +
                           "/t10k-labels-idx1-ubyte.gz");
    }
    expectTrainError("--data mnist:" + dir, "gzip", "corrupt");
  }

  // An arch whose partitions cannot hold an 8-bit weight.
  std::string arch = kOut + "/narrow.json";
  std::ofstream(arch)
      << R"({"macro": {"cols": 32, "partitions": 8, "weight_bits": 4, "bl_on": 32}})";
  expectTrainError("--arch " + quote(arch), "cannot hold one 8-bit weight",
                   "arch");
  std::ofstream(arch) << R"({"macro": {"wl_on": 0}})";
  expectTrainError("--arch " + quote(arch), "macro.wl_on", "arch0");

  if (!fashionMnistInstalled())
    return;
  // A model with an op the importer knows but the trainer cannot handle.
  auto lenet = mars::zoo::buildModel("lenet5", {});
  REQUIRE(lenet.ok());
  for (mars::ir::Node &node : lenet->nodes())
    if (node.op == mars::ir::OpKind::Relu) {
      node.op = mars::ir::OpKind::LeakyRelu;
      node.attrs.set("alpha", 0.1f);
    }
  std::string model = kOut + "/leaky.onnx";
  REQUIRE(mars::onnx::exportModelFile(*lenet, model).ok());
  expectTrainError("--model " + quote(model), "LeakyRelu", "badop");
}

TEST_CASE("the zero CIM groups training reports are the groups the program "
          "leaves out, for depthwise and grouped convolutions too") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  // mobilenet-tiny has a depthwise (dw1) and a 4-group (gc1) convolution.
  const std::string model = kOut + "/mobilenet-tiny.onnx";
  const std::string output = kOut + "/mobilenet-tiny.w4a4.onnx";
  const std::string program = kOut + "/mobilenet-tiny.bin";
  REQUIRE(runCommand(std::string(MARSC_PATH) + " zoo mobilenet-tiny -o " +
                     quote(model))
              .exitCode == 0);
  CommandResult trained =
      runCommand(quickTrain(output, "--json --model " + quote(model)));
  INFO("train stderr: " << trained.err);
  REQUIRE(trained.exitCode == 0);
  auto report = nlohmann::json::parse(trained.out);
  CommandResult compiled =
      runCommand(std::string(MARSC_PATH) + " compile " + quote(output) +
                 " --json -o " + quote(program));
  INFO("compile stderr: " << compiled.err);
  REQUIRE(compiled.exitCode == 0);
  auto mapping = nlohmann::json::parse(compiled.out);
  std::map<std::string, nlohmann::json> chip;
  for (const auto &l : mapping["layers"])
    if (l.contains("zero_cim_groups"))
      chip[l["name"].get<std::string>()] = l;
  int grouped = 0;
  for (const auto &l : report["layers"]) {
    const std::string name = l["name"];
    INFO("layer " << name);
    REQUIRE(chip.count(name) == 1);
    CHECK(l["cim_groups"] == chip[name]["cim_groups"]);
    CHECK(l["zero_groups"] == chip[name]["zero_cim_groups"]);
    grouped += name == "dw1" || name == "gc1";
    if (name == "dw1") // most of a depthwise matrix lies off the diagonal
      CHECK(l["zero_groups"].get<int64_t>() * 2 >=
            l["cim_groups"].get<int64_t>());
  }
  CHECK(grouped == 2);
}

TEST_CASE("with a saturating ADC in the loop, training's integer accuracy is "
          "the chip's, and the model says which ADC it was trained for") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  // The default arch with a 3-bit ADC: 16 word lines × 1 input bit per cycle
  // give counts up to 16, the ADC stops at 7.
  auto arch = nlohmann::json::parse(
      readWholeFile(std::string(MARS_SOURCE_DIR) + "/examples/arch/mars.json"));
  arch["macro"]["adc_bits"] = 3;
  arch["name"] = "mars-adc3";
  const std::string archPath = kOut + "/adc3.json";
  ::mkdir(kOut.c_str(), 0755);
  std::ofstream(archPath) << arch.dump(2);
  const std::string adc3 = "wl_on=16 adc_bits=3 input_bits_per_cycle=1";

  const std::string output = kOut + "/adc3.onnx";
  CommandResult r =
      runCommand(quickTrain(output, "--json --arch " + quote(archPath)));
  INFO("stderr: " << r.err);
  REQUIRE(r.exitCode == 0);
  auto report = nlohmann::json::parse(r.out);
  CHECK(report["adc"]["arch"] == adc3);
  CHECK(report["adc"]["in_loop"] == true);
  const int64_t reported = report["accuracy"]["integer_correct"];
  CHECK(report["accuracy"]["test_images"] == 500);
  CHECK(reported > 150);

  // The QDQ file records the ADC; other readers see it in metadata_props.
  auto graph = mars::onnx::importModelFile(output);
  REQUIRE(graph.ok());
  CHECK(graph->metadata[mars::quant::kTrainedAdcKey] == adc3);

  // Compiled for the same arch: no warning, and the simulator counts
  // exactly the correct images training's integer evaluation counted.
  const std::string program = kOut + "/adc3.bin";
  CommandResult compile =
      runCommand(std::string(MARSC_PATH) + " compile " + quote(output) +
                 " --arch " + quote(archPath) + " -o " + quote(program));
  INFO("compile stderr: " << compile.err);
  REQUIRE(compile.exitCode == 0);
  CHECK(compile.err.find("warning") == std::string::npos);
  CommandResult run =
      runCommand(std::string(MARSC_PATH) + " run " + quote(program) +
                 " --data fashion-mnist --limit 500 --json --quiet");
  INFO("run stderr: " << run.err);
  REQUIRE(run.exitCode == 0);
  auto ran = nlohmann::json::parse(run.out);
  CHECK(ran["functional"]["mode"] == "macro-level (bit-serial)");
  CHECK(ran["functional"]["correct"].get<int64_t>() == reported);
  CHECK(ran["adc"]["trained_for"] == adc3);
  CHECK(ran["adc"]["note"] == "");

  // Compiled for the default (exact) arch: compile warns, run says so.
  const std::string exactProgram = kOut + "/adc3-on-exact.bin";
  CommandResult other =
      runCommand(std::string(MARSC_PATH) + " compile " + quote(output) +
                 " -o " + quote(exactProgram));
  REQUIRE(other.exitCode == 0);
  CHECK_THAT(other.err, Catch::Contains("warning: the model was trained for "
                                        "ADC '" +
                                        adc3 +
                                        "' but this arch's "
                                        "is 'exact'"));
  CommandResult otherRun = runCommand(std::string(MARSC_PATH) + " run " +
                                      quote(exactProgram) + " --quiet");
  REQUIRE(otherRun.exitCode == 0);
  CHECK_THAT(otherRun.out, Catch::Contains("note: the model was trained for "
                                           "ADC '" +
                                           adc3 + "'"));
}

TEST_CASE("train writes its model, report and float model all or none") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  // The model, renamed into place last, cannot be: a directory has its
  // name. The float model and the report, already renamed by then, are
  // taken back, and no temporary stays.
  const std::string dir = kOut + "/all-or-nothing";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/m.onnx");
  CommandResult r =
      runCommand(std::string(MARSC_PATH) +
                 " train --stages float --epochs 1 "
                 "--limit-train 256 --limit-test 100 --threads 1 --no-progress "
                 "--save-float " +
                 quote(dir + "/f.onnx") + " -o " + quote(dir + "/m.onnx"));
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.err, Catch::Contains(dir + "/m.onnx: cannot write"));
  CHECK(!exists(dir + "/f.onnx"));
  CHECK(!exists(dir + "/m.report.json"));
  for (const auto &entry : std::filesystem::directory_iterator(dir))
    CHECK(entry.path().filename().string().find(".tmp.") == std::string::npos);
}

TEST_CASE("compressing a saved float model gives the one-process run's "
          "model") {
  if (!fashionMnistInstalled()) {
    MARS_SKIP_MISSING("dataset-fashion-mnist");
    return;
  }
  // The sweeps' pipeline: --save-float once, then --model F --pretrained per
  // point. Each stage's data order depends on the stage and its epoch, not
  // on whether the float stage ran in this process (it did: 90.05% against
  // 90.20% at the README's settings).
  const std::string one = kOut + "/one-process.onnx";
  const std::string saved = kOut + "/saved-float.onnx";
  const std::string two = kOut + "/from-saved.onnx";
  for (const std::string &f : {one, saved, two})
    std::remove(f.c_str());
  CommandResult first =
      runCommand(quickTrain(one, "--save-float " + quote(saved)));
  INFO("stderr: " << first.err);
  REQUIRE(first.exitCode == 0);
  CommandResult second =
      runCommand(quickTrain(two, "--model " + quote(saved) + " --pretrained"));
  INFO("stderr: " << second.err);
  REQUIRE(second.exitCode == 0);

  auto a = mars::onnx::importModelFile(one);
  auto b = mars::onnx::importModelFile(two);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  std::map<std::string, std::vector<uint8_t>> weights;
  for (mars::ir::ValueId id : a->initializers())
    weights[a->value(id).name] = a->value(id).constant->bytes();
  CHECK(b->initializers().size() == weights.size());
  for (mars::ir::ValueId id : b->initializers()) {
    INFO("initializer " << b->value(id).name);
    CHECK(weights[b->value(id).name] == b->value(id).constant->bytes());
  }
  CHECK(a->metadata == b->metadata); // Scales, zero points, the ADC.

  // The compressing stages' curves (loss, accuracies, sparsity, learning
  // rate per epoch) are the same to the last digit.
  auto curveOf = [](const std::string &model) {
    nlohmann::json report = nlohmann::json::parse(
        readWholeFile(model.substr(0, model.size() - 5) + ".report.json"));
    std::vector<std::string> rows;
    for (nlohmann::json e : report["training_curve"])
      if (e["stage"] != "float") {
        e.erase("seconds"); // Wall time and speed.
        e.erase("images_per_second");
        rows.push_back(e.dump());
      }
    return rows;
  };
  const std::vector<std::string> curve = curveOf(one);
  CHECK(curve.size() == 3);
  CHECK(curve == curveOf(two));
}
