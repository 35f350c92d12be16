// The trainer takes every model the compiler takes: walks the IR's op list
// (lib/ir Ops.def) and, op by op, puts the op into a small float model and
// checks that `marsc compile`'s front end (fold-bn, fold-pad, quantize with
// random calibration, lower-to-integer) and `marsc train`'s module builder both
// accept it or both refuse it. The one list they share is lib/quant ChipOps.h.

#include "mars/train/GraphModule.h"
#include "passes/CompileTestUtil.h"

#include "ExportQdq.h"    // lib/train/src: the trainer's QDQ export
#include "GraphBuilder.h" // lib/zoo/src: the zoo's seeded layer builder

#include "mars/arch/ArchSpec.h"
#include "mars/ir/ShapeInference.h"
#include "mars/passes/PassManager.h"
#include "mars/quant/ChipOps.h"
#include "mars/quant/Lower.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace mars;
using ir::OpKind;
using ir::ValueId;

namespace {

/// Builds input [1,4,8,8] -> Conv -> Relu -> ... -> Gemm (10 logits) with
/// `op` in its natural place: in place of the Relu (activations), between
/// Conv and Relu (BatchNormalization), on the 2-D features before the
/// classifier (Gemm, MatMul, Flatten, Reshape), else after the Relu.
class ModelWithOp {
public:
  explicit ModelWithOp(OpKind op) : op_(op) {}

  ir::Graph build() {
    x_ = g_.addValue("x", ir::TensorType{ir::DType::Float32, {1, 4, 8, 8}, {}});
    g_.inputs.push_back(x_);
    ir::AttributeMap pad1;
    pad1.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    ValueId a =
        node(OpKind::Conv, {x_, weight({4, 4, 3, 3}), weight({4})}, pad1);
    const bool activation =
        op_ == OpKind::Relu || op_ == OpKind::Clip || op_ == OpKind::LeakyRelu;
    if (op_ == OpKind::BatchNormalization)
      a = node(op_, {a, positive(4), weight({4}), weight({4}), positive(4)});
    ValueId r = activation ? applyOp(a) : node(OpKind::Relu, {a});
    int64_t channels = 4;
    const bool flat = op_ == OpKind::Gemm || op_ == OpKind::MatMul ||
                      op_ == OpKind::Flatten || op_ == OpKind::Reshape;
    if (!activation && !flat && op_ != OpKind::BatchNormalization) {
      r = applyOp(r);
      channels = op_ == OpKind::Concat ? 8 : 4;
    }
    r = node(OpKind::Relu,
             {node(OpKind::Conv, {r, weight({4, channels, 1, 1})})});
    ValueId f = node(OpKind::Flatten, {node(OpKind::GlobalAveragePool, {r})});
    if (flat)
      f = applyOp(f);
    ir::AttributeMap transB;
    transB.set("transB", int64_t{1});
    g_.outputs.push_back(
        node(OpKind::Gemm, {f, weight({10, 4}), weight({10})}, transB));
    REQUIRE(g_.topoSort().ok());
    Status s = ir::inferShapes(g_);
    INFO((s.ok() ? std::string() : s.error().message()));
    REQUIRE(s.ok());
    return g_;
  }

private:
  ValueId applyOp(ValueId v) {
    ir::AttributeMap attrs;
    switch (op_) {
    case OpKind::Conv: return node(op_, {v, weight({4, 4, 1, 1})});
    case OpKind::Clip: return node(op_, {v, scalar(0.f), scalar(6.f)});
    case OpKind::MaxPool:
    case OpKind::AveragePool:
      attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
      attrs.set("strides", std::vector<int64_t>{2, 2});
      return node(op_, {v}, attrs);
    case OpKind::Add: return node(op_, {v, v});
    case OpKind::Sub:
    case OpKind::Mul: return node(op_, {v, scalar(0.5f)});
    case OpKind::Concat:
      attrs.set("axis", int64_t{1});
      return node(op_, {v, v}, attrs);
    case OpKind::Pad:
      return node(
          op_,
          {v, constant(ir::Tensor::fromInt64s({8}, {0, 0, 1, 1, 0, 0, 1, 1}))});
    case OpKind::Softmax:
      attrs.set("axis", int64_t{1});
      return node(op_, {v}, attrs);
    case OpKind::Gemm: {
      ir::AttributeMap transB;
      transB.set("transB", int64_t{1});
      return node(op_, {v, weight({4, 4}), weight({4})}, transB);
    }
    case OpKind::MatMul: return node(op_, {v, weight({4, 4})});
    case OpKind::Reshape:
      return node(op_, {v, constant(ir::Tensor::fromInt64s({2}, {1, 4}))});
    case OpKind::QuantizeLinear:
    case OpKind::DequantizeLinear: {
      // A lone Q/DQ pair inside a float model.
      ValueId s = scalar(0.05f);
      ValueId zp = constant(ir::Tensor(ir::DType::UInt8, {}));
      ValueId q = node(OpKind::QuantizeLinear, {v, s, zp});
      return node(OpKind::DequantizeLinear, {q, s, zp});
    }
    default: return node(op_, {v});
    }
  }

