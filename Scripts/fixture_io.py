"""Minimal safetensors reader/writer (no dependency on the `safetensors` package).

Format: u64 little-endian header length N, then N bytes of UTF-8 JSON
    {"name": {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...,
     "__metadata__": {"key": "string value", ...}}
padded with spaces to a multiple of 8, then the raw little-endian tensor data
(offsets are relative to the start of the data section).

The writer emits F32 only (everything is converted to float32, including integer
labels). The reader understands F32/F64/F16/BF16/I64/I32/I16/I8/U8/BOOL.
Tensors are accepted/returned as numpy arrays (torch tensors are accepted too).
"""
import json
import struct

import numpy as np

_READ_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}


def _to_numpy_f32(value):
    if hasattr(value, "detach"):  # torch.Tensor
        value = value.detach().cpu().to(dtype=__import__("torch").float32).numpy()
    # np.ascontiguousarray would turn a 0-d array into shape [1]; keep scalars as shape [].
    return np.array(value, dtype="<f4", order="C", copy=True)


def save(path, tensors, metadata=None):
    """Write `tensors` (dict name -> array-like) as F32 safetensors.

    Tensors are written in the dict's insertion order (the JSON header is written
    in that order too, with __metadata__ first). Metadata values must be strings.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, value in tensors.items():
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        arr = _to_numpy_f32(value)
        raw = arr.tobytes(order="C")
        header[name] = {
            "dtype": "F32",
            "shape": [int(d) for d in arr.shape],
            "data_offsets": [offset, offset + len(raw)],
        }
        blobs.append(raw)
        offset += len(raw)
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = (-len(hjson)) % 8
    hjson += b" " * pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for raw in blobs:
            f.write(raw)


def load(path, with_metadata=False):
    """Read a safetensors file -> dict name -> numpy array (insertion order = file order
    of the header). With with_metadata=True returns (tensors, metadata)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if 8 + n > len(data):
        raise ValueError(f"{path}: header length {n} exceeds file size")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    metadata = header.pop("__metadata__", {}) or {}
    out = {}
    for name, info in header.items():
        dtype = info["dtype"]
        shape = tuple(info["shape"])
        b, e = info["data_offsets"]
        raw = data[base + b : base + e]
        if dtype == "BF16":
            u16 = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        elif dtype in _READ_DTYPES:
            arr = np.frombuffer(raw, dtype=_READ_DTYPES[dtype])
        else:
            raise ValueError(f"{path}: unsupported dtype {dtype} for {name}")
        count = int(np.prod(shape)) if shape else 1
        if arr.size != count:
            raise ValueError(f"{path}: {name} has {arr.size} elements, shape {shape}")
        out[name] = arr.reshape(shape).copy()
    return (out, metadata) if with_metadata else out


def load_torch(path, with_metadata=False):
    """Like load() but returns torch tensors."""
    import torch

    tensors, meta = load(path, with_metadata=True)
    tt = {k: torch.from_numpy(v) for k, v in tensors.items()}
    return (tt, meta) if with_metadata else tt


if __name__ == "__main__":
    import sys

    for p in sys.argv[1:]:
        t, m = load(p, with_metadata=True)
        print(f"{p}: {len(t)} tensors, metadata={m}")
        for k, v in t.items():
            print(f"  {k} {v.dtype} {list(v.shape)}")
