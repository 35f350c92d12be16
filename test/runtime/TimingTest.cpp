// The timing model on tiny programs whose cycles are worked out by hand
// (default arch: 32 columns per partition and bl_on 64, so k = 2 partitions
// per cycle; 8-bit inputs are 8 bit-slices; DRAM 8 B/cycle, SRAM 32
// B/cycle, digital pipeline 4 cycles).
#include "TimingTestPrograms.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Timing.h"

#include <catch2/catch.hpp>

using namespace mars;
using namespace mars::runtime;
using mars::program::Opcode;
using namespace mars::runtime::testing;

namespace {

TimingResult timeOrFail(const program::Program &p, TimingOptions o = {}) {
  Expected<TimingResult> r = simulateTiming(p, o);
  if (!r)
    FAIL(r.error().message());
  return r.take();
}

} // namespace

TEST_CASE("pixel-slice cycles follow the bit-line limit", "[timing]") {
  arch::ArchSpec a = handArch();
  // 12 activations, 2 partitions per cycle: 6 cycles.
  CHECK(pixelSliceCycles(a, {3, 3, 3, 3}) == 6);
  // One busy partition: it can only activate once per cycle.
  CHECK(pixelSliceCycles(a, {5, 1, 1, 1}) == 5);
  CHECK(pixelSliceCycles(a, {1, 1, 1, 1, 1, 1, 1, 1}) == 4);
  CHECK(pixelSliceCycles(a, {}) == 0);
  a.timing.activationCycles = 3;
  CHECK(pixelSliceCycles(a, {3, 3, 3, 3}) == 18);
  // A partition wider than the ADCs: two sensing steps, one at a time.
  a = handArch();
  a.macro.blOn = 16;
  CHECK(pixelSliceCycles(a, {3, 3}) == 12);
  CHECK(a.inputSlices(8, false) == 8);
  a.macro.inputBitsPerCycle = 2;
  CHECK(a.inputSlices(7, false) == 4);
}

TEST_CASE("one Compute takes the hand-computed cycles", "[timing]") {
  program::Program p = tinyConvProgram(handArch(), {3, 3, 3, 3});
  int32_t image = addImage(p, 0, 0, {3, 3, 3, 3});
  emit(p, 0, Opcode::Compute, image, 0, 16);
  TimingResult r = timeOrFail(p);

  // Input 48 ch × 16 px = 768 B over DRAM: 96 cycles; then 16 px × 8
  // slices × 6 cycles = 768; output 32 ch × 16 px = 512 B: 64 cycles.
  CHECK(r.inputCycles == 96);
  const TimedEvent &c = eventOf(r, 0, 0);
  CHECK(c.start == 96);
  CHECK(c.end == 96 + 768);
  CHECK(r.outputCycles == 64);
  CHECK(r.cycles == 928);
  CHECK(r.latencyUs == Approx(928 / 200.0));
  CHECK(r.fps == Approx(200e6 / 928));

  const LayerTiming &l = r.layers.at(0);
  CHECK(l.cycles() == 768);
  CHECK(l.counters.activations == 12 * 16 * 8);
  CHECK(l.counters.adcConversions == 12 * 16 * 8 * 8 * 4);
  CHECK(l.counters.accumulates == l.counters.adcConversions);
  // Inputs: 16 px × 3 distinct row groups × 16 rows × 1 byte.
  CHECK(l.counters.sramBytes == 768);
  CHECK(l.counters.executedMacs == 12 * 16 * 8 * 16);
  CHECK(l.macroUtilisation == Approx(1.0 / 16));

  // Core 0 computes; every core waits for the image transfers.
  CHECK(l.breakdown.compute == 768);
  CHECK(l.breakdown.idle == 3 * 768);
  CHECK(r.breakdown.compute == 768);
  CHECK(r.breakdown.memory == 4 * (96 + 64));
  CHECK(r.breakdown.total() == 4 * r.cycles);
  CHECK(r.coreBusyCycles.at(0) == 928);
  CHECK(r.coreBusyCycles.at(1) == 160);
}

