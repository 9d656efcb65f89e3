#!/usr/bin/env python3
"""Exports CNNs with torch.onnx.export for the ONNX-import parity test (ONNXImportParityTests).

    make-onnx-import-parity.py OUT_DIR [--image-size S] [--num-classes K]

For each model, random weights and randomised BatchNorm statistics, eval mode:
  OUT_DIR/<name>.onnx                      torch.onnx.export, opset 13, dynamic batch,
                                           BatchNorm kept (TrainingMode.PRESERVE)
  OUT_DIR/<name>.folded.onnx               (some models) the default export: BN folded into
                                           Conv, constant folding on
  OUT_DIR/<name>.io.safetensors            input.b1/logits.b1, input.b8/logits.b8 (PyTorch's)
  OUT_DIR/<name>.json                      {"candidates": [...], "image": [C, H, W]} where the
                                           candidates come from the PyTorch module tree: every
                                           residual block with an identity skip that is not the
                                           first block of its stage (parent Sequential)

Small inputs keep the run short: torchvision models at 64x64, CIFAR ResNet-20 at 32x32, the
custom CNN at 45x39. `--image-size S` exports every model at S x S instead and `--num-classes K`
gives every model K outputs: models that take a labelled image set (square images, its classes),
as the compress-through-ONNX check (Scripts/compress-onnx-parity.py) needs.
`--calibrate-bn a,b` replaces those models' randomised BatchNorm statistics by ones measured on
images, as a trained network's are: train-mode passes (a cumulative average) over the first 64 bundled
Fashion-MNIST train images, zero-padded to the export size and normalised as compress-onnx-parity.py
gives them. With randomised statistics the activations of a deep wide network are not normalised
and grow from block to block (wide_resnet50_2 at 32x32: pre-pool features of RMS 109 on those
images, against 1.9 calibrated), and no training at the reference's learning rate survives a step
(PyTorch and practise alike). Not every random network is tamer so: efficientnet_b0 calibrated
diverges at that rate where randomised it does not, so the choice is per model.
PRACTISE_ONNX_PARITY_MODELS=a,b exports only those models.
"""
import argparse
import json
import os
import sys

import torch
import torchvision
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_io  # noqa: E402
import padded_fashion  # noqa: E402
from cifar_resnet import BasicBlock as CifarBlock, CifarResNet  # noqa: E402


class Residual(nn.Module):
    """A residual block of the custom CNN: `depth` conv-BN(-ReLU6) layers, optional pooling skip."""

    def __init__(self, channels, depth, out_channels=None, stride=1):
        super().__init__()
        out_channels = out_channels or channels
        layers = []
        c = channels
        for i in range(depth):
            layers += [nn.Conv2d(c, out_channels, 3, stride=stride if i == 0 else 1, padding=1, bias=(i % 2 == 1)),
                       nn.BatchNorm2d(out_channels)]
            if i < depth - 1:
                layers.append(nn.ReLU6() if i % 2 else nn.ReLU())
            c = out_channels
        self.body = nn.Sequential(*layers)
        # a pooling skip (AvgPool + 1x1 conv) when the shape changes
        self.skip = None if stride == 1 and channels == out_channels else nn.Sequential(
            nn.AvgPool2d(stride), nn.Conv2d(channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels))
        self.act = nn.Hardswish()

    def forward(self, x):
        s = x if self.skip is None else self.skip(x)
        return self.act(self.body(x) + s)


class CustomCNN(nn.Module):
    """Odd stem (5x5 stride-2 conv with bias, 3x3 max pool), stages of unequal depth."""

    def __init__(self, num_classes):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 12, 5, stride=2, padding=2, bias=True), nn.BatchNorm2d(12), nn.ReLU(),
                                  nn.MaxPool2d(3, stride=2, padding=1))
        self.stage1 = nn.Sequential(Residual(12, 2), Residual(12, 3), Residual(12, 1))
        self.stage2 = nn.Sequential(Residual(12, 2, 24, stride=2), Residual(24, 3))
        self.head = nn.Sequential(nn.Conv2d(24, 32, 1), nn.Sigmoid())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.head(self.stage2(self.stage1(self.stem(x))))
        return self.fc(self.drop(torch.flatten(self.pool(x), 1)))


def randomise(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.2)
    return model.eval()


def calibrate(model, image, count=64, batch=16):
    """BatchNorm running statistics measured on the first `count` padded bundled images (train
    mode, cumulative average over batches of `batch`) at `image` `[C, S, S]`; returns the model in
    eval mode."""
    images, _ = padded_fashion.padded("train", count, image[1])
    x = torch.from_numpy(padded_fashion.model_input(images, image[0]))
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    with torch.no_grad():
        for start in range(0, count, batch):
            model(x[start:start + batch])
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    return model.eval()


def candidates(model, block_types, is_identity):
    """Blocks with an identity skip that are not the first of their parent Sequential."""
    out = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Sequential):
            for i, (child_name, child) in enumerate(m.named_children()):
                if i > 0 and isinstance(child, block_types) and is_identity(child):
                    out.append(f"{name}.{child_name}")
    return out


