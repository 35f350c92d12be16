// `marsc` as a user runs it: exit codes, stdout/stderr contracts, files.
#include "common/RequireData.h"
#include "common/Subprocess.h"

#include "mars/data/Npy.h"
#include "mars/interp/Interpreter.h"
#include "mars/onnx/Export.h"
#include "mars/onnx/TensorFile.h"
#include "mars/support/Random.h"
#include "mars/zoo/Zoo.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>

using mars::test::CommandResult;
using mars::test::quote;
using mars::test::runCommand;

namespace {

std::string scratch(const std::string &name) {
  static const std::string dir = [] {
    std::string d = std::string(MARS_BINARY_DIR) + "/test/cli/scratch";
    std::system(("mkdir -p " + quote(d)).c_str());
    return d;
  }();
  return dir + "/" + name;
}

CommandResult marsc(const std::string &args) {
  return runCommand(std::string(MARSC_PATH) + " " + args);
}

bool exists(const std::string &path) { return std::ifstream(path).good(); }

/// Checks the user-error contract: exit 1, one "marsc: error: " line.
void checkUserError(const CommandResult &r, const std::string &mustMention) {
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK(r.err.rfind("marsc: error: ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1);
  CHECK_THAT(r.err, Catch::Contains(mustMention));
}

/// A lenet5 model written once by `marsc zoo` for the tests below.
const std::string &lenetModel() {
  static const std::string path = [] {
    std::string p = scratch("lenet5.onnx");
    CommandResult r = marsc("zoo lenet5 -o " + quote(p) + " --seed 3");
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    return p;
  }();
  return path;
}

/// A seeded [1,1,28,28] float input.
mars::ir::Tensor lenetInput() {
  mars::ir::Tensor t(mars::ir::DType::Float32, {1, 1, 28, 28});
  mars::Random random(11);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setFromDouble(i, random.uniform(-1, 1));
  return t;
}

void writeNpy(const mars::ir::Tensor &t, const std::string &path) {
  mars::data::NpyArray a;
  a.dtype = mars::data::NpyDType::Float32;
  a.shape = t.shape();
  a.bytes = t.bytes();
  REQUIRE(mars::data::writeNpyFile(a, path).ok());
}

std::vector<float> readNpyFloats(const std::string &path) {
  auto a = mars::data::readNpyFile(path);
  REQUIRE(a.ok());
  REQUIRE(a->dtype == mars::data::NpyDType::Float32);
  std::vector<float> v(a->numElements());
  std::memcpy(v.data(), a->bytes.data(), a->bytes.size());
  return v;
}

} // namespace

TEST_CASE("cli: --help on everything, --version") {
  CommandResult r = marsc("--help");
  CHECK(r.exitCode == 0);
  CHECK_THAT(r.out, Catch::Contains("inspect") && Catch::Contains("eval") &&
                        Catch::Contains("zoo") &&
                        Catch::Contains("Exit codes"));
  for (const char *sub : {"inspect", "eval", "zoo"}) {
    INFO(sub);
    r = marsc(std::string(sub) + " --help");
    CHECK(r.exitCode == 0);
    CHECK_THAT(r.out, Catch::Contains("Usage") && Catch::Contains(sub));
    CHECK(r.out.size() > 400); // options and explanatory footer
  }
  r = marsc("--version");
  CHECK(r.exitCode == 0);
  CHECK_THAT(r.out, Catch::StartsWith("marsc "));
}

TEST_CASE("cli: zoo --list names every model") {
  CommandResult r = marsc("zoo --list");
  REQUIRE(r.exitCode == 0);
  for (const mars::zoo::ModelInfo &m : mars::zoo::listModels())
    CHECK_THAT(r.out, Catch::Contains(m.name));
  r = marsc("zoo --list --json");
  REQUIRE(r.exitCode == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j.size() == mars::zoo::listModels().size());
  CHECK(j[0]["name"] == "lenet5");
  CHECK(j[0]["input"] == std::vector<int64_t>{1, 28, 28});
}

TEST_CASE("cli: zoo -> inspect, as text and as JSON") {
  const std::string &model = lenetModel();
  CommandResult text = marsc("inspect " + quote(model));
  REQUIRE(text.exitCode == 0);
  CHECK_THAT(text.out, Catch::Contains("conv1") &&
                           Catch::Contains("BatchNormalization") &&
                           Catch::Contains("params: 61,772") &&
                           Catch::Contains("MACs:   416,520"));

  CommandResult json = marsc("inspect --json " + quote(model));
  REQUIRE(json.exitCode == 0);
  auto j = nlohmann::json::parse(json.out);
  CHECK(j["graph"] == "lenet5");
  CHECK(j["inputs"][0]["shape"] == std::vector<int64_t>{1, 1, 28, 28});
  CHECK(j["totals"]["params"] == 61772);
  CHECK(j["totals"]["macs"] == 416520);
  CHECK(j["totals"]["size_bytes"] == 4 * 61772);
  REQUIRE(j["layers"].size() == 14);
  CHECK(j["layers"][0]["op"] == "Conv");
  CHECK(j["layers"][0]["macs"] == 6 * 28 * 28 * 25);
  CHECK(j["layers"][0]["weight_bits"].is_null());

  CommandResult batch = marsc("inspect --json --batch 4 " + quote(model));
  REQUIRE(batch.exitCode == 0);
  CHECK(nlohmann::json::parse(batch.out)["totals"]["params"] == 61772);

  CommandResult ir = marsc("inspect --print-ir " + quote(model));
  REQUIRE(ir.exitCode == 0);
  CHECK_THAT(ir.out,
             Catch::Contains("graph lenet5 {") && Catch::Contains("params:"));
}

TEST_CASE("cli: zoo is byte-identical for the same seed") {
  std::string a = scratch("same_a.onnx"), b = scratch("same_b.onnx");
  REQUIRE(marsc("zoo resnet20 --seed 4 -o " + quote(a)).exitCode == 0);
  REQUIRE(marsc("zoo resnet20 --seed 4 -o " + quote(b)).exitCode == 0);
  CHECK(mars::test::readWholeFile(a) == mars::test::readWholeFile(b));
}

TEST_CASE("cli: inspect shows quantization bits carried by value types") {
  auto graph = mars::zoo::buildModel("lenet5");
  REQUIRE(graph.ok());
  mars::ir::Value &w = graph->value(*graph->findValue("fc1.weight"));
  mars::ir::QuantParams q{4, {0.05f}, {0}, -1};
  w.type.quant = q;
  w.constant->type().quant = q;
  std::string path = scratch("quant.onnx");
  REQUIRE(mars::onnx::exportModelFile(*graph, path).ok());
  CommandResult r = marsc("inspect --json " + quote(path));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto j = nlohmann::json::parse(r.out);
  for (const auto &layer : j["layers"])
    CHECK(
        layer["weight_bits"] ==
        (layer["name"] == "fc1" ? nlohmann::json(4) : nlohmann::json(nullptr)));
  // 48000 weights at 4 bits instead of 32.
  CHECK(j["totals"]["size_bytes"] == 4 * 61772 - 48000 * 4 + 48000 / 2);
  r = marsc("inspect " + quote(path));
  CHECK_THAT(r.out, Catch::Contains(" w4"));
}

TEST_CASE("cli: eval with .npy and .pb inputs matches the interpreter") {
  const std::string &model = lenetModel();
  mars::ir::Tensor input = lenetInput();
  std::string npyIn = scratch("x.npy"), pbIn = scratch("x.pb");
  writeNpy(input, npyIn);
  REQUIRE(mars::onnx::writeTensorProtoFile(input, "input", pbIn).ok());

  // The in-process model, built with the same seed, is the reference.
  mars::zoo::ModelOptions options;
  options.seed = 3;
  auto graph = mars::zoo::buildModel("lenet5", options);
  REQUIRE(graph.ok());
  auto expected = mars::interp::run(*graph, {input});
  REQUIRE(expected.ok());
  std::vector<float> reference = (*expected)[0].toFloats();

  std::string npyOut = scratch("y.npy"), pbOut = scratch("y.pb");
  std::remove(npyOut.c_str());
  std::remove(pbOut.c_str());
  CommandResult r = marsc("eval " + quote(model) + " --input " + quote(npyIn) +
                          " --output " + quote(npyOut));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK_THAT(r.out, Catch::Contains("output 'logits': f32[1,10]") &&
                        Catch::Contains("top-5:"));
  CHECK(readNpyFloats(npyOut) == reference);

  r = marsc("eval " + quote(model) + " --input " + quote(pbIn) + " --output " +
            quote(pbOut) + " --json");
  REQUIRE(r.exitCode == 0);
  auto pb = mars::onnx::readTensorProtoFile(pbOut);
  REQUIRE(pb.ok());
  CHECK(pb->toFloats() == reference);

  // --json carries the values and a top-5 sorted by value.
  auto j = nlohmann::json::parse(r.out);
  auto values = j["outputs"][0]["values"].get<std::vector<double>>();
  REQUIRE(values.size() == 10);
  for (size_t i = 0; i < 10; ++i)
    CHECK(float(values[i]) == reference[i]);
  auto top = j["outputs"][0]["top"];
  REQUIRE(top.size() == 5);
  size_t best =
      std::max_element(reference.begin(), reference.end()) - reference.begin();
  CHECK(top[0]["index"] == best);
  for (size_t i = 1; i < 5; ++i)
    CHECK(top[i - 1]["value"] >= top[i]["value"]);
}

TEST_CASE("cli: written models have a symbolic batch; eval runs a batch of "
          "N as N single images") {
  // zoo and compile --save-qdq write through the same exporter (train's
  // compressed.onnx too: TrainCliTest checks it with the official checker).
  const std::string &model = lenetModel();
  const std::string qdq = scratch("lenet5.qdq.onnx");
  CommandResult r =
      marsc("compile " + quote(model) + " --calib random -o " +
            quote(scratch("lenet5.bin")) + " --save-qdq " + quote(qdq));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);

  // ONNX's own checker with shape inference, and the batch named "N".
  CommandResult checker = runCommand(
      "/usr/bin/python3 -c " +
      quote(
          "import onnx, sys\n"
          "for f in sys.argv[1:]:\n"
          "    m = onnx.load(f)\n"
          "    onnx.checker.check_model(m, full_check=True)\n"
          "    for v in list(m.graph.input) + list(m.graph.output):\n"
          "        assert v.type.tensor_type.shape.dim[0].dim_param == 'N', v\n"
          "print('checked')") +
      " " + quote(model) + " " + quote(qdq));
  if (checker.err.find("No module named") != std::string::npos) {
    MARS_SKIP_MISSING("python3-onnx (for onnx.checker)");
  } else {
    INFO(checker.err);
    CHECK(checker.exitCode == 0);
    CHECK_THAT(checker.out, Catch::Contains("checked"));
  }

  // Three images in one file, and each on its own: same outputs, for the
  // float interpreter and the integer reference.
  const int64_t n = 3;
  mars::ir::Tensor batch(mars::ir::DType::Float32, {n, 1, 28, 28});
  mars::Random random(21);
  for (int64_t i = 0; i < batch.numElements(); ++i)
    batch.setFromDouble(i, random.uniform(-1, 1));
  writeNpy(batch, scratch("batch3.npy"));
  const int64_t image = 28 * 28;
  for (const std::string &mode : {std::string(""), std::string(" --integer")}) {
    INFO("mode:" << mode);
    const std::string file = mode.empty() ? model : qdq;
    r = marsc("eval " + quote(file) + mode + " --input " +
              quote(scratch("batch3.npy")) + " --output " +
              quote(scratch("batch3.out.npy")));
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    CHECK_THAT(r.out, Catch::Contains("f32[3,10]"));
    std::vector<float> all = readNpyFloats(scratch("batch3.out.npy"));
    REQUIRE(all.size() == size_t(n * 10));
    for (int64_t k = 0; k < n; ++k) {
      mars::ir::Tensor one(mars::ir::DType::Float32, {1, 1, 28, 28});
      for (int64_t i = 0; i < image; ++i)
        one.setFromDouble(i, batch.getAsDouble(k * image + i));
      writeNpy(one, scratch("one.npy"));
      r = marsc("eval " + quote(file) + mode + " --input " +
                quote(scratch("one.npy")) + " --output " +
                quote(scratch("one.out.npy")));
      REQUIRE(r.exitCode == 0);
      std::vector<float> single = readNpyFloats(scratch("one.out.npy"));
      CHECK(std::vector<float>(all.begin() + k * 10,
                               all.begin() + (k + 1) * 10) == single);
    }
  }
}

TEST_CASE("cli: eval --precision f64 computes in double and writes float64") {
  const std::string &model = lenetModel();
  const std::string f32Out = scratch("p32.npy"), f64Out = scratch("p64.npy");
  CommandResult r =
      marsc("eval " + quote(model) + " --random 3 --output " + quote(f32Out));
  REQUIRE(r.exitCode == 0);
  r = marsc("eval " + quote(model) + " --random 3 --precision f64 --output " +
            quote(f64Out));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  CHECK_THAT(r.out, Catch::Contains("f64[1,10]"));
  auto wide = mars::data::readNpyFile(f64Out);
  REQUIRE(wide.ok());
  REQUIRE(wide->dtype == mars::data::NpyDType::Float64);
  REQUIRE(wide->numElements() == 10);
  std::vector<double> w(10);
  std::memcpy(w.data(), wide->bytes.data(), wide->bytes.size());
  const std::vector<float> narrow = readNpyFloats(f32Out);
  // The same model: equal to float32 precision, and not all the same bits
  // (a double result rounded by nothing).
  bool someDiffer = false;
  for (size_t i = 0; i < 10; ++i) {
    CHECK(w[i] == Approx(narrow[i]).epsilon(1e-5).margin(1e-6));
    someDiffer = someDiffer || double(float(w[i])) != w[i];
  }
  CHECK(someDiffer);

  // A quantized model runs in float64 unless --precision f32 asks for what
  // an ONNX runtime computes.
  const std::string qdq = scratch("lenet5.p.qdq.onnx");
  r = marsc("compile " + quote(model) + " --calib random -o " +
            quote(scratch("lenet5.p.bin")) + " --save-qdq " + quote(qdq));
  REQUIRE(r.exitCode == 0);
  r = marsc("eval " + quote(qdq) + " --random 3 --json");
  REQUIRE(r.exitCode == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["arithmetic"] == "f64");
  CHECK(j["outputs"][0]["dtype"] == "f64");
  r = marsc("eval " + quote(qdq) + " --random 3 --precision f32");
  REQUIRE(r.exitCode == 0);
  CHECK_THAT(r.out, Catch::Contains("arithmetic: f32") &&
                        Catch::Contains("f32[1,10]"));
  r = marsc("eval " + quote(model) + " --random 3");
  CHECK_THAT(r.out, Catch::Contains("arithmetic: f32"));
}

TEST_CASE("cli: eval --random is deterministic") {
  const std::string &model = lenetModel();
  std::string a = scratch("ra.npy"), b = scratch("rb.npy"),
              c = scratch("rc.npy");
  REQUIRE(marsc("eval " + quote(model) + " --random 5 --output " + quote(a))
              .exitCode == 0);
  REQUIRE(marsc("eval " + quote(model) + " --random 5 --output " + quote(b))
              .exitCode == 0);
  REQUIRE(marsc("eval " + quote(model) + " --random 6 --output " + quote(c))
              .exitCode == 0);
  CHECK(readNpyFloats(a) == readNpyFloats(b));
  CHECK(readNpyFloats(a) != readNpyFloats(c));
}

TEST_CASE("cli: user errors exit 1 with one line of context") {
  std::string missing = scratch("no-such-model.onnx");
  checkUserError(marsc("inspect " + quote(missing)), "no-such-model.onnx");
  checkUserError(marsc("eval " + quote(missing) + " --random 1"),
                 "no-such-model.onnx");

  std::string notOnnx = scratch("not-onnx.onnx");
  std::ofstream(notOnnx) << "definitely not a protobuf \xff\xfe";
  checkUserError(marsc("inspect " + quote(notOnnx)), "not-onnx.onnx");

  checkUserError(marsc("zoo resnet50 -o " + quote(scratch("r50.onnx"))),
                 "unknown model 'resnet50'");
  CHECK_FALSE(exists(scratch("r50.onnx")));

  std::string small = scratch("small.onnx");
  checkUserError(marsc("zoo vgg16 --height 8 --width 8 -o " + quote(small)),
                 "too small");
  CHECK_FALSE(exists(small));
  checkUserError(marsc("zoo lenet5 --classes 0 -o " + quote(small)), "classes");
}

TEST_CASE("cli: wrong inputs name the input and both shapes") {
  const std::string &model = lenetModel();
  mars::ir::Tensor wrong(mars::ir::DType::Float32, {1, 3, 32, 32});
  std::string wrongIn = scratch("wrong.npy");
  writeNpy(wrong, wrongIn);
  std::string out = scratch("never.npy");
  std::remove(out.c_str());

  CommandResult r = marsc("eval " + quote(model) + " --input " +
                          quote(wrongIn) + " --output " + quote(out));
  checkUserError(r, "input 'input'");
  CHECK_THAT(r.err, Catch::Contains("f32[1,1,28,28]") &&
                        Catch::Contains("f32[1,3,32,32]"));
  CHECK_FALSE(exists(out));
  CHECK_FALSE(exists(out + ".tmp"));

  r = marsc("eval " + quote(model) + " --input " + quote(wrongIn) +
            " --input " + quote(wrongIn) + " --output " + quote(out));
  checkUserError(r, "1 input(s) ('input') but 2 --input");
  CHECK_FALSE(exists(out));

  r = marsc("eval " + quote(model) + " --input " + quote(scratch("nope.npy")));
  checkUserError(r, "nope.npy");

  r = marsc("eval " + quote(model) + " --random 1 --output " +
            quote(scratch("y.txt")));
  checkUserError(r, "use .npy or .pb");
  CHECK_FALSE(exists(scratch("y.txt")));

  r = marsc("eval " + quote(model) + " --random 1 --output " + quote(out) +
            " --output " + quote(scratch("second.npy")));
  checkUserError(r, "the model has 1 output");
  CHECK_FALSE(exists(out));

  // A float64 .npy (numpy's default) where float32 is expected: every
  // command that reads images says how to save it.
  mars::data::NpyArray wide;
  wide.dtype = mars::data::NpyDType::Float64;
  wide.shape = {1, 1, 28, 28};
  wide.bytes.assign(28 * 28 * sizeof(double), 0);
  const std::string f64In = scratch("image64.npy");
  REQUIRE(mars::data::writeNpyFile(wide, f64In).ok());
  const std::string program = scratch("f64.bin"), qdq = scratch("f64.onnx");
  REQUIRE(marsc("compile " + quote(model) + " --calib random -o " +
                quote(program) + " --save-qdq " + quote(qdq))
              .exitCode == 0);
  const std::string advice = "save x.astype(numpy.float32)";
  checkUserError(marsc("eval " + quote(model) + " --input " + quote(f64In)),
                 advice);
  checkUserError(marsc("compile " + quote(model) + " --calib " + quote(f64In) +
                       " -o " + quote(scratch("no.bin"))),
                 advice);
  checkUserError(
      marsc("run " + quote(program) + " --input " + quote(f64In) + " --quiet"),
      advice);
  checkUserError(marsc("verify " + quote(qdq) + " " + quote(program) +
                       " --input " + quote(f64In)),
                 advice);
}

TEST_CASE("cli: usage errors exit 2") {
  const std::string &model = lenetModel();
  CHECK(marsc("").exitCode == 2);
  CHECK(marsc("frobnicate").exitCode == 2);
  CHECK(marsc("inspect").exitCode == 2);
  CHECK(marsc("inspect --no-such-flag " + quote(model)).exitCode == 2);
  CHECK(marsc("inspect --batch 0 " + quote(model)).exitCode == 2);
  CHECK(marsc("inspect --json --print-ir " + quote(model)).exitCode == 2);
  CHECK(marsc("eval " + quote(model)).exitCode == 2); // no --input/--random
  CHECK(marsc("eval " + quote(model) + " --random x").exitCode == 2);
  CHECK(marsc("eval " + quote(model) + " --random 1 --input x.npy").exitCode ==
        2);
  CHECK(
      marsc("eval " + quote(model) + " --random 1 --precision f16").exitCode ==
      2);
  CHECK(marsc("eval " + quote(model) + " --random 1 --precision f64 --integer")
            .exitCode == 2);
  CHECK(marsc("zoo lenet5").exitCode == 2); // no -o
  CHECK(marsc("zoo").exitCode == 2);
  CHECK(marsc("zoo lenet5 -o x.onnx --seed minus-one").exitCode == 2);
  CommandResult r = marsc("zoo --list --bogus");
  CHECK(r.exitCode == 2);
  CHECK_THAT(r.err, Catch::Contains("--bogus"));
  // --schedule-for takes cycles or traffic; another word names the choices.
  r = marsc("compile " + quote(model) + " --schedule-for speed -o never.bin");
  CHECK(r.exitCode == 2);
  CHECK_THAT(r.err, Catch::Contains("--schedule-for") &&
                        Catch::Contains("cycles") &&
                        Catch::Contains("traffic"));
}

TEST_CASE("cli: train is handed to marsc-train; marsc itself has no LibTorch") {
  // Listed in marsc's help, options from the trainer.
  CommandResult r = marsc("--help");
  CHECK_THAT(r.out, Catch::Contains("train"));
  const std::string trainer =
      std::string(MARSC_PATH).substr(0, std::string(MARSC_PATH).rfind('/')) +
      "/marsc-train";
  if (std::ifstream(trainer).good()) {
    r = marsc("train --help");
    INFO(r.err);
    CHECK(r.exitCode == 0);
    CHECK_THAT(r.out,
               Catch::Contains("--sparsity") && Catch::Contains("Usage"));
    r = marsc("train --no-such-flag");
    CHECK(r.exitCode == 2);
  }
  // The commands Makefile pipelines call must not load LibTorch.
  r = runCommand("ldd " + quote(MARSC_PATH));
  if (r.exitCode == 0)
    CHECK_THAT(r.out, !Catch::Contains("libtorch"));
  // A marsc with no trainer beside it says what is missing.
  const std::string alone = scratch("alone");
  std::system(("mkdir -p " + quote(alone) + " && cp " + quote(MARSC_PATH) +
               " " + quote(alone + "/marsc"))
                  .c_str());
  r = runCommand(quote(alone + "/marsc") + " train -o " +
                 quote(alone + "/never.onnx"));
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.err,
             Catch::Contains("marsc-train") && Catch::Contains("LibTorch"));
  CHECK_FALSE(std::ifstream(alone + "/never.onnx").good());
}

TEST_CASE("cli: arch --set writes a validated arch, or nothing") {
  const std::string out = scratch("wl32.json");
  std::remove(out.c_str());
  CommandResult r = marsc(
      "arch --set macro.wl_on=32 --set macro.adc_bits=4 -o " + quote(out));
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  // The written file is what `marsc arch --arch` reads back.
  CommandResult back = marsc("arch --json --arch " + quote(out));
  REQUIRE(back.exitCode == 0);
  CHECK_THAT(back.out, Catch::Contains("\"wl_on\": 32"));
  CHECK_THAT(back.out, Catch::Contains("\"adc_bits\": 4"));
  const std::string bad = scratch("bad-set.json");
  std::remove(bad.c_str());
  checkUserError(marsc("arch --set macro.wl_on=0 -o " + quote(bad)),
                 "macro.wl_on");
  CHECK_FALSE(exists(bad));
}