TEST_CASE("a Compute fetches once each row group its partitions store",
          "[timing]") {
  // Ten row groups (two index-code bytes); the partitions store different,
  // overlapping sets: {0, 9}, {1, 9}, {8} and {2}.
  program::Program p = tinyConvProgram(handArch(), {10, 10, 10, 10});
  const int32_t image = addImage(p, 0, 0, {10, 10, 10, 10});
  const std::vector<std::vector<uint8_t>> codes = {
      {0x01, 0x02}, {0x02, 0x02}, {0x00, 0x01}, {0x04, 0x00}};
  for (size_t q = 0; q < codes.size(); ++q)
    p.images[size_t(image)].partitions[q].indexCode = codes[q];
  CHECK(program::slotRowGroups(p.images[size_t(image)].partitions[0]) ==
        std::vector<int32_t>{0, 9});
  CHECK(program::slotRowGroups(p.images[size_t(image)].partitions[2]) ==
        std::vector<int32_t>{8});
  emit(p, 0, Opcode::Compute, image, 0, 16);
  const TimingResult r = timeOrFail(p);

  const TimedEvent &c = eventOf(r, 0, 0);
  // Row groups {0, 1, 2, 8, 9}: 16 px × 5 × 16 rows × 1 byte.
  CHECK(c.counters.sramBytes == 16 * 5 * 16);
  // 6 stored groups of 16 full rows.
  CHECK(c.counters.executedMacs ==
        6 * 16 * int64_t(handArch().channelsPerPartition()) * 16);
  CHECK(c.counters.activations == 6 * 16 * 8);
  // max(2, ceil(6 / 2)) = 3 cycles per pixel slice.
  CHECK(c.end - c.start == 16 * 8 * 3);
}

TEST_CASE("LoadImage writes the tallest partition's rows first", "[timing]") {
  program::Program p = tinyConvProgram(handArch(), {3, 1, 2, 3});
  int32_t image = addImage(p, 0, 0, {3, 1, 2, 3});
  emit(p, 0, Opcode::LoadImage, image);
  emit(p, 0, Opcode::Compute, image, 0, 16);
  TimingResult r = timeOrFail(p);

  const TimedEvent &load = eventOf(r, 0, 0);
  CHECK(load.start == 96);
  CHECK(load.end == 96 + 3 * 16);
  CHECK(load.counters.rowWrites == 48);
  // 9 groups × 16 rows × 32 columns / 8.
  CHECK(load.counters.weightSramBytes == 9 * 16 * 32 / 8);
  // The macro computes only after it is written: max(3, ceil(9 / 2)) = 5.
  const TimedEvent &c = eventOf(r, 0, 1);
  CHECK(c.start == 144);
  CHECK(c.end == 144 + 16 * 8 * 5);
  CHECK(r.layers[0].breakdown.reload == 48);
}

TEST_CASE("a LoadImage waits for its FetchImage over DRAM", "[timing]") {
  program::Program p = tinyConvProgram(handArch(), {3, 3, 3, 3});
  int32_t image = addImage(p, 0, 0, {3, 3, 3, 3});
  emit(p, 0, Opcode::FetchImage, image);
  emit(p, 0, Opcode::LoadImage, image);
  emit(p, 0, Opcode::Compute, image, 0, 16);
  TimingResult r = timeOrFail(p);

  // 768 image bytes at 8 B/cycle after the input's 96 cycles.
  const TimedEvent &fetch = eventOf(r, 0, 0);
  CHECK(fetch.lane == Lane::Dma);
  CHECK(fetch.start == 96);
  CHECK(fetch.end == 192);
  CHECK(fetch.counters.dramBytes == 768);
  const TimedEvent &load = eventOf(r, 0, 1);
  CHECK(load.issue == 96);  // The fetch did not block the core...
  CHECK(load.start == 192); // ...but the load waited for it.
  CHECK(load.end == 240);
  CHECK(eventOf(r, 0, 2).end == 240 + 768);
  CHECK(r.cycles == 240 + 768 + 64);
  CHECK(r.totals.dramBytes == 768 + 768 + 512);
  CHECK(r.totals.weightSramBytes == 2 * 768);
  CHECK(r.layers[0].breakdown.reload == 144);
  CHECK(r.layers[0].cycles() == 1008 - 96);
}

