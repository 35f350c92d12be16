// Bad quantized (QDQ) models through the real `marsc compile` and
// `marsc eval --integer` (and `marsc inspect` where the importer rejects the
// file): scales that are zero, negative, NaN or infinite, zero points out of
// range or of unsupported dtypes, absurd bit widths, requantization
// multipliers that overflow, shapes whose element counts overflow. Each row
// must end with exit code 1 (never a signal, 134 or 2), exactly one
// "marsc: error: " line naming the file, the node or field and what is
// wrong, and no output file (issue 15, point 2).

#include "common/Subprocess.h"

#include "mars/onnx/Import.h"
#include "mars/quant/Execute.h"
#include "mars/quant/Lower.h"

#include <catch2/catch.hpp>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

using mars::test::CommandResult;
using mars::test::quote;
using mars::test::runCommand;

namespace {

using onnx::TensorProto;

TensorProto *initializer(onnx::GraphProto *g, const std::string &name,
                         TensorProto::DataType dtype,
                         std::vector<int64_t> dims) {
  TensorProto *t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(dtype);
  for (int64_t d : dims)
    t->add_dims(d);
  return t;
}

TensorProto *findInit(onnx::ModelProto &m, const std::string &name) {
  for (TensorProto &t : *m.mutable_graph()->mutable_initializer())
    if (t.name() == name)
      return &t;
  FAIL("no initializer " << name);
  return nullptr;
}

onnx::NodeProto *findNode(onnx::ModelProto &m, const std::string &name) {
  for (onnx::NodeProto &n : *m.mutable_graph()->mutable_node())
    if (n.name() == name)
      return &n;
  FAIL("no node " << name);
  return nullptr;
}

onnx::NodeProto *addNode(onnx::GraphProto *g, const std::string &name,
                         const std::string &op,
                         std::initializer_list<const char *> ins,
                         const std::string &out) {
  onnx::NodeProto *n = g->add_node();
  n->set_name(name);
  n->set_op_type(op);
  for (const char *in : ins)
    n->add_input(in);
  n->add_output(out);
  return n;
}

void setIntAttr(onnx::NodeProto *n, const std::string &name, int64_t v) {
  onnx::AttributeProto *a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

/// The QDQ form marsc itself writes, as small as it gets:
///   x[1,2,4,4] -> x_q/x_dq (int8, scale x_scale)
///   -> conv1 (w: int8[2,2,3,3] per-channel w_scale[2] via conv1_w_dq,
///             bias: int32[2] via conv1_b_dq)
///   -> relu1 -> y_q/y_dq (int8, scale y_scale) -> z[1,2,2,2].
onnx::ModelProto validQdqModel() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto *g = model.mutable_graph();
  g->set_name("tiny_qdq");
  auto valueInfo = [](onnx::ValueInfoProto *v, const std::string &name,
                      std::initializer_list<int64_t> dims) {
    v->set_name(name);
    auto *t = v->mutable_type()->mutable_tensor_type();
    t->set_elem_type(TensorProto::FLOAT);
    for (int64_t d : dims)
      t->mutable_shape()->add_dim()->set_dim_value(d);
  };
  valueInfo(g->add_input(), "x", {1, 2, 4, 4});
  valueInfo(g->add_output(), "z", {1, 2, 2, 2});

  initializer(g, "x_scale", TensorProto::FLOAT, {})->add_float_data(1.f / 127);
  initializer(g, "x_zp", TensorProto::INT8, {})->add_int32_data(0);
  TensorProto *w = initializer(g, "w", TensorProto::INT8, {2, 2, 3, 3});
  for (int i = 0; i < 36; ++i)
    w->add_int32_data((i * 37) % 255 - 127);
  TensorProto *ws = initializer(g, "w_scale", TensorProto::FLOAT, {2});
  ws->add_float_data(0.01f);
  ws->add_float_data(0.02f);
  TensorProto *wz = initializer(g, "w_zp", TensorProto::INT8, {2});
  wz->add_int32_data(0);
  wz->add_int32_data(0);
  TensorProto *b = initializer(g, "b", TensorProto::INT32, {2});
  b->add_int32_data(100);
  b->add_int32_data(-50);
  TensorProto *bs = initializer(g, "b_scale", TensorProto::FLOAT, {2});
  bs->add_float_data(0.01f / 127);
  bs->add_float_data(0.02f / 127);
  TensorProto *bz = initializer(g, "b_zp", TensorProto::INT32, {2});
  bz->add_int32_data(0);
  bz->add_int32_data(0);
  initializer(g, "y_scale", TensorProto::FLOAT, {})->add_float_data(0.05f);
  initializer(g, "y_zp", TensorProto::INT8, {})->add_int32_data(0);

  addNode(g, "x_q", "QuantizeLinear", {"x", "x_scale", "x_zp"}, "xq");
  addNode(g, "x_dq", "DequantizeLinear", {"xq", "x_scale", "x_zp"}, "xd");
  setIntAttr(addNode(g, "conv1_w_dq", "DequantizeLinear",
                     {"w", "w_scale", "w_zp"}, "wd"),
             "axis", 0);
  setIntAttr(addNode(g, "conv1_b_dq", "DequantizeLinear",
                     {"b", "b_scale", "b_zp"}, "bd"),
             "axis", 0);
  addNode(g, "conv1", "Conv", {"xd", "wd", "bd"}, "y");
  addNode(g, "relu1", "Relu", {"y"}, "r");
  addNode(g, "y_q", "QuantizeLinear", {"r", "y_scale", "y_zp"}, "yq");
  addNode(g, "y_dq", "DequantizeLinear", {"yq", "y_scale", "y_zp"}, "z");
  return model;
}

void addMetadata(onnx::ModelProto &m, const std::string &key,
                 const std::string &value) {
  auto *p = m.add_metadata_props();
  p->set_key(key);
  p->set_value(value);
}

std::string dir() { return std::string(MARS_BINARY_DIR) + "/test/badinput/"; }

std::string writeModel(const std::string &name, const onnx::ModelProto &m) {
  std::string path = dir() + name;
  std::ofstream(path, std::ios::binary) << m.SerializeAsString();
  return path;
}

bool exists(const std::string &path) { return std::ifstream(path).good(); }

/// The error contract of one run, and that `output` was not written.
void expectUserError(const std::string &what, const std::string &command,
                     const std::string &model, const std::string &output,
                     const std::vector<std::string> &mustMention) {
  std::remove(output.c_str());
  CommandResult r = runCommand(command);
  INFO(what << ": " << command << "\nstderr: " << r.err);
  CHECK(r.exitCode == 1);
  // Exactly one error line, the last one (compile prints its progress line
  // "marsc compile: <file> (N passes)" before it).
  std::vector<std::string> lines;
  for (size_t at = 0; at < r.err.size();) {
    size_t end = r.err.find('\n', at);
    if (end == std::string::npos)
      end = r.err.size();
    lines.push_back(r.err.substr(at, end - at));
    at = end + 1;
  }
  REQUIRE(!lines.empty());
  const std::string &error = lines.back();
  CHECK(error.rfind("marsc: error: ", 0) == 0);
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    INFO("line " << i << ": " << lines[i]);
    CHECK(lines[i].find("error") == std::string::npos);
  }
  CHECK(r.err.find("internal error") == std::string::npos);
  CHECK(r.err.find("Sanitizer") == std::string::npos);
  CHECK_THAT(error, Catch::Contains(model));
  for (const std::string &m : mustMention)
    CHECK_THAT(error, Catch::Contains(m));
  CHECK(!exists(output));
}

