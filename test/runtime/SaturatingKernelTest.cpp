// The saturating kernel against computeMacroLevel, its reference, on random
// layers: every version this CPU runs (scalar, AVX2, AVX-512) must give the
// same accumulators, ADC saturations and partition activations, for every
// partition and several pixel ranges. Also which geometries fall back, and
// a whole compiled network run with either kernel.
#include "mars/support/Random.h"
#include "mars/support/IntRange.h"
#include "../passes/CompileTestUtil.h"

#include "mars/program/ProgramFile.h"
#include "mars/runtime/Functional.h"

#include "KernelTestPrograms.h"
#include "SaturatingKernel.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace mars;
using namespace mars::runtime::detail;
using runtime::testing::LayerCase;

namespace {

template <typename T> T pick(Random &rng, std::initializer_list<T> v) {
  return rng.pick(v);
}

/// An arch with `bits`-bit weights, `channels` channels per partition,
/// `wlOn`-row groups, `slots` groups per partition.
arch::ArchSpec archWith(int bits, int channels, int wlOn, int slots,
                        int perCycle, int adcBits) {
  arch::ArchSpec a = arch::defaultArch();
  a.macro.partitions = 4;
  a.macro.weightBits = bits;
  a.macro.cols = a.macro.partitions * bits * channels;
  a.macro.blOn = bits * channels;
  a.macro.wlOn = wlOn;
  a.macro.rows = wlOn * slots;
  a.macro.inputBitsPerCycle = perCycle;
  a.macro.adcBits = adcBits;
  return a;
}

/// Each column group's stored groups in runs of `slots`, as partitions
/// hold them.
std::vector<PartitionWork> partitionsOf(const program::WeightMatrix &m,
                                        int slots) {
  std::vector<PartitionWork> works;
  for (size_t g = 0; g < m.groups.size(); ++g) {
    if (g == 0 || m.groups[g].colGroup != works.back().colGroup ||
        int(works.back().groups.size()) == slots)
      works.push_back({m.groups[g].colGroup, {}, {}});
    works.back().groups.push_back(int32_t(g));
    works.back().rowGroups.push_back(m.groups[g].rowGroup);
  }
  return works;
}

struct Totals {
  int64_t cases = 0, saturations = 0;
};

/// Runs both kernels on every partition and pixel range of `p` with
/// input `x`; false when the layout does not fit.
bool compareKernels(const program::Program &p, const std::vector<int32_t> &x,
                    SatIsa isa, Totals &totals) {
  const program::Layer &layer = p.layers[0];
  const program::WeightMatrix &m = p.matrices[0];
  const program::Buffer &in = p.buffers[0];
  const SatLayout layout = satLayoutOf(p.arch, m, in);
  if (!layout.fits())
    return false;
  Im2col cols;
  buildIm2col(p, layer, x, /*withMasks=*/true, cols);
  buildSlicePairs(layout, m.rowsPerGroup, cols);
  PreparedMatrix pm = prepareMatrix(m, {/*pairs=*/false, /*bitMasks=*/true});
  prepareBitPairs(layout, m, pm);
  const int32_t pixels = int32_t(cols.pixels);
  const std::pair<int32_t, int32_t> ranges[] = {{0, pixels},
                                                {1, pixels},
                                                {pixels / 2, pixels / 2 + 1},
                                                {pixels - 3, pixels}};
  for (const PartitionWork &w :
       partitionsOf(m, p.arch.macro.rows / m.rowsPerGroup))
    for (auto [begin, end] : ranges) {
      begin = std::max(begin, 0);
      std::vector<int64_t> expected(size_t(pixels) * m.cols, 0),
          actual = expected;
      ComputeArgs args;
      args.program = &p;
      args.matrix = &m;
      args.prepared = &pm;
      args.cols = &cols;
      args.pixelBegin = begin;
      args.pixelEnd = end;
      args.acc = expected.data();
      int64_t satExpected = 0, satActual = 0;
      const int64_t actExpected =
          computeMacroLevel(args, w, in.isSigned, satExpected);
      args.acc = actual.data();
      const int64_t actActual =
          computeSaturating(args, w, layout, satActual, isa);
      INFO("column group " << w.colGroup << ", " << w.groups.size()
                           << " groups, pixels " << begin << ".." << end);
      REQUIRE(actual == expected);
      REQUIRE(satActual == satExpected);
      REQUIRE(actActual == actExpected);
      ++totals.cases;
      totals.saturations += satExpected;
    }
  return true;
}

} // namespace

