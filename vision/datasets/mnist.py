"""MNIST and its drop-in relatives, read from the IDX ("SN3 Pascal Vincent") files at
torchvision's paths (``root/<ClassName>/raw/train-images-idx3-ubyte`` ...). Mirrors
``torchvision.datasets.mnist``.

Deliberate difference: the legacy ``processed/training.pt`` caches of old torchvision
releases are not read; the raw files are always used."""
from __future__ import annotations

import os
import shutil
import string
import urllib.error
from typing import Any, Callable

import numpy as np

import ember

from .utils import check_integrity, download_and_extract_archive, extract_archive, \
    missing_files_error
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "read_sn3_pascalvincent_tensor",
           "read_image_file", "read_label_file"]

# IDX type codes -> big-endian numpy dtypes
_IDX_TYPES = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}


def _read_idx(path: str, strict: bool = True) -> np.ndarray:
    """Parse an IDX file, checking the header against the file's size (a truncated or
    crafted file raises a ValueError naming it instead of reading past its end)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    ty, nd = data[2], data[3]
    if ty not in _IDX_TYPES or not 1 <= nd <= 3:
        raise ValueError(f"{path}: unsupported IDX type code {ty} or rank {nd}")
    header = 4 * (nd + 1)
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = [int.from_bytes(data[4 * (i + 1):4 * (i + 2)], "big") for i in range(nd)]
    dt = np.dtype(_IDX_TYPES[ty])
    count = int(np.prod(shape, dtype=np.int64))
    avail = (len(data) - header) // dt.itemsize
    if avail < count or (strict and avail != count):
        raise ValueError(f"{path}: the header promises {count} values of shape {shape}, the "
                         f"file holds {avail}")
    arr = np.frombuffer(data, dtype=dt, count=count, offset=header)
    return arr.astype(dt.newbyteorder("="), copy=True).reshape(shape)


def read_sn3_pascalvincent_tensor(path: str, strict: bool = True) -> ember.Tensor:
    """Mirrors ``torchvision.datasets.mnist.read_sn3_pascalvincent_tensor``."""
    return ember.from_numpy(_read_idx(path, strict))


def read_label_file(path: str) -> ember.Tensor:
    x = _read_idx(path, strict=False)
    if x.dtype != np.uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {x.dtype}")
    if x.ndim != 1:
        raise ValueError(f"x should have 1 dimension instead of {x.ndim}")
    return ember.from_numpy(x.astype(np.int64))


def read_image_file(path: str) -> ember.Tensor:
    x = _read_idx(path, strict=False)
    if x.dtype != np.uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {x.dtype}")
    if x.ndim != 3:
        raise ValueError(f"x should have 3 dimension instead of {x.ndim}")
    return ember.from_numpy(x)


class MNIST(VisionDataset):
    """Mirrors ``torchvision.datasets.MNIST``: ``data`` a uint8 (N, 28, 28) tensor,
    ``targets`` int64; items are ``(PIL image in mode "L", int)`` before transforms."""

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise missing_files_error(self.raw_folder, self._expected_files())
        self.data, self.targets = self._load_data()

    def _expected_files(self) -> list[str]:
        return [os.path.splitext(name)[0] for name, _ in self.resources]

    def _load_data(self):
        split = "train" if self.train else "t10k"
        data = read_image_file(os.path.join(self.raw_folder, f"{split}-images-idx3-ubyte"))
        targets = read_label_file(os.path.join(self.raw_folder, f"{split}-labels-idx1-ubyte"))
        return data, targets

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image
        img, target = self.data[index], int(self.targets[index])
        img = Image.fromarray(img.numpy(), mode="L")
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "processed")

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.classes)}

    def _check_exists(self) -> bool:
        return all(check_integrity(os.path.join(self.raw_folder, f))
                   for f in self._expected_files())

    def download(self) -> None:
        """Download the files (each from the first mirror that answers, md5-checked) into
        ``raw_folder`` unless they are there already."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            errors = []
            for mirror in self.mirrors:
                try:
                    download_and_extract_archive(f"{mirror}{filename}", self.raw_folder,
                                                 filename=filename, md5=md5)
                except (RuntimeError, urllib.error.URLError) as e:
                    errors.append(e)
                    continue
                break
            else:
                s = f"Error downloading {filename}:\n"
                for mirror, err in zip(self.mirrors, errors):
                    s += f"Tried {mirror}, got:\n{err}\n"
                raise RuntimeError(s)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Mirrors ``torchvision.datasets.FashionMNIST``."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]


class KMNIST(MNIST):
    """Mirrors ``torchvision.datasets.KMNIST``."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """Mirrors ``torchvision.datasets.EMNIST``: ``split`` one of byclass, bymerge, balanced,
    letters, digits, mnist; files ``emnist-<split>-<train|test>-<images|labels>-idx?-ubyte``
    (stored transposed, returned as stored, as torchvision does)."""

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y",
                       "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str | os.PathLike, split: str, **kwargs: Any) -> None:
        if split not in self.splits:
            raise ValueError(f"Unknown value '{split}' for argument split. Valid values are "
                             f"{{{', '.join(repr(s) for s in self.splits)}}}.")
        self.split = split
        super().__init__(root, **kwargs)
        self.classes = self.classes_split_dict[self.split]

    @property
    def _file_prefix(self) -> str:
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    def _expected_files(self) -> list[str]:
        return [f"{self._file_prefix}-images-idx3-ubyte",
                f"{self._file_prefix}-labels-idx1-ubyte"]

    @property
    def images_file(self) -> str:
        return os.path.join(self.raw_folder, self._expected_files()[0])

    @property
    def labels_file(self) -> str:
        return os.path.join(self.raw_folder, self._expected_files()[1])

    def _load_data(self):
        return read_image_file(self.images_file), read_label_file(self.labels_file)

    def download(self) -> None:
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        download_and_extract_archive(self.url, download_root=self.raw_folder, md5=self.md5)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        for name in os.listdir(gzip_folder):
            if name.endswith(".gz"):
                extract_archive(os.path.join(gzip_folder, name), self.raw_folder)
        shutil.rmtree(gzip_folder)
