// Export → onnx::checker → import must give back the same Graph, for
// conformance models and for quantization parameters; files are atomic.
#include "ModelBuilder.h"

#include "mars/ir/Printer.h"
#include "mars/onnx/Export.h"
#include "mars/onnx/Import.h"
#include "mars/onnx/TensorFile.h"

#include <catch2/catch.hpp>
#include <onnx/checker.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace ir = mars::ir;
namespace mo = mars::onnx;
namespace fs = std::filesystem;
using mars::Expected;

namespace {
const std::string kNodeTests =
    "/usr/lib/python3/dist-packages/onnx/backend/test/data/node/";

std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Imports a conformance model, binding its int64 inputs (shapes, pads)
/// to the values of test_data_set_0, as the conformance runner does.
ir::Graph importConformance(const std::string &test) {
  const std::string dir = kNodeTests + test + "/";
  ::onnx::ModelProto model;
  REQUIRE(model.ParseFromString(slurp(dir + "model.onnx")));
  mo::ImportOptions opts;
  int index = 0;
  for (const auto &input : model.graph().input()) {
    std::string file =
        dir + "test_data_set_0/input_" + std::to_string(index++) + ".pb";
    Expected<ir::Tensor> t = mo::readTensorProtoFile(file);
    REQUIRE(t.ok());
    if (t->dtype() == ir::DType::Int64)
      opts.bindInputs[input.name()] = *t;
  }
  Expected<ir::Graph> g = mo::importModelFile(dir + "model.onnx", opts);
  INFO(test << ": " << (g ? std::string() : g.error().message()));
  REQUIRE(g.ok());
  return g.take();
}

/// Exports, runs the ONNX checker, re-imports and compares.
void checkRoundTrip(const ir::Graph &g) {
  Expected<std::string> bytes = mo::exportModel(g);
  INFO((bytes ? std::string() : bytes.error().message()));
  REQUIRE(bytes.ok());
  ::onnx::ModelProto exported;
  REQUIRE(exported.ParseFromString(*bytes));
  CHECK_NOTHROW(::onnx::checker::check_model(exported));
  CHECK(exported.ir_version() == 8);
  CHECK(exported.opset_import(0).version() == 17);
  CHECK(exported.producer_name() == "marsc");
  Expected<ir::Graph> again = mo::importModel(*bytes, "exported.onnx");
  INFO((again ? std::string() : again.error().message()));
  REQUIRE(again.ok());
  CHECK(ir::printGraph(*again) == ir::printGraph(g));
  CHECK(*again == g);
}

std::string tempDir() {
  fs::path dir = fs::temp_directory_path() /
                 ("mars_onnx_test." + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir.string();
}
} // namespace

TEST_CASE("round trip: conformance models survive export and re-import") {
  for (const char *test : {"test_conv_with_strides_padding",
                           "test_basic_conv_with_padding",
                           "test_batchnorm_example",
                           "test_maxpool_2d_ceil",
                           "test_maxpool_2d_same_upper",
                           "test_averagepool_2d_pads",
                           "test_gemm_all_attributes",
                           "test_reshape_negative_dim",
                           "test_reshape_reordered_all_dims",
                           "test_softmax_axis_0",
                           "test_constant_pad",
                           "test_concat_2d_axis_0",
                           "test_matmul_4d",
                           "test_add_bcast",
                           "test_clip_default_min",
                           "test_flatten_axis0",
                           "test_leakyrelu",
                           "test_quantizelinear",
                           "test_dequantizelinear_axis",
                           "test_dropout_default_mask"}) {
    INFO(test);
    checkRoundTrip(importConformance(test));
  }
}

TEST_CASE("round trip: legacy canonical forms re-import unchanged") {
  // Legacy Softmax expands into three nodes and Clip-6 into constants; the
  // exported opset-17 model must import to the identical graph.
  mars::test::ModelBuilder b(9, "legacy");
  b.input("x", {-1, 3, 4});
  auto &clip = b.node("Clip", {"x"}, {"c"}, "clip");
  mars::test::setFloat(clip, "min", -1.0f);
  b.node("Softmax", {"c"}, {"y"}, "sm");
  b.output("y");
  Expected<ir::Graph> g = mo::importModel(b.bytes(), "legacy.onnx");
  REQUIRE(g.ok());
  CHECK(g->numNodes() == 4);
  checkRoundTrip(*g);
}

TEST_CASE("round trip: opset-6 models export as valid opset-17 models") {
  // The legacy conversions (BatchNormalization-6 is_test, Gemm-6 broadcast,
  // Pad-2, Softmax-1) give IR that the exporter writes in opset-17 form.
  const std::string root =
      "/usr/lib/python3/dist-packages/onnx/backend/test/data/";
  for (const char *test :
       {"pytorch-converted/test_BatchNorm2d_eval",
        "pytorch-converted/test_Linear", "pytorch-converted/test_ConstantPad2d",
        "pytorch-converted/test_Softmax",
        "pytorch-operator/test_operator_addmm"}) {
    INFO(test);
    Expected<ir::Graph> g =
        mo::importModelFile(root + test + "/model.onnx", mo::ImportOptions{});
    INFO((g ? std::string() : g.error().message()));
    REQUIRE(g.ok());
    checkRoundTrip(*g);
  }

  // Add-6 broadcast at an inner axis: B is reshaped by a Reshape node.
  mars::test::ModelBuilder b(6, "bcast");
  b.input("a", {2, 3, 4});
  b.input("b", {3});
  auto &add = b.node("Add", {"a", "b"}, {"y"}, "add");
  mars::test::setInt(add, "broadcast", 1);
  mars::test::setInt(add, "axis", 1);
  b.output("y");
  Expected<ir::Graph> g = mo::importModel(b.bytes(), "bcast.onnx");
  REQUIRE(g.ok());
  CHECK(g->numNodes() == 2);
  checkRoundTrip(*g);
}

TEST_CASE("round trip: quantization parameters travel in metadata_props") {
  mars::test::ModelBuilder b(17, "quant");
  b.input("x", {1, 2, 3, 3});
  b.initializer("w", {2, 2, 1, 1}, {1, 2, 3, 4});
  b.node("Conv", {"x", "w"}, {"y"}, "conv");
  b.output("y");
  Expected<ir::Graph> imported = mo::importModel(b.bytes(), "quant.onnx");
  REQUIRE(imported.ok());
  ir::Graph g = imported.take();
  ir::QuantParams perTensor{8, {0.125f}, {3}, -1};
  ir::QuantParams perChannel{4, {0.1f, 0.3f}, {0, -1}, 0};
  ir::Value &out = g.value(g.outputs[0]);
  out.type.quant = perTensor;
  ir::ValueId w = g.initializers().at(0);
  g.value(w).type.quant = perChannel;
  g.value(w).constant->type().quant = perChannel;
  checkRoundTrip(g);

  Expected<std::string> bytes = mo::exportModel(g);
  REQUIRE(bytes.ok());
  ::onnx::ModelProto m;
  REQUIRE(m.ParseFromString(*bytes));
  bool found = false;
  for (const auto &p : m.metadata_props())
    if (p.key() == "mars.quant." + out.name) {
      found = true;
      CHECK(p.value() == "bits=8;axis=-1;scales=0.125;zero_points=3");
    }
  CHECK(found);
}

TEST_CASE("export: files are written atomically") {
  ir::Graph g = importConformance("test_batchnorm_example");
  std::string dir = tempDir();
  std::string path = dir + "/model.onnx";
  REQUIRE(mo::exportModelFile(g, path).ok());
  Expected<ir::Graph> back = mo::importModelFile(path);
  REQUIRE(back.ok());
  CHECK(*back == g);
  for (const auto &entry : fs::directory_iterator(dir))
    CHECK(entry.path().filename() == "model.onnx"); // no temporary left

  std::string bad = dir + "/missing/dir/model.onnx";
  CHECK_FALSE(mo::exportModelFile(g, bad).ok());
  CHECK_FALSE(fs::exists(bad));

  ir::Graph broken = g;
  broken.nodes()[0].inputs[0] = 12345; // invalid: refused before writing
  std::string refused = dir + "/refused.onnx";
  mars::Status s = mo::exportModelFile(broken, refused);
  CHECK_FALSE(s.ok());
  CHECK_FALSE(fs::exists(refused));
  fs::remove_all(dir);
}

TEST_CASE("tensor files: conformance data reads, and writes round-trip") {
  std::string name;
  Expected<ir::Tensor> t = mo::readTensorProtoFile(
      kNodeTests + "test_conv_with_strides_padding/test_data_set_0/input_0.pb",
      &name);
  REQUIRE(t.ok());
  CHECK(t->shape() == ir::Shape{1, 1, 7, 5});
  CHECK(t->dtype() == ir::DType::Float32);
  CHECK(t->getAsDouble(1) == 1.0);

  std::string dir = tempDir();
  std::string path = dir + "/t.pb";
  REQUIRE(mo::writeTensorProtoFile(*t, "x", path).ok());
  std::string readName;
  Expected<ir::Tensor> back = mo::readTensorProtoFile(path, &readName);
  REQUIRE(back.ok());
  CHECK(*back == *t);
  CHECK(readName == "x");

  // BOOL reads as u8 0/1, from raw_data (any nonzero byte is true) or
  // int32_data.
  ::onnx::TensorProto boolProto;
  boolProto.set_name("mask");
  boolProto.set_data_type(::onnx::TensorProto::BOOL);
  boolProto.add_dims(4);
  boolProto.set_raw_data(std::string("\x00\x01\x02\x00", 4));
  std::ofstream(dir + "/bool_raw.pb", std::ios::binary)
      << boolProto.SerializeAsString();
  boolProto.clear_raw_data();
  for (int v : {1, 0, 0, 1})
    boolProto.add_int32_data(v);
  std::ofstream(dir + "/bool_typed.pb", std::ios::binary)
      << boolProto.SerializeAsString();
  for (const auto &[file, expected] :
       {std::pair<const char *, std::vector<int64_t>>{"bool_raw.pb",
                                                      {0, 1, 1, 0}},
        {"bool_typed.pb", {1, 0, 0, 1}}}) {
    INFO(file);
    Expected<ir::Tensor> mask =
        mo::readTensorProtoFile(dir + "/" + file, &readName);
    INFO((mask ? std::string() : mask.error().message()));
    REQUIRE(mask.ok());
    CHECK(readName == "mask");
    CHECK(mask->dtype() == ir::DType::UInt8);
    CHECK(mask->shape() == ir::Shape{4});
    CHECK(mask->toInt64s() == expected);
  }
  // The conformance tests' Dropout mask (all true).
  Expected<ir::Tensor> conformanceMask = mo::readTensorProtoFile(
      kNodeTests + "test_dropout_default_mask/test_data_set_0/output_1.pb");
  REQUIRE(conformanceMask.ok());
  CHECK(conformanceMask->dtype() == ir::DType::UInt8);
  CHECK(conformanceMask->toInt64s() ==
        std::vector<int64_t>(size_t(conformanceMask->numElements()), 1));

  std::ofstream(dir + "/junk.pb") << "definitely not a tensor \x01\x02";
  Expected<ir::Tensor> junk = mo::readTensorProtoFile(dir + "/junk.pb");
  CHECK_FALSE(junk.ok());
  CHECK_FALSE(mo::readTensorProtoFile(dir + "/absent.pb").ok());
  fs::remove_all(dir);
}
