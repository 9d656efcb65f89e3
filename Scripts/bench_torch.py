#!/usr/bin/env python3
"""PyTorch CPU benchmark, the reference side of the Swift engine's benchmarks.

Usage: bench_torch.py --threads 2 --workload NAME [--seconds S] [--warmup N]
Prints one JSON line:
  {"workload", "engine", "aten_cpu_capability", "onednn", "threads", "batch", "iters",
   "throughput_img_s", "ms_per_iter", "ms_per_iter_mean", "peak_rss_mb"}
(aten_cpu_capability: the vector level of ATen's own kernels, which ATEN_CPU_CAPABILITY caps;
onednn: the oneDNN version, whose ISA ONEDNN_MAX_CPU_ISA caps.)
ms_per_iter is the median over the timed iterations; throughput = batch / median.
Run one workload per process (peak RSS is the process high-water mark, getrusage).

Workloads:
  train-resnet56-28       CIFAR ResNet-56, 1x28x28, 10 classes, batch 64,
                          forward + CrossEntropy + backward + SGD(momentum 0.9) step
  train-resnet18-224      torchvision resnet18, 3x224x224, 1000 classes, batch 16, same step
  train-resnet34-224      torchvision resnet34, batch 16, same step
  eval-resnet34-224-b1 / -b64, eval-mobilenet_v2-224-b1 / -b64
                          eval mode, torch.no_grad(), forward only
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cifar_resnet import cifar_resnet  # noqa: E402

# name -> (mode, model ctor, batch, input shape (C,H,W), classes)
WORKLOADS = {
    "train-resnet56-28": ("train", lambda: cifar_resnet(56, in_channels=1, num_classes=10), 64, (1, 28, 28), 10),
    "train-resnet18-224": ("train", lambda: torchvision.models.resnet18(weights=None), 16, (3, 224, 224), 1000),
    "train-resnet34-224": ("train", lambda: torchvision.models.resnet34(weights=None), 16, (3, 224, 224), 1000),
    "eval-resnet34-224-b1": ("eval", lambda: torchvision.models.resnet34(weights=None), 1, (3, 224, 224), 1000),
    "eval-resnet34-224-b64": ("eval", lambda: torchvision.models.resnet34(weights=None), 64, (3, 224, 224), 1000),
    "eval-mobilenet_v2-224-b1": ("eval", lambda: torchvision.models.mobilenet_v2(weights=None), 1, (3, 224, 224), 1000),
    "eval-mobilenet_v2-224-b64": ("eval", lambda: torchvision.models.mobilenet_v2(weights=None), 64, (3, 224, 224), 1000),
}


def peak_rss_mb():
    # Linux: ru_maxrss is in KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed_loop(step, seconds, warmup, min_iters=3, max_iters=10000):
    for _ in range(warmup):
        step()
    times = []
    start = time.perf_counter()
    while len(times) < max_iters:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
        if len(times) >= min_iters and time.perf_counter() - start >= seconds:
            break
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    ap.add_argument("--seconds", type=float, default=10.0, help="minimum timed duration")
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    # Do not call torch.set_num_interop_threads(1): with Debian's torch 1.13 it makes
    # training about 20x slower on this machine (measured), which would flatter our ratios.
    torch.manual_seed(0)
    mode, ctor, batch, shape, classes = WORKLOADS[args.workload]
    model = ctor()
    x = torch.randn(batch, *shape)

    if mode == "train":
        model.train()
        y = torch.randint(0, classes, (batch,))
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        loss_fn = nn.CrossEntropyLoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x)

    times = timed_loop(step, args.seconds, args.warmup)
    med = statistics.median(times)
    config = torch.__config__.show()
    capability = next((l.split(":", 1)[1].strip() for l in config.splitlines() if "CPU capability usage" in l), "unknown")
    onednn = next((l.split("v", 1)[1].split()[0] for l in config.splitlines() if "MKL-DNN" in l or "oneDNN" in l), "unknown")
    print(json.dumps({
        "workload": args.workload,
        "engine": f"torch-{torch.__version__}",
        "aten_cpu_capability": capability,
        "onednn": onednn,
        "threads": args.threads,
        "batch": batch,
        "iters": len(times),
        "throughput_img_s": round(batch / med, 3),
        "ms_per_iter": round(med * 1000, 3),
        "ms_per_iter_mean": round(statistics.fmean(times) * 1000, 3),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }))


if __name__ == "__main__":
    main()
