// Per-op canonicalisation: each ONNX variant (opset forms, auto_pad,
// defaults) becomes the one IR form of Ops.def. lib/onnx/README.md lists the
// rules.
#include "Importer.h"

#include <algorithm>

namespace mars::onnx::detail {

namespace {

using ir::AttributeMap;
using ir::OpKind;
using Ints = std::vector<int64_t>;

Status requireNchw(const OpContext &c, const char *what) {
  size_t rank = c.type(0).rank();
  if (rank != 4)
    return c.fail("only 2-D (N, C, H, W) ", what, " is supported, got rank-",
                  rank, " input");
  return Status::success();
}

/// Explicit pads [top, left, bottom, right] from `pads` or `auto_pad`.
/// SAME_* pads so that out = ceil(in / stride), the odd pixel going to the
/// end (SAME_UPPER) or the beginning (SAME_LOWER).
Expected<Ints> resolvePads(OpContext &c, const Ints &kernel,
                           const Ints &strides, const Ints &dilations) {
  if (kernel.size() != 2 || strides.size() != 2 || dilations.size() != 2)
    return c.fail("kernel_shape, strides and dilations must have 2 entries");
  std::string autoPad = c.getString("auto_pad", "NOTSET");
  if (autoPad == "NOTSET") {
    Ints pads = c.getInts("pads", {0, 0, 0, 0});
    if (pads.size() != 4)
      return c.fail("pads must have 4 entries, got ", pads.size());
    return pads;
  }
  if (c.hasAttr("pads"))
    return c.fail("pads and auto_pad=", autoPad, " cannot both be given");
  if (autoPad == "VALID")
    return Ints{0, 0, 0, 0};
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return c.fail("unknown auto_pad '", autoPad, "'");
  Ints pads(4);
  for (size_t i = 0; i < 2; ++i) {
    int64_t in = c.type(0).shape[2 + i], s = strides[i];
    if (s <= 0 || kernel[i] <= 0 || dilations[i] <= 0)
      return c.fail("kernel_shape, strides and dilations must be positive");
    int64_t out = (in + s - 1) / s;
    int64_t extent = (kernel[i] - 1) * dilations[i] + 1;
    int64_t total = std::max<int64_t>(0, (out - 1) * s + extent - in);
    int64_t small = total / 2, big = total - small;
    pads[i] = autoPad == "SAME_UPPER" ? small : big;
    pads[i + 2] = autoPad == "SAME_UPPER" ? big : small;
  }
  return pads;
}

Status convertPlain(OpContext &c, OpKind kind, AttributeMap attrs = {}) {
  Expected<std::vector<ir::ValueId>> outs = c.outputs(1);
  if (!outs)
    return outs.error();
  return c.emit(kind, c.name(), c.inputs(), *outs, std::move(attrs));
}

Status convertConv(OpContext &c) {
  MARS_TRY(requireNchw(c, "convolution"));
  const ir::Shape &w = c.type(1).shape;
  if (w.size() != 4)
    return c.fail("weight must have rank 4, got ", ir::shapeToString(w));
  Ints kernel = c.getInts("kernel_shape", {w[2], w[3]});
  Ints strides = c.getInts("strides", {1, 1});
  Ints dilations = c.getInts("dilations", {1, 1});
  Expected<Ints> pads = resolvePads(c, kernel, strides, dilations);
  if (!pads)
    return pads.error();
  AttributeMap attrs;
  attrs.set("dilations", dilations);
  attrs.set("group", c.getInt("group", 1));
  attrs.set("kernel_shape", kernel);
  attrs.set("pads", *pads);
  attrs.set("strides", strides);
  return convertPlain(c, OpKind::Conv, std::move(attrs));
}

Status convertPool(OpContext &c, OpKind kind) {
  if (kind == OpKind::MaxPool && c.numOutputs() > 1)
    return c.fail("MaxPool's Indices output is not supported");
  MARS_TRY(requireNchw(c, "pooling"));
  if (!c.hasAttr("kernel_shape"))
    return c.fail("kernel_shape is required");
  Ints kernel = c.getInts("kernel_shape", {});
  Ints strides = c.getInts("strides", {1, 1});
  // AveragePool has no dilations before opset 19.
  Ints dilations =
      kind == OpKind::MaxPool ? c.getInts("dilations", {1, 1}) : Ints{1, 1};
  Expected<Ints> pads = resolvePads(c, kernel, strides, dilations);
  if (!pads)
    return pads.error();
  AttributeMap attrs;
  attrs.set("ceil_mode", c.getInt("ceil_mode", 0));
  attrs.set("kernel_shape", kernel);
  attrs.set("pads", *pads);
  attrs.set("strides", strides);
  if (kind == OpKind::MaxPool) {
    attrs.set("dilations", dilations);
    attrs.set("storage_order", c.getInt("storage_order", 0));
  } else {
    attrs.set("count_include_pad", c.getInt("count_include_pad", 0));
  }
  return convertPlain(c, kind, std::move(attrs));
}

Status convertBatchNorm(OpContext &c) {
  // `spatial` exists before opset 9; only the per-channel form is supported.
  if (c.hasAttr("spatial") && c.getInt("spatial", 1) != 1)
    return c.fail("spatial=0 (per-activation normalisation) is not supported");
  size_t numOut = c.numOutputs();
  if (numOut > 3)
    return c.fail("BatchNormalization with ", numOut,
                  " outputs (saved mean and variance) is not supported; "
                  "expected 1 or 3");
  int64_t training = 0;
  if (c.version() >= 14) {
    training = c.getInt("training_mode", 0);
  } else if (c.version() >= 7) {
    // BatchNormalization-7/9: the extra outputs are what signal training.
    training = numOut > 1;
  } else {
    // BatchNormalization-6: is_test selects the mode, and its default (0)
    // is training; the running statistics outputs exist only in training.
    training = c.getInt("is_test", 0) == 0;
    if (!training && numOut > 1)
      return c.fail("is_test=1 with ", numOut,
                    " outputs: the running statistics outputs exist only in "
                    "training mode");
  }
  AttributeMap attrs;
  attrs.set("epsilon", c.getFloat("epsilon", 1e-5f));
  attrs.set("momentum", c.getFloat("momentum", 0.9f));
  attrs.set("training_mode", training);
  Expected<std::vector<ir::ValueId>> outs = c.outputs(3);
  if (!outs)
    return outs.error();
  return c.emit(OpKind::BatchNormalization, c.name(), c.inputs(), *outs,
                std::move(attrs));
}

/// Clip-6 carries min/max as attributes; they become scalar constants.
Status convertClip(OpContext &c) {
  if (c.version() >= 11)
    return convertPlain(c, OpKind::Clip);
  if (c.inputs().size() > 1)
    return c.fail("Clip before opset 11 takes min and max as attributes");
  std::vector<ir::ValueId> ins = {c.input(0), ir::kNoValue, ir::kNoValue};
  if (c.hasAttr("min"))
    ins[1] = c.addConstant(c.name() + ".min",
                           ir::Tensor::fromFloats({}, {c.getFloat("min", 0)}));
  if (c.hasAttr("max"))
    ins[2] = c.addConstant(c.name() + ".max",
                           ir::Tensor::fromFloats({}, {c.getFloat("max", 0)}));
  while (ins.back() == ir::kNoValue)
    ins.pop_back();
  Expected<std::vector<ir::ValueId>> outs = c.outputs(1);
  if (!outs)
    return outs.error();
  return c.emit(OpKind::Clip, c.name(), ins, *outs);
}

/// Inference only: ratio is irrelevant and training_mode must not be true,
/// so the IR node keeps just the data input. Dropout-6 says training with
/// is_test=0 (its default); Dropout-12 with a true training_mode input,
/// which must therefore be a constant.
Status convertDropout(OpContext &c) {
  if (c.version() < 12)
    c.getFloat("ratio", 0.5f);
  if (c.version() < 7 && c.getInt("is_test", 0) == 0)
    return c.fail("Dropout in training mode is not supported (Dropout-6 "
                  "with is_test=0)");
  if (c.version() < 10 && c.numOutputs() > 1)
    return c.fail("the mask output of Dropout-", c.version(),
                  " has the data's float type; only the bool mask of "
                  "Dropout-10 and later is supported");
  if (c.input(2) != ir::kNoValue) {
    const ir::Tensor *training = c.constant(2);
    if (!training)
      return c.fail("training_mode must be a constant (an initializer, a "
                    "Constant node or a bound input)");
    if (training->numElements() != 1)
      return c.fail("training_mode must be a scalar, got ",
                    ir::shapeToString(training->shape()));
    if (training->getAsInt64(0) != 0)
      return c.fail("Dropout in training mode is not supported");
  }
  AttributeMap attrs;
  if (c.hasAttr("seed"))
    attrs.set("seed", c.getInt("seed", 0));
  Expected<std::vector<ir::ValueId>> outs = c.outputs(2);
  if (!outs)
    return outs.error();
  return c.emit(OpKind::Dropout, c.name(), {c.input(0)}, *outs,
                std::move(attrs));
}

Status convertReshape(OpContext &c) {
  if (!c.constant(1))
    return c.fail("the shape input must be a constant (an initializer, a "
                  "Constant node or a bound input)");
  AttributeMap attrs;
  attrs.set("allowzero", c.getInt("allowzero", 0));
  return convertPlain(c, OpKind::Reshape, std::move(attrs));
}

/// Pad-2 carries pads and value as attributes; they become constant inputs.
Status convertPad(OpContext &c) {
  std::string mode = c.getString("mode", "constant");
  if (mode != "constant")
    return c.fail("only mode 'constant' is supported, got '", mode, "'");
  AttributeMap attrs;
  attrs.set("mode", mode);
  if (c.version() < 2)
    return c.fail("Pad-1 (attribute 'paddings') is not supported; Pad is "
                  "supported from opset 2");
  if (c.version() >= 11) {
    if (!c.constant(1))
      return c.fail("pads must be a constant");
    return convertPlain(c, OpKind::Pad, std::move(attrs));
  }
  if (c.inputs().size() > 1)
    return c.fail("Pad before opset 11 takes pads as an attribute");
  if (!c.hasAttr("pads"))
    return c.fail("pads is required");
  Ints pads = c.getInts("pads", {});
  std::vector<ir::ValueId> ins = {
      c.input(0),
      c.addConstant(c.name() + ".pads",
                    ir::Tensor::fromInt64s({int64_t(pads.size())}, pads))};
  float value = c.getFloat("value", 0.0f);
  if (value != 0.0f)
    ins.push_back(c.addConstant(c.name() + ".value",
                                ir::Tensor::fromFloats({}, {value})));
  Expected<std::vector<ir::ValueId>> outs = c.outputs(1);
  if (!outs)
    return outs.error();
  return c.emit(OpKind::Pad, c.name(), ins, *outs, std::move(attrs));
}

AttributeMap axisAttr(int64_t axis) {
  AttributeMap attrs;
  attrs.set("axis", axis);
  return attrs;
}

/// Before opset 13, Softmax coerces its input to 2-D at `axis` and
/// normalises over everything from `axis` on. That equals the opset-13 form
/// when `axis` is the last axis; otherwise it is expanded into
/// Flatten(axis) -> Softmax(axis=1) -> Reshape(original shape).
Status convertSoftmax(OpContext &c) {
  if (c.version() >= 13)
    return convertPlain(c, OpKind::Softmax, axisAttr(c.getInt("axis", -1)));
  int64_t axis = c.getInt("axis", 1);
  const ir::Shape shape = c.type(0).shape;
  int64_t rank = static_cast<int64_t>(shape.size());
  if (axis < -rank || axis >= rank)
    return c.fail("axis ", axis, " is out of range for rank ", rank);
  int64_t normalized = axis < 0 ? axis + rank : axis;
  if (normalized == rank - 1)
    return convertPlain(c, OpKind::Softmax, axisAttr(axis));
  Expected<std::vector<ir::ValueId>> outs = c.outputs(1);
  if (!outs)
    return outs.error();
  const std::string base = c.name();
  ir::ValueId flat = c.newValue(base + ".flat");
  MARS_TRY(c.emit(OpKind::Flatten, base + ".flatten", {c.input(0)}, {flat},
                  axisAttr(normalized)));
  ir::ValueId soft = c.newValue(base + ".soft");
  MARS_TRY(c.emit(OpKind::Softmax, base, {flat}, {soft}, axisAttr(1)));
  ir::ValueId target =
      c.addConstant(base + ".shape", ir::Tensor::fromInt64s({rank}, shape));
  AttributeMap reshapeAttrs;
  reshapeAttrs.set("allowzero", int64_t{0});
  return c.emit(OpKind::Reshape, base + ".reshape", {soft, target}, *outs,
                std::move(reshapeAttrs));
}

/// Gemm before version 11 requires C. Gemm-1/6 broadcast C only with
/// broadcast=1, and then as Gemm-7 does (unidirectionally to (M, N), the IR
/// form); with broadcast=0 C must be exactly (M, N).
Status convertGemm(OpContext &c) {
  AttributeMap attrs;
  attrs.set("alpha", c.getFloat("alpha", 1.0f));
  attrs.set("beta", c.getFloat("beta", 1.0f));
  const int64_t transA = c.getInt("transA", 0);
  const int64_t transB = c.getInt("transB", 0);
  attrs.set("transA", transA);
  attrs.set("transB", transB);
  if (c.version() < 11 && c.input(2) == ir::kNoValue)
    return c.fail("C is required before Gemm-11 (opset 11)");
  if (c.version() < 7 && c.getInt("broadcast", 0) == 0) {
    const ir::Shape &a = c.type(0).shape, &b = c.type(1).shape;
    if (a.size() != 2 || b.size() != 2)
      return c.fail("A and B must be 2-D, got ", ir::shapeToString(a), " and ",
                    ir::shapeToString(b));
    const ir::Shape mn = {transA ? a[1] : a[0], transB ? b[0] : b[1]};
    if (c.type(2).shape != mn)
      return c.fail("C has shape ", ir::shapeToString(c.type(2).shape),
                    " but broadcast=0 requires exactly ",
                    ir::shapeToString(mn));
  }
  return convertPlain(c, OpKind::Gemm, std::move(attrs));
}

/// Add, Sub and Mul before version 7 (Add-6 ...) broadcast only with
/// broadcast=1: B's dims then match a contiguous run of A's dims starting
/// at `axis` (default: A's trailing dims), a size-1 dim of B broadcasting;
/// without it the shapes must be equal. Numpy broadcasting (the IR form)
/// right-aligns B, which is the same when the run ends at A's last dim;
/// otherwise B gets trailing ones: B of [3] at axis 1 of A [2,3,4,5] becomes
/// [3,1,1]. A constant B becomes a reshaped copy `<node>.b`; any other B goes
/// through `Reshape(B, <node>.shape) -> <node>.b` named `<node>.reshape`.
Status convertBinary(OpContext &c, OpKind kind) {
  if (c.version() >= 7)
    return convertPlain(c, kind);
  const ir::Shape a = c.type(0).shape, b = c.type(1).shape;
  const std::string aText = ir::shapeToString(a), bText = ir::shapeToString(b);
  if (c.getInt("broadcast", 0) == 0) {
    c.ignoreAttr("axis"); // only meaningful with broadcast=1
    if (a != b)
      return c.fail("inputs ", aText, " and ", bText,
                    " differ and broadcast=0 (", c.opType(), "-", c.version(),
                    " broadcasts only with broadcast=1)");
    return convertPlain(c, kind);
  }
  const int64_t rankA = static_cast<int64_t>(a.size());
  const int64_t rankB = static_cast<int64_t>(b.size());
  if (rankB > rankA)
    return c.fail("with broadcast=1, B ", bText, " has more dims than A ",
                  aText);
  const int64_t axis = c.getInt("axis", rankA - rankB);
  if (axis < 0 || axis > rankA - rankB)
    return c.fail("axis ", axis, " does not place B ", bText, " inside A ",
                  aText, " (need 0 <= axis <= ", rankA - rankB, ")");
  for (int64_t i = 0; i < rankB; ++i)
    if (b[i] != 1 && b[i] != a[axis + i])
      return c.fail("B ", bText, " at axis ", axis, " does not match A ",
                    aText);
  if (axis + rankB == rankA)
    return convertPlain(c, kind);
  ir::Shape shape = b;
  shape.resize(static_cast<size_t>(rankA - axis), 1);
  const std::string base = c.name();
  ir::ValueId rhs;
  if (const ir::Tensor *constant = c.constant(1)) {
    ir::Tensor reshaped = *constant;
    reshaped.type().shape = shape;
    rhs = c.addConstant(base + ".b", std::move(reshaped));
  } else {
    rhs = c.newValue(base + ".b");
    ir::ValueId target = c.addConstant(
        base + ".shape",
        ir::Tensor::fromInt64s({static_cast<int64_t>(shape.size())}, shape));
    AttributeMap reshapeAttrs;
    reshapeAttrs.set("allowzero", int64_t{0});
    MARS_TRY(c.emit(OpKind::Reshape, base + ".reshape", {c.input(1), target},
                    {rhs}, std::move(reshapeAttrs)));
  }
  Expected<std::vector<ir::ValueId>> outs = c.outputs(1);
  if (!outs)
    return outs.error();
  return c.emit(kind, base, {c.input(0), rhs}, *outs);
}

} // namespace

/// Constant: exactly one of value, value_float(s), value_int(s) becomes an
/// initializer named after the output.
Status convertConstant(OpContext &c) {
  if (c.numOutputs() != 1)
    return c.fail("expected exactly one output");
  std::optional<ir::Tensor> tensor;
  int forms = 0;
  if (const ir::Tensor *t = c.getTensor("value")) {
    tensor = *t;
    ++forms;
  }
  if (c.hasAttr("value_float")) {
    tensor = ir::Tensor::fromFloats({}, {c.getFloat("value_float", 0)});
    ++forms;
  }
  if (c.hasAttr("value_floats")) {
    std::vector<float> v = c.getFloats("value_floats", {});
    tensor = ir::Tensor::fromFloats({int64_t(v.size())}, v);
    ++forms;
  }
  if (c.hasAttr("value_int")) {
    tensor = ir::Tensor::fromInt64s({}, {c.getInt("value_int", 0)});
    ++forms;
  }
  if (c.hasAttr("value_ints")) {
    Ints v = c.getInts("value_ints", {});
    tensor = ir::Tensor::fromInt64s({int64_t(v.size())}, v);
    ++forms;
  }
  if (c.hasAttr("value_string"))
    return c.fail("string constants are not supported");
  MARS_TRY(c.checkAttributes());
  if (forms != 1 || !tensor)
    return c.fail("expected exactly one value attribute, got ", forms);
  Expected<std::vector<ir::ValueId>> outs = c.outputs(1);
  if (!outs)
    return outs.error();
  // outputs() made a plain value; turn it into the initializer.
  c.importer().graph.value((*outs)[0]).type = tensor->type();
  c.importer().graph.value((*outs)[0]).constant = std::move(*tensor);
  return Status::success();
}

/// ReduceMean over H and W of a 4-D input (how PyTorch exports
/// `x.mean([2, 3])`, as MnasNet and EfficientNet-style heads write their
/// pooling) is a global average pool: GlobalAveragePool named `<node>`,
/// followed with keepdims=0 by Flatten(axis=1) named `<node>.flatten`
/// (value `<node>.pooled` between them). Any other reduction is refused:
/// the chip's digital units average whole feature maps only.
Status convertReduceMean(OpContext &c) {
  MARS_TRY(requireNchw(c, "ReduceMean"));
  const Ints given = c.getInts("axes", {});
  Ints axes = given;
  for (int64_t &a : axes)
    a = a < 0 ? a + 4 : a;
  std::sort(axes.begin(), axes.end());
  if (axes != Ints{2, 3}) {
    std::string list;
    for (int64_t a : given)
      list += (list.empty() ? "" : ", ") + std::to_string(a);
    return c.fail("only the mean over H and W (axes [2, 3] or [-2, -1], a "
                  "global average pool) is supported, got ",
                  given.empty() ? std::string("all axes")
                                : "axes [" + list + "]");
  }
  const bool keep = c.getInt("keepdims", 1) != 0;
  Expected<std::vector<ir::ValueId>> outs = c.outputs(1);
  if (!outs)
    return outs.error();
  if (keep)
    return c.emit(OpKind::GlobalAveragePool, c.name(), {c.input(0)}, *outs);
  const ir::ValueId pooled = c.newValue(c.name() + ".pooled");
  MARS_TRY(c.emit(OpKind::GlobalAveragePool, c.name(), {c.input(0)}, {pooled}));
  return c.emit(OpKind::Flatten, c.name() + ".flatten", {pooled}, *outs,
                axisAttr(1));
}

Status convertNode(OpContext &c) {
  if (c.opType() == "ReduceMean")
    return convertReduceMean(c);
  OpKind kind = *ir::opKindFromName(c.opType());
  const ir::OpInfo &info = ir::opInfo(kind);
  size_t numIn = c.inputs().size();
  if (numIn > static_cast<size_t>(info.maxInputs))
    return c.fail("has ", numIn, " inputs, at most ", info.maxInputs,
                  " supported");
  // Pad-2 takes pads as an attribute.
  int minInputs = kind == OpKind::Pad && c.version() < 11 ? 1 : info.minInputs;
  for (int i = 0; i < minInputs; ++i)
    if (c.input(i) == ir::kNoValue)
      return c.fail("required input ", i, " is missing");
  switch (kind) {
  case OpKind::Conv: return convertConv(c);
  case OpKind::MaxPool:
  case OpKind::AveragePool: return convertPool(c, kind);
  case OpKind::BatchNormalization: return convertBatchNorm(c);
  case OpKind::Clip: return convertClip(c);
  case OpKind::Dropout: return convertDropout(c);
  case OpKind::Reshape: return convertReshape(c);
  case OpKind::Pad: return convertPad(c);
  case OpKind::Softmax: return convertSoftmax(c);
  case OpKind::Gemm: return convertGemm(c);
  case OpKind::LeakyRelu:
    return convertPlain(c, kind, [&] {
      AttributeMap a;
      a.set("alpha", c.getFloat("alpha", 0.01f));
      return a;
    }());
  case OpKind::Flatten:
    return convertPlain(c, kind, axisAttr(c.getInt("axis", 1)));
  case OpKind::Concat:
    // Concat-1 defaults axis to 1; it is required from Concat-4.
    if (c.version() < 4)
      return convertPlain(c, kind, axisAttr(c.getInt("axis", 1)));
    if (!c.hasAttr("axis"))
      return c.fail("axis is required");
    return convertPlain(c, kind, axisAttr(c.getInt("axis", 0)));
  case OpKind::QuantizeLinear:
  case OpKind::DequantizeLinear:
    return convertPlain(c, kind, axisAttr(c.getInt("axis", 1)));
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul: return convertBinary(c, kind);
  case OpKind::Relu:
  case OpKind::GlobalAveragePool:
  case OpKind::MatMul:
  case OpKind::Identity: return convertPlain(c, kind);
  }
  return c.fail("no import rule");
}

} // namespace mars::onnx::detail