def export(model, path, x, folded):
    kwargs = dict(input_names=["input"], output_names=["logits"], opset_version=13,
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    if folded:
        torch.onnx.export(model, x, path, **kwargs)
    else:
        torch.onnx.export(model, x, path, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, **kwargs)


def main(out, image_size, num_classes, calibrate_bn=()):
    """Exports every model into `out`; `image_size` (S) and `num_classes` (K) override the defaults;
    the models named in `calibrate_bn` get BatchNorm statistics measured on the padded bundled images."""
    os.makedirs(out, exist_ok=True)

    def shape(c, h, w):
        return (c, image_size, image_size) if image_size else (c, h, w)

    def classes(default):
        return num_classes or default
    torch.manual_seed(0)  # the weights' initialisation, then the inputs
    tv = torchvision.models
    from torchvision.models.resnet import Bottleneck
    from torchvision.models.regnet import ResBottleneckBlock
    from torchvision.models.efficientnet import MBConv
    from torchvision.models.mnasnet import _InvertedResidual
    models = {
        "resnet20": (randomise(CifarResNet(20, in_channels=3, num_classes=classes(10)), 1), shape(3, 32, 32),
                     candidates, (CifarBlock,), lambda b: b.downsample is None, True),
        "custom": (randomise(CustomCNN(classes(7)), 2), shape(3, 45, 39), candidates, (Residual,), lambda b: b.skip is None, True),
        "resnext50_32x4d": (randomise(tv.resnext50_32x4d(num_classes=classes(1000)), 3), shape(3, 64, 64), candidates, (Bottleneck,),
                            lambda b: b.downsample is None, False),
        "wide_resnet50_2": (randomise(tv.wide_resnet50_2(num_classes=classes(1000)), 4), shape(3, 64, 64), candidates, (Bottleneck,),
                            lambda b: b.downsample is None, False),
        "regnet_x_400mf": (randomise(tv.regnet_x_400mf(num_classes=classes(1000)), 5), shape(3, 64, 64), candidates, (ResBottleneckBlock,),
                           lambda b: b.proj is None, False),
        "regnet_y_400mf": (randomise(tv.regnet_y_400mf(num_classes=classes(1000)), 6), shape(3, 64, 64), candidates, (ResBottleneckBlock,),
                           lambda b: b.proj is None, True),
        "efficientnet_b0": (randomise(tv.efficientnet_b0(num_classes=classes(1000)), 7), shape(3, 64, 64), candidates, (MBConv,),
                            lambda b: b.use_res_connect, False),
        "mnasnet0_5": (randomise(tv.mnasnet0_5(num_classes=classes(1000)), 8), shape(3, 64, 64), candidates, (_InvertedResidual,),
                       lambda b: b.apply_residual, False),
    }
    unknown = sorted(set(calibrate_bn) - set(models))
    if unknown:
        sys.exit(f"--calibrate-bn: no model {', '.join(unknown)} (the models: {', '.join(models)})")
    only = os.environ.get("PRACTISE_ONNX_PARITY_MODELS")
    for name, (model, image, find, types, is_identity, also_folded) in models.items():
        if only and name not in only.split(","):
            continue
        if name in calibrate_bn:
            calibrate(model, image)
        x1 = torch.randn(1, *image)
        x8 = torch.randn(8, *image)
        export(model, os.path.join(out, f"{name}.onnx"), x1, folded=False)
        if also_folded:
            export(model, os.path.join(out, f"{name}.folded.onnx"), x1, folded=True)
        with torch.no_grad():
            tensors = {"input.b1": x1, "logits.b1": model(x1), "input.b8": x8, "logits.b8": model(x8)}
        fixture_io.save(os.path.join(out, f"{name}.io.safetensors"), tensors)
        with open(os.path.join(out, f"{name}.json"), "w") as f:
            json.dump({"candidates": find(model, types, is_identity), "image": list(image)}, f)
        print(name, "exported")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="Exports the ONNX-import parity models.")
    p.add_argument("out")
    p.add_argument("--image-size", type=int, help="export every model at S x S")
    p.add_argument("--num-classes", type=int, help="give every model K outputs")
    p.add_argument("--calibrate-bn", default="", metavar="NAMES",
                   help="comma-separated models whose BatchNorm statistics are measured on padded bundled images instead of randomised")
    a = p.parse_args()
    if a.image_size is not None and a.image_size < 32:
        p.error(f"--image-size must be at least 32 (the torchvision models downsample by 32), got {a.image_size}")
    calibrated = [n for n in a.calibrate_bn.split(",") if n]
    if calibrated and a.image_size is None:
        p.error("--calibrate-bn needs --image-size S (the bundled 28x28 images are padded to S x S)")
    if a.num_classes is not None and a.num_classes < 1:
        p.error(f"--num-classes must be at least 1, got {a.num_classes}")
    main(a.out, a.image_size, a.num_classes, calibrated)
