#!/usr/bin/python3
"""marsc's integer contract ≡ an independent NumPy reimplementation
(DESIGN.md §3): `marsc eval --integer` (lib/quant), `marsc train`'s integer
evaluation and `marsc run` (the chip simulator) compute exactly what
numpy_reference.py computes from the QDQ ONNX file alone.

Usage: check_numpy_reference.py MARSC WORKDIR [NAME ...]

NAME is any of the zoo models (lenet5, vgg-small, resnet20, resnet18, vgg16),
resnet20-pow2, synthetic, synthetic-sub-only, fashion-mnist and
fashion-mnist-meanstd (default: all of these).

Zoo models, on seeded random inputs:
  marsc zoo NAME --batch N -o m.onnx
  marsc compile m.onnx --calib random --calib-limit 8 --prune 0.5
                --save-qdq q.onnx -o p.bin
  marsc eval q.onnx --integer --input x.npy --output ref.npy
      must equal numpy_reference.py q.onnx x.npy (every output, exactly);
  marsc run p.bin --input x[0].npy --output chip.npy
      must equal it on the first image.
resnet20-pow2 does the same with --pow2-scales (the QDQ file records the
mode, so eval, run and the reference all lower it with shifts). synthetic is
a small QDQ model written here with onnx.helper (see build_synthetic) for
the ops and attributes the zoo does not use; it is compiled as is.
synthetic-sub-only normalises its input by Sub alone (x - mean, no Mul).

Fashion-MNIST (Debian's dataset-fashion-mnist, read here with gzip+numpy):
  marsc train (a very short schedule, 2048 training and 500 test images)
  marsc compile compressed.onnx -o p.bin
  marsc run p.bin --data fashion-mnist --limit 500 --json
The reference classifies the first 500 test images; its correct count must
equal marsc run's and the count train reports, and on the first images
its logits must equal `marsc eval --integer` and `marsc run --input`, and
`marsc verify` (the QDQ file train wrote, evaluated in float64) must find
every value of every layer equal to the integer reference on 100 images.
fashion-mnist-meanstd trains with --normalize meanstd (Sub/Mul before the
input's QuantizeLinear) and checks the same.

Prints "ok   NAME: ..." or "FAIL NAME: ..." per check and ends with
"N passed, M failed"; exits 1 on any failure. Exits 77 (skip) when numpy or
python3-onnx, the dataset or marsc-train (LibTorch) is missing, unless
MARS_REQUIRE_DATA=1: then that is a failure.
"""
import gzip
import json
import os
import subprocess
import sys
import time

REQUIRE = os.environ.get("MARS_REQUIRE_DATA") == "1"
HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import numpy as np
    import onnx  # noqa: F401  (numpy_reference needs it)
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: numpy/python3-onnx missing ({e}); `make test` installs "
          "them", flush=True)
    sys.exit(1 if REQUIRE else 77)

sys.path.insert(0, HERE)
import numpy_reference  # noqa: E402

ZOO = ["lenet5", "vgg-small", "resnet20", "resnet18", "vgg16"]
# Debug+ASan builds are slow: few images for the big models.
IMAGES = {"lenet5": 16, "vgg-small": 8, "resnet20": 8, "resnet18": 4,
          "vgg16": 4, "resnet20-pow2": 8, "synthetic": 16,
          "synthetic-sub-only": 4}
# Models written by build_synthetic (name -> sub_only).
SYNTHETIC = {"synthetic": False, "synthetic-sub-only": True}
FASHION_DIR = "/usr/share/datasets/fashion-mnist"
TEST_IMAGES = 500
LOGIT_IMAGES = 2  # images whose logits are compared one by one
VERIFY_IMAGES = 100  # images `marsc verify` compares layer by layer

# The schedule of test/train/TrainCliTest.cpp's quickTrain.
TRAIN_ARGS = ["--limit-train", "2048", "--limit-test", str(TEST_IMAGES),
              "--epochs", "1", "--qat-epochs", "1", "--prune-epochs", "1",
              "--finetune-epochs", "1", "--threads", "2", "--no-progress",
              "--seed", "3"]
TRAINS = {"fashion-mnist": [],
          "fashion-mnist-meanstd": ["--normalize", "meanstd",
                                    "--stages", "float,qat"]}


class Missing(Exception):
    """A dependency outside this repository is missing (skip)."""