  ValueId node(OpKind op, std::vector<ValueId> inputs,
               ir::AttributeMap attrs = {}) {
    const std::string name = std::string(ir::opName(op)) + std::to_string(n_++);
    ValueId out = g_.addValue(name + "_out", ir::TensorType{});
    g_.addNode(op, name, std::move(inputs), {out}, std::move(attrs));
    return out;
  }
  ValueId constant(ir::Tensor t) {
    return g_.addInitializer("c" + std::to_string(n_++), std::move(t));
  }
  ValueId scalar(float v) { return constant(ir::Tensor::fromFloats({}, {v})); }
  /// Deterministic weights of magnitude up to 0.3.
  ValueId weight(ir::Shape shape) {
    std::vector<float> w(static_cast<size_t>(ir::numElements(shape)));
    for (size_t i = 0; i < w.size(); ++i)
      w[i] = 0.3f * float(std::sin(double(i + 1) * 1.7 + double(n_)));
    return constant(ir::Tensor::fromFloats(shape, w));
  }
  ValueId positive(int64_t n) {
    return constant(ir::Tensor::fromFloats({n}, std::vector<float>(n, 1.2f)));
  }

  OpKind op_;
  ir::Graph g_;
  ValueId x_ = ir::kNoValue;
  int n_ = 0;
};

/// The compiler's front end on a float model: empty when it accepts it.
std::string compilerRefusal(const ir::Graph &g) {
  passes::CompileContext context;
  context.arch = arch::defaultArch();
  context.calibration = test::randomCalibration(g, 2, 5);
  passes::CompileState state;
  state.graph = g;
  auto r = passes::runPipeline(
      {"fold-bn", "fold-pad", "quantize", "lower-to-integer"}, state, context);
  return r ? "" : r.error().message();
}

std::string trainerRefusal(const ir::Graph &g) {
  auto m = train::GraphModule::create(g, arch::defaultArch(), 4, 4, 8,
                                      /*powerOfTwo=*/false,
                                      /*signedInput=*/false);
  return m ? "" : m.error().message();
}

} // namespace

TEST_CASE("the trainer and the compiler accept the same ops (Ops.def)") {
  static const OpKind all[] = {
#define MARS_OP(Kind, ...) OpKind::Kind,
#include "mars/ir/Ops.def"
  };
  int accepted = 0;
  for (OpKind op : all) {
    ir::Graph g = ModelWithOp(op).build();
    const std::string compiler = compilerRefusal(g);
    const std::string trainer = trainerRefusal(g);
    INFO(ir::opName(op) << ": compiler says '" << compiler
                        << "', trainer says '" << trainer << "'");
    CHECK(compiler.empty() == trainer.empty());
    // Refused ops are refused by name, with the node's context.
    if (!trainer.empty())
      CHECK_THAT(trainer, Catch::Contains("node '"));
    // An op off the one list is refused by both.
    if (!quant::chipRunsOp(op) && op != OpKind::Pad)
      CHECK(!trainer.empty());
    accepted += compiler.empty() && trainer.empty();
  }
  // The forms issue 11 was about are among those both accept.
  for (OpKind op :
       {OpKind::Concat, OpKind::Pad, OpKind::AveragePool, OpKind::MatMul}) {
    INFO(ir::opName(op));
    ir::Graph g = ModelWithOp(op).build();
    CHECK(compilerRefusal(g).empty());
    CHECK(trainerRefusal(g).empty());
  }
  CHECK(accepted >= 14);
}

// The weight-scale policy for a bias that would overflow the accumulator
// (lib/quant Policy.h, biasFittingWeightScale) is the trainer's too, not
// only PTQ's (passes QuantizeTest): a model whose classifier input is
// silent and whose classifier weights are small, calibrated and exported
// by the trainer, keeps its bias (not clamped to int32) and lowers.
TEST_CASE("the trainer's export widens a weight scale whose bias would "
          "overflow, as PTQ does") {
  zoo::ResolvedOptions o;
  o.batch = 1;
  o.channels = 1;
  o.height = o.width = 6;
  o.classes = 3;
  o.widthMultiplier = 1.0;
  o.seed = 5;
  zoo::GraphBuilder b("silent", o);
  ValueId x = b.input();
  x = b.relu(b.batchNorm(b.conv(x, "conv1", 4, 3, 1, 1), "bn1"), "relu1");
  x = b.relu(b.batchNorm(b.conv(x, "conv2", 4, 3, 1, 1), "bn2"), "relu2");
  Expected<ir::Graph> built =
      b.finish(b.linear(b.flatten(x, "flatten"), "fc", 3, "logits"));
  REQUIRE(built);
  ir::Graph g = built.take();
  test::silenceClassifier(g);
  for (bool powerOfTwo : {false, true}) {
    INFO("power-of-two scales " << powerOfTwo);
    auto m = train::GraphModule::create(g, arch::defaultArch(), 4, 4, 8,
                                        powerOfTwo, /*signedInput=*/false);
    REQUIRE(m);
    train::GraphModule &module = **m;
    torch::manual_seed(3);
    module.beginCalibration();
    module.forward(torch::rand({8, 1, 6, 6}));
    module.finishCalibration();
    module.setMode(train::RunMode::Qat);
    auto exported = train::exportCompressed(module);
    REQUIRE(exported);
    test::checkClassifierBiasFits(*exported, powerOfTwo);
    auto net = quant::lowerToInteger(*exported);
    INFO((net ? "" : net.error().message()));
    CHECK(net);
  }
}
