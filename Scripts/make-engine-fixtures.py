#!/usr/bin/env python3
"""Engine parity fixtures for the Swift engine, computed with PyTorch (float32, CPU).

Usage: make-engine-fixtures.py [OUTDIR] [--resnet20-widths 16,32,64]
Default OUTDIR: Tests/Fixtures/engine (relative to the repository root).

Writes smallnet.safetensors, resnet20.safetensors, losses.safetensors.
Tensor naming (all F32; scalars have shape [] ):
  param.<state_dict key>        every state_dict entry before the step (no num_batches_tracked)
  input, target                 fixed input batch, integer labels stored as float
  train.logits, train.loss      forward in train mode (batch-stat BN), loss scalar shape []
  train.features                pre-global-pool feature map of that same forward
  train.input_grad              d loss / d input
  grad.<param name>             every parameter's .grad after loss.backward()
  train.running.<bn key>        running_mean / running_var after that one train forward
                                (momentum 0.1, unbiased batch variance)
  eval.logits, eval.features    eval mode (running stats) on a fresh copy of the params
"""
import argparse
import copy
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_io  # noqa: E402
from cifar_resnet import CifarResNet, randomize_bn_  # noqa: E402


class SmallNet(nn.Module):
    def __init__(self, num_classes=5):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=1, padding=1, bias=True)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.dw = nn.Conv2d(16, 16, 3, stride=1, padding=1, groups=16, bias=False)
        self.bn3 = nn.BatchNorm2d(16)
        self.pw = nn.Conv2d(16, 16, 1, bias=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, num_classes)

    def features(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu6(self.bn2(self.conv2(x)))
        r = x
        x = F.relu(self.bn3(self.dw(x)))
        x = self.pw(x) + r
        return self.maxpool(x)

    def head(self, f):
        return self.fc(torch.flatten(self.avgpool(f), 1))

    def forward(self, x):
        return self.head(self.features(x))


def run_case(model, x, target, loss_fn):
    """Dump params, train forward/backward, running stats and eval outputs."""
    out = {}
    sd = model.state_dict()
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            continue
        out["param." + k] = v.clone()
    eval_model = copy.deepcopy(model).eval()

    out["input"] = x
    out["target"] = target.float()

    model.train()
    xin = x.clone().requires_grad_(True)
    feats = model.features(xin)
    logits = model.head(feats)
    loss = loss_fn(logits, target)
    model.zero_grad(set_to_none=True)
    loss.backward()
    out["train.logits"] = logits.detach()
    out["train.loss"] = loss.detach().reshape([])
    out["train.features"] = feats.detach()
    out["train.input_grad"] = xin.grad.detach()
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.detach().clone()
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            out[f"train.running.{name}.running_mean"] = m.running_mean.clone()
            out[f"train.running.{name}.running_var"] = m.running_var.clone()

    with torch.no_grad():
        ef = eval_model.features(x)
        out["eval.logits"] = eval_model.head(ef)
        out["eval.features"] = ef
    return out


def make_losses():
    out = {}
    logits = torch.randn(6, 10) * 2.0
    target = torch.randint(0, 10, (6,))
    out["ce.logits"] = logits
    out["ce.target"] = target.float()
    for tag, ls in (("ce", 0.0), ("ce_ls", 0.1)):
        z = logits.clone().requires_grad_(True)
        loss = F.cross_entropy(z, target, label_smoothing=ls)
        loss.backward()
        out[f"{tag}.loss"] = loss.detach().reshape([])
        out[f"{tag}.grad"] = z.grad
    # KD: KL(student || teacher) with temperature, as in Hinton et al.
    T = 4.0
    s = (torch.randn(6, 10) * 2.0).requires_grad_(True)
    t = (torch.randn(6, 10) * 2.0).requires_grad_(True)
    loss = F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean") * T * T
    loss.backward()
    out["kd.student"] = s.detach()
    out["kd.teacher"] = t.detach()
    out["kd.temperature"] = torch.tensor(T)
    out["kd.loss"] = loss.detach().reshape([])
    out["kd.grad.student"] = s.grad
    out["kd.grad.teacher"] = t.grad
    # MSE (mean over all elements)
    a = torch.randn(2, 3, 4, 4).requires_grad_(True)
    b = torch.randn(2, 3, 4, 4).requires_grad_(True)
    loss = F.mse_loss(a, b)
    loss.backward()
    out["mse.a"] = a.detach()
    out["mse.b"] = b.detach()
    out["mse.loss"] = loss.detach().reshape([])
    out["mse.grad.a"] = a.grad
    out["mse.grad.b"] = b.grad
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir", nargs="?", default=os.path.join(here, "..", "Tests", "Fixtures", "engine"))
    ap.add_argument("--resnet20-widths", default="16,32,64",
                    help="stage widths of the resnet20 fixture (default is the real ResNet-20)")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    common_meta = {
        "generator": "Scripts/make-engine-fixtures.py",
        "torch": torch.__version__,
        "scalar_shape": "[]",
        "bn_eps": "1e-05",
        "bn_momentum": "0.1",
        "running_var_update": "unbiased",
    }

    # a) smallnet
    model = randomize_bn_(SmallNet(5))
    x = torch.randn(4, 3, 16, 16)
    target = torch.randint(0, 5, (4,))
    ls = lambda z, y: F.cross_entropy(z, y, label_smoothing=0.1)  # noqa: E731
    t = run_case(model, x, target, ls)
    fixture_io.save(os.path.join(args.outdir, "smallnet.safetensors"), t,
                    {**common_meta, "model": "smallnet", "loss": "cross_entropy(label_smoothing=0.1)"})

    # b) resnet20 (1 input channel, 10 classes)
    widths = tuple(int(w) for w in args.resnet20_widths.split(","))
    model = randomize_bn_(CifarResNet(20, in_channels=1, num_classes=10, widths=widths))
    x = torch.randn(4, 1, 28, 28)
    target = torch.randint(0, 10, (4,))
    t = run_case(model, x, target, F.cross_entropy)
    fixture_io.save(os.path.join(args.outdir, "resnet20.safetensors"), t,
                    {**common_meta, "model": "cifar_resnet20", "widths": args.resnet20_widths,
                     "loss": "cross_entropy"})

    # c) losses
    t = make_losses()
    fixture_io.save(os.path.join(args.outdir, "losses.safetensors"), t,
                    {**common_meta, "model": "losses",
                     "kd": "kl_div(log_softmax(s/T), softmax(t/T), batchmean) * T*T, T=4",
                     "mse": "mean"})

    for f in sorted(os.listdir(args.outdir)):
        p = os.path.join(args.outdir, f)
        print(f"{p}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
