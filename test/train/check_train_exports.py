#!/usr/bin/python3
"""`marsc train` takes the PyTorch exports `marsc compile` takes.

Usage: check_train_exports.py MARSC WORKDIR

Exports five Fashion-MNIST-sized models (1x28x28 input, 10 classes) whose
ONNX forms the trainer once refused, checks that each export really has the
form in question, trains each on the short schedule of TrainCliTest's
quickTrain (with batches of 32: these models have no BatchNormalization and learn
little in 16 steps of 128; and dense: with one to three small inner layers,
the whole --sparsity target falls on them and pruning kills the model),
compiles the compressed model and runs it on the simulator over
the same 500 test images: the program must classify exactly as many
correctly as training's integer evaluation (DESIGN.md §3).
  lenet-avgpool  nn.AvgPool2d(2, padding=1): the exporter writes Pad +
                 AveragePool (canonicalisation folds the zero Pad);
  fire           a SqueezeNet fire module, torch.cat of two expand branches
                 (Concat; one shared quantization scale);
  identity-bias  a Conv bias that reaches the Conv as Constant -> Identity
                 (as SqueezeNet exports do), rewritten into the export;
  preact         a pre-activation ResNet: BN -> ReLU -> Conv after an Add;
  densenet-bn    DenseNet's BN after a Concat (both from
                 test/quant/check_qdq_integer.py).
Exits 77 (ctest's skip code) without torch/onnx or Fashion-MNIST, 1 under
MARS_REQUIRE_DATA=1.
"""
import json
import os
import subprocess
import sys

REQUIRE = os.environ.get("MARS_REQUIRE_DATA") == "1"
try:
    import onnx
    import torch
    import torch.nn as nn
    from onnx import helper, numpy_helper
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: python3-torch/python3-onnx missing ({e})", flush=True)
    sys.exit(1 if REQUIRE else 77)

# The models whose BatchNormalizations no Conv precedes, shared with the
# QDQ check (test/quant).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "quant"))
from check_qdq_integer import DenseBn, PreActNet, standalone_bns  # noqa: E402

if not os.path.exists("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"):
    print("SKIP: Fashion-MNIST (dataset-fashion-mnist) is not installed")
    sys.exit(1 if REQUIRE else 77)


class LeNetAvgPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 6, 5, padding=2)
        self.p1 = nn.AvgPool2d(2)
        self.c2 = nn.Conv2d(6, 16, 5)
        self.p2 = nn.AvgPool2d(2, padding=1)  # exported as Pad + AveragePool
        self.fc1 = nn.Linear(16 * 6 * 6, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.p1(torch.relu(self.c1(x)))
        x = self.p2(torch.relu(self.c2(x)))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


class Fire(nn.Module):
    def __init__(self, cin, squeeze, expand):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1),
                                     nn.BatchNorm2d(squeeze))
        self.e1 = nn.Sequential(nn.Conv2d(squeeze, expand, 1),
                                nn.BatchNorm2d(expand))
        self.e3 = nn.Sequential(nn.Conv2d(squeeze, expand, 3, padding=1),
                                nn.BatchNorm2d(expand))

    def forward(self, x):
        s = torch.relu(self.squeeze(x))
        return torch.cat([torch.relu(self.e1(s)), torch.relu(self.e3(s))], 1)


class FireNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 16, 3, stride=2, padding=1),
                                  nn.BatchNorm2d(16))
        self.fire = Fire(16, 8, 16)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = self.pool(self.fire(torch.relu(self.stem(x))))
        return self.fc(torch.flatten(x, 1))


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = nn.functional.max_pool2d(torch.relu(self.c1(x)), 2)
        return self.fc(torch.flatten(torch.relu(self.c2(x)), 1))


def export(make, path):
    torch.manual_seed(0)
    model = make().eval()
    torch.onnx.export(model, torch.rand(1, 1, 28, 28), path, opset_version=15,
                      do_constant_folding=False, input_names=["input"],
                      output_names=["logits"])
    return onnx.load(path)


