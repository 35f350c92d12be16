// The two Conv kernels on random single-layer programs: the fast integer
// GEMM and the bit-serial macro model must equal an independent direct
// im2col × matrix product when the ADC is exact, and with a saturating ADC
// the macro model must equal an independent bit-serial reference written
// here from the definition in Functional.h (and then differ from the exact
// product, with saturations counted).
#include "mars/support/Random.h"
#include "mars/support/IntRange.h"
#include "mars/program/ProgramFile.h"
#include "mars/runtime/Functional.h"
#include "mars/runtime/Timing.h"

#include "KernelTestPrograms.h"
#include "DigitalOps.h"
#include "PackedConv.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

using namespace mars;
using runtime::testing::LayerCase;
using runtime::testing::makeProgram;
using runtime::testing::randomInput;

namespace {

/// im2col row `row` of output pixel (oy, ox), zero outside the input.
int64_t inputAt(const program::Program &p, const std::vector<int32_t> &x,
                int oy, int ox, int row) {
  const program::Layer &l = p.layers[0];
  const program::Buffer &in = p.buffers[0];
  if (row >= l.kernelH * l.kernelW * in.channels)
    return 0;
  const int ic = row % in.channels, k = row / in.channels;
  const int sy = oy * l.strideH - l.padTop + (k / l.kernelW);
  const int sx = ox * l.strideW - l.padLeft + (k % l.kernelW);
  if (sy < 0 || sy >= in.height || sx < 0 || sx >= in.width)
    return 0;
  return x[(size_t(ic) * in.height + sy) * in.width + sx];
}

/// The reference: every stored group, either an exact dot product or the
/// bit-serial definition with a saturating ADC.
std::vector<int32_t> reference(const program::Program &p,
                               const std::vector<int32_t> &x, bool bitSerial,
                               int64_t *saturations) {
  const program::WeightMatrix &m = p.matrices[0];
  const program::Buffer &in = p.buffers[0], &out = p.buffers[1];
  const arch::MacroSpec &mac = p.arch.macro;
  const int64_t adcMax = (int64_t(1) << mac.adcBits) - 1;
  std::vector<int64_t> acc(size_t(out.size()), 0);
  for (int oy = 0; oy < out.height; ++oy)
    for (int ox = 0; ox < out.width; ++ox)
      for (const program::Group &g : m.groups)
        for (int j = 0; j < m.channelsPerGroup; ++j) {
          const int col = g.colGroup * m.channelsPerGroup + j;
          if (col >= m.cols)
            continue;
          std::vector<int64_t> xs(m.rowsPerGroup);
          for (int r = 0; r < m.rowsPerGroup; ++r)
            xs[r] = inputAt(p, x, oy, ox, g.rowGroup * m.rowsPerGroup + r);
          int64_t sum = 0;
          if (!bitSerial) {
            for (int r = 0; r < m.rowsPerGroup; ++r)
              sum += xs[r] * g.weights[size_t(r) * m.channelsPerGroup + j];
          } else {
            // Input slices: magnitude bits in chunks, a signed input's sign
            // bit alone with weight −2^(bits−1).
            const int magnitude = in.isSigned ? in.bits - 1 : in.bits;
            std::vector<std::pair<int, int>> slices; // (first bit, count)
            for (int b = 0; b < magnitude; b += mac.inputBitsPerCycle)
              slices.push_back(
                  {b, std::min(mac.inputBitsPerCycle, magnitude - b)});
            if (in.isSigned)
              slices.push_back({in.bits - 1, 1});
            for (size_t s = 0; s < slices.size(); ++s) {
              const bool signSlice = in.isSigned && s + 1 == slices.size();
              for (int wb = 0; wb < m.weightBits; ++wb) {
                int64_t count = 0;
                for (int r = 0; r < m.rowsPerGroup; ++r) {
                  const uint32_t u = uint32_t(xs[r]) & ((1u << in.bits) - 1);
                  const int64_t slice =
                      (u >> slices[s].first) & ((1u << slices[s].second) - 1);
                  const uint32_t wu =
                      uint32_t(int32_t(
                          g.weights[size_t(r) * m.channelsPerGroup + j])) &
                      ((1u << m.weightBits) - 1);
                  count += slice * ((wu >> wb) & 1);
                }
                if (count > adcMax) {
                  count = adcMax;
                  ++*saturations;
                }
                const bool negative = signSlice != (wb == m.weightBits - 1);
                const int64_t v = count << (slices[s].first + wb);
                sum += negative ? -v : v;
              }
            }
          }
          acc[(size_t(col) * out.height + oy) * out.width + ox] += sum;
        }
  std::vector<int32_t> y(acc.size());
  const int64_t pixels = int64_t(out.height) * out.width;
  for (size_t i = 0; i < y.size(); ++i)
    y[i] = int32_t(std::clamp<int64_t>(acc[i] + p.layers[0].bias[i / pixels],
                                       INT32_MIN, INT32_MAX));
  return y;
}

std::vector<int32_t>
runMode(const program::Program &p, runtime::ExecMode mode,
        const std::vector<int32_t> &x,
        runtime::ExecCounters *counters = nullptr,
        runtime::MacroKernel kernel = runtime::MacroKernel::Best) {
  runtime::ExecOptions options;
  options.mode = mode;
  options.macroKernel = kernel;
  auto exec = runtime::Executor::create(p, options);
  if (!exec)
    FAIL(exec.error().message());
  auto y = exec->run(x);
  if (!y)
    FAIL(y.error().message());
  if (counters)
    *counters = exec->counters();
  return *y;
}

LayerCase randomCase(Random &rng) {
  auto pick = [&](std::initializer_list<int> v) { return rng.pick(v); };
  LayerCase c;
  c.groups = pick({1, 1, 2, 4});
  c.inC = c.groups * pick({1, 3, 4, 8});
  c.outC = c.groups * pick({1, 3, 5, 8});
  c.h = pick({3, 5, 8});
  c.w = pick({3, 6});
  c.kernel = pick({1, 3});
  c.pad = c.kernel == 3 ? pick({0, 1}) : 0;
  c.stride = pick({1, 2});
  c.inputBits = pick({1, 2, 4, 8});
  c.inputSigned = c.inputBits > 1 && pick({0, 1});
  c.density = pick({3, 6, 10}) / 10.0;
  return c;
}

} // namespace

