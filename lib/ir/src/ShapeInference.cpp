#include "mars/ir/ShapeInference.h"

#include <algorithm>

namespace mars::ir {

namespace {

/// Values above this many elements are rejected as absurd: nothing the
/// accelerator (or a sane model) handles, and it keeps every later size
/// computation far from int64 overflow.
constexpr int64_t kMaxElements = int64_t{1} << 31;

/// Element count of `shape`, or -1 when a dimension is negative or the count
/// exceeds kMaxElements. Never overflows.
int64_t checkedCount(const Shape &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return -1;
    if (d != 0 && n > kMaxElements / d)
      return -1;
    n *= d;
  }
  return n > kMaxElements ? -1 : n;
}

/// Product of shape[begin, end); dims are already known to be sane.
int64_t product(const Shape &shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i)
    n *= shape[i];
  return n;
}

/// Numpy broadcasting of two shapes; nullopt when they are incompatible.
std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return std::nullopt;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

/// Shape inference for one node: typed input access and errors carrying the
/// node context.
class NodeInference {
public:
  NodeInference(Graph &graph, NodeId id)
      : graph_(graph), node_(graph.node(id)) {}

  template <typename... Parts> Error fail(const Parts &...parts) const {
    return makeError(nodeContext(node_), ": ", parts...);
  }

  const Node &node() const { return node_; }
  const AttributeMap &attrs() const { return node_.attrs; }
  bool has(size_t i) const { return node_.input(i) != kNoValue; }
  const TensorType &in(size_t i) const {
    return graph_.value(node_.input(i)).type;
  }
  const Shape &shape(size_t i) const { return in(i).shape; }
  const Tensor *constant(size_t i) const {
    const Value &v = graph_.value(node_.input(i));
    return v.constant ? &*v.constant : nullptr;
  }

  /// Arity, id ranges, attribute types and input sizes, so that the op rules
  /// below can read everything without further checks.
  Status checkStructure() const;

  /// Sets output `i`, rejecting non-positive dimensions and absurd sizes.
  /// Quantization parameters already on the value are kept: passes attach
  /// them and re-run inference.
  Status setOutput(size_t i, DType dtype, Shape shape) const;

  /// Normalises an axis in [-rank, rank) (or [-rank, rank] when
  /// `inclusiveEnd`), failing with `what` in the message.
  Expected<int64_t> axis(int64_t axis, size_t rank, const char *what,
                         bool inclusiveEnd = false) const;

private:
  Graph &graph_;
  const Node &node_;
};

Status NodeInference::checkStructure() const {
  const OpInfo &info = opInfo(node_.op);
  int numIn = static_cast<int>(node_.inputs.size());
  int numOut = static_cast<int>(node_.outputs.size());
  if (numIn < info.minInputs || numIn > info.maxInputs)
    return fail("has ", numIn, " inputs, expected ", info.minInputs, "..",
                info.maxInputs);
  if (numOut < info.minOutputs || numOut > info.maxOutputs)
    return fail("has ", numOut, " outputs, expected ", info.minOutputs, "..",
                info.maxOutputs);
  auto inRange = [&](ValueId v) {
    return v >= 0 && static_cast<size_t>(v) < graph_.numValues();
  };
  for (int i = 0; i < numIn; ++i) {
    ValueId v = node_.inputs[i];
    if (v == kNoValue) {
      if (i < info.minInputs)
        return fail("required input ", i, " is missing");
      continue;
    }
    if (!inRange(v))
      return fail("input ", i, " id out of range");
    const TensorType &t = graph_.value(v).type;
    if (checkedCount(t.shape) < 0)
      return fail("input '", graph_.value(v).name,
                  "' has an invalid or absurd "
                  "shape ",
                  shapeToString(t.shape));
  }
  for (ValueId v : node_.outputs)
    if (!inRange(v))
      return fail("output id out of range");
  for (const auto &[name, value] : node_.attrs.entries()) {
    std::string declared = declaredAttributeType(node_.op, name);
    if (declared.empty())
      return fail("unknown attribute '", name, "'");
    if (declared != attributeTypeCode(value))
      return fail("attribute '", name, "' has type ", attributeTypeCode(value),
                  ", expected ", declared);
  }
  return Status::success();
}