struct Row {
  std::string name;
  std::function<void(onnx::ModelProto &)> corrupt;
  /// Substrings the error line must hold: the node or field, and the fault.
  std::vector<std::string> mustMention;
  /// The importer rejects it: `marsc inspect` fails too.
  bool importError = false;
};

/// Appends `op` (reading `ins`, where "yd" is y_dq's output) and its own
/// QuantizeLinear 's_q' / DequantizeLinear at `scale` as the new output z.
void appendLayer(onnx::ModelProto &m, const std::string &op,
                 std::initializer_list<const char *> ins, float scale) {
  onnx::GraphProto *g = m.mutable_graph();
  findNode(m, "y_dq")->set_output(0, "yd");
  initializer(g, "s_scale", TensorProto::FLOAT, {})->add_float_data(scale);
  addNode(g, "layer2", op, ins, "s");
  addNode(g, "s_q", "QuantizeLinear", {"s", "s_scale", "y_zp"}, "sq");
  addNode(g, "s_dq", "DequantizeLinear", {"sq", "s_scale", "y_zp"}, "z");
}

void setFloat(onnx::ModelProto &m, const std::string &name, int index,
              float v) {
  findInit(m, name)->set_float_data(index, v);
}

const float kNan = std::numeric_limits<float>::quiet_NaN();
const float kInf = std::numeric_limits<float>::infinity();

