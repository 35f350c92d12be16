// Replicas share their bytes in the weight SRAM (Program.h, LoadImage b and
// c): what the validator accepts and refuses, and that the timing model
// moves a shared image over DRAM once and makes every load reading it wait
// for that one fetch. Hand-built programs on TimingTestPrograms.h's arch.
#include "TimingTestPrograms.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Functional.h"
#include "mars/runtime/Timing.h"

#include <catch2/catch.hpp>

using namespace mars;
using namespace mars::runtime;
using mars::program::Instr;
using mars::program::Opcode;
using namespace mars::runtime::testing;

namespace {

std::string problemsOf(const program::Program &p) {
  std::string all;
  for (const std::string &s : program::validateProgram(p))
    all += s + "\n";
  return all;
}

/// Image `image` of `p` again, on `macro` of its core, its partitions moved
/// `shift` slots up (the same bytes in other partitions).
int32_t addShiftedCopy(program::Program &p, int32_t image, int macro,
                       int shift) {
  program::WeightImage copy = p.images[image];
  copy.macro = macro;
  std::vector<program::PartitionImage> moved(copy.partitions.size());
  for (size_t q = 0; q + shift < copy.partitions.size(); ++q)
    moved[q + shift] = copy.partitions[q];
  copy.partitions = moved;
  p.images.push_back(copy);
  return static_cast<int32_t>(p.images.size() - 1);
}

} // namespace

TEST_CASE("sameImageBytes: the same stored groups in order, wherever they sit",
          "[program]") {
  program::Program p = tinyConvProgram(handArch(), {3, 3, 2, 1});
  const int32_t x = addImage(p, 0, 0, {3, 3, 2, 1});
  const int32_t same = addImage(p, 0, 1, {3, 3, 2, 1});
  const int32_t shifted = addShiftedCopy(p, x, 2, 3);
  const int32_t fewer = addImage(p, 0, 3, {3, 3, 2, 0});
  const int32_t other = addImage(p, 0, 3, {3, 3, 1, 1});
  CHECK(program::sameImageBytes(p.images[x], p.images[same]));
  CHECK(program::sameImageBytes(p.images[x], p.images[shifted]));
  CHECK_FALSE(program::sameImageBytes(p.images[x], p.images[fewer]));
  CHECK_FALSE(program::sameImageBytes(p.images[fewer], p.images[x]));
  CHECK_FALSE(program::sameImageBytes(p.images[x], p.images[other]));
  // The order of the column groups is part of the bytes.
  program::WeightImage swapped = p.images[x];
  std::swap(swapped.partitions[0], swapped.partitions[3]);
  CHECK_FALSE(program::sameImageBytes(p.images[x], swapped));
}

TEST_CASE("a replica's load reads its source's one fetch", "[timing]") {
  program::Program p = tinyConvProgram(handArch(), {3, 3, 3, 3});
  const int32_t source = addImage(p, 0, 0, {3, 3, 3, 3});
  const int32_t replica = addShiftedCopy(p, source, 1, 4);
  // The replica loads first, so only the fetch can hold it up.
  emit(p, 0, Opcode::FetchImage, source);
  emit(p, 0, Opcode::LoadImage, replica, source + 1, /*keep=*/1);
  emit(p, 0, Opcode::LoadImage, source);
  emit(p, 0, Opcode::Compute, source, 0, 8);
  emit(p, 0, Opcode::Compute, replica, 8, 16);
  REQUIRE(problemsOf(p).empty());
  Expected<TimingResult> r = simulateTiming(p);
  REQUIRE(r);
  // 768 image bytes cross DRAM once (96 cycles after the input's 96), and
  // both loads wait for them: 48 rows each, on their own macros.
  CHECK(r->totals.dramBytes == 768 + 768 + 512);
  const auto at = [&](int instr) -> const TimedEvent & {
    for (const TimedEvent &ev : r->events)
      if (ev.core == 0 && ev.instr == instr)
        return ev;
    FAIL("no event " << instr);
    return r->events.front();
  };
  CHECK(at(0).end == 192);
  CHECK(at(1).start == 192);
  CHECK(at(2).start == 192);
  CHECK(at(2).end == 240);
  // Each load still reads the weight SRAM and writes its own macro.
  CHECK(r->totals.weightSramBytes == 768 + 2 * 768);

  // The same program with a fetch per image moves the bytes twice.
  program::Program twice = p;
  twice.streams[0] = {
      {Opcode::FetchImage, source, 0, 0},  {Opcode::LoadImage, source, 0, 0},
      {Opcode::FetchImage, replica, 0, 0}, {Opcode::LoadImage, replica, 0, 0},
      {Opcode::Compute, source, 0, 8},     {Opcode::Compute, replica, 8, 16}};
  REQUIRE(problemsOf(twice).empty());
  Expected<TimingResult> r2 = simulateTiming(twice);
  REQUIRE(r2);
  CHECK(r2->totals.dramBytes == 768 + 2 * 768 + 512);

  // The executor runs loads with source and keep operands. It marks the
  // loaded image as held, which is its source's bytes because the validator
  // proved them the same, so this shows it accepts them, not that it reads
  // the source.
  auto outputOf = [](const program::Program &q) {
    auto exec = Executor::create(q);
    REQUIRE(exec);
    std::vector<int32_t> input(size_t(q.buffers[q.input].size()));
    for (size_t i = 0; i < input.size(); ++i)
      input[i] = int32_t(i * 7 % 100);
    auto out = exec->run(input);
    REQUIRE(out);
    return *out;
  };
  CHECK(outputOf(p) == outputOf(twice));
}

