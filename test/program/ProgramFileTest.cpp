// program.bin against hostile bytes: a real compiled program, truncated at
// every section boundary, with every byte of its tables and a stride of its
// weights flipped, parsed with and without the checksum. With the checksum
// every change is caught; re-sealed (correct checksum, verification off) the
// field validation alone must reject the file or produce a program that the
// functional executor and the timing model run without undefined behaviour
// (this test runs under AddressSanitizer and UBSan in `make test`).
#include "../passes/CompileTestUtil.h"

#include "mars/program/ProgramFile.h"
#include "mars/runtime/Functional.h"
#include "mars/runtime/Timing.h"

#include <algorithm>
#include <cstring>
#include <set>

using namespace mars;

namespace {

/// A small real program: lenet5 at a quarter width, half its groups pruned.
const std::vector<uint8_t> &smallProgramBytes() {
  static const std::vector<uint8_t> bytes = [] {
    test::CompileSetup setup;
    setup.modelOptions.widthMultiplier = 0.25;
    setup.options.prune = 0.5;
    setup.calibImages = 1;
    return test::compileZoo(setup).bytes;
  }();
  return bytes;
}

uint32_t readU32(const std::vector<uint8_t> &b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
uint64_t readU64(const std::vector<uint8_t> &b, size_t at) {
  uint64_t v;
  std::memcpy(&v, b.data() + at, 8);
  return v;
}

struct Section {
  uint32_t kind;
  uint64_t offset, length;
};

std::vector<Section> sectionsOf(const std::vector<uint8_t> &b) {
  std::vector<Section> s;
  const uint32_t count = readU32(b, 32); // header: section count
  for (uint32_t i = 0; i < count; ++i) {
    const size_t at = 64 + 24 * size_t(i);
    s.push_back({readU32(b, at), readU64(b, at + 8), readU64(b, at + 16)});
  }
  return s;
}

/// Runs a program that passed validation through both models; their
/// errors are fine, crashes and sanitizer reports are not.
void exercise(const program::Program &p) {
  const runtime::ExecMode mode = runtime::adcIsExact(p)
                                     ? runtime::ExecMode::Fast
                                     : runtime::ExecMode::MacroLevel;
  auto exec = runtime::Executor::create(p, {mode});
  if (exec) {
    std::vector<int32_t> input(size_t(p.buffers[p.input].size()), 1);
    auto out = exec->run(input);
    if (out)
      CHECK(int64_t(out->size()) == p.buffers[p.output].size());
  }
  runtime::TimingOptions options;
  (void)runtime::simulateTiming(p, options);
}

} // namespace

TEST_CASE("program: serialise, parse, serialise gives the same bytes") {
  const std::vector<uint8_t> &bytes = smallProgramBytes();
  auto p = program::parseProgram(bytes.data(), bytes.size(), "p.bin");
  if (!p)
    FAIL(p.error().message());
  CHECK(program::serializeProgram(*p) == bytes);
  CHECK(program::validateProgram(*p).empty());
  CHECK(program::disassemble(*p).size() > 1000);
  CHECK(program::programChecksum(bytes.data(), bytes.size()) ==
        readU64(bytes, 24));
}

TEST_CASE("program: the same compile gives byte-identical files") {
  test::CompileSetup setup;
  setup.modelOptions.widthMultiplier = 0.25;
  setup.options.prune = 0.5;
  setup.calibImages = 1;
  CHECK(test::compileZoo(setup).bytes == smallProgramBytes());
}

TEST_CASE("program: truncation at every section boundary is an error") {
  const std::vector<uint8_t> &bytes = smallProgramBytes();
  std::set<size_t> cuts = {0, 1, 7, 8, 63, 64, 64 + 24 * 7 - 1};
  size_t dataEnd = 0; // past it only alignment padding follows
  for (const Section &s : sectionsOf(bytes)) {
    dataEnd = std::max<size_t>(dataEnd, s.offset + s.length);
    cuts.insert(s.offset);
    cuts.insert(s.offset + 1);
    cuts.insert(s.offset + s.length / 2);
    cuts.insert(s.offset + s.length - 1);
  }
  cuts.insert(bytes.size() - 1);
  for (size_t cut : cuts) {
    if (cut >= bytes.size())
      continue;
    INFO("truncated to " << cut << " of " << bytes.size() << " bytes");
    std::vector<uint8_t> t(bytes.begin(), bytes.begin() + cut);
    CHECK_FALSE(program::parseProgram(t.data(), t.size(), "t.bin"));
    // Also with the header's size field and checksum made consistent, so
    // that the section table's bounds checks are what stops it.
    if (cut >= 64 && cut < dataEnd) {
      const uint64_t size = cut;
      std::memcpy(t.data() + 16, &size, 8); // header: file size
      program::resealChecksum(t);
      program::ReadOptions options;
      options.verifyChecksum = false;
      auto r = program::parseProgram(t.data(), t.size(), "t.bin", options);
      CHECK_FALSE(r);
      if (!r)
        CHECK(r.error().message().find("t.bin") != std::string::npos);
    }
  }
}

TEST_CASE("program: flipped bytes are caught by the checksum, and the "
          "re-sealed ones by validation or run safely") {
  const std::vector<uint8_t> &bytes = smallProgramBytes();
  std::vector<Section> sections = sectionsOf(bytes);
  // Every byte of the header, table and small sections; every 7th byte of
  // the weight matrices and weight images, which repeat one structure
  // many times (a full sweep costs minutes under the sanitizers).
  std::vector<size_t> positions;
  for (size_t i = 0; i < bytes.size(); ++i) {
    bool repetitive = false;
    for (const Section &s : sections)
      repetitive |= (s.kind == 5 || s.kind == 6) && i >= s.offset &&
                    i < s.offset + s.length;
    if (!repetitive || i % 7 == 0)
      positions.push_back(i);
  }
  program::ReadOptions noChecksum;
  noChecksum.verifyChecksum = false;
  int64_t rejected = 0, survived = 0, exercised = 0;
  for (size_t i : positions) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0xFF)}) {
      std::vector<uint8_t> m = bytes;
      m[i] ^= mask;
      if (i < 24 || i >= 32) { // the checksum field itself is not covered
        auto r = program::parseProgram(m.data(), m.size(), "m.bin");
        if (r) {
          FAIL_CHECK("byte " << i << " ^ " << int(mask)
                             << " passed the checksum");
          continue;
        }
      }
      program::resealChecksum(m);
      auto r = program::parseProgram(m.data(), m.size(), "m.bin", noChecksum);
      if (!r) {
        ++rejected;
        continue;
      }
      // Running every survivor costs minutes under the sanitizers; the
      // ones whose flip is outside the weights reach the most code.
      if (++survived % 4 == 0) {
        ++exercised;
        exercise(*r);
      }
    }
  }
  WARN(positions.size() << " positions: " << rejected << " rejected, "
                        << survived << " valid after re-sealing, " << exercised
                        << " of them executed");
  CHECK(rejected > 1000);
  CHECK(survived > 0);
}

