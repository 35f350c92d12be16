/// lower-to-program: builds the program's buffers and layers from the integer
/// layers, and lowers every Conv (fully-connected layers are 1×1 Convs) to
/// its unrolled weight matrix, cut into CIM groups.
///
/// Requires lower-to-integer (and fuse, whose decisions it copies). The matrix
/// row of weight [oc][icg][ky][kx] is (ky × kernelW + kx) × Cin + ic with ic
/// the absolute input channel, so a grouped or depthwise Conv becomes a
/// block-diagonal matrix whose off-block CIM groups are zero and are dropped by
/// group-compress. This is the group geometry of lib/arch (CimGroups.h) that
/// `marsc train` prunes and reports with. All groups are kept here, zero or
/// not.
#include "mars/arch/CimGroups.h"
#include "mars/passes/Passes.h"

#include <cstdio>

namespace mars::passes {

namespace {

using program::Requant;

Requant toRequant(const quant::Multiplier &m) { return {m.value, m.shift}; }

program::Buffer lowerBuffer(const quant::IntValue &v) {
  program::Buffer b;
  b.name = v.name;
  b.channels = v.channels;
  b.height = v.height;
  b.width = v.width;
  b.bits = v.isAccumulator ? 32 : v.quant.bits;
  b.isSigned = v.isAccumulator || v.quant.isSigned;
  b.scale = v.quant.scale;
  b.isAccumulator = v.isAccumulator;
  return b;
}

program::LayerKind kindOf(quant::IntOp op) {
  switch (op) {
  case quant::IntOp::Conv: return program::LayerKind::Conv;
  case quant::IntOp::MaxPool: return program::LayerKind::MaxPool;
  case quant::IntOp::AvgPool: return program::LayerKind::AvgPool;
  case quant::IntOp::Add: return program::LayerKind::Add;
  case quant::IntOp::Concat: return program::LayerKind::Concat;
  case quant::IntOp::Reshape: return program::LayerKind::Reshape;
  }
  MARS_CHECK(false, "unknown integer op");
}

/// The unrolled, block-diagonal weight matrix of a Conv, as all of its CIM
/// groups (row-major rowsPerGroup × channelsPerGroup blocks, zero-padded).
Expected<program::WeightMatrix> unroll(const quant::IntegerNet &net,
                                       const quant::IntLayer &l,
                                       const arch::ArchSpec &spec) {
  const quant::IntValue &in = net.value(l.inputs[0]);
  const quant::IntValue &out = net.value(l.output);
  const int cin = in.channels, cout = out.channels;
  const int cinPerGroup = cin / l.groups, coutPerGroup = cout / l.groups;
  if (l.weightBits > spec.partitionCols())
    return makeError(l.weightBits, "-bit weights do not fit in a partition of ",
                     spec.partitionCols(),
                     " columns (macro.cols / "
                     "macro.partitions); use narrower weights or wider "
                     "partitions");
  arch::GroupGeometry geo = arch::groupGeometry(spec, l.weightBits, cout, cin,
                                                l.groups, l.kernelH, l.kernelW);
  program::WeightMatrix m;
  m.rows = static_cast<int32_t>(geo.rows());
  m.cols = cout;
  m.weightBits = l.weightBits;
  m.rowsPerGroup = geo.rowsPerGroup;
  m.channelsPerGroup = geo.channelsPerGroup;
  m.rowGroups = static_cast<int32_t>(geo.rowGroups());
  m.colGroups = static_cast<int32_t>(geo.colGroups());
  const int64_t groupSize = int64_t(m.rowsPerGroup) * m.channelsPerGroup;
  m.groups.resize(static_cast<size_t>(m.rowGroups) * m.colGroups);
  for (int32_t cg = 0; cg < m.colGroups; ++cg)
    for (int32_t rg = 0; rg < m.rowGroups; ++rg) {
      program::Group &grp =
          m.groups[static_cast<size_t>(cg) * m.rowGroups + rg];
      grp.rowGroup = rg;
      grp.colGroup = cg;
      grp.weights.assign(static_cast<size_t>(groupSize), 0);
    }
  for (int oc = 0; oc < cout; ++oc) {
    const int g = oc / coutPerGroup;
    const int cg = oc / m.channelsPerGroup, col = oc % m.channelsPerGroup;
    for (int icg = 0; icg < cinPerGroup; ++icg)
      for (int ky = 0; ky < l.kernelH; ++ky)
        for (int kx = 0; kx < l.kernelW; ++kx) {
          const int8_t w =
              l.weights[l.weightIndex(oc, icg, ky, kx, cinPerGroup)];
          const int64_t r = geo.row(g * cinPerGroup + icg, ky, kx);
          const int64_t rg = r / m.rowsPerGroup, rr = r % m.rowsPerGroup;
          m.groups[static_cast<size_t>(cg) * m.rowGroups + rg]
              .weights[static_cast<size_t>(rr * m.channelsPerGroup + col)] = w;
        }
  }
  return m;
}

} // namespace

/// The options that shaped the program, for `marsc disasm` and reports
/// (deterministic text: no paths, no times).
static std::string describeOptions(const CompileContext &context) {
  const CompileOptions &o = context.options;
  std::string text;
  if (context.calibration) {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "post-training quantization: wbits %d, abits %d, edge bits "
                  "%d, %s calibration on %lld images, prune %.3g; ",
                  o.weightBits, o.activationBits, o.edgeBits,
                  o.calibMethod == CalibMethod::Percentile ? "percentile"
                                                           : "min-max",
                  static_cast<long long>(context.calibration->count), o.prune);
    text += buf;
  } else {
    text += "quantized model (QDQ); ";
  }
  text += o.duplicate ? "weight duplication on" : "weight duplication off";
  if (o.scheduleFor == ScheduleGoal::Traffic)
    text += "; scheduled for the least off-chip traffic";
  if (o.stages == Stages::One)
    text += "; one image at a time";
  if (o.stages == Stages::Two)
    text += "; a two-stage pipeline forced";
  return text;
}

