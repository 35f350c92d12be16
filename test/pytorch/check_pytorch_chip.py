#!/usr/bin/python3
"""End-to-end check: PyTorch-exported float models through the chip path.

Usage: check_pytorch_chip.py MARSC WORKDIR

Exports the models of export_models.py (Conv/BN/ReLU/pooling CNNs, a
residual network, depthwise-separable and SqueezeNet-fire (Concat) networks),
then for each one and for 0% and 50% one-shot group pruning:
  marsc compile NAME.onnx --calib random --prune S --save-qdq q.onnx -o p.bin
  marsc eval q.onnx --integer --input x.npy --output ref.npy
  marsc run p.bin --input x.npy --output chip.npy
and requires chip.npy == ref.npy bit for bit: the compiled program on the
simulated chip computes exactly the integer reference of the same quantized
model (DESIGN.md §3). Exits 77 (skip) without torch.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True)


def main():
    marsc, workdir = sys.argv[1], sys.argv[2]
    export = run([sys.executable, os.path.join(HERE, "export_models.py"),
                  workdir])
    print(export.stdout, end="")
    if export.returncode == 77:
        return 77
    if export.returncode != 0:
        print(export.stderr)
        return 1
    import numpy as np

    names = sorted(f[:-5] for f in os.listdir(workdir)
                   if f.endswith(".onnx") and ".qdq" not in f)
    passed = failed = 0
    for name in names:
        base = os.path.join(workdir, name)
        # The models are exported for a batch of 2; the reference evaluates
        # the batch, the chip runs the first image.
        batch = base + ".input.npy"
        image = base + ".image.npy"
        np.save(image, np.load(batch)[:1].astype(np.float32))
        if "_train_bn" in name:
            # Training-mode BN uses batch statistics: the compiler must
            # refuse it and say how to export the model instead.
            r = run([marsc, "compile", base + ".onnx", "--calib", "random",
                     "-o", base + ".bin"])
            if r.returncode == 1 and "model.eval()" in r.stderr and \
                    not os.path.exists(base + ".bin"):
                passed += 1
                print(f"ok   {name}: refused with advice")
            else:
                failed += 1
                print(f"FAIL {name}: expected a clear refusal, got exit "
                      f"{r.returncode}: {r.stderr.strip()}")
            continue
        for prune in ("0", "0.5"):
            tag = f"{name} prune {prune}"
            qdq = f"{base}.p{prune}.qdq.onnx"
            prog = f"{base}.p{prune}.bin"
            ref, chip = prog + ".ref.npy", prog + ".chip.npy"
            steps = [
                [marsc, "compile", base + ".onnx", "--calib", "random",
                 "--calib-limit", "4", "--prune", prune, "--save-qdq", qdq,
                 "-o", prog],
                [marsc, "eval", qdq, "--integer", "--input", batch,
                 "--output", ref],
                [marsc, "run", prog, "--input", image, "--output", chip,
                 "--quiet"],
            ]
            error = None
            for cmd in steps:
                r = run(cmd)
                if r.returncode != 0:
                    error = f"{' '.join(cmd[1:3])} exited {r.returncode}: " \
                            f"{r.stderr.strip()}"
                    break
            if error is None:
                a, b = np.load(ref)[:1].ravel(), np.load(chip).ravel()
                if a.shape != b.shape:
                    error = f"shapes differ: {a.shape} vs {b.shape}"
                elif not np.array_equal(a, b):
                    error = (f"outputs differ in {int(np.sum(a != b))} of "
                             f"{a.size} values")
            if error is None:
                passed += 1
                print(f"ok   {tag}: chip output == integer reference "
                      f"({np.load(chip).size} values, class "
                      f"{int(np.argmax(np.load(chip)))})")
            else:
                failed += 1
                print(f"FAIL {tag}: {error}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not names else 0


if __name__ == "__main__":
    sys.exit(main())