TEST_CASE("kernels: fast and macro-level equal the exact product when the "
          "ADC is exact") {
  Random rng(11);
  for (int trial = 0; trial < 40; ++trial) {
    arch::ArchSpec a = arch::defaultArch();
    const int variant = trial % 4;
    if (variant == 1) { // narrow macro: 2-row groups, 2 channels per partition
      a.macro.wlOn = 2;
      a.macro.rows = 8;
      a.macro.cols = 32;
      a.macro.partitions = 4;
      a.macro.weightBits = 4;
      a.macro.blOn = 16;
    } else if (variant == 2) { // 2-bit input slices, 8-bit weights, odd wl_on
      a.macro.inputBitsPerCycle = 2;
      a.macro.wlOn = 7;
      a.macro.rows = 28;
      a.macro.weightBits = 8;
      a.macro.adcBits = 5;
    } else if (variant == 3) { // 96-row groups: masks span two words
      a.macro.wlOn = 96;
      a.macro.rows = 192;
      a.macro.adcBits = 7;
    }
    REQUIRE(arch::validate(a).empty());
    REQUIRE(a.adcExact());
    LayerCase c = randomCase(rng);
    INFO("trial " << trial << ": " << c.inC << "x" << c.h << "x" << c.w
                  << " -> " << c.outC << ", k" << c.kernel << " s" << c.stride
                  << " p" << c.pad << " g" << c.groups << ", " << c.inputBits
                  << (c.inputSigned ? "-bit signed" : "-bit unsigned")
                  << " input, wl_on " << a.macro.wlOn);
    program::Program p = makeProgram(a, c, rng);
    const auto problems = program::validateProgram(p);
    if (!problems.empty())
      FAIL(problems[0]);
    const std::vector<int32_t> x = randomInput(p, rng);
    const std::vector<int32_t> expected = reference(p, x, false, nullptr);
    CHECK(runMode(p, runtime::ExecMode::Fast, x) == expected);
    runtime::ExecCounters counters;
    CHECK(runMode(p, runtime::ExecMode::MacroLevel, x, &counters) == expected);
    CHECK(counters.adcSaturations == 0);
  }
}

/// Runs `p` on `x` with each macro-level kernel and checks outputs and
/// saturations against the bit-serial reference; returns the reference's
/// saturations.
int64_t checkMacroKernels(const program::Program &p,
                          const std::vector<int32_t> &x,
                          std::initializer_list<runtime::MacroKernel> kernels) {
  int64_t saturations = 0;
  const std::vector<int32_t> expected = reference(p, x, true, &saturations);
  for (runtime::MacroKernel kernel : kernels) {
    INFO("macro kernel " << int(kernel));
    runtime::ExecCounters counters;
    CHECK(runMode(p, runtime::ExecMode::MacroLevel, x, &counters, kernel) ==
          expected);
    CHECK(counters.adcSaturations == saturations);
  }
  return saturations;
}

