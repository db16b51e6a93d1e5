"""How batches (and index lists) cross between the loader and its worker processes.

Each message is pickled with protocol 5 and a pickler that turns every ember Tensor into
``(host array, dtype, device, requires_grad)``: values only, never the autograd graph (a
non-leaf tensor that requires grad is refused, with PyTorch's error). Array buffers of at
least :data:`SHM_MIN_BYTES` go out of band into one shared-memory segment (one copy in the
sender, none in the receiver, which maps it); smaller ones and everything else travel
inline through the connection. The connection therefore only ever carries small frames, so a
sender never sits blocked on a full pipe while the other side waits on it.

A segment has no name: it is a ``memfd_create`` file (or, where that is missing, a
``/dev/shm`` file unlinked the moment it is opened), and its descriptor travels with the
frame over the Unix socket (``SCM_RIGHTS``), as PyTorch's ``file_descriptor`` sharing
strategy does. So a kill of any process at any moment -- the OOM killer taking the main
process with batches in flight -- leaves nothing in /dev/shm: the kernel frees a segment
when the last descriptor or mapping of it goes, including one still queued in a socket of a
dead process. Connections that cannot carry descriptors (not a Unix socket) get everything
inline. The ``prefix`` still names fallback files for the instant between open and unlink,
so a loader that shuts down can remove one left by a worker killed in that instant.

:func:`dumps`/:func:`loads` alone make a self-contained frame for channels that carry bytes
only (``ember.multiprocessing``'s pickler): there the segment is a named /dev/shm file, as
in PyTorch's "file_system" strategy, and the receiver unlinks it once mapped.
"""
from __future__ import annotations

import io
import itertools
import mmap
import os
import pickle
import socket
import stat
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
# a frame's first byte: pickle follows / a segment whose descriptor follows the frame / a
# named /dev/shm file (``dumps``: no connection to carry a descriptor)
_INLINE, _SHARED, _NAMED = b"I", b"S", b"N"
_HAVE_MEMFD = hasattr(os, "memfd_create")
_HAVE_DEVSHM = os.path.isdir(_SHM_DIR) and os.access(_SHM_DIR, os.W_OK)
_HAVE_SHM = hasattr(socket, "send_fds") and (_HAVE_MEMFD or _HAVE_DEVSHM)
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


