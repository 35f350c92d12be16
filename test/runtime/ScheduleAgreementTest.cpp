// Issue 12, points 1 and 2: the cycles `marsc compile --report` prints (the
// schedule's own clock, passes/src/ScheduleClock.cpp) are the cycles
// `marsc run` simulates (the runtime's event-driven timing model, which
// reads only the program), within 2%, for every zoo model on the default
// arch, a slow-DRAM arch and a 2 cores × 2 macros arch. The models stream
// weights from DRAM on some archs and keep them resident on others, so the
// DRAM channel's bandwidth and latency are in both.
#include "../passes/CompileTestUtil.h"

#include "mars/arch/ArchSpec.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Functional.h"
#include "mars/runtime/Timing.h"

#include <algorithm>

#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>

using namespace mars;

namespace {

arch::ArchSpec archFile(const std::string &name) {
  if (name == "mars")
    return arch::defaultArch();
  const std::string path =
      std::string(MARS_SOURCE_DIR) + "/examples/arch/" + name + ".json";
  auto spec = arch::loadArchFile(path);
  if (!spec)
    FAIL(spec.error().message());
  return spec.take();
}

/// Issue 12 point 2's ceiling on simulated ÷ bound: 1.15 for resnet18 and
/// vgg16 on the default arch, 1.25 for every other pair. resnet18 on
/// slow-dram reaches it as a two-stage pipeline only (1.173; one image at a
/// time: 1.299, above its capacity bound's 1.18).
double ceilingOf(const std::string &model, const std::string &arch) {
  if (arch == "mars" && (model == "vgg16" || model == "resnet18"))
    return 1.15;
  return 1.25;
}

/// A zoo model compiled at 50% zero groups for `arch` and the program as
/// `marsc run` sees it (parsed back from the emitted bytes), timed by the
/// simulator for a steady-state image.
struct Compiled {
  passes::CompileState state;
  program::Program program;
  runtime::TimingResult timing;
};

Compiled compileAndSimulate(const std::string &model,
                            const arch::ArchSpec &arch,
                            passes::ScheduleGoal goal,
                            passes::Stages stages = passes::Stages::Auto) {
  test::CompileSetup setup;
  setup.model = model;
  setup.options.prune = 0.5;
  setup.options.scheduleFor = goal;
  setup.options.stages = stages;
  setup.calibImages = 1;
  setup.arch = arch;
  Compiled c{test::compileZoo(setup), {}, {}};
  auto p = program::parseProgram(c.state.bytes.data(), c.state.bytes.size(),
                                 "test.bin");
  REQUIRE(p);
  c.program = p.take();
  runtime::TimingOptions options;
  options.steadyState = true;
  auto timing = runtime::simulateTiming(c.program, options);
  REQUIRE(timing);
  c.timing = timing.take();
  return c;
}

/// vgg16 on slow DRAM one image at a time (--image-stages 1) reaches 1.228 of
/// the bound only because the schedule pins the layers before the final
/// ones (with the last layers' weights pinned, the channel stands idle
/// while they run: 1.262 of the bound): its report says so, and the last
/// Conv layer streams while an earlier layer of the same block, as heavy
/// in weights, is pinned.
void checkFinalLayerStreams(const passes::CompileState &state,
                            const program::Program &p) {
  CHECK(test::stat(state, "final Conv layers pinned only after all others") >
        0);
  std::set<int32_t> fetched; // Image ids.
  for (const auto &stream : p.streams)
    for (const program::Instr &in : stream)
      if (in.op == program::Opcode::FetchImage)
        fetched.insert(in.a);
  // Per layer name: its images, and how many of them are fetched.
  std::map<std::string, std::pair<int, int>> images;
  for (size_t i = 0; i < p.images.size(); ++i) {
    auto &[all, streamed] = images[p.layers[p.images[i].layer].name];
    ++all;
    streamed += static_cast<int>(fetched.count(static_cast<int32_t>(i)));
  }
  CHECK(images["block5.conv3"].second > 0); // Streams.
  const bool earlierPinned =
      images["block5.conv1"].second < images["block5.conv1"].first ||
      images["block5.conv2"].second < images["block5.conv2"].first;
  CHECK(earlierPinned);
}

} // namespace

