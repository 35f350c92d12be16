#include "mars/quant/Execute.h"
#include "mars/quant/PoolWindow.h"

#include "mars/support/Error.h"

#include <algorithm>
#include <limits>
#include <map>

namespace mars::quant {

const char *intOpName(IntOp op) {
  switch (op) {
  case IntOp::Conv: return "Conv";
  case IntOp::MaxPool: return "MaxPool";
  case IntOp::AvgPool: return "AvgPool";
  case IntOp::Add: return "Add";
  case IntOp::Concat: return "Concat";
  case IntOp::Reshape: return "Reshape";
  }
  return "?";
}

int64_t IntegerNet::macs() const {
  int64_t total = 0;
  for (const IntLayer &l : layers) {
    if (l.op != IntOp::Conv)
      continue;
    const IntValue &in = values[l.inputs[0]];
    const IntValue &out = values[l.output];
    total += out.size() * (in.channels / l.groups) * l.kernelH * l.kernelW;
  }
  return total;
}

namespace {

/// Accumulators are int32 on the chip; products of ≤ 8-bit operands over any
/// real layer fit easily. Accumulating in int64 and saturating at the end
/// keeps hostile parameters from causing undefined behaviour.
int32_t saturateToInt32(int64_t v) {
  return static_cast<int32_t>(clampTo(v, std::numeric_limits<int32_t>::min(),
                                      std::numeric_limits<int32_t>::max()));
}

/// Output channel oc from its accumulators (bias included): raw int32 for a
/// logits output, otherwise requantized and clamped.
void finishChannel(const IntLayer &l, const IntValue &ov, int oc,
                   const std::vector<int64_t> &acc, std::vector<int32_t> &out) {
  int32_t *dst = out.data() + static_cast<size_t>(oc) * ov.height * ov.width;
  for (size_t i = 0; i < acc.size(); ++i) {
    const int32_t a = saturateToInt32(acc[i]);
    if (ov.isAccumulator) {
      dst[i] = a;
      continue;
    }
    dst[i] = static_cast<int32_t>(
        clampTo(requantize(a, l.multipliers[oc]), l.clampLo, l.clampHi));
  }
}

void runConv(const IntegerNet &net, const IntLayer &l,
             const std::vector<int32_t> &in, std::vector<int32_t> &out) {
  const IntValue &iv = net.value(l.inputs[0]);
  const IntValue &ov = net.value(l.output);
  const int cinPerGroup = iv.channels / l.groups;
  const int coutPerGroup = ov.channels / l.groups;
  const int oh = ov.height, ow = ov.width, ih = iv.height, iw = iv.width;
  std::vector<int64_t> acc(static_cast<size_t>(oh) * ow);
  for (int oc = 0; oc < ov.channels; ++oc) {
    const int g = oc / coutPerGroup;
    std::fill(acc.begin(), acc.end(), int64_t(l.bias[oc]));
    for (int icg = 0; icg < cinPerGroup; ++icg) {
      const int ic = g * cinPerGroup + icg;
      const int32_t *plane = in.data() + static_cast<size_t>(ic) * ih * iw;
      for (int ky = 0; ky < l.kernelH; ++ky) {
        for (int kx = 0; kx < l.kernelW; ++kx) {
          const int64_t w =
              l.weights[l.weightIndex(oc, icg, ky, kx, cinPerGroup)];
          if (w == 0) // zero weights (and whole zero groups) cost nothing
            continue;
          for (int y = 0; y < oh; ++y) {
            const int sy = y * l.strideH - l.padTop + ky * l.dilationH;
            if (sy < 0 || sy >= ih)
              continue;
            const int32_t *row = plane + static_cast<size_t>(sy) * iw;
            int64_t *accRow = acc.data() + static_cast<size_t>(y) * ow;
            for (int x = 0; x < ow; ++x) {
              const int sx = x * l.strideW - l.padLeft + kx * l.dilationW;
              if (sx < 0 || sx >= iw)
                continue;
              accRow[x] += w * row[sx];
            }
          }
        }
      }
    }
    finishChannel(l, ov, oc, acc, out);
  }
}

/// Conv through a saturating ADC (AdcModel): per output pixel and channel,
/// the column count of every (row group, input slice, weight bit) is
/// accumulated, clipped to 2^adcBits − 1 and shifted into the accumulator.
/// Written from the macro's description, independently of the runtime's
/// bit-mask kernel, which tests compare it with.
void runConvAdc(const IntegerNet &net, const IntLayer &l,
                const std::vector<int32_t> &in, std::vector<int32_t> &out) {
  const IntValue &iv = net.value(l.inputs[0]);
  const IntValue &ov = net.value(l.output);
  const int cin = iv.channels, cinPerGroup = cin / l.groups;
  const int coutPerGroup = ov.channels / l.groups;
  const int oh = ov.height, ow = ov.width, ih = iv.height, iw = iv.width;
  const std::vector<InputSlice> slices =
      inputSlices(iv.quant.bits, iv.quant.isSigned, net.adc.inputBitsPerCycle);
  const int S = int(slices.size()), B = l.weightBits;
  const int64_t adcMax = (int64_t(1) << net.adc.adcBits) - 1;
  const uint32_t inputMask = uint32_t((uint64_t(1) << iv.quant.bits) - 1);
  const int64_t rows = int64_t(l.kernelH) * l.kernelW * cin;
  const int64_t rowGroups =
      (rows + net.adc.rowsPerGroup - 1) / net.adc.rowsPerGroup;
  std::vector<int64_t> counts(size_t(rowGroups * S * B));
  std::vector<int64_t> acc(static_cast<size_t>(oh) * ow);
  for (int oc = 0; oc < ov.channels; ++oc) {
    const int g = oc / coutPerGroup;
    for (int y = 0; y < oh; ++y)
      for (int x = 0; x < ow; ++x) {
        std::fill(counts.begin(), counts.end(), 0);
        for (int icg = 0; icg < cinPerGroup; ++icg)
          for (int ky = 0; ky < l.kernelH; ++ky)
            for (int kx = 0; kx < l.kernelW; ++kx) {
              const int8_t w =
                  l.weights[l.weightIndex(oc, icg, ky, kx, cinPerGroup)];
              const int sy = y * l.strideH - l.padTop + ky * l.dilationH;
              const int sx = x * l.strideW - l.padLeft + kx * l.dilationW;
              if (w == 0 || sy < 0 || sy >= ih || sx < 0 || sx >= iw)
                continue; // a zero weight or padding drives nothing
              const int ic = g * cinPerGroup + icg;
              const uint32_t xb =
                  uint32_t(in[(size_t(ic) * ih + sy) * iw + sx]) & inputMask;
              const uint32_t wb = uint32_t(uint8_t(w));
              const int64_t rg = ((int64_t(ky) * l.kernelW + kx) * cin + ic) /
                                 net.adc.rowsPerGroup;
              for (int s = 0; s < S; ++s) {
                const int64_t slice =
                    (xb >> slices[s].first) & ((1u << slices[s].count) - 1);
                for (int b = 0; b < B && slice; ++b)
                  if ((wb >> b) & 1)
                    counts[size_t((rg * S + s) * B + b)] += slice;
              }
            }
        int64_t sum = l.bias[oc];
        for (int64_t rg = 0; rg < rowGroups; ++rg)
          for (int s = 0; s < S; ++s)
            for (int b = 0; b < B; ++b) {
              const int64_t c =
                  std::min(counts[size_t((rg * S + s) * B + b)], adcMax);
              const int64_t v = c << (slices[s].first + b);
              sum += slices[s].negative != (b == B - 1) ? -v : v;
            }
        acc[size_t(y) * ow + x] = sum;
      }
    finishChannel(l, ov, oc, acc, out);
  }
}

void runPool(const IntegerNet &net, const IntLayer &l,
             const std::vector<int32_t> &in, std::vector<int32_t> &out) {
  const IntValue &iv = net.value(l.inputs[0]);
  const IntValue &ov = net.value(l.output);
  // Multipliers per window size, computed with the shared definition.
  std::map<int, Multiplier> byCount;
  for (int c = 0; c < ov.channels; ++c) {
    const int32_t *plane =
        in.data() + static_cast<size_t>(c) * iv.height * iv.width;
    for (int y = 0; y < ov.height; ++y) {
      for (int x = 0; x < ov.width; ++x) {
        int32_t &dst =
            out[(static_cast<size_t>(c) * ov.height + y) * ov.width + x];
        if (l.op == IntOp::MaxPool) {
          int32_t best = std::numeric_limits<int32_t>::min();
          int n = forPoolWindow(l, iv, plane, y, x,
                                [&](int32_t v) { best = std::max(best, v); });
          dst = n ? best : 0;
          continue;
        }
        int64_t sum = 0;
        int n = forPoolWindow(l, iv, plane, y, x, [&](int32_t v) { sum += v; });
        if (l.countIncludePad)
          n = paddedWindowCount(l, iv, y, x);
        if (n == 0) {
          dst = 0;
          continue;
        }
        auto it = byCount.find(n);
        if (it == byCount.end())
          it = byCount
                   .emplace(n, quantizeMultiplier(iv.quant.scale /
                                                      (ov.quant.scale * n),
                                                  net.powerOfTwoScales))
                   .first;
        dst = static_cast<int32_t>(
            clampTo(requantize(sum, it->second), l.clampLo, l.clampHi));
      }
    }
  }
}

void runAdd(const IntegerNet &net, const IntLayer &l,
            const std::vector<std::vector<int32_t>> &values,
            std::vector<int32_t> &out) {
  // One rounding of the exact sum, as DequantizeLinear → Add →
  // QuantizeLinear: the multipliers share one shift.
  std::vector<int32_t> q(l.inputs.size());
  for (size_t i = 0; i < out.size(); ++i) {
    for (size_t k = 0; k < l.inputs.size(); ++k)
      q[k] = values[l.inputs[k]][i];
    out[i] = static_cast<int32_t>(
        clampTo(requantizeSum(q.data(), l.inputMultipliers.data(), q.size()),
                l.clampLo, l.clampHi));
  }
}

} // namespace

void runLayer(const IntegerNet &net, const IntLayer &layer,
              std::vector<std::vector<int32_t>> &values) {
  std::vector<int32_t> &out = values[layer.output];
  out.assign(static_cast<size_t>(net.value(layer.output).size()), 0);
  switch (layer.op) {
  case IntOp::Conv:
    if (net.adc.saturates())
      runConvAdc(net, layer, values[layer.inputs[0]], out);
    else
      runConv(net, layer, values[layer.inputs[0]], out);
    return;
  case IntOp::MaxPool:
  case IntOp::AvgPool:
    runPool(net, layer, values[layer.inputs[0]], out);
    return;
  case IntOp::Add: runAdd(net, layer, values, out); return;
  case IntOp::Concat: {
    size_t offset = 0;
    for (int in : layer.inputs) {
      std::copy(values[in].begin(), values[in].end(), out.begin() + offset);
      offset += values[in].size();
    }
    return;
  }
  case IntOp::Reshape: out = values[layer.inputs[0]]; return;
  }
}

std::vector<int32_t> quantizeInput(const IntegerNet &net, const float *image) {
  const IntValue &in = net.value(net.input);
  std::vector<int32_t> q(static_cast<size_t>(in.size()));
  const int64_t plane = int64_t(in.height) * in.width;
  const bool normalise = !net.inputOffset.empty();
  for (size_t i = 0; i < q.size(); ++i) {
    // The normalisation is float32 arithmetic, as in the QDQ graph's Sub and
    // Mul nodes; the result is clipped, then quantized.
    float v = image[i];
    if (normalise) {
      const size_t c = i / static_cast<size_t>(plane);
      v = (v - net.inputOffset[c]) * net.inputMultiplier[c];
    }
    q[i] = static_cast<int32_t>(
        quantizeInputValue(v, net.inputClipLo, net.inputClipHi, in.quant.scale,
                           in.quant.lo(), in.quant.hi()));
  }
  return q;
}

std::vector<std::vector<int32_t>>
runIntegerValues(const IntegerNet &net, const std::vector<int32_t> &input) {
  MARS_CHECK(static_cast<int64_t>(input.size()) == net.value(net.input).size());
  std::vector<std::vector<int32_t>> values(net.values.size());
  values[net.input] = input;
  for (const IntLayer &layer : net.layers)
    runLayer(net, layer, values);
  return values;
}

std::vector<int32_t> runInteger(const IntegerNet &net,
                                const std::vector<int32_t> &input) {
  return std::move(runIntegerValues(net, input)[net.output]);
}

double outputReal(const IntegerNet &net, const std::vector<int32_t> &out,
                  int64_t i) {
  const IntValue &ov = net.value(net.output);
  if (!ov.isAccumulator)
    return double(out[i]) * ov.quant.scale;
  // The producing layer holds the per-channel accumulator scales.
  for (const IntLayer &l : net.layers)
    if (l.output == net.output) {
      const int64_t perChannel = int64_t(ov.height) * ov.width;
      return double(out[i]) * l.logitScales[i / perChannel];
    }
  MARS_CHECK(false, "accumulator output without a producing layer");
}

int argmaxClass(const IntegerNet &net, const std::vector<int32_t> &out) {
  int best = 0;
  double bestValue = outputReal(net, out, 0);
  for (size_t i = 1; i < out.size(); ++i) {
    double v = outputReal(net, out, static_cast<int64_t>(i));
    if (v > bestValue) {
      bestValue = v;
      best = static_cast<int>(i);
    }
  }
  return best;
}

} // namespace mars::quant