TEST_CASE("program: the checksum error says so") {
  std::vector<uint8_t> m = smallProgramBytes();
  m[m.size() / 2] ^= 0x10;
  auto r = program::parseProgram(m.data(), m.size(), "m.bin");
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().message(), Catch::Contains("checksum"));
}

TEST_CASE("program: hostile counts and fields give messages naming them") {
  auto p0 = program::parseProgram(smallProgramBytes().data(),
                                  smallProgramBytes().size(), "p.bin");
  REQUIRE(p0);
  auto problems = [](const program::Program &p) {
    std::string all;
    for (const std::string &m : program::validateProgram(p))
      all += m + "\n";
    return all;
  };
  {
    program::Program p = *p0;
    p.layers[0].inputs[0] = 9999;
    CHECK_THAT(problems(p), Catch::Contains("input buffer 9999 out of range"));
  }
  {
    program::Program p = *p0;
    p.buffers[0].channels = 1 << 30;
    CHECK_THAT(problems(p), Catch::Contains("must be positive and at most"));
  }
  {
    // Three int32 dims whose product overflows int64 (found by fuzz_program;
    // test/fuzz/regressions/program/).
    program::Program p = *p0;
    p.buffers[0].channels = 2147483647;
    p.buffers[0].height = 2147483647;
    p.buffers[0].width = 2147483647;
    CHECK_THAT(problems(p), Catch::Contains("must be positive and at most"));
  }
  {
    program::Program p = *p0;
    p.images[0].core = 17;
    CHECK_THAT(problems(p), Catch::Contains("not on the chip"));
  }
  {
    program::Program p = *p0;
    // A barrier id that does not rise could deadlock (Program.h).
    p.streams[1].push_back({program::Opcode::Sync, 0, 0, 0});
    CHECK_THAT(problems(p), Catch::Contains("does not rise above the "
                                            "stream's previous one"));
    CHECK_THAT(problems(p), Catch::Contains("deadlock"));
  }
  {
    program::Program p = *p0;
    REQUIRE(p.matrices[1].weightBits == 4); // an inner layer
    p.matrices[1].groups[0].weights[0] = 100;
    p.matrices[1].groups[0].weights[1] = -100;
    CHECK_THAT(problems(p),
               Catch::Contains("group 0: weight 100 outside the 4-bit range"));
  }
  {
    // A partition whose index code names a group the matrix does not store
    // (the check compares index codes byte by byte): the first such row
    // group is named.
    program::Program p = *p0;
    program::PartitionImage *part = nullptr;
    int32_t missing = -1; // the first row group of its column not stored
    for (program::WeightImage &im : p.images)
      for (program::PartitionImage &q : im.partitions) {
        if (part || q.matrix < 0)
          continue;
        const program::WeightMatrix &m = p.matrices[size_t(q.matrix)];
        for (int32_t rg = 0; rg < m.rowGroups && missing < 0; ++rg) {
          bool stored = false;
          for (const program::Group &g : m.groups)
            stored |= g.colGroup == q.colGroup && g.rowGroup == rg;
          if (!stored)
            missing = rg;
        }
        if (missing >= 0)
          part = &q;
      }
    REQUIRE(part); // the small program is pruned
    part->indexCode[size_t(missing) / 8] |= uint8_t(1u << (missing % 8));
    CHECK_THAT(problems(p),
               Catch::Contains("index code names row group " +
                               std::to_string(missing) + " of column group " +
                               std::to_string(part->colGroup) +
                               ", which is not stored"));
  }
  {
    program::Program p = *p0;
    for (program::Instr &in : p.streams[0])
      if (in.op == program::Opcode::Compute) {
        in.c = 1 << 30;
        break;
      }
    CHECK_THAT(problems(p), Catch::Contains("outside the layer's"));
  }
  {
    // A list count of 2^32 - 1 in the file is an error, not an allocation.
    std::vector<uint8_t> m = smallProgramBytes();
    for (const Section &s : sectionsOf(m))
      if (s.kind == 3) // buffers: the section starts with its count
        std::memset(m.data() + s.offset, 0xFF, 4);
    program::resealChecksum(m);
    auto r = program::parseProgram(m.data(), m.size(), "m.bin");
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(), Catch::Contains("buffers"));
  }
  // The byte lists (weights, index codes) are read in one copy: a count past
  // the section's end is an error naming the list and where it is.
  auto hostileByteCount = [](uint32_t kind, size_t countAt) {
    std::vector<uint8_t> m = smallProgramBytes();
    for (const Section &s : sectionsOf(m))
      if (s.kind == kind)
        std::memset(m.data() + s.offset + countAt, 0xEE, 4);
    program::resealChecksum(m);
    auto r = program::parseProgram(m.data(), m.size(), "m.bin");
    REQUIRE_FALSE(r);
    return r.error().message();
  };
  // matrices: count, matrix 0's eight i32 fields, its groups' count, group
  // 0's row and column group, then its weights' count.
  CHECK_THAT(hostileByteCount(5, 4 + 32 + 4 + 8),
             Catch::Contains("matrices[0] groups[0]: weights: count "
                             "4008636142 overruns the section"));
  // images: count, image 0's core, macro and layer, its partitions' count,
  // partition 0's matrix and column group, then its index code's count.
  CHECK_THAT(hostileByteCount(6, 4 + 12 + 4 + 8),
             Catch::Contains("images[0] partitions[0]: index_code: count "
                             "4008636142 overruns the section"));
}

