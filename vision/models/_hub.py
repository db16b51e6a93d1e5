"""``load_state_dict_from_url``: mirrors ``torch.hub.load_state_dict_from_url`` for the
``weights=`` enums. Checkpoints live where PyTorch keeps them,
``$TORCH_HOME/hub/checkpoints`` (``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, i.e.
``~/.cache/torch``), so files PyTorch downloaded are reused; a missing file is downloaded
when online, its sha256 checked against the prefix in its name (``resnet18-f37072fd.pth``),
and offline the error says which file to put where. Files are read with
``ember.load(weights_only=True)``: tensors and plain containers only, never code."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from urllib.parse import urlparse

import ember

__all__ = ["get_dir", "load_state_dict_from_url"]

_HASH_PREFIX = re.compile(r"-([a-f0-9]*)\.")


def _torch_home() -> str:
    default = os.path.join(os.getenv("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                           "torch")
    return os.path.expanduser(os.getenv("TORCH_HOME", default))


def get_dir() -> str:
    """Mirrors ``torch.hub.get_dir``."""
    return os.path.join(_torch_home(), "hub")


def _download(url: str, dst: str, hash_prefix: str | None, progress: bool) -> None:
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dst), suffix=".partial")
    sha = hashlib.sha256()
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "ember_vision"})
        with urllib.request.urlopen(req, timeout=60) as resp, os.fdopen(fd, "wb") as out:
            while chunk := resp.read(1 << 20):
                sha.update(chunk)
                out.write(chunk)
        digest = sha.hexdigest()
        if hash_prefix and not digest.startswith(hash_prefix):
            raise RuntimeError(f'invalid hash value (expected "{hash_prefix}", got '
                               f'"{digest}")')
        shutil.move(tmp, dst)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_state_dict_from_url(url: str, model_dir: str | None = None, map_location=None,
                             progress: bool = True, check_hash: bool = False,
                             file_name: str | None = None, weights_only: bool = True) -> dict:
    """Mirrors ``torch.hub.load_state_dict_from_url`` (downloads are always hash-checked
    when the file name carries a hash prefix; only ``weights_only`` loading is offered)."""
    model_dir = model_dir or os.path.join(get_dir(), "checkpoints")
    filename = file_name or os.path.basename(urlparse(url).path)
    cached = os.path.join(model_dir, filename)
    if not os.path.exists(cached):
        m = _HASH_PREFIX.search(filename)
        try:
            _download(url, cached, m.group(1) if m else None, progress)
        except (urllib.error.URLError, OSError) as e:
            raise RuntimeError(f"could not download {url} ({e}); without network access, "
                               f"put that file at {cached} (TORCH_HOME={_torch_home()})") \
                from e
    return ember.load(cached, map_location=map_location or "cpu", weights_only=True)
