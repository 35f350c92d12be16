#!/usr/bin/python3
"""An independent NumPy implementation of marsc's integer contract
(DESIGN.md §3): the arithmetic a QDQ ONNX model means on the chip.

Usage: numpy_reference.py MODEL.qdq.onnx X.npy OUT.npy [--pow2-scales]
                          [--int-output INTS.npy]

Reads MODEL with python3-onnx only (no marsc code or binary is used), runs
the float32 input batch X (N, C, H, W) through the integer network and
writes the real-valued outputs (N x classes, float64) to OUT.npy. With
--int-output it also writes the integer outputs (int64: the final layer's
int32 accumulators, or the quantized output values).

The contract, as implemented here (all integer arithmetic in int64):
  - activations: real = scale x q, zero point 0; a QuantizeLinear
    (followed by DequantizeLinear) marks a quantized tensor, uint8 zero point
    = unsigned, int8 = signed, bits from the file's "mars.quant.<value>"
    metadata (default 8);
  - the input: Sub/Mul/Clip/Relu in float32, then
    q = clamp(round_half_even(float32(x) / float32(scale)));
  - Conv/Gemm/MatMul: acc = sum(w x) + bias in int64, saturated to int32;
    bias = round_half_even(real_bias / (sw[c] x sx)); the output is
    round_half_even(acc x value / 2^shift) with (value, shift) =
    quantize_multiplier(sw[c] x sx / so), clamped to the output type's range
    intersected with a Relu (lo 0) or Clip (round_half_even(bound / so));
  - MaxPool on integers; AveragePool/GlobalAveragePool: integer window sum
    requantized by quantize_multiplier(s_in / (s_out x n)) for the window's
    element count n;
  - Add (and a QuantizeLinear that changes the scale of a quantized value):
    multipliers for s_k / s_out that share one shift, one rounding of the sum;
  - Concat (same scale), Flatten/Reshape/Identity/Dropout pass through; a
    Softmax/LogSoftmax producing the graph output is dropped (argmax);
  - a final Conv/Gemm without QuantizeLinear outputs its raw accumulators,
    whose real value is acc x (sw[c] x sx).
Power-of-two mode: every multiplier is the nearest power of two. The QDQ file
records the mode (metadata mars.integer.power_of_two_scales = 1); the
--pow2-scales option forces it for files that do not.
"""
import math
import sys

import numpy as np
import onnx
from onnx import numpy_helper

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
QUANT_PREFIX = "mars.quant."


class ContractError(Exception):
    """The model is outside the integer contract."""


# ---- scalar arithmetic (Python ints and doubles) ---------------------------

def round_half_away(x):
    """Rounds a double half away from zero (C's llround), exactly."""
    if x < 0:
        return -round_half_away(-x)
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


def round_half_even_scalar(x):
    """Rounds a double half to even (ONNX QuantizeLinear's rule)."""
    if math.isnan(x):
        return 0
    f = math.floor(x)
    d = x - f
    i = int(f)
    if d > 0.5 or (d == 0.5 and i % 2 == 1):
        i += 1
    return i


def quantize_multiplier(real, pow2=False):
    """(value, shift) with value x 2^-shift ~ real: value has 31 significant
    bits, shift in 0..62; with pow2, the nearest power of two."""
    if not (real > 0 and real < 2.0 ** 31):
        raise ContractError(f"multiplier {real!r} out of range")
    if pow2:
        k = round_half_away(math.log2(real))
        if k >= 0:
            return 1 << min(k, 30), 0
        return 1, min(-k, 62)
    mantissa, exponent = math.frexp(real)  # real = mantissa x 2^exponent
    value = round_half_away(math.ldexp(mantissa, 31))
    if value == 1 << 31:
        value >>= 1
        exponent += 1
    shift = 31 - exponent
    while shift > 62:
        value = (value + 1) >> 1
        shift -= 1
    if shift < 0:
        value <<= -shift
        shift = 0
    if value == 0:
        value = 1
    return value, shift


