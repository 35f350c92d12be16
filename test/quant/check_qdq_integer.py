#!/usr/bin/python3
"""QDQ ≡ integer: the QDQ file marsc writes means what the integer reference
computes, and the chip computes exactly that (DESIGN.md §3, exact ADC).

Usage: check_qdq_integer.py MARSC WORKDIR [NAME ...]

For the zoo's lenet5, vgg-small, vgg16, resnet18, resnet20, mobilenet-tiny
(and resnet20 with --pow2-scales)
and for PyTorch exports of torchvision resnet18, mobilenet_v2, squeezenet1_1,
a LeNet with AvgPool2d, an average pool concatenated with a convolution
(DenseNet's pattern) and two models whose BatchNormalizations no convolution
precedes (a pre-activation ResNet's BN -> ReLU -> Conv after an Add, and
DenseNet's BN after a Concat), made here with Debian's python3-torch and
python3-torchvision:

  marsc compile m.onnx --calib random --prune 0.5 --save-qdq q.onnx -o p.bin
  marsc verify q.onnx p.bin --input x.npy --json                  # float64
  marsc verify q.onnx p.bin --input x.npy --json --precision f32

`marsc verify` evaluates the QDQ file with the float reference interpreter
(ONNX semantics, read at every QuantizeLinear), the integer reference and the
chip on the same images, layer by layer. Required on every image:
  - the same top-1 class from all three, at both precisions;
  - the chip equal to the integer reference everywhere;
  - float64 (the file's real arithmetic to about 2^-50; the input's
    preprocessing stays float32, as the contract defines it): every QDQ
    value equal to the integer value, in every layer, the output included
    (for the logits, a raw accumulator, equal in units of weight scale ×
    input scale). This is point 1's "every output element within 1 LSB",
    with 0 LSB;
  - float32 (what an ONNX runtime computes): in every layer whose inputs
    agreed exactly, every QDQ value within 1 LSB of the integer value, and
    such 1-LSB differences below 0.1% of that layer's elements. They are
    float32 rounding near a rounding tie, the accepted cause, and the
    float64 run proves it: the same file evaluated without float32 rounding
    has none. Values downstream of such a tie inherit it (their inputs
    differ): they are counted and printed ("differing in all") but not
    bounded, because a 1-LSB input difference can move a later value by
    more than one LSB.

Exits 77 (skip) when torch/torchvision/onnx are missing, unless
MARS_REQUIRE_DATA=1, which `.ci/run` sets: then that is a failure.
"""
import json
import os
import subprocess
import sys

REQUIRE = os.environ.get("MARS_REQUIRE_DATA") == "1"

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
    import torch
    import torch.nn as nn
    import torchvision
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: python3-torch/torchvision/onnx missing ({e}); "
          "`make test` installs them", flush=True)
    sys.exit(1 if REQUIRE else 77)

ZOO = ["lenet5", "vgg-small", "vgg16", "resnet18", "resnet20", "mobilenet-tiny"]
# Power-of-two mode: scales and multipliers are powers of two.
POW2 = ["resnet20-pow2"]
TORCH = ["tv_resnet18", "tv_mobilenet_v2", "tv_squeezenet1_1",
         "lenet_avgpool", "pool_concat", "preact_resnet", "densenet_bn"]
# Debug+ASan builds are slow: few images for the big models.
IMAGES = {"lenet5": 16, "vgg16": 2, "resnet18": 2, "vgg-small": 4,
          "tv_resnet18": 2, "tv_mobilenet_v2": 2, "tv_squeezenet1_1": 4}


class LeNetAvgPool(nn.Module):
    """LeNet-5 as LeCun drew it: 5×5 convolutions and 2×2 average pooling."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84),
            nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class PoolConcat(nn.Module):
    """DenseNet's transition-then-concatenate pattern: an average pool's
    output joins a convolution's in one Concat, so the pool output must keep
    the Concat's one scale."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU())
        self.pool = nn.AvgPool2d(2)
        self.down = nn.Sequential(nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU())
        self.head = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(16, 10))

    def forward(self, x):
        x = self.stem(x)
        return self.head(torch.cat([self.pool(x), self.down(x)], 1))