Status NodeInference::setOutput(size_t i, DType dtype, Shape shape) const {
  Value &v = graph_.value(node_.outputs[i]);
  for (int64_t d : shape)
    if (d <= 0)
      return fail("output '", v.name, "' would have a non-positive dimension ",
                  shapeToString(shape));
  if (checkedCount(shape) < 0)
    return fail("output '", v.name, "' would have an absurd size ",
                shapeToString(shape), " (more than 2^31 elements)");
  v.type.dtype = dtype;
  v.type.shape = std::move(shape);
  return Status::success();
}

Expected<int64_t> NodeInference::axis(int64_t axis, size_t rank,
                                      const char *what,
                                      bool inclusiveEnd) const {
  int64_t r = static_cast<int64_t>(rank);
  int64_t hi = inclusiveEnd ? r : r - 1;
  if (axis < -r || axis > hi)
    return fail(what, " ", axis, " is out of range for rank ", r);
  return axis < 0 ? axis + r : axis;
}

// ---- Elementwise ------------------------------------------------------------

Status inferUnary(const NodeInference &n) {
  return n.setOutput(0, n.in(0).dtype, n.shape(0));
}

Status inferClip(const NodeInference &n) {
  for (size_t i = 1; i <= 2; ++i) {
    if (!n.has(i))
      continue;
    if (n.in(i).numElements() != 1 || n.in(i).rank() > 1)
      return n.fail(i == 1 ? "min" : "max", " must be a scalar, got ",
                    shapeToString(n.shape(i)));
    if (n.in(i).dtype != n.in(0).dtype)
      return n.fail(i == 1 ? "min" : "max", " has dtype ",
                    dtypeName(n.in(i).dtype), ", input has ",
                    dtypeName(n.in(0).dtype));
  }
  return inferUnary(n);
}

Status inferDropout(const NodeInference &n) {
  MARS_TRY(inferUnary(n));
  // The mask is ONNX bool; the IR has no bool type, so it is u8 (all ones
  // in inference). The exporter writes it back as bool.
  if (n.node().outputs.size() > 1)
    return n.setOutput(1, DType::UInt8, n.shape(0));
  return Status::success();
}

Status inferBinary(const NodeInference &n) {
  if (n.in(0).dtype != n.in(1).dtype)
    return n.fail("operand dtypes differ: ", dtypeName(n.in(0).dtype), " and ",
                  dtypeName(n.in(1).dtype));
  std::optional<Shape> out = broadcastShapes(n.shape(0), n.shape(1));
  if (!out)
    return n.fail("shapes ", shapeToString(n.shape(0)), " and ",
                  shapeToString(n.shape(1)), " are not broadcastable");
  return n.setOutput(0, n.in(0).dtype, *out);
}

// ---- Convolution and pooling
// -------------------------------------------------

/// Spatial parameters shared by Conv and the pools, with defaults applied
/// and sizes checked.
struct Window {
  std::vector<int64_t> kernel, strides, dilations, pads;
};

Expected<Window> readWindow(const NodeInference &n, Window w) {
  const AttributeMap &a = n.attrs();
  w.kernel = a.getInts("kernel_shape", w.kernel);
  w.strides = a.getInts("strides", {1, 1});
  w.dilations = a.getInts("dilations", {1, 1});
  w.pads = a.getInts("pads", {0, 0, 0, 0});
  if (w.kernel.size() != 2)
    return n.fail("kernel_shape must have 2 entries, got ", w.kernel.size());
  if (w.strides.size() != 2 || w.dilations.size() != 2)
    return n.fail("strides and dilations must have 2 entries");
  if (w.pads.size() != 4)
    return n.fail("pads must have 4 entries [top, left, bottom, right], got ",
                  w.pads.size());
  for (size_t i = 0; i < 2; ++i)
    if (w.kernel[i] <= 0 || w.strides[i] <= 0 || w.dilations[i] <= 0)
      return n.fail("kernel_shape, strides and dilations must be positive");
  // Bounded so that the extent and padded sizes below cannot overflow.
  for (const std::vector<int64_t> *v :
       {&w.kernel, &w.strides, &w.dilations, &w.pads})
    for (int64_t x : *v)
      if (x > kMaxElements)
        return n.fail("absurd window attribute ", x, " (more than 2^31)");
  for (int64_t p : w.pads)
    if (p < 0)
      return n.fail("pads must be non-negative, got ", p);
  return w;
}

