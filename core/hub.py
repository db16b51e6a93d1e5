"""``ember.hub``: mirrors the checkpoint-download part of ``torch.hub``:
``load_state_dict_from_url``, ``download_url_to_file``, ``get_dir``/``set_dir``.

Files go to the hub cache (``$TORCH_HOME/hub/checkpoints``, ``TORCH_HOME`` defaulting to
``$XDG_CACHE_HOME/torch`` or ``~/.cache/torch``: the directory PyTorch uses, so checkpoints it
already downloaded are found); a cached file is used without touching the network. With
``check_hash=True`` the SHA-256 of a download must start with the hex digits after the last
``-`` of the file name (``resnet18-5c106cde.pth``), as PyTorch checks.

Deliberate differences: the file is read by :func:`ember.load` with ``weights_only`` left to
ember.load's safe default unless the caller passes it (PyTorch's own default here is
``weights_only=False``, which unpickles arbitrary objects from the downloaded file);
``torch.hub.load``/``list``/``help`` (running a repository's hubconf) and PyTorch's
pre-1.6 single-file zip wrapping are not provided.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
import uuid
from typing import Any
from urllib.parse import urlparse
from urllib.request import Request, urlopen

__all__ = ["get_dir", "set_dir", "download_url_to_file", "load_state_dict_from_url"]

# the hash prefix in a checkpoint's file name: "name-<hex>.ext"
HASH_REGEX = re.compile(r"-([a-f0-9]*)\.")
_CHUNK = 1 << 16
_HUB_DIR: list = [None]


def _torch_home() -> str:
    return os.path.expanduser(os.getenv(
        "TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")))


def get_dir() -> str:
    """Mirrors ``torch.hub.get_dir``: the hub cache directory."""
    if _HUB_DIR[0] is not None:
        return _HUB_DIR[0]
    return os.path.join(_torch_home(), "hub")


def set_dir(d) -> None:
    """Mirrors ``torch.hub.set_dir``."""
    _HUB_DIR[0] = os.path.expanduser(os.fspath(d))


def download_url_to_file(url: str, dst: str, hash_prefix: str | None = None,
                         progress: bool = True) -> None:
    """Mirrors ``torch.hub.download_url_to_file``: download to a temporary file beside
    ``dst`` and move it into place only when complete and, given ``hash_prefix``, when its
    SHA-256 starts with it (else PyTorch's RuntimeError, and nothing is left behind)."""
    dst = os.path.expanduser(dst)
    tmp = f"{dst}.{uuid.uuid4().hex}.partial"
    sha = hashlib.sha256() if hash_prefix is not None else None
    try:
        with urlopen(Request(url, headers={"User-Agent": "torch.hub"})) as u, \
                open(tmp, "xb") as f:
            size = u.info().get("Content-Length")
            bar = _progress(int(size) if size else None, progress)
            while True:
                buf = u.read(_CHUNK)
                if not buf:
                    break
                f.write(buf)
                if sha is not None:
                    sha.update(buf)
                if bar is not None:
                    bar.update(len(buf))
            if bar is not None:
                bar.close()
        if sha is not None:
            digest = sha.hexdigest()
            if digest[:len(hash_prefix)] != hash_prefix:
                raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                                   f'"{digest}")')
        shutil.move(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _progress(total, enabled: bool):
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None,
                             weights_only: bool | None = None) -> dict[str, Any]:
    """Mirrors ``torch.hub.load_state_dict_from_url``: the object saved at ``url``, from the
    hub cache when there, else downloaded into it first (see the module docstring for the
    hash check and ``weights_only``)."""
    if model_dir is None:
        model_dir = os.path.join(get_dir(), "checkpoints")
    os.makedirs(model_dir, exist_ok=True)
    filename = file_name if file_name is not None else os.path.basename(urlparse(url).path)
    if not filename or filename in (".", "..") or os.path.basename(filename) != filename:
        raise ValueError(f"cannot name a cache file after {url!r}: pass file_name=")
    cached = os.path.join(model_dir, filename)
    if not os.path.exists(cached):
        sys.stdout.write(f'Downloading: "{url}" to {cached}\n')
        prefix = None
        if check_hash:
            m = HASH_REGEX.search(filename)
            prefix = m.group(1) if m else None
        download_url_to_file(url, cached, prefix, progress=progress)
    from . import load
    return load(cached, map_location=map_location, weights_only=weights_only)
