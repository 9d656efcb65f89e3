#!/usr/bin/env python3
"""Reference PRACTISE analysis phase (Wang & Wu, CVPR 2023) in PyTorch, CPU, for CIFAR
ResNets (cifar_resnet.py) on Fashion-MNIST. A timing/behaviour reference for the Swift tool.

Usage:
  practise_reference.py --depth 20|56 [--weights FILE.safetensors] [--num-samples 100]
      [--seed 2021] [--iterations 500] [--threads 2] [--json OUT.json]
      [--data-dir /usr/share/datasets/fashion-mnist] [--latency-runs 10] [--blocks layer1.1,...]

Steps (mirrors the authors' Practise_one_block / insert_one_block_adaptors_for_resnet / train / metric):
 1. Tiny set: np.random.seed(seed) (legacy RandomState, MT19937 init_genrand(seed)); until n
    distinct images are chosen: c = randint(num_classes); j = randint(len(images of class c));
    idx = images_of_class[c][j] (class members in ascending dataset order, training split);
    a duplicate is redrawn. randint(n) = draw 32-bit outputs, mask with the smallest 2^k-1 >= n-1,
    reject values > n-1 (numpy's legacy bounded masked draw). Indices are written to the JSON.
 2. Candidates: every block layerK.i with i >= 1 (identity shortcut, so it can be dropped).
 3. For each candidate: copy of the model with that block replaced by identity; identity-initialised
    1x1 adaptor convs (C->C, no bias) - after-convs on the output of layerL.0.downsample.0 (if any) and
    of conv2 of blocks layerL.0..layerL.(i-1); pre-convs on the input of conv1 of blocks layerL.(i+1)..
    and of layer(L+1).0.conv1 and layer(L+1).0.downsample.0 (if stage L+1 exists).
    Train only the adaptors: MSE(mean) between student and teacher pre-pool features, both networks in
    eval mode (BN running stats), SGD(lr 0.02, momentum 0.9, weight_decay 1e-4), batch 64,
    StepLR(step_size=int(0.4*iterations), gamma=0.1) stepped once per iteration, exactly as the
    reference code (so lr is x0.1 after 40% and x0.01 after 80% of the iterations).
    Batches: a stream of random permutations of the tiny set (torch generator seeded with seed), cut
    into full batches of 64 (every image seen once per pass). Train transform on [0,1] pixels:
    zero-pad 4 + random 28x28 crop, horizontal flip p=0.5, then normalise (x-0.2860)/0.3530.
 4. Recoverability: mean feature MSE over the tiny set (eval transform: normalise only), i.e. the
    element mean over all images (what the reference's batch-size-weighted AverageMeter gives).
 5. Latency: eval forward, batch 64, 1x28x28, for the full model and for the model with only that
    block removed (no adaptors), timed alternately, median of --latency-runs each after 3 warm-ups;
    latency reduction % = (full - pruned) / full * 100. score = recoverability / reduction%.
    Lower score = better block to drop. MAC reduction % is reported as a noise-free aside.
"""
import argparse
import copy
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_io  # noqa: E402
from cifar_resnet import cifar_resnet  # noqa: E402

MEAN, STD = 0.2860, 0.3530
BATCH = 64


