// `marsc verify`: the QDQ model, the integer reference and the chip agree
// layer by layer on a compiled model; a weight corrupted in the program (and
// the checksum re-sealed, so only verify can notice) is named as the layer
// where the chip diverges, with exit 1.
#include "common/Subprocess.h"

#include "mars/program/ProgramFile.h"
#include "mars/support/IntRange.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>

using mars::test::CommandResult;
using mars::test::quote;
using mars::test::runCommand;

namespace {

const std::string kDir = std::string(MARS_BINARY_DIR) + "/test/verify/out";

CommandResult marsc(const std::string &args) {
  return runCommand(std::string(MARSC_PATH) + " " + args);
}

/// resnet20 at half width compiled by PTQ with 50% of groups pruned: residual
/// Adds, a global average pool, a raw-accumulator last layer.
struct Compiled {
  std::string qdq, program;
};

const Compiled &compiled() {
  static const Compiled c = [] {
    std::system(("mkdir -p " + quote(kDir)).c_str());
    Compiled out{kDir + "/resnet20.qdq.onnx", kDir + "/resnet20.bin"};
    const std::string model = kDir + "/resnet20.onnx";
    CommandResult z =
        marsc("zoo resnet20 --width-multiplier 0.5 -o " + quote(model));
    REQUIRE(z.exitCode == 0);
    CommandResult r = marsc("compile " + quote(model) +
                            " --calib random --calib-limit 4 --prune 0.5"
                            " --save-qdq " +
                            quote(out.qdq) + " -o " + quote(out.program));
    INFO(r.err);
    REQUIRE(r.exitCode == 0);
    return out;
  }();
  return c;
}

} // namespace

TEST_CASE("verify: QDQ, integer reference and chip agree on every layer") {
  const Compiled &c = compiled();
  CommandResult r = marsc("verify " + quote(c.qdq) + " " + quote(c.program) +
                          " --seed 4 --json");
  INFO(r.err);
  REQUIRE(r.exitCode == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["agree"] == true);
  CHECK(j["images"] == 1);
  // By default the QDQ model runs in float64 and must equal the integer
  // reference everywhere, the logits included.
  CHECK(j["qdq_precision"] == "f64");
  int withAll = 0;
  for (const auto &l : j["layers"]) {
    INFO(l.dump());
    if (l.contains("chip"))
      CHECK(l["chip"]["differing"] == 0);
    if (l.contains("qdq"))
      CHECK(l["qdq"]["differing"] == 0);
    withAll += l.contains("chip") && l.contains("qdq");
  }
  // Every Conv, Add and pool of resnet20 is compared on all three faces.
  CHECK(withAll >= 20);
  CommandResult text =
      marsc("verify " + quote(c.qdq) + " " + quote(c.program) + " --seed 4");
  CHECK(text.exitCode == 0);
  CHECK_THAT(text.out, Catch::Contains("QDQ (f64) vs integer"));
  CHECK_THAT(text.out, Catch::Contains("agree: 1 image(s)"));
  // In float32 (as an ONNX runtime) a value may be 1 LSB off at a tie.
  r = marsc("verify " + quote(c.qdq) + " " + quote(c.program) +
            " --seed 4 --json --precision f32");
  REQUIRE(r.exitCode == 0);
  j = nlohmann::json::parse(r.out);
  CHECK(j["qdq_precision"] == "f32");
  for (const auto &l : j["layers"])
    if (l.contains("qdq") && l["inputs_agreed"] == true)
      CHECK(l["qdq"]["max_diff_lsb"].get<int64_t>() <= 1);
}

