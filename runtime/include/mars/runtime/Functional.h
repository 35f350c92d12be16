#pragma once
/// \file
/// The functional model: executes a validated program's instruction streams
/// with the integer arithmetic of the chip, bit for bit (DESIGN.md §2–§3).
///
/// Two interchangeable Conv kernels:
///  - MacroLevel: what the macros do. Per output pixel, per input bit-slice
///    (`input_bits_per_cycle` bits; a signed input's sign bit is its own
///    slice, weighted −2^(bits−1)), per partition of the weight image, per
///    stored group named by the partition's index code: the group's wl_on
///    rows are driven with the slice of the matching im2col inputs; each
///    column (one bit of one weight; the MSB column weighs −2^(wbits−1))
///    counts Σ slice × weight bit, the ADC saturates the count at
///    2^adc_bits − 1, and the digital side shifts and adds it into the int64
///    accumulator of (pixel, channel).
///    Two faster kernels compute exactly the same (runtime/README.md):
///    where it fits, the fast path's exact sums plus a correction for each
///    (pixel, group, slice) whose input could make a column clip (no other
///    can); else, where the packed counts fit, a SIMD kernel that counts
///    four columns per 32-bit lane.
///  - Fast: an integer GEMM over the stored groups only. Identical results
///    whenever the ADC cannot saturate (`adcIsExact`); tests check it. Layers
///    with inputs of at most 8 bits run the packed u8 × s8 kernel
///    (`vpdpbusd` where the CPU has it; runtime/README.md), the others the
///    unpacked int16/int32 one; both give the same integers.
/// Post then adds the bias, saturates to int32, requantizes with lib/quant's
/// fixed-point functions and clamps; pooling, Add, Concat and Reshape run on
/// the channel slices the instructions name. Cores execute in barrier
/// phases; a Compute whose image is not in its macro's partitions (a missing
/// LoadImage) is an error, not undefined behaviour.

#include "mars/program/Program.h"
#include "mars/support/Error.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace mars::runtime {

enum class ExecMode {
  Fast,       ///< Integer GEMM over the stored groups (exact ADC only).
  MacroLevel, ///< Bit-serial partition activations with ADC saturation.
};

/// The fast path's Conv kernel (runtime/README.md).
enum class FastKernel {
  Best,       ///< The packed kernel on the best instruction set the CPU has.
  Portable,   ///< The packed kernel in portable C++.
  Avx2,       ///< The packed kernel with AVX2 `vpmaddubsw` (where exact).
  AvxVnni,    ///< The packed kernel with AVX-VNNI `vpdpbusd` (256 bits).
  Avx512Vnni, ///< The packed kernel with AVX-512 VNNI `vpdpbusd`.
  Unpacked,   ///< The int16/int32 GEMM the packed kernel replaced.
};

/// True when this CPU can run `kernel`.
bool fastKernelSupported(FastKernel kernel);
/// The instruction set FastKernel::Best runs on this CPU ("AVX-512 VNNI",
/// "AVX-VNNI", "AVX2" or "portable C++"): the simulator's speed depends on
/// it several times over, so `marsc run` says which one ran.
const char *bestFastKernelName();

/// The macro-level model's Conv kernel; every choice computes the same.
enum class MacroKernel {
  /// Exact sums with ADC clip corrections where they fit, else as
  /// PackedCounts.
  Best,
  /// As Best without SIMD in the corrections (and with an im2col copy
  /// everywhere): what a CPU without AVX2 runs.
  PortableCorrections,
  /// As Best with the AVX2 corrections (and an im2col copy everywhere):
  /// what a CPU with AVX2 but no AVX-512 runs.
  Avx2Corrections,
  /// The saturating kernel (four column counts per lane) where it fits,
  /// else the bit-mask kernel.
  PackedCounts,
  Reference, ///< The bit-mask kernel everywhere (much slower).
};

struct ExecOptions {
  ExecMode mode = ExecMode::Fast;
  /// MacroLevel: which kernel; for the tests and benchmarks that compare
  /// them.
  MacroKernel macroKernel = MacroKernel::Best;
  /// Fast mode: which kernel; every choice computes the same (layers the
  /// packed kernel does not take run on the unpacked one). Executor::create
  /// refuses a kernel the CPU lacks. For the tests and benchmarks.
  FastKernel fastKernel = FastKernel::Best;
};

/// Event counts of the functional run of one image.
struct ExecCounters {
  int64_t activations = 0;    ///< Partition activations (MacroLevel only).
  int64_t adcSaturations = 0; ///< Column counts clipped by the ADC.
};

/// True when no column count can exceed the ADC range for this program:
/// wl_on × (2^input_bits_per_cycle − 1) ≤ 2^adc_bits − 1.
bool adcIsExact(const program::Program &program);

/// The program's input type applied to one float image (C×H×W): the same
/// normalisation, clip and float32 QuantizeLinear (round half to even) as
/// lib/quant's quantizeInput.
std::vector<int32_t> quantizeInput(const program::Program &program,
                                   const float *image);
/// The real value of output element i (logits: accumulator × channel scale).
double outputReal(const program::Program &program,
                  const std::vector<int32_t> &out, int64_t i);
/// The index of the largest real output (lowest on ties).
int argmaxClass(const program::Program &program,
                const std::vector<int32_t> &out);

class ExecutorState;

/// Runs one image at a time. The program must outlive the executor and must
/// have passed validateProgram (parseProgram does this).
class Executor {
public:
  static Expected<Executor> create(const program::Program &program,
                                   const ExecOptions &options = {});
  Executor(Executor &&) noexcept;
  Executor &operator=(Executor &&) noexcept;
  ~Executor();

  /// Another executor for the same program and options, sharing this one's
  /// read-only prepared weights: much cheaper than `create`. The two may
  /// then run on different threads.
  Executor clone() const;

  /// The output buffer's integers for one quantized input.
  Expected<std::vector<int32_t>> run(const std::vector<int32_t> &input);
  /// Counters of the last run.
  const ExecCounters &counters() const;
  /// Every buffer's integers after the last run, indexed by buffer id (for
  /// layer-by-layer comparisons such as `marsc verify`).
  const std::vector<std::vector<int32_t>> &buffers() const;

private:
  explicit Executor(std::unique_ptr<ExecutorState> state);
  std::unique_ptr<ExecutorState> state_;
};

} // namespace mars::runtime