Expected<bool> runLowerToProgram(CompileState &state,
                                 const CompileContext &context) {
  if (!state.net)
    return makeError(
        "lower-to-program needs the integer layers of lower-to-integer");
  const quant::IntegerNet &net = *state.net;
  program::Program p;
  p.arch = context.arch;
  p.info.model = net.name;
  p.info.options = describeOptions(context);
  p.info.denseMacs = net.macs();
  p.info.trainedAdc = net.trainedAdc;
  for (const quant::IntValue &v : net.values)
    p.buffers.push_back(lowerBuffer(v));
  p.input = net.input;
  p.output = net.output;
  p.inputOffset = net.inputOffset;
  p.inputMultiplier = net.inputMultiplier;
  p.inputClipLo = net.inputClipLo;
  p.inputClipHi = net.inputClipHi;
  p.powerOfTwoScales = net.powerOfTwoScales;

  for (size_t i = 0; i < net.layers.size(); ++i) {
    const quant::IntLayer &l = net.layers[i];
    program::Layer out;
    out.kind = kindOf(l.op);
    out.name = l.name;
    out.inputs.assign(l.inputs.begin(), l.inputs.end());
    out.output = l.output;
    out.kernelH = l.kernelH;
    out.kernelW = l.kernelW;
    out.strideH = l.strideH;
    out.strideW = l.strideW;
    out.padTop = l.padTop;
    out.padLeft = l.padLeft;
    out.padBottom = l.padBottom;
    out.padRight = l.padRight;
    out.dilationH = l.dilationH;
    out.dilationW = l.dilationW;
    out.groups = l.groups;
    out.clampLo = l.clampLo;
    out.clampHi = l.clampHi;
    out.countIncludePad = l.countIncludePad;
    out.ceilMode = l.ceilMode;
    out.fusedInto = i < state.fusedInto.size() ? state.fusedInto[i] : -1;
    for (const quant::Multiplier &m : l.inputMultipliers)
      out.inputRequant.push_back(toRequant(m));
    if (l.op == quant::IntOp::Conv) {
      out.bias = l.bias;
      for (const quant::Multiplier &m : l.multipliers)
        out.requant.push_back(toRequant(m));
      out.logitScales = l.logitScales;
      Expected<program::WeightMatrix> m = unroll(net, l, context.arch);
      if (!m)
        return m.error().withContext("layer '" + l.name + "'");
      m->layer = static_cast<int32_t>(i);
      out.matrix = static_cast<int32_t>(p.matrices.size());
      p.matrices.push_back(m.take());
    }
    if (l.op == quant::IntOp::AvgPool) {
      // The same multipliers lib/quant's executor derives per window count.
      const double sIn = net.value(l.inputs[0]).quant.scale;
      const double sOut = net.value(l.output).quant.scale;
      for (int n = 1; n <= l.kernelH * l.kernelW; ++n)
        out.requant.push_back(toRequant(
            quant::quantizeMultiplier(sIn / (sOut * n), net.powerOfTwoScales)));
    }
    p.layers.push_back(std::move(out));
  }
  state.count("lower-to-program", "weight matrices",
              int64_t(p.matrices.size()));
  state.program = std::move(p);
  return true;
}

} // namespace mars::passes