TEST_CASE("kernels: a saturating ADC clips column counts exactly as "
          "specified") {
  Random rng(23);
  int64_t totalSaturations = 0;
  for (int trial = 0; trial < 20; ++trial) {
    arch::ArchSpec a = arch::defaultArch();
    a.macro.adcBits = trial % 2 ? 2 : 3; // 16 rows can count to 16 (or 48)
    // 1 and 2 bits per cycle run the saturating kernel, 4 bits do not fit
    // its packed counts and run computeMacroLevel.
    a.macro.inputBitsPerCycle = trial % 3 == 0 ? 2 : trial % 3 == 1 ? 1 : 4;
    REQUIRE(arch::validate(a).empty());
    REQUIRE_FALSE(a.adcExact());
    LayerCase c = randomCase(rng);
    c.inputBits = 8;
    c.density = 1.0;
    program::Program p = makeProgram(a, c, rng);
    REQUIRE(program::validateProgram(p).empty());
    // Every macro-level kernel (Functional.h); all compute the same.
    totalSaturations += checkMacroKernels(
        p, randomInput(p, rng),
        {runtime::MacroKernel::Best, runtime::MacroKernel::PortableCorrections,
         runtime::MacroKernel::Avx2Corrections,
         runtime::MacroKernel::PackedCounts, runtime::MacroKernel::Reference});
    // The fast path refuses an inexact ADC rather than computing something
    // else.
    CHECK_FALSE(runtime::Executor::create(p, {runtime::ExecMode::Fast}));
  }
  CHECK(totalSaturations > 0);
}

TEST_CASE("kernels: ADC clip corrections on layers whose row groups are "
          "channel blocks (16, 32, 48 input channels)") {
  // With wl_on 16 dividing the input channels, Best finds the slices that
  // can clip once per input position and channel block (AdcClipCorrection.h)
  // and maps them to pixels by each group's kernel tap: strides, padding,
  // dilation-free 1×1 and 3×3 kernels, signed and unsigned inputs, 1 and 2
  // bits per cycle, against the bit-serial reference.
  Random rng(29);
  int64_t totalSaturations = 0;
  for (int trial = 0; trial < 24; ++trial) {
    arch::ArchSpec a = arch::defaultArch();
    a.macro.adcBits = trial % 2 ? 3 : 4;
    a.macro.inputBitsPerCycle = trial % 3 == 0 ? 2 : 1;
    REQUIRE(arch::validate(a).empty());
    LayerCase c;
    c.inC = 16 * (1 + trial % 3);
    c.outC = rng.pick({5, 8, 16});
    c.h = rng.pick({5, 8, 9});
    c.w = rng.pick({6, 17});
    c.kernel = rng.pick({1, 3});
    c.pad = c.kernel == 3 ? rng.pick({0, 1}) : 0;
    c.stride = rng.pick({1, 2});
    c.inputBits = rng.pick({4, 8});
    c.inputSigned = trial % 4 == 1;
    c.density = rng.pick({5, 10}) / 10.0;
    INFO("trial " << trial << ": " << c.inC << "x" << c.h << "x" << c.w
                  << " -> " << c.outC << ", k" << c.kernel << " s" << c.stride
                  << " p" << c.pad << ", " << c.inputBits
                  << (c.inputSigned ? "-bit signed" : "-bit unsigned"));
    program::Program p = makeProgram(a, c, rng);
    REQUIRE(program::validateProgram(p).empty());
    totalSaturations += checkMacroKernels(
        p, randomInput(p, rng),
        {runtime::MacroKernel::Best, runtime::MacroKernel::PortableCorrections,
         runtime::MacroKernel::Avx2Corrections});
  }
  CHECK(totalSaturations > 0);
}

TEST_CASE("kernels: activations count stored groups × pixels × slices") {
  Random rng(5);
  arch::ArchSpec a = arch::defaultArch();
  LayerCase c;
  c.inputBits = 4;
  program::Program p = makeProgram(a, c, rng);
  REQUIRE(program::validateProgram(p).empty());
  runtime::ExecCounters counters;
  runMode(p, runtime::ExecMode::MacroLevel, randomInput(p, rng), &counters);
  const program::Buffer &out = p.buffers[1];
  CHECK(counters.activations ==
        int64_t(p.matrices[0].groups.size()) * out.height * out.width * 4);
}

TEST_CASE("kernels: one slice count for functional model and timing, for "
          "every signedness, width and bits per cycle") {
  // Signed inputs take their sign bit as a slice of its own: a signed
  // 8-bit input at 2 bits per cycle is 4 magnitude slices + 1 sign slice.
  arch::ArchSpec a = arch::defaultArch();
  a.macro.inputBitsPerCycle = 2;
  CHECK(a.inputSlices(8, true) == 5);
  CHECK(a.inputSlices(8, false) == 4);
  Random rng(17);
  for (int perCycle : {1, 2, 3, 4})
    for (int bits = 2; bits <= 8; ++bits)
      for (bool isSigned : {false, true}) {
        a = arch::defaultArch();
        a.macro.inputBitsPerCycle = perCycle;
        a.macro.adcBits = 8; // the exact ADC keeps the comparison simple
        if (!arch::validate(a).empty())
          continue;
        LayerCase c;
        c.inputBits = bits;
        c.inputSigned = isSigned;
        program::Program p = makeProgram(a, c, rng);
        REQUIRE(program::validateProgram(p).empty());
        INFO(bits << "-bit " << (isSigned ? "signed" : "unsigned") << ", "
                  << perCycle << " bits per cycle");
        runtime::ExecCounters counters;
        runMode(p, runtime::ExecMode::MacroLevel, randomInput(p, rng),
                &counters);
        auto timing = runtime::simulateTiming(p);
        REQUIRE(timing);
        const program::Buffer &out = p.buffers[1];
        const int64_t expected = int64_t(p.matrices[0].groups.size()) *
                                 out.height * out.width *
                                 a.inputSlices(bits, isSigned);
        CHECK(counters.activations == expected);
        CHECK(timing->totals.activations == expected);
      }
}