class PreActBlock(nn.Module):
    """A pre-activation residual block (He et al. 2016): BN -> ReLU -> Conv,
    twice, the first BN reading the block's input (an Add's output after the
    first block), not a convolution's."""

    def __init__(self, c):
        super().__init__()
        self.bn1, self.c1 = nn.BatchNorm2d(c), nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2, self.c2 = nn.BatchNorm2d(c), nn.Conv2d(c, c, 3, 1, 1, bias=False)

    def forward(self, x):
        y = self.c1(torch.relu(self.bn1(x)))
        return x + self.c2(torch.relu(self.bn2(y)))


class PreActNet(nn.Module):
    def __init__(self, cin=3, side=16):
        super().__init__()
        self.stem = nn.Conv2d(cin, 16, 3, stride=2, padding=1)
        self.blocks = nn.Sequential(PreActBlock(16), PreActBlock(16))
        self.bn = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16 * (side // 4) ** 2, 10)

    def forward(self, x):
        x = torch.relu(self.bn(self.blocks(self.stem(x))))
        return self.fc(torch.flatten(nn.functional.max_pool2d(x, 2), 1))


class DenseBn(nn.Module):
    """DenseNet's order: a BN reads a Concat (BN -> ReLU -> Conv), in a dense
    layer, a transition and the head."""

    def __init__(self, cin=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(cin, 8, 3, padding=1), nn.ReLU())
        self.layer = nn.Sequential(nn.BatchNorm2d(8), nn.ReLU(),
                                   nn.Conv2d(8, 8, 3, padding=1))
        self.transition = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU(),
                                        nn.Conv2d(16, 16, 1), nn.AvgPool2d(2))
        self.layer2 = nn.Sequential(nn.BatchNorm2d(16), nn.ReLU(),
                                    nn.Conv2d(16, 8, 3, padding=1))
        self.head = nn.Sequential(nn.BatchNorm2d(24), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(24, 10))

    def forward(self, x):
        x = self.stem(x)
        x = self.transition(torch.cat([x, self.layer(x)], 1))
        return self.head(torch.cat([x, self.layer2(x)], 1))


def torch_model(name):
    torch.manual_seed(0)
    if name == "lenet_avgpool":
        return LeNetAvgPool(), (1, 28, 28)
    if name == "pool_concat":
        return PoolConcat(), (3, 16, 16)
    if name == "preact_resnet":
        return PreActNet(), (3, 16, 16)
    if name == "densenet_bn":
        return DenseBn(), (3, 16, 16)
    ctor = getattr(torchvision.models, name[3:])
    return ctor(num_classes=10), (3, 32, 32)


def export_torch(name, path, batch):
    model, chw = torch_model(name)
    model.eval()
    # Give BN non-trivial statistics so that folding it matters.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    torch.onnx.export(model, torch.zeros(batch, *chw), path, opset_version=13,
                      input_names=["input"], output_names=["logits"])
    return chw


STANDALONE_BN = ("preact_resnet", "densenet_bn")


def standalone_bns(path):
    """BatchNormalization nodes whose input no Conv produces."""
    g = onnx.load(path).graph
    producer = {o: n.op_type for n in g.node for o in n.output}
    return sum(1 for n in g.node if n.op_type == "BatchNormalization"
               and producer.get(n.input[0]) != "Conv")


def run(cmd, ok_codes=(0,)):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd[1:3])} exited {r.returncode}: "
                           f"{r.stderr.strip()}")
    return r


def verify(marsc, base, precision, problems):
    """`marsc verify --json` at `precision` (None: the default, which must be
    f64); a top-1 disagreement is a problem. Returns (json, process)."""
    r = run([marsc, "verify", base + ".qdq.onnx", base + ".bin", "--input",
             base + ".x.npy", "--json"] +
            (["--precision", precision] if precision else []),
            ok_codes=(0, 1))
    j = json.loads(r.stdout)
    want = precision or "f64"
    if j["qdq_precision"] != want:
        problems.append(f"verify ran in {j['qdq_precision']}, not {want}")
    classes = j["classes"]
    if not (classes["qdq"] == classes["integer"] == classes["chip"]):
        problems.append(f"{want} top-1 differs: qdq {classes['qdq']}, "
                        f"integer {classes['integer']}, chip "
                        f"{classes['chip']}")
    return j, r