# ----------------------------------------------------------------------------- data
def read_idx_gz(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(data_dir, split="train"):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx_gz(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx_gz(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels


def sample_tiny_set(labels, num_samples, seed, num_classes=10):
    """Reference rule: legacy numpy RNG; draw a class, then an image of that class; redraw dups."""
    np.random.seed(seed)
    per_class = [np.flatnonzero(labels == c) for c in range(num_classes)]
    chosen, seen = [], set()
    while len(chosen) < num_samples:
        c = np.random.randint(num_classes)
        j = np.random.randint(len(per_class[c]))
        idx = int(per_class[c][j])
        if idx in seen:
            continue
        seen.add(idx)
        chosen.append(idx)
    return chosen


def normalise(x):
    return (x - MEAN) / STD


def train_augment(x, gen):
    """x: [N,1,28,28] in [0,1]. Zero-pad 4, random 28x28 crop, random horizontal flip."""
    n, _, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    offs = torch.randint(0, 9, (n, 2), generator=gen)
    flips = torch.rand(n, generator=gen) < 0.5
    out = torch.empty_like(x)
    for k in range(n):
        oy, ox = int(offs[k, 0]), int(offs[k, 1])
        img = padded[k, :, oy:oy + h, ox:ox + w]
        out[k] = img.flip(-1) if flips[k] else img
    return normalise(out)


def batch_stream(n, gen):
    """Endless stream of index batches of size BATCH over concatenated random permutations."""
    buf = []
    while True:
        while len(buf) < BATCH:
            buf.extend(torch.randperm(n, generator=gen).tolist())
        yield buf[:BATCH]
        buf = buf[BATCH:]


# ----------------------------------------------------------------------------- model surgery
class Adaptor(nn.Module):
    """Identity-initialised 1x1 conv (C->C, no bias)."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(channels).view(channels, channels, 1, 1))

    def forward(self, x):
        return self.conv(x)


def get_module(model, name):
    m = model
    for part in name.split("."):
        m = m[int(part)] if part.isdigit() else getattr(m, part)
    return m


def set_module(model, name, new):
    parent_name, _, leaf = name.rpartition(".")
    parent = get_module(model, parent_name) if parent_name else model
    if leaf.isdigit():
        parent[int(leaf)] = new
    else:
        setattr(parent, leaf, new)


def num_blocks(model, stage):
    return len(getattr(model, f"layer{stage}"))


def candidate_blocks(model):
    return [f"layer{s}.{i}" for s in (1, 2, 3) for i in range(1, num_blocks(model, s))]


def remove_block(model, block):
    pruned = copy.deepcopy(model)
    set_module(pruned, block, nn.Identity())
    return pruned


def adaptor_sites(model, block):
    """(after_convs, pre_convs) module names for dropping `block` = 'layerL.i' (original numbering)."""
    stage, i = int(block[5]), int(block.split(".")[1])
    assert i >= 1
    names = {n for n, _ in model.named_modules()}
    after, pre = [], []
    if f"layer{stage}.0.downsample.0" in names:
        after.append(f"layer{stage}.0.downsample.0")
    after += [f"layer{stage}.{j}.conv2" for j in range(i)]
    pre += [f"layer{stage}.{j}.conv1" for j in range(i + 1, num_blocks(model, stage))]
    for nxt in (f"layer{stage + 1}.0.conv1", f"layer{stage + 1}.0.downsample.0"):
        if nxt in names:
            pre.append(nxt)
    return after, pre


def insert_adaptors(model, block):
    """In place; returns the list of adaptor modules (the only trainable parameters)."""
    after, pre = adaptor_sites(model, block)
    adaptors = []
    for name in after:
        conv = get_module(model, name)
        a = Adaptor(conv.out_channels)
        set_module(model, name, nn.Sequential(conv, a))
        adaptors.append(a)
    for name in pre:
        conv = get_module(model, name)
        a = Adaptor(conv.in_channels)
        set_module(model, name, nn.Sequential(a, conv))
        adaptors.append(a)
    for p in model.parameters():
        p.requires_grad_(False)
    for a in adaptors:
        a.conv.weight.requires_grad_(True)
    return adaptors, after, pre


# ----------------------------------------------------------------------------- train / evaluate
def train_adaptors(student, teacher, adaptors, images, iterations, seed, lr=0.02):
    student.eval()
    teacher.eval()
    params = [a.conv.weight for a in adaptors]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, int(0.4 * iterations)), gamma=0.1)
    gen = torch.Generator().manual_seed(seed)
    stream = batch_stream(len(images), gen)
    last = float("nan")
    for _ in range(iterations):
        x = train_augment(images[next(stream)], gen)
        with torch.no_grad():
            t_feat = teacher.features(x)
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(student.features(x), t_feat)
        loss.backward()
        opt.step()
        sched.step()
        last = loss.item()
    return last


@torch.no_grad()
def feature_mse(student, teacher, images):
    student.eval()
    teacher.eval()
    total, count = 0.0, 0
    for b in range(0, len(images), BATCH):
        x = normalise(images[b:b + BATCH])
        s, t = student.features(x), teacher.features(x)
        total += F.mse_loss(s, t, reduction="sum").item()
        count += s.numel()
    return total / count


@torch.no_grad()
def paired_latency_ms(full, pruned, runs, warmup=3):
    """Median eval latency (ms per batch of 64) of `full` and `pruned`, timed alternately
    (full, pruned, full, pruned, ...) so that machine-load drift hits both alike."""
    full.eval()
    pruned.eval()
    x = torch.randn(BATCH, 1, 28, 28)
    for _ in range(warmup):
        full(x)
        pruned(x)
    tf, tp = [], []
    for _ in range(runs):
        for model, acc in ((full, tf), (pruned, tp)):
            t0 = time.perf_counter()
            model(x)
            acc.append(time.perf_counter() - t0)
    return statistics.median(tf) * 1000.0, statistics.median(tp) * 1000.0


def conv_linear_macs(model):
    """MACs of convs + linear layers for one 1x28x28 image (via forward hooks)."""
    macs = [0]

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            macs[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs[0] += m.in_features * m.out_features

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 1, 28, 28))
    for h in hs:
        h.remove()
    return macs[0]


# ----------------------------------------------------------------------------- main
def finite_or_null(obj):
    """NaN/inf -> null so the JSON stays strict (a diverged run with random weights can give NaN)."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_null(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite_or_null(v) for v in obj]
    return obj


def build_model(depth, weights, seed):
    torch.manual_seed(seed)
    model = cifar_resnet(depth, in_channels=1, num_classes=10)
    if weights:
        sd = fixture_io.load_torch(weights)
        ref = model.state_dict()
        sd = {k: v.to(ref[k].dtype) if k in ref else v for k, v in sd.items()}
        for k in ref:
            if k.endswith("num_batches_tracked") and k not in sd:
                sd[k] = ref[k]
        model.load_state_dict(sd, strict=True)
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--weights", default=None)
    ap.add_argument("--num-samples", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2021)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--latency-runs", type=int, default=10)
    ap.add_argument("--blocks", default=None, help="comma-separated subset of candidates")
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--json", default=None, help="output JSON path (default practise-ref-d<depth>.json)")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    json_path = args.json or f"practise-ref-d{args.depth}.json"

    images_u8, labels = load_fashion_mnist(args.data_dir, "train")
    indices = sample_tiny_set(labels, args.num_samples, args.seed)
    tiny = torch.from_numpy(images_u8[indices].astype(np.float32) / 255.0).unsqueeze(1)
    teacher = build_model(args.depth, args.weights, args.seed)

    t_start = time.perf_counter()
    full_lat, _ = paired_latency_ms(teacher, teacher, args.latency_runs)
    full_macs = conv_linear_macs(teacher)
    candidates = args.blocks.split(",") if args.blocks else candidate_blocks(teacher)
    print(f"# ResNet-{args.depth}, {len(indices)} samples (seed {args.seed}), {args.iterations} iterations, "
          f"{args.threads} threads; full model latency {full_lat:.2f} ms/batch64; {len(candidates)} candidates")
    hdr = f"{'block':<10} {'mse_before':>11} {'recoverab.':>11} {'lat_ms':>8} {'lat_red%':>8} " \
          f"{'mac_red%':>8} {'score':>10} {'adapt':>5} {'train_s':>8}"
    print(hdr)
    rows = []
    for block in candidates:
        pruned = remove_block(teacher, block)
        full_lat_c, lat = paired_latency_ms(teacher, pruned, args.latency_runs)
        macs = conv_linear_macs(pruned)
        lat_red = (full_lat_c - lat) / full_lat_c * 100.0
        mac_red = (full_macs - macs) / full_macs * 100.0
        mse_before = feature_mse(pruned, teacher, tiny)
        student = copy.deepcopy(pruned)
        adaptors, after, pre = insert_adaptors(student, block)
        t0 = time.perf_counter()
        last_loss = train_adaptors(student, teacher, adaptors, tiny, args.iterations, args.seed, args.lr)
        train_s = time.perf_counter() - t0
        rec = feature_mse(student, teacher, tiny)
        score = rec / lat_red if lat_red != 0 else float("inf")
        row = {"block": block, "mse_before": mse_before, "recoverability": rec, "latency_ms": lat, "full_latency_ms": full_lat_c,
               "latency_reduction_pct": lat_red, "mac_reduction_pct": mac_red, "score": score,
               "score_by_macs": rec / mac_red, "after_convs": after, "pre_convs": pre,
               "final_train_loss": last_loss, "train_seconds": train_s}
        rows.append(row)
        print(f"{block:<10} {mse_before:11.5f} {rec:11.5f} {lat:8.2f} {lat_red:8.2f} {mac_red:8.2f} "
              f"{score:10.5f} {len(adaptors):5d} {train_s:8.2f}", flush=True)
    total = time.perf_counter() - t_start
    ranking = [r["block"] for r in sorted(rows, key=lambda r: r["score"])]
    print(f"# ranking (lowest score first): {' '.join(ranking)}")
    print(f"# analysis wall time: {total:.2f} s")
    out = {"depth": args.depth, "weights": args.weights, "num_samples": args.num_samples, "seed": args.seed,
           "iterations": args.iterations, "threads": args.threads, "lr": args.lr, "batch": BATCH,
           "torch": torch.__version__, "sample_indices": indices,
           "full_latency_ms": full_lat, "full_macs": full_macs, "candidates": rows, "ranking": ranking,
           "analysis_wall_seconds": total}
    with open(json_path, "w") as f:
        json.dump(finite_or_null(out), f, indent=1, allow_nan=False)
    print(f"# wrote {json_path}")


if __name__ == "__main__":
    main()