namespace {

/// Geometries for the packed fast-path kernel (PackedConv.h): each
/// instruction set, channels per partition 1 to 16, wl_on a multiple of 4
/// or not, rows read in place (stride-1 outputs at least 16 wide) or through
/// the im2col copy, partial 16-pixel blocks.
arch::ArchSpec packedArch(int variant) {
  arch::ArchSpec a = arch::defaultArch();
  switch (variant % 6) {
  case 1: // 8-bit weights: 4 channels per partition
    a.macro.weightBits = 8;
    break;
  case 2: // 2-bit weights: 16 channels per partition
    a.macro.weightBits = 2;
    break;
  case 3: // 1 channel per partition, wl_on 12
    a.macro.weightBits = 8;
    a.macro.cols = 64;
    a.macro.wlOn = 12;
    a.macro.rows = 48;
    a.macro.blOn = 64;
    break;
  case 4: // odd wl_on (quads padded), 2 channels per partition
    a.macro.wlOn = 7;
    a.macro.rows = 28;
    a.macro.cols = 64;
    a.macro.weightBits = 4;
    a.macro.blOn = 64;
    break;
  case 5: // wl_on 2: half a quad per group
    a.macro.wlOn = 2;
    a.macro.rows = 8;
    a.macro.cols = 32;
    a.macro.partitions = 4;
    a.macro.weightBits = 4;
    a.macro.blOn = 16;
    break;
  }
  return a;
}

/// Runs `p` on `x` with every fast-path kernel this CPU has and checks the
/// output against `expected`; with `clones`, a clone of each executor too
/// (it shares the prepared weights and must compute the same).
void checkFastKernels(const program::Program &p, const std::vector<int32_t> &x,
                      const std::vector<int32_t> &expected, bool clones) {
  using runtime::FastKernel;
  for (FastKernel k :
       {FastKernel::Portable, FastKernel::Avx2, FastKernel::AvxVnni,
        FastKernel::Avx512Vnni, FastKernel::Unpacked}) {
    if (!runtime::fastKernelSupported(k))
      continue;
    INFO("kernel " << int(k));
    runtime::ExecOptions o;
    o.fastKernel = k;
    auto exec = runtime::Executor::create(p, o);
    REQUIRE(exec);
    auto y = exec->run(x);
    REQUIRE(y);
    CHECK(*y == expected);
    if (!clones)
      continue;
    runtime::Executor twin = exec->clone();
    auto z = twin.run(x);
    REQUIRE(z);
    CHECK(*z == expected);
  }
}

} // namespace

TEST_CASE("kernels: every fast-path kernel equals the exact product, "
          "extremes included") {
  Random rng(31);
  auto pick = [&](std::initializer_list<int> v) { return rng.pick(v); };
  for (int trial = 0; trial < 72; ++trial) {
    arch::ArchSpec a = packedArch(trial);
    REQUIRE(arch::validate(a).empty());
    REQUIRE(a.adcExact());
    LayerCase c;
    c.groups = pick({1, 1, 1, 2});
    c.inC = c.groups * pick({2, 3, 4, 8, 12});
    c.outC = c.groups * pick({1, 5, 8, 17});
    c.h = pick({1, 2, 5});
    c.w = pick({5, 16, 17, 20, 35});
    c.kernel = pick({1, 3});
    c.pad = c.kernel == 3 ? pick({0, 1}) : 0;
    if (c.h + 2 * c.pad < c.kernel)
      c.h = c.kernel;
    c.stride = pick({1, 1, 2});
    c.inputBits = 1 + trial / 6 % 8;              // 1 to 8 bits
    c.inputSigned = c.inputBits > 1 && trial % 2; // signed from 2 bits
    c.density = pick({3, 6, 10}) / 10.0;
    // Every third trial at the extremes: inputs at the type's minimum or
    // maximum, every weight at -2^(wbits-1) (the largest products).
    const int extreme = trial % 3 == 0 ? 1 + trial / 3 % 2 : 0;
    INFO("trial " << trial << ": " << c.inC << "x" << c.h << "x" << c.w
                  << " -> " << c.outC << ", k" << c.kernel << " s" << c.stride
                  << " p" << c.pad << " g" << c.groups << ", " << c.inputBits
                  << (c.inputSigned ? "-bit signed" : "-bit unsigned")
                  << " input, wl_on " << a.macro.wlOn << ", "
                  << a.macro.weightBits << "-bit weights, extreme " << extreme);
    program::Program p = makeProgram(a, c, rng);
    if (extreme)
      for (program::Group &g : p.matrices[0].groups)
        for (int8_t &w : g.weights)
          if (w != 0)
            w = int8_t(signedLo(a.macro.weightBits));
    const auto problems = program::validateProgram(p);
    if (!problems.empty())
      FAIL(problems[0]);
    std::vector<int32_t> x = randomInput(p, rng);
    if (extreme) {
      const program::Buffer &b = p.buffers[0];
      const auto lo = int32_t(intLo(b.bits, b.isSigned));
      const auto hi = int32_t(intHi(b.bits, b.isSigned));
      std::fill(x.begin(), x.end(), extreme == 1 ? hi : (b.isSigned ? lo : hi));
    }
    checkFastKernels(p, x, reference(p, x, false, nullptr), /*clones=*/true);
  }
}