Status requireNchw(const NodeInference &n, const char *what) {
  if (n.in(0).rank() != 4)
    return n.fail("only 2-D (N, C, H, W) ", what, " is supported, got rank-",
                  n.in(0).rank(), " input");
  return Status::success();
}

/// Whether a partial last window counts (pooling's ONNX ceil_mode).
enum class WindowRounding { Floor, Ceil };

/// Output extent of one spatial axis. ceil_mode follows ONNX: the last
/// window must start inside the input or its left padding, otherwise it is
/// dropped (so a ceil-mode window never lies wholly in the right padding).
Expected<int64_t> windowOutput(const NodeInference &n, const Window &w,
                               size_t axis, int64_t in,
                               WindowRounding rounding) {
  const bool ceilMode = rounding == WindowRounding::Ceil;
  int64_t extent = (w.kernel[axis] - 1) * w.dilations[axis] + 1;
  int64_t padded = in + w.pads[axis] + w.pads[axis + 2];
  if (padded < extent)
    return n.fail("window of extent ", extent,
                  " is larger than the padded "
                  "input (",
                  padded, ") on spatial axis ", axis);
  int64_t span = padded - extent;
  int64_t s = w.strides[axis];
  int64_t out = (ceilMode ? (span + s - 1) / s : span / s) + 1;
  if (ceilMode && (out - 1) * s >= in + w.pads[axis])
    --out;
  return out;
}

/// The output shape of a windowed op on input 0 (N, C, H, W):
/// (N, `channels`, out H, out W).
Expected<Shape> windowShape(const NodeInference &n, const Window &w,
                            int64_t channels, WindowRounding rounding) {
  const Shape &x = n.shape(0);
  Shape out = {x[0], channels, 0, 0};
  for (size_t i = 0; i < 2; ++i) {
    Expected<int64_t> o = windowOutput(n, w, i, x[2 + i], rounding);
    if (!o)
      return o.error();
    out[2 + i] = *o;
  }
  return out;
}

Status inferConv(const NodeInference &n) {
  MARS_TRY(requireNchw(n, "convolution"));
  const Shape &x = n.shape(0), &wt = n.shape(1);
  if (wt.size() != 4)
    return n.fail("weight must have rank 4, got ", shapeToString(wt));
  Expected<Window> w = readWindow(n, Window{{wt[2], wt[3]}, {}, {}, {}});
  if (!w)
    return w.error();
  if (w->kernel[0] != wt[2] || w->kernel[1] != wt[3])
    return n.fail("kernel_shape ", shapeToString(w->kernel),
                  " does not match weight ", shapeToString(wt));
  int64_t group = n.attrs().getInt("group", 1);
  if (group <= 0)
    return n.fail("group must be positive, got ", group);
  if (x[1] % group != 0)
    return n.fail("group=", group, " does not divide ", x[1],
                  " input channels");
  if (wt[0] % group != 0)
    return n.fail("group=", group, " does not divide ", wt[0],
                  " output channels");
  if (wt[1] * group != x[1])
    return n.fail("weight ", shapeToString(wt), " with group=", group,
                  " expects ", wt[1] * group, " input channels, input has ",
                  x[1]);
  if (n.has(2) && (n.in(2).rank() != 1 || n.shape(2)[0] != wt[0]))
    return n.fail("bias must have shape [", wt[0], "], got ",
                  shapeToString(n.shape(2)));
  if (n.in(1).dtype != n.in(0).dtype)
    return n.fail("weight dtype ", dtypeName(n.in(1).dtype),
                  " differs from input dtype ", dtypeName(n.in(0).dtype));
  Expected<Shape> out = windowShape(n, *w, wt[0], WindowRounding::Floor);
  if (!out)
    return out.error();
  return n.setOutput(0, n.in(0).dtype, *out);
}