TEST_CASE("saturating kernel: equals the macro-level model on random layers") {
  for (SatIsa isa : {SatIsa::Scalar, SatIsa::Avx2, SatIsa::Avx512}) {
    if (!satIsaSupported(isa))
      continue;
    Random rng(31);
    Totals totals;
    int fitted = 0, fellBack = 0;
    for (int trial = 0; trial < 120; ++trial) {
      const int bits = int(rng.uniformInt(2, 8));
      const int channels = pick(rng, {3, 4, 8, 9, 16});
      const int wlOn = pick(rng, {8, 16, 32, 7, 15});
      // 16 slots: more groups per partition than a byte of saturation
      // counts holds (the AVX-512 version sums them before they wrap).
      const int slots = pick(rng, {1, 2, 3, 16});
      const int perCycle = pick(rng, {1, 1, 2, 4});
      const int adcBits = int(rng.uniformInt(2, 8));
      const arch::ArchSpec a =
          archWith(bits, channels, wlOn, slots, perCycle, adcBits);
      REQUIRE(arch::validate(a).empty());
      LayerCase c;
      c.groups = 1;
      c.inC = pick(rng, {3, 5, 8, 16});
      c.outC = pick(rng, {1, 5, 8, 13, 24}); // partial last column groups
      c.h = pick(rng, {3, 5, 8});
      c.w = pick(rng, {3, 6, 7});
      c.kernel = pick(rng, {1, 3});
      c.pad = c.kernel == 3 ? pick(rng, {0, 1}) : 0;
      c.stride = pick(rng, {1, 2});
      c.inputBits = int(rng.uniformInt(2, 8));
      c.inputSigned = pick(rng, {false, true});
      c.density = pick(rng, {0.5, 1.0});
      program::Program p = runtime::testing::makeProgram(a, c, rng);
      const auto problems = program::validateProgram(p);
      if (!problems.empty())
        FAIL(problems[0]);
      const std::vector<int32_t> x = runtime::testing::randomInput(p, rng);
      INFO("isa " << int(isa) << ", trial " << trial << ": " << bits
                  << "-bit weights, " << channels << " channels, wl_on " << wlOn
                  << " × " << slots << ", " << perCycle << " bits/cycle, adc "
                  << adcBits << ", " << c.inputBits
                  << (c.inputSigned ? "-bit signed" : "-bit unsigned")
                  << " input, " << c.inC << "x" << c.h << "x" << c.w << " -> "
                  << c.outC << " k" << c.kernel << " s" << c.stride);
      if (compareKernels(p, x, isa, totals))
        ++fitted;
      else
        ++fellBack;
    }
    // The sweep must exercise the kernel, the ADC clip and the fallback.
    CHECK(fitted > 60);
    CHECK(fellBack > 10);
    CHECK(totals.saturations > 1000);
  }
}

TEST_CASE("saturating kernel: which geometries fit the packed counts") {
  auto fits = [](int wlOn, int perCycle, int inputBits, bool inputSigned,
                 int weightBits = 4, int slots = 2) {
    const arch::ArchSpec a = archWith(weightBits, 8, wlOn, slots, perCycle, 3);
    program::WeightMatrix m;
    m.rowsPerGroup = wlOn;
    m.channelsPerGroup = 8;
    m.weightBits = weightBits;
    program::Buffer in;
    in.bits = inputBits;
    in.isSigned = inputSigned;
    return satLayoutOf(a, m, in).fits();
  };
  // F = 6 or 7: wl_on 16 at 1 or 2 bits per cycle, wl_on 32 at 1.
  CHECK(fits(16, 1, 4, false));
  CHECK(fits(16, 2, 8, true, 8));
  CHECK(fits(32, 1, 8, true));
  CHECK(fits(127, 1, 4, false));
  CHECK(fits(2, 4, 8, false));     // 2 × 15 < 2^5, 4 + 2·5 ≤ 15
  CHECK(fits(16, 1, 16, true, 8)); // 32 rows × (2^16 − 1) × 255 < 2^31
  // Fall back: a count needs F = 8 (4F > 31), or a slice pair overflows
  // int16 (pc + 2F > 15), or a partition's sum could overflow int32.
  CHECK_FALSE(fits(128, 1, 4, false));
  CHECK_FALSE(fits(32, 2, 4, false));
  CHECK_FALSE(fits(16, 4, 4, false));
  CHECK_FALSE(fits(8, 8, 8, false));
  CHECK_FALSE(fits(16, 1, 16, true, 8, /*slots=*/16));
  CHECK_FALSE(fits(16, 1, 16, false)); // unsigned 16 bits: not int16
}