namespace {

/// The Conv's Post as DESIGN.md §3 defines it, written here with 128-bit
/// integers: acc (already bias + sum, saturated to int32) × value ÷
/// 2^shift rounded half to even, then clamped.
int32_t requantized(int32_t acc, program::Requant m, int64_t lo, int64_t hi) {
  const __int128 product = __int128(acc) * m.value;
  const __int128 d = __int128(1) << m.shift;
  __int128 q = product >= 0 ? product / d : -((-product + d - 1) / d); // floor
  const __int128 twiceRemainder = 2 * (product - q * d);
  if (twiceRemainder > d || (twiceRemainder == d && q % 2 != 0))
    ++q;
  return int32_t(std::clamp<__int128>(q, lo, hi));
}

} // namespace

TEST_CASE("kernels: the fast path's requantizing Post equals the definition "
          "on every instruction set, ties and int32 saturation included") {
  // The Post's SIMD forms (AVX-512 on Avx512Vnni, AVX2 on Avx2 and AvxVnni)
  // are chosen by the layer's kernel, so each kernel below runs its own.
  // 8-bit inputs by 8-bit weights are also the AVX2 kernel's words case
  // (pairs of such products do not fit vpmaddubsw's int16).
  Random rng(59);
  int64_t saturated = 0, clamped = 0;
  for (int trial = 0; trial < 24; ++trial) {
    arch::ArchSpec a = arch::defaultArch();
    a.macro.weightBits = trial % 3 == 2 ? 4 : 8; // 8 or 4 channels a group
    LayerCase c;
    c.inC = rng.pick({4, 8, 12});
    c.outC = rng.pick({5, 17});
    c.h = rng.pick({1, 3});
    c.w = rng.pick({2, 7, 20}); // 2 to 60 pixels: SIMD bodies and tails
    c.kernel = 3;
    c.pad = 1;
    c.inputBits = 8;
    c.inputSigned = trial % 2;
    c.density = 0.7;
    INFO("trial " << trial << ": " << c.inC << "x" << c.h << "x" << c.w
                  << " -> " << c.outC << ", " << a.macro.weightBits
                  << "-bit weights, " << (c.inputSigned ? "signed" : "unsigned")
                  << " input");
    program::Program p = makeProgram(a, c, rng);
    program::Layer &l = p.layers[0];
    // Biases next to the int32 limits saturate bias + sum in two channels.
    l.bias[0] = std::numeric_limits<int32_t>::max() - 3;
    l.bias[1] = std::numeric_limits<int32_t>::min() + 3;
    std::vector<int32_t> x = randomInput(p, rng);
    const std::vector<int32_t> acc = reference(p, x, false, nullptr);
    // Requantize the output: shifts of 1 to 3 make exact ties common,
    // large ones bring the values into the clamp range.
    program::Buffer &out = p.buffers[1];
    out.isAccumulator = false;
    out.bits = 8;
    out.isSigned = trial % 4 < 2;
    l.logitScales.clear();
    l.clampLo = out.isSigned ? -128 : 0;
    l.clampHi = out.isSigned ? 127 : rng.pick({6, 255});
    for (int ch = 0; ch < c.outC; ++ch)
      l.requant.push_back(
          {int32_t(rng.uniformInt(1, std::numeric_limits<int32_t>::max())),
           int32_t(rng.pick({0, 1, 2, 3, 24, 31, 37, 45, 62}))});
    const auto problems = program::validateProgram(p);
    if (!problems.empty())
      FAIL(problems[0]);
    const int64_t pixels = int64_t(out.height) * out.width;
    std::vector<int32_t> expected(acc.size());
    for (size_t i = 0; i < acc.size(); ++i) {
      const program::Requant m = l.requant[i / size_t(pixels)];
      expected[i] = requantized(acc[i], m, l.clampLo, l.clampHi);
      saturated += acc[i] == std::numeric_limits<int32_t>::max() ||
                   acc[i] == std::numeric_limits<int32_t>::min();
      clamped += expected[i] == l.clampLo || expected[i] == l.clampHi;
    }
    const runtime::detail::PackedLayer pl = runtime::detail::packedLayerOf(
        p, l, /*maxTerms=*/int64_t(p.matrices[0].rows),
        runtime::detail::PackedIsa::Avx2);
    REQUIRE(pl.enabled); // the packed path (and its Post) runs this layer
    // On AVX2, 8-bit inputs by 8-bit weights take the int16 words kernel.
    CHECK(pl.words == (a.macro.weightBits == 8));
    checkFastKernels(p, x, expected, /*clones=*/false);
  }
  // The cases the vector code treats specially did occur.
  CHECK(saturated > 10);
  CHECK(clamped > 100);
}

