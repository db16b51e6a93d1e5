"""Download and integrity helpers. Mirrors ``torchvision.datasets.utils`` (the parts the
datasets here use): ``check_integrity``, ``download_url``, ``download_and_extract_archive``,
``extract_archive``.

Deliberate differences: archives are extracted with tarfile's ``data`` filter (no absolute
paths, no ``..``, no links leaving the target, no device files) and zip members that would
land outside the target are refused; a failed download raises a RuntimeError that names
every URL tried and the file the dataset expects, so it can be placed there by hand."""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
import zipfile

__all__ = ["calculate_md5", "check_md5", "check_integrity", "download_url",
           "download_and_extract_archive", "extract_archive", "missing_files_error"]

USER_AGENT = "ember_vision"


def calculate_md5(fpath: str, chunk_size: int = 1024 * 1024) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            md5.update(chunk)
    return md5.hexdigest()


def check_md5(fpath: str, md5: str) -> bool:
    return md5 == calculate_md5(fpath)


def check_integrity(fpath: str, md5: str | None = None) -> bool:
    """Mirrors ``torchvision.datasets.utils.check_integrity``: the file exists and, when
    ``md5`` is given, has that checksum."""
    if not os.path.isfile(fpath):
        return False
    if md5 is None:
        return True
    return check_md5(fpath, md5)


def download_url(url: str, root: str, filename: str | None = None, md5: str | None = None,
                 max_redirect_hops: int = 3) -> None:
    """Mirrors ``torchvision.datasets.utils.download_url``: fetch ``url`` to
    ``root/filename`` unless a file with the right checksum is already there; the download
    goes to a temporary name and is checked before it takes the final name."""
    root = os.path.expanduser(root)
    filename = filename or os.path.basename(url)
    fpath = os.path.join(root, filename)
    os.makedirs(root, exist_ok=True)
    if check_integrity(fpath, md5):
        return
    tmp = fpath + ".part"
    try:
        req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(req, timeout=60) as resp, open(tmp, "wb") as out:
            shutil.copyfileobj(resp, out, 1024 * 1024)
    except (urllib.error.URLError, OSError) as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise RuntimeError(f"could not download {url} ({e}); without network access, put "
                           f"that file at {fpath}") from e
    if md5 is not None and not check_md5(tmp, md5):
        os.remove(tmp)
        raise RuntimeError(f"File not found or corrupted: {url} did not have md5 {md5}")
    os.replace(tmp, fpath)


def _safe_zip_extract(zf: zipfile.ZipFile, to_path: str) -> None:
    base = os.path.realpath(to_path)
    for member in zf.namelist():
        dest = os.path.realpath(os.path.join(base, member))
        if dest != base and not dest.startswith(base + os.sep):
            raise RuntimeError(f"refusing to extract {member!r}: it would land outside "
                               f"{to_path}")
    zf.extractall(base)


def extract_archive(from_path: str, to_path: str | None = None,
                    remove_finished: bool = False) -> str:
    """Mirrors ``torchvision.datasets.utils.extract_archive`` for .tar(.gz/.bz2/.xz),
    .tgz, .zip and .gz, extracting safely (see the module docstring)."""
    to_path = to_path or os.path.dirname(from_path)
    name = from_path.lower()
    if name.endswith(".zip"):
        with zipfile.ZipFile(from_path) as zf:
            _safe_zip_extract(zf, to_path)
    elif tarfile.is_tarfile(from_path):
        with tarfile.open(from_path) as tf:
            tf.extractall(to_path, filter="data")
    elif name.endswith(".gz"):
        out = os.path.join(to_path, os.path.basename(from_path)[:-3])
        with gzip.open(from_path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        raise RuntimeError(f"Archive type of {from_path} is not supported")
    if remove_finished:
        os.remove(from_path)
    return to_path


def download_and_extract_archive(url: str, download_root: str,
                                 extract_root: str | None = None,
                                 filename: str | None = None, md5: str | None = None,
                                 remove_finished: bool = False) -> None:
    """Mirrors ``torchvision.datasets.utils.download_and_extract_archive``."""
    download_root = os.path.expanduser(download_root)
    extract_root = extract_root or download_root
    filename = filename or os.path.basename(url)
    download_url(url, download_root, filename, md5)
    extract_archive(os.path.join(download_root, filename), extract_root, remove_finished)


def missing_files_error(where: str, files, download_hint: bool = True) -> RuntimeError:
    """torchvision's "Dataset not found" error, plus the files it looked for and where."""
    files = list(files)
    hint = " You can use download=True to download it." if download_hint else ""
    return RuntimeError(f"Dataset not found.{hint} Expected "
                        f"{'these files' if len(files) > 1 else 'this file'} in {where}: "
                        f"{', '.join(files)}")
