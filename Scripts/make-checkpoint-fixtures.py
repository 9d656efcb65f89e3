#!/usr/bin/python3
"""Builds the small test fixtures under Tests/CheckpointTests/Fixtures.

Run with Debian's python3-torch:  /usr/bin/python3 Scripts/make-checkpoint-fixtures.py

Good fixtures come from torch.save itself. Hostile fixtures (forbidden
globals, unknown opcodes, short storages) cannot be produced by torch, so
their pickles are built by hand (a custom Pickler or raw opcode bytes) and
packed in a torch-like zip layout. All values are deterministic.
"""
import collections
import io
import os
import pickle
import struct
import sys
import zipfile
import json

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "CheckpointTests", "Fixtures")
os.makedirs(OUT, exist_ok=True)


def path(name):
    return os.path.join(OUT, name)


def save(obj, name, **kwargs):
    torch.save(obj, path(name), **kwargs)


# ---------------------------------------------------------------- good .pth

def fp32_state():
    sd = collections.OrderedDict()
    sd["conv.weight"] = (torch.arange(4 * 3 * 3 * 3, dtype=torch.float32) / 8 - 6).reshape(4, 3, 3, 3)
    sd["conv.bias"] = torch.tensor([0.5, -1.0, 2.0, -3.25])
    sd["fc.weight"] = torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -3.0, -4.0]])
    return sd


save(fp32_state(), "fp32.pth")

dtypes = collections.OrderedDict()
dtypes["half"] = torch.tensor([1.0, -2.5, 0.000061035156, 65504.0], dtype=torch.float16)
dtypes["bfloat"] = torch.tensor([[1.0, -0.5], [3.0, 256.0]], dtype=torch.bfloat16)
dtypes["double"] = torch.tensor([0.125, -1e-3, 3.0], dtype=torch.float64)
dtypes["bn.num_batches_tracked"] = torch.tensor(123456, dtype=torch.int64)
dtypes["int32"] = torch.tensor([-7, 0, 7], dtype=torch.int32)
dtypes["uint8"] = torch.tensor([0, 200, 255], dtype=torch.uint8)
dtypes["mask"] = torch.tensor([True, False, True])
save(dtypes, "dtypes.pth")

# Non-contiguous views saved as-is: the whole storage is written, the
# pickle records offset + strides.
base = torch.arange(20, dtype=torch.float32)
strided = collections.OrderedDict()
strided["transposed"] = torch.arange(12, dtype=torch.float32).reshape(3, 4).t()  # stride (1, 4)
strided["base"] = base
strided["window"] = base[5:11].view(2, 3)  # storage offset 5, shares base's storage
strided["every_other"] = base[1::2]  # offset 1, stride 2
strided["expanded"] = torch.tensor([1.0, 2.0, 3.0]).expand(2, 3)  # stride (0, 1)
strided["empty"] = torch.zeros(0, 3)
strided["scalar"] = torch.tensor(42.0)
save(strided, "strided.pth")

# A training checkpoint: state dict under "state_dict", DataParallel prefix,
# scalar extras and rm_blocks.
wrapped_sd = collections.OrderedDict()
wrapped_sd["module.conv.weight"] = torch.ones(2, 1, 1, 1)
wrapped_sd["module.bn.running_mean"] = torch.tensor([0.25, 0.75])
wrapped_sd["module.bn.num_batches_tracked"] = torch.tensor(9)
save({"epoch": 7, "arch": "resnet18", "best_acc1": 0.5, "state_dict": wrapped_sd,
      "rm_blocks": ["layer1.1", "layer3.0"]}, "wrapped.pth")

save({"model": collections.OrderedDict(w=torch.tensor([1.0, 2.0])), "step": 3}, "model-key.pth")

# nn.Parameter values go through torch._utils._rebuild_parameter.
save({"p": torch.nn.Parameter(torch.tensor([3.0, 4.0]))}, "parameter.pth")

# Protocol 4 uses SHORT_BINUNICODE, MEMOIZE, FRAME and STACK_GLOBAL.
save(fp32_state(), "protocol4.pth", pickle_protocol=4)

# Pre-1.6 format: must be refused with a clear message. (Its storage keys are
# object ids, so this one fixture differs from run to run.)
save(collections.OrderedDict(w=torch.tensor([1.0])), "legacy.pth", _use_new_zipfile_serialization=False)


def rezip(source, target, rename=None, compression=zipfile.ZIP_STORED):
    """Copies a zip, optionally renaming the top folder / compressing."""
    with zipfile.ZipFile(path(source)) as src, zipfile.ZipFile(path(target), "w", compression) as dst:
        for info in src.infolist():
            name = info.filename
            if rename:
                name = rename + name[name.index("/"):]
            out = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            out.compress_type = compression
            dst.writestr(out, src.read(info))


rezip("fp32.pth", "custom-folder.pth", rename="my model (v2)")
rezip("fp32.pth", "deflated.pth", compression=zipfile.ZIP_DEFLATED)

