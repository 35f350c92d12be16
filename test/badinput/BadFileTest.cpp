// Bad files other than models through the real CLI (issue 15, point 2): arch
// JSON, program files, .npy inputs and IDX/CIFAR datasets, as a table, and
// every input the fuzzers found (test/fuzz/regressions/) through the command
// that reads that kind of file. Each must end with exit code 1 (never a
// signal, an abort or a sanitizer report) and one "marsc: error: " line with
// the offending field or value.

#include "common/Subprocess.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

using mars::test::CommandResult;
using mars::test::quote;
using mars::test::runCommand;

namespace fs = std::filesystem;

namespace {

const std::string kDir = std::string(MARS_BINARY_DIR) + "/test/badinput/files";
const std::string kRegressions =
    std::string(MARS_SOURCE_DIR) + "/test/fuzz/regressions";

std::string marsc(const std::string &args) {
  return std::string(MARSC_PATH) + " " + args;
}

/// A small compiled program (lenet5 at 12x12, a quarter of the width) that
/// the input and dataset rows run; built once per test run.
const std::string &smallProgram() {
  static const std::string path = [] {
    fs::create_directories(kDir);
    std::string model = kDir + "/lenet5-small.onnx";
    std::string program = kDir + "/lenet5-small.bin";
    CommandResult z = runCommand(
        marsc("zoo lenet5 --height 12 --width 12 --width-multiplier 0.25 -o " +
              quote(model)));
    REQUIRE(z.exitCode == 0);
    CommandResult c = runCommand(marsc(
        "compile " + quote(model) + " --calib random -o " + quote(program) +
        " --save-qdq " + quote(kDir + "/lenet5-small.qdq.onnx")));
    INFO(c.err);
    REQUIRE(c.exitCode == 0);
    return program;
  }();
  return path;
}

std::string bigEndian32(uint32_t v) {
  return {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
}

/// A .npy file (version 1.0) with this header shape text and data.
std::string npy(const std::string &descr, const std::string &shape,
                const std::string &data) {
  std::string header = "{'descr': '" + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += char(header.size() & 0xFF);
  out += char(header.size() >> 8);
  return out + header + data;
}

/// One row: files written to a folder of their own, then a command in which
/// {P} is the small program, {Q} its QDQ model, {D} the folder and {F} its
/// first file.
struct Row {
  const char *name;
  std::vector<std::pair<std::string, std::string>> files;
  std::string command;
  std::vector<std::string> mustMention;
};

std::string expand(std::string command, const std::string &dir,
                   const std::string &file) {
  auto replace = [&command](const std::string &key, const std::string &value) {
    for (size_t at; (at = command.find(key)) != std::string::npos;)
      command.replace(at, key.size(), value);
  };
  replace("{P}", quote(smallProgram()));
  replace("{Q}", quote(kDir + "/lenet5-small.qdq.onnx"));
  replace("{D}", dir);
  replace("{F}", quote(file));
  return command;
}

void expectOneUserError(const CommandResult &r) {
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK(r.err.rfind("marsc: error: ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1); // exactly one line
  CHECK(r.err.find("Sanitizer") == std::string::npos);
  CHECK(r.err.find("internal error") == std::string::npos);
}

std::vector<Row> rows() {
  const std::string cifarRecord =
      std::string(1, char(10)) + std::string(3072, '\x7f');
  return {
      {"arch: a clock so slow every latency overflows",
       {{"slow.json", R"({"timing": {"clock_mhz": 1e-300}})"}},
       "arch --arch {F}",
       {"timing.clock_mhz must be in [0.001, 100000], got 1e-300"}},
      {"arch: an integer beyond int32",
       {{"rows.json", R"({"macro": {"rows": 99999999999}})"}},
       "arch --arch {F}",
       {"macro.rows is out of range: 99999999999"}},
      {"arch: a zero-width macro",
       {{"cols.json", R"({"macro": {"cols": 0}})"}},
       "arch --arch {F}",
       {"macro.cols must be in 1..65536, got 0"}},
      {".npy: a shape whose product overflows int64",
       {{"ovf.npy", npy("<f4", "(4294967296, 4294967296, 4294967296)",
                        std::string(16, '\0'))}},
       "run {P} --input {F}",
       {"ovf.npy", "shape is too large"}},
      {".npy: a dimension beyond int64",
       {{"huge.npy", npy("<f4", "(99999999999999999999999,)", "")}},
       "run {P} --input {F}",
       {"huge.npy", "dimension too large"}},
      {".npy: two 1x12x12 images' worth of values in the shape of one "
       "two-channel image",
       {{"twochannel.npy",
         npy("<f4", "(1, 2, 12, 12)", std::string(1152, '\0'))}},
       "verify {Q} {P} --input {F}",
       {"twochannel.npy", "1×12×12", "f32[1,2,12,12]"}},
      {".npy: a negative dimension",
       {{"neg.npy", npy("<f4", "(-1, 4)", std::string(16, '\0'))}},
       "run {P} --input {F}",
       {"neg.npy", "non-negative integer in 'shape'"}},
      {"IDX: 2^32-1 images of 4096x4096 in a 16-byte file",
       {{"t10k-images-idx3-ubyte", bigEndian32(0x803) +
                                       bigEndian32(0xFFFFFFFF) +
                                       bigEndian32(4096) + bigEndian32(4096)},
        {"t10k-labels-idx1-ubyte",
         bigEndian32(0x801) + bigEndian32(0xFFFFFFFF)}},
       "run {P} --data mnist:{D}",
       {"t10k-images-idx3-ubyte", "does not match the header"}},
      {"IDX: zero rows",
       {{"t10k-images-idx3-ubyte", bigEndian32(0x803) + bigEndian32(1) +
                                       bigEndian32(0) + bigEndian32(12)},
        {"t10k-labels-idx1-ubyte",
         bigEndian32(0x801) + bigEndian32(1) + "\x01"}},
       "run {P} --data mnist:{D}",
       {"implausible dimensions 1x0x12"}},
      {"CIFAR-10: label 10",
       {{"test_batch.bin", cifarRecord}},
       "run {P} --data cifar10:{D}",
       {"test_batch.bin", "record 0 has label 10, expected 0..9"}},
  };
}

} // namespace

TEST_CASE("bad arch, program input and dataset files: exit 1, one error line "
          "with context") {
  int index = 0;
  for (const Row &row : rows()) {
    SECTION(row.name) {
      std::string dir = kDir + "/row" + std::to_string(index);
      fs::remove_all(dir);
      fs::create_directories(dir);
      for (const auto &[name, bytes] : row.files)
        std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
      CommandResult r = runCommand(
          marsc(expand(row.command, dir, dir + "/" + row.files[0].first)));
      expectOneUserError(r);
      for (const std::string &m : row.mustMention)
        CHECK_THAT(r.err, Catch::Contains(m));
    }
    ++index;
  }
}

TEST_CASE("every fuzzer regression input through the CLI: success or one "
          "user error") {
  // The command that reads each target's files; dataset inputs pack two
  // files in one (test/fuzz/FuzzDataset.cpp) and are replayed by
  // fuzz_replay_dataset only.
  const std::vector<std::pair<std::string, std::string>> commands = {
      {"onnx", "inspect {F}"},
      {"program", "run {F} --no-verify-checksum"},
      {"arch", "arch --arch {F}"},
      {"npy", "run {P} --input {F}"},
  };
  int files = 0;
  for (const auto &[target, command] : commands) {
    fs::path dir = kRegressions + "/" + target;
    if (!fs::is_directory(dir))
      continue;
    for (const auto &entry : fs::directory_iterator(dir)) {
      INFO(entry.path().string());
      std::string file = entry.path().string();
      CommandResult r = runCommand(marsc(expand(command, dir.string(), file)));
      // A fix may also make an input valid (a crash on a good file): then
      // the command succeeds.
      if (r.exitCode != 0)
        expectOneUserError(r);
      CHECK(r.err.find("Sanitizer") == std::string::npos);
      ++files;
    }
  }
  CHECK(files > 0);
}
