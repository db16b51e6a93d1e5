"""CIFAR-10/100 from the "python version" archives at torchvision's paths
(``root/cifar-10-batches-py/data_batch_1`` ..., ``root/cifar-100-python/train`` ...).
Mirrors ``torchvision.datasets.CIFAR10``/``CIFAR100``.

Deliberate differences: the pickles are read with a restricted unpickler (only numpy arrays,
numbers, strings and lists under the known keys; see ``_safe_pickle``), never
``pickle.load``; md5 checksums are verified on download (the archive's), while files already
in place are read without re-hashing, so small files in the real format load too."""
from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from ._safe_pickle import load_cifar_pickle
from .utils import check_integrity, download_and_extract_archive, missing_files_error
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100"]


class CIFAR10(VisionDataset):
    """Mirrors ``torchvision.datasets.CIFAR10``: ``data`` a uint8 (N, 32, 32, 3) numpy
    array, ``targets`` a list of ints; items are ``(PIL RGB image, int)`` before
    transforms."""

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}

    def __init__(self, root: str | os.PathLike, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_integrity():
            raise missing_files_error(os.path.join(self.root, self.base_folder),
                                      self._expected_files())
        self.data: Any = []
        self.targets = []
        for file_name, _ in (self.train_list if self.train else self.test_list):
            entry = load_cifar_pickle(os.path.join(self.root, self.base_folder, file_name))
            self.data.append(np.asarray(entry["data"], dtype=np.uint8))
            labels = entry["labels"] if "labels" in entry else entry["fine_labels"]
            self.targets.extend(int(t) for t in labels)
        self.data = np.vstack(self.data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
        if len(self.data) != len(self.targets):
            raise RuntimeError(f"{self.base_folder}: {len(self.data)} images but "
                               f"{len(self.targets)} labels")
        self._load_meta()

    def _expected_files(self) -> list[str]:
        return [f for f, _ in self.train_list + self.test_list] + [self.meta["filename"]]

    def _load_meta(self) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        if not check_integrity(path):
            raise RuntimeError("Dataset metadata file not found or corrupted. You can use "
                               f"download=True to download it (expected {path})")
        self.classes = [c.decode("latin1") if isinstance(c, bytes) else c
                        for c in load_cifar_pickle(path)[self.meta["key"]]]
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from PIL import Image
        img, target = self.data[index], self.targets[index]
        img = Image.fromarray(img)
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        return all(check_integrity(os.path.join(self.root, self.base_folder, f))
                   for f in self._expected_files())

    def download(self) -> None:
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename,
                                     md5=self.tgz_md5)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """Mirrors ``torchvision.datasets.CIFAR100`` (fine labels as targets)."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta = {"filename": "meta", "key": "fine_label_names",
            "md5": "7973b15100ade9c7d40fb424638fde48"}