std::vector<Row> rows() {
  const std::string wdq = "node 'conv1_w_dq' (DequantizeLinear): ";
  const std::string conv = "node 'conv1' (Conv): ";
  const std::string xq = "node 'x_q' (QuantizeLinear): ";
  const std::string yq = "node 'y_q' (QuantizeLinear): ";
  return {
      // Weight scales, per-tensor: the shape of DequantizeLinear's scale
      // becomes a scalar.
      {"weight scale 0",
       [](onnx::ModelProto &m) {
         TensorProto *s = findInit(m, "w_scale");
         s->clear_dims();
         s->clear_float_data();
         s->add_float_data(0.f);
         TensorProto *z = findInit(m, "w_zp");
         z->clear_dims();
         z->clear_int32_data();
         z->add_int32_data(0);
       },
       {wdq + "the scale must be positive and finite, got 0"}},
      {"weight scale negative",
       [](onnx::ModelProto &m) { setFloat(m, "w_scale", 0, -0.5f); },
       {wdq + "scale 0 of 2 must be positive and finite, got -0.5"}},
      {"weight scale NaN",
       [](onnx::ModelProto &m) { setFloat(m, "w_scale", 1, kNan); },
       {wdq + "scale 1 of 2 must be positive and finite, got nan"}},
      {"weight scale infinite",
       [](onnx::ModelProto &m) { setFloat(m, "w_scale", 0, kInf); },
       {wdq + "scale 0 of 2 must be positive and finite, got inf"}},
      {"per-channel weight scale 0 in channel 1",
       [](onnx::ModelProto &m) { setFloat(m, "w_scale", 1, 0.f); },
       {wdq + "scale 1 of 2 must be positive and finite, got 0"}},
      {"bias scale negative",
       [](onnx::ModelProto &m) { setFloat(m, "b_scale", 1, -1.f); },
       {"node 'conv1_b_dq' (DequantizeLinear): scale 1 of 2 must be "
        "positive and finite, got -1"}},
      {"bias beyond int32 at the accumulator scale",
       [](onnx::ModelProto &m) { setFloat(m, "b_scale", 0, 1e6f); },
       {conv + "bias 1e+08 overflows int32 at scale 7.87402e-05",
        "a weight scale at least |bias| / (input scale × 2^30) would fit it"}},
      // Activation scales.
      {"input activation scale 0",
       [](onnx::ModelProto &m) { setFloat(m, "x_scale", 0, 0.f); },
       {xq + "the activation scale must be positive and finite, got 0"}},
      {"output activation scale negative",
       [](onnx::ModelProto &m) { setFloat(m, "y_scale", 0, -0.05f); },
       {yq + "the activation scale must be positive and finite, got -0.05"}},
      {"output activation scale NaN",
       [](onnx::ModelProto &m) { setFloat(m, "y_scale", 0, kNan); },
       {yq + "the activation scale must be positive and finite, got nan"}},
      {"output activation scale -infinite",
       [](onnx::ModelProto &m) { setFloat(m, "y_scale", 0, -kInf); },
       {yq + "the activation scale must be positive and finite, got -inf"}},
      // Zero points.
      {"activation zero point outside int8",
       [](onnx::ModelProto &m) { findInit(m, "x_zp")->set_int32_data(0, 300); },
       {"'x_zp'", "int32_data value 300 at index 0 does not fit i8"},
       true},
      {"weight zero point outside int8",
       [](onnx::ModelProto &m) {
         findInit(m, "w_zp")->set_int32_data(1, -129);
       },
       {"'w_zp'", "int32_data value -129 at index 1 does not fit i8"},
       true},
      {"activation zero point not 0",
       [](onnx::ModelProto &m) { findInit(m, "y_zp")->set_int32_data(0, 3); },
       {yq + "zero point 3 is not supported"}},
      {"weight zero point not 0",
       [](onnx::ModelProto &m) { findInit(m, "w_zp")->set_int32_data(1, 1); },
       {wdq + "weight zero points must be 0 (symmetric), got 1"}},
      {"zero point of an unsupported dtype (int16)",
       [](onnx::ModelProto &m) {
         findInit(m, "x_zp")->set_data_type(TensorProto::INT16);
       },
       {"'x_zp'", "unsupported dtype INT16"},
       true},
      {"float weights behind DequantizeLinear",
       [](onnx::ModelProto &m) {
         TensorProto *w = findInit(m, "w");
         w->set_data_type(TensorProto::FLOAT);
         for (int i = 0; i < w->int32_data_size(); ++i)
           w->add_float_data(float(w->int32_data(i)));
         w->clear_int32_data();
         findNode(m, "conv1_w_dq")->mutable_input()->RemoveLast();
       },
       {wdq + "the dequantized constant 'w' is f32", "weights as int8"}},
      {"int32 weights (32-bit)",
       [](onnx::ModelProto &m) {
         findInit(m, "w")->set_data_type(TensorProto::INT32);
         findInit(m, "w_zp")->set_data_type(TensorProto::INT32);
       },
       {conv + "weights 'wd' must have 2..8 bits, got 32"}},
      {"weights scaled along the input-channel axis",
       [](onnx::ModelProto &m) {
         onnx::NodeProto *dq = findNode(m, "conv1_w_dq");
         dq->mutable_attribute(0)->set_i(1);
       },
       {conv + "weights 'wd' are scaled along axis 1"}},
      // Bit widths carried by the file's metadata.
      {"weight bits 1 in the metadata",
       [](onnx::ModelProto &m) {
         addMetadata(m, "mars.quant.w",
                     "bits=1;axis=0;scales=0.01,0.02;zero_points=0,0");
       },
       {conv + "weights 'wd' must have 2..8 bits, got 1"}},
      {"weight bits 12 in the metadata",
       [](onnx::ModelProto &m) {
         addMetadata(m, "mars.quant.w",
                     "bits=12;axis=0;scales=0.01,0.02;zero_points=0,0");
       },
       {conv + "weights 'wd' must have 2..8 bits, got 12"}},
      {"activation bits 16 in the metadata",
       [](onnx::ModelProto &m) {
         addMetadata(m, "mars.quant.yq",
                     "bits=16;axis=-1;scales=0.05;zero_points=0");
       },
       {yq + "activation bits must be 2..8, got 16"}},
      {"activation bits 64 in the metadata",
       [](onnx::ModelProto &m) {
         addMetadata(m, "mars.quant.yq",
                     "bits=64;axis=-1;scales=0.05;zero_points=0");
       },
       {"value 'yq'", "quantization bits 64 out of range"},
       true},
      {"scale 0 in the metadata",
       [](onnx::ModelProto &m) {
         addMetadata(m, "mars.quant.yq",
                     "bits=8;axis=-1;scales=0;zero_points=0");
       },
       {"metadata 'mars.quant.yq'",
        "quantization scale '0' must be positive and finite"},
       true},
      // Requantization multipliers: every scale is fine, their ratio
      // 1e30 × (1/127) / 1e-30 is not representable.
      {"requantization multiplier overflows",
       [](onnx::ModelProto &m) {
         setFloat(m, "w_scale", 0, 1e30f);
         setFloat(m, "y_scale", 0, 1e-30f);
       },
       {yq + "the requantization channel 0's multiplier",
        "outside the representable range (0, 2^31)"}},
      {"Add requantization multiplier overflows",
       [](onnx::ModelProto &m) {
         // z = y_dq + y_dq requantized at 1e-30: 0.05 / 1e-30 overflows.
         appendLayer(m, "Add", {"yd", "yd"}, 1e-30f);
       },
       {"node 's_q' (QuantizeLinear): the requantization input 0's "
        "multiplier",
        "outside the representable range (0, 2^31)"}},
      {"average pool requantization multiplier overflows",
       [](onnx::ModelProto &m) {
         appendLayer(m, "GlobalAveragePool", {"yd"}, 1e-30f);
         auto *shape = m.mutable_graph()
                           ->mutable_output(0)
                           ->mutable_type()
                           ->mutable_tensor_type()
                           ->mutable_shape();
         shape->mutable_dim(2)->set_dim_value(1);
         shape->mutable_dim(3)->set_dim_value(1);
       },
       {"node 's_q' (QuantizeLinear): the requantization multiplier (input "
        "scale / output scale) is 5e+28",
        "outside the representable range (0, 2^31)"}},
      // Shapes.
      {"weight dims 2^40 x 2^40",
       [](onnx::ModelProto &m) {
         TensorProto *w = findInit(m, "w");
         w->set_dims(0, int64_t(1) << 40);
         w->set_dims(1, int64_t(1) << 40);
       },
       {"'w'", "absurd size", "more than 2^31 elements"},
       true},
      {"negative weight dim",
       [](onnx::ModelProto &m) { findInit(m, "w")->set_dims(2, -3); },
       {"'w'", "non-positive dimension"},
       true},
      {"input dims 2^40 x 2^40",
       [](onnx::ModelProto &m) {
         auto *shape = m.mutable_graph()
                           ->mutable_input(0)
                           ->mutable_type()
                           ->mutable_tensor_type()
                           ->mutable_shape();
         shape->mutable_dim(2)->set_dim_value(int64_t(1) << 40);
         shape->mutable_dim(3)->set_dim_value(int64_t(1) << 40);
       },
       {"'x'", "more than 2^31 elements"},
       true},
      {"Conv pads 2^62",
       [](onnx::ModelProto &m) {
         onnx::AttributeProto *a = findNode(m, "conv1")->add_attribute();
         a->set_name("pads");
         a->set_type(onnx::AttributeProto::INTS);
         for (int i = 0; i < 4; ++i)
           a->add_ints(int64_t(1) << 62);
       },
       {conv, "absurd window attribute"},
       true},
  };
}

} // namespace

