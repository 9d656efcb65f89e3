#!/usr/bin/python3
"""Builds Assets/fashion-mnist-subset from Debian's dataset-fashion-mnist.

    apt-get install dataset-fashion-mnist
    /usr/bin/python3 Scripts/make-bundled-subset.py [SOURCE_DIR]

Selection (deterministic, no randomness):
  train: the first 100 images of each class, in the order of
         train-images-idx3-ubyte (1,000 images);
  test:  the first 200 images of each class, in the order of
         t10k-images-idx3-ubyte (2,000 images, class-balanced).
Images keep their original relative order. The chosen source indices are
written to train-indices.txt / test-indices.txt (one per line, 0-based),
which is also the sample-list format of the library.
Output files are gzip'ed IDX with mtime 0, so reruns are byte-identical.
"""
import gzip
import os
import struct
import sys

SOURCE = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Assets", "fashion-mnist-subset")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    assert data[0] == 0 and data[1] == 0 and data[2] == 8, path
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    body = data[4 + 4 * nd:]
    size = 1
    for d in dims:
        size *= d
    assert len(body) == size, path
    return dims, body


def write_idx(path, dims, body):
    header = bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    with open(path, "wb") as f:
        f.write(gzip.compress(header + body, compresslevel=9, mtime=0))


def subset(prefix, per_class, out_prefix):
    idims, images = read_idx(os.path.join(SOURCE, f"{prefix}-images-idx3-ubyte.gz"))
    _, labels = read_idx(os.path.join(SOURCE, f"{prefix}-labels-idx1-ubyte.gz"))
    count, rows, cols = idims
    taken = [0] * 10
    chosen = []
    for i in range(count):
        if taken[labels[i]] < per_class:
            taken[labels[i]] += 1
            chosen.append(i)
    assert taken == [per_class] * 10, taken
    size = rows * cols
    write_idx(os.path.join(OUT, f"{out_prefix}-images-idx3-ubyte.gz"), (len(chosen), rows, cols),
              b"".join(images[i * size:(i + 1) * size] for i in chosen))
    write_idx(os.path.join(OUT, f"{out_prefix}-labels-idx1-ubyte.gz"), (len(chosen),),
              bytes(labels[i] for i in chosen))
    with open(os.path.join(OUT, f"{prefix if prefix == 'train' else 'test'}-indices.txt"), "w") as f:
        f.write("".join(f"{i}\n" for i in chosen))
    return chosen


def main():
    os.makedirs(OUT, exist_ok=True)
    train = subset("train", 100, "train")
    test = subset("t10k", 200, "t10k")
    print(f"train: {len(train)} images (last source index {train[-1]}), "
          f"test: {len(test)} images (last source index {test[-1]}) -> {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