TEST_CASE("kernels: the Post's vector forms round exact ties to even") {
  // Ties need small products, which whole layers rarely give inside the
  // clamp range, so postConvPacked is called directly on accumulators
  // chosen so that acc × value ÷ 2^shift mostly lands in [-300, 300].
  std::vector<runtime::detail::PackedIsa> isas;
  for (auto isa :
       {runtime::detail::PackedIsa::Scalar, runtime::detail::PackedIsa::Avx2,
        runtime::detail::PackedIsa::Avx512Vnni})
    if (runtime::detail::packedIsaSupported(isa))
      isas.push_back(isa);
  Random rng(61);
  program::Program p;
  program::Buffer out;
  out.channels = 64;
  out.height = 3;
  out.width = 13; // 39 pixels: 4- and 8-lane bodies and their tails
  out.bits = 8;
  out.isSigned = true;
  p.buffers = {out};
  program::Layer l;
  l.output = 0;
  l.clampLo = -128;
  l.clampHi = 127;
  const int64_t pixels = int64_t(out.height) * out.width;
  std::vector<int32_t> acc(size_t(out.channels * pixels));
  int64_t ties = 0;
  std::vector<int32_t> expected(acc.size());
  for (int ch = 0; ch < out.channels; ++ch) {
    const int32_t shift = rng.pick({0, 1, 2, 3, 5, 13, 31, 46, 62});
    const int64_t valueMax = std::min<int64_t>(
        std::numeric_limits<int32_t>::max(), int64_t(1) << std::min(shift, 40));
    const program::Requant m{int32_t(rng.uniformInt(1, valueMax)), shift};
    l.requant.push_back(m);
    l.bias.push_back(ch % 8 == 7 ? std::numeric_limits<int32_t>::max() - 2
                                 : int32_t(rng.uniformInt(-50, 50)));
    const double range =
        std::min(2e9, 300.0 * std::ldexp(1.0, shift) / double(m.value));
    for (int64_t px = 0; px < pixels; ++px) {
      const size_t i = size_t(ch * pixels + px);
      acc[i] = int32_t(rng.uniformInt(-int64_t(range), int64_t(range)));
      if (ch % 8 == 6 && px % 5 == 0) // int32 saturation below
        acc[i] = std::numeric_limits<int32_t>::min() + int32_t(px);
      const int64_t sum = std::clamp<int64_t>(
          int64_t(acc[i]) + l.bias.back(), std::numeric_limits<int32_t>::min(),
          std::numeric_limits<int32_t>::max());
      expected[i] = requantized(int32_t(sum), m, l.clampLo, l.clampHi);
      const __int128 product = __int128(sum) * m.value;
      ties += shift > 0 && (product & ((__int128(1) << shift) - 1)) ==
                               (__int128(1) << (shift - 1));
    }
  }
  p.layers = {l};
  for (auto isa : isas) {
    INFO("isa " << int(isa));
    std::vector<int32_t> y(acc.size(), 0);
    runtime::detail::postConvPacked(p, l, acc.data(), 0, out.channels, isa, y);
    CHECK(y == expected);
  }
  CHECK(ties > 50);
}

