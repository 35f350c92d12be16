#!/usr/bin/python3
"""End-to-end check: PyTorch-exported ONNX models through `marsc eval`.

Usage: check_pytorch_models.py MARSC WORKDIR

Exports the models of export_models.py, runs `marsc eval` on each with the
recorded input, and compares with PyTorch's output: every element within
rtol 1e-4 (plus atol 1e-5 for values near zero), and the largest error
relative to the largest output under 1e-4. Exits 77 (skip) without torch.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    marsc, workdir = sys.argv[1], sys.argv[2]
    export = subprocess.run([sys.executable, os.path.join(HERE, "export_models.py"),
                             workdir], capture_output=True, text=True)
    print(export.stdout, end="")
    if export.returncode == 77:
        return 77
    if export.returncode != 0:
        print(export.stderr)
        return 1
    import numpy as np

    names = sorted(f[:-5] for f in os.listdir(workdir) if f.endswith(".onnx"))
    failures = 0
    for name in names:
        base = os.path.join(workdir, name)
        out = base + ".marsc.npy"
        if os.path.exists(out):
            os.remove(out)
        cmd = [marsc, "eval", base + ".onnx", "--input", base + ".input.npy",
               "--output", out]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL {name}: marsc eval exited {run.returncode}: "
                  f"{run.stderr.strip()}")
            failures += 1
            continue
        got = np.load(out)
        expected = np.load(base + ".expected.npy")
        if got.shape != expected.shape:
            print(f"FAIL {name}: shape {got.shape} != {expected.shape}")
            failures += 1
            continue
        rel = float(np.max(np.abs(got - expected)) / np.max(np.abs(expected)))
        close = np.allclose(got, expected, rtol=1e-4, atol=1e-5)
        ok = close and rel <= 1e-4
        print(f"{'ok  ' if ok else 'FAIL'} {name}: max error relative to max "
              f"|output| {rel:.2e}, allclose(rtol=1e-4, atol=1e-5)={close}")
        failures += 0 if ok else 1
    print(f"{len(names) - failures} passed, {failures} failed")
    return 1 if failures or not names else 0


if __name__ == "__main__":
    sys.exit(main())