TEST_CASE("a FetchImage starts once the loads before it have left the "
          "weight SRAM, and the channel goes to the earliest ready fetch",
          "[timing]") {
  arch::ArchSpec a = handArch();
  a.chip.cores = 2;
  program::Program p = tinyConvProgram(a, {3, 3, 3, 3});
  const int32_t i0 = addImage(p, 0, 0, {3, 3, 3, 3});
  const int32_t i1 = addImage(p, 0, 0, {3, 3, 3, 3});
  const int32_t i2 = addImage(p, 0, 1, {3, 3, 3, 3});
  const int32_t j0 = addImage(p, 1, 0, {3, 3, 3, 3});
  const int32_t j1 = addImage(p, 1, 1, {3, 3, 3, 3});
  // Core 0: i1's load waits for i0's compute; the fetch behind it waits
  // for that load, not for its own issue.
  emit(p, 0, Opcode::LoadImage, i0);      // [96, 144): 48 rows.
  emit(p, 0, Opcode::Compute, i0, 0, 16); // [144, 912).
  emit(p, 0, Opcode::LoadImage, i1);      // [912, 960).
  emit(p, 0, Opcode::FetchImage, i2);     // Issued at 912, ready at 960.
  emit(p, 0, Opcode::LoadImage, i2);
  // Core 1 issues its fetch at 912 too, after core 0's in the walk, but
  // it is ready at once: it gets the channel first.
  emit(p, 1, Opcode::Compute, j0, 0, 16); // [96, 864).
  emit(p, 1, Opcode::Compute, j0, 0, 1);  // [864, 912).
  emit(p, 1, Opcode::Compute, j0, 0, 1);  // [912, 960).
  emit(p, 1, Opcode::FetchImage, j1);     // Issued at 912.
  TimingResult r = timeOrFail(p);

  CHECK(eventOf(r, 0, 2).end == 960);
  const TimedEvent &fenced = eventOf(r, 0, 3);
  CHECK(fenced.issue == 912);
  const TimedEvent &early = eventOf(r, 1, 3);
  CHECK(early.issue == 912);
  CHECK(early.start == 912); // 768 B at 8 B/cycle: the channel to 1008.
  CHECK(early.end == 1008);
  CHECK(fenced.start == 1008); // Ready at 960, the channel busy until 1008.
  CHECK(fenced.end == 1104);
  CHECK(eventOf(r, 0, 4).start == 1104);
}

TEST_CASE("fetches ready at the same cycle take turns by core", "[timing]") {
  arch::ArchSpec a = handArch();
  a.chip.cores = 2;
  program::Program p = tinyConvProgram(a, {3, 3, 3, 3});
  const int32_t a0 = addImage(p, 0, 0, {3, 3, 3, 3});
  const int32_t a1 = addImage(p, 0, 1, {3, 3, 3, 3});
  const int32_t b0 = addImage(p, 1, 0, {3, 3, 3, 3});
  const int32_t b1 = addImage(p, 1, 1, {3, 3, 3, 3});
  for (int32_t image : {a0, a1})
    emit(p, 0, Opcode::FetchImage, image);
  for (int32_t image : {b0, b1})
    emit(p, 1, Opcode::FetchImage, image);
  TimingResult r = timeOrFail(p);
  // All four are issued at 96, after the input; 96 cycles each on the
  // channel, alternating cores (core 0 did not take it twice in a row).
  CHECK(eventOf(r, 0, 0).start == 96);
  CHECK(eventOf(r, 1, 0).start == 192);
  CHECK(eventOf(r, 0, 1).start == 288);
  CHECK(eventOf(r, 1, 1).start == 384);
}

