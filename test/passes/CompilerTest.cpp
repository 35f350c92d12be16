// The back end of marsc compile: lower-to-integer → emit on real zoo models.
#include "CompileTestUtil.h"

#include "mars/passes/Passes.h"
#include "mars/passes/Report.h"
#include "mars/program/ProgramFile.h"

#include <map>
#include <set>
#include <sstream>

using namespace mars;
using mars::test::CompileSetup;
using mars::test::compileZoo;
using mars::test::stat;

namespace {

/// How many times each (matrix, colGroup, rowGroup, pixel) is computed by
/// the program's Compute instructions.
void checkEveryGroupComputedOncePerPixel(const program::Program &p) {
  std::map<std::tuple<int, int, int>, std::vector<int>> seen;
  for (const auto &stream : p.streams)
    for (const program::Instr &in : stream) {
      if (in.op != program::Opcode::Compute)
        continue;
      const program::WeightImage &im = p.images[in.a];
      for (const program::PartitionImage &part : im.partitions) {
        if (part.matrix < 0)
          continue;
        for (int32_t rg : program::slotRowGroups(part)) {
          auto &pixels = seen[{part.matrix, part.colGroup, rg}];
          const program::Buffer &out = p.buffers[p.layers[im.layer].output];
          pixels.resize(static_cast<size_t>(out.height) * out.width, 0);
          for (int32_t px = in.b; px < in.c; ++px)
            ++pixels[px];
        }
      }
    }
  size_t stored = 0;
  for (size_t m = 0; m < p.matrices.size(); ++m)
    for (const program::Group &g : p.matrices[m].groups) {
      ++stored;
      auto it = seen.find({int(m), g.colGroup, g.rowGroup});
      REQUIRE(it != seen.end());
      for (int count : it->second)
        REQUIRE(count == 1);
    }
  CHECK(seen.size() == stored);
}

} // namespace

TEST_CASE("lenet5 compiles into a valid, complete program") {
  CompileSetup setup;
  setup.options.prune = 0.5;
  passes::CompileState s = compileZoo(setup);
  REQUIRE(s.program);
  const program::Program &p = *s.program;
  CHECK(program::validateProgram(p).empty());
  CHECK_FALSE(s.bytes.empty());
  checkEveryGroupComputedOncePerPixel(p);
  // lenet5's weights would fit on the chip, but reloading each conv layer
  // onto all macros every image is faster than sharing the chip between
  // layers; the fully connected ones, whose reloads would cost more than
  // their compute, stay in a few partitions.
  CHECK(stat(s, "rounds mode (weights reloaded per image)") == 1);
  CHECK(stat(s, "layers kept resident beside reloaded ones") == 3);
  // Both MaxPools run in their Conv's digital pipeline.
  CHECK(stat(s, "MaxPool fused into Conv") == 2);
  CHECK(stat(s, "zero CIM groups skipped") > 0);
  CHECK(p.info.scheduledCycles >= p.info.boundCycles);
  CHECK(p.info.boundCycles > 0);
  // The file parses back into the same program.
  Expected<program::Program> back =
      program::parseProgram(s.bytes.data(), s.bytes.size(), "lenet5.bin");
  REQUIRE(back);
  CHECK(program::disassemble(*back) == program::disassemble(p));
}

TEST_CASE("the same inputs give a byte-identical program") {
  CompileSetup setup;
  setup.model = "resnet20";
  setup.modelOptions.widthMultiplier = 0.5;
  setup.options.prune = 0.5;
  setup.calibImages = 1;
  passes::CompileState a = compileZoo(setup);
  passes::CompileState b = compileZoo(setup);
  REQUIRE(a.bytes.size() == b.bytes.size());
  CHECK(a.bytes == b.bytes);
  checkEveryGroupComputedOncePerPixel(*a.program);
  // A residual network: Adds fused into the Conv that completes them.
  CHECK(stat(a, "Add fused into Conv") > 0);
}