TEST_CASE("kernels: the residual Add's vector forms equal the definition, "
          "ties included") {
  // DESIGN.md §3's Add: out = clamp(round_half_even(Σ q_k × value_k /
  // 2^shift)), written here with 128-bit integers, against each level the
  // CPU has (the executor picks the level from its fast kernel).
  using runtime::detail::DigitalSimd;
  std::vector<DigitalSimd> levels = {DigitalSimd::Scalar};
  if (__builtin_cpu_supports("avx2"))
    levels.push_back(DigitalSimd::Avx2);
  if (__builtin_cpu_supports("avx512f"))
    levels.push_back(DigitalSimd::Avx512);
  Random rng(67);
  int64_t ties = 0, clamped = 0, compared = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const int inputs = trial % 3 == 2 ? 3 : 2;
    program::Program p;
    program::Buffer b;
    b.channels = 6;
    b.height = 3;
    b.width = 7; // 21 pixels a channel: vector bodies and tails
    b.bits = trial % 4 == 3 ? 16 : 8;
    b.isSigned = trial % 2;
    for (int k = 0; k <= inputs; ++k)
      p.buffers.push_back(b);
    program::Layer l;
    l.kind = program::LayerKind::Add;
    l.output = inputs;
    const int32_t shift = rng.pick({1, 2, 3, 9, 30});
    for (int k = 0; k < inputs; ++k) {
      l.inputs.push_back(k);
      // Small multipliers at small shifts keep sums near the clamp range.
      const int64_t most = shift < 9 ? 8 : std::numeric_limits<int32_t>::max();
      l.inputRequant.push_back({int32_t(rng.uniformInt(1, most)), shift});
    }
    l.clampLo = intLo(b.bits, b.isSigned);
    l.clampHi = intHi(b.bits, b.isSigned);
    p.layers = {l};
    runtime::detail::Buffers buffers(size_t(inputs + 1),
                                     std::vector<int32_t>(size_t(b.size())));
    for (int k = 0; k < inputs; ++k)
      for (int32_t &v : buffers[size_t(k)])
        v = int32_t(rng.uniformInt(intLo(b.bits, b.isSigned),
                                   intHi(b.bits, b.isSigned)));
    std::vector<int32_t> expected(size_t(b.size()));
    for (size_t i = 0; i < expected.size(); ++i) {
      __int128 sum = 0;
      for (int k = 0; k < inputs; ++k)
        sum +=
            __int128(buffers[size_t(k)][i]) * l.inputRequant[size_t(k)].value;
      const __int128 d = __int128(1) << shift;
      __int128 q = sum >= 0 ? sum / d : -((-sum + d - 1) / d); // floor
      const __int128 twiceRemainder = 2 * (sum - q * d);
      ties += twiceRemainder == d;
      if (twiceRemainder > d || (twiceRemainder == d && q % 2 != 0))
        ++q;
      expected[i] = int32_t(std::clamp<__int128>(q, l.clampLo, l.clampHi));
      clamped += expected[i] == l.clampLo || expected[i] == l.clampHi;
    }
    for (DigitalSimd simd : levels) {
      INFO("trial " << trial << ", level " << int(simd));
      runtime::detail::Buffers out = buffers;
      runtime::detail::runDigitalLayer(p, l, 0, b.channels, simd, out);
      CHECK(out[size_t(inputs)] == expected);
      ++compared;
    }
  }
  CHECK(ties > 50);
  CHECK(clamped > 50);
  CHECK(compared >= 24);
}

TEST_CASE("kernels: the narrow AVX-512 kernel (at most 12 output pixels) "
          "equals the exact product") {
  // Layers like VGG's last 2×2 convolutions: blocks of 4 pixels × 4
  // channels (PackedConv.h). The case list covers 4, 8 and 16 channels
  // per partition, planar (channels a multiple of 4) and byte-by-byte
  // im2col inputs, strides 1 and 2, 1 to 12 output pixels split over two
  // Computes (partial blocks), signed and unsigned inputs and the extremes.
  if (!runtime::fastKernelSupported(runtime::FastKernel::Avx512Vnni)) {
    WARN("not run: this CPU has no AVX-512 VNNI, so the narrow kernel is "
         "never used here");
    return;
  }
  Random rng(47);
  int narrowLayers = 0;
  for (int trial = 0; trial < 48; ++trial) {
    arch::ArchSpec a = arch::defaultArch();
    a.macro.weightBits = std::array<int, 3>{8, 4, 2}[trial % 3]; // C 4, 8, 16
    REQUIRE(arch::validate(a).empty());
    LayerCase c;
    c.inC = rng.pick({3, 4, 8, 12});
    c.outC = rng.pick({5, 8, 17});
    c.kernel = rng.pick({1, 3});
    c.pad = c.kernel == 3 ? 1 : 0;
    c.stride = rng.pick({1, 1, 2});
    c.h = rng.pick({1, 2, 3});
    c.w = rng.pick({1, 2, 3, 4});
    c.inputBits = rng.pick({2, 4, 8});
    c.inputSigned = trial % 2;
    c.density = rng.pick({3, 10}) / 10.0;
    program::Program p = makeProgram(a, c, rng);
    REQUIRE(program::validateProgram(p).empty());
    const program::Buffer &out = p.buffers[1];
    INFO("trial " << trial << ": " << c.inC << "x" << c.h << "x" << c.w
                  << " -> " << c.outC << "x" << out.height << "x" << out.width
                  << ", k" << c.kernel << " s" << c.stride << ", "
                  << a.macro.weightBits << "-bit weights, " << c.inputBits
                  << (c.inputSigned ? "-bit signed" : "-bit unsigned"));
    const runtime::detail::PackedLayer pl = runtime::detail::packedLayerOf(
        p, p.layers[0], /*maxTerms=*/1, runtime::detail::PackedIsa::Avx512Vnni);
    REQUIRE(pl.enabled);
    CHECK(pl.narrow); // every case here is at most 12 pixels
    narrowLayers += pl.narrow;
    std::vector<int32_t> x = randomInput(p, rng);
    if (trial % 4 == 3) { // the largest products
      for (program::Group &g : p.matrices[0].groups)
        for (int8_t &w : g.weights)
          if (w != 0)
            w = int8_t(signedLo(a.macro.weightBits));
      const program::Buffer &b = p.buffers[0];
      std::fill(
          x.begin(), x.end(),
          int32_t(b.isSigned ? intLo(b.bits, true) : intHi(b.bits, false)));
    }
    runtime::ExecOptions o;
    o.fastKernel = runtime::FastKernel::Avx512Vnni;
    auto exec = runtime::Executor::create(p, o);
    REQUIRE(exec);
    auto y = exec->run(x);
    REQUIRE(y);
    CHECK(*y == reference(p, x, false, nullptr));
  }
  CHECK(narrowLayers == 48);
}