Status inferPool(const NodeInference &n) {
  MARS_TRY(requireNchw(n, "pooling"));
  if (!n.attrs().has("kernel_shape"))
    return n.fail("kernel_shape is required");
  Expected<Window> w = readWindow(n, Window{});
  if (!w)
    return w.error();
  const WindowRounding rounding = n.attrs().getInt("ceil_mode", 0) != 0
                                      ? WindowRounding::Ceil
                                      : WindowRounding::Floor;
  Expected<Shape> out = windowShape(n, *w, n.shape(0)[1], rounding);
  if (!out)
    return out.error();
  return n.setOutput(0, n.in(0).dtype, *out);
}

Status inferGlobalPool(const NodeInference &n) {
  MARS_TRY(requireNchw(n, "pooling"));
  Shape out = n.shape(0);
  out[2] = out[3] = 1;
  return n.setOutput(0, n.in(0).dtype, out);
}

Status inferBatchNorm(const NodeInference &n) {
  const Shape &x = n.shape(0);
  if (x.size() < 2)
    return n.fail("input must have rank >= 2, got ", shapeToString(x));
  static const char *names[] = {"", "scale", "B", "mean", "var"};
  for (size_t i = 1; i < 5; ++i)
    if (n.shape(i) != Shape{x[1]})
      return n.fail(names[i], " must have shape [", x[1], "], got ",
                    shapeToString(n.shape(i)));
  MARS_TRY(n.setOutput(0, n.in(0).dtype, x));
  for (size_t i = 1; i < n.node().outputs.size(); ++i)
    MARS_TRY(n.setOutput(i, n.in(i + 2).dtype, {x[1]}));
  return Status::success();
}

// ---- Matrix products
// ----------------------------------------------------------

Status inferGemm(const NodeInference &n) {
  const Shape &a = n.shape(0), &b = n.shape(1);
  if (a.size() != 2 || b.size() != 2)
    return n.fail("A and B must be 2-D, got ", shapeToString(a), " and ",
                  shapeToString(b));
  bool transA = n.attrs().getInt("transA", 0) != 0;
  bool transB = n.attrs().getInt("transB", 0) != 0;
  int64_t m = transA ? a[1] : a[0], ka = transA ? a[0] : a[1];
  int64_t kb = transB ? b[1] : b[0], nOut = transB ? b[0] : b[1];
  if (ka != kb)
    return n.fail("inner dimensions ", ka, " and ", kb, " differ");
  if (n.in(1).dtype != n.in(0).dtype)
    return n.fail("A and B dtypes differ");
  Shape out = {m, nOut};
  if (n.has(2)) {
    std::optional<Shape> c = broadcastShapes(n.shape(2), out);
    if (!c || *c != out)
      return n.fail("C ", shapeToString(n.shape(2)),
                    " is not broadcastable to ", shapeToString(out));
  }
  return n.setOutput(0, n.in(0).dtype, out);
}

Status inferMatMul(const NodeInference &n) {
  Shape a = n.shape(0), b = n.shape(1);
  if (a.empty() || b.empty())
    return n.fail("operands must have rank >= 1");
  if (n.in(0).dtype != n.in(1).dtype)
    return n.fail("operand dtypes differ");
  // Numpy: a 1-D operand is promoted to a matrix and the added axis removed
  // from the result.
  bool vecA = a.size() == 1, vecB = b.size() == 1;
  if (vecA)
    a.insert(a.begin(), 1);
  if (vecB)
    b.push_back(1);
  if (a[a.size() - 1] != b[b.size() - 2])
    return n.fail("inner dimensions ", a[a.size() - 1], " and ",
                  b[b.size() - 2], " differ");
  std::optional<Shape> batch = broadcastShapes(Shape(a.begin(), a.end() - 2),
                                               Shape(b.begin(), b.end() - 2));
  if (!batch)
    return n.fail("batch dimensions of ", shapeToString(n.shape(0)), " and ",
                  shapeToString(n.shape(1)), " are not broadcastable");
  Shape out = *batch;
  if (!vecA)
    out.push_back(a[a.size() - 2]);
  if (!vecB)
    out.push_back(b[b.size() - 1]);
  return n.setOutput(0, n.in(0).dtype, out);
}

// ---- Shape manipulation
// --------------------------------------------------------