TEST_CASE("weights stay resident when reloading them is the slower choice") {
  CompileSetup setup;
  setup.options.prune = 0.5;
  setup.arch.timing.rowWriteCycles = 50;
  passes::CompileState s = compileZoo(setup);
  CHECK(stat(s, "resident mode (weights stay on chip)") == 1);
  CHECK(program::validateProgram(*s.program).empty());
  checkEveryGroupComputedOncePerPixel(*s.program);
}

TEST_CASE("weights that do not fit are reloaded in rounds and replicated") {
  CompileSetup setup;
  setup.model = "vgg-small";
  setup.options.prune = 0.5;
  setup.calibImages = 1;
  arch::ArchSpec small = arch::defaultArch();
  small.chip.cores = 1;
  small.chip.macrosPerCore = 2;
  setup.arch = small;
  passes::CompileState s = compileZoo(setup);
  CHECK(stat(s, "rounds mode (weights reloaded per image)") == 1);
  CHECK(stat(s, "load rounds") > stat(s, "weight matrices"));
  checkEveryGroupComputedOncePerPixel(*s.program);
  CHECK(program::validateProgram(*s.program).empty());
}

TEST_CASE("mapping quality: vgg16 and resnet18 at 50% group sparsity") {
  for (const char *model : {"vgg16", "resnet18"}) {
    CompileSetup setup;
    setup.model = model;
    setup.options.prune = 0.5;
    setup.calibImages = 1;
    passes::CompileState s = compileZoo(setup);
    const double ratio = passes::scheduleRatio(s);
    INFO(model << ": scheduled " << s.program->info.scheduledCycles << " bound "
               << s.program->info.boundCycles);
    CHECK(ratio >= 1.0);

    // Both stream weights from DRAM; part of each core's weight SRAM keeps
    // images for good instead, and only the others are fetched. A replica
    // reads its source's bytes, so each source counts once.
    const program::Program &p = *s.program;
    auto bytesOf = [&](int32_t image) {
      int64_t bits = 0;
      for (const program::PartitionImage &part : p.images[image].partitions)
        bits += int64_t(program::storedGroups(part)) * p.arch.macro.wlOn *
                p.arch.partitionCols();
      return (bits + 7) / 8;
    };
    int64_t fetched = 0, total = 0, allImages = 0;
    for (size_t i = 0; i < p.images.size(); ++i)
      allImages += bytesOf(int32_t(i));
    std::set<int32_t> sources;
    for (const auto &stream : p.streams)
      for (const program::Instr &in : stream)
        if (in.op == program::Opcode::FetchImage)
          fetched += bytesOf(in.a);
        else if (in.op == program::Opcode::LoadImage &&
                 sources.insert(program::loadSource(in)).second)
          total += bytesOf(program::loadSource(in));
    // Their early layers are replicated into idle macros of a core.
    CHECK(total < allImages);
    const int64_t pinned =
        stat(s, "weight bytes kept in weight SRAM (never fetched)");
    CHECK(fetched == stat(s, "off-chip weight bytes per image"));
    CHECK(pinned > 0);
    CHECK(fetched + pinned == total);
    CHECK(pinned <=
          int64_t(p.arch.chip.cores) * p.arch.chip.weightSramKiB * 1024);
  }
}

