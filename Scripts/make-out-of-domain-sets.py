#!/usr/bin/env python3
"""Out-of-domain tiny sets for a Fashion-MNIST teacher, from images that ship in Debian packages.

No downloads. Two sets, written as PNG files a `--data` spec reads:
  OUT/patches/<photo>/<photo>-NNNN.png   28x28 grey patches cut from scikit-image's sample
      photographs (python3-skimage, skimage/data/): a square of random side (15-50% of the photo's
      shorter side) at a random place, converted to grey (PIL "L") and resized to 28x28
      (PIL bilinear). A natural-image set: use it as `images:OUT/patches` (unlabelled).
  OUT/digits/<digit>/digit-NNNN.png      scikit-learn's 1,797 handwritten digits
      (python3-sklearn, sklearn/datasets/data/digits.csv.gz, 8x8, values 0-16) scaled to
      0-255, resized to 20x20 (PIL bilinear) and centred in 28x28 as MNIST centres its digits.
      A near domain: `imagefolder:OUT/digits` (labelled 0-9) or `images:OUT/digits`.
  OUT/PROVENANCE.md                      sources, package versions, licences, SHA-256 of inputs.

The packages need not be installed: `apt-get download python3-skimage python3-sklearn` and
`dpkg-deb -x FILE.deb ROOT` for each, then `--root ROOT`. Needs Python 3 with Pillow and numpy
(Debian python3-pil, python3-numpy).

Usage: /usr/bin/python3 Scripts/make-out-of-domain-sets.py --out ood [--root /] [--patches-per-photo 100] [--seed 2021]
"""
import argparse
import csv
import gzip
import hashlib
import io
import os
import random
import subprocess

import numpy as np
from PIL import Image

SITE = "usr/lib/python3/dist-packages"
# Photographs and their licences, as skimage/data/_fetchers.py states them.
PHOTOS = {
    "camera": "CC0 (photographer Lav Varshney)",
    "astronaut": "public domain (NASA Great Images database)",
    "coins": "no known copyright restrictions (Brooklyn Museum collection)",
    "brick": "CC0 (CC0Textures, Bricks25)",
    "grass": "CC0 (CC0Textures)",
    "gravel": "CC0 (CC0Textures, Gravel04)",
    "chelsea": "CC0 (photographer Stefan van der Walt)",
    "coffee": "CC0 (photographer Rachel Michetti)",
    "hubble_deep_field.jpg": "public domain (NASA)",
    "rocket.jpg": "public domain (SpaceX)",
}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def package_version(root, name):
    if root == "/":
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True, text=True)
        if r.returncode == 0:
            return r.stdout
    changelog = os.path.join(root, "usr/share/doc", name, "changelog.Debian.gz")
    if os.path.exists(changelog):   # first line: "python3-skimage (0.19.3-8) unstable; ..."
        with gzip.open(changelog, "rt") as f:
            first = f.readline()
        if "(" in first:
            return first.split("(", 1)[1].split(")", 1)[0] + " (extracted .deb)"
    return "(extracted under " + root + ")"


def save(img, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img.save(path, format="PNG")


def patches(root, out, per_photo, rng):
    data = os.path.join(root, SITE, "skimage/data")
    rows = []
    for name, licence in PHOTOS.items():
        file = name if "." in name else name + ".png"
        path = os.path.join(data, file)
        if not os.path.exists(path):
            raise SystemExit(f"{path} not found: install python3-skimage or pass --root (see --help)")
        photo = Image.open(path).convert("L")
        w, h = photo.size
        stem = os.path.splitext(file)[0]
        for i in range(per_photo):
            side = int(rng.uniform(0.15, 0.5) * min(w, h))
            x, y = rng.randrange(0, w - side + 1), rng.randrange(0, h - side + 1)
            patch = photo.crop((x, y, x + side, y + side)).resize((28, 28), Image.BILINEAR)
            save(patch, os.path.join(out, "patches", stem, f"{stem}-{i:04d}.png"))
        rows.append((f"skimage/data/{file}", f"{w}x{h}", licence, sha256(path)))
    return rows


def digits(root, out):
    path = os.path.join(root, SITE, "sklearn/datasets/data/digits.csv.gz")
    if not os.path.exists(path):
        raise SystemExit(f"{path} not found: install python3-sklearn or pass --root (see --help)")
    with gzip.open(path, "rt") as f:
        table = np.array([[float(v) for v in row] for row in csv.reader(f)])
    counts = [0] * 10
    for row in table:
        pixels, label = row[:64].reshape(8, 8), int(row[64])
        small = Image.fromarray(np.clip(pixels * 255 / 16, 0, 255).round().astype(np.uint8), mode="L")
        canvas = Image.new("L", (28, 28), 0)
        canvas.paste(small.resize((20, 20), Image.BILINEAR), (4, 4))
        save(canvas, os.path.join(out, "digits", str(label), f"digit-{counts[label]:04d}.png"))
        counts[label] += 1
    return len(table), sha256(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--root", default="/", help="file-system root holding usr/lib/python3/dist-packages (default /)")
    ap.add_argument("--patches-per-photo", type=int, default=100)
    ap.add_argument("--seed", type=int, default=2021)
    args = ap.parse_args()
    if os.path.exists(args.out) and os.listdir(args.out):
        raise SystemExit(f"{args.out} exists and is not empty; choose another --out")
    rng = random.Random(args.seed)
    rows = patches(args.root, args.out, args.patches_per_photo, rng)
    n_digits, digits_sha = digits(args.root, args.out)
    lines = [
        "# Out-of-domain tiny sets: provenance",
        "",
        f"Made by `Scripts/make-out-of-domain-sets.py --patches-per-photo {args.patches_per_photo} --seed {args.seed}`.",
        "",
        f"## patches/ ({len(rows) * args.patches_per_photo} grey 28x28 patches)",
        "",
        f"From Debian `python3-skimage` {package_version(args.root, 'python3-skimage')} (scikit-image, BSD-3-Clause; "
        "the photographs' own terms below, from `skimage/data/_fetchers.py`).",
        "",
        "| file | size | licence | SHA-256 |",
        "|---|---|---|---|",
        *[f"| `{f}` | {s} | {lic} | `{h}` |" for f, s, lic, h in rows],
        "",
        f"## digits/ ({n_digits} images, 10 classes)",
        "",
        f"From Debian `python3-sklearn` {package_version(args.root, 'python3-sklearn')}: "
        "`sklearn/datasets/data/digits.csv.gz` (scikit-learn, BSD-3-Clause), a copy of the test set of the UCI "
        "\"Optical Recognition of Handwritten Digits\" data set (Alpaydin & Kaynak, 1998; UCI ML repository, CC BY 4.0). "
        f"SHA-256 `{digits_sha}`.",
        "",
    ]
    with open(os.path.join(args.out, "PROVENANCE.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {len(rows) * args.patches_per_photo} patches and {n_digits} digits to {args.out}")


if __name__ == "__main__":
    main()
