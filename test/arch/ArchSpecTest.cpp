#include "mars/arch/ArchSpec.h"

#include <catch2/catch.hpp>

using namespace mars::arch;

TEST_CASE("default arch is valid and derives MARS quantities") {
  ArchSpec s = defaultArch();
  CHECK(validate(s).empty());
  CHECK(s.channelsPerPartition() == 8); // 256 / 8 / 4
  CHECK(s.groupRows() == 16);
  CHECK(s.totalMacros() == 16);
  CHECK(s.cimCapacityBits() == 16LL * 256 * 256);
  CHECK(s.adcExact()); // 31 >= 16
}

TEST_CASE("JSON round trip keeps every field") {
  ArchSpec s = defaultArch();
  s.macro.wlOn = 32;
  s.macro.adcBits = 6;
  s.energy.dramBytePj = 12.5;
  auto parsed = parseArchJson(archToJson(s), "x.json");
  REQUIRE(parsed.ok());
  CHECK(archToJson(*parsed) == archToJson(s));
}

TEST_CASE("missing keys keep defaults") {
  auto parsed = parseArchJson(R"({"macro": {"wl_on": 8}})", "x.json");
  REQUIRE(parsed.ok());
  CHECK(parsed->macro.wlOn == 8);
  CHECK(parsed->macro.rows == 256);
}

TEST_CASE("every invalid field is reported with its range") {
  auto parsed = parseArchJson(
      R"({"macro": {"wl_on": 0, "adc_bits": 0, "weight_bits": 3}})", "a.json");
  REQUIRE_FALSE(parsed.ok());
  const std::string &m = parsed.error().message();
  CHECK_THAT(m, Catch::Contains("a.json: invalid arch"));
  CHECK_THAT(m, Catch::Contains("macro.wl_on must be in 1..rows (256), got 0"));
  CHECK_THAT(m, Catch::Contains("macro.adc_bits must be in 1..16, got 0"));
  CHECK_THAT(m, Catch::Contains("weight_bits (3) must divide the partition"));
  // A clock so slow that every latency and static energy overflows.
  auto slow = parseArchJson(R"({"timing": {"clock_mhz": 1e-300}})", "s.json");
  REQUIRE_FALSE(slow.ok());
  CHECK_THAT(slow.error().message(),
             Catch::Contains("timing.clock_mhz must be in [0.001, 100000], "
                             "got 1e-300"));
}

TEST_CASE("unknown keys, wrong types and bad JSON are rejected") {
  auto unknown = parseArchJson(R"({"macro": {"wl_onn": 4}, "cache": {}})", "u");
  REQUIRE_FALSE(unknown.ok());
  CHECK_THAT(unknown.error().message(), Catch::Contains("'macro.wl_onn'"));
  CHECK_THAT(unknown.error().message(), Catch::Contains("'cache'"));
  auto wrongType = parseArchJson(R"({"macro": {"rows": "many"}})", "w");
  REQUIRE_FALSE(wrongType.ok());
  CHECK_THAT(wrongType.error().message(),
             Catch::Contains("macro.rows must be an integer"));
  auto bad = parseArchJson("{\"macro\": ", "b.json");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message(), Catch::Contains("b.json: not valid JSON"));
  auto missing = loadArchFile("/nonexistent/arch.json");
  REQUIRE_FALSE(missing.ok());
}

TEST_CASE("a saturating ADC is detected") {
  ArchSpec s = defaultArch();
  s.macro.adcBits = 4; // 15 < 16 rows
  CHECK(validate(s).empty());
  CHECK_FALSE(s.adcExact());
}

TEST_CASE("examples/arch/mars.json is the built-in default") {
  auto loaded =
      loadArchFile(std::string(MARS_SOURCE_DIR) + "/examples/arch/mars.json");
  REQUIRE(loaded.ok());
  CHECK(archToJson(*loaded) == archToJson(defaultArch()));
}

TEST_CASE("loadArchOrDefault: no path is the default, a path is that file") {
  auto none = loadArchOrDefault("");
  REQUIRE(none.ok());
  CHECK(archToJson(*none) == archToJson(defaultArch()));

  const std::string dir = std::string(MARS_SOURCE_DIR) + "/examples/arch/";
  auto file = loadArchOrDefault(dir + "small-2x2.json");
  REQUIRE(file.ok());
  CHECK(archToJson(*file) == archToJson(*loadArchFile(dir + "small-2x2.json")));
  CHECK(archToJson(*file) != archToJson(defaultArch()));

  auto missing = loadArchOrDefault(dir + "no-such-arch.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message().find("cannot open arch file") !=
        std::string::npos);
}

#include "mars/arch/CimGroups.h"