TEST_CASE("validation: the weight SRAM holds the pinned images and the "
          "fetches not yet loaded",
          "[timing][program]") {
  arch::ArchSpec a = handArch();
  a.chip.weightSramKiB = 2; // 2048 B; each image below holds 768 B.
  program::Program p = tinyConvProgram(a, {3, 3, 3, 3});
  const int32_t pinned = addImage(p, 0, 0, {3, 3, 3, 3});
  const int32_t x = addImage(p, 0, 1, {3, 3, 3, 3});
  const int32_t y = addImage(p, 0, 2, {3, 3, 3, 3});
  auto problemsOf = [](const program::Program &q) {
    std::string all;
    for (const std::string &s : program::validateProgram(q))
      all += s + "\n";
    return all;
  };
  auto build = [&](std::vector<program::Instr> stream) {
    program::Program q = p;
    q.streams[0] = std::move(stream);
    return q;
  };
  using program::Instr;
  // 768 pinned + 768 in flight: fits. Loading x frees its room for y.
  const program::Program fits = build({{Opcode::LoadImage, pinned, 0, 0},
                                       {Opcode::FetchImage, x, 0, 0},
                                       {Opcode::LoadImage, x, 0, 0},
                                       {Opcode::FetchImage, y, 0, 0},
                                       {Opcode::LoadImage, y, 0, 0}});
  CHECK(problemsOf(fits).empty());
  // y fetched before x is loaded: 3 × 768 > 2048.
  const std::string overflow =
      problemsOf(build({{Opcode::LoadImage, pinned, 0, 0},
                        {Opcode::FetchImage, x, 0, 0},
                        {Opcode::FetchImage, y, 0, 0},
                        {Opcode::LoadImage, x, 0, 0},
                        {Opcode::LoadImage, y, 0, 0}}));
  CHECK_THAT(overflow, Catch::Contains("streams[0][2] fetch of image 2") &&
                           Catch::Contains("2304 bytes"));
  // An image fetched twice before its load.
  CHECK_THAT(problemsOf(build({{Opcode::FetchImage, x, 0, 0},
                               {Opcode::FetchImage, x, 0, 0},
                               {Opcode::LoadImage, x, 0, 0}})),
             Catch::Contains("streams[0][1] fetch of image 1: fetched again"));
  // A second load of a fetched image needs a second fetch.
  CHECK_THAT(problemsOf(build({{Opcode::FetchImage, x, 0, 0},
                               {Opcode::LoadImage, x, 0, 0},
                               {Opcode::LoadImage, x, 0, 0}})),
             Catch::Contains("streams[0][2] load of image 1: no FetchImage"));
  // Pinned images alone beyond the capacity.
  a.chip.weightSramKiB = 1;
  program::Program small = fits;
  small.arch = a;
  small.streams[0] = {{Opcode::LoadImage, pinned, 0, 0},
                      {Opcode::LoadImage, y, 0, 0}};
  CHECK_THAT(problemsOf(small), Catch::Contains("stay in weight SRAM, 1536 "
                                                "bytes"));
}

TEST_CASE("a core that arrives early at a barrier stalls", "[timing]") {
  arch::ArchSpec a = handArch();
  a.chip.cores = 2;
  program::Program p = tinyConvProgram(a, {3, 3, 3, 3});
  int32_t i0 = addImage(p, 0, 0, {3, 3, 3, 3});
  int32_t i1 = addImage(p, 1, 0, {3, 3, 3, 3});
  emit(p, 0, Opcode::Compute, i0, 0, 16);
  emit(p, 0, Opcode::Sync, 0);
  emit(p, 0, Opcode::Post, 0, 0, 16);
  emit(p, 1, Opcode::Compute, i1, 0, 8);
  emit(p, 1, Opcode::Sync, 0);
  emit(p, 1, Opcode::Post, 0, 16, 32);
  TimingResult r = timeOrFail(p);

  CHECK(eventOf(r, 0, 0).end == 96 + 768);
  CHECK(eventOf(r, 1, 0).end == 96 + 384);
  CHECK(eventOf(r, 1, 1).start == 480); // Arrival...
  CHECK(eventOf(r, 1, 1).end == 864);   // ...and release.
  CHECK(r.coreStallCycles == std::vector<int64_t>{0, 384});
  // Post: 4 pipeline cycles, then 16 ch × 16 px = 256 B at 32 B/cycle.
  const TimedEvent &post = eventOf(r, 1, 2);
  CHECK(post.start == 864);
  CHECK(post.end == 864 + 4 + 8);
  CHECK(post.counters.digitalOps == 256);
  CHECK(post.counters.sramBytes == 256);
  CHECK(r.cycles == 876 + 64);

  const LayerTiming &l = r.layers[0];
  CHECK(l.cycles() == 876 - 96);
  CHECK(l.breakdown.stall == 384);
  CHECK(l.breakdown.compute == 768 + 384);
  CHECK(l.breakdown.digital == 2 * 12);
  CHECK(l.breakdown.idle == 0);
  CHECK(l.breakdown.total() == 2 * l.cycles());
}

