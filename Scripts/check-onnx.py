#!/usr/bin/env python3
"""Validate an ONNX model and (optionally) compare its onnxruntime output with expected values.

    check-onnx.py MODEL.onnx [--input X.bin] [--expected Y.bin] [--tolerance 1e-4]

Tensor files are raw little-endian float32 with no header. Their shape comes from
--input-shape / --expected-shape (comma-separated, e.g. 8,3,224,224) or else from a JSON
sidecar next to the file, named FILE + ".json": {"dtype": "float32", "shape": [8, 3, 224, 224]}
(what the Swift ONNXRawTensorFile.write produces). An expected file without any shape is
compared flat against the output.

Without --input, a seeded random normal input is made from the model's input shape, with
symbolic dimensions set to --batch (default 1); the run then only checks that inference works.

Steps: onnx.checker.check_model(full_check=True) (includes strict shape inference), a note on
whether re-serializing with the protobuf library reproduces the file byte for byte, an
onnxruntime CPU run (--threads, default 2), then the comparison: it passes when every element
satisfies |actual - expected| <= atol + rtol * |expected| (both default to --tolerance), shapes
agree and nothing is NaN. Prints max abs and max rel difference.

Exit status: 0 pass, 1 mismatch or failed check, 2 usage / unreadable input.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort


def parse_shape(text):
    return [int(d) for d in text.replace("x", ",").split(",") if d.strip()]


def read_tensor(path, shape_arg):
    data = np.fromfile(path, dtype="<f4")
    shape = None
    if shape_arg:
        shape = parse_shape(shape_arg)
    elif os.path.exists(path + ".json"):
        with open(path + ".json") as f:
            meta = json.load(f)
        dtype = meta.get("dtype", "float32")
        if dtype != "float32":
            raise ValueError(f"{path}.json: only float32 is supported, got {dtype}")
        shape = [int(d) for d in meta["shape"]]
    if shape is not None:
        if int(np.prod(shape)) != data.size:
            raise ValueError(f"{path}: {data.size} float32 values do not fill shape {shape}")
        data = data.reshape(shape)
    return data.astype(np.float32), shape is not None


def dims_of(value_info):
    out = []
    for d in value_info.type.tensor_type.shape.dim:
        if d.HasField("dim_value"):
            out.append(d.dim_value)
        elif d.HasField("dim_param"):
            out.append(d.dim_param)
        else:
            out.append("?")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--input", help="raw float32 input file")
    ap.add_argument("--input-shape", help="input shape, e.g. 1,3,224,224 (default: FILE.json sidecar)")
    ap.add_argument("--input-name", help="graph input to feed (default: the first non-initializer input)")
    ap.add_argument("--expected", help="raw float32 file with the expected first (or --output-name) output")
    ap.add_argument("--expected-shape", help="expected shape (default: FILE.json sidecar, else compared flat)")
    ap.add_argument("--output-name", help="graph output to compare (default: the first)")
    ap.add_argument("--tolerance", type=float, default=1e-4, help="atol and rtol (default 1e-4)")
    ap.add_argument("--rtol", type=float, help="relative tolerance (default: --tolerance)")
    ap.add_argument("--batch", type=int, default=1, help="value for symbolic dims of a random input (default 1)")
    ap.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    ap.add_argument("--save-output", help="write the output as raw float32 (+ .json sidecar) to this path")
    args = ap.parse_args()

    try:
        with open(args.model, "rb") as f:
            raw = f.read()
        model = onnx.load_from_string(raw)
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: cannot load {args.model}: {e}", file=sys.stderr)
        return 2

    opsets = ", ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in model.opset_import)
    print(f"model: {args.model} ({len(raw)} bytes) ir_version={model.ir_version} opset=[{opsets}] "
          f"producer={model.producer_name!r} {model.producer_version!r}")
    g = model.graph
    init_names = {t.name for t in g.initializer}
    graph_inputs = [i for i in g.input if i.name not in init_names]
    print(f"graph: {g.name!r} nodes={len(g.node)} initializers={len(g.initializer)} "
          f"params={sum(int(np.prod(t.dims)) for t in g.initializer)}")
    for i in graph_inputs:
        print(f"  input  {i.name}: {dims_of(i)}")
    for o in g.output:
        print(f"  output {o.name}: {dims_of(o)}")
    if model.metadata_props:
        print("  metadata: " + ", ".join(f"{p.key}={p.value}" for p in model.metadata_props))

    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: onnx.checker: {e}")
        return 1
    print("onnx.checker.check_model(full_check=True): ok")
    same = model.SerializeToString() == raw
    print(f"protobuf re-serialization byte-identical: {'yes' if same else 'no (fine; field order/packing differ)'}")

    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    try:
        sess = ort.InferenceSession(raw, sess_options=so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: onnxruntime could not load the model: {e}")
        return 1

    feeds = sess.get_inputs()
    feed = next((i for i in feeds if i.name == args.input_name), None) if args.input_name else feeds[0]
    if feed is None:
        print(f"FAIL: no graph input named {args.input_name}", file=sys.stderr)
        return 2
    if len(feeds) > 1:
        print(f"note: model has {len(feeds)} inputs; feeding only {feed.name}")
    try:
        if args.input:
            x, has_shape = read_tensor(args.input, args.input_shape)
            if not has_shape:
                print("FAIL: input shape unknown: pass --input-shape or write a FILE.json sidecar", file=sys.stderr)
                return 2
        else:
            shape = [d if isinstance(d, int) else args.batch for d in feed.shape]
            x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
            print(f"random input {shape} (seed 0)")
    except (OSError, ValueError, KeyError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 2

    out_names = [o.name for o in sess.get_outputs()]
    out_name = args.output_name or out_names[0]
    if out_name not in out_names:
        print(f"FAIL: no graph output named {out_name}", file=sys.stderr)
        return 2
    try:
        (y,) = sess.run([out_name], {feed.name: x})
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: onnxruntime run: {e}")
        return 1
    print(f"onnxruntime ({args.threads} threads): {feed.name}{list(x.shape)} -> {out_name}{list(y.shape)}")
    if args.save_output:
        y.astype("<f4").tofile(args.save_output)
        with open(args.save_output + ".json", "w") as f:
            json.dump({"dtype": "float32", "shape": list(y.shape)}, f)

    if not np.all(np.isfinite(y)):
        print("FAIL: output contains NaN or Inf")
        return 1
    if not args.expected:
        print("PASS (no expected output given; model checked and ran)")
        return 0

    try:
        e, has_shape = read_tensor(args.expected, args.expected_shape)
    except (OSError, ValueError, KeyError) as err:
        print(f"FAIL: {err}", file=sys.stderr)
        return 2
    if has_shape and list(e.shape) != list(y.shape):
        print(f"FAIL: output shape {list(y.shape)} != expected {list(e.shape)}")
        return 1
    if e.size != y.size:
        print(f"FAIL: output has {y.size} values, expected {e.size}")
        return 1
    a = y.reshape(-1).astype(np.float64)
    b = e.reshape(-1).astype(np.float64)
    diff = np.abs(a - b)
    atol = args.tolerance
    rtol = args.tolerance if args.rtol is None else args.rtol
    max_abs = float(diff.max()) if diff.size else 0.0
    max_rel = float((diff / np.maximum(np.abs(b), 1e-12)).max()) if diff.size else 0.0
    bad = ~(diff <= atol + rtol * np.abs(b))
    print(f"max abs diff {max_abs:.3e}  max rel diff {max_rel:.3e}  (atol {atol:g}, rtol {rtol:g}, {b.size} values)")
    if bad.any():
        worst = int(np.argmax(diff - (atol + rtol * np.abs(b))))
        print(f"FAIL: {int(bad.sum())} of {b.size} values out of tolerance; worst at flat index {worst}: "
              f"got {float(a[worst])!r}, expected {float(b[worst])!r}")
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
