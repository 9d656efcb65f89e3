#!/usr/bin/python3
"""Regenerates Tests/ImageDataTests/Fixtures (tiny images + Pillow/torchvision references).

Run with Debian's Python (python3-pil, python3-numpy; python3-torchvision for
the Resize/CenterCrop and Normalize references):

    /usr/bin/python3 Scripts/make-fixtures.py

Everything is deterministic (fixed numpy seed); the output is committed.
"""
import gzip
import io
import json
import os
import shutil
import struct
import sys
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "ImageDataTests", "Fixtures")
RNG = np.random.RandomState(1234)


def smooth_rgb(w, h, noise=20):
    """A colourful gradient with a little noise (compresses small, resizes non-trivially)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / max(w - 1, 1)
    g = 255 * y / max(h - 1, 1)
    b = 128 + 100 * np.sin(x / 3.0) * np.cos(y / 4.0)
    img = np.stack([r, g, b], axis=-1) + RNG.randint(-noise, noise + 1, size=(h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width, height, bit_depth, color_type, samples):
    """Minimal PNG writer (filter 0, not interlaced) for 16-bit colour, which Pillow cannot save."""
    rows = b"".join(b"\x00" + samples[y].tobytes() for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(rows, 9)) + png_chunk(b"IEND", b"")


def save(img, path, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, **kw)


def encode(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def make_decode(manifest):
    d = os.path.join(ROOT, "decode")
    cases = []

    def add(name, data, expected):
        write(os.path.join(d, name), data)
        h, w, _ = expected.shape
        write(os.path.join(d, name + ".rgb"), expected.astype(np.uint8).tobytes())
        cases.append({"file": name, "width": w, "height": h})

    def pil_rgb(data):
        return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))

    rgb = Image.fromarray(smooth_rgb(20, 14))
    data = encode(rgb, "JPEG", quality=90)
    add("rgb.jpg", data, pil_rgb(data))
    data = encode(Image.fromarray(smooth_rgb(17, 9)), "JPEG", quality=85, subsampling=0)
    add("rgb444.jpg", data, pil_rgb(data))
    data = encode(rgb, "JPEG", quality=80, progressive=True)
    add("progressive.jpg", data, pil_rgb(data))
    grey = rgb.convert("L")
    data = encode(grey, "JPEG", quality=90)
    add("grey.jpg", data, pil_rgb(data))
    data = encode(rgb.convert("CMYK"), "JPEG", quality=90)
    add("cmyk.jpg", data, pil_rgb(data))
    data = encode(rgb, "PNG")
    add("rgb.png", data, pil_rgb(data))
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=16)
    data = encode(pal, "PNG", transparency=3)
    add("palette.png", data, pil_rgb(data))
    data = encode(grey, "PNG")
    add("grey.png", data, pil_rgb(data))
    data = encode(grey.convert("1"), "PNG")
    add("bilevel.png", data, pil_rgb(data))
    la = Image.merge("LA", (grey, Image.fromarray(RNG.randint(0, 256, (14, 20)).astype(np.uint8))))
    data = encode(la, "PNG")
    add("greyalpha.png", data, pil_rgb(data))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(RNG.randint(0, 256, (14, 20)).astype(np.uint8)))
    data = encode(rgba, "PNG")
    add("rgba.png", data, pil_rgb(data))
    # 16-bit: Pillow clips I;16 to 255 on convert("RGB"); the library keeps the
    # high byte (libpng strip_16), so the expectation is computed here.
    g16 = (RNG.randint(0, 65536, size=(9, 11))).astype(">u2")
    data = raw_png(11, 9, 16, 0, g16)
    add("grey16.png", data, np.repeat((g16 >> 8).astype(np.uint8)[..., None], 3, axis=2))
    c16 = (RNG.randint(0, 65536, size=(9, 11, 3))).astype(">u2")
    data = raw_png(11, 9, 16, 2, c16.reshape(9, 33))
    add("rgb16.png", data, (c16 >> 8).astype(np.uint8))
    assert np.array_equal(pil_rgb(data), (c16 >> 8).astype(np.uint8))  # Pillow agrees for RGB
    # A PNG wearing a JPEG name: the magic bytes decide.
    data = encode(rgb, "PNG")
    add("png-named.JPEG", data, pil_rgb(data))
    manifest["decode"] = cases

    bad = os.path.join(ROOT, "bad")
    jpg = encode(rgb, "JPEG", quality=90)
    write(os.path.join(bad, "truncated.jpg"), jpg[: len(jpg) // 2])
    png = encode(rgb, "PNG")
    write(os.path.join(bad, "truncated.png"), png[: len(png) // 2])
    write(os.path.join(bad, "text.png"), b"this is not an image\n")
    write(os.path.join(bad, "empty.jpg"), b"")
    garbage = bytearray(jpg)
    for i in range(200, len(garbage) - 2):
        garbage[i] = 0xFF if i % 7 == 0 else garbage[i] ^ 0x5A
    write(os.path.join(bad, "corrupt.jpg"), bytes(garbage))


def make_folders():
    f = os.path.join(ROOT, "folder")
    shutil.rmtree(f, ignore_errors=True)
    def img(w, h):
        return Image.fromarray(smooth_rgb(w, h))
    save(img(12, 10), os.path.join(f, "train", "cat", "a.jpg"), quality=90)
    save(img(10, 12), os.path.join(f, "train", "cat", "b.PNG"))
    write(os.path.join(f, "train", "cat", "c.JPEG"), encode(img(9, 9), "PNG"))
    save(img(8, 8), os.path.join(f, "train", "cat", "sub", "d.jpeg"), quality=90)
    save(img(11, 7), os.path.join(f, "train", "dog", "x.jpeg"), quality=90)
    save(img(7, 11).convert("L"), os.path.join(f, "train", "dog", "y.png"))
    write(os.path.join(f, "train", "dog", "notes.txt"), b"not an image, ignored\n")
    save(img(10, 10), os.path.join(f, "val", "cat", "v1.jpg"), quality=90)
    save(img(10, 10), os.path.join(f, "val", "dog", "v2.png"))

    b = os.path.join(ROOT, "badfolder")
    shutil.rmtree(b, ignore_errors=True)
    save(img(10, 10), os.path.join(b, "cls_a", "good.jpg"), quality=90)
    jpg = encode(img(10, 10), "JPEG", quality=90)
    write(os.path.join(b, "cls_a", "truncated.jpg"), jpg[: len(jpg) // 2])
    save(img(10, 10), os.path.join(b, "cls_b", "good.png"))
    write(os.path.join(b, "cls_b", "text.png"), b"plain text\n")


def make_resize(manifest):
    d = os.path.join(ROOT, "resize")
    src_rgb = Image.fromarray(smooth_rgb(40, 30, noise=60))
    src_grey = Image.fromarray(smooth_rgb(23, 31, noise=60)).convert("L")
    save(src_rgb, os.path.join(d, "src_rgb.png"))
    save(src_grey, os.path.join(d, "src_grey.png"))
    cases = []

    def add(name, src_name, op, params, out):
        arr = np.asarray(out)
        if arr.ndim == 2:
            arr = arr[..., None]
        write(os.path.join(d, name + ".raw"), arr.astype(np.uint8).tobytes())
        cases.append({"name": name, "source": src_name, "op": op, "params": params,
                      "width": arr.shape[1], "height": arr.shape[0], "channels": arr.shape[2]})

    for src_name, src in (("src_rgb.png", src_rgb), ("src_grey.png", src_grey)):
        stem = src_name[4:-4]
        for (w, h) in [(17, 13), (60, 45), (25, 50), (src.width, 11), (13, src.height), (7, 5), (3, 64)]:
            add(f"{stem}_resize_{w}x{h}", src_name, "resize", [w, h], src.resize((w, h), Image.BILINEAR))
        box = (5, 3, 5 + 15, 3 + 20)  # left, top, right, bottom
        add(f"{stem}_crop_resize", src_name, "resized_crop", [3, 5, 20, 15, 16, 16],
            src.crop(box).resize((16, 16), Image.BILINEAR))
    try:
        import torch
        from torchvision import transforms as T
        for src_name, src in (("src_rgb.png", src_rgb), ("src_grey.png", src_grey)):
            stem = src_name[4:-4]
            for short, crop in [(20, 18), (16, 16), (64, 56), (12, 20)]:
                out = T.CenterCrop(crop)(T.Resize(short)(src))
                add(f"{stem}_resize{short}_center{crop}", src_name, "resize_center", [short, crop], out)
        t = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])(T.ToTensor()(src_rgb))
        write(os.path.join(d, "rgb_normalized.f32"), t.numpy().astype("<f4").tobytes())
        manifest["normalized"] = {"source": "src_rgb.png", "file": "rgb_normalized.f32",
                                  "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    except ImportError:
        print("torchvision missing: resize_center and normalisation references skipped", file=sys.stderr)
    manifest["resize"] = cases


def write_idx(path, arr, compress):
    dims = arr.shape
    header = struct.pack(">BBBB", 0, 0, 8, len(dims)) + b"".join(struct.pack(">I", n) for n in dims)
    data = header + arr.astype(np.uint8).tobytes()
    if compress:
        data = gzip.compress(data, mtime=0)
    write(path, data)


def make_idx():
    d = os.path.join(ROOT, "idx")
    shutil.rmtree(d, ignore_errors=True)
    train = (np.arange(6 * 4 * 5).reshape(6, 4, 5) * 3 % 256)
    write_idx(os.path.join(d, "train-images-idx3-ubyte.gz"), train, True)
    write_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"), np.array([3, 1, 4, 1, 5, 9]), True)
    test = (255 - np.arange(3 * 4 * 5).reshape(3, 4, 5))
    write_idx(os.path.join(d, "t10k-images-idx3-ubyte"), test, False)
    write_idx(os.path.join(d, "t10k-labels-idx1-ubyte"), np.array([2, 7, 1]), False)


def main():
    os.makedirs(ROOT, exist_ok=True)
    manifest = {}
    make_decode(manifest)
    make_folders()
    make_resize(manifest)
    make_idx()
    with open(os.path.join(ROOT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
