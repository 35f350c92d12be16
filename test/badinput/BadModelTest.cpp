// Bad models through `marsc inspect` and `marsc eval`: each must end with
// exit code 1 and a single "marsc: error: ..." line with context, never a
// crash, a sanitizer report or a hang (the test build runs under ASan/UBSan).

#include "common/Subprocess.h"

#include <catch2/catch.hpp>
#include <onnx/onnx_pb.h>

#include <fstream>
#include <string>

using mars::test::CommandResult;
using mars::test::quote;
using mars::test::runCommand;

namespace {

/// x[1,1,4,4] -> Conv(w[1,1,3,3]) -> y -> Relu -> z.
onnx::ModelProto validModel() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto *g = model.mutable_graph();
  g->set_name("tiny");
  auto addValueInfo = [](onnx::ValueInfoProto *v, const std::string &name,
                         std::initializer_list<int64_t> dims) {
    v->set_name(name);
    auto *t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims)
      t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  addValueInfo(g->add_input(), "x", {1, 1, 4, 4});
  addValueInfo(g->add_output(), "z", {1, 1, 2, 2});
  onnx::TensorProto *w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {1, 1, 3, 3})
    w->add_dims(d);
  for (int i = 0; i < 9; ++i)
    w->add_float_data(0.1f * i);
  onnx::NodeProto *conv = g->add_node();
  conv->set_name("conv1");
  conv->set_op_type("Conv");
  conv->add_input("x");
  conv->add_input("w");
  conv->add_output("y");
  onnx::NodeProto *relu = g->add_node();
  relu->set_name("relu1");
  relu->set_op_type("Relu");
  relu->add_input("y");
  relu->add_output("z");
  return model;
}

std::string writeFile(const std::string &name, const std::string &bytes) {
  std::string path = std::string(MARS_BINARY_DIR) + "/test/badinput/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string writeModel(const std::string &name, const onnx::ModelProto &m) {
  return writeFile(name, m.SerializeAsString());
}

/// Runs `marsc inspect` on the file and checks the error contract.
CommandResult expectUserError(const std::string &path,
                              const std::string &mustMention) {
  CommandResult r =
      runCommand(std::string(MARSC_PATH) + " inspect " + quote(path));
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK(r.err.rfind("marsc: error: ", 0) == 0);
  CHECK(r.err.find('\n') == r.err.size() - 1); // exactly one line
  CHECK(r.err.find("Sanitizer") == std::string::npos);
  CHECK_THAT(r.err, Catch::Contains(mustMention));
  CHECK_THAT(r.err, Catch::Contains(path));
  return r;
}

} // namespace

TEST_CASE("the valid base model is accepted") {
  std::string path = writeModel("valid.onnx", validModel());
  CommandResult r =
      runCommand(std::string(MARSC_PATH) + " inspect " + quote(path));
  INFO(r.err);
  CHECK(r.exitCode == 0);
}

TEST_CASE("a file that is not ONNX") {
  std::string path = writeFile("not_onnx.onnx", "this is plain text, not a "
                                                "protobuf \xff\xfe\x01\x02");
  expectUserError(path, "ONNX");
}

TEST_CASE("an empty file") {
  expectUserError(writeFile("empty.onnx", ""), "graph");
}

TEST_CASE("a truncated file, cut at many points") {
  std::string bytes = validModel().SerializeAsString();
  for (size_t cut : {size_t(1), size_t(7), bytes.size() / 3, bytes.size() / 2,
                     bytes.size() - 3}) {
    INFO("cut at " << cut << " of " << bytes.size());
    std::string path = writeFile("truncated_" + std::to_string(cut) + ".onnx",
                                 bytes.substr(0, cut));
    CommandResult r =
        runCommand(std::string(MARSC_PATH) + " inspect " + quote(path));
    INFO("stderr: " << r.err);
    CHECK(r.exitCode == 1);
    CHECK(r.err.rfind("marsc: error: ", 0) == 0);
    CHECK(r.err.find("Sanitizer") == std::string::npos);
  }
}

TEST_CASE("a graph with a cycle") {
  onnx::ModelProto m = validModel();
  // conv1 now reads z, which relu1 computes from conv1's output.
  m.mutable_graph()->mutable_node(0)->set_input(0, "z");
  expectUserError(writeModel("cycle.onnx", m), "cycle");
}

TEST_CASE("a missing initializer") {
  onnx::ModelProto m = validModel();
  m.mutable_graph()->clear_initializer();
  expectUserError(writeModel("missing_init.onnx", m), "'w'");
}

