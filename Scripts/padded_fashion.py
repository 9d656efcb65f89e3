"""The bundled Fashion-MNIST subset zero-padded to S x S (numpy only): the labelled images of the
compress-through-ONNX check (compress-onnx-parity.py), and the inputs on which
make-onnx-import-parity.py --calibrate-bn measures the models' BatchNorm statistics."""
import os

import numpy as np

from idx_io import read_idx

BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Assets", "fashion-mnist-subset")
MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's


def padded(split, count, size):
    """The first `count` images of `split` ("train" or "t10k") `[N, size, size]` (uint8, zero-padded
    around the 28 x 28 image) and their labels `[N]`."""
    images = read_idx(os.path.join(BUNDLED, f"{split}-images-idx3-ubyte.gz"))[:count]
    labels = read_idx(os.path.join(BUNDLED, f"{split}-labels-idx1-ubyte.gz"))[:count]
    before = (size - images.shape[1]) // 2
    after = size - images.shape[1] - before
    return np.pad(images, ((0, 0), (before, after), (before, after))), labels


def model_input(images, channels):
    """uint8 grey images `[N, H, W]` as a network's normalised input `[N, channels, H, W]` (float32):
    the grey value repeated over the channels, as practise converts grey to RGB."""
    x = (images.astype(np.float32) / 255 - MEAN) / STD
    return np.repeat(x[:, None], channels, axis=1)
