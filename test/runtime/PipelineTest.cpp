// Barriers among some of the cores and the two-stage pipeline's boundary
// (Program.h, format version 5): what the validator accepts and refuses,
// that the functional model runs the boundary as a barrier, and that the
// timing model's steady state runs the two stages at once.
#include "TimingTestPrograms.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Functional.h"
#include "mars/runtime/Timing.h"

#include <catch2/catch.hpp>

#include <numeric>

using namespace mars;
using namespace mars::runtime;
using mars::program::Opcode;
using namespace mars::runtime::testing;

namespace {

TimingResult timeOrFail(const program::Program &p, bool steady) {
  TimingOptions o;
  o.steadyState = steady;
  Expected<TimingResult> r = simulateTiming(p, o);
  if (!r)
    FAIL(r.error().message());
  return r.take();
}

std::string problems(const program::Program &p) {
  std::string all;
  for (const std::string &m : program::validateProgram(p))
    all += m + "\n";
  return all;
}

/// Two cores: core 0 runs the 1×1 Conv "conv" (x -> y, stage one), core 1
/// flattens y into z (stage two); barrier 0 is the stage boundary. y is
/// the hand-off: in bank 1 at 4096, so its second copy (bank 0 at 4096)
/// clears x (bank 0 at 0) and z (bank 0 at 8192).
program::Program twoStages() {
  arch::ArchSpec a = handArch();
  a.chip.cores = 2;
  program::Program p = tinyConvProgram(a, {3, 3, 3, 3});
  const int32_t image = addImage(p, 0, 0, {3, 3, 3, 3});
  p.buffers[1].offset = 4096;
  const program::Buffer y = p.buffers[1]; // A copy: buffers grows below.
  program::Buffer z = y;
  z.name = "z";
  z.channels = y.channels * y.height * y.width;
  z.height = z.width = 1;
  z.bank = 0;
  z.offset = 8192;
  p.buffers.push_back(z);
  program::Layer flatten;
  flatten.kind = program::LayerKind::Reshape;
  flatten.name = "flatten";
  flatten.inputs = {1};
  flatten.output = 2;
  p.layers.push_back(flatten);
  p.output = 2;
  emit(p, 0, Opcode::LoadImage, image);
  emit(p, 0, Opcode::Compute, image, 0, 16);
  emit(p, 0, Opcode::Post, 0, 0, y.channels);
  emit(p, 0, Opcode::Sync, 0, /*boundary=*/1);
  emit(p, 1, Opcode::Sync, 0, /*boundary=*/1);
  emit(p, 1, Opcode::Digital, 1, 0, int32_t(z.channels));
  return p;
}

} // namespace

TEST_CASE("pipeline: a two-stage program is valid, and the functional model "
          "runs its boundary as a barrier") {
  // The second stage on core 0, which the functional model visits first:
  // only the boundary holds its flatten back until core 1 has written y.
  program::Program p = twoStages();
  std::swap(p.streams[0], p.streams[1]);
  for (program::WeightImage &im : p.images)
    im.core = 1 - im.core;
  REQUIRE(problems(p).empty());
  CHECK_THAT(program::disassemble(p), Catch::Contains("sync     0 stage "
                                                      "boundary"));
  // The same work on one core, with no boundary, gives the same output.
  program::Program serial = p;
  serial.streams = {{}, {}};
  for (const program::Instr &in : p.streams[1])
    if (in.op != Opcode::Sync)
      serial.streams[1].push_back(in);
  serial.streams[1].push_back(p.streams[0][1]);
  REQUIRE(problems(serial).empty());
  const program::Buffer &x = p.buffers[0];
  std::vector<int32_t> input(size_t(x.size()));
  std::iota(input.begin(), input.end(), 0);
  for (int32_t &v : input)
    v %= 200;
  auto piped = Executor::create(p, {});
  auto single = Executor::create(serial, {});
  REQUIRE(piped);
  REQUIRE(single);
  auto a = piped->run(input), b = single->run(input);
  REQUIRE(a);
  REQUIRE(b);
  CHECK(*a == *b);
  CHECK(std::any_of(a->begin(), a->end(), [](int32_t v) { return v != 0; }));
}

TEST_CASE("pipeline: one image runs the stages in turn; in the steady state "
          "they overlap, and the image spends a period in each",
          "[timing]") {
  const program::Program p = twoStages();
  const TimingResult cold = timeOrFail(p, false);
  const TimedEvent &post = eventOf(cold, 0, 2);
  CHECK(eventOf(cold, 1, 1).start == post.end); // Flatten waits.
  CHECK(cold.stages == 2);

  const TimingResult warm = timeOrFail(p, true);
  CHECK(warm.stages == 2);
  // Core 1 flattens the image before while core 0 runs the conv: it
  // starts once the input has arrived, and the period is the conv's.
  CHECK(eventOf(warm, 1, 1).start == warm.inputCycles);
  CHECK(eventOf(warm, 0, 3).end == eventOf(warm, 0, 3).issue); // No wait.
  CHECK(eventOf(warm, 1, 1).end < eventOf(warm, 0, 2).end);
  CHECK(warm.cycles == eventOf(warm, 0, 2).end + warm.outputCycles);
  CHECK(warm.cycles < cold.cycles);
  CHECK(warm.fps == Approx(1e6 / (double(warm.cycles) / warm.clockMhz)));
  CHECK(warm.latencyUs == Approx(2 * double(warm.cycles) / warm.clockMhz));

  // With an ordinary barrier instead, the steady state waits too.
  program::Program plain = p;
  for (auto &stream : plain.streams)
    for (program::Instr &in : stream)
      if (in.op == Opcode::Sync)
        in.b = 0;
  const TimingResult serial = timeOrFail(plain, true);
  CHECK(serial.stages == 1);
  CHECK(eventOf(serial, 1, 1).start == eventOf(serial, 0, 2).end);
  CHECK(serial.cycles > warm.cycles);
}

