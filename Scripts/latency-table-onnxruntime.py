#!/usr/bin/env python3
"""Write a practise latency table (README, "Latency tables") measured with onnxruntime.

    latency-table-onnxruntime.py --model resnet20 [--weights W] [--batch 64] [--threads 2]
    latency-table-onnxruntime.py --weights model.onnx [...]     (an imported network: no --model)
        [--image-size S] [--budget 60] [--practise .build/release/practise] --out table.json

Run it on the machine you deploy on, then select by it with
`practise compress --latency-table table.json ...`.

Steps: `practise blocks --no-latency --json` lists the candidate blocks; `practise export`
writes the whole model and, with `--without BLOCK`, the model without each candidate (the
teacher's weights, not finetuned: latency does not depend on them) as ONNX; onnxruntime
(CPUExecutionProvider, intra-op threads = --threads, inter-op 1) then times them in interleaved
rounds (whole, without A, without B, ...; one warm-up each) until every candidate's 95%
interval is within +-2% or the budget is spent. A candidate's latency reduction is the median
over rounds of 1 - t(without block) / t(whole), in percent, with the distribution-free
(sign-test) interval of that median: the same estimator as practise's own meter, except that
practise times each distinct block shape alone while this script times whole models.

Needs numpy and onnxruntime (Scripts/requirements-check-onnx.txt).
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort


def binomial_cdf(k, n):
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return min(1.0, sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n)


def median_interval(xs, confidence=0.95):
    """Median and its order-statistic interval (as RobustStatistics.medianInterval)."""
    s = sorted(xs)
    n = len(s)
    alpha = (1 - confidence) / 2
    k = 0
    while k < n // 2 and binomial_cdf(k, n) <= alpha:
        k += 1
    cut = max(k, 1) - 1
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return med, s[cut], s[n - 1 - cut]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="a zoo architecture (not with an .onnx --weights, which carries its own network)")
    ap.add_argument("--weights", help="weights file or 'bundled' (default: random init; latency does not depend on weights)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--image-size", type=int)
    ap.add_argument("--budget", type=float, default=60, help="seconds of timing at most (default 60)")
    ap.add_argument("--min-rounds", type=int, default=11)
    ap.add_argument("--max-rounds", type=int, default=200)
    ap.add_argument("--practise", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "practise"))
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.batch < 1 or a.threads < 1:
        sys.exit(f"--batch and --threads must be at least 1, got {a.batch} and {a.threads}")
    if not os.path.exists(a.practise):
        sys.exit(f"--practise {a.practise}: no such executable (build with `swift build -c release`)")

    onnx = bool(a.weights) and a.weights.lower().endswith(".onnx")
    if onnx == bool(a.model):
        sys.exit("give --model M (zoo architecture) or --weights model.onnx (an imported network), not both or neither")
    # The table names the network as practise does: the architecture, or onnx: and the file's name.
    model = a.model or "onnx:" + os.path.splitext(os.path.basename(a.weights))[0]
    common = ([] if onnx else ["--model", a.model]) + (["--weights", a.weights] if a.weights else ["--random-init"])
    size = ["--image-size", str(a.image_size)] if a.image_size else []
    with tempfile.TemporaryDirectory(prefix="latency-table-") as work:
        listing = os.path.join(work, "blocks.json")
        subprocess.run([a.practise, "blocks", *[c for c in common if c != "--random-init"], *size, "--no-latency", "--json", listing], check=True, stdout=subprocess.DEVNULL)
        with open(listing) as f:
            blocks = [row["block"] for row in json.load(f)]
        paths = {}
        for name in [None] + blocks:
            path = os.path.join(work, f"{name or 'whole'}.onnx")
            extra = ["--without", name] if name else []
            subprocess.run([a.practise, "export", *common, *size, *extra, "--format", "onnx", "--out", path], check=True, stdout=subprocess.DEVNULL)
            paths[name] = path

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = a.threads
        opts.inter_op_num_threads = 1
        sessions = {n: ort.InferenceSession(p, opts, providers=["CPUExecutionProvider"]) for n, p in paths.items()}
        inp = sessions[None].get_inputs()[0]
        shape = [a.batch] + [d for d in inp.shape[1:]]
        x = np.zeros(shape, dtype=np.float32)
        order = [None] + blocks

        def timed(name):
            t0 = time.perf_counter()
            sessions[name].run(None, {inp.name: x})
            return time.perf_counter() - t0

        for n in order:
            timed(n)  # warm-up
        times = {n: [] for n in order}
        start = time.perf_counter()
        for r in range(a.max_rounds):
            if r >= a.min_rounds:
                if time.perf_counter() - start > a.budget:
                    break
                widths = []
                for b in blocks:
                    m, lo, hi = median_interval([t / w for t, w in zip(times[b], times[None])])
                    widths.append((hi - lo) / 2 / m)
                if max(widths) <= 0.02:
                    break
            for n in order:
                times[n].append(timed(n))

    rows = []
    spread = 0.0
    for b in blocks:
        m, lo, hi = median_interval([1 - t / w for t, w in zip(times[b], times[None])])
        ratio = median_interval([t / w for t, w in zip(times[b], times[None])])
        spread = max(spread, (ratio[2] - ratio[1]) / 2 / ratio[0])
        clamp = lambda v: min(99.999, max(0.0, 100 * v))
        rows.append({"block": b, "latency_reduction": clamp(m), "low": clamp(lo), "high": clamp(hi)})
    whole_ms = 1000 * median_interval(times[None])[0]
    table = {
        "format": "practise-latency-table/1",
        "model": model,
        "image_shape": list(shape[1:]),
        "batch": a.batch,
        "threads": a.threads,
        "cpu": cpu_model(),
        "engine": f"onnxruntime {ort.__version__} (CPUExecutionProvider)",
        "whole_model_ms": whole_ms,
        "blocks": rows,
    }
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(table, f, indent=2)
    os.replace(tmp, a.out)
    for row in rows:
        print(f"{row['block']:<14} {row['latency_reduction']:6.2f}%  ({row['low']:.2f}-{row['high']:.2f})")
    print(f"whole model {whole_ms:.2f} ms, {len(times[None])} rounds, widest interval +-{100 * spread:.1f}%; wrote {a.out}")
    if spread > 0.10:
        print(f"warning: this machine was too noisy to measure reliably (widest 95% interval +-{100 * spread:.1f}%, bound +-10%)", file=sys.stderr)


if __name__ == "__main__":
    main()
