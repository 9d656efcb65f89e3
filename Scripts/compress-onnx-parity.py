#!/usr/bin/env python3
"""A short `practise compress` of every model that make-onnx-import-parity.py exported, then the
top-1 of each written model.onnx in onnxruntime (Scripts/eval-onnx.py) against `practise eval`
of the same file on the same images: equal within one image, else the check fails.

    compress-onnx-parity.py --practise BIN --models DIR --work DIR

DIR holds `<name>.onnx` and `<name>.json` ({"candidates", "image": [3, S, S]}) as
`make-onnx-import-parity.py DIR --image-size S --num-classes 10` writes them. The images: the
bundled Fashion-MNIST subset (first --train train and --test test images), zero-padded
to S x S; practise converts them to the models' 3 channels by its input rule (grey repeated),
eval-onnx.py does the same. Random-weight models on Fashion-MNIST: the check is agreement of the
two engines, not accuracy. Each compress drops one block chosen by its analysis (2 iterations)
under a latency table written here (figures by hand, distinct per block), so no latency is measured
per candidate, and the final measurement of teacher and student gets a budget of 1 s. Run it with a Python that has numpy, onnx and onnxruntime.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import padded_fashion  # noqa: E402
from idx_io import write_idx  # noqa: E402

MEAN, STD = ",".join([f"{padded_fashion.MEAN:.4f}"] * 3), ",".join([f"{padded_fashion.STD:.4f}"] * 3)  # per channel


def padded_set(out, size, train, test):
    """The first `train`/`test` bundled images zero-padded to `[N, size, size]`, as IDX files in `out`."""
    os.makedirs(out, exist_ok=True)
    for split, count in (("train", train), ("t10k", test)):
        images, labels = padded_fashion.padded(split, count, size)
        write_idx(os.path.join(out, f"{split}-images-idx3-ubyte.gz"), images)
        write_idx(os.path.join(out, f"{split}-labels-idx1-ubyte.gz"), labels)
    return out


def latency_table(path, name, image, blocks):
    """A hand-written latency table for the imported network `onnx:<name>` on images `[C, S, S]`."""
    json.dump({"format": "practise-latency-table/1", "model": f"onnx:{name}", "image_shape": image, "batch": 1, "threads": 1,
               "cpu": "by hand", "engine": "by hand",
               "blocks": [{"block": b, "latency_reduction": 0.02 + 0.005 * i} for i, b in enumerate(blocks)]}, open(path, "w"))


def run(command, log):
    with open(log, "w") as f:
        if subprocess.run(command, stdout=f, stderr=subprocess.STDOUT).returncode != 0:
            sys.exit(f"failed: {' '.join(command)}\n" + "".join(open(log).readlines()[-20:]))


def check(name, a, data):
    """Compresses `<name>.onnx`, then compares the written model.onnx in both engines; returns a summary line."""
    described = json.load(open(os.path.join(a.models, f"{name}.json")))
    image = described["image"]
    table, out = os.path.join(a.work, f"{name}.table.json"), os.path.join(a.work, name)
    latency_table(table, name, image, described["candidates"])
    run([a.practise, "compress", "--weights", os.path.join(a.models, f"{name}.onnx"), "--mean", MEAN, "--std", STD,
         "--data", f"idx:{data}", "--num-samples", "8", "--analysis-iterations", "2", "--finetune-iterations", "2",
         "--batch-size", "8", "--drop", "1", "--latency-table", table, "--latency-batch", "1", "--latency-budget", "1", "--seed", "7",
         "--out", out, "--force"], out + ".compress.log")
    run([a.practise, "eval", "--weights", os.path.join(out, "model.onnx"), "--data", f"idx:{data}",
         "--json", out + ".eval.json"], out + ".eval.log")
    ort = subprocess.run([sys.executable, os.path.join(here, "eval-onnx.py"), os.path.join(out, "model.onnx"), data],
                         capture_output=True, text=True)
    if ort.returncode != 0:
        sys.exit(f"{name}: eval-onnx.py failed\n{ort.stderr}")
    ours, theirs = json.load(open(out + ".eval.json")), json.loads(ort.stdout)
    report = json.load(open(os.path.join(out, "report.json")))
    one_image = 100 / theirs["count"] + 1e-6
    if ours["count"] != theirs["count"] or abs(ours["top1"] - theirs["top1"]) > one_image:
        sys.exit(f"{name}: top-1 of the written model.onnx differs: practise eval {ours}, onnxruntime {theirs}")
    if abs(ours["top1"] - report["top1"]["student"]) > one_image:
        sys.exit(f"{name}: practise eval of model.onnx {ours['top1']} vs the student's top-1 in report.json {report['top1']['student']}")
    return (f"{name} [{image[0]}, {image[1]}, {image[2]}]: dropped {', '.join(report['dropped_blocks'])}; model.onnx top-1 "
            f"practise eval {ours['top1']:.2f}, onnxruntime {theirs['top1']:.2f} on {theirs['count']} images")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--practise", required=True, help="the practise binary")
    p.add_argument("--models", required=True, help="folder of make-onnx-import-parity.py's exports")
    p.add_argument("--work", required=True, help="folder for the data, tables and compressed models")
    p.add_argument("--train", type=int, default=64, help="train images of the tiny set's source (default 64)")
    p.add_argument("--test", type=int, default=100, help="test images for top-1 (default 100)")
    a = p.parse_args()
    names = sorted(f[:-len(".json")] for f in os.listdir(a.models) if f.endswith(".json"))
    if not names:
        sys.exit(f"{a.models}: no <name>.json of make-onnx-import-parity.py")
    sizes = {json.load(open(os.path.join(a.models, f"{n}.json")))["image"][1] for n in names}
    data = {s: padded_set(os.path.join(a.work, f"idx-{s}"), s, a.train, a.test) for s in sizes}
    for name in names:
        start = time.monotonic()
        image = json.load(open(os.path.join(a.models, f"{name}.json")))["image"]
        if image[1] != image[2]:
            sys.exit(f"{name}: its input is {image[1]}x{image[2]}; export square models (--image-size)")
        print(check(name, a, data[image[1]]), f"({time.monotonic() - start:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