def multipliers_sharing_shift(reals, pow2=False):
    """Values for reals that share one shift: the shift quantize_multiplier
    gives the largest, value_k = round(real_k x 2^shift)."""
    targets = []
    for r in reals:
        if not (r > 0 and r < 2.0 ** 31):
            raise ContractError(f"multiplier {r!r} out of range")
        if pow2:
            v, s = quantize_multiplier(r, True)
            r = math.ldexp(v, -s)
        targets.append(r)
    shift = quantize_multiplier(max(targets))[1]
    values = [min(round_half_away(math.ldexp(t, shift)), INT32_MAX)
              for t in targets]
    return values, shift


# ---- array arithmetic (int64) ----------------------------------------------

def rounding_shift(p, shift):
    """p / 2^shift rounded half to even, exactly, on int64 arrays."""
    p = np.asarray(p, dtype=np.int64)
    if shift <= 0:
        return p
    floor = p >> np.int64(shift)
    rem = p & np.int64((1 << shift) - 1)
    half = np.int64(1 << (shift - 1))
    up = (rem > half) | ((rem == half) & ((floor & 1) == 1))
    return floor + up.astype(np.int64)


def requantize(acc, value, shift):
    acc = np.asarray(acc, dtype=np.int64)
    if acc.size and int(np.abs(acc).max()) * value >= 1 << 63:
        raise ContractError("requantization product overflows int64")
    return rounding_shift(acc * np.int64(value), shift)


def round_half_even_array(x):
    """np.rint is round half to even; NaN gives 0 (as marsc's roundHalfEven)."""
    r = np.rint(np.asarray(x, dtype=np.float64))
    r[np.isnan(r)] = 0
    return r.astype(np.int64)


# ---- values flowing through the graph --------------------------------------

class Float:
    """A float32 tensor: the graph input before its QuantizeLinear."""

    def __init__(self, x):
        self.x = x.astype(np.float32)


class Const:
    """A constant tensor (initializer or Constant node)."""

    def __init__(self, array):
        self.a = array


class QConst:
    """DequantizeLinear of an integer constant: ints and float32 scales."""

    def __init__(self, ints, scales, axis, bits):
        self.ints = ints.astype(np.int64)
        self.scales = scales.astype(np.float32).reshape(-1)
        self.axis = axis
        self.bits = bits


class Quant:
    """A quantized activation: real = scale x q (zero point 0)."""

    def __init__(self, q, scale, bits, signed):
        self.q = q.astype(np.int64)
        self.scale = float(scale)  # a float32 scale, exactly, as a double
        self.bits = bits
        self.signed = signed

    def same_type(self, o):
        return (self.scale == o.scale and self.bits == o.bits
                and self.signed == o.signed)


class Pending:
    """A Conv/Gemm, AveragePool or Add output before its QuantizeLinear."""

    def __init__(self, kind, **kw):
        self.kind = kind
        self.clip_lo = -math.inf
        self.clip_hi = math.inf
        self.__dict__.update(kw)


def type_range(bits, signed):
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


# ---- geometry --------------------------------------------------------------