TEST_CASE("verify: a corrupted weight is named as the diverging layer") {
  const Compiled &c = compiled();
  auto p = mars::program::readProgramFile(c.program);
  REQUIRE(p.ok());
  // Corrupt every weight of the first stored group of the third matrix.
  REQUIRE(p->matrices.size() > 3);
  mars::program::WeightMatrix &m = p->matrices[2];
  REQUIRE_FALSE(m.groups.empty());
  const auto limit = int32_t(mars::signedHi(m.weightBits));
  for (int8_t &w : m.groups[0].weights)
    w = int8_t(w == limit ? -limit : limit);
  const std::string layer = p->layers[m.layer].name;
  const std::string bad = kDir + "/corrupted.bin";
  REQUIRE(mars::program::writeProgramFile(*p, bad).ok()); // re-sealed
  CommandResult r =
      marsc("verify " + quote(c.qdq) + " " + quote(bad) + " --seed 4");
  INFO(r.out << r.err);
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.out, Catch::Contains("DIVERGES at layer '" + layer + "'"));
  CHECK_THAT(r.err, Catch::Contains("layer '" + layer + "'"));
  CHECK_THAT(r.err, Catch::Contains("the chip differs"));
  // The run itself accepts the file: only the comparison finds the damage.
  CHECK(marsc("run " + quote(bad) + " --quiet").exitCode == 0);
}

TEST_CASE("verify: bad input is a one-line user error") {
  const Compiled &c = compiled();
  CommandResult r =
      marsc("verify " + quote(c.qdq) + " " + quote(kDir + "/absent.bin"));
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.err, Catch::Contains("absent.bin"));
  r = marsc("verify " + quote(c.qdq) + " " + quote(c.program) +
            " --mode nonsense");
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.err, Catch::Contains("--mode"));
  r = marsc("verify " + quote(c.qdq) + " " + quote(c.program) +
            " --precision f16");
  CHECK(r.exitCode == 2);
  CHECK_THAT(r.err, Catch::Contains("--precision"));
  r = marsc("verify " + quote(c.qdq) + " " + quote(c.program) +
            " --data cifar10:/nonexistent");
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.err, Catch::Contains("nonexistent"));
}

TEST_CASE("verify --mode macro: with a saturating ADC the integer reference "
          "computes through the same ADC and equals the chip") {
  // adc_bits 3 at wl_on 16: a column count of 16 one-bits clips at 7.
  const std::string arch = kDir + "/adc3.json";
  std::ofstream(arch) << R"({"macro": {"adc_bits": 3}})";
  const std::string model = kDir + "/lenet5.onnx";
  const std::string qdq = kDir + "/lenet5.adc3.qdq.onnx";
  const std::string program = kDir + "/lenet5.adc3.bin";
  REQUIRE(
      marsc("zoo lenet5 --width-multiplier 0.5 -o " + quote(model)).exitCode ==
      0);
  CommandResult c = marsc("compile " + quote(model) + " --arch " + quote(arch) +
                          " --calib random --calib-limit 4" + " --save-qdq " +
                          quote(qdq) + " -o " + quote(program));
  INFO(c.err);
  REQUIRE(c.exitCode == 0);
  CommandResult v = marsc("verify " + quote(qdq) + " " + quote(program) +
                          " --mode macro --seed 4 --json");
  INFO(v.err);
  REQUIRE(v.exitCode == 0);
  auto j = nlohmann::json::parse(v.out);
  int convs = 0;
  for (const auto &l : j["layers"])
    if (l.contains("chip")) {
      CHECK(l["chip"]["differing"] == 0);
      convs += l["op"] == "Conv";
    }
  CHECK(convs == 5);
  // The ADC matters: the integer reference without it gives other logits.
  const std::string withAdc = kDir + "/adc3.npy", exact = kDir + "/exact.npy";
  REQUIRE(marsc("eval " + quote(qdq) + " --integer --random 4 --arch " +
                quote(arch) + " --output " + quote(withAdc))
              .exitCode == 0);
  REQUIRE(marsc("eval " + quote(qdq) + " --integer --random 4 --output " +
                quote(exact))
              .exitCode == 0);
  CHECK(mars::test::readWholeFile(withAdc) != mars::test::readWholeFile(exact));
  // The fast path cannot model clipping, so verify refuses it.
  CommandResult fast =
      marsc("verify " + quote(qdq) + " " + quote(program) + " --seed 4");
  CHECK(fast.exitCode == 1);
  CHECK_THAT(fast.err, Catch::Contains("--mode macro"));
}