TEST_CASE("the valid QDQ base model compiles and runs as integers") {
  std::string model = writeModel("qdq_valid.onnx", validQdqModel());
  std::string program = dir() + "qdq_valid.bin";
  std::remove(program.c_str());
  CommandResult r = runCommand(std::string(MARSC_PATH) + " compile " +
                               quote(model) + " -o " + quote(program));
  INFO(r.err);
  CHECK(r.exitCode == 0);
  CHECK(exists(program));
  r = runCommand(std::string(MARSC_PATH) + " eval --integer " + quote(model) +
                 " --random 1");
  INFO(r.err);
  CHECK(r.exitCode == 0);
}

TEST_CASE("bad QDQ models: exit 1, one error line with context, no output") {
  for (const Row &row : rows()) {
    SECTION(row.name) {
      onnx::ModelProto m = validQdqModel();
      row.corrupt(m);
      std::string file = "qdq_bad_";
      for (char c : row.name)
        file += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      const std::string model = writeModel(file + ".onnx", m);
      const std::string program = dir() + file + ".bin";
      const std::string npy = dir() + file + ".npy";
      const std::string marsc = MARSC_PATH;
      expectUserError(row.name + " (compile)",
                      marsc + " compile " + quote(model) + " -o " +
                          quote(program),
                      model, program, row.mustMention);
      expectUserError(row.name + " (eval --integer)",
                      marsc + " eval --integer " + quote(model) +
                          " --random 1 --output " + quote(npy),
                      model, npy, row.mustMention);
      if (row.importError)
        expectUserError(row.name + " (inspect)",
                        marsc + " inspect " + quote(model), model,
                        dir() + "never_written", row.mustMention);
    }
  }
}

