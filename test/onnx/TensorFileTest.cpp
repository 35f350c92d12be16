// Tensor files by extension (.npy through lib/data, .pb as TensorProto): the
// files `marsc eval`, `run` and `verify` read and write.
#include "mars/onnx/TensorFile.h"
#include "mars/data/Npy.h"

#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <unistd.h>

using namespace mars;

namespace {

std::string scratch(const std::string &name) {
  return "/tmp/mars_tensorfile_test_" + std::to_string(getpid()) + "_" + name;
}

ir::Tensor sample(ir::DType dtype) {
  ir::Tensor t(dtype, {2, 3});
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.setFromDouble(i, dtype == ir::DType::Float32 ? 0.25 * double(i) - 0.5
                                                   : double(i * 7 % 11));
  return t;
}

} // namespace

TEST_CASE("tensor files round-trip as .npy and .pb for every dtype") {
  for (ir::DType dtype : {ir::DType::Float32, ir::DType::Int8, ir::DType::UInt8,
                          ir::DType::Int32, ir::DType::Int64}) {
    ir::Tensor t = sample(dtype);
    for (const char *ext : {".npy", ".pb"}) {
      INFO(ir::dtypeName(dtype) << " " << ext);
      const std::string path = scratch(std::string("t") + ext);
      REQUIRE(onnx::writeTensorFile(t, "x", path).ok());
      auto back = onnx::readTensorFile(path);
      REQUIRE(back.ok());
      CHECK(back->type().toString() == t.type().toString());
      CHECK(back->bytes() == t.bytes());
      std::remove(path.c_str());
    }
  }
}

TEST_CASE("a .npy tensor file is what lib/data's reader expects") {
  ir::Tensor t = sample(ir::DType::Int32);
  const std::string path = scratch("x.npy");
  REQUIRE(onnx::writeTensorFile(t, "ignored", path).ok());
  auto array = data::readNpyFile(path);
  REQUIRE(array.ok());
  CHECK(array->dtype == data::NpyDType::Int32);
  CHECK(array->shape == std::vector<int64_t>{2, 3});
  CHECK(array->bytes == t.bytes());
  std::remove(path.c_str());
}

TEST_CASE("a .pb tensor file keeps its name and matches TensorProto bytes") {
  ir::Tensor t = sample(ir::DType::Float32);
  auto bytes = onnx::tensorFileBytes(t, "logits", "y.pb");
  REQUIRE(bytes.ok());
  auto direct = onnx::serializeTensorProto(t, "logits");
  REQUIRE(direct.ok());
  CHECK(*bytes == *direct);
  const std::string path = scratch("y.pb");
  REQUIRE(onnx::writeTensorFile(t, "logits", path).ok());
  std::string name;
  auto back = onnx::readTensorProtoFile(path, &name);
  REQUIRE(back.ok());
  CHECK(name == "logits");
  std::remove(path.c_str());
}

TEST_CASE("other extensions are an error naming the file") {
  const std::string expected =
      "x.txt: unknown tensor file type (use .npy or .pb)";
  CHECK(onnx::checkTensorFileExtension("x.npy").ok());
  CHECK(onnx::checkTensorFileExtension("dir/x.pb").ok());
  Status s = onnx::checkTensorFileExtension("x.txt");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message() == expected);
  auto read = onnx::readTensorFile("x.txt");
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().message() == expected);
  auto bytes = onnx::tensorFileBytes(sample(ir::DType::Int8), "x", "x.txt");
  REQUIRE_FALSE(bytes.ok());
  CHECK(bytes.error().message() == expected);
  const std::string missing = scratch("missing.npy");
  auto none = onnx::readTensorFile(missing);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message().find(missing) != std::string::npos);
}

TEST_CASE("graph inputs from tensor files: count, dtype and shape checked") {
  ir::Graph g;
  ir::ValueId x = g.addValue("x", {ir::DType::Int32, {2, 3}, {}});
  ir::ValueId y = g.addValue("y", {ir::DType::Int32, {2, 3}, {}});
  g.inputs = {x};
  g.outputs = {x, y};
  const std::string good = scratch("in.npy"), bad = scratch("in.pb");
  REQUIRE(onnx::writeTensorFile(sample(ir::DType::Int32), "x", good).ok());
  REQUIRE(onnx::writeTensorFile(sample(ir::DType::Int8), "x", bad).ok());

  auto read = onnx::readGraphInputs(g, {good}, "m.onnx");
  REQUIRE(read.ok());
  REQUIRE(read->size() == 1);
  CHECK((*read)[0] == sample(ir::DType::Int32));
  auto two = onnx::readGraphInputs(g, {good, good}, "m.onnx");
  REQUIRE_FALSE(two.ok());
  CHECK(two.error().message() == "m.onnx: the model has 1 input(s) ('x') but "
                                 "2 --input file(s) were given");
  auto wrong = onnx::readGraphInputs(g, {bad}, "m.onnx");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message() ==
        "input 'x' (" + bad +
            "): the model expects i32[2,3] but the file holds i8[2,3]");

  // Outputs: all files or none.
  const std::string out0 = scratch("out0.pb"), out1 = scratch("dir/out1.npy");
  std::vector<ir::Tensor> outs = {sample(ir::DType::Int32),
                                  sample(ir::DType::Int32)};
  Status failed = onnx::writeGraphOutputs(g, outs, {out0, out1});
  REQUIRE_FALSE(failed.ok());
  CHECK_FALSE(onnx::readTensorFile(out0).ok()); // removed again
  REQUIRE(onnx::writeGraphOutputs(g, outs, {out0}).ok());
  std::string name;
  REQUIRE(onnx::readTensorProtoFile(out0, &name).ok());
  CHECK(name == "x");
  for (const std::string &p : {good, bad, out0})
    std::remove(p.c_str());
}