def check_float64(marsc, base, problems):
    """`marsc verify` at its default precision (float64): every QDQ value,
    the logits included, must equal the integer reference's. Returns the
    number of values compared."""
    j, r = verify(marsc, base, None, problems)
    compared = 0
    for layer in j["layers"]:
        if "qdq" not in layer:
            continue
        compared += layer["elements"] * j["images"]
        if layer["qdq"]["differing"]:
            problems.append(f"f64 {layer['layer']}: "
                            f"{layer['qdq']['differing']} values differ, max "
                            f"{layer['qdq']['max_diff_lsb']} LSB")
    if not j["layers"] or "qdq" not in j["layers"][-1]:
        problems.append("f64: the output layer was not compared")
    if "divergence" in j or r.returncode != 0:
        problems.append(f"f64 verify: {r.stderr.strip()}")
    return compared


def check(marsc, workdir, name):
    base = os.path.join(workdir, name)
    n = IMAGES.get(name, 8)
    pow2 = name.endswith("-pow2")
    model = name[:-len("-pow2")] if pow2 else name
    if model in ZOO:
        run([marsc, "zoo", model, "-o", base + ".onnx"])
        shape = [d.dim_value for d in
                 onnx.load(base + ".onnx").graph.input[0].type.tensor_type
                 .shape.dim][1:]
    else:
        shape = export_torch(name, base + ".onnx", 1)
        if name in STANDALONE_BN and standalone_bns(base + ".onnx") == 0:
            raise RuntimeError("the export has no BatchNormalization that "
                               "no Conv precedes; nothing would be tested")
    rng = np.random.default_rng(1)
    x = rng.random((n, *shape), dtype=np.float32)
    np.save(base + ".x.npy", x)
    run([marsc, "compile", base + ".onnx", "--calib", "random",
         "--calib-limit", "8", "--prune", "0.5", "--save-qdq",
         base + ".qdq.onnx", "-o", base + ".bin"] +
        (["--pow2-scales"] if pow2 else []))
    problems = []
    exact_values = check_float64(marsc, base, problems)
    j, r = verify(marsc, base, "f32", problems)
    classes = j["classes"]
    total = differing = ties = 0
    logits = ""
    for layer in j["layers"]:
        elems = layer["elements"] * j["images"]
        if "chip" in layer and layer["chip"]["differing"]:
            problems.append(f"chip differs in {layer['layer']}")
        if "qdq" not in layer:
            continue
        q = layer["qdq"]
        if layer is j["layers"][-1] and layer["op"] == "Conv" and \
                not layer["inputs_agreed"]:
            logits = (f"; logits inherit {q['differing']}/{elems} "
                      f"differences, max {q['max_diff_lsb']} LSB")
            continue
        total += elems
        differing += q["differing"]
        if layer["inputs_agreed"]:
            ties += q["differing"]
            if q["max_diff_lsb"] > 1 or q["differing"] >= 0.001 * elems:
                problems.append(f"{layer['layer']}: {q['differing']}/{elems} "
                                f"differ, max {q['max_diff_lsb']} LSB")
    if "divergence" in j:
        problems.append(f"verify: {r.stderr.strip()}")
    ok = not problems
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {n} images; float64: all "
          f"{exact_values} values equal, output included; float32: {total} "
          f"quantized values, {ties} off by 1 LSB at a tie, {differing} "
          f"differing in all{logits}; top-1 {classes['integer']}"
          + ("" if ok else " -- " + "; ".join(problems)), flush=True)
    return ok


def main():
    marsc, workdir = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or ZOO + POW2 + TORCH
    os.makedirs(workdir, exist_ok=True)
    passed = failed = 0
    for name in names:
        try:
            ok = check(marsc, workdir, name)
        except Exception as e:  # a failing step is a failed model, not a crash
            print(f"FAIL {name}: {e}", flush=True)
            ok = False
        passed += ok
        failed += not ok
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