TEST_CASE("pipeline: the validator refuses a malformed boundary and buffers "
          "the two stages would share") {
  {
    program::Program p = twoStages();
    p.streams[1][0].b = 2;
    CHECK_THAT(problems(p), Catch::Contains("kind (b) must be 0 (barrier) or "
                                            "1 (stage boundary), not 2"));
  }
  {
    program::Program p = twoStages();
    p.streams[1][0].b = 0;
    CHECK_THAT(problems(p), Catch::Contains("barrier 0 is a stage boundary in "
                                            "one stream and an ordinary "
                                            "barrier in another"));
  }
  {
    program::Program p = twoStages();
    p.streams[1].erase(p.streams[1].begin());
    CHECK_THAT(problems(p), Catch::Contains("the stage boundary (barrier 0) is "
                                            "in 1 of 2 streams"));
  }
  {
    program::Program p = twoStages();
    for (auto &stream : p.streams)
      stream.push_back({Opcode::Sync, 1, 1, 0});
    CHECK_THAT(problems(p), Catch::Contains("2 stage boundaries (barriers 0 "
                                            "and 1); a program has at most "
                                            "one"));
  }
  {
    program::Program p = twoStages(); // z over y's second copy.
    p.buffers[2].offset = 4096;
    CHECK_THAT(problems(p), Catch::Contains("buffer 'z' overlaps the second "
                                            "copy of the hand-off buffer 'y' "
                                            "(bank 0, offset 4096)"));
  }
  {
    program::Program p = twoStages(); // z over the first stage's input.
    p.buffers[2].offset = 0;
    CHECK_THAT(problems(p),
               Catch::Contains("buffer 'x' (before the stage boundary) and "
                               "buffer 'z' (after it) share activation SRAM"));
  }
  {
    // The second stage writes y: both stages would use it at once.
    program::Program p = twoStages();
    p.streams[1].push_back({Opcode::Post, 0, 0, 4});
    CHECK_THAT(problems(p),
               Catch::Contains("is used on both sides of the stage boundary "
                               "and written after it"));
  }
}

TEST_CASE("barriers among some cores: the others do not wait, and the "
          "validator refuses accesses no barrier orders") {
  program::Program p = twoStages();
  for (auto &stream : p.streams)
    for (program::Instr &in : stream)
      if (in.op == Opcode::Sync)
        in.b = 0;
  // A third core with its own barrier, which the others never meet.
  p.arch.chip.cores = 3;
  p.streams.push_back({{Opcode::Sync, 5, 0, 0}});
  REQUIRE(problems(p).empty());
  const TimingResult r = timeOrFail(p, false);
  CHECK(eventOf(r, 2, 0).end == r.inputCycles);        // Alone: no wait.
  CHECK(eventOf(r, 1, 0).end == eventOf(r, 0, 2).end); // Waits for core 0.

  // Without the barrier, core 1 reads y while core 0 may still write it.
  program::Program racing = p;
  racing.streams[0].erase(racing.streams[0].begin() + 3);
  racing.streams[1].erase(racing.streams[1].begin());
  CHECK_THAT(problems(racing),
             Catch::Contains("streams[1][0] digital reads buffer 'y', but "
                             "core 0 writes it at streams[0][2] with no "
                             "barrier between them"));
}

TEST_CASE("the validator's order check: buffers that share activation SRAM "
          "conflict where their bytes meet") {
  // Core 0 runs the conv and writes y; core 1 computes with a second image
  // of it, reading x, and no barrier orders the two.
  program::Program p = twoStages();
  p.layers.pop_back();
  p.buffers.pop_back();
  p.output = 1;
  const int32_t second = addImage(p, 1, 0, {3, 3, 3, 3});
  p.streams[0].pop_back();
  p.streams[1] = {{Opcode::LoadImage, second, 0, 0},
                  {
                      Opcode::Compute,
                      second,
                      0,
                      16,
                  }};
  program::Buffer &y = p.buffers[1];
  y.bank = 0;
  y.offset = 700; // x holds 48 channels × 16 bytes: [0, 768).
  CHECK_THAT(problems(p),
             Catch::Contains("streams[1][1] compute reads buffer 'x', but core "
                             "0 writes buffer 'y' (the same activation SRAM) "
                             "at streams[0][2] with no barrier between them"));
  y.offset = 768; // Adjacent: only the accumulators race now.
  CHECK_THAT(problems(p),
             Catch::Contains("streams[1][1] compute adds into layer 'conv''s "
                             "accumulators, but core 0 reads it at "
                             "streams[0][2] with no barrier between them"));
}