namespace {

/// The error messages of the fast and the macro-level path running `p` on
/// a random input; each run must fail.
std::vector<std::string> runErrorsOfBothPaths(const program::Program &p,
                                              Random &rng) {
  std::vector<std::string> messages;
  for (runtime::ExecMode mode :
       {runtime::ExecMode::Fast, runtime::ExecMode::MacroLevel}) {
    runtime::ExecOptions o;
    o.mode = mode;
    auto exec = runtime::Executor::create(p, o);
    REQUIRE(exec);
    auto y = exec->run(randomInput(p, rng));
    REQUIRE_FALSE(y);
    messages.push_back(y.error().message());
  }
  return messages;
}

} // namespace

TEST_CASE("kernels: a core that skips a barrier its data needs is refused "
          "by validation; crossed barriers stop the executor and the timing "
          "model") {
  Random rng(11);
  LayerCase c;
  c.outC = 128; // Two weight images: Computes on cores 0 and 1.
  const program::Program p = makeProgram(arch::defaultArch(), c, rng);
  REQUIRE(p.streams.size() == 4);
  REQUIRE(program::validateProgram(p).empty());
  REQUIRE(std::any_of(p.streams[1].begin(), p.streams[1].end(),
                      [](const program::Instr &in) {
                        return in.op == program::Opcode::Compute;
                      }));
  auto firstSync = [](std::vector<program::Instr> &s) {
    return std::find_if(s.begin(), s.end(), [](const program::Instr &in) {
      return in.op == program::Opcode::Sync;
    });
  };
  {
    // Without its barrier, core 1's Computes add into the accumulators
    // that core 0's Post reads, with nothing ordering them: a barrier among
    // the other three cores alone is well formed, so only the order check
    // sees it.
    program::Program skip = p;
    auto &s = skip.streams[1];
    REQUIRE(firstSync(s) != s.end());
    s.erase(firstSync(s));
    const std::vector<std::string> problems = program::validateProgram(skip);
    REQUIRE_FALSE(problems.empty());
    CHECK_THAT(problems[0],
               Catch::Contains("streams[0][") &&
                   Catch::Contains("post reads layer '") &&
                   Catch::Contains("accumulators, but core 1 adds into it") &&
                   Catch::Contains("with no barrier between"));
  }
  // The executor and the timing model do not rely on validation: barriers
  // that two cores meet in opposite orders stop each of them with an error,
  // never a hang.
  program::Program crossed = p;
  for (int core : {0, 1})
    crossed.streams[core].push_back({program::Opcode::Sync, 100 + core, 0, 0});
  for (int core : {0, 1})
    crossed.streams[core].push_back({program::Opcode::Sync, 101 - core, 0, 0});
  const std::vector<std::string> problems = program::validateProgram(crossed);
  REQUIRE_FALSE(problems.empty());
  CHECK_THAT(problems[0], Catch::Contains("does not rise"));
  for (const std::string &message : runErrorsOfBothPaths(crossed, rng))
    CHECK_THAT(message, Catch::Contains("the cores deadlock at barriers (2 "
                                        "waiting, 2 finished)"));
  auto timing = runtime::simulateTiming(crossed, {});
  REQUIRE_FALSE(timing);
  CHECK_THAT(timing.error().message(), Catch::Contains("waits forever"));
}

TEST_CASE("kernels: a Compute whose image is not loaded is refused, naming "
          "the image, macro and partition") {
  Random rng(5);
  LayerCase c;
  program::Program p = makeProgram(arch::defaultArch(), c, rng);
  REQUIRE(program::validateProgram(p).empty());
  // Drop the first LoadImage of core 0; its Computes now read partitions
  // that hold nothing.
  auto &s = p.streams[0];
  const auto load =
      std::find_if(s.begin(), s.end(), [](const program::Instr &in) {
        return in.op == program::Opcode::LoadImage;
      });
  REQUIRE(load != s.end());
  const int32_t image = load->a;
  s.erase(load);
  REQUIRE(program::validateProgram(p).empty()); // validation cannot see it
  const program::WeightImage &im = p.images[size_t(image)];
  size_t first = 0;
  while (im.partitions[first].matrix < 0)
    ++first;
  for (const std::string &message : runErrorsOfBothPaths(p, rng))
    CHECK_THAT(message, Catch::Contains("image " + std::to_string(image) +
                                        " is not loaded in core 0 macro " +
                                        std::to_string(im.macro) +
                                        " partition " + std::to_string(first)));
}