class Results:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def check(self, name, ok, detail):
        print(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}", flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def run(cmd, what=None, ok_codes=(0,)):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in ok_codes:
        raise RuntimeError(f"{what or ' '.join(cmd[1:3])} exited "
                           f"{r.returncode}: {r.stderr.strip()[-2000:]}")
    return r


def compare(mine, theirs):
    """(equal, detail) for the reference's float64 reals and marsc's float32
    output: marsc writes each real value rounded to float32."""
    mine = np.asarray(mine, dtype=np.float64)
    theirs = np.asarray(theirs).reshape(mine.shape)
    if theirs.dtype != np.float32:
        return False, f"marsc wrote {theirs.dtype}, expected float32"
    expect = mine.astype(np.float32)
    if np.array_equal(expect, theirs):
        return True, f"{mine.size} outputs equal"
    diff = np.argwhere(expect != theirs)
    i = tuple(diff[0])
    return False, (f"{len(diff)} of {mine.size} outputs differ; first at "
                   f"{i}: marsc {float(theirs[i])!r}, numpy "
                   f"{float(expect[i])!r}")


def describe_lsb(mine_reals, mine_ints, theirs):
    """How far apart in output LSBs (reals / ints gives each LSB)."""
    reals = np.asarray(mine_reals, dtype=np.float64)
    ints = np.asarray(mine_ints, dtype=np.float64)
    theirs = np.asarray(theirs, dtype=np.float64).reshape(reals.shape)
    nz = ints != 0
    if not nz.any():
        return ""
    lsb = np.abs(reals[nz] / ints[nz])
    off = np.abs(theirs[nz] - reals[nz]) / lsb
    return f", worst {off.max():.3g} LSB"


def input_shape(onnx_path):
    m = onnx.load(onnx_path)
    dims = m.graph.input[0].type.tensor_type.shape.dim
    return [d.dim_value for d in dims][1:]