def _fill(fd: int, chunks: list) -> list[tuple[int, int]]:
    """Write ``chunks`` (byte buffers) into the file ``fd``, each aligned; their (offset,
    length)."""
    size = sum((memoryview(c).nbytes + _ALIGN - 1) // _ALIGN * _ALIGN for c in chunks)
    os.ftruncate(fd, size)
    spans, off = [], 0
    for chunk in chunks:
        mv = memoryview(chunk).cast("B")
        n = len(mv)
        spans.append((off, n))
        done = 0
        while done < n:
            done += os.pwrite(fd, mv[done:], off + done)
        off += (n + _ALIGN - 1) // _ALIGN * _ALIGN
    return spans


def _write_segment(name: str, chunks: list) -> tuple[int, list[tuple[int, int]]]:
    """A new nameless segment holding ``chunks``: its descriptor (the caller closes it)
    and the spans. memfd_create where there is one, else a /dev/shm file unlinked at once
    (from then on only descriptors and mappings keep it alive)."""
    if _HAVE_MEMFD:
        fd = os.memfd_create(name, os.MFD_CLOEXEC)
    else:
        path = os.path.join(_SHM_DIR, name)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        _unlink(path)
    try:
        return fd, _fill(fd, chunks)
    except BaseException:
        os.close(fd)
        raise


def _write_named(name: str, chunks: list) -> list[tuple[int, int]]:
    """Write ``chunks`` into a new /dev/shm file called ``name``; the spans."""
    path = os.path.join(_SHM_DIR, name)
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        return _fill(fd, chunks)
    except BaseException:
        _unlink(path)
        raise
    finally:
        os.close(fd)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _split(obj: Any, use_shm: bool) -> tuple[bytes | None, list | None]:
    """``(inline frame, None)``, or ``(None, chunks)`` when ``obj`` should go through shared
    memory: its pickle stream first, then its big out-of-band buffers."""
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
        return out.getvalue(), None
    return None, [out.getbuffer()[1:]] + [b.raw() for b in big]


def _inline(obj: Any) -> bytes:
    out = io.BytesIO()
    out.write(_INLINE)
    _Pickler(out, protocol=5).dump(obj)
    return out.getvalue()


def dumps(obj: Any, prefix: str | None) -> bytes:
    """A self-contained frame for ``obj``, for a channel that carries bytes only
    (``ember.multiprocessing``'s pickler; PyTorch's "file_system" strategy): big buffers go
    to a /dev/shm file named ``prefix + n`` that :func:`loads` maps and unlinks. Whoever
    sends it must remove files never received (:func:`remove_files`). The DataLoader uses
    :func:`send`/:func:`recv` instead, which leave no name anywhere."""
    frame, chunks = _split(obj, prefix is not None and _HAVE_DEVSHM)
    if chunks is None:
        return frame
    name = f"{prefix}{next(_counter)}"
    try:
        spans = _write_named(name, chunks)
    except OSError:  # /dev/shm full or unusable: inline still works
        del chunks
        return _inline(obj)
    return _NAMED + pickle.dumps((name, spans), protocol=5)


def _dumps_fd(obj: Any, prefix: str | None) -> tuple[bytes, int | None]:
    """A frame for ``obj`` and the descriptor of the nameless segment holding its big
    buffers (None when everything is inline); the caller sends the descriptor after the
    frame and closes it."""
    frame, chunks = _split(obj, prefix is not None and _HAVE_SHM)
    if chunks is None:
        return frame, None
    try:
        fd, spans = _write_segment(f"{prefix}{next(_counter)}", chunks)
    except OSError:  # shared memory full or unusable: the connection still works
        del chunks
        return _inline(obj), None
    return _SHARED + pickle.dumps(spans, protocol=5), fd


def loads(frame: bytes, fd: int | None = None) -> Any:
    """The object in a frame from :func:`dumps` (its file is unlinked once mapped) or from
    :func:`send` (``fd``: the segment's descriptor, closed here once mapped)."""
    body = memoryview(frame)[1:]
    kind = frame[:1]
    if kind == _INLINE:
        return pickle.loads(body)
    if kind == _NAMED:
        name, spans = pickle.loads(body)
        path = os.path.join(_SHM_DIR, name)
        fd = os.open(path, os.O_RDWR)
        _unlink(path)
    else:
        spans = pickle.loads(body)
        if fd is None:
            raise ValueError("a shared-memory frame arrived without its descriptor")
    try:
        mm = mmap.mmap(fd, 0)
    finally:
        os.close(fd)
    view = memoryview(mm)
    (off, n), rest = spans[0], spans[1:]
    # arrays built on these views keep the mapping alive; it is unmapped when they die
    return pickle.loads(view[off:off + n], buffers=[view[o:o + k] for o, k in rest])


def _passes_fds(conn) -> bool:
    """Whether ``conn`` is a Unix socket (``multiprocessing.Pipe(duplex=True)``)."""
    try:
        return stat.S_ISSOCK(os.fstat(conn.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def _as_socket(conn) -> socket.socket:
    # a socket object over the connection's own descriptor; the caller detaches it (closing
    # it would close the connection)
    return socket.socket(fileno=conn.fileno())


def send(conn, obj: Any, prefix: str | None) -> None:
    """Send ``obj`` over ``conn``: the frame, then (shared-memory frames) one byte carrying
    the segment's descriptor."""
    if prefix is not None and not _passes_fds(conn):
        prefix = None
    frame, fd = _dumps_fd(obj, prefix)
    if fd is None:
        conn.send_bytes(frame)
        return
    try:
        conn.send_bytes(frame)
        sock = _as_socket(conn)
        try:
            socket.send_fds(sock, [b"F"], [fd])
        finally:
            sock.detach()
    finally:
        os.close(fd)  # the receiver (or, if it died, nobody) holds the segment now


def _recv_fd(conn) -> int:
    sock = _as_socket(conn)
    try:
        data, fds, _flags, _addr = socket.recv_fds(sock, 1, 4)
    finally:
        sock.detach()
    for extra in fds[1:]:
        os.close(extra)
    if data != b"F" or not fds:
        for fd in fds[:1]:
            os.close(fd)
        raise EOFError("the sender went away before passing its shared-memory segment")
    return fds[0]


def recv(conn) -> Any:
    frame = conn.recv_bytes()
    return loads(frame, _recv_fd(conn) if frame[:1] == _SHARED else None)


def remove_files(prefix: str) -> None:
    """Delete every /dev/shm file whose name starts with ``prefix``: :func:`dumps`'s files
    never received, or (:func:`send` without ``memfd_create``) one whose sender was killed
    between creating and unlinking it."""
    if not _HAVE_SHM:
        return
    try:
        names = os.listdir(_SHM_DIR)
    except OSError:
        return
    for n in names:
        if n.startswith(prefix):
            _unlink(os.path.join(_SHM_DIR, n))
