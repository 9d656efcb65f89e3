#!/usr/bin/env python3
"""Top-1 of an ONNX classifier in onnxruntime on IDX test images (the bundled Fashion-MNIST
subset by default), normalised as the model's metadata records: what `practise eval` reports
for the same file and images.

Usage: eval-onnx.py MODEL.onnx [IDX_DIR] [--threads 2]
Prints {"top1": ..., "count": ...} (percent). The grey images are repeated over the model's
input channels (practise's grey -> RGB rule) and must have the graph's H x W. The normalisation
is read from the metadata_props practise.normalization.mean / .std that `practise compress`
writes; a model without them is refused (its normalisation is not known). Needs numpy, onnx and onnxruntime
(Scripts/requirements-check-onnx.txt).
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from idx_io import read_idx  # noqa: E402


def model_input(images, input_shape, mean, std, model, idx_dir):
    """Grey images `[N, H, W]` in [0, 1] as the model's normalised input `[N, C, H, W]`: the
    grey value repeated over C channels, as practise's input rule converts grey to RGB. Images
    of another size than the graph's fixed H, W are refused (practise would resize them; this
    script does not)."""
    channels, height, width = input_shape[1:]
    if (height, width) != images.shape[1:] and all(isinstance(d, int) for d in (height, width)):
        sys.exit(f"{idx_dir}: images are {images.shape[1]}x{images.shape[2]}, {model} takes {height}x{width}; "
                 "give images of the model's size (this script does not resize)")
    if len(mean) not in (1, channels):
        sys.exit(f"{model}: its normalisation has {len(mean)} values, its input {channels} channels")
    x = np.repeat(images[:, None, :, :], channels, axis=1)
    return (x - mean.reshape(1, -1, 1, 1)) / std.reshape(1, -1, 1, 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("idx_dir", nargs="?", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Assets", "fashion-mnist-subset"))
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    meta = {e.key: e.value for e in onnx.load(a.model, load_external_data=False).metadata_props}
    try:
        mean = np.array([float(v) for v in meta["practise.normalization.mean"].split(",")], dtype=np.float32)
        std = np.array([float(v) for v in meta["practise.normalization.std"].split(",")], dtype=np.float32)
    except KeyError:
        sys.exit(f"{a.model}: no practise.normalization.mean/std in its metadata; its normalisation is not known")
    images = read_idx(os.path.join(a.idx_dir, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    labels = read_idx(os.path.join(a.idx_dir, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    x = model_input(images, session.get_inputs()[0].shape, mean, std, a.model, a.idx_dir)
    pred = np.concatenate([session.run(None, {name: x[i:i + 250]})[0].argmax(1) for i in range(0, len(x), 250)])
    print(json.dumps({"top1": round(100 * float((pred == labels).mean()), 2), "count": int(len(labels))}))


if __name__ == "__main__":
    main()
