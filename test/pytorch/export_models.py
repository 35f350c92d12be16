#!/usr/bin/python3
"""Exports real PyTorch models to ONNX and records PyTorch's outputs.

Usage: export_models.py OUTDIR

Writes, for each model NAME: NAME.onnx, NAME.input.npy, NAME.expected.npy.
Run with Debian's /usr/bin/python3 (python3-torch). Exits 77 (ctest's skip
code) with a reason when torch is not importable.
"""
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn as nn
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: python3-torch is not installed ({e}); "
          "`make test` installs it", flush=True)
    # Under MARS_REQUIRE_DATA=1 (set by .ci/run) a missing package fails.
    sys.exit(1 if os.environ.get("MARS_REQUIRE_DATA") == "1" else 77)


class ConvBnReluPool(nn.Module):
    """A small CNN: two Conv-BN-ReLU-MaxPool blocks, then a linear layer."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
            nn.ReLU(), nn.AvgPool2d(2))
        self.classifier = nn.Linear(16 * 7 * 7, 10)

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False),
                nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class TinyResNet(nn.Module):
    """A CIFAR-style residual network with identity and projection shortcuts."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(16), nn.ReLU())
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.layer2(self.layer1(self.stem(x)))
        return self.fc(torch.flatten(self.pool(x), 1))


class DepthwiseSeparable(nn.Module):
    """MobileNet-style blocks: depthwise 3x3 (groups = channels), pointwise
    1x1, and a grouped 3x3 (groups = 2), with ReLU6 (Clip) activations."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
            nn.ReLU6(),
            nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False),
            nn.BatchNorm2d(16), nn.ReLU6(),
            nn.Conv2d(16, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6(),
            nn.Conv2d(32, 32, 3, stride=2, padding=1, groups=2, bias=False),
            nn.BatchNorm2d(32), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


class Fire(nn.Module):
    """SqueezeNet's fire module: squeeze 1x1, then 1x1 and 3x3 expands
    concatenated along channels."""

    def __init__(self, cin, squeeze, expand):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(cin, squeeze, 1), nn.ReLU())
        self.expand1 = nn.Sequential(nn.Conv2d(squeeze, expand, 1), nn.ReLU())
        self.expand3 = nn.Sequential(nn.Conv2d(squeeze, expand, 3, padding=1),
                                     nn.ReLU())

    def forward(self, x):
        s = self.squeeze(x)
        return torch.cat([self.expand1(s), self.expand3(s)], 1)


class TinySqueezeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.ReLU(),
            Fire(32, 8, 16), Fire(32, 8, 16), nn.MaxPool2d(2),
            Fire(32, 16, 32))
        self.classifier = nn.Sequential(nn.Conv2d(64, 10, 1), nn.ReLU(),
                                        nn.AdaptiveAvgPool2d(1))

    def forward(self, x):
        return torch.flatten(self.classifier(self.features(x)), 1)


class CeilPool(nn.Module):
    """Pooling with ceil_mode=True where it adds a window (16 -> 8, not 7),
    as SqueezeNet and GoogLeNet use it: MaxPool 3x3/2, then AvgPool 3x3/2
    with padding 1 and count_include_pad (8 -> 5, not 4)."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
            nn.AvgPool2d(3, 2, padding=1, ceil_mode=True,
                         count_include_pad=True))
        self.fc = nn.Linear(16 * 5 * 5, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


class MeanHead(nn.Module):
    """MnasNet's and EfficientNet's head: the features averaged by
    x.mean([2, 3]) rather than a pooling module, which ONNX writes as
    ReduceMean over H and W (keepdims=0); with `keepdim` the mean keeps
    [N, C, 1, 1] and a flatten follows, as `x.mean((-1, -2), keepdim=True)`
    writes it (negative axes, keepdims=1)."""

    def __init__(self, keepdim):
        super().__init__()
        self.keepdim = keepdim
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(32), nn.ReLU())
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        y = self.features(x)
        if self.keepdim:
            return self.fc(torch.flatten(y.mean((-1, -2), keepdim=True), 1))
        return self.fc(y.mean([2, 3]))


def randomize_bn(model, gen):
    """Non-trivial running statistics, so that BN arithmetic is exercised."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.2, 0.2, generator=gen)


def export(name, model, shape, mode, outdir, gen):
    x = torch.rand(*shape, generator=gen)
    path = os.path.join(outdir, name + ".onnx")
    # PRESERVE keeps the module's mode: a model in train() exports
    # BatchNormalization with training_mode=1 (batch statistics), one in
    # eval() uses running statistics.
    model.train(mode == "train")
    # Reference first: exporting in training mode runs the model and would
    # otherwise update the running statistics before we measure.
    with torch.no_grad():
        expected = model(x.clone())
    torch.onnx.export(model, x, path, opset_version=15,
                      training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=False,
                      input_names=["input"], output_names=["logits"])
    np.save(os.path.join(outdir, name + ".input.npy"), x.numpy())
    np.save(os.path.join(outdir, name + ".expected.npy"), expected.numpy())
    print(f"exported {path} ({mode} mode BatchNormalization)")


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)

    cnn = ConvBnReluPool()
    randomize_bn(cnn, gen)
    export("cnn_train_bn", cnn, (4, 1, 28, 28), "train", outdir, gen)
    cnn_eval = ConvBnReluPool()
    randomize_bn(cnn_eval, gen)
    export("cnn_eval_bn", cnn_eval, (2, 1, 28, 28), "eval", outdir, gen)

    resnet = TinyResNet()
    randomize_bn(resnet, gen)
    export("resnet_eval", resnet, (2, 3, 32, 32), "eval", outdir, gen)
    resnet_train = TinyResNet()
    randomize_bn(resnet_train, gen)
    export("resnet_train_bn", resnet_train, (4, 3, 32, 32), "train", outdir,
           gen)

    depthwise = DepthwiseSeparable()
    randomize_bn(depthwise, gen)
    export("depthwise_eval", depthwise, (2, 3, 32, 32), "eval", outdir, gen)
    export("squeezenet_eval", TinySqueezeNet(), (2, 3, 32, 32), "eval",
           outdir, gen)
    export("ceil_pool_eval", CeilPool(), (2, 3, 16, 16), "eval", outdir, gen)
    for keepdim in (False, True):
        head = MeanHead(keepdim)
        randomize_bn(head, gen)
        export("mean_head_keepdim_eval" if keepdim else "mean_head_eval",
               head, (2, 3, 16, 16), "eval", outdir, gen)


if __name__ == "__main__":
    main()