TEST_CASE("--schedule-for traffic moves fewer bytes off-chip, in more cycles") {
  // vgg16 streams weights on the default arch. By cycles, the schedule
  // keeps most of the weight SRAM for fetching ahead; by traffic, it pins
  // all it can, so fewer bytes cross per image and the channel runs ahead
  // less far.
  CompileSetup setup;
  setup.model = "vgg16";
  setup.options.prune = 0.5;
  setup.calibImages = 1;
  passes::CompileState fast = compileZoo(setup);
  setup.options.scheduleFor = passes::ScheduleGoal::Traffic;
  passes::CompileState frugal = compileZoo(setup);
  const int64_t fastBytes = stat(fast, "off-chip weight bytes per image"),
                frugalBytes = stat(frugal, "off-chip weight bytes per image");
  INFO("cycles: " << fast.program->info.scheduledCycles << " cycles, "
                  << fastBytes
                  << " bytes; traffic: " << frugal.program->info.scheduledCycles
                  << " cycles, " << frugalBytes << " bytes");
  CHECK(frugalBytes > 0);
  CHECK(frugalBytes < fastBytes);
  CHECK(frugal.program->info.scheduledCycles >
        fast.program->info.scheduledCycles);
  // By traffic the schedule pins more. It also tries a two-stage pipeline,
  // which it would keep only for 5% fewer bytes: here it saves less, so
  // the program is the one of one image at a time.
  CHECK(stat(frugal, "weight bytes kept in weight SRAM (never fetched)") >
        stat(fast, "weight bytes kept in weight SRAM (never fetched)"));
  setup.options.stages = passes::Stages::One;
  const bool sameStreams =
      compileZoo(setup).program->streams == frugal.program->streams;
  CHECK(sameStreams);
  CHECK(program::validateProgram(*frugal.program).empty());
  checkEveryGroupComputedOncePerPixel(*frugal.program);
  CHECK_THAT(frugal.program->info.options,
             Catch::Contains("least off-chip traffic"));
  CHECK_THAT(fast.program->info.options,
             !Catch::Contains("least off-chip traffic"));
  // The compile report says what the choice was made for.
  CHECK_THAT(passes::mappingReportJson(frugal),
             Catch::Contains(R"("schedule_for": "traffic")"));
  CHECK_THAT(passes::mappingReportJson(fast),
             Catch::Contains(R"("schedule_for": "cycles")"));
  CHECK_THAT(passes::formatMappingReport(frugal),
             Catch::Contains("chosen for the fewest off-chip bytes"));
  CHECK_THAT(passes::formatMappingReport(fast),
             Catch::Contains("chosen for the fewest cycles"));
}

TEST_CASE("an op the chip cannot run names the node and what to do") {
  Expected<ir::Graph> g = zoo::buildModel("lenet5", {});
  REQUIRE(g);
  ir::Graph graph = g.take();
  // Put a Softmax between the last two layers.
  ir::NodeId fc = -1;
  for (size_t i = 0; i < graph.numNodes(); ++i)
    if (graph.node(i).op == ir::OpKind::Gemm)
      fc = static_cast<ir::NodeId>(i);
  REQUIRE(fc >= 0);
  ir::ValueId x = graph.node(fc).inputs[0];
  ir::ValueId y = graph.addValue("soft", graph.value(x).type);
  ir::AttributeMap attrs;
  attrs.set("axis", ir::Attribute(int64_t(1)));
  graph.addNode(ir::OpKind::Softmax, "middle_softmax", {x}, {y}, attrs);
  graph.node(fc).inputs[0] = y;
  REQUIRE(graph.topoSort());
  passes::CompileContext context;
  context.arch = arch::defaultArch();
  context.calibration = test::randomCalibration(graph, 1, 3);
  passes::CompileState state;
  state.graph = graph;
  std::string message = test::compileError(state, context);
  CHECK_THAT(message, Catch::Contains("middle_softmax"));
  CHECK_THAT(message, Catch::Contains("Softmax"));
  CHECK_THAT(message, Catch::Contains("move it to the end"));
}

TEST_CASE("a layer that cannot be mapped even with reloading is an error") {
  Expected<ir::Graph> g = zoo::buildModel("vgg-small", {});
  REQUIRE(g);
  passes::CompileContext context;
  context.arch = arch::defaultArch();
  context.arch.chip.weightSramKiB = 1;
  context.calibration = test::randomCalibration(*g, 1, 3);
  passes::CompileState state;
  state.graph = g.take();
  std::string message = test::compileError(state, context);
  CHECK_THAT(message, Catch::Contains("cannot be mapped even with reloading"));
  CHECK_THAT(message, Catch::Contains("1024 bytes"));
}