def build_synthetic(path, batch, sub_only=False):
    """A small QDQ model written here with onnx.helper, for the paths the zoo
    does not take: Sub/Mul/Clip input normalisation, a 4-bit activation
    (bits from "mars.quant." metadata, as marsc writes them), dilation, a
    grouped Conv with a float bias, MaxPool and AveragePool with ceil_mode,
    asymmetric pads and count_include_pad, a signed Add with a Clip, a
    rescaling QuantizeLinear, Concat, and a Gemm with [in, out] weights and
    per-channel scales on axis 1. With sub_only the input is normalised by
    Sub alone."""
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(7)
    inits, nodes, meta = [], [], {}

    def const(name, a):
        inits.append(numpy_helper.from_array(a, name))
        return name

    def qdq(x, name, scale, signed, bits=8):
        const(name + ".scale", np.array(scale, np.float32))
        const(name + ".zp", np.array(0, np.int8 if signed else np.uint8))
        nodes.append(helper.make_node(
            "QuantizeLinear", [x, name + ".scale", name + ".zp"], [name + ".q"]))
        nodes.append(helper.make_node(
            "DequantizeLinear", [name + ".q", name + ".scale", name + ".zp"],
            [name + ".dq"]))
        if bits != 8:
            meta[name + ".q"] = (f"bits={bits};axis=-1;"
                                 f"scales={np.float32(scale)!r};zero_points=0")
        return name + ".dq"

    def weights(name, shape, axis, sx, bias):
        out = shape[axis]
        w = rng.integers(-127, 128, shape).astype(np.int8)
        ws = (rng.random(out) * 0.02 + 0.002).astype(np.float32)
        const(name + ".w_int", w)
        const(name + ".w_scale", ws)
        const(name + ".w_zp", np.zeros(out, np.int8))
        nodes.append(helper.make_node(
            "DequantizeLinear", [name + ".w_int", name + ".w_scale",
                                 name + ".w_zp"], [name + ".w"], axis=axis))
        if bias == "float":
            return name + ".w", const(name + ".b",
                                      rng.normal(0, 0.3, out).astype(np.float32))
        bs = (ws.astype(np.float64) * sx).astype(np.float32)
        const(name + ".b_int", rng.integers(-3000, 3000, out).astype(np.int32))
        const(name + ".b_scale", bs)
        const(name + ".b_zp", np.zeros(out, np.int32))
        nodes.append(helper.make_node(
            "DequantizeLinear", [name + ".b_int", name + ".b_scale",
                                 name + ".b_zp"], [name + ".b"], axis=0))
        return name + ".w", name + ".b"

    const("mean", np.array([0.5, 0.4, 0.3], np.float32).reshape(1, 3, 1, 1))
    nodes.append(helper.make_node("Sub", ["x", "mean"], ["x_sub"]))
    if sub_only:
        x = qdq("x_sub", "in", 0.00390625, True)
    else:
        const("inv_std", np.array([4.1, 3.3, 2.7],
                                  np.float32).reshape(1, 3, 1, 1))
        const("in_lo", np.array(-1.5, np.float32))
        const("in_hi", np.array(1.5, np.float32))
        nodes.append(helper.make_node("Mul", ["x_sub", "inv_std"], ["x_mul"]))
        nodes.append(helper.make_node("Clip", ["x_mul", "in_lo", "in_hi"],
                                      ["x_clip"]))
        x = qdq("x_clip", "in", 0.0118, True)
    sx = 0.00390625 if sub_only else 0.0118
    w, b = weights("conv1", (8, 3, 3, 3), 0, float(np.float32(sx)), "int")
    nodes.append(helper.make_node("Conv", [x, w, b], ["conv1.y"],
                                  pads=[2, 2, 2, 2], dilations=[2, 2]))
    nodes.append(helper.make_node("Relu", ["conv1.y"], ["relu1"]))
    a1 = qdq("relu1", "a1", 0.31, False, bits=4)
    nodes.append(helper.make_node("MaxPool", [a1], ["pool1"],
                                  kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1], ceil_mode=1))
    nodes.append(helper.make_node("AveragePool", ["pool1"], ["avg1"],
                                  kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
    a2 = qdq("avg1", "a2", 0.07, False)
    w, b = weights("conv2", (8, 4, 1, 1), 0, 0.07, "float")
    nodes.append(helper.make_node("Conv", [a2, w, b], ["conv2.y"], group=2))
    a3 = qdq("conv2.y", "a3", 0.06, True)
    nodes.append(helper.make_node("Add", [a3, a2], ["add"]))
    const("add_lo", np.array(-4.0, np.float32))
    const("add_hi", np.array(6.0, np.float32))
    nodes.append(helper.make_node("Clip", ["add", "add_lo", "add_hi"],
                                  ["add_clip"]))
    a4 = qdq("add_clip", "a4", 0.05, True)
    a5 = qdq(a4, "a5", 0.043, True)  # a rescale of a quantized value
    nodes.append(helper.make_node("Concat", [a5, a5], ["cat"], axis=1))
    nodes.append(helper.make_node("AveragePool", ["cat"], ["avg2"],
                                  kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[0, 0, 1, 1], ceil_mode=1,
                                  count_include_pad=1))
    a6 = qdq("avg2", "a6", 0.06, True)
    nodes.append(helper.make_node("GlobalAveragePool", [a6], ["gap"]))
    a7 = qdq("gap", "a7", 0.04, True)
    nodes.append(helper.make_node("Flatten", [a7], ["flat"]))
    w, b = weights("fc", (16, 10), 1, 0.04, "int")
    nodes.append(helper.make_node("Gemm", ["flat", w, b], ["logits"]))
    graph = helper.make_graph(
        nodes, "synthetic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                       [batch, 3, 12, 12])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       [batch, 10])], inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 13)])
    for k, v in meta.items():
        p = model.metadata_props.add()
        p.key, p.value = numpy_reference.QUANT_PREFIX + k, v
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return [3, 12, 12]


def check_zoo(marsc, workdir, name, res):
    model = name[:-len("-pow2")] if name.endswith("-pow2") else name
    pow2 = name.endswith("-pow2")
    base = os.path.join(workdir, name)
    n = IMAGES.get(name, 4)
    start = time.time()
    if name in SYNTHETIC:
        shape = build_synthetic(base + ".qdq.onnx", n, SYNTHETIC[name])
    else:
        run([marsc, "zoo", model, "--batch", str(n), "-o", base + ".onnx"])
        shape = input_shape(base + ".onnx")
    rng = np.random.default_rng(1)
    x = rng.random((n, *shape), dtype=np.float32)
    np.save(base + ".x.npy", x)
    np.save(base + ".x0.npy", x[:1])
    if name in SYNTHETIC:  # already quantized
        run([marsc, "compile", base + ".qdq.onnx", "-o", base + ".bin"])
    else:
        run([marsc, "compile", base + ".onnx", "--calib", "random",
             "--calib-limit", "8", "--prune", "0.5", "--save-qdq",
             base + ".qdq.onnx", "-o", base + ".bin"] +
            (["--pow2-scales"] if pow2 else []))
    compiled = time.time()

    # The reference, through its command line.
    t = time.time()
    # Power-of-two mode comes from the file's own metadata, not an option.
    run([sys.executable, os.path.join(HERE, "numpy_reference.py"),
         base + ".qdq.onnx", base + ".x.npy", base + ".numpy.npy",
         "--int-output", base + ".numpy-int.npy"], "numpy_reference.py")
    numpy_seconds = time.time() - t
    mine = np.load(base + ".numpy.npy")
    mine_ints = np.load(base + ".numpy-int.npy")

    # The file records power-of-two mode, so eval lowers it like the chip.
    t = time.time()
    run([marsc, "eval", base + ".qdq.onnx", "--integer", "--input",
         base + ".x.npy", "--output", base + ".integer.npy"])
    theirs = np.load(base + ".integer.npy").reshape(n, -1)
    ok, detail = compare(mine, theirs)
    if not ok:
        detail += describe_lsb(mine, mine_ints, theirs)
    res.check(f"{name} eval --integer", ok,
              f"{n} images, {detail} (marsc {time.time() - t:.1f} s, "
              f"numpy {numpy_seconds:.1f} s)")

    t = time.time()
    run([marsc, "run", base + ".bin", "--input", base + ".x0.npy",
         "--output", base + ".chip.npy", "--quiet"])
    chip = np.load(base + ".chip.npy").reshape(1, -1)
    ok, detail = compare(mine[:1], chip)
    if not ok:
        detail += describe_lsb(mine[:1], mine_ints[:1], chip)
    res.check(f"{name} run", ok,
              f"first image, {detail} (run {time.time() - t:.1f} s; zoo + "
              f"compile {compiled - start:.1f} s)")


def read_idx(path, magic):
    with gzip.open(path, "rb") as f:
        data = f.read()
    head = np.frombuffer(data, dtype=">u4", count=1)[0]
    if head != magic:
        raise RuntimeError(f"{path}: magic {head}, expected {magic}")
    ndim = magic & 0xFF
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4)
    return np.frombuffer(data, dtype=np.uint8,
                         offset=4 + 4 * ndim).reshape(tuple(int(d) for d in
                                                            dims))


def fashion_test(count):
    images = os.path.join(FASHION_DIR, "t10k-images-idx3-ubyte.gz")
    labels = os.path.join(FASHION_DIR, "t10k-labels-idx1-ubyte.gz")
    if not (os.path.exists(images) and os.path.exists(labels)):
        raise Missing(f"{FASHION_DIR} (Debian's dataset-fashion-mnist)")
    x = read_idx(images, 0x00000803)[:count]
    y = read_idx(labels, 0x00000801)[:count]
    # marsc's reader (lib/data imageAsFloat): float(pixel) / 255.0f.
    x = x.astype(np.float32).reshape(-1, 1, 28, 28) / np.float32(255.0)
    return x, y.astype(np.int64)


def check_train(marsc, workdir, name, res):
    x, labels = fashion_test(TEST_IMAGES)
    marsc_train = os.path.join(os.path.dirname(os.path.abspath(marsc)),
                               "marsc-train")
    if not os.path.exists(marsc_train):
        raise Missing(f"{marsc_train} (built only with LibTorch)")
    out = os.path.join(workdir, name + ".onnx")
    report_path = os.path.join(workdir, name + ".report.json")
    for p in (out, report_path):
        if os.path.exists(p):
            os.remove(p)
    start = time.time()
    r = run([marsc, "train"] + TRAIN_ARGS + TRAINS[name] +
            ["-o", out, "--json"], "marsc train")
    train_seconds = time.time() - start
    report = json.loads(r.stdout)
    with open(report_path) as f:
        if json.load(f) != report:
            raise RuntimeError(f"{report_path} differs from the JSON on "
                               "stdout")
    reported = int(report["accuracy"]["integer_correct"])
    tested = int(report["accuracy"]["test_images"])

    program = os.path.join(workdir, name + ".bin")
    run([marsc, "compile", out, "-o", program])
    t = time.time()
    ran = json.loads(run([marsc, "run", program, "--data", "fashion-mnist",
                          "--limit", str(TEST_IMAGES), "--json",
                          "--quiet"]).stdout)["functional"]
    run_seconds = time.time() - t

    t = time.time()
    reals, ints = numpy_reference.run_reference(out, x)
    numpy_seconds = time.time() - t
    # argmax: the first of equal largest reals, as marsc's argmaxClass.
    predicted = reals.argmax(axis=1)
    mine = int(np.sum(predicted == labels))

    res.check(f"{name} run", ran["images"] == TEST_IMAGES and
              ran["correct"] == mine,
              f"{ran['images']} test images: marsc run {ran['correct']} "
              f"correct, numpy {mine} (run {run_seconds:.1f} s, numpy "
              f"{numpy_seconds:.1f} s)")
    res.check(f"{name} train", tested == TEST_IMAGES and reported == mine,
              f"{tested} test images: marsc train's integer evaluation "
              f"{reported} correct, numpy {mine} on the first "
              f"{TEST_IMAGES} (train {train_seconds:.1f} s)")

    # The logits themselves, image by image (the model's batch is 1).
    details, ok = [], True
    for i in range(LOGIT_IMAGES):
        xi = os.path.join(workdir, f"{name}.x{i}.npy")
        np.save(xi, x[i:i + 1])
        ev = os.path.join(workdir, f"{name}.integer{i}.npy")
        chip = os.path.join(workdir, f"{name}.chip{i}.npy")
        run([marsc, "eval", out, "--integer", "--input", xi, "--output", ev])
        run([marsc, "run", program, "--input", xi, "--output", chip,
             "--quiet"])
        for what, path in (("eval --integer", ev), ("run", chip)):
            good, d = compare(reals[i:i + 1], np.load(path))
            ok &= good
            if not good:
                details.append(f"image {i} {what}: {d}")
    res.check(f"{name} logits", ok,
              "; ".join(details) if details else
              f"first {LOGIT_IMAGES} images: eval --integer and run equal "
              f"numpy ({reals.shape[1]} logits each)")

    # The QDQ file train wrote, read with ONNX semantics in float64: every
    # value of every layer equals the integer reference's (and the chip's).
    v = run([marsc, "verify", out, program, "--data", "fashion-mnist",
             "--limit", str(VERIFY_IMAGES), "--json"], "marsc verify",
            ok_codes=(0, 1))
    j = json.loads(v.stdout)
    differing = sum(layer["qdq"]["differing"] for layer in j["layers"]
                    if "qdq" in layer)
    compared = sum(layer["elements"] for layer in j["layers"]
                   if "qdq" in layer) * j["images"]
    res.check(f"{name} qdq", j["agree"] and j["qdq_precision"] == "f64" and
              differing == 0 and compared > 0 and
              j["classes"]["qdq"] == j["classes"]["integer"],
              f"marsc verify on {j['images']} test images: {differing} of "
              f"{compared} QDQ values (float64) differ from the integer "
              f"reference" + ("" if j["agree"] else
                              f"; {v.stderr.strip()}"))


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    marsc, workdir = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or (ZOO + ["resnet20-pow2"] + list(SYNTHETIC) +
                             list(TRAINS))
    os.makedirs(workdir, exist_ok=True)
    res = Results()
    start = time.time()
    for name in names:
        try:
            if name in TRAINS:
                check_train(marsc, workdir, name, res)
            else:
                check_zoo(marsc, workdir, name, res)
        except Missing as e:
            if REQUIRE:
                res.check(name, False, f"{e} is missing and "
                          "MARS_REQUIRE_DATA=1")
            else:
                print(f"SKIP {name}: {e} is missing", flush=True)
                res.skipped += 1
        except Exception as e:  # a failing step is a failed check, not a crash
            res.check(name, False, str(e))
    print(f"({time.time() - start:.0f} s)", flush=True)
    print(f"{res.passed} passed, {res.failed} failed")
    if res.failed:
        return 1
    return 77 if res.skipped else 0


if __name__ == "__main__":
    sys.exit(main())