TEST_CASE("schedule: the compiler's cycles are the simulated cycles, and "
          "they stay close to the lower bound") {
  int64_t streamed = 0, held = 0, pipelined = 0;
  for (const char *archName : {"mars", "slow-dram", "small-2x2"})
    for (const char *model :
         {"lenet5", "vgg-small", "vgg16", "resnet18", "resnet20"}) {
      {
        INFO(model << " on " << archName);
        const Compiled c = compileAndSimulate(model, archFile(archName),
                                              passes::ScheduleGoal::Cycles);
        const passes::CompileState &state = c.state;
        const program::Program *p = &c.program;
        const runtime::TimingResult *timing = &c.timing;
        const int64_t scheduled = p->info.scheduledCycles;
        const int64_t capacity = state.capacityBound.cycles;
        INFO("scheduled " << scheduled << " simulated " << timing->cycles
                          << " bound " << p->info.boundCycles
                          << " capacity bound " << capacity);
        // The table the README points to (test_runtime "schedule:*").
        std::printf("%-9s on %-9s scheduled %7lld simulated %7lld bound %7lld "
                    "simulated/bound %.3f capacity bound %7lld "
                    "simulated/capacity %.3f\n",
                    model, archName, static_cast<long long>(scheduled),
                    static_cast<long long>(timing->cycles),
                    static_cast<long long>(p->info.boundCycles),
                    double(timing->cycles) / double(p->info.boundCycles),
                    static_cast<long long>(capacity),
                    double(timing->cycles) / double(capacity));
        CHECK(std::abs(double(scheduled) / double(timing->cycles) - 1.0) <=
              0.02);
        // The bound is a true lower bound of the simulated chip, and so is
        // the tighter one that counts the weight SRAM's size...
        CHECK(timing->cycles >= p->info.boundCycles);
        CHECK(capacity >= p->info.boundCycles);
        // The capacity bound holds for one image at a time; a pipeline
        // overlaps images (the test case below).
        if (state.pipelineCut < 0)
          CHECK(timing->cycles >= capacity);
        pipelined += state.pipelineCut >= 0;
        held += state.capacityBound.firstLayer >= 0;
        // ...and the schedule gets close to it.
        CHECK(double(timing->cycles) / double(p->info.boundCycles) <=
              ceilingOf(model, archName));
        streamed += state.offChipWeightBytes > 0;
        if (std::string(model) == "vgg16" &&
            std::string(archName) == "slow-dram") {
          const Compiled one = compileAndSimulate(model, archFile(archName),
                                                  passes::ScheduleGoal::Cycles,
                                                  passes::Stages::One);
          checkFinalLayerStreams(one.state, one.program);
        }
      }
    }
  // Guard against a grid that no longer exercises the DRAM channel, or
  // whose capacity bounds all equal the plain one (resnet18 and vgg16 on
  // slow-dram are held up by their last layers' weights).
  CHECK(streamed > 0);
  CHECK(held >= 2);
  CHECK(pipelined == 2); // resnet18 and vgg16 on slow-dram.
}

TEST_CASE("schedule: --schedule-for traffic's cycles are the simulated "
          "cycles too") {
  // Its streams pin all the weight SRAM can hold: another program than the
  // grid's, timed by the same two models. vgg16 streams on both archs.
  for (const char *archName : {"mars", "slow-dram"}) {
    INFO("vgg16 on " << archName << ", --schedule-for traffic");
    const Compiled c = compileAndSimulate("vgg16", archFile(archName),
                                          passes::ScheduleGoal::Traffic);
    const passes::CompileState &state = c.state;
    const program::Program *p = &c.program;
    const runtime::TimingResult *timing = &c.timing;
    INFO("scheduled " << p->info.scheduledCycles << " simulated "
                      << timing->cycles << " bound " << p->info.boundCycles);
    CHECK(state.offChipWeightBytes > 0);
    CHECK(std::abs(double(p->info.scheduledCycles) / double(timing->cycles) -
                   1.0) <= 0.02);
    CHECK(timing->cycles >= p->info.boundCycles);
    CHECK(timing->cycles >= state.capacityBound.cycles);
    // The weight bytes the simulator moves off-chip are the ones the
    // schedule counted (plus the image in and out).
    CHECK(timing->totals.dramBytes == state.offChipWeightBytes +
                                          p->buffers[p->input].bytes() +
                                          p->buffers[p->output].bytes());
  }
}

