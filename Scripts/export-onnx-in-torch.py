#!/usr/bin/env python3
"""Export a practise safetensors model (a zoo architecture, e.g. a bundled teacher) to ONNX with
PyTorch's own exporter, as a user of another framework would hand practise their network.

Usage: export-onnx-in-torch.py MODEL.safetensors OUT.onnx [--image-size N] [--opset K]
The model is rebuilt in PyTorch as Scripts/load-in-pytorch.py does (strict load_state_dict),
exported in eval mode as the README's "Your own network" shows (BatchNorm kept as its own node:
training=PRESERVE, no constant folding) with a dynamic batch, input 'images' [batch, C, N, N] and
output 'scores' (names unlike practise's own 'input'/'logits', so a round trip must keep the
source's names).
"""
import argparse
import importlib.util
import os

import torch

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("load_in_pytorch", os.path.join(here, "load-in-pytorch.py"))
load_in_pytorch = importlib.util.module_from_spec(spec)
spec.loader.exec_module(load_in_pytorch)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("weights")
    p.add_argument("out")
    p.add_argument("--image-size", type=int, default=28)
    p.add_argument("--opset", type=int, default=13)
    a = p.parse_args()
    state, meta = load_in_pytorch.read_safetensors(a.weights)
    model = load_in_pytorch.build(meta)
    load_in_pytorch.slim(model, state)
    model.load_state_dict(state)
    model.eval()
    channels = int(meta["practise.in_channels"])
    x = torch.zeros(1, channels, a.image_size, a.image_size)
    torch.onnx.export(model, x, a.out, opset_version=a.opset, input_names=["images"], output_names=["scores"],
                      dynamic_axes={"images": {0: "batch"}, "scores": {0: "batch"}},
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    print(f"wrote {a.out} ({meta['practise.architecture']}, opset {a.opset}, input [batch, {channels}, {a.image_size}, {a.image_size}])")


if __name__ == "__main__":
    main()