TEST_CASE("program: versions 3 to 5 are read, others are refused") {
  // Version 4 added a load's source and keep operands, version 5 barriers
  // among some cores and the stage boundary; a version 3 file, whose loads
  // leave the operands 0 and whose cores meet the same rising barriers,
  // means the same (Program.h).
  auto withVersion = [](uint32_t version) {
    std::vector<uint8_t> b = smallProgramBytes();
    std::memcpy(b.data() + 8, &version, 4);
    program::resealChecksum(b);
    return program::parseProgram(b.data(), b.size(), "v.bin");
  };
  auto current = withVersion(program::kFormatVersion);
  REQUIRE(current);
  auto v3 = withVersion(3);
  REQUIRE(v3);
  CHECK(v3->streams == current->streams);
  auto v4 = withVersion(4);
  REQUIRE(v4);
  CHECK(v4->streams == current->streams);
  for (uint32_t version : {2u, 6u}) {
    auto r = withVersion(version);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message(),
               Catch::Contains("format version " + std::to_string(version) +
                               " is not supported (this marsc reads versions "
                               "3 to 5; recompile the model)"));
  }
}

TEST_CASE("program: a Compute without its LoadImage is a runtime error") {
  auto p0 = program::parseProgram(smallProgramBytes().data(),
                                  smallProgramBytes().size(), "p.bin");
  REQUIRE(p0);
  program::Program p = *p0;
  for (auto &stream : p.streams)
    stream.erase(std::remove_if(stream.begin(), stream.end(),
                                [](const program::Instr &in) {
                                  return in.op == program::Opcode::LoadImage;
                                }),
                 stream.end());
  REQUIRE(program::validateProgram(p).empty());
  auto exec = runtime::Executor::create(p);
  REQUIRE(exec);
  auto out =
      exec->run(std::vector<int32_t>(size_t(p.buffers[p.input].size()), 0));
  REQUIRE_FALSE(out);
  CHECK_THAT(out.error().message(), Catch::Contains("no LoadImage"));
}
