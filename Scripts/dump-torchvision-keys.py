#!/usr/bin/env python3
"""Dump state_dict key lists of torchvision and CIFAR ResNet models.

Usage: dump-torchvision-keys.py [OUTDIR]   (default: Tests/Fixtures/torchvision-keys)
One line per state_dict entry, in state_dict order:
    <key> <dtype> <comma-separated shape>
e.g. "layer1.0.conv1.weight float32 64,64,3,3" and "bn1.num_batches_tracked int64 "
(scalars: empty shape after the trailing space).
torchvision models: weights=None, 3 input channels, 1000 classes.
resnet20 / resnet56: CIFAR ResNet from cifar_resnet.py, 1 input channel, 10 classes.
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cifar_resnet import cifar_resnet  # noqa: E402

MODELS = {
    "resnet18": lambda: torchvision.models.resnet18(weights=None),
    "resnet34": lambda: torchvision.models.resnet34(weights=None),
    "resnet50": lambda: torchvision.models.resnet50(weights=None),
    "resnet101": lambda: torchvision.models.resnet101(weights=None),
    "mobilenet_v2": lambda: torchvision.models.mobilenet_v2(weights=None),
    "resnet20": lambda: cifar_resnet(20, in_channels=1, num_classes=10),
    "resnet56": lambda: cifar_resnet(56, in_channels=1, num_classes=10),
}


def dtype_name(dt):
    return str(dt).replace("torch.", "")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "Tests", "Fixtures", "torchvision-keys")
    os.makedirs(outdir, exist_ok=True)
    torch.manual_seed(0)
    for name, ctor in MODELS.items():
        sd = ctor().state_dict()
        lines = [f"{k} {dtype_name(v.dtype)} {','.join(str(d) for d in v.shape)}" for k, v in sd.items()]
        path = os.path.join(outdir, f"{name}.txt")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        nparams = sum(v.numel() for k, v in sd.items() if not k.endswith("num_batches_tracked"))
        print(f"{path}: {len(lines)} entries, {nparams} elements")


if __name__ == "__main__":
    main()