Status inferFlatten(const NodeInference &n) {
  const Shape &x = n.shape(0);
  Expected<int64_t> axis = n.axis(n.attrs().getInt("axis", 1), x.size(), "axis",
                                  /*inclusiveEnd=*/true);
  if (!axis)
    return axis.error();
  size_t k = static_cast<size_t>(*axis);
  return n.setOutput(0, n.in(0).dtype,
                     {product(x, 0, k), product(x, k, x.size())});
}

Status inferReshape(const NodeInference &n) {
  const Tensor *shapeTensor = n.constant(1);
  if (!shapeTensor)
    return n.fail("the shape input must be a constant");
  if (shapeTensor->dtype() != DType::Int64 || shapeTensor->type().rank() != 1)
    return n.fail("the shape input must be a 1-D int64 tensor, got ",
                  shapeTensor->type().toString());
  const Shape &x = n.shape(0);
  bool allowZero = n.attrs().getInt("allowzero", 0) != 0;
  Shape out = shapeTensor->toInt64s();
  int inferred = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (inferred >= 0)
        return n.fail("shape ", shapeToString(out), " has more than one -1");
      inferred = static_cast<int>(i);
    } else if (out[i] == 0 && !allowZero) {
      if (i >= x.size())
        return n.fail("shape ", shapeToString(out), " copies dimension ", i,
                      " of a rank-", x.size(), " input");
      out[i] = x[i];
    } else if (out[i] < 0) {
      return n.fail("shape ", shapeToString(out), " has a negative entry");
    }
  }
  int64_t total = product(x, 0, x.size());
  if (inferred >= 0) {
    out[inferred] = 1;
    int64_t known = checkedCount(out);
    if (known <= 0 || total % known != 0)
      return n.fail("cannot reshape ", shapeToString(x), " into ",
                    shapeToString(shapeTensor->toInt64s()));
    out[inferred] = total / known;
  }
  if (checkedCount(out) != total)
    return n.fail("cannot reshape ", shapeToString(x), " (", total,
                  " elements) into ", shapeToString(out));
  return n.setOutput(0, n.in(0).dtype, out);
}

Status inferPad(const NodeInference &n) {
  const Tensor *pads = n.constant(1);
  if (!pads)
    return n.fail("pads must be a constant");
  const Shape &x = n.shape(0);
  if (pads->dtype() != DType::Int64 ||
      pads->numElements() != static_cast<int64_t>(2 * x.size()))
    return n.fail("pads must be ", 2 * x.size(), " int64 values, got ",
                  pads->type().toString());
  if (n.has(2) && n.in(2).numElements() != 1)
    return n.fail("constant_value must be a scalar");
  if (n.has(2) && n.in(2).dtype != n.in(0).dtype)
    return n.fail("constant_value has dtype ", dtypeName(n.in(2).dtype),
                  ", input has ", dtypeName(n.in(0).dtype));
  std::vector<int64_t> p = pads->toInt64s();
  for (int64_t v : p)
    if (v > kMaxElements || v < -kMaxElements)
      return n.fail("absurd pad ", v, " (more than 2^31)");
  Shape out = x;
  for (size_t i = 0; i < x.size(); ++i)
    out[i] = x[i] + p[i] + p[i + x.size()];
  return n.setOutput(0, n.in(0).dtype, out);
}

Status inferConcat(const NodeInference &n) {
  const Shape &first = n.shape(0);
  Expected<int64_t> axis =
      n.axis(n.attrs().getInt("axis", 0), first.size(), "axis");
  if (!axis)
    return axis.error();
  Shape out = first;
  out[*axis] = 0;
  for (size_t i = 0; i < n.node().inputs.size(); ++i) {
    if (!n.has(i))
      return n.fail("input ", i, " is missing");
    const Shape &s = n.shape(i);
    bool same = s.size() == first.size();
    for (size_t d = 0; same && d < s.size(); ++d)
      same = d == static_cast<size_t>(*axis) || s[d] == first[d];
    if (!same)
      return n.fail("input ", i, " has shape ", shapeToString(s),
                    ", incompatible with ", shapeToString(first),
                    " along axis ", *axis);
    if (n.in(i).dtype != n.in(0).dtype)
      return n.fail("input ", i, " has dtype ", dtypeName(n.in(i).dtype),
                    ", expected ", dtypeName(n.in(0).dtype));
    out[*axis] += s[*axis];
  }
  return n.setOutput(0, n.in(0).dtype, out);
}

