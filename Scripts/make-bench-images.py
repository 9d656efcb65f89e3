#!/usr/bin/python3
"""Writes 64 JPEGs of about 400x350 (two class folders) for `data-bench`.

    /usr/bin/python3 Scripts/make-bench-images.py /tmp/bench-images
    swift run -c release data-bench /tmp/bench-images

Content: smooth colour fields with texture and noise (photo-like entropy),
quality 90, 4:2:0 chroma subsampling (Pillow's default).
"""
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/bench-images"
rng = np.random.RandomState(2024)
for i in range(64):
    w, h = 400 + rng.randint(-24, 25), 350 + rng.randint(-24, 25)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    fx, fy = rng.uniform(0.01, 0.08, size=2)
    r = 128 + 100 * np.sin(x * fx + i)
    g = 128 + 100 * np.cos(y * fy - i)
    b = 128 + 80 * np.sin((x + y) * (fx + fy) / 2)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, size=(h, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    folder = os.path.join(out, f"class{i % 2}")
    os.makedirs(folder, exist_ok=True)
    Image.fromarray(img).save(os.path.join(folder, f"img{i:02d}.jpg"), quality=90)
print(f"wrote 64 JPEGs under {out}")