TEST_CASE("number fuzzer: seeded special values in every scale, zero point, "
          "weight and bit width never abort the lowering or the executor") {
  // In process (an abort kills the test): import, lower to the integer
  // network, run it on one image. Each case either works or is an Error
  // whose message starts with the file name.
  const std::vector<float> specials = {
      0.f,   -0.f,  -1.f,   kNan,  kInf,  -kInf, 1e-45f, 1e-38f,
      1e38f, 1e30f, 1e-30f, 3e38f, 0.05f, 2.f,   1e10f,  -1e-30f};
  const std::vector<int32_t> ints = {
      0, 1, -1, 127, -128, 255, 300, -129, 65536, 2147483647, -2147483647};
  const std::vector<std::string> bitTexts = {"-1", "0",  "1",  "2", "8",
                                             "9",  "32", "33", "64"};
  uint32_t state = 4242; // explicit seed: the same cases every run
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  int lowered = 0, rejected = 0;
  for (int round = 0; round < 600; ++round) {
    onnx::ModelProto m = validQdqModel();
    // A third of the cases grow an Add or a GlobalAveragePool layer.
    const int shape = int(next() % 3);
    if (shape == 1)
      appendLayer(m, "Add", {"yd", "yd"}, 0.1f);
    if (shape == 2) {
      appendLayer(m, "GlobalAveragePool", {"yd"}, 0.1f);
      auto *out = m.mutable_graph()
                      ->mutable_output(0)
                      ->mutable_type()
                      ->mutable_tensor_type()
                      ->mutable_shape();
      out->mutable_dim(2)->set_dim_value(1);
      out->mutable_dim(3)->set_dim_value(1);
    }
    for (int edits = 1 + int(next() % 3); edits > 0; --edits) {
      auto *inits = m.mutable_graph()->mutable_initializer();
      TensorProto &t = inits->at(int(next() % inits->size()));
      if (t.float_data_size() > 0) {
        t.set_float_data(int(next() % t.float_data_size()),
                         specials[next() % specials.size()]);
      } else if (t.int32_data_size() > 0) {
        t.set_int32_data(int(next() % t.int32_data_size()),
                         ints[next() % ints.size()]);
      }
      if (next() % 8 == 0) {
        const char *value = next() % 2 ? "yq" : "w";
        std::string text = "bits=" + bitTexts[next() % bitTexts.size()];
        text += value == std::string("yq")
                    ? ";axis=-1;scales=0.05;zero_points=0"
                    : ";axis=0;scales=0.01,0.02;zero_points=0,0";
        addMetadata(m, std::string("mars.quant.") + value, text);
      }
    }
    INFO("round " << round);
    auto graph = mars::onnx::importModel(m.SerializeAsString(), "fuzz.onnx");
    if (!graph) {
      ++rejected;
      CHECK(graph.error().message().rfind("fuzz.onnx: ", 0) == 0);
      continue;
    }
    auto net = mars::quant::lowerToInteger(*graph);
    if (!net) {
      ++rejected;
      CHECK(net.error().message().rfind("integer lowering: ", 0) == 0);
      CHECK(net.error().message().find('\n') == std::string::npos);
      continue;
    }
    ++lowered;
    std::vector<float> image(2 * 4 * 4);
    for (size_t i = 0; i < image.size(); ++i)
      image[i] = float(int(next() % 200) - 100) / 50.f;
    mars::quant::runInteger(*net,
                            mars::quant::quantizeInput(*net, image.data()));
  }
  CHECK(lowered > 20);
  CHECK(rejected > 200);
}