TEST_CASE("schedule: the capacity bound follows the weight SRAM's size") {
  // resnet18 on slow-dram is held up by its last layers' weights (the
  // grid above); with more weight SRAM per core fewer bytes must cross
  // during them, and with room for every weight (8 MiB on the chip for
  // about 2.8 MB) no window is held up and the capacity bound is the plain
  // one. At each size the simulated chip stays at or above it.
  int64_t previous = -1;
  for (int32_t kib : {256, 288, 320, 2048}) {
    INFO("resnet18 on slow-dram with weight_sram_kib " << kib);
    arch::ArchSpec arch = archFile("slow-dram");
    arch.chip.weightSramKiB = kib;
    // The bound of one image at a time, so such a schedule.
    const Compiled c = compileAndSimulate(
        "resnet18", arch, passes::ScheduleGoal::Cycles, passes::Stages::One);
    const passes::CapacityBound &cap = c.state.capacityBound;
    INFO("capacity bound " << cap.cycles << " bound "
                           << c.program.info.boundCycles << " simulated "
                           << c.timing.cycles);
    CHECK(c.timing.cycles >= cap.cycles);
    CHECK(cap.onChipBytes == int64_t(arch.chip.cores) * kib * 1024 +
                                 int64_t(arch.totalMacros()) * arch.macro.rows *
                                     arch.macro.cols / 8);
    if (kib == 256) { // The README's example.
      REQUIRE(cap.firstLayer >= 0);
      CHECK(c.program.layers[cap.firstLayer].name == "layer3.0.conv1");
      CHECK(c.program.layers[cap.lastLayer].name == "fc");
    }
    if (kib < 2048) {
      CHECK(cap.firstLayer >= 0);
      CHECK(cap.cycles > c.program.info.boundCycles);
      CHECK(cap.weightBytes > cap.onChipBytes);
    } else {
      CHECK(cap.firstLayer == -1);
      CHECK(cap.cycles == c.program.info.boundCycles);
    }
    if (previous >= 0)
      CHECK(cap.cycles < previous);
    previous = cap.cycles;
  }
}

TEST_CASE("schedule: resnet18 on slow DRAM runs as a two-stage pipeline, "
          "faster per image than one image at a time can be, computing the "
          "same outputs") {
  const arch::ArchSpec arch = archFile("slow-dram");
  const Compiled two =
      compileAndSimulate("resnet18", arch, passes::ScheduleGoal::Cycles);
  const Compiled one = compileAndSimulate(
      "resnet18", arch, passes::ScheduleGoal::Cycles, passes::Stages::One);
  const program::Program &p = two.program;
  REQUIRE(two.state.pipelineCut >= 0);
  CHECK(two.state.pipelineFirstCores == 2);
  CHECK(one.state.pipelineCut < 0);
  INFO("cut at layer '" << p.layers[two.state.pipelineCut].name << "': period "
                        << two.timing.cycles << ", one stage "
                        << one.timing.cycles << ", capacity bound "
                        << one.state.capacityBound.cycles);
  // Each stage on its own cores; one boundary in every stream.
  for (const program::WeightImage &im : p.images)
    CHECK((im.layer < two.state.pipelineCut) == (im.core < 2));
  for (const auto &stream : p.streams)
    CHECK(std::count_if(stream.begin(), stream.end(),
                        [](const program::Instr &in) {
                          return program::isStageBoundary(in);
                        }) == 1);
  // The period beats what any schedule of one image at a time can reach,
  // and the image spends a period in each stage.
  CHECK(two.timing.cycles < one.state.capacityBound.cycles);
  CHECK(one.timing.cycles >= one.state.capacityBound.cycles);
  CHECK(two.timing.stages == 2);
  CHECK(two.timing.latencyUs ==
        Approx(2 * double(two.timing.cycles) / two.timing.clockMhz));
  // Same layers, same integer contract: the same output, bit for bit.
  std::vector<int32_t> input(size_t(p.buffers[p.input].size()));
  for (size_t i = 0; i < input.size(); ++i)
    input[i] = int32_t((i * 7919) % 256);
  auto runTwo = runtime::Executor::create(p, {});
  auto runOne = runtime::Executor::create(one.program, {});
  REQUIRE(runTwo);
  REQUIRE(runOne);
  auto a = runTwo->run(input), b = runOne->run(input);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == *b);
}
