#include "mars/zoo/Zoo.h"
#include "mars/ir/Cost.h"
#include "mars/ir/Printer.h"
#include "mars/ir/Verifier.h"

#include <catch2/catch.hpp>

#include <map>

using namespace mars;
using namespace mars::ir;

namespace {

Graph build(const std::string &name, zoo::ModelOptions options = {}) {
  auto g = zoo::buildModel(name, options);
  if (!g)
    FAIL(g.error().message());
  return g.take();
}

std::map<OpKind, int> opCounts(const Graph &g) {
  std::map<OpKind, int> counts;
  for (const Node &n : g.nodes())
    ++counts[n.op];
  return counts;
}

std::string buildError(const std::string &name, zoo::ModelOptions options) {
  auto g = zoo::buildModel(name, options);
  REQUIRE_FALSE(g.ok());
  return g.error().message();
}

/// Expected structure and cost of each model at its default options. Params
/// count every constant, BatchNormalization's running statistics included:
/// PyTorch's resnet18 count of 11,173,962 plus 2 x 4,800 BN channels.
struct Expectation {
  const char *name;
  int convs, batchNorms, gemms, maxPools, adds;
  int64_t params, macs;
  Shape input;
};

const Expectation kExpected[] = {
    {"lenet5", 2, 2, 3, 2, 0, 61772, 416520, {1, 1, 28, 28}},
    {"vgg-small", 6, 6, 1, 3, 0, 4663690, 607600640, {1, 3, 32, 32}},
    {"vgg16", 13, 13, 1, 5, 0, 14732490, 313201664, {1, 3, 32, 32}},
    {"resnet18", 20, 20, 1, 0, 8, 11183562, 555422720, {1, 3, 32, 32}},
    {"resnet20", 21, 21, 1, 0, 9, 274042, 40813184, {1, 3, 32, 32}},
    // Weights 144 + 144 + 512 + 2304 + 2048 + 650, BN 4 × 160 channels;
    // MACs 28²·16·9 + 14²·16·9 + 14²·32·16 + 7²·32·8·9 + 7²·64·32 + 640.
    {"mobilenet-tiny", 5, 5, 1, 0, 0, 6442, 455360, {1, 1, 28, 28}},
};

} // namespace

TEST_CASE("zoo: every listed model builds, verifies and has its structure") {
  REQUIRE(zoo::listModels().size() == std::size(kExpected));
  for (const Expectation &e : kExpected) {
    INFO(e.name);
    Graph g = build(e.name);
    CHECK(verify(g).empty());
    CHECK(g.name == e.name);
    auto counts = opCounts(g);
    CHECK(counts[OpKind::Conv] == e.convs);
    CHECK(counts[OpKind::BatchNormalization] == e.batchNorms);
    CHECK(counts[OpKind::Gemm] == e.gemms);
    CHECK(counts[OpKind::MaxPool] == e.maxPools);
    CHECK(counts[OpKind::Add] == e.adds);
    REQUIRE(g.inputs.size() == 1);
    CHECK(g.value(g.inputs[0]).type.shape == e.input);
    REQUIRE(g.outputs.size() == 1);
    CHECK(g.value(g.outputs[0]).name == "logits");
    CHECK(g.value(g.outputs[0]).type.shape == Shape{1, 10});
    GraphCost cost = graphCost(g);
    CHECK(cost.params == e.params);
    CHECK(cost.macs == e.macs);
    CHECK(cost.paramBytes == 4 * e.params);
  }
}

TEST_CASE("zoo: known models match their published sizes") {
  // resnet18 (CIFAR) 11.17 M params / 0.56 GMACs; vgg16 (CIFAR) 14.7 M /
  // 0.31 GMACs; resnet20 0.27 M. BN running stats add a little here.
  GraphCost r18 = graphCost(build("resnet18"));
  CHECK(r18.params == Approx(11.17e6).epsilon(0.002));
  CHECK(r18.macs == Approx(0.56e9).epsilon(0.01));
  GraphCost v16 = graphCost(build("vgg16"));
  CHECK(v16.params == Approx(14.7e6).epsilon(0.005));
  CHECK(v16.macs == Approx(0.31e9).epsilon(0.02));
  CHECK(graphCost(build("resnet20")).params == Approx(0.27e6).epsilon(0.02));
}