TEST_CASE("a non-positive dimension") {
  for (int64_t bad : {int64_t(0), int64_t(-3)}) {
    onnx::ModelProto m = validModel();
    m.mutable_graph()
        ->mutable_input(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->mutable_shape()
        ->mutable_dim(2)
        ->set_dim_value(bad);
    expectUserError(writeModel("dim_" + std::to_string(bad) + ".onnx", m),
                    "'x'");
  }
}

TEST_CASE("an absurd size: over 2^31 elements") {
  onnx::ModelProto m = validModel();
  auto *shape = m.mutable_graph()
                    ->mutable_input(0)
                    ->mutable_type()
                    ->mutable_tensor_type()
                    ->mutable_shape();
  shape->mutable_dim(2)->set_dim_value(65536);
  shape->mutable_dim(3)->set_dim_value(65536);
  expectUserError(writeModel("absurd.onnx", m), "2^31");
}

TEST_CASE("an unsupported op names the op, the node and what is supported") {
  onnx::ModelProto m = validModel();
  m.mutable_graph()->mutable_node(0)->set_op_type("ConvTranspose");
  CommandResult r =
      expectUserError(writeModel("unsupported.onnx", m), "ConvTranspose");
  CHECK_THAT(r.err, Catch::Contains("conv1"));
  CHECK_THAT(r.err, Catch::Contains("supported"));
  CHECK_THAT(r.err, Catch::Contains("BatchNormalization"));
}

TEST_CASE("a missing file") {
  std::string path = std::string(MARS_BINARY_DIR) + "/no/such/model.onnx";
  expectUserError(path, "model.onnx");
}

TEST_CASE("usage errors exit with code 2") {
  CommandResult r = runCommand(std::string(MARSC_PATH) + " inspect");
  CHECK(r.exitCode == 2);
  r = runCommand(std::string(MARSC_PATH) + " inspect --no-such-flag x.onnx");
  CHECK(r.exitCode == 2);
  r = runCommand(std::string(MARSC_PATH) + " no-such-command");
  CHECK(r.exitCode == 2);
}

TEST_CASE("eval on a bad model leaves no output file") {
  onnx::ModelProto m = validModel();
  m.mutable_graph()->mutable_node(0)->set_op_type("ConvTranspose");
  std::string model = writeModel("unsupported_eval.onnx", m);
  std::string out = std::string(MARS_BINARY_DIR) + "/test/badinput/never.npy";
  std::remove(out.c_str());
  CommandResult r =
      runCommand(std::string(MARSC_PATH) + " eval " + quote(model) +
                 " --random 1 --output " + quote(out));
  CHECK(r.exitCode == 1);
  CHECK(!std::ifstream(out).good());
}

TEST_CASE("compile on an op the chip cannot run says what to do and writes "
          "nothing") {
  onnx::ModelProto m = validModel();
  m.mutable_graph()->mutable_node(0)->set_op_type("ConvTranspose");
  std::string model = writeModel("unsupported_compile.onnx", m);
  std::string out = std::string(MARS_BINARY_DIR) + "/test/badinput/never.bin";
  std::remove(out.c_str());
  CommandResult r =
      runCommand(std::string(MARSC_PATH) + " compile " + quote(model) +
                 " --calib random -o " + quote(out));
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.err, Catch::Contains("node 'conv1' (ConvTranspose)"));
  CHECK_THAT(r.err, Catch::Contains("zero insertion followed by a Conv"));
  CHECK(!std::ifstream(out).good());
}

TEST_CASE("compile rejects NaN --prune and --percentile (CLI11's range lets "
          "NaN through) with exit 1 and writes nothing") {
  std::string model = writeModel("valid_flags.onnx", validModel());
  std::string out = std::string(MARS_BINARY_DIR) + "/test/badinput/never.bin";
  for (const char *flags :
       {" --prune nan", " --calib-method percentile --percentile nan"}) {
    std::remove(out.c_str());
    CommandResult r =
        runCommand(std::string(MARSC_PATH) + " compile " + quote(model) +
                   " --calib random" + flags + " -o " + quote(out));
    INFO(flags << "\nstderr: " << r.err);
    CHECK(r.exitCode == 1);
    CHECK(r.err.rfind("marsc: error: --p", 0) == 0);
    CHECK_THAT(r.err, Catch::Contains("got nan"));
    CHECK(!std::ifstream(out).good());
  }
}

TEST_CASE("a Pad whose constant_value dtype differs from its input") {
  // It used to pass shape inference and abort in the interpreter's Pad.
  onnx::ModelProto m = validModel();
  onnx::GraphProto *g = m.mutable_graph();
  g->mutable_node(1)->set_input(0, "padded");
  g->mutable_node(0)->set_output(0, "y");
  onnx::TensorProto *pads = g->add_initializer();
  pads->set_name("pads");
  pads->set_data_type(onnx::TensorProto::INT64);
  pads->add_dims(8);
  for (int i = 0; i < 8; ++i)
    pads->add_int64_data(0);
  onnx::TensorProto *value = g->add_initializer();
  value->set_name("pad_value");
  value->set_data_type(onnx::TensorProto::INT64);
  value->add_int64_data(1);
  onnx::NodeProto *pad = g->add_node();
  pad->set_name("pad1");
  pad->set_op_type("Pad");
  pad->add_input("y");
  pad->add_input("pads");
  pad->add_input("pad_value");
  pad->add_output("padded");
  std::string path = writeModel("pad_dtype.onnx", m);
  CommandResult r = expectUserError(path, "node 'pad1' (Pad)");
  CHECK_THAT(r.err, Catch::Contains("constant_value has dtype i64, input "
                                    "has f32"));
  std::string out = std::string(MARS_BINARY_DIR) + "/test/badinput/never.npy";
  std::remove(out.c_str());
  r = runCommand(std::string(MARSC_PATH) + " eval " + quote(path) +
                 " --random 1 --output " + quote(out));
  INFO("stderr: " << r.err);
  CHECK(r.exitCode == 1);
  CHECK_THAT(r.err, Catch::Contains("constant_value has dtype i64"));
  CHECK(!std::ifstream(out).good());
}
