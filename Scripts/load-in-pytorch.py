#!/usr/bin/env python3
"""Load a practise safetensors model (teacher or compressed) into PyTorch and evaluate it.

Usage: load-in-pytorch.py MODEL.safetensors [IDX_DIR] [--logits PREFIX]
IDX_DIR defaults to Assets/fashion-mnist-subset (the bundled test subset). Prints
{"top1": ..., "count": ...} in percent. This is the README's snippet, run by Scripts/test.
--logits PREFIX also writes the first 8 normalised test images and PyTorch's logits for them as
PREFIX.input.bin and PREFIX.logits.bin (raw float32 with a .json shape sidecar, the format of
Scripts/check-onnx.py --input/--expected), so an exported ONNX file can be compared logit by logit.
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torchvision
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cifar_resnet import cifar_resnet  # noqa: E402
from idx_io import read_idx  # noqa: E402


def read_safetensors(path):  # no dependency on the safetensors package
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {k: torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]),
                                   dtype=torch.float32).reshape(v["shape"]) for k, v in header.items()}
    return tensors, meta


def slim(model, state):  # filter-pruned models: give every conv and BatchNorm the file's shape
    for name, m in list(model.named_modules()):
        w = state.get(name + ".weight")
        if not isinstance(m, (nn.Conv2d, nn.BatchNorm2d)) or w is None or w.shape == m.weight.shape:
            continue
        if isinstance(m, nn.Conv2d):
            dw = m.groups > 1  # depthwise stays depthwise
            new = nn.Conv2d(w.shape[0] if dw else w.shape[1], w.shape[0], m.kernel_size, m.stride, m.padding,
                            groups=w.shape[0] if dw else 1, bias=m.bias is not None)
        else:
            new = nn.BatchNorm2d(w.shape[0])
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, child, new)


def build(meta):
    arch = meta["practise.architecture"]
    classes, channels = int(meta["practise.num_classes"]), int(meta["practise.in_channels"])
    if arch in ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110"):
        model = cifar_resnet(int(arch[6:]), in_channels=channels, num_classes=classes)
    else:
        model = getattr(torchvision.models, arch)(num_classes=classes)
    for path in filter(None, meta.get("practise.dropped_blocks", "").split(",")):
        parent, index = path.rsplit(".", 1)       # "layer3.1" or "features.5"
        getattr(model, parent)[int(index)] = nn.Identity()
    return model


def write_raw(path, tensor):
    tensor.numpy().astype("<f4").tofile(path)
    with open(path + ".json", "w") as f:
        json.dump({"dtype": "float32", "shape": list(tensor.shape)}, f)


def main():
    args = sys.argv[1:]
    logits_prefix = None
    if "--logits" in args:
        i = args.index("--logits")
        logits_prefix = args[i + 1]
        del args[i:i + 2]
    weights = args[0]
    idx_dir = args[1] if len(args) > 1 else os.path.join(os.path.dirname(__file__), "..", "Assets", "fashion-mnist-subset")
    state, meta = read_safetensors(weights)
    model = build(meta)
    slim(model, state)
    model.load_state_dict(state)   # strict: every key must match
    model.eval()
    mean = float(meta.get("practise.normalization.mean", "0.286"))
    std = float(meta.get("practise.normalization.std", "0.353"))
    images = read_idx(os.path.join(idx_dir, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    labels = torch.from_numpy(read_idx(os.path.join(idx_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64))
    x = (torch.from_numpy(images).unsqueeze(1) - mean) / std
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
        if logits_prefix:
            write_raw(logits_prefix + ".input.bin", x[:8].contiguous())
            write_raw(logits_prefix + ".logits.bin", model(x[:8]))
    print(json.dumps({"top1": round(100 * (pred == labels).float().mean().item(), 2), "count": len(labels)}))


if __name__ == "__main__":
    main()
