// Every documented import error: a clean one-line message with context,
// never a crash, hang or abort.
#include "ModelBuilder.h"

#include "mars/onnx/Import.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace mo = mars::onnx;
namespace test = mars::test;
using Catch::Contains;
using mars::Expected;
using test::ModelBuilder;

namespace {
std::string importError(const std::string &bytes) {
  Expected<mars::ir::Graph> g = mo::importModel(bytes, "bad.onnx");
  REQUIRE_FALSE(g.ok());
  const std::string &m = g.error().message();
  CHECK(m.rfind("bad.onnx: ", 0) == 0);
  CHECK(m.find('\n') == std::string::npos);
  return m;
}

/// x[1,2,4,4] -> Relu -> y, to be broken by each test.
ModelBuilder reluModel(int64_t opset = 17) {
  ModelBuilder b(opset);
  b.input("x", {1, 2, 4, 4});
  b.node("Relu", {"x"}, {"y"}, "relu");
  b.output("y");
  return b;
}
} // namespace

TEST_CASE("bad input: bytes that are not a model") {
  CHECK_THAT(importError("\xff\xff\xff\xff this is not protobuf"),
             Contains("not a valid ONNX model"));
  CHECK_THAT(importError(""), Contains("the model has no graph"));
}

TEST_CASE("bad input: a truncated model") {
  std::ifstream in("/usr/lib/python3/dist-packages/onnx/backend/test/data/"
                   "node/test_conv_with_strides_padding/model.onnx",
                   std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  std::string bytes = s.str();
  REQUIRE(bytes.size() > 40);
  for (size_t cut : {bytes.size() - 1, bytes.size() / 2, size_t{7}})
    importError(bytes.substr(0, cut));
}

TEST_CASE("bad input: opsets outside 1..17") {
  CHECK_THAT(importError(reluModel(0).bytes()),
             Contains("ai.onnx opset 0 is not supported (supported: 1 to 17)"));
  CHECK_THAT(importError(reluModel(18).bytes()),
             Contains("ai.onnx opset 18 is not supported"));
  ModelBuilder other = reluModel();
  other.graph().mutable_node(0)->set_domain("com.microsoft");
  CHECK_THAT(importError(other.bytes()),
             Contains("node 'relu' (Relu): domain 'com.microsoft'"));
}

TEST_CASE("bad input: a cycle") {
  ModelBuilder b;
  b.input("x", {1, 4});
  b.node("Add", {"x", "b"}, {"a"}, "first");
  b.node("Relu", {"a"}, {"b"}, "second");
  b.output("b");
  CHECK_THAT(importError(b.bytes()), Contains("(Add): the graph has a cycle"));
}

TEST_CASE("bad input: a missing initializer") {
  ModelBuilder b;
  b.input("x", {1, 1, 4, 4});
  b.node("Conv", {"x", "w"}, {"y"}, "conv");
  b.output("y");
  CHECK_THAT(importError(b.bytes()),
             Contains("node 'conv' (Conv): input 'w' is not defined"));
  CHECK_THAT(importError(b.bytes()), Contains("missing initializer"));

  ModelBuilder noOutput = reluModel();
  noOutput.output("nowhere");
  CHECK_THAT(importError(noOutput.bytes()),
             Contains("graph output 'nowhere' is never defined"));
}

TEST_CASE("bad input: zero, negative and absurd dimensions") {
  ModelBuilder zero;
  zero.input("x", {1, 0, 4});
  zero.node("Relu", {"x"}, {"y"}, "relu");
  zero.output("y");
  CHECK_THAT(importError(zero.bytes()),
             Contains("graph input 'x': non-positive dimension in [1,0,4]"));

  ModelBuilder absurd;
  absurd.input("x", {2, 32768, 32769}); // just over 2^31
  absurd.node("Relu", {"x"}, {"y"}, "relu");
  absurd.output("y");
  CHECK_THAT(importError(absurd.bytes()),
             Contains("graph input 'x': absurd size [2,32768,32769]"));

  // An initializer claiming 2^40 elements with no data: rejected before
  // anything is allocated.
  ModelBuilder hugeInit = reluModel();
  auto *t = hugeInit.graph().add_initializer();
  t->set_name("w");
  t->set_data_type(::onnx::TensorProto::FLOAT);
  t->add_dims(int64_t{1} << 20);
  t->add_dims(int64_t{1} << 20);
  CHECK_THAT(importError(hugeInit.bytes()),
             Contains("initializer 'w': absurd size"));

  ModelBuilder shortData = reluModel();
  shortData.initializer("w", {2, 3}, {1, 2});
  CHECK_THAT(importError(shortData.bytes()),
             Contains("initializer 'w': float_data has 2 values"));

  ModelBuilder negative = reluModel();
  negative.initializer("w", {-1}, {});
  CHECK_THAT(importError(negative.bytes()),
             Contains("initializer 'w': non-positive dimension"));
}

TEST_CASE("bad input: unsupported op, with the supported list") {
  ModelBuilder b;
  b.input("x", {1, 1, 4, 4});
  b.initializer("w", {1, 1, 2, 2}, {1, 1, 1, 1});
  b.node("ConvTranspose", {"x", "w"}, {"y"}, "x");
  b.output("y");
  CHECK_THAT(importError(b.bytes()),
             Contains("node 'x' (ConvTranspose): unsupported op; supported: "
                      "Add, AveragePool, BatchNormalization, Clip, Concat, "
                      "Constant, Conv,"));

  ModelBuilder unnamed;
  unnamed.input("x", {1, 4});
  unnamed.node("Relu", {"x"}, {"r"});
  unnamed.node("Tanh", {"r"}, {"y"});
  unnamed.output("y");
  CHECK_THAT(importError(unnamed.bytes()),
             Contains("node 'Tanh_1' (Tanh): unsupported op"));
}

TEST_CASE("bad input: 1-D and 3-D convolution and pooling") {
  ModelBuilder conv1d;
  conv1d.input("x", {1, 1, 8});
  conv1d.initializer("w", {1, 1, 3}, {1, 1, 1});
  conv1d.node("Conv", {"x", "w"}, {"y"}, "c1");
  conv1d.output("y");
  CHECK_THAT(importError(conv1d.bytes()),
             Contains("node 'c1' (Conv): only 2-D (N, C, H, W) convolution "
                      "is supported, got rank-3 input"));

  ModelBuilder pool3d;
  pool3d.input("x", {1, 1, 4, 4, 4});
  auto &p = pool3d.node("MaxPool", {"x"}, {"y"}, "p3");
  test::setInts(p, "kernel_shape", {2, 2, 2});
  pool3d.output("y");
  CHECK_THAT(importError(pool3d.bytes()),
             Contains("node 'p3' (MaxPool): only 2-D (N, C, H, W) pooling is "
                      "supported, got rank-5 input"));
}

TEST_CASE("bad input: unsupported dtypes and external data") {
  ModelBuilder dbl;
  dbl.input("x", {1, 4}, ::onnx::TensorProto::DOUBLE);
  dbl.node("Relu", {"x"}, {"y"}, "relu");
  dbl.output("y");
  CHECK_THAT(importError(dbl.bytes()),
             Contains("graph input 'x': unsupported dtype DOUBLE"));

  ModelBuilder half = reluModel();
  auto *t = half.graph().add_initializer();
  t->set_name("h");
  t->set_data_type(::onnx::TensorProto::FLOAT16);
  CHECK_THAT(importError(half.bytes()),
             Contains("initializer 'h': unsupported dtype FLOAT16"));

  ModelBuilder external = reluModel();
  auto *e = external.graph().add_initializer();
  e->set_name("e");
  e->set_data_type(::onnx::TensorProto::FLOAT);
  e->set_data_location(::onnx::TensorProto::EXTERNAL);
  CHECK_THAT(importError(external.bytes()),
             Contains("initializer 'e': external data is not supported"));
}

TEST_CASE("bad input: unsupported forms of supported ops") {
  ModelBuilder indices;
  indices.input("x", {1, 1, 4, 4});
  auto &p = indices.node("MaxPool", {"x"}, {"y", "idx"}, "pool");
  test::setInts(p, "kernel_shape", {2, 2});
  indices.output("y");
  CHECK_THAT(importError(indices.bytes()),
             Contains("node 'pool' (MaxPool): MaxPool's Indices output is not "
                      "supported"));

  ModelBuilder dynamicShape;
  dynamicShape.input("x", {2, 6});
  dynamicShape.input("s", {2}, ::onnx::TensorProto::INT64);
  dynamicShape.node("Reshape", {"x", "s"}, {"y"}, "reshape");
  dynamicShape.output("y");
  CHECK_THAT(importError(dynamicShape.bytes()),
             Contains("node 'reshape' (Reshape): the shape input must be a "
                      "constant"));
  // Bound, the same model imports.
  mo::ImportOptions opts;
  opts.bindInputs["s"] = mars::ir::Tensor::fromInt64s({2}, {3, 4});
  CHECK(mo::importModel(dynamicShape.bytes(), "ok.onnx", opts).ok());

  ModelBuilder unknownAttr = reluModel();
  test::setInt(*unknownAttr.graph().mutable_node(0), "beta", 2);
  CHECK_THAT(importError(unknownAttr.bytes()),
             Contains("node 'relu' (Relu): unsupported attribute 'beta'"));

  ModelBuilder wrongType;
  wrongType.input("x", {1, 1, 4, 4});
  wrongType.initializer("w", {1, 1, 1, 1}, {1});
  auto &c = wrongType.node("Conv", {"x", "w"}, {"y"}, "conv");
  test::setFloat(c, "group", 1.0f);
  wrongType.output("y");
  CHECK_THAT(importError(wrongType.bytes()),
             Contains("node 'conv' (Conv): attribute 'group' has type f, "
                      "expected i"));

  ModelBuilder mismatch;
  mismatch.input("x", {1, 3, 4, 4});
  mismatch.initializer("w", {2, 2, 1, 1}, {1, 1, 1, 1});
  mismatch.node("Conv", {"x", "w"}, {"y"}, "conv");
  mismatch.output("y");
  CHECK_THAT(importError(mismatch.bytes()),
             Contains("node 'conv' (Conv): weight [2,2,1,1] with group=1 "
                      "expects 2 input channels, input has 3"));

  ModelBuilder twice = reluModel();
  twice.node("Relu", {"x"}, {"y"}, "again");
  CHECK_THAT(importError(twice.bytes()),
             Contains("node 'again' (Relu): output 'y' is already defined"));
}

TEST_CASE("bad input: every conformance model imports or fails cleanly") {
  namespace fs = std::filesystem;
  const fs::path root =
      "/usr/lib/python3/dist-packages/onnx/backend/test/data/node";
  int imported = 0, rejected = 0;
  for (const auto &dir : fs::directory_iterator(root)) {
    fs::path model = dir.path() / "model.onnx";
    if (!fs::exists(model))
      continue;
    Expected<mars::ir::Graph> g = mo::importModelFile(model.string());
    if (g) {
      ++imported;
      continue;
    }
    ++rejected;
    INFO(g.error().message());
    CHECK(g.error().message().rfind(model.string() + ": ", 0) == 0);
    CHECK(g.error().message().find('\n') == std::string::npos);
  }
  CHECK(imported > 50);
  CHECK(rejected > 0);
}

TEST_CASE("bad input: corrupted bytes never crash") {
  std::ifstream in("/usr/lib/python3/dist-packages/onnx/backend/test/data/"
                   "node/test_batchnorm_example/model.onnx",
                   std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  const std::string original = s.str();
  uint32_t state = 12345; // explicit seed: the same corruptions every run
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  for (int round = 0; round < 300; ++round) {
    std::string bytes = original;
    for (int flips = 1 + next() % 4; flips > 0; --flips)
      bytes[next() % bytes.size()] = static_cast<char>(next() >> 24);
    Expected<mars::ir::Graph> g = mo::importModel(bytes, "fuzz.onnx");
    if (!g)
      CHECK(g.error().message().rfind("fuzz.onnx: ", 0) == 0);
  }
}