TEST_CASE("saturating kernel: 15- and 16-bit inputs (slice weights up to "
          "−2^15)") {
  for (SatIsa isa : {SatIsa::Scalar, SatIsa::Avx2, SatIsa::Avx512}) {
    if (!satIsaSupported(isa))
      continue;
    Random rng(7);
    Totals totals;
    for (int trial = 0; trial < 4; ++trial) {
      const arch::ArchSpec a = archWith(8, 4, 16, 2, /*perCycle=*/1, 3);
      LayerCase c;
      c.inC = 5;
      c.outC = 6;
      c.inputBits = trial % 2 ? 16 : 15;
      c.inputSigned = trial % 2;
      c.density = 1.0;
      program::Program p = runtime::testing::makeProgram(a, c, rng);
      REQUIRE(program::validateProgram(p).empty());
      INFO("isa " << int(isa) << ", " << c.inputBits << "-bit input");
      CHECK(compareKernels(p, runtime::testing::randomInput(p, rng), isa,
                           totals));
    }
    CHECK(totals.saturations > 0);
  }
}

TEST_CASE("saturating kernel and ADC clip corrections: a compiled network, "
          "every buffer and counter equal to the reference kernel's") {
  for (int perCycle : {1, 2}) {
    test::CompileSetup setup;
    setup.model = "resnet20";
    setup.modelOptions.widthMultiplier = 0.5;
    setup.options.prune = 0.5;
    setup.arch.macro.adcBits = 3; // 16 rows count up to 16 (or 48)
    setup.arch.macro.inputBitsPerCycle = perCycle;
    passes::CompileState state = test::compileZoo(setup);
    auto p =
        program::parseProgram(state.bytes.data(), state.bytes.size(), "t.bin");
    REQUIRE(p);
    auto reference = runtime::Executor::create(
        *p, {runtime::ExecMode::MacroLevel, runtime::MacroKernel::Reference});
    REQUIRE(reference);
    Random rng(perCycle);
    const program::Buffer &in = p->buffers[p->input];
    const int64_t lo = intLo(in.bits, in.isSigned);
    const int64_t hi = intHi(in.bits, in.isSigned);
    std::vector<int32_t> x(size_t(in.size()));
    for (int32_t &v : x)
      v = int32_t(rng.uniformInt(lo, hi));
    REQUIRE(reference->run(x));
    CHECK(reference->counters().adcSaturations > 0);
    for (runtime::MacroKernel kernel :
         {runtime::MacroKernel::Best, runtime::MacroKernel::PortableCorrections,
          runtime::MacroKernel::Avx2Corrections,
          runtime::MacroKernel::PackedCounts}) {
      auto fast = runtime::Executor::create(
          *p, {runtime::ExecMode::MacroLevel, kernel});
      REQUIRE(fast);
      REQUIRE(fast->run(x));
      INFO(perCycle << " bits per cycle, macro kernel " << int(kernel));
      CHECK(fast->buffers() == reference->buffers());
      CHECK(fast->counters().activations == reference->counters().activations);
      CHECK(fast->counters().adcSaturations ==
            reference->counters().adcSaturations);
    }
  }
}

TEST_CASE("saturating kernel: more saturations per column than a byte "
          "counts") {
  // 16 groups of 32 rows, a 2-bit ADC and dense 8-bit inputs: nearly every
  // count clips, hundreds of times per channel and pixel block.
  const arch::ArchSpec a = archWith(4, 8, 32, 16, /*perCycle=*/1, 2);
  for (SatIsa isa : {SatIsa::Scalar, SatIsa::Avx2, SatIsa::Avx512}) {
    if (!satIsaSupported(isa))
      continue;
    Random rng(3);
    LayerCase c;
    c.inC = 64;
    c.outC = 8;
    c.inputBits = 8;
    c.density = 1.0;
    program::Program p = runtime::testing::makeProgram(a, c, rng);
    REQUIRE(program::validateProgram(p).empty());
    Totals totals;
    INFO("isa " << int(isa));
    CHECK(
        compareKernels(p, runtime::testing::randomInput(p, rng), isa, totals));
    CHECK(totals.saturations > 100000);
  }
}