def _ints(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return list(a.ints)
    return list(default)


def _int(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return a.i
    return default


def _float(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return a.f
    return default


def _str(node, name, default):
    for a in node.attribute:
        if a.name == name:
            return a.s.decode()
    return default


def window_geometry(node, kernel):
    if _str(node, "auto_pad", "NOTSET") not in ("NOTSET", ""):
        raise ContractError(f"{node.name}: auto_pad is not supported")
    strides = _ints(node, "strides", [1, 1])
    pads = _ints(node, "pads", [0, 0, 0, 0])
    dil = _ints(node, "dilations", [1, 1])
    if len(kernel) != 2 or len(strides) != 2 or len(pads) != 4:
        raise ContractError(f"{node.name}: only 2-D windows")
    return strides, pads, dil


def out_extent(size, k, s, pad0, pad1, d, ceil):
    span = size + pad0 + pad1 - d * (k - 1) - 1
    if ceil:
        o = -(-span // s) + 1
        # The last window must start inside the input or the leading pad.
        if (o - 1) * s >= size + pad0:
            o -= 1
    else:
        o = span // s + 1
    return o


def window_slices(arr, oh, ow, kh, kw, strides, pads, dil, fill):
    """Yields, for each kernel offset, the (N, C, oh, ow) view of `arr`
    (N, C, H, W) at the window positions; positions outside the input read
    `fill`. Also yields the validity masks."""
    n, c, h, w = arr.shape
    need_h = (oh - 1) * strides[0] + (kh - 1) * dil[0] + 1
    need_w = (ow - 1) * strides[1] + (kw - 1) * dil[1] + 1
    ph = max(need_h, pads[0] + h)
    pw = max(need_w, pads[1] + w)
    padded = np.full((n, c, ph, pw), fill, dtype=arr.dtype)
    padded[:, :, pads[0]:pads[0] + h, pads[1]:pads[1] + w] = arr
    valid = np.zeros((ph, pw), dtype=np.int64)
    valid[pads[0]:pads[0] + h, pads[1]:pads[1] + w] = 1
    # count_include_pad counts positions inside input + pads only.
    padext = np.zeros((ph, pw), dtype=np.int64)
    padext[:min(ph, pads[0] + h + pads[2]), :min(pw, pads[1] + w + pads[3])] = 1
    for ky in range(kh):
        for kx in range(kw):
            y0, x0 = ky * dil[0], kx * dil[1]
            ys = slice(y0, y0 + (oh - 1) * strides[0] + 1, strides[0])
            xs = slice(x0, x0 + (ow - 1) * strides[1] + 1, strides[1])
            yield padded[:, :, ys, xs], valid[ys, xs], padext[ys, xs]


# ---- the interpreter -------------------------------------------------------

class Reference:
    def __init__(self, model, pow2=False):
        if isinstance(model, str):
            model = onnx.load(model)
        self.model = model
        self.graph = model.graph
        self.pow2 = pow2
        self.bits = {}
        for p in model.metadata_props:
            # The file records power-of-two mode (lib/quant Lower.h).
            if p.key == "mars.integer.power_of_two_scales" and p.value == "1":
                self.pow2 = True
            if p.key.startswith(QUANT_PREFIX):
                fields = dict(kv.split("=", 1) for kv in p.value.split(";")
                              if "=" in kv)
                self.bits[p.key[len(QUANT_PREFIX):]] = int(fields.get("bits",
                                                                      8))
        self.consts = {}
        for t in self.graph.initializer:
            self.consts[t.name] = numpy_helper.to_array(t)
        self.declared_shape = {}
        for vi in list(self.graph.value_info) + list(self.graph.output):
            dims = vi.type.tensor_type.shape.dim
            if dims and all(d.HasField("dim_value") for d in dims[1:]):
                self.declared_shape[vi.name] = tuple(d.dim_value
                                                     for d in dims[1:])
        inputs = [i.name for i in self.graph.input if i.name not in
                  self.consts]
        if len(inputs) != 1 or len(self.graph.output) != 1:
            raise ContractError("an integer model has one input and one "
                                "output")
        self.input_name = inputs[0]
        self.output_name = self.graph.output[0].name
        self.nodes = self._checked_order()
        self.multipliers = []  # (layer, kind, values) for debugging

    def _checked_order(self):
        """The nodes in file order, which ONNX requires to be topological."""
        known = set(self.consts) | {self.input_name, ""}
        for n in self.graph.node:
            for i in n.input:
                if i not in known:
                    raise ContractError(f"node '{n.name}' reads '{i}' before "
                                        "it is computed")
            known.update(n.output)
        return list(self.graph.node)

    # -- helpers --
    def _const(self, env, name, what):
        v = env.get(name)
        if not isinstance(v, Const):
            raise ContractError(f"{what} '{name}' must be a constant")
        return v.a

    def _scalar(self, env, name, what):
        a = self._const(env, name, what)
        if a.size != 1:
            raise ContractError(f"{what} must be a single value")
        return float(a.reshape(-1)[0])

    def _quant(self, env, name, node):
        v = env.get(name)
        if not isinstance(v, Quant):
            raise ContractError(f"{node.name} ({node.op_type}): input "
                                f"'{name}' is not quantized")
        return v

    def _check_shape(self, name, shape):
        want = self.declared_shape.get(name)
        if want is not None and tuple(want) != tuple(shape[1:]):
            raise ContractError(f"'{name}': computed shape {shape[1:]} but "
                                f"the file declares {want}")

    # -- entry point --
    def run(self, x):
        """x: float32 (N, C, H, W). Returns (reals float64 (N, ...), ints
        int64 (N, ...))."""
        env = {name: Const(a) for name, a in self.consts.items()}
        env[""] = None
        env[self.input_name] = Float(np.asarray(x, dtype=np.float32))
        output = self.output_name
        for node in self.nodes:
            if node.op_type in ("Softmax", "LogSoftmax") and \
                    node.output[0] == output:
                output = node.input[0]  # dropped: argmax is unchanged
                continue
            try:
                self._node(node, env)
            except ContractError as e:
                raise ContractError(f"node '{node.name}' ({node.op_type}): "
                                    f"{e}") from None
        self.values = env  # every tensor of the last run, for debugging
        v = env[output]
        if isinstance(v, Quant):
            return v.q.astype(np.float64) * v.scale, v.q
        if isinstance(v, Pending) and v.kind == "conv":
            if math.isfinite(v.clip_lo) or math.isfinite(v.clip_hi):
                raise ContractError("a Relu/Clip on the logits needs a "
                                    "QuantizeLinear")
            shape = [1, -1] + [1] * (v.acc.ndim - 2)
            scales = v.acc_scales.reshape(shape)
            return v.acc.astype(np.float64) * scales, v.acc
        raise ContractError(f"the graph output '{self.output_name}' is not "
                            "quantized and not a final Conv/Gemm")

    def _node(self, node, env):
        op = node.op_type
        handler = getattr(self, "_op_" + op, None)
        if handler is None:
            raise ContractError("not part of the integer contract")
        handler(node, env)

    # -- constants --
    def _op_Constant(self, node, env):
        for a in node.attribute:
            if a.name == "value":
                env[node.output[0]] = Const(numpy_helper.to_array(a.t))
                return
        raise ContractError("only Constant with a 'value' tensor")

    # -- float input normalisation --
    def _float_operand(self, env, name):
        a = self._const(env, name, "the normalisation operand")
        return a.astype(np.float32)

    def _op_Sub(self, node, env):
        x = env[node.input[0]]
        if not isinstance(x, Float):
            raise ContractError("Sub only normalises the input")
        env[node.output[0]] = Float(x.x - self._float_operand(env,
                                                              node.input[1]))

    def _op_Mul(self, node, env):
        x = env[node.input[0]]
        if not isinstance(x, Float):
            raise ContractError("Mul only normalises the input")
        env[node.output[0]] = Float(x.x * self._float_operand(env,
                                                              node.input[1]))

    def _clip_bounds(self, node, env):
        if node.op_type == "Relu":
            return 0.0, math.inf
        lo, hi = -math.inf, math.inf
        if len(node.input) > 1 and node.input[1]:
            lo = self._scalar(env, node.input[1], "Clip's min")
        if len(node.input) > 2 and node.input[2]:
            hi = self._scalar(env, node.input[2], "Clip's max")
        lo = max(lo, _float(node, "min", -math.inf))
        hi = min(hi, _float(node, "max", math.inf))
        return lo, hi

    def _op_Relu(self, node, env):
        self._op_Clip(node, env)

    def _op_Clip(self, node, env):
        x = env[node.input[0]]
        lo, hi = self._clip_bounds(node, env)
        if isinstance(x, Float):
            y = x.x
            if lo > -math.inf:
                y = np.maximum(y, np.float32(lo))
            if hi < math.inf:
                y = np.minimum(y, np.float32(hi))
            env[node.output[0]] = Float(y)
            return
        if not isinstance(x, Pending):
            raise ContractError("Relu/Clip must follow a Conv, Gemm, pool "
                                "or Add that is then quantized")
        p = Pending(x.kind, **{k: v for k, v in x.__dict__.items()
                               if k != "kind"})
        p.clip_lo = max(p.clip_lo, lo)
        p.clip_hi = min(p.clip_hi, hi)
        env[node.output[0]] = p

    # -- quantization --
    def _out_quant(self, node, env):
        """(scale, bits, signed) of a QuantizeLinear."""
        scale = self._scalar(env, node.input[1], "the activation scale")
        if not (scale > 0 and math.isfinite(scale)):
            raise ContractError(f"scale {scale} must be positive")
        signed = False  # ONNX: no zero point means uint8
        if len(node.input) > 2 and node.input[2]:
            zp = self._const(env, node.input[2], "the zero point")
            if np.any(zp != 0):
                raise ContractError("zero points must be 0")
            if zp.dtype == np.int8:
                signed = True
            elif zp.dtype != np.uint8:
                raise ContractError(f"zero point type {zp.dtype}")
        bits = self.bits.get(node.output[0], 8)
        if not 2 <= bits <= 8:
            raise ContractError(f"activation bits {bits}")
        return scale, bits, signed

    def _op_QuantizeLinear(self, node, env):
        x = env[node.input[0]]
        scale, bits, signed = self._out_quant(node, env)
        lo, hi = type_range(bits, signed)
        out = node.output[0]
        if isinstance(x, Float):
            # float32 division, round half to even, saturate.
            r = x.x / np.float32(scale)
            q = np.clip(round_half_even_array(r), lo, hi)
            env[out] = Quant(q, np.float32(scale), bits, signed)
        elif isinstance(x, Pending):
            env[out] = self._finish(x, scale, bits, signed, node.name)
        elif isinstance(x, Quant):
            if x.scale == scale and x.bits == bits and x.signed == signed:
                env[out] = x
            else:  # a rescale: a one-input Add
                p = Pending("add", inputs=[x])
                env[out] = self._finish(p, scale, bits, signed, node.name)
        else:
            raise ContractError(f"cannot quantize '{node.input[0]}'")
        self._check_shape(out, env[out].q.shape)

    def _op_DequantizeLinear(self, node, env):
        x = env[node.input[0]]
        if isinstance(x, Const):
            scales = self._const(env, node.input[1], "the weight scale")
            if scales.dtype != np.float32:
                raise ContractError("scales must be float32")
            if len(node.input) > 2 and node.input[2]:
                zp = self._const(env, node.input[2], "the zero point")
                if np.any(zp != 0):
                    raise ContractError("weight zero points must be 0")
            axis = _int(node, "axis", 1)
            if axis < 0:
                axis += x.a.ndim
            default = 32 if x.a.dtype == np.int32 else 8
            bits = self.bits.get(node.input[0], default)
            env[node.output[0]] = QConst(x.a, scales, axis, bits)
            return
        if not isinstance(x, Quant):
            raise ContractError(f"'{node.input[0]}' is not quantized")
        scale = self._scalar(env, node.input[1], "the activation scale")
        if scale != x.scale:
            raise ContractError(f"scale {scale} differs from the "
                                f"QuantizeLinear's {x.scale}")
        if len(node.input) > 2 and node.input[2]:
            if np.any(self._const(env, node.input[2], "zero point") != 0):
                raise ContractError("zero points must be 0")
        env[node.output[0]] = x

    def _finish(self, p, so, bits, signed, name):
        """Quantizes a pending layer's output at scale so."""
        lo, hi = type_range(bits, signed)
        if math.isfinite(p.clip_lo):
            lo = max(lo, round_half_even_scalar(p.clip_lo / so))
        if math.isfinite(p.clip_hi):
            hi = min(hi, round_half_even_scalar(p.clip_hi / so))
        if lo > hi:
            raise ContractError("empty clip range")
        if p.kind == "conv":
            out = np.empty_like(p.acc)
            ms = []
            for c in range(p.acc.shape[1]):
                value, shift = quantize_multiplier(p.acc_scales[c] / so,
                                                   self.pow2)
                ms.append((value, shift))
                out[:, c] = requantize(p.acc[:, c], value, shift)
            self.multipliers.append((name, "conv", ms))
        elif p.kind == "avgpool":
            out = np.zeros_like(p.sums)
            ms = {}
            for n in np.unique(p.counts):
                n = int(n)
                if n == 0:
                    continue
                value, shift = quantize_multiplier(p.s_in / (so * n),
                                                   self.pow2)
                ms[n] = (value, shift)
                mask = np.broadcast_to(p.counts == n, p.sums.shape)
                out[mask] = requantize(p.sums[mask], value, shift)
            self.multipliers.append((name, "avgpool", ms))
        elif p.kind == "add":
            values, shift = multipliers_sharing_shift(
                [x.scale / so for x in p.inputs], self.pow2)
            total = np.zeros_like(p.inputs[0].q)
            for x, v in zip(p.inputs, values):
                if x.q.size and int(np.abs(x.q).max()) * v * len(values) \
                        >= 1 << 62:
                    raise ContractError("Add sum overflows int64")
                total = total + x.q * np.int64(v)
            out = rounding_shift(total, shift)
            self.multipliers.append((name, "add", (values, shift)))
        else:
            raise AssertionError(p.kind)
        return Quant(np.clip(out, lo, hi), so, bits, signed)

    # -- weighted layers --
    def _weights(self, env, name, out_axis):
        w = env.get(name)
        if not isinstance(w, QConst):
            raise ContractError(f"weights '{name}' are not a "
                                "DequantizeLinear of an integer constant")
        if w.bits > 8:
            raise ContractError("weights must be 8-bit or narrower")
        lim = 1 << (w.bits - 1)
        if w.ints.size and (w.ints.min() < -lim or w.ints.max() > lim - 1):
            raise ContractError(f"weights do not fit in {w.bits} bits")
        outs = w.ints.shape[out_axis]
        if w.scales.size == 1:
            scales = np.repeat(w.scales, outs)
        elif w.scales.size == outs and w.axis == out_axis:
            scales = w.scales
        else:
            raise ContractError(f"weights '{name}': {w.scales.size} scales "
                                f"along axis {w.axis}, but {outs} output "
                                f"channels on axis {out_axis}")
        return w.ints, scales

    def _bias(self, env, node, acc_scales):
        outs = acc_scales.size
        if len(node.input) < 3 or not node.input[2]:
            return np.zeros(outs, dtype=np.int64)
        b = env.get(node.input[2])
        if isinstance(b, QConst):
            ints = b.ints.reshape(-1)
            if ints.size != outs or b.scales.size not in (1, outs):
                raise ContractError("bias size")
            s = np.broadcast_to(b.scales.astype(np.float64), (outs,))
            real = ints.astype(np.float64) * s
        elif isinstance(b, Const):
            real = b.a.astype(np.float32).astype(np.float64).reshape(-1)
            if real.size != outs:
                raise ContractError("bias size")
        else:
            raise ContractError("the bias must be a constant")
        q = round_half_even_array(real / acc_scales)
        if np.any(np.abs(q) > INT32_MAX):
            raise ContractError("bias overflows int32")
        return q

    def _op_Conv(self, node, env):
        x = self._quant(env, node.input[0], node)
        w, ws = self._weights(env, node.input[1], 0)
        if x.q.ndim != 4 or w.ndim != 4:
            raise ContractError("only 2-D convolutions")
        kh, kw = w.shape[2], w.shape[3]
        if _ints(node, "kernel_shape", [kh, kw]) != [kh, kw]:
            raise ContractError("kernel_shape differs from the weights")
        strides, pads, dil = window_geometry(node, [kh, kw])
        groups = _int(node, "group", 1)
        n, cin, h, wd = x.q.shape
        cout = w.shape[0]
        if cin % groups or cout % groups or w.shape[1] != cin // groups:
            raise ContractError("channels do not match the groups")
        oh = out_extent(h, kh, strides[0], pads[0], pads[2], dil[0], False)
        ow = out_extent(wd, kw, strides[1], pads[1], pads[3], dil[1], False)
        # im2col: (N, Cin, kh*kw, oh*ow) of zero-padded input (zero point 0)
        cols = np.empty((n, cin, kh * kw, oh * ow), dtype=np.int64)
        for k, (view, _, _) in enumerate(window_slices(
                x.q, oh, ow, kh, kw, strides, pads, dil, 0)):
            cols[:, :, k, :] = view.reshape(n, cin, oh * ow)
        acc_scales = ws.astype(np.float64) * x.scale
        bias = self._bias(env, node, acc_scales)
        cg, og = cin // groups, cout // groups
        acc = np.empty((n, cout, oh * ow), dtype=np.int64)
        for g in range(groups):
            c = cols[:, g * cg:(g + 1) * cg].reshape(n, cg * kh * kw, oh * ow)
            wg = w[g * og:(g + 1) * og].reshape(og, cg * kh * kw)
            acc[:, g * og:(g + 1) * og] = np.einsum("ok,nkp->nop", wg, c)
        acc += bias.reshape(1, cout, 1)
        acc = np.clip(acc, INT32_MIN, INT32_MAX).reshape(n, cout, oh, ow)
        self._check_shape(node.output[0], acc.shape)
        env[node.output[0]] = Pending("conv", acc=acc, acc_scales=acc_scales)

    def _op_Gemm(self, node, env):
        if _int(node, "transA", 0) or _float(node, "alpha", 1.0) != 1.0 or \
                _float(node, "beta", 1.0) != 1.0:
            raise ContractError("only Gemm with alpha=1, beta=1, transA=0")
        self._gemm(node, env, transposed=not _int(node, "transB", 0))

    def _op_MatMul(self, node, env):
        self._gemm(node, env, transposed=True)

    def _gemm(self, node, env, transposed):
        x = self._quant(env, node.input[0], node)
        w, ws = self._weights(env, node.input[1], 1 if transposed else 0)
        if w.ndim != 2 or x.q.ndim != 2:
            raise ContractError("Gemm/MatMul on 2-D operands only")
        if transposed:
            w = w.T  # [in, out] -> [out, in]
        if x.q.shape[1] != w.shape[1]:
            raise ContractError("features do not match the weights")
        acc_scales = ws.astype(np.float64) * x.scale
        bias = self._bias(env, node, acc_scales)
        acc = np.einsum("nk,ok->no", x.q, w) + bias.reshape(1, -1)
        acc = np.clip(acc, INT32_MIN, INT32_MAX)
        self._check_shape(node.output[0], acc.shape)
        env[node.output[0]] = Pending("conv", acc=acc, acc_scales=acc_scales)

    # -- pooling --
    def _op_MaxPool(self, node, env):
        x = self._quant(env, node.input[0], node)
        if len(node.output) > 1 and node.output[1]:
            raise ContractError("MaxPool indices are not supported")
        k = _ints(node, "kernel_shape", [1, 1])
        strides, pads, dil = window_geometry(node, k)
        ceil = _int(node, "ceil_mode", 0) != 0
        n, c, h, w = x.q.shape
        oh = out_extent(h, k[0], strides[0], pads[0], pads[2], dil[0], ceil)
        ow = out_extent(w, k[1], strides[1], pads[1], pads[3], dil[1], ceil)
        sentinel = np.iinfo(np.int64).min
        best = np.full((n, c, oh, ow), sentinel, dtype=np.int64)
        for view, _, _ in window_slices(x.q, oh, ow, k[0], k[1], strides,
                                        pads, dil, sentinel):
            best = np.maximum(best, view)
        best[best == sentinel] = 0  # an empty window
        self._check_shape(node.output[0], best.shape)
        env[node.output[0]] = Quant(best, x.scale, x.bits, x.signed)

    def _avgpool(self, node, env, k, strides, pads, dil, ceil, include_pad):
        x = self._quant(env, node.input[0], node)
        n, c, h, w = x.q.shape
        oh = out_extent(h, k[0], strides[0], pads[0], pads[2], dil[0], ceil)
        ow = out_extent(w, k[1], strides[1], pads[1], pads[3], dil[1], ceil)
        sums = np.zeros((n, c, oh, ow), dtype=np.int64)
        valid = np.zeros((oh, ow), dtype=np.int64)
        padded = np.zeros((oh, ow), dtype=np.int64)
        for view, v, pe in window_slices(x.q, oh, ow, k[0], k[1], strides,
                                         pads, dil, 0):
            sums += view
            valid += v
            padded += pe
        counts = padded if include_pad else valid
        self._check_shape(node.output[0], sums.shape)
        env[node.output[0]] = Pending("avgpool", sums=sums,
                                      counts=counts.reshape(1, 1, oh, ow),
                                      s_in=x.scale)

    def _op_AveragePool(self, node, env):
        k = _ints(node, "kernel_shape", [1, 1])
        strides, pads, dil = window_geometry(node, k)
        self._avgpool(node, env, k, strides, pads, dil,
                      _int(node, "ceil_mode", 0) != 0,
                      _int(node, "count_include_pad", 0) != 0)

    def _op_GlobalAveragePool(self, node, env):
        x = self._quant(env, node.input[0], node)
        k = list(x.q.shape[2:])
        self._avgpool(node, env, k, [1, 1], [0, 0, 0, 0], [1, 1], False,
                      False)

    # -- elementwise and shape ops --
    def _op_Add(self, node, env):
        ins = [self._quant(env, i, node) for i in node.input]
        if any(i.q.shape != ins[0].q.shape for i in ins):
            raise ContractError("broadcasting Add is not supported")
        env[node.output[0]] = Pending("add", inputs=ins)

    def _op_Concat(self, node, env):
        if _int(node, "axis", 1) != 1:
            raise ContractError("only channel Concat")
        ins = [self._quant(env, i, node) for i in node.input]
        if any(not i.same_type(ins[0]) for i in ins):
            raise ContractError("Concat inputs must share one scale")
        q = np.concatenate([i.q for i in ins], axis=1)
        env[node.output[0]] = Quant(q, ins[0].scale, ins[0].bits,
                                    ins[0].signed)

    def _op_Flatten(self, node, env):
        x = self._quant(env, node.input[0], node)
        if _int(node, "axis", 1) != 1:
            raise ContractError("only Flatten with axis 1")
        q = x.q.reshape(x.q.shape[0], -1)
        self._check_shape(node.output[0], q.shape)
        env[node.output[0]] = Quant(q, x.scale, x.bits, x.signed)

    def _op_Reshape(self, node, env):
        x = self._quant(env, node.input[0], node)
        shape = [int(d) for d in self._const(env, node.input[1], "the shape")]
        n = x.q.shape[0]
        # The first dimension is the batch (ours may differ from the file's).
        rest = [x.q.shape[i + 1] if d == 0 else d
                for i, d in enumerate(shape[1:])]
        out = [n] + rest
        q = x.q.reshape(out)
        if q.shape[0] != n:
            raise ContractError("reshapes across the batch are not supported")
        self._check_shape(node.output[0], q.shape)
        env[node.output[0]] = Quant(q, x.scale, x.bits, x.signed)

    def _op_Identity(self, node, env):
        env[node.output[0]] = env[node.input[0]]

    def _op_Dropout(self, node, env):
        env[node.output[0]] = env[node.input[0]]


def run_reference(model, x, pow2=False, batch=16):
    """Real outputs (N, K) float64 and integer outputs (N, K) int64 of the
    integer contract for the float32 batch x (N, C, H, W), `batch` images
    at a time (memory)."""
    ref = Reference(model, pow2=pow2)
    x = np.asarray(x, dtype=np.float32)
    reals, ints = [], []
    for i in range(0, x.shape[0], batch):
        r, q = ref.run(x[i:i + batch])
        reals.append(r.reshape(r.shape[0], -1))
        ints.append(q.reshape(q.shape[0], -1))
    return (np.concatenate(reals).astype(np.float64),
            np.concatenate(ints).astype(np.int64))


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("x")
    ap.add_argument("out")
    ap.add_argument("--pow2-scales", action="store_true",
                    help="power-of-two multipliers (marsc compile/train "
                         "--pow2-scales)")
    ap.add_argument("--int-output", help="also write the integer outputs")
    ap.add_argument("--batch", type=int, default=16,
                    help="images per step (memory)")
    a = ap.parse_args(argv)
    x = np.load(a.x)
    if x.ndim != 4:
        ap.error("X must be (N, C, H, W)")
    reals, ints = run_reference(a.model, x, a.pow2_scales, a.batch)
    np.save(a.out, reals)
    if a.int_output:
        np.save(a.int_output, ints)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ContractError as e:
        print(f"numpy_reference: error: {e}", file=sys.stderr)
        sys.exit(1)
