#!/usr/bin/python3
"""PyTorch (Python) reference for bench_train_step.

Times, on synthetic data, a plain float training step of the zoo model and
the equivalent of `marsc train`'s fake-quant QAT step in its finetune stage:
BN folded with frozen statistics into the weights, per-output-channel
symmetric weight fake quantization, PACT-style clipped and rounded
activations, straight-through estimators, CIM-group masks, SGD with
momentum, masks re-applied after the step. The arithmetic mirrors
lib/train/src/{FakeQuant,GraphModule}.cpp op for op.

Run with Debian's python3-torch: /usr/bin/python3 qat_step_reference.py
--model lenet5 --threads 2 --batch 128. Prints one JSON object; if torch
cannot be imported it prints {"skipped": "..."} and exits 0. With --serve
(how bench_train_step runs it) it prints the setup as one JSON line, then
runs the step named on each stdin line ("float_torch", "qat_sparse",
"qat_torch_ao") and
answers with its milliseconds, so that the C++ bench can interleave the
Python steps with its own.
"""

import argparse
import json
import math
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="lenet5", choices=["lenet5", "resnet20"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--sparsity", type=float, default=0.5)
    p.add_argument("--serve", action="store_true",
                   help="run steps named on stdin (used by bench_train_step)")
    args = p.parse_args()
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"skipped": "cannot import torch with %s: %s" %
                          (sys.executable, e)}))
        return 0
    info, variants = setup(torch, args)
    if args.serve:
        serve(info, variants)
    else:
        print(json.dumps(standalone(info, variants, args.warmup, args.reps),
                         indent=2))
    return 0


