"""Saving to a path without ever leaving a half-written checkpoint, keeping the file's
identity as ``torch.save``'s plain ``open(path, "wb")`` would.

- A regular file (or none yet) is written to a temporary file beside it, fsynced, and
  renamed over it: a crash or an exception leaves the old file whole.
- A symlink is followed: the target is replaced (as ``open`` writes through a link), the
  link stays a link.
- An existing file's permission bits (0600 for private weights...) carry over; a new file
  gets the usual ``0666 & ~umask``.
- A path that exists but is not a regular file (a FIFO, ``/dev/null``, a device) is opened
  and written in place, as PyTorch does; it is never replaced.
- Temporary files are named ``.<name>.<pid>.<random>.ember-partial``: never mistaken for a
  checkpoint, and removed by the next save to the same path once their process is gone
  (a SIGKILL cannot run cleanup).
- The fsync that makes the rename safe would otherwise wait for every byte at the end
  (about as long again as writing a 100 MiB checkpoint): on Linux, writeback of what was
  written so far is started every :data:`WRITEBACK_BYTES` (``sync_file_range``), so the disk
  works while the rest is serialised and the final fsync waits only for the tail.
- A folder where no file can be created (read-only) but whose file is writable: the file is
  overwritten in place, with a warning that the write is not atomic.
"""
from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
import warnings
from typing import BinaryIO, Callable

SUFFIX = ".ember-partial"
WRITEBACK_BYTES = 8 << 20
_SYNC_FILE_RANGE_WRITE = 2


def _sync_file_range():
    """libc's ``sync_file_range`` (Linux), or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


class _Writeback:
    """A file object that starts the kernel's writeback of the file every
    :data:`WRITEBACK_BYTES` written (a hint: a failure changes nothing but speed)."""

    def __init__(self, f: BinaryIO, start: Callable) -> None:
        self._f, self._start, self._pending = f, start, 0

    def write(self, b) -> int:
        n = self._f.write(b)
        self._pending += n
        if self._pending >= WRITEBACK_BYTES:
            self._f.flush()
            self._start(self._f.fileno(), 0, 0, _SYNC_FILE_RANGE_WRITE)  # 0, 0: whole file
            self._pending = 0
        return n

    def __getattr__(self, name: str):
        return getattr(self._f, name)


def write(path, fill: Callable[[BinaryIO], None]) -> None:
    """Write the bytes ``fill(f)`` produces to ``path`` (see the module docstring)."""
    path = os.path.realpath(os.fspath(path))  # a symlink: write its target
    try:
        st = os.stat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        with open(path, "wb") as f:  # FIFO, character device...: as torch.save
            fill(f)
        return
    folder, base = os.path.split(path)
    _clean_stale(folder, base)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{base}.{os.getpid()}.", suffix=SUFFIX)
    except OSError as e:
        if st is None or e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS) or \
                not os.access(path, os.W_OK):
            raise
        warnings.warn(f"ember.save: cannot create a temporary file in {folder} ({e.strerror}); "
                      f"writing {path} in place, which is not atomic: an interrupted save "
                      "leaves a truncated file", RuntimeWarning, stacklevel=3)
        with open(path, "r+b") as f:
            fill(f)
            f.truncate()
            f.flush()
            os.fsync(f.fileno())
        return
    try:
        with os.fdopen(fd, "wb") as f:
            start = _sync_file_range()
            fill(f if start is None else _Writeback(f, start))
            f.flush()
            os.fsync(f.fileno())
        if st is not None:
            mode = stat.S_IMODE(st.st_mode)
        else:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable; not every filesystem allows opening a folder
        dfd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _clean_stale(folder: str, base: str) -> None:
    """Remove ``.<base>.<pid>.*.ember-partial`` files whose process no longer exists."""
    prefix = f".{base}."
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(SUFFIX)):
            continue
        pid = name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(folder, name))
        except OSError:
            pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