TEST_CASE("CIM group geometry follows wl_on and the partition width") {
  ArchSpec s = defaultArch();
  // 3x3 conv, 32 -> 64 channels, 4-bit weights: 288 rows / 16 = 18 row
  // groups, 64 / 8 = 8 column groups.
  GroupGeometry g = groupGeometry(s, 4, 64, 32, 1, 3, 3);
  CHECK(g.rows() == 288);
  CHECK(g.numGroups() == 18 * 8);
  CHECK(g.groupOf(0, 0, 0, 0) == 0);
  CHECK(g.groupOf(7, 15, 0, 0) == 0);    // same 16 rows, same partition
  CHECK(g.groupOf(8, 0, 0, 0) == 1);     // next partition
  CHECK(g.groupOf(0, 16, 0, 0) == 8);    // next 16 rows
  CHECK(g.groupOf(0, 0, 0, 1) == 2 * 8); // kernel position 1 = rows 32..63
  // 8-bit weights: 32 columns per partition hold 4 channels.
  CHECK(groupGeometry(s, 8, 10, 84, 1, 1, 1).colGroups() == 3);
  CHECK(groupGeometry(s, 8, 10, 84, 1, 1, 1).rowGroups() == 6);
}

TEST_CASE("grouped and depthwise convolutions are block-diagonal matrices") {
  ArchSpec s = defaultArch();
  // Depthwise 3x3 over 32 channels, 4-bit: rows = 9 × 32 (absolute input
  // channels), 32 / 8 = 4 column groups. Channel oc has weights only in row
  // (ky×3 + kx)×32 + oc.
  GroupGeometry d = groupGeometry(s, 4, 32, 32, 32, 3, 3);
  CHECK(d.inPerGroup() == 1);
  CHECK(d.rows() == 288);
  CHECK(d.numGroups() == 18 * 4);
  CHECK(d.groupOfWeight(0, 0, 0, 0) == 0);
  CHECK(d.groupOfWeight(8, 0, 0, 0) == 1);          // partition 1, rows 0..15
  CHECK(d.groupOfWeight(16, 0, 0, 0) == 1 * 4 + 2); // row 16: row group 1
  CHECK(d.groupOfWeight(17, 0, 1, 0) == (3 * 32 + 17) / 16 * 4 + 2);
  // Every channel's 9 weights land in 9 groups; of 72 groups, each of the
  // 4 partitions meets 9 kernel positions × 1 row group of 16: 36 hold
  // weights, 36 lie wholly off the diagonal.
  GroupOccupancy all =
      groupOccupancy(d, [](int, int, int, int) { return true; });
  CHECK(all.occupiedGroups() == 36);
  CHECK(all.zeroGroups() == 72 - 36);
  // Zero one channel's weights: its groups stay non-zero through the other
  // 7 channels of its partition.
  GroupOccupancy one =
      groupOccupancy(d, [](int oc, int, int, int) { return oc != 3; });
  CHECK(one.zeroGroups() == 36);
  // A grouped 1x1 conv, 64 -> 64 in 2 groups: output channels 0..31 read
  // input rows 0..31, 32..63 read rows 32..63.
  GroupGeometry gr = groupGeometry(s, 4, 64, 64, 2, 1, 1);
  CHECK(gr.groupOfWeight(0, 5, 0, 0) == gr.groupOf(0, 5, 0, 0));
  CHECK(gr.groupOfWeight(40, 5, 0, 0) == gr.groupOf(40, 37, 0, 0));
  CHECK(groupOccupancy(gr, [](int, int, int, int) {
          return true;
        }).occupiedGroups() == 2 * 2 * 4);
}

TEST_CASE("settings change single fields and are validated like a file") {
  auto a = withSettings(
      defaultArch(), {"macro.wl_on=32", "macro.adc_bits=4", "name=mars-wl32"});
  REQUIRE(a);
  CHECK(a->macro.wlOn == 32);
  CHECK(a->macro.adcBits == 4);
  CHECK(a->name == "mars-wl32");
  CHECK(a->chip.cores == defaultArch().chip.cores);
  // Each bad setting is one error naming what is wrong.
  auto expectError = [](const std::string &setting, const std::string &says) {
    auto bad = withSettings(defaultArch(), {setting});
    REQUIRE_FALSE(bad);
    INFO(bad.error().message());
    CHECK(bad.error().message().find(says) != std::string::npos);
  };
  expectError("macro.wl_on=0", "macro.wl_on");
  expectError("macro.no_such_key=3", "no_such_key");
  expectError("nosection.x=1", "unknown section 'nosection'");
  expectError("macro.wl_on", "SECTION.KEY=VALUE");
  expectError("macro.wl_on=thirty", "macro.wl_on");
}