TEST_CASE("validation: a load's source and keep operands", "[program]") {
  arch::ArchSpec a = handArch();
  a.chip.cores = 2;
  a.chip.weightSramKiB = 2; // 2048 B; each image below holds 768 B.
  program::Program p = tinyConvProgram(a, {3, 3, 3, 3});
  const int32_t x = addImage(p, 0, 0, {3, 3, 3, 3});
  const int32_t replica = addShiftedCopy(p, x, 1, 2);
  const int32_t other = addImage(p, 0, 2, {3, 3, 3, 2});
  const int32_t y = addImage(p, 0, 3, {3, 3, 2, 2});
  const int32_t elsewhere = addImage(p, 1, 0, {3, 3, 3, 3});
  auto with = [&](std::vector<Instr> stream) {
    program::Program q = p;
    q.streams[0] = std::move(stream);
    return problemsOf(q);
  };
  // Reading a pinned source: its bytes are counted once.
  CHECK(with({{Opcode::LoadImage, x, 0, 0},
              {Opcode::LoadImage, replica, x + 1, 0}})
            .empty());
  CHECK_THAT(with({{Opcode::LoadImage, replica, other + 1, 0}}),
             Catch::Contains("load of image 1: its source image 2 stores "
                             "different bytes"));
  CHECK_THAT(with({{Opcode::LoadImage, x, elsewhere + 1, 0}}),
             Catch::Contains("its source image 4 belongs to core 1"));
  CHECK_THAT(with({{Opcode::LoadImage, x, x + 1, 0}}),
             Catch::Contains("its source image 0 is itself (write b = 0)"));
  CHECK_THAT(with({{Opcode::LoadImage, x, 9, 0}}),
             Catch::Contains("source image 8 out of range (5 images)"));
  CHECK_THAT(with({{Opcode::LoadImage, x, -3, 0}}),
             Catch::Contains("source image -4 out of range"));
  CHECK_THAT(with({{Opcode::LoadImage, x, 0, 2}}),
             Catch::Contains("keep (c) must be 0 or 1, not 2"));
  CHECK_THAT(with({{Opcode::LoadImage, x, 0, 1}}),
             Catch::Contains("keeps the bytes of image 0, which is never "
                             "fetched"));
  // A consuming load frees the fetch: the replica then has none to read.
  CHECK_THAT(with({{Opcode::FetchImage, x, 0, 0},
                   {Opcode::LoadImage, x, 0, 0},
                   {Opcode::LoadImage, replica, x + 1, 0}}),
             Catch::Contains("streams[0][2] load of image 1 from image 0: no "
                             "FetchImage"));
  // A kept fetch holds its room: x kept (768) + other (768) + y (576)
  // exceed 2048; with x consumed first, y fits.
  CHECK_THAT(with({{Opcode::FetchImage, x, 0, 0},
                   {Opcode::FetchImage, other, 0, 0},
                   {Opcode::LoadImage, x, 0, 1},
                   {Opcode::FetchImage, y, 0, 0},
                   {Opcode::LoadImage, replica, x + 1, 0},
                   {Opcode::LoadImage, other, 0, 0},
                   {Opcode::LoadImage, y, 0, 0}}),
             Catch::Contains("streams[0][3] fetch of image 3: the weight SRAM "
                             "would hold 2112 bytes"));
  CHECK(with({{Opcode::FetchImage, x, 0, 0},
              {Opcode::FetchImage, other, 0, 0},
              {Opcode::LoadImage, x, 0, 1},
              {Opcode::LoadImage, replica, x + 1, 0},
              {Opcode::FetchImage, y, 0, 0},
              {Opcode::LoadImage, other, 0, 0},
              {Opcode::LoadImage, y, 0, 0}})
            .empty());
  // Every fetch is consumed before the next image: a kept fetch that no
  // later load consumes, and a fetch never loaded, are refused.
  CHECK_THAT(with({{Opcode::FetchImage, x, 0, 0},
                   {Opcode::LoadImage, x, 0, 1},
                   {Opcode::LoadImage, replica, x + 1, 1}}),
             Catch::Contains("streams[0]: image 0 is fetched but no load "
                             "consumes it"));
  CHECK_THAT(with({{Opcode::FetchImage, y, 0, 0}}),
             Catch::Contains("image 3 is fetched but no load consumes it"));
  // A fetch's operands stay unused.
  CHECK_THAT(with({{Opcode::FetchImage, x, 1, 0}}),
             Catch::Contains("unused operands must be 0"));
}

TEST_CASE("timing refuses a load whose source is out of range", "[timing]") {
  program::Program p = tinyConvProgram(handArch(), {3, 3, 3, 3});
  const int32_t x = addImage(p, 0, 0, {3, 3, 3, 3});
  emit(p, 0, Opcode::LoadImage, x, 5);
  Expected<TimingResult> r = simulateTiming(p);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("image 4 out of range"));
}