TEST_CASE("zoo: names are PyTorch-like and readable") {
  Graph g = build("resnet18");
  for (const char *name :
       {"conv1.weight", "bn1.running_var", "layer1.0.conv1",
        "layer2.0.downsample.0.weight", "layer2.0.downsample.1",
        "layer4.1.relu2", "fc.weight", "fc.bias", "input", "logits"})
    CHECK(g.findValue(name).has_value());
  CHECK_FALSE(g.findValue("layer1.0.downsample.0.weight").has_value());
  Graph v = build("vgg16");
  CHECK(v.findValue("block5.conv3").has_value());
  CHECK(v.findValue("block5.pool").has_value());
}

TEST_CASE("zoo: initialisation follows PyTorch's bounds and BN stats") {
  Graph g = build("lenet5");
  // conv2: fanIn = 6 * 5 * 5 = 150, bound 1/sqrt(150).
  const Tensor &w = *g.value(*g.findValue("conv2.weight")).constant;
  float bound = 1.0f / std::sqrt(150.0f);
  float lo = 1, hi = -1;
  for (float v : w.toFloats()) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(hi - lo > bound); // spread over the range, not constant
  for (float v :
       g.value(*g.findValue("bn1.running_var")).constant->toFloats()) {
    CHECK(v >= 0.5f);
    CHECK(v <= 1.5f);
  }
  for (float v : g.value(*g.findValue("bn1.weight")).constant->toFloats()) {
    CHECK(v >= 0.5f);
    CHECK(v <= 1.5f);
  }
}

TEST_CASE("zoo: the same seed gives identical models, another seed not") {
  zoo::ModelOptions seed7;
  seed7.seed = 7;
  for (const char *name : {"lenet5", "resnet20"}) {
    Graph a = build(name, seed7);
    Graph b = build(name, seed7);
    CHECK(printGraph(a) == printGraph(b));
    CHECK(a == b); // constants byte for byte
    Graph c = build(name);
    CHECK(c.numNodes() == a.numNodes());
    CHECK_FALSE(a == c);
  }
  // Exact values pin the RNG and its float mapping: they must be the same
  // with every compiler and standard library. conv1's bound is 1/sqrt(25).
  Graph g = build("lenet5");
  std::vector<float> w =
      g.value(*g.findValue("conv1.weight")).constant->toFloats();
  CHECK(w[0] == -0x1.16b28p-3f);
  CHECK(w[1] == 0x1.932a54p-3f);
  CHECK(w[2] == -0x1.792f6p-3f);
}

TEST_CASE("zoo: options change the input, classes, batch and width") {
  zoo::ModelOptions o;
  o.channels = 1;
  o.height = 64;
  o.width = 48;
  o.classes = 100;
  o.batch = 2;
  Graph g = build("resnet20", o);
  CHECK(g.value(g.inputs[0]).type.shape == Shape{2, 1, 64, 48});
  CHECK(g.value(g.outputs[0]).type.shape == Shape{2, 100});
  Graph v = build("vgg16", o);
  // 64x48 after 5 pools is 2x1: the linear layer sees 512 * 2 features.
  CHECK(v.value(*v.findValue("fc.weight")).type.shape == Shape{100, 1024});

  zoo::ModelOptions half;
  half.widthMultiplier = 0.5;
  Graph h = build("resnet18", half);
  CHECK(h.value(*h.findValue("conv1.weight")).type.shape == Shape{32, 3, 3, 3});
  CHECK(h.value(*h.findValue("fc.weight")).type.shape == Shape{10, 256});
}

TEST_CASE("zoo: impossible options are clear errors") {
  CHECK_THAT(buildError("resnet50", {}), Catch::Contains("unknown model "
                                                         "'resnet50'") &&
                                             Catch::Contains("resnet18"));
  zoo::ModelOptions o;
  o.classes = 0;
  CHECK_THAT(buildError("lenet5", o),
             Catch::Contains("lenet5: classes must be between 1 and"));
  o = {};
  o.batch = 0;
  CHECK_THAT(buildError("vgg16", o), Catch::Contains("batch"));
  o = {};
  o.widthMultiplier = 0;
  CHECK_THAT(buildError("vgg16", o), Catch::Contains("width multiplier"));
  o = {};
  o.height = 16;
  o.width = 16;
  CHECK_THAT(buildError("vgg16", o),
             Catch::Contains("vgg16: input 3x16x16 is too small") &&
                 Catch::Contains("block5.pool"));
  o = {};
  o.height = 8;
  o.width = 8;
  CHECK_THAT(buildError("lenet5", o),
             Catch::Contains("lenet5: input 1x8x8 is too small") &&
                 Catch::Contains("'conv2' (Conv)"));
  o = {};
  o.height = 1024;
  o.width = 1024;
  o.classes = 100000;
  CHECK_THAT(buildError("vgg-small", o), Catch::Contains("weights"));
}