TEST_CASE("barriers wait for computes, not for weight fetches and loads",
          "[timing]") {
  arch::ArchSpec a = handArch();
  a.chip.cores = 2;
  program::Program p = tinyConvProgram(a, {3, 3, 3, 3});
  int32_t i0 = addImage(p, 0, 0, {3, 3, 3, 3});
  int32_t i1 = addImage(p, 0, 1, {3, 3, 3, 3});
  emit(p, 0, Opcode::FetchImage, i0); // 768 B: 96 cycles on the channel.
  emit(p, 0, Opcode::LoadImage, i1);  // 48 rows, nothing to fetch.
  emit(p, 0, Opcode::Sync, 0);
  emit(p, 0, Opcode::LoadImage, i0); // Waits for its fetch.
  emit(p, 1, Opcode::Sync, 0);
  TimingResult r = timeOrFail(p);

  // Both cores are released as soon as they arrive, after the input.
  CHECK(eventOf(r, 0, 2).end == 96);
  CHECK(eventOf(r, 1, 0).end == 96);
  CHECK(eventOf(r, 0, 1).end == 96 + 48);
  // The load after the barrier still waits for the fetch.
  CHECK(eventOf(r, 0, 3).start == 96 + 96);
  CHECK(eventOf(r, 0, 3).end == 96 + 96 + 48);
  CHECK(r.cycles == 96 + 96 + 48 + 64); // The image ends with the load.
}

TEST_CASE("halving the stored groups halves compute", "[timing]") {
  arch::ArchSpec a = handArch();
  program::Program dense = tinyConvProgram(a, std::vector<int>(8, 4));
  emit(dense, 0, Opcode::Compute, addImage(dense, 0, 0, std::vector<int>(8, 4)),
       0, 16);
  program::Program sparse = tinyConvProgram(a, std::vector<int>(8, 2));
  emit(sparse, 0, Opcode::Compute,
       addImage(sparse, 0, 0, std::vector<int>(8, 2)), 0, 16);
  TimingResult d = timeOrFail(dense), s = timeOrFail(sparse);
  // max(4, ceil(32 / 2)) = 16 against max(2, ceil(16 / 2)) = 8 per slice.
  CHECK(d.layers[0].cycles() == 16 * 8 * 16);
  CHECK(s.layers[0].cycles() == 16 * 8 * 8);
  CHECK(s.layers[0].counters.activations * 2 ==
        d.layers[0].counters.activations);
  CHECK(s.layers[0].counters.adcConversions * 2 ==
        d.layers[0].counters.adcConversions);
}

TEST_CASE("DRAM latency delays arrivals but not the channel", "[timing]") {
  arch::ArchSpec a = handArch();
  a.timing.dramLatencyCycles = 50;
  program::Program p = tinyConvProgram(a, {3, 3, 3, 3});
  int32_t first = addImage(p, 0, 0, {3, 3, 3, 3});
  int32_t second = addImage(p, 0, 1, {3, 3, 3, 3});
  emit(p, 0, Opcode::FetchImage, first);
  emit(p, 0, Opcode::FetchImage, second);
  emit(p, 0, Opcode::LoadImage, second);
  TimingResult r = timeOrFail(p);

  // The input: 96 cycles on the channel, there 50 later.
  CHECK(r.inputCycles == 146);
  const TimedEvent &f1 = eventOf(r, 0, 0);
  CHECK(f1.start == 146);
  CHECK(f1.end == 146 + 96 + 50);
  // Requests pipeline: the second starts when the first's bytes are off
  // the channel, not when they have arrived.
  const TimedEvent &f2 = eventOf(r, 0, 1);
  CHECK(f2.start == 146 + 96);
  CHECK(f2.end == 146 + 2 * 96 + 50);
  CHECK(eventOf(r, 0, 2).start == f2.end);
  // The output (512 B: 64 cycles) also arrives 50 cycles after it leaves.
  CHECK(r.outputCycles == 64 + 50);
}

