#!/usr/bin/env python3
"""ONNX Runtime CPU benchmark of the eval workloads (same workloads as bench_torch.py).

Setup (once):
    /usr/bin/python3 -m venv --system-site-packages .venv-bench
    .venv-bench/bin/pip install onnxruntime onnx
Usage:
    .venv-bench/bin/python Scripts/bench_onnxruntime.py --threads 2 --workload eval-resnet34-224-b1 [--seconds S]
Prints one JSON line like bench_torch.py (engine "onnxruntime-<version>").

The pip-installed onnxruntime pulls in numpy 2, which Debian's torch 1.13 cannot use, so
the model is exported in a separate process with the system interpreter
(`--torch-python`, default /usr/bin/python3, running this same file with --export):
torch.onnx.export, opset 13, dynamic batch axis, cached under --model-dir.
The timed process never imports torch, so its peak RSS is onnxruntime's alone.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# workload -> (torchvision model name, batch)
WORKLOADS = {
    "eval-resnet34-224-b1": ("resnet34", 1),
    "eval-resnet34-224-b64": ("resnet34", 64),
    "eval-mobilenet_v2-224-b1": ("mobilenet_v2", 1),
    "eval-mobilenet_v2-224-b64": ("mobilenet_v2", 64),
}


def export(model_name, out_path):
    """Runs under the system python (torch + torchvision)."""
    import torch
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, model_name)(weights=None).eval()
    dummy = torch.randn(1, 3, 224, 224)
    tmp = out_path + ".tmp"
    torch.onnx.export(model, dummy, tmp, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True)
    os.replace(tmp, out_path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workload", choices=sorted(WORKLOADS))
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--model-dir", default=os.environ.get("PRACTISE_ONNX_DIR", "/tmp/practise-onnx"))
    ap.add_argument("--torch-python", default="/usr/bin/python3")
    ap.add_argument("--export", metavar="MODEL", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--onnx", help="time this ONNX file (e.g. one exported by `practise export`) instead of torch's export")
    args = ap.parse_args()

    if args.export:
        export(args.export, args.out)
        return
    if not args.workload:
        ap.error("--workload is required")

    model_name, batch = WORKLOADS[args.workload]
    os.makedirs(args.model_dir, exist_ok=True)
    onnx_path = args.onnx or os.path.join(args.model_dir, f"{model_name}-opset13.onnx")
    if not os.path.exists(onnx_path):
        subprocess.run([args.torch_python, os.path.abspath(__file__), "--export", model_name, "--out", onnx_path],
                       check=True)

    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(onnx_path, sess_options=so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((batch, 3, 224, 224), dtype=np.float32)
    feed = {sess.get_inputs()[0].name: x}

    for _ in range(args.warmup):
        sess.run(None, feed)
    times = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        sess.run(None, feed)
        times.append(time.perf_counter() - t0)
        if len(times) >= 3 and time.perf_counter() - start >= args.seconds:
            break
    med = statistics.median(times)
    print(json.dumps({
        "workload": args.workload,
        "engine": f"onnxruntime-{ort.__version__}",
        "threads": args.threads,
        "batch": batch,
        "iters": len(times),
        "throughput_img_s": round(batch / med, 3),
        "ms_per_iter": round(med * 1000, 3),
        "ms_per_iter_mean": round(statistics.fmean(times) * 1000, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
    }))


if __name__ == "__main__":
    sys.exit(main())