# Raw pickles for the fuzz corpus.
with zipfile.ZipFile(path("fp32.pth")) as z:
    open(path("fp32.data.pkl"), "wb").write(z.read("fp32/data.pkl"))
with zipfile.ZipFile(path("dtypes.pth")) as z:
    open(path("dtypes.data.pkl"), "wb").write(z.read("dtypes/data.pkl"))

# ---------------------------------------------------------- safetensors

def safetensors_bytes(tensors, metadata=None):
    """Minimal safetensors writer (names sorted, header space-padded)."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    offset = 0
    codes = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
             torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}
    for name in sorted(tensors):
        t = tensors[name].contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": codes[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


with open(path("dtypes.safetensors"), "wb") as f:
    f.write(safetensors_bytes({
        "a.f32": torch.tensor([[1.5, -2.0, 3.0], [0.0, 4.0, -8.5]]),
        "b.f16": torch.tensor([0.5, -65504.0], dtype=torch.float16),
        "c.bf16": torch.tensor([2.0, -3.0], dtype=torch.bfloat16),
        "d.f64": torch.tensor([1e-3], dtype=torch.float64),
        "e.i64": torch.tensor(77, dtype=torch.int64),
        "f.i32": torch.tensor([-1, 1], dtype=torch.int32),
    }, metadata={"format": "pt", "note": "fixture \"quoted\""}))

# ---------------------------------------------------------- hostile .pth

def torch_like_zip(name, pickle_bytes, storages=None, folder="archive"):
    """A stored zip laid out like torch.save's, with fixed timestamps."""
    def add(z, entry, data):
        z.writestr(zipfile.ZipInfo(entry, date_time=(2020, 1, 1, 0, 0, 0)), data)

    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_STORED) as z:
        add(z, folder + "/data.pkl", pickle_bytes)
        for key, raw in (storages or {}).items():
            add(z, folder + "/data/" + key, raw)
        add(z, folder + "/version", b"3\n")


class FakeStorage:
    def __init__(self, key, storage_type, numel):
        self.key, self.storage_type, self.numel = key, storage_type, numel


class FakeTensor:
    """Pickles like a tensor, but with whatever size/stride we claim."""
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, FakeStorage):
            return ("storage", obj.storage_type, obj.key, "cpu", obj.numel)
        return None


def fake_pickle(obj):
    buf = io.BytesIO()
    FakePickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


# A tensor claiming 64x64x3x3 floats (147456 bytes) over a 256-float storage.
short = FakeStorage("3", torch.FloatStorage, 256)
torch_like_zip("short-storage.pth", fake_pickle(collections.OrderedDict([
    ("layer1.0.conv1.weight", FakeTensor(short, 0, (64, 64, 3, 3), (576, 9, 3, 1)))])),
    {"3": struct.pack("<256f", *range(256))})

# A 2^30-element view (stride 0) of a single float: must be refused, not
# materialised as 4 GiB.
one = FakeStorage("0", torch.FloatStorage, 1)
torch_like_zip("broadcast-bomb.pth", fake_pickle(collections.OrderedDict([
    ("bomb", FakeTensor(one, 0, (1 << 20, 1 << 10), (0, 0)))])), {"0": struct.pack("<f", 1.0)})

# A tensor whose storage entry is missing from the archive.
torch_like_zip("missing-storage.pth", fake_pickle(collections.OrderedDict([
    ("fc.bias", FakeTensor(FakeStorage("9", torch.FloatStorage, 2), 0, (2,), (1,)))])))

# Forbidden globals, hand-assembled so that no Python object is involved:
#   PROTO 2; GLOBAL 'os system'; BINUNICODE 'touch ...'; TUPLE1; REDUCE; STOP
def call_global_pickle(module, name, argument):
    arg = argument.encode()
    return (b"\x80\x02" + b"c" + module.encode() + b"\n" + name.encode() + b"\n"
            + b"X" + struct.pack("<I", len(arg)) + arg + b"\x85" + b"R" + b".")


PWNED = "/tmp/practise-checkpoint-pwned"
torch_like_zip("evil-os-system.pth", call_global_pickle("os", "system", "touch " + PWNED))
torch_like_zip("evil-builtins-eval.pth",
               call_global_pickle("builtins", "eval", "__import__('os').system('touch %s')" % PWNED))


class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + PWNED,))


# What the stock pickler emits for os.system on Linux: GLOBAL 'posix system'.
torch_like_zip("evil-posix-system.pth", pickle.dumps(collections.OrderedDict(x=Evil()), protocol=2))

# PROTO 2, EMPTY_DICT, then 0xff, which is no pickle opcode.
torch_like_zip("unknown-opcode.pth", b"\x80\x02}\xff.")

for name in sorted(os.listdir(OUT)):
    print("%-28s %6d bytes" % (name, os.path.getsize(path(name))))
