// passes::ModelReport: what `marsc inspect` shows of a model, CIM-group
// sparsity included, on lenet5 quantized and pruned by the real passes.
#include "mars/passes/ModelReport.h"
#include "mars/ir/Cost.h"
#include "mars/passes/PassManager.h"
#include "mars/zoo/Zoo.h"

#include "CompileTestUtil.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>

using namespace mars;

namespace {

/// lenet5 after fold-bn and quantize with --prune 0.5: a QDQ graph with
/// integer weights, as `marsc compile --save-qdq` writes it.
ir::Graph prunedLenet5() {
  auto g = zoo::buildModel("lenet5", {});
  REQUIRE(g);
  passes::CompileContext context;
  context.options.prune = 0.5;
  context.calibration = test::randomCalibration(*g, 2, /*seed=*/7);
  passes::CompileState state;
  state.graph = g.take();
  auto done =
      passes::runPipeline({"fold-bn", "fold-pad", "quantize"}, state, context);
  REQUIRE(done);
  return state.graph;
}

/// name -> (zero groups, groups) of every layer that has them.
std::map<std::string, std::pair<int64_t, int64_t>>
groupsByName(const std::vector<passes::LayerRow> &rows) {
  std::map<std::string, std::pair<int64_t, int64_t>> out;
  for (const passes::LayerRow &r : rows)
    if (r.groups)
      out[r.node->name] = {r.groups->zeroGroups, r.groups->groups};
  return out;
}

} // namespace

TEST_CASE("CIM groups of pruned layers: inner layers half zero",
          "[modelreport]") {
  ir::Graph g = prunedLenet5();
  ir::GraphCost cost = ir::graphCost(g);
  auto rows = passes::layerRows(g, cost, arch::defaultArch());
  REQUIRE(rows.size() == g.numNodes());
  // Default arch: wl_on 16 rows, 256 / 8 partitions / bits channels. conv2:
  // 6·5·5 = 150 rows → 10 row groups, 16 channels at w4 → 2 column groups.
  // The first and last layers are not pruned; the others lose
  // floor(0.5 × groups).
  std::map<std::string, std::pair<int64_t, int64_t>> expected = {
      {"conv1", {0, 2 * 2}},   // 25 rows, 6 channels at w8 (4 per group)
      {"conv2", {10, 10 * 2}}, //
      {"fc1", {187, 25 * 15}}, // 400 rows, 120 channels at w4
      {"fc2", {44, 8 * 11}},   // 120 rows, 84 channels at w4
      {"fc3", {0, 6 * 3}}};    // 84 rows, 10 channels at w8
  CHECK(groupsByName(rows) == expected);
}

TEST_CASE("a Gemm with [in][out] weights (transB=0) counts the same groups",
          "[modelreport]") {
  ir::Graph g = prunedLenet5();
  ir::GraphCost cost = ir::graphCost(g);
  auto before = groupsByName(passes::layerRows(g, cost, arch::defaultArch()));
  for (ir::Node &n : g.nodes()) {
    if (n.name != "fc1")
      continue;
    ir::NodeId dq = g.value(n.inputs[1]).producer;
    ir::Value &w = g.value(g.node(dq).inputs[0]);
    const ir::Tensor &t = *w.constant;
    const int64_t out = t.shape()[0], in = t.shape()[1];
    ir::Tensor transposed(t.dtype(), {in, out});
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i)
        transposed.setFromDouble(i * out + o, t.getAsDouble(o * in + i));
    w.constant = transposed;
    w.type.shape = {in, out};
    n.attrs.set("transB", int64_t(0));
  }
  auto after = groupsByName(passes::layerRows(g, cost, arch::defaultArch()));
  CHECK(after == before);
  CHECK(after["fc1"] == std::make_pair(int64_t(187), int64_t(375)));
}

TEST_CASE("float weights have no CIM-group count", "[modelreport]") {
  auto g = zoo::buildModel("lenet5", {});
  REQUIRE(g);
  ir::GraphCost cost = ir::graphCost(*g);
  auto rows = passes::layerRows(*g, cost, arch::defaultArch());
  for (const passes::LayerRow &r : rows) {
    CHECK_FALSE(r.groups);
    CHECK_FALSE(r.weightBits);
  }
  const std::string text = passes::formatLayerTable("m.onnx", *g, rows, cost);
  CHECK(text.find("model m.onnx (graph 'lenet5',") == 0);
  CHECK(text.find("(0%)") == std::string::npos);
}

TEST_CASE("the layer table as text and JSON", "[modelreport]") {
  ir::Graph g = prunedLenet5();
  ir::GraphCost cost = ir::graphCost(g);
  auto rows = passes::layerRows(g, cost, arch::defaultArch());
  const std::string text = passes::formatLayerTable("q.onnx", g, rows, cost);
  CHECK(text.find("\n #  op ") != std::string::npos);
  CHECK(text.find("[1,16,10,10]       0  240,000  -     10/20 (50%)\n") !=
        std::string::npos);
  CHECK(text.find("\nMACs:   416,520 (416.52 K)\n") != std::string::npos);
  for (size_t end = text.find('\n'); end != std::string::npos;
       end = text.find('\n', end + 1))
    CHECK(text[end - 1] != ' '); // no trailing blanks

  auto j =
      nlohmann::json::parse(passes::layerTableJson("q.onnx", g, rows, cost));
  CHECK(j["model"] == "q.onnx");
  CHECK(j["totals"]["macs"] == cost.macs);
  CHECK(j["totals"]["layers"] == rows.size());
  int64_t zero = 0, all = 0;
  for (const auto &layer : j["layers"])
    if (layer.contains("cim_groups")) {
      zero += layer["zero_cim_groups"].get<int64_t>();
      all += layer["cim_groups"].get<int64_t>();
    }
  CHECK(zero == 10 + 187 + 44);
  CHECK(all == 4 + 20 + 375 + 88 + 18);
}
