#!/usr/bin/env python3
"""Faithful PyTorch run of `practise synthesize` (DeepInversion), as a speed benchmark.

The same teacher (a committed or trained CIFAR-style ResNet safetensors file), loss, schedule and
batch as our engine's synthesis (Sources/Practise/Synthesis):
  loss = CE(teacher(x_j), balanced labels) + bn_weight * sum_l r_l (||mu_l - mu*_l||_2 + ||var_l - var*_l||_2)
         + tv * TV-l2(x_j) + l2 * mean_i ||x_j,i||_2
  with x_j = x rolled by up to `jitter` pixels and flipped left-right with probability 1/2,
  mu_l / var_l the mean and biased variance over (N, H, W) of batch norm l's input (teacher in
  eval mode), r_l = first_bn_multiplier for the first batch norm, 1 for the others;
  Adam(betas 0.5, 0.9, eps 1e-8), linear warm-up then cosine decay; images clipped to the
  normalised [0, 1] range after each step; the lowest-loss images are kept.
Random streams differ from ours (so images differ); the work per iteration is identical.

Usage: /usr/bin/python3 Scripts/deepinversion_reference.py --depth 56 \
          --weights Assets/teachers/resnet56-fashion-mnist.safetensors --iterations 100 --batch 64 --threads 2
Prints one JSON line: seconds, ms per iteration, BN loss at the start and of the kept images.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from practise_reference import build_model  # noqa: E402

MEAN, STD = 0.2860, 0.3530


def rate(i, lr, warmup, iterations):
    if i < warmup:
        return lr * (i + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (i - warmup) / max(1, iterations - warmup))) * lr


def tv_l2(x):
    d1 = x[:, :, :, :-1] - x[:, :, :, 1:]
    d2 = x[:, :, :-1, :] - x[:, :, 1:, :]
    d3 = x[:, :, 1:, :-1] - x[:, :, :-1, 1:]
    d4 = x[:, :, :-1, :-1] - x[:, :, 1:, 1:]
    return torch.norm(d1) + torch.norm(d2) + torch.norm(d3) + torch.norm(d4)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depth", type=int, default=56)
    ap.add_argument("--weights", default="Assets/teachers/resnet56-fashion-mnist.safetensors")
    ap.add_argument("--iterations", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--lr", type=float, default=0.25)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--bn-weight", type=float, default=0.05)
    ap.add_argument("--first-bn-multiplier", type=float, default=10)
    ap.add_argument("--tv", type=float, default=1e-4)
    ap.add_argument("--l2", type=float, default=1e-5)
    ap.add_argument("--jitter", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=2021)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    teacher = build_model(args.depth, args.weights, args.seed)
    for p in teacher.parameters():
        p.requires_grad_(False)
    stats = []

    def hook(module, inputs, output):
        x = inputs[0]
        mean = x.mean([0, 2, 3])
        var = x.permute(1, 0, 2, 3).reshape(x.shape[1], -1).var(1, unbiased=False)
        stats.append(torch.norm(mean - module.running_mean, 2) + torch.norm(var - module.running_var, 2))

    bns = [m for m in teacher.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in bns:
        m.register_forward_hook(hook)
    scales = [args.first_bn_multiplier] + [1.0] * (len(bns) - 1)
    x = torch.randn(args.batch, 1, args.size, args.size, requires_grad=True)
    labels = torch.arange(args.batch) % 10
    opt = torch.optim.Adam([x], lr=args.lr, betas=(0.5, 0.9), eps=1e-8)
    lo, hi = (0 - MEAN) / STD, (1 - MEAN) / STD
    best, best_loss, best_bn, first_bn = None, float("inf"), None, None
    start = time.perf_counter()
    for i in range(args.iterations):
        for g in opt.param_groups:
            g["lr"] = rate(i, args.lr, args.warmup, args.iterations)
        dy, dx = random.randint(-args.jitter, args.jitter), random.randint(-args.jitter, args.jitter)
        xj = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        if random.random() < 0.5:
            xj = torch.flip(xj, dims=(3,))
        stats.clear()
        opt.zero_grad()
        logits = teacher(xj)
        bn = sum(s * r for s, r in zip(stats, scales))
        loss = F.cross_entropy(logits, labels) + args.bn_weight * bn + args.tv * tv_l2(xj) \
            + args.l2 * torch.norm(xj.view(args.batch, -1), dim=1).mean()
        value = loss.item()
        bn_plain = sum(s.item() for s in stats)
        if first_bn is None:
            first_bn = bn_plain
        if value < best_loss:
            best_loss, best_bn, best = value, bn_plain, x.detach().clone()
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(lo, hi)
    seconds = time.perf_counter() - start
    print(json.dumps({"engine": f"pytorch {torch.__version__}", "depth": args.depth, "batch": args.batch,
                      "iterations": args.iterations, "threads": args.threads, "seconds": round(seconds, 3),
                      "ms_per_iteration": round(1000 * seconds / args.iterations, 2),
                      "initial_bn_loss": first_bn, "bn_loss": best_bn, "loss": best_loss}))


if __name__ == "__main__":
    main()