Status inferSoftmax(const NodeInference &n) {
  Expected<int64_t> axis =
      n.axis(n.attrs().getInt("axis", -1), n.in(0).rank(), "axis");
  if (!axis)
    return axis.error();
  return inferUnary(n);
}

// ---- Quantization
// ---------------------------------------------------------------

/// Scale and zero point are scalars (per tensor) or 1-D along `axis`.
Status checkQuantOperands(const NodeInference &n) {
  const TensorType &scale = n.in(1);
  if (scale.dtype != DType::Float32)
    return n.fail("scale must be float32, got ", dtypeName(scale.dtype));
  if (scale.rank() > 1)
    return n.fail("scale must be a scalar or 1-D, got ",
                  shapeToString(scale.shape));
  if (scale.rank() == 1 && scale.shape[0] != 1) {
    Expected<int64_t> axis =
        n.axis(n.attrs().getInt("axis", 1), n.in(0).rank(), "axis");
    if (!axis)
      return axis.error();
    if (scale.shape[0] != n.shape(0)[*axis])
      return n.fail("per-axis scale has ", scale.shape[0],
                    " entries, input has ", n.shape(0)[*axis], " along axis ",
                    *axis);
  }
  if (n.has(2) && n.shape(2) != scale.shape)
    return n.fail("zero point shape ", shapeToString(n.shape(2)),
                  " differs from scale shape ", shapeToString(scale.shape));
  return Status::success();
}

Status inferQuantize(const NodeInference &n) {
  MARS_TRY(checkQuantOperands(n));
  DType out = n.has(2) ? n.in(2).dtype : DType::UInt8;
  if (out != DType::UInt8 && out != DType::Int8)
    return n.fail("zero point must be int8 or uint8, got ", dtypeName(out));
  return n.setOutput(0, out, n.shape(0));
}

Status inferDequantize(const NodeInference &n) {
  MARS_TRY(checkQuantOperands(n));
  if (n.has(2) && n.in(2).dtype != n.in(0).dtype)
    return n.fail("zero point dtype ", dtypeName(n.in(2).dtype),
                  " differs from input dtype ", dtypeName(n.in(0).dtype));
  return n.setOutput(0, DType::Float32, n.shape(0));
}

} // namespace

Status inferNodeTypes(Graph &graph, NodeId id) {
  NodeInference n(graph, id);
  MARS_TRY(n.checkStructure());
  switch (graph.node(id).op) {
  case OpKind::Relu:
  case OpKind::LeakyRelu:
  case OpKind::Identity: return inferUnary(n);
  case OpKind::Clip: return inferClip(n);
  case OpKind::Dropout: return inferDropout(n);
  case OpKind::Add:
  case OpKind::Sub:
  case OpKind::Mul: return inferBinary(n);
  case OpKind::Conv: return inferConv(n);
  case OpKind::MaxPool:
  case OpKind::AveragePool: return inferPool(n);
  case OpKind::GlobalAveragePool: return inferGlobalPool(n);
  case OpKind::BatchNormalization: return inferBatchNorm(n);
  case OpKind::Gemm: return inferGemm(n);
  case OpKind::MatMul: return inferMatMul(n);
  case OpKind::Flatten: return inferFlatten(n);
  case OpKind::Reshape: return inferReshape(n);
  case OpKind::Pad: return inferPad(n);
  case OpKind::Concat: return inferConcat(n);
  case OpKind::Softmax: return inferSoftmax(n);
  case OpKind::QuantizeLinear: return inferQuantize(n);
  case OpKind::DequantizeLinear: return inferDequantize(n);
  }
  return n.fail("no shape inference rule");
}

Status inferShapes(Graph &graph) {
  for (size_t i = 0; i < graph.numNodes(); ++i)
    MARS_TRY(inferNodeTypes(graph, static_cast<NodeId>(i)));
  return Status::success();
}

} // namespace mars::ir
