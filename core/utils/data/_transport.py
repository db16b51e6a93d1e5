"""How batches (and index lists) cross between the loader and its worker processes.

Each message is pickled with protocol 5 and a pickler that turns every ember Tensor into
``(host array, dtype, device, requires_grad)``: values only, never the autograd graph (a
non-leaf tensor that requires grad is refused, with PyTorch's error). Array buffers of at
least :data:`SHM_MIN_BYTES` go out of band into one file in ``/dev/shm`` (one copy in the
sender, none in the receiver, which maps the file and unlinks it at once); smaller ones and
everything else travel inline through the pipe. The pipe therefore only ever carries small
frames, so a sender never sits blocked on a full pipe while the other side waits on it.

File names carry a per-loader prefix, so a loader that shuts down (or a worker that sees
its parent die) can remove whatever files were written but never read.
"""
from __future__ import annotations

import io
import itertools
import mmap
import os
import pickle
from typing import Any

from ..._tensor import Tensor

__all__ = ["dumps", "loads", "send", "recv", "remove_files", "SHM_MIN_BYTES"]

#: Buffers at least this big go through shared memory. Measured as CPU time per message
#: (sender + receiver, receiver reading the array): the two ways tie at 256 KiB; the pipe
#: costs 2x less at 16 KiB, shared memory 2.8x less at 1 MiB and 2.5x less at 4 MiB.
SHM_MIN_BYTES = 256 * 1024
#: A pickle stream this big is moved through shared memory too.
_FRAME_MAX = 256 * 1024
_ALIGN = 64
_SHM_DIR = "/dev/shm"
_INLINE, _SHARED = b"I", b"S"  # a frame's first byte: pickle follows / shm file reference
_HAVE_SHM = os.path.isdir(_SHM_DIR) and os.access(_SHM_DIR, os.W_OK)
_counter = itertools.count()


def _tensor_from_host(arr, dtype_name: str, device: str, requires_grad: bool) -> Tensor:
    """Rebuild a tensor around a received array without copying it (on CPU)."""
    from ... import _creation, _dtype
    from ..._tensor import wrap
    dev = _creation.resolve_device(device)
    t = wrap(dev._be.from_numpy(arr, dev.index), _dtype._BY_NAME[dtype_name], dev)
    if requires_grad:
        t.requires_grad_(True)
    return t


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, Tensor):
            if obj._requires_grad and obj._grad_fn is not None:
                raise RuntimeError(
                    "Cowardly refusing to serialize non-leaf tensor which requires_grad, "
                    "since autograd does not support crossing process boundaries.  If you "
                    "just want to transfer the data, call detach() on the tensor before "
                    "serializing (e.g., putting it on the queue).")
            return (_tensor_from_host, (obj._device._be.to_numpy(obj._data), obj.dtype.name,
                                        str(obj._device), obj._requires_grad))
        return NotImplemented


def _write_file(name: str, chunks: list, size: int) -> list[tuple[int, int]]:
    """Write ``chunks`` (byte buffers) into a new /dev/shm file; their (offset, length)."""
    path = os.path.join(_SHM_DIR, name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    spans = []
    try:
        os.ftruncate(fd, size)
        off = 0
        for chunk in chunks:
            mv = memoryview(chunk).cast("B")
            n = len(mv)
            spans.append((off, n))
            done = 0
            while done < n:
                done += os.pwrite(fd, mv[done:], off + done)
            off += (n + _ALIGN - 1) // _ALIGN * _ALIGN
    except BaseException:
        os.close(fd)
        _unlink(path)
        raise
    os.close(fd)
    return spans


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def dumps(obj: Any, prefix: str | None) -> bytes:
    """A frame for ``obj``: big buffers go to a /dev/shm file named ``prefix + n`` when
    ``prefix`` is given and shared memory is usable, else everything is inline."""
    use_shm = prefix is not None and _HAVE_SHM
    big: list = []

    def keep_inline(buf: pickle.PickleBuffer) -> bool:
        if not use_shm or buf.raw().nbytes < SHM_MIN_BYTES:
            return True
        big.append(buf)
        return False

    out = io.BytesIO()
    out.write(_INLINE)
    _Pickler(out, protocol=5, buffer_callback=keep_inline).dump(obj)
    if not big and (out.tell() < _FRAME_MAX or not use_shm):
        return out.getvalue()
    payload = out.getbuffer()[1:]
    chunks = [payload] + [b.raw() for b in big]
    size = sum((memoryview(c).nbytes + _ALIGN - 1) // _ALIGN * _ALIGN for c in chunks)
    name = f"{prefix}{next(_counter)}"
    try:
        spans = _write_file(name, chunks, size)
    except OSError:  # /dev/shm full or unusable: the pipe still works
        del payload
        out = io.BytesIO()
        out.write(_INLINE)
        _Pickler(out, protocol=5).dump(obj)
        return out.getvalue()
    del payload
    return _SHARED + pickle.dumps((name, spans), protocol=5)


def loads(frame: bytes) -> Any:
    """The object in a frame from :func:`dumps` (its shared-memory file is unlinked)."""
    body = memoryview(frame)[1:]
    if frame[:1] == _INLINE:
        return pickle.loads(body)
    name, spans = pickle.loads(body)
    path = os.path.join(_SHM_DIR, name)
    fd = os.open(path, os.O_RDWR)
    try:
        mm = mmap.mmap(fd, 0)
    finally:
        os.close(fd)
        _unlink(path)
    view = memoryview(mm)
    (off, n), rest = spans[0], spans[1:]
    # arrays built on these views keep the mapping alive; it is unmapped when they die
    return pickle.loads(view[off:off + n], buffers=[view[o:o + k] for o, k in rest])


def send(conn, obj: Any, prefix: str | None) -> None:
    conn.send_bytes(dumps(obj, prefix))


def recv(conn) -> Any:
    return loads(conn.recv_bytes())


def remove_files(prefix: str) -> None:
    """Delete every shared-memory file whose name starts with ``prefix`` (written, never
    read: a loader shut down with batches in flight, or a worker killed mid-send)."""
    if not _HAVE_SHM:
        return
    try:
        names = os.listdir(_SHM_DIR)
    except OSError:
        return
    for n in names:
        if n.startswith(prefix):
            _unlink(os.path.join(_SHM_DIR, n))