def setup(torch, args):
    """Builds both models on synthetic data; returns (info, step functions)."""
    import torch.nn as nn
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    # ---- fake quantization (FakeQuant.cpp) --------------------------------
    def qmax(bits, signed):
        return float((1 << (bits - 1)) - 1) if signed else float((1 << bits) - 1)

    def straight_through(x, q):
        return x + (q - x).detach()

    def weight_scales(w, bits):
        with torch.no_grad():
            m = w.detach().abs().reshape(w.size(0), -1).amax(1)
            return torch.where(m > 0, m / float((1 << (bits - 1)) - 1),
                               torch.ones_like(m))

    def fake_quant_weight(w, bits):
        view = [w.size(0)] + [1] * (w.dim() - 1)
        s = weight_scales(w, bits).view(view)
        lim = float((1 << (bits - 1)) - 1)
        q = torch.clamp(torch.round(w.detach() / s), -lim, lim) * s
        return straight_through(w, q)

    def activation_scale(alpha, bits, signed):
        return (alpha.detach().abs() / qmax(bits, signed)).clamp_min(1e-12)

    def fake_quant_activation(x, alpha, bits, signed):
        s = activation_scale(alpha, bits, signed)
        if signed:
            y = torch.max(torch.min(x, alpha), -alpha)
        else:
            y = torch.min(torch.relu(x), alpha)
        q = torch.round(y.detach() / s) * s
        return straight_through(y, q)

    def fake_quant_to_grid(x, s, bits, signed):
        s = s.detach()
        hi = qmax(bits, signed)
        lo = -hi - 1 if signed else 0.0
        q = torch.clamp(torch.round(x.detach() / s), lo, hi) * s
        return straight_through(x, q)

    # ---- layers ------------------------------------------------------------
    class Point(nn.Module):
        """A quantization point with a learned clip (calibrated)."""

        def __init__(self, bits, signed):
            super().__init__()
            self.bits, self.signed = bits, signed
            self.alpha = nn.Parameter(torch.full([1], 2.0 if signed else 4.0))
            self.calibration = None

        def forward(self, x):
            if self.calibration is not None:
                v = x.detach().abs().max() if self.signed else x.detach().max()
                self.calibration.append(v.item())
                return x
            return fake_quant_activation(x, self.alpha, self.bits, self.signed)

        def scale(self):
            return activation_scale(self.alpha, self.bits, self.signed)

    class Layer(nn.Module):
        """Conv/Linear with its BN folded (GraphModule::runWeighted, BN
        frozen): conv(x, q(w * mask * gamma/sqrt(var+eps)), b_fold)."""

        def __init__(self, conv, inp, out, k=1, stride=1, pad=0, bn=True,
                     bias=False, bits=4):
            super().__init__()
            self.conv, self.stride, self.pad, self.bits = conv, stride, pad, bits
            shape = [out, inp, k, k] if conv else [out, inp]
            self.weight = nn.Parameter(torch.randn(shape) * 0.1)
            self.bias = nn.Parameter(torch.zeros(out)) if bias else None
            self.has_bn = bn
            if bn:
                self.gamma = nn.Parameter(torch.rand(out) + 0.5)
                self.beta = nn.Parameter(torch.rand(out) * 0.2 - 0.1)
                self.register_buffer("mean", torch.rand(out) * 0.2 - 0.1)
                self.register_buffer("var", torch.rand(out) + 0.5)
            self.register_buffer("mask", torch.ones(shape))
            self.eps = 1e-5
            self.qat = False
            # CIM groups (arch/CimGroups.h, default arch): 16 unrolled rows
            # x (256 / 8 / bits) output channels; row = (ky*kw + kx)*in + ic.
            kh = kw = k if conv else 1
            cpg = max(1, 256 // 8 // bits)
            col_groups = (out + cpg - 1) // cpg
            oc = torch.arange(out).view(-1, 1, 1, 1)
            ic = torch.arange(inp).view(1, -1, 1, 1)
            ky = torch.arange(kh).view(1, 1, -1, 1)
            kx = torch.arange(kw).view(1, 1, 1, -1)
            row = (ky * kw + kx) * inp + ic
            self.group_index = ((row // 16) * col_groups + oc // cpg).flatten()
            self.num_groups = int(self.group_index.max()) + 1

        def factor(self):
            return self.gamma / torch.sqrt(self.var + self.eps)

        def effective_weight(self):
            w = self.weight * self.mask
            if not self.has_bn:
                return w
            view = [w.size(0)] + [1] * (w.dim() - 1)
            return w * self.factor().view(view)

        def folded_bias(self):
            b = self.bias if self.bias is not None else torch.zeros(
                self.weight.size(0))
            if not self.has_bn:
                return b
            return self.beta + (b - self.mean) * self.factor()

        def run(self, x, w, b):
            if not self.conv:
                return F.linear(x, w, b)
            return F.conv2d(x, w, b, self.stride, self.pad)

        def forward(self, x):
            if self.qat:
                wq = fake_quant_weight(self.effective_weight(), self.bits)
                return self.run(x, wq, self.folded_bias())
            y = self.run(x, self.weight * self.mask, self.bias)
            if not self.has_bn:
                return y
            return F.batch_norm(y, self.mean, self.var, self.gamma, self.beta,
                                False, 0.1, self.eps)

        def prune(self, fraction):
            """Masks the `fraction` of groups with the smallest norms."""
            with torch.no_grad():
                w = self.effective_weight().flatten()
                sums = torch.zeros(self.num_groups).index_add_(
                    0, self.group_index, w * w)
                order = sums.sqrt().sort(stable=True).indices
                keep = torch.ones(self.num_groups)
                # As pruneLayer: at least the fraction, rounded up.
                n = min(self.num_groups,
                        math.ceil(fraction * self.num_groups - 1e-9))
                if n > 0:
                    keep[order[:n]] = 0.0
                self.mask.copy_(keep[self.group_index].view_as(self.mask))

    class QatNet(nn.Module):
        def layers(self):
            return [m for m in self.modules() if isinstance(m, Layer)]

        def points(self):
            return [m for m in self.modules() if isinstance(m, Point)]

        def set_qat(self, on):
            for l in self.layers():
                l.qat = on

        def quant_input(self, x):
            if not self.layers()[0].qat:
                return x
            # Input point: 8-bit pixels, fixed scale 1/255.
            return fake_quant_to_grid(x, torch.full([1], 1.0 / 255.0), 8,
                                      False)

    # ---- the models (zoo shapes) -------------------------------------------
    class LeNet5Float(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2, bias=False)
            self.bn1 = nn.BatchNorm2d(6)
            self.conv2 = nn.Conv2d(6, 16, 5, bias=False)
            self.bn2 = nn.BatchNorm2d(16)
            self.fc1 = nn.Linear(400, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2, 2)
            x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2, 2)
            x = x.flatten(1)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    class LeNet5Qat(QatNet):
        def __init__(self):
            super().__init__()
            self.conv1 = Layer(True, 1, 6, 5, pad=2, bits=8)
            self.p1 = Point(4, False)
            self.conv2 = Layer(True, 6, 16, 5)
            self.p2 = Point(4, False)
            self.fc1 = Layer(False, 400, 120, bn=False, bias=True)
            self.p3 = Point(4, False)
            self.fc2 = Layer(False, 120, 84, bn=False, bias=True)
            self.p4 = Point(8, False)  # feeds the 8-bit last layer
            self.fc3 = Layer(False, 84, 10, bn=False, bias=True, bits=8)

        def forward(self, x):
            x = self.quant_input(x)
            # GraphModule runs the graph's Relu, then the point (which clips
            # at 0 again).
            x = F.max_pool2d(self.p1(F.relu(self.conv1(x))), 2, 2)
            x = F.max_pool2d(self.p2(F.relu(self.conv2(x))), 2, 2)
            x = x.flatten(1)
            x = self.p3(F.relu(self.fc1(x)))
            x = self.p4(F.relu(self.fc2(x)))
            return self.fc3(x)

    class BlockFloat(nn.Module):
        def __init__(self, inp, out, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(out)
            self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(out)
            self.down = None
            if stride != 1 or inp != out:
                self.down = nn.Sequential(
                    nn.Conv2d(inp, out, 1, stride, bias=False),
                    nn.BatchNorm2d(out))

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + (self.down(x) if self.down is not None else x))

    class BlockQat(nn.Module):
        def __init__(self, inp, out, stride, out_bits=4):
            super().__init__()
            self.conv1 = Layer(True, inp, out, 3, stride, 1)
            self.p1 = Point(4, False)
            self.conv2 = Layer(True, out, out, 3, 1, 1)
            self.p2 = Point(4, True)  # conv2 + bn2 feeds the Add: signed
            self.down = None
            if stride != 1 or inp != out:
                self.down = Layer(True, inp, out, 1, stride, 0)
                self.pd = Point(4, True)
            self.pout = Point(out_bits, False)

        def forward(self, x):
            y = self.p1(F.relu(self.conv1(x)))
            y = self.p2(self.conv2(y))
            s = self.pd(self.down(x)) if self.down is not None else x
            return self.pout(F.relu(y + s))

    def stages():
        widths, inp = [16, 32, 64], 16
        for stage in range(3):
            for block in range(3):
                stride = 2 if stage > 0 and block == 0 else 1
                yield inp, widths[stage], stride, stage == 2 and block == 2
                inp = widths[stage]

    class ResNet20Float(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(16)
            self.blocks = nn.Sequential(
                *[BlockFloat(i, o, s) for i, o, s, _ in stages()])
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            x = self.blocks(x)
            return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))

    class ResNet20Qat(QatNet):
        def __init__(self):
            super().__init__()
            self.conv1 = Layer(True, 3, 16, 3, 1, 1, bits=8)
            self.p1 = Point(4, False)
            # The last block's output feeds the 8-bit fc (through the pool).
            self.blocks = nn.Sequential(*[
                BlockQat(i, o, s, 8 if last else 4)
                for i, o, s, last in stages()])
            self.fc = Layer(False, 64, 10, bn=False, bias=True, bits=8)

        def forward(self, x):
            x = self.quant_input(x)
            x = self.p1(F.relu(self.conv1(x)))
            x = self.blocks(x)
            last = self.blocks[-1].pout
            x = F.adaptive_avg_pool2d(x, 1)
            if self.layers()[0].qat:
                # The pool stays on its input's grid (a tied point).
                x = fake_quant_to_grid(x, last.scale(), last.bits, False)
            return self.fc(x.flatten(1))

    if args.model == "lenet5":
        shape, float_model, qat_model = [1, 28, 28], LeNet5Float(), LeNet5Qat()
    else:
        shape, float_model, qat_model = [3, 32, 32], ResNet20Float(), ResNet20Qat()

    x = torch.randint(0, 256, [args.batch] + shape).float() / 255.0
    y = torch.randint(0, 10, [args.batch])

    # Calibrate the clips (mean of batch maxima), then QAT with BN frozen and
    # layer pruning targets as in layerPruneTargets (first and last dense).
    with torch.no_grad():
        for pt in qat_model.points():
            pt.calibration = []
        for _ in range(4):
            qat_model(x)
        for pt in qat_model.points():
            pt.alpha.fill_(max(sum(pt.calibration) / len(pt.calibration), 1e-3))
            pt.calibration = None
    qat_model.set_qat(True)
    layers = qat_model.layers()
    total = sum(l.num_groups for l in layers)
    middle = sum(l.num_groups for l in layers[1:-1])
    share = min(0.95, args.sparsity * total / middle)
    for l in layers[1:-1]:
        l.prune(share)
    with torch.no_grad():
        for l in layers:
            l.weight.mul_(l.mask)
    masked = sum(int((torch.zeros(l.num_groups).index_add_(
        0, l.group_index, l.mask.flatten()) == 0).sum()) for l in layers)

    def sgd(model):
        return torch.optim.SGD(model.parameters(), lr=0.005, momentum=0.9,
                               weight_decay=5e-4)

    ao_model = torch_ao_qat_model(torch, args.model)
    float_opt, qat_opt = sgd(float_model), sgd(qat_model)
    ao_opt = sgd(ao_model)
    float_model.train()
    qat_model.train()

    def float_step():
        float_opt.zero_grad()
        loss = F.cross_entropy(float_model(x), y)
        loss.backward()
        float_opt.step()
        loss.item()

    def qat_step():
        qat_opt.zero_grad()
        loss = F.cross_entropy(qat_model(x), y)
        loss.backward()
        qat_opt.step()
        with torch.no_grad():
            for l in layers:
                l.weight.mul_(l.mask)
        loss.item()

    def ao_step():
        ao_opt.zero_grad()
        loss = F.cross_entropy(ao_model(x), y)
        loss.backward()
        ao_opt.step()
        loss.item()

    # Observers see data before the timed steps, as after calibration.
    with torch.no_grad():
        for _ in range(2):
            ao_model(x)

    info = {
        "model": args.model,
        "torch": torch.__version__,
        "python": sys.executable,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "masked_group_fraction": masked / total,
    }
    return info, {"float_torch": float_step, "qat_sparse": qat_step,
                  "qat_torch_ao": ao_step}


def torch_ao_qat_model(torch, model):
    """What a PyTorch user runs for QAT: eager-mode torch.ao.quantization,
    Conv-BN-ReLU fused for QAT (ConvBnReLU2d: BN folded into the weight with
    the batch's statistics, as marsc's QAT epochs before --freeze-bn-after),
    PyTorch's fused observer + fake-quantize modules
    (FusedMovingAvgObsFakeQuantize, its default QAT kind), the bit widths of
    marsc's: per-channel symmetric weights in [-(2^(b-1)-1), 2^(b-1)-1],
    unsigned activations in [0, 2^b-1], 4 bits with 8-bit first and last
    layers and 8-bit inputs to them. No group masks."""
    import torch.nn as nn
    import torch.ao.quantization as tq
    from torch.ao.nn.quantized import FloatFunctional

    def weights(bits):
        lim = (1 << (bits - 1)) - 1
        return tq.FusedMovingAvgObsFakeQuantize.with_args(
            observer=tq.MovingAveragePerChannelMinMaxObserver,
            quant_min=-lim, quant_max=lim, dtype=torch.qint8,
            qscheme=torch.per_channel_symmetric, ch_axis=0)

    def activations(bits):
        return tq.FusedMovingAvgObsFakeQuantize.with_args(
            observer=tq.MovingAverageMinMaxObserver, quant_min=0,
            quant_max=(1 << bits) - 1, dtype=torch.quint8,
            qscheme=torch.per_tensor_affine)

    def qconfig(weight_bits, activation_bits):
        return tq.QConfig(activation=activations(activation_bits),
                          weight=weights(weight_bits))

    def conv_bn_relu(inp, out, k, stride=1, pad=0, relu=True):
        layers = [nn.Conv2d(inp, out, k, stride, pad, bias=False),
                  nn.BatchNorm2d(out)]
        return nn.Sequential(*(layers + [nn.ReLU()] if relu else layers))

    class Block(nn.Module):
        def __init__(self, inp, out, stride):
            super().__init__()
            self.body1 = conv_bn_relu(inp, out, 3, stride, 1)
            self.body2 = conv_bn_relu(out, out, 3, 1, 1, relu=False)
            self.down = None
            if stride != 1 or inp != out:
                self.down = conv_bn_relu(inp, out, 1, stride, 0, relu=False)
            self.add = FloatFunctional()

        def forward(self, x):
            s = self.down(x) if self.down is not None else x
            return self.add.add_relu(self.body2(self.body1(x)), s)

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = tq.QuantStub()
            self.conv1 = conv_bn_relu(1, 6, 5, pad=2)
            self.pool1 = nn.MaxPool2d(2, 2)
            self.conv2 = conv_bn_relu(6, 16, 5)
            self.pool2 = nn.MaxPool2d(2, 2)
            self.fc1 = nn.Sequential(nn.Linear(400, 120), nn.ReLU())
            self.fc2 = nn.Sequential(nn.Linear(120, 84), nn.ReLU())
            self.fc3 = nn.Linear(84, 10)
            self.dequant = tq.DeQuantStub()

        def forward(self, x):
            x = self.pool1(self.conv1(self.quant(x)))
            x = self.pool2(self.conv2(x)).flatten(1)
            return self.dequant(self.fc3(self.fc2(self.fc1(x))))

        def wider(self):
            # (module, weight bits, bits of its output) where not 4 and 4.
            return [(self.quant, 8, 8), (self.conv1, 8, 4), (self.fc2, 4, 8),
                    (self.fc3, 8, 8)]

    class ResNet20(nn.Module):
        def __init__(self):
            super().__init__()
            self.quant = tq.QuantStub()
            self.conv1 = conv_bn_relu(3, 16, 3, 1, 1)
            blocks, inp = [], 16
            for stage, width in enumerate([16, 32, 64]):
                for block in range(3):
                    blocks.append(Block(inp, width,
                                        2 if stage > 0 and block == 0 else 1))
                    inp = width
            self.blocks = nn.Sequential(*blocks)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(64, 10)
            self.dequant = tq.DeQuantStub()

        def forward(self, x):
            x = self.blocks(self.conv1(self.quant(x)))
            return self.dequant(self.fc(self.pool(x).flatten(1)))

        def wider(self):
            return [(self.quant, 8, 8), (self.conv1, 8, 4),
                    (self.blocks[-1].add, 4, 8), (self.fc, 8, 8)]

    net = LeNet5() if model == "lenet5" else ResNet20()
    net.train()
    for name, module in list(net.named_modules()):
        if isinstance(module, nn.Sequential) and len(module) > 1 and \
                isinstance(module[0], (nn.Conv2d, nn.Linear)):
            tq.fuse_modules_qat(module, [str(i) for i in range(len(module))],
                                inplace=True)
    net.qconfig = qconfig(4, 4)
    for module, weight_bits, output_bits in net.wider():
        module.qconfig = qconfig(weight_bits, output_bits)
    tq.prepare_qat(net, inplace=True)
    return net


def timed(step):
    t0 = time.perf_counter()
    step()
    return (time.perf_counter() - t0) * 1e3


def serve(info, variants):
    """Steps on request, so that bench_train_step can interleave them with
    its own: reads a variant name per line, answers with its ms; 'quit'
    ends."""
    print(json.dumps(info), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if name == "quit":
            break
        print("%.6f" % timed(variants[name]), flush=True)


def standalone(info, variants, warmup, reps):
    """Round-robin over the variants; median, p10 and p90 in ms."""
    times = {k: [] for k in variants}
    for r in range(warmup + reps):
        for k, step in variants.items():
            ms = timed(step)
            if r >= warmup:
                times[k].append(ms)

    def summary(v):
        v = sorted(v)
        n = len(v)
        med = v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])
        q = lambda f: v[min(n - 1, int(f * (n - 1) + 0.5))]
        return {"median": med, "p10": q(0.1), "p90": q(0.9)}

    info["reps"] = reps
    info["ms"] = {k: summary(v) for k, v in times.items()}
    return info


if __name__ == "__main__":
    sys.exit(main())
