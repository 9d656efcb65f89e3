#!/usr/bin/env python3
"""Checkpoint parity data for CI: torchvision models saved as PyTorch .pth plus their I/O.

Usage: make-torchvision-parity.py OUTDIR [MODEL ...]
Default models: resnet18 resnet34 resnet50 mobilenet_v2 (3 input channels, 1000 classes).
For each: torch.manual_seed(0), build with weights=None, randomise every BatchNorm
(weight U(0.5,1.5), bias U(-0.2,0.2), running_mean N(0,1)*0.1, running_var U(0.5,1.5)),
eval mode, then write
  OUTDIR/<name>.pth              torch.save(model.state_dict())  (zip format)
  OUTDIR/<name>.io.safetensors   input [2,3,224,224] (seeded normal), logits [2,1000]
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_io  # noqa: E402
from cifar_resnet import randomize_bn_  # noqa: E402

DEFAULT_MODELS = ["resnet18", "resnet34", "resnet50", "mobilenet_v2"]


def build(name):
    return getattr(torchvision.models, name)(weights=None)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    outdir = sys.argv[1]
    names = sys.argv[2:] or DEFAULT_MODELS
    os.makedirs(outdir, exist_ok=True)
    for name in names:
        torch.manual_seed(0)
        model = randomize_bn_(build(name)).eval()
        g = torch.Generator().manual_seed(1234)
        x = torch.randn(2, 3, 224, 224, generator=g)
        with torch.no_grad():
            logits = model(x)
        torch.save(model.state_dict(), os.path.join(outdir, f"{name}.pth"))
        fixture_io.save(os.path.join(outdir, f"{name}.io.safetensors"),
                        {"input": x, "logits": logits},
                        {"model": name, "torch": torch.__version__, "torchvision": torchvision.__version__})
        print(f"{name}: max|logit| = {logits.abs().max().item():.4f}")


if __name__ == "__main__":
    main()
