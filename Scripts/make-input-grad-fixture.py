#!/usr/bin/env python3
"""Eval-mode input gradients of the resnet20 engine fixture (what data-free synthesis needs).

Usage: make-input-grad-fixture.py [FIXTUREDIR]   (default Tests/NNTests/Fixtures/engine)
Reads resnet20.safetensors there (weights, randomised BN statistics, `input` [4, 1, 28, 28],
`target`) and writes resnet20-input-grad.safetensors:
  eval.input_grad     d mean-CE / d input of the fixture's input, teacher in eval mode
  small.input         [4, 1, 8, 8] fixed input (seed 0)
  small.input_grad    d mean-CE(targets 0,1,2,3) / d small.input, eval mode
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_io  # noqa: E402
from cifar_resnet import CifarResNet  # noqa: E402


def input_grad(model, x, target):
    xin = x.clone().requires_grad_(True)
    F.cross_entropy(model(xin), target).backward()
    return xin.grad.detach()


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "Tests/NNTests/Fixtures/engine"
    f = fixture_io.load(os.path.join(d, "resnet20.safetensors"))
    model = CifarResNet(20, in_channels=1, num_classes=10)
    sd = {k[6:]: torch.from_numpy(v.copy()) for k, v in f.items() if k.startswith("param.")}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)   # a frozen teacher, as in synthesis
    out = {}
    out["eval.input_grad"] = input_grad(model, torch.from_numpy(f["input"].copy()),
                                        torch.from_numpy(f["target"].copy()).long())
    g = torch.Generator().manual_seed(0)
    small = torch.randn(4, 1, 8, 8, generator=g)
    out["small.input"] = small
    out["small.input_grad"] = input_grad(model, small, torch.tensor([0, 1, 2, 3]))
    fixture_io.save(os.path.join(d, "resnet20-input-grad.safetensors"), out,
                    {"torch": torch.__version__, "loss": "cross_entropy (mean)", "mode": "eval"})


if __name__ == "__main__":
    main()