TEST_CASE("an input in DRAM makes a Compute memory-bound", "[timing]") {
  arch::ArchSpec a = handArch();
  a.macro.inputBitsPerCycle = 8; // One slice: 16 px × 1 cycle of compute.
  program::Program p = tinyConvProgram(a, {1});
  p.buffers[0].memory = program::Memory::Dram;
  emit(p, 0, Opcode::Compute, addImage(p, 0, 0, {1}), 0, 16);
  TimingResult r = timeOrFail(p);
  // The input stays off-chip: no input transfer, and 16 px × 16 B = 256 B
  // at 8 B/cycle take 32 cycles against 16 of compute.
  CHECK(r.inputCycles == 0);
  const TimedEvent &c = eventOf(r, 0, 0);
  CHECK(c.start == 0);
  CHECK(c.end == 32);
  CHECK(c.counters.dramBytes == 256);
  CHECK(c.counters.sramBytes == 0);
  CHECK(r.layers[0].breakdown.compute == 16);
  CHECK(r.layers[0].breakdown.memory == 16);
  CHECK(r.cycles == 32 + 16); // Output: 8 ch × 16 px = 128 B.
}

TEST_CASE("steady state skips loads of images the macros still hold",
          "[timing]") {
  program::Program p = tinyConvProgram(handArch(), {3, 3, 3, 3});
  int32_t image = addImage(p, 0, 0, {3, 3, 3, 3});
  emit(p, 0, Opcode::LoadImage, image);
  emit(p, 0, Opcode::Compute, image, 0, 16);
  TimingResult cold = timeOrFail(p);
  TimingOptions o;
  o.steadyState = true;
  TimingResult warm = timeOrFail(p, o);
  CHECK(cold.totals.rowWrites == 48);
  CHECK(warm.totals.rowWrites == 0);
  CHECK(warm.steadyState);
  CHECK(warm.cycles == cold.cycles - 48);

  // Two images taking turns in the same partitions are reloaded every time.
  int32_t other = addImage(p, 0, 0, {3, 3, 3, 3});
  emit(p, 0, Opcode::LoadImage, other);
  emit(p, 0, Opcode::Compute, other, 0, 16);
  CHECK(timeOrFail(p, o).totals.rowWrites == 2 * 48);
}

TEST_CASE("timing rejects inconsistent programs", "[timing]") {
  program::Program p = tinyConvProgram(handArch(), {3});
  int32_t image = addImage(p, 0, 0, {3});

  program::Program bad = p;
  emit(bad, 0, Opcode::Compute, 7, 0, 16);
  Expected<TimingResult> r = simulateTiming(bad);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("core 0 instruction 0") &&
                                      Catch::Contains("image 7 out of range"));

  bad = p;
  emit(bad, 0, Opcode::Compute, image, 0, 17);
  r = simulateTiming(bad);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("pixels [0,17)"));

  bad = p;
  emit(bad, 1, Opcode::Compute, image, 0, 16); // Image of core 0.
  REQUIRE_FALSE(simulateTiming(bad));

  bad = p;
  emit(bad, 0, Opcode::Digital, 0, 0, 1); // A Conv is not a Digital layer.
  REQUIRE_FALSE(simulateTiming(bad));

  bad = p;
  bad.streams.pop_back();
  r = simulateTiming(bad);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("instruction streams"));

  bad = p; // Crossed barriers can never be released.
  for (int core = 0; core < 4; ++core) {
    emit(bad, core, Opcode::Sync, core == 1 ? 1 : 0);
    emit(bad, core, Opcode::Sync, core == 1 ? 0 : 1);
  }
  r = simulateTiming(bad);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("waits forever"));
}
