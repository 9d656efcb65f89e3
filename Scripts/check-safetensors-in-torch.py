#!/usr/bin/env python3
"""Check that a safetensors checkpoint (e.g. written by the Swift tool) loads into the
torchvision model with strict=True and reproduces the reference logits.

Usage: check-safetensors-in-torch.py MODEL_NAME FILE.safetensors IO.safetensors [--require-num-batches-tracked]
MODEL_NAME: a torchvision.models constructor name (resnet18, resnet34, resnet50, mobilenet_v2, ...)
            or cifar_resnetNN:IN_CHANNELS:CLASSES (e.g. cifar_resnet20:1:10).
IO.safetensors: `input` and `logits` (as written by make-torchvision-parity.py).
Passes (exit 0) when max|logits - ref| <= 1e-4 * max|ref|; exits 1 otherwise.
Tensors are cast to the model's dtypes (so F32 num_batches_tracked is accepted).
If the file has no `*.num_batches_tracked` entries they are taken from the model
(reported), unless --require-num-batches-tracked is given; every other key must match
exactly (strict=True, shapes included).
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixture_io  # noqa: E402
from cifar_resnet import cifar_resnet  # noqa: E402


def build(name):
    if name.startswith("cifar_resnet"):
        parts = name.split(":")
        depth = int(parts[0][len("cifar_resnet"):])
        cin = int(parts[1]) if len(parts) > 1 else 3
        ncls = int(parts[2]) if len(parts) > 2 else 10
        return cifar_resnet(depth, in_channels=cin, num_classes=ncls)
    return getattr(torchvision.models, name)(weights=None)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    require_nbt = "--require-num-batches-tracked" in sys.argv
    if len(args) != 3:
        print(__doc__)
        return 2
    name, ckpt, io = args
    model = build(name)
    ref_sd = model.state_dict()
    loaded = fixture_io.load_torch(ckpt)
    sd = {}
    for k, v in loaded.items():
        if k in ref_sd:
            sd[k] = v.to(ref_sd[k].dtype)
        else:
            sd[k] = v  # unexpected key: let strict loading report it
    missing_nbt = [k for k in ref_sd if k.endswith("num_batches_tracked") and k not in sd]
    if missing_nbt and require_nbt:
        print(f"FAIL: {len(missing_nbt)} num_batches_tracked entries absent, e.g. {missing_nbt[0]}")
        return 1
    if missing_nbt:
        # (torch's BatchNorm would also fill these in silently, even with strict=True)
        print(f"note: {len(missing_nbt)} num_batches_tracked entries absent from file; using model defaults")
        for k in missing_nbt:
            sd[k] = ref_sd[k]
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        print(f"FAIL: strict load: {e}")
        return 1
    model.eval()
    io_t = fixture_io.load_torch(io)
    with torch.no_grad():
        logits = model(io_t["input"])
    ref = io_t["logits"]
    if logits.shape != ref.shape:
        print(f"FAIL: logits shape {list(logits.shape)} != {list(ref.shape)}")
        return 1
    err = (logits - ref).abs().max().item()
    tol = 1e-4 * ref.abs().max().item()
    ok = err <= tol
    print(f"{'OK' if ok else 'FAIL'}: {name}: max abs diff {err:.3e}, tolerance {tol:.3e} "
          f"({len(loaded)} tensors loaded from {os.path.basename(ckpt)})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