def ops(m):
    return [n.op_type for n in m.graph.node]


def bias_through_identity(m, path):
    """Feeds the first Conv's bias through Constant -> Identity."""
    g = m.graph
    conv = next(n for n in g.node if n.op_type == "Conv" and len(n.input) == 3)
    init = next(i for i in g.initializer if i.name == conv.input[2])
    g.initializer.remove(init)
    const = helper.make_node("Constant", [], ["bias_const"], name="bias_const",
                             value=numpy_helper.from_array(
                                 numpy_helper.to_array(init), "bias_value"))
    ident = helper.make_node("Identity", ["bias_const"], ["bias_ident"],
                             name="bias_identity")
    conv.input[2] = "bias_ident"
    at = list(g.node).index(conv)
    g.node.insert(at, ident)
    g.node.insert(at, const)
    onnx.checker.check_model(m)
    onnx.save(m, path)


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(" ".join(cmd), "\n", r.stdout, r.stderr, flush=True)
    return r


def main():
    marsc, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    failures = []
    models = {}
    p = os.path.join(work, "lenet-avgpool.onnx")
    m = export(LeNetAvgPool, p)
    if "Pad" not in ops(m):
        failures.append("lenet-avgpool: the export has no Pad node")
    models["lenet-avgpool"] = p
    p = os.path.join(work, "fire.onnx")
    if "Concat" not in ops(export(FireNet, p)):
        failures.append("fire: the export has no Concat node")
    models["fire"] = p
    p = os.path.join(work, "identity-bias.onnx")
    bias_through_identity(export(SmallCnn, p), p)
    if "Identity" not in ops(onnx.load(p)):
        failures.append("identity-bias: the model has no Identity node")
    models["identity-bias"] = p
    for name, make in (("preact", lambda: PreActNet(1, 28)),
                       ("densenet-bn", lambda: DenseBn(1))):
        p = os.path.join(work, name + ".onnx")
        export(make, p)
        if standalone_bns(p) == 0:
            failures.append(f"{name}: the export has no BatchNormalization "
                            "that no Conv precedes")
        models[name] = p

    for name, path in models.items():
        out = os.path.join(work, name + ".compressed.onnx")
        t = run([marsc, "train", "--model", path, "--limit-train", "2048",
                 "--limit-test", "500", "--epochs", "1", "--qat-epochs", "1",
                 "--prune-epochs", "1", "--finetune-epochs", "1", "--threads",
                 "2", "--no-progress", "--seed", "3", "--batch-size", "32",
                 "--sparsity", "0", "-o", out, "--json"])
        if t.returncode != 0:
            failures.append(f"{name}: marsc train failed: {t.stderr.strip()}")
            continue
        trained = json.loads(t.stdout)["accuracy"]["integer_correct"]
        prog = os.path.join(work, name + ".bin")
        c = run([marsc, "compile", out, "-o", prog])
        if c.returncode != 0:
            failures.append(f"{name}: marsc compile failed: {c.stderr.strip()}")
            continue
        r = run([marsc, "run", prog, "--data", "fashion-mnist", "--limit",
                 "500", "--json", "--quiet"])
        if r.returncode != 0:
            failures.append(f"{name}: marsc run failed: {r.stderr.strip()}")
            continue
        ran = json.loads(r.stdout)["functional"]["correct"]
        print(f"{name}: train integer_correct {trained}, run correct {ran} "
              "of 500", flush=True)
        # Well above chance (one class for every image scores about 50), so
        # that the equality below means something. Not a quality bar: on this
        # one-epoch schedule densenet-bn ends anywhere from 97 to 214 over
        # seeds 1-5, and 199 at seed 3.
        if trained < 150:
            failures.append(f"{name}: only {trained}/500 correct after training")
        if ran != trained:
            failures.append(f"{name}: run counts {ran} correct, train {trained}")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
