#include "common/PassHarness.h"

#include "common/ChipAgreement.h"
#include "common/Golden.h"
#include "passes/CompileTestUtil.h"

#include "GraphBuilder.h" // lib/zoo/src: the zoo's seeded layer builder
#include "mars/interp/Interpreter.h"
#include "mars/ir/ShapeInference.h"
#include "mars/verify/Verify.h"
#include "mars/zoo/Zoo.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

namespace mars::test {

namespace {

zoo::ResolvedOptions tinyOptions(int64_t size) {
  zoo::ResolvedOptions o;
  o.batch = 1;
  o.channels = 1;
  o.height = o.width = size;
  o.classes = 3;
  o.widthMultiplier = 1.0;
  o.seed = 5;
  return o;
}

ir::Graph finish(zoo::GraphBuilder &b, ir::ValueId out) {
  Expected<ir::Graph> g = b.finish(out);
  if (!g)
    FAIL(g.error().message());
  return g.take();
}

/// The position of `pass` in the default pipeline.
size_t pipelineIndex(const std::string &pass) {
  const std::vector<std::string> &p = passes::defaultPipeline();
  auto it = std::find(p.begin(), p.end(), pass);
  REQUIRE(it != p.end());
  return size_t(it - p.begin());
}

void runPasses(const std::vector<std::string> &list,
               passes::CompileState &state,
               const passes::CompileContext &context) {
  auto timings = passes::runPipeline(list, state, context);
  if (!timings)
    FAIL(timings.error().message());
}

} // namespace

ir::Graph quarterLenet5() {
  zoo::ModelOptions options;
  options.widthMultiplier = 0.25;
  Expected<ir::Graph> g = zoo::buildModel("lenet5", options);
  REQUIRE(g);
  return g.take();
}

ir::Graph tinyResidualNet() {
  zoo::GraphBuilder b("tiny_residual", tinyOptions(8));
  ir::ValueId x = b.input();
  x = b.conv(x, "conv1", 4, /*kernel=*/3, /*stride=*/1, /*pad=*/1);
  x = b.relu(b.batchNorm(x, "bn1"), "relu1");
  const ir::ValueId pool = b.maxPool(x, "pool1", /*kernel=*/2, /*stride=*/2);
  x = b.conv(pool, "conv2", 4, /*kernel=*/3, /*stride=*/1, /*pad=*/1);
  x = b.relu(b.add(b.batchNorm(x, "bn2"), pool, "add"), "relu2");
  x = b.flatten(b.globalAveragePool(x, "gap"), "flatten");
  return finish(b, b.linear(x, "fc", 3, "logits"));
}

ir::Graph tinyPlainNet() {
  zoo::GraphBuilder b("tiny_plain", tinyOptions(6));
  ir::ValueId x = b.input();
  x = b.conv(x, "conv1", 4, /*kernel=*/3, /*stride=*/1, /*pad=*/1);
  x = b.relu(b.batchNorm(x, "bn1"), "relu1");
  x = b.conv(x, "conv2", 4, /*kernel=*/3, /*stride=*/1, /*pad=*/1);
  x = b.relu(b.batchNorm(x, "bn2"), "relu2");
  x = b.flatten(x, "flatten");
  return finish(b, b.linear(x, "fc", 3, "logits"));
}

ir::ValueId insertPad(ir::Graph &g, ir::NodeId user,
                      const std::vector<int64_t> &hw, const std::string &name) {
  const ir::ValueId x = g.node(user).inputs.at(0);
  ir::TensorType type = g.value(x).type;
  type.shape[2] += hw.at(0) + hw.at(2);
  type.shape[3] += hw.at(1) + hw.at(3);
  // ONNX order: begins of N, C, H, W, then ends of N, C, H, W.
  const ir::ValueId pads = g.addInitializer(
      name + ".pads",
      ir::Tensor::fromInt64s({8}, {0, 0, hw[0], hw[1], 0, 0, hw[2], hw[3]}));
  const ir::ValueId out = g.addValue(name + ".out", type);
  g.addNode(ir::OpKind::Pad, name, {x, pads}, {out});
  g.node(user).inputs[0] = out;
  REQUIRE(g.topoSort());
  REQUIRE(ir::inferShapes(g));
  return out;
}

ir::Graph tinyPaddedNet() {
  ir::Graph g = tinyPlainNet();
  g.name = "tiny_padded";
  // Inserting a Pad re-sorts the graph: look each Conv up by name.
  std::vector<std::string> names;
  for (const ir::Node &n : g.nodes())
    if (n.op == ir::OpKind::Conv)
      names.push_back(n.name);
  for (const std::string &name : names) {
    ir::NodeId id = ir::kNoNode;
    for (size_t i = 0; i < g.numNodes(); ++i)
      if (g.node(i).name == name)
        id = static_cast<ir::NodeId>(i);
    REQUIRE(id != ir::kNoNode);
    const std::vector<int64_t> own = g.node(id).attrs.getInts("pads", {});
    g.node(id).attrs.set("pads", ir::Attribute(std::vector<int64_t>(4, 0)));
    insertPad(g, id, own, name + "_pad");
  }
  ir::NodeId flatten = ir::kNoNode;
  for (size_t i = 0; i < g.numNodes(); ++i)
    if (g.node(i).op == ir::OpKind::Flatten)
      flatten = static_cast<ir::NodeId>(i);
  REQUIRE(flatten != ir::kNoNode);
  const ir::ValueId x = g.node(flatten).inputs[0];
  const ir::ValueId avg = g.addValue("avg.out", g.value(x).type);
  ir::AttributeMap attrs;
  attrs.set("kernel_shape", ir::Attribute(std::vector<int64_t>{3, 3}));
  const ir::NodeId pool =
      g.addNode(ir::OpKind::AveragePool, "avg", {x}, {avg}, std::move(attrs));
  g.node(flatten).inputs[0] = avg;
  insertPad(g, pool, {1, 1, 1, 1}, "avg_pad");
  return g;
}

PassInput smallChipInput(const std::string &name, ir::Graph model,
                         double prune) {
  PassInput in;
  in.name = name;
  in.context.arch = arch::defaultArch();
  in.context.arch.chip.cores = 2;
  in.context.arch.chip.macrosPerCore = 2;
  in.context.options.prune = prune;
  in.context.calibration = randomCalibration(model, /*count=*/2, /*seed=*/7);
  in.model = std::move(model);
  return in;
}

passes::CompileState stateBefore(const std::string &pass,
                                 const PassInput &input) {
  const std::vector<std::string> &p = passes::defaultPipeline();
  passes::CompileState state;
  state.graph = input.model;
  runPasses({p.begin(), p.begin() + long(pipelineIndex(pass))}, state,
            input.context);
  return state;
}

PassRun runPassOn(const std::string &pass, const passes::CompileState &before,
                  const passes::CompileContext &context) {
  PassRun run;
  run.before = before;
  run.after = before;
  auto timings = passes::runPipeline({pass}, run.after, context);
  if (!timings)
    FAIL(timings.error().message());
  run.changed = timings->at(0).changed;
  return run;
}

PassRun runPass(const std::string &pass, const PassInput &input) {
  return runPassOn(pass, stateBefore(pass, input), input.context);
}

void finishPipeline(const std::string &pass, passes::CompileState &state,
                    const passes::CompileContext &context) {
  const std::vector<std::string> &p = passes::defaultPipeline();
  runPasses({p.begin() + long(pipelineIndex(pass)) + 1, p.end()}, state,
            context);
}

std::string beforeAfterText(const std::string &pass, const PassRun &run) {
  return "// ----- before " + pass + " -----\n" +
         passes::printState(run.before) + "\n// ----- after " + pass +
         " -----\n" + passes::printState(run.after);
}

void checkGolden(const std::string &pass, const std::string &model,
                 const PassRun &run) {
  const std::string text = beforeAfterText(pass, run);
  const std::string path = "passes/golden/" + pass + "." + model + ".txt";
  const std::string expected = goldenText(path, text);
  INFO("golden file test/" << path
                           << " (missing, or differs: review "
                              "<build>/golden-actual/"
                           << path << ", then scripts/update-golden.sh)");
  REQUIRE_FALSE(expected.empty());
  CHECK(text == expected);
}

void checkUnchanged(const PassRun &run) {
  CHECK_FALSE(run.changed);
  CHECK(passes::printState(run.after) == passes::printState(run.before));
}

std::vector<std::vector<float>> seededImages(const ir::Graph &g, int count,
                                             uint64_t seed) {
  const ir::Shape &s = g.value(g.inputs[0]).type.shape;
  Random random(seed);
  std::vector<std::vector<float>> images;
  for (int i = 0; i < count; ++i)
    images.push_back(random.unitFloats(size_t(s[1] * s[2] * s[3])));
  return images;
}

std::vector<std::vector<float>>
interpret(const ir::Graph &g, const std::vector<std::vector<float>> &images) {
  ir::Shape shape = g.value(g.inputs[0]).type.shape;
  shape[0] = 1;
  std::vector<std::vector<float>> outputs;
  for (const std::vector<float> &x : images) {
    auto out = interp::run(g, {ir::Tensor::fromFloats(shape, x)});
    if (!out)
      FAIL(out.error().message());
    std::vector<float> flat;
    for (const ir::Tensor &t : *out)
      for (int64_t i = 0; i < t.numElements(); ++i)
        flat.push_back(float(t.getAsDouble(i)));
    outputs.push_back(std::move(flat));
  }
  return outputs;
}

void checkFloatClose(const std::vector<std::vector<float>> &a,
                     const std::vector<std::vector<float>> &b, double relTol) {
  REQUIRE(a.size() == b.size());
  for (size_t n = 0; n < a.size(); ++n) {
    REQUIRE(a[n].size() == b[n].size());
    for (size_t i = 0; i < a[n].size(); ++i) {
      const double x = a[n][i], y = b[n][i];
      INFO("image " << n << " element " << i << ": " << x << " vs " << y);
      CHECK(std::abs(x - y) <= relTol * std::max(1.0, std::abs(x)));
    }
  }
}

void checkQdqMatchesInteger(const ir::Graph &qdq,
                            const passes::CompileState &compiled, int images) {
  const program::Program program = reloadProgram(compiled);
  auto result =
      verify::verifyModel(qdq, program, seededImages(qdq, images, /*seed=*/21));
  if (!result)
    FAIL(result.error().message());
  INFO(verify::formatVerifyResult(*result));
  CHECK_FALSE(result->first);
  CHECK(result->qdqClasses == result->integerClasses);
  CHECK(result->chipClasses == result->integerClasses);
}

void checkChipMatchesNet(const std::string &pass,
                         const passes::CompileState &after,
                         const passes::CompileContext &context, int images) {
  REQUIRE(after.net);
  passes::CompileState finished = after;
  finishPipeline(pass, finished, context);
  const program::Program program = reloadProgram(finished);
  for (runtime::ExecMode mode :
       {runtime::ExecMode::Fast, runtime::ExecMode::MacroLevel}) {
    INFO((mode == runtime::ExecMode::Fast ? "fast" : "macro-level") << " path");
    checkChipMatchesInteger(program, *after.net, mode, images);
  }
}

int countOps(const ir::Graph &g, ir::OpKind op) {
  int n = 0;
  for (const ir::Node &node : g.nodes())
    n += node.op == op;
  return n;
}

ir::NodeId firstNode(const ir::Graph &g, ir::OpKind op) {
  for (size_t i = 0; i < g.numNodes(); ++i)
    if (g.node(i).op == op)
      return static_cast<ir::NodeId>(i);
  FAIL("no " << ir::opName(op) << " node");
  return ir::kNoNode;
}

} // namespace mars::test
