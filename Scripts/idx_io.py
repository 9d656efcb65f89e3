"""IDX (MNIST / Fashion-MNIST) files as numpy arrays: the bundled subset's format."""
import gzip
import struct

import numpy as np


def read_idx(path):
    """A gzipped IDX file as a uint8 array of the shape its header gives."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def write_idx(path, array):
    """Writes a uint8 array (`[N]` labels, `[N, H, W]` images) as a gzipped IDX file."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())
