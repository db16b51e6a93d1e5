"""Writers for small data set files in the real on-disk formats (IDX, CIFAR pickles, SVHN
.mat, image folders), so the readers are tested on the formats themselves."""
from __future__ import annotations

import os
import pickle
import struct

import numpy as np

_IDX_CODE = {np.dtype(np.uint8): 8, np.dtype(np.int8): 9, np.dtype(">i2"): 11,
             np.dtype(">i4"): 12, np.dtype(">f4"): 13, np.dtype(">f8"): 14}


def write_idx(path: str, arr: np.ndarray) -> None:
    code = _IDX_CODE[arr.dtype]
    with open(path, "wb") as f:
        f.write(struct.pack(">BBBB", 0, 0, code, arr.ndim))
        f.write(struct.pack(f">{arr.ndim}I", *arr.shape))
        f.write(arr.tobytes())


def write_mnist(root: str, cls: str, n_train: int = 7, n_test: int = 5, seed: int = 0,
                prefix=None) -> dict:
    """``root/<cls>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (or EMNIST's names
    via ``prefix(split)``); returns the arrays written."""
    rng = np.random.default_rng(seed)
    raw = os.path.join(root, cls, "raw")
    os.makedirs(raw, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        stem = prefix(split) if prefix else split
        write_idx(os.path.join(raw, f"{stem}-images-idx3-ubyte"), imgs)
        write_idx(os.path.join(raw, f"{stem}-labels-idx1-ubyte"), labels)
        out[split] = (imgs, labels)
    return out


def write_cifar(root: str, hundred: bool = False, n: int = 6, seed: int = 0,
                protocol: int = 2) -> dict:
    """The CIFAR "python version" layout with ``n`` images per batch file."""
    rng = np.random.default_rng(seed)
    folder = os.path.join(root, "cifar-100-python" if hundred else "cifar-10-batches-py")
    os.makedirs(folder, exist_ok=True)
    files = ["train", "test"] if hundred else [f"data_batch_{i}" for i in range(1, 6)] + \
        ["test_batch"]
    out = {}
    for name in files:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        if hundred:
            labels = rng.integers(0, 100, n).tolist()
            entry = {"filenames": [f"img{i}.png" for i in range(n)], "batch_label": name,
                     "fine_labels": labels, "coarse_labels": [x // 5 for x in labels],
                     "data": data}
        else:
            labels = rng.permutation(np.arange(n) % 10).tolist()  # every class when n >= 10
            entry = {"batch_label": name, "labels": labels, "data": data,
                     "filenames": [f"img{i}.png" for i in range(n)]}
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(entry, f, protocol=protocol)
        out[name] = (data, labels)
    if hundred:
        meta_name, meta = "meta", {"fine_label_names": [f"fine{i}" for i in range(100)],
                                   "coarse_label_names": [f"coarse{i}" for i in range(20)]}
    else:
        meta_name, meta = "batches.meta", {
            "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                            "horse", "ship", "truck"],
            "num_cases_per_batch": n, "num_vis": 3072}
    with open(os.path.join(folder, meta_name), "wb") as f:
        pickle.dump(meta, f, protocol=protocol)
    return out


def write_svhn(root: str, split: str = "train", n: int = 5, seed: int = 0):
    import scipy.io as sio
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    y = rng.integers(1, 11, (n, 1)).astype(np.uint8)
    y[0] = 10  # 10 stands for the digit 0
    os.makedirs(root, exist_ok=True)
    sio.savemat(os.path.join(root, f"{split}_32x32.mat"), {"X": x, "y": y})
    return x, y


def write_image_folder(root: str, seed: int = 0) -> dict:
    """Two classes of small PNG/JPEG/BMP images plus files that are not images."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    layout = {"cat": ["b.png", "a.jpg", "sub/c.bmp"], "dog": ["x.png", "notes.txt"]}
    for cls, names in layout.items():
        for name in names:
            path = os.path.join(root, cls, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if name.endswith(".txt"):
                with open(path, "w") as f:
                    f.write("not an image")
                continue
            shape = (9, 11) if name.endswith(".bmp") else (9, 11, 3)  # a grayscale BMP
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(path)
    return layout