TEST_CASE("the pass manager: unknown passes, printing, timing") {
  passes::CompileState state;
  passes::CompileContext context;
  auto bad = passes::runPipeline({"fold-bn", "no-such-pass"}, state, context);
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message(), Catch::Contains("no-such-pass"));
  CHECK_THAT(bad.error().message(), !Catch::Contains("renamed"));

  // A renamed pass: the error gives the new name, in a pass list and in
  // --print-ir-after alike.
  bad = passes::runPipeline({"fold-bn", "legalize"}, state, context);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() ==
        "unknown pass 'legalize': it was renamed to 'lower-to-integer' (see "
        "`marsc compile --help` for the list)");
  passes::PassManagerOptions renamed;
  renamed.printIrAfter = {"lower-matrix"};
  bad = passes::runPipeline({"fold-bn"}, state, context, renamed);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message() == "--print-ir-after: unknown pass "
                                 "'lower-matrix': it was renamed to "
                                 "'lower-to-program'");

  Expected<ir::Graph> g = zoo::buildModel("lenet5", {});
  REQUIRE(g);
  context.arch = arch::defaultArch();
  context.calibration = test::randomCalibration(*g, 1, 3);
  state.graph = g.take();
  std::ostringstream log;
  passes::PassManagerOptions pm;
  pm.printIrAfter = {"fuse", "map-to-macros"};
  pm.timePasses = true;
  pm.log = &log;
  auto timings =
      passes::runPipeline(passes::defaultPipeline(), state, context, pm);
  REQUIRE(timings);
  CHECK(timings->size() == passes::defaultPipeline().size());
  const std::string text = log.str();
  CHECK_THAT(text, Catch::Contains("IR after fuse"));
  CHECK_THAT(text, Catch::Contains("integer-net"));
  CHECK_THAT(text, Catch::Contains("IR after map-to-macros"));
  CHECK_THAT(text, !Catch::Contains("IR after schedule"));
  CHECK_THAT(text, Catch::Contains("pass execution timing"));
  CHECK_THAT(text, Catch::Contains("group-compress"));
}

TEST_CASE("fuse: pooling and Add join their Conv only when safe") {
  // conv0 → v1; pool(v1) → v2; conv2(v1) → v3 (a second reader of v1);
  // conv4(v2) → v4; add(v4, v3) → v5 with v3 computed before conv4.
  quant::IntegerNet net;
  for (int i = 0; i < 6; ++i) {
    quant::IntValue v;
    v.name = "v" + std::to_string(i);
    v.channels = 1;
    net.values.push_back(v);
  }
  net.input = 0;
  net.output = 5;
  auto layer = [&](quant::IntOp op, std::vector<int> in, int out) {
    quant::IntLayer l;
    l.op = op;
    l.name = "l" + std::to_string(net.layers.size());
    l.inputs = in;
    l.output = out;
    net.layers.push_back(l);
  };
  layer(quant::IntOp::Conv, {0}, 1);
  layer(quant::IntOp::MaxPool, {1}, 2); // v1 has two readers: not fused
  layer(quant::IntOp::Conv, {1}, 3);
  layer(quant::IntOp::Conv, {2}, 4);
  layer(quant::IntOp::Add, {4, 3}, 5); // fused into layer 3
  passes::CompileState state;
  state.net = net;
  passes::CompileContext context;
  Expected<bool> changed = passes::runFuse(state, context);
  REQUIRE(changed);
  CHECK(*changed);
  CHECK(state.fusedInto == std::vector<int32_t>{-1, -1, -1, -1, 3});

  // Run conv4 before conv2: the Add's host would be conv4, but its other
  // input (conv2's) is computed after conv4, so it is not fused.
  std::swap(state.net->layers[2], state.net->layers[3]);
  changed = passes::runFuse(state, context);
  REQUIRE(changed);
  CHECK_FALSE(*changed);
  CHECK(state.fusedInto[4] == -1);
}
