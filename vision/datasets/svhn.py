"""SVHN from its ``.mat`` files (``root/train_32x32.mat`` ...), read through
``scipy.io.loadmat`` (which builds arrays only; it runs no code from the file). Mirrors
``torchvision.datasets.SVHN``; as for CIFAR, the md5 is checked on download, not on every
load."""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from .utils import check_integrity, download_url, missing_files_error
from .vision import VisionDataset

__all__ = ["SVHN"]


class SVHN(VisionDataset):
    """Mirrors ``torchvision.datasets.SVHN``: ``data`` uint8 (N, 3, 32, 32), ``labels``
    int64 with the digit 0 stored as label 0 (the file's 10)."""

    split_list = {
        "train": ["http://ufldl.stanford.edu/housenumbers/train_32x32.mat", "train_32x32.mat",
                  "e26dedcc434d2e4c54c9b2d4a06d8373"],
        "test": ["http://ufldl.stanford.edu/housenumbers/test_32x32.mat", "test_32x32.mat",
                 "eb5a983be6a315427106f1b164d9cef3"],
        "extra": ["http://ufldl.stanford.edu/housenumbers/extra_32x32.mat", "extra_32x32.mat",
                  "a93ce644f1a588dc4d68dda5feec44a7"],
    }

    def __init__(self, root: str | os.PathLike, split: str = "train",
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        if split not in self.split_list:
            raise ValueError(f"Unknown value '{split}' for argument split. Valid values are "
                             f"{{{', '.join(repr(s) for s in self.split_list)}}}.")
        self.split = split
        self.url, self.filename, self.file_md5 = self.split_list[split]
        if download:
            self.download()
        if not self._check_integrity():
            raise missing_files_error(self.root, [self.filename])
        import scipy.io as sio
        loaded = sio.loadmat(os.path.join(self.root, self.filename))
        data, labels = loaded.get("X"), loaded.get("y")
        if not isinstance(data, np.ndarray) or not isinstance(labels, np.ndarray) \
                or data.ndim != 4 or data.dtype.kind not in "ui" or labels.dtype.kind not in "uif":
            raise RuntimeError(f"{self.filename}: expected arrays X (32, 32, 3, N) of uint8 "
                               "and y (N, 1)")
        self.data = np.transpose(data.astype(np.uint8), (3, 2, 0, 1))
        self.labels = labels.astype(np.int64).squeeze()
        np.place(self.labels, self.labels == 10, 0)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image
        img, target = self.data[index], int(self.labels[index])
        img = Image.fromarray(np.transpose(img, (1, 2, 0)))
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        return check_integrity(os.path.join(self.root, self.filename))

    def download(self) -> None:
        download_url(self.url, self.root, self.filename, self.file_md5)

    def extra_repr(self) -> str:
        return "Split: {split}".format(**self.__dict__)
