"""The zip container of PyTorch checkpoints, written and read by ember itself.

Writing: PyTorch's layout (``torch.save``): every record stored uncompressed, each record's
data aligned to 64 bytes by padding the local header's extra field (so a reader can map
storages straight from the file), ZIP64 records once an offset or size needs them. A CRC-32
per record, as ``PyTorchStreamWriter`` writes.

Reading: Python's ``zipfile`` parses the central directory; every member's data range is
then checked against the file's real length before a byte of it is allocated, and deflated
members are read only up to the size they declare, which itself must be one deflate could
produce from the compressed bytes present. Stored records' CRC-32 is not verified on load
(it would triple the load time of a large checkpoint with this zlib; a corrupt file still
cannot read outside its records).
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from typing import BinaryIO

ALIGNMENT = 64            # torch 2.x's ``.storage_alignment``
_ZIP64_LIMIT = 0xFFFFFFFF  # sizes/offsets at or above this go into a ZIP64 extra field
_FFFF = 0xFFFFFFFF  # what a 32-bit field then holds
_MAX_DEFLATE_RATIO = 1032  # deflate cannot expand data by more than this


_PIPELINE_MIN_BYTES = 4 << 20  # below this a thread costs more than it saves


def _bytes(data):
    return data if isinstance(data, bytes) else memoryview(data).cast("B")


class ZipFormatError(ValueError):
    """The archive is malformed (the caller turns this into a CheckpointError)."""


class Writer:
    """Writes records one after another to a binary stream (no seeking needed)."""

    def __init__(self, f: BinaryIO):
        self.f = f
        self.pos = 0
        self.entries: list = []  # (name bytes, crc, size, offset)

    def _write(self, b) -> None:
        self.f.write(b)
        self.pos += len(b) if isinstance(b, (bytes, bytearray)) else memoryview(b).nbytes

    def record(self, name: str, data, crc: int | None = None) -> None:
        """Add one record; ``data`` bytes or any buffer (a numpy array's memory: not copied)."""
        view = _bytes(data)
        size = len(view)
        crc = zlib.crc32(view) if crc is None else crc
        fname = name.encode("utf-8")
        offset = self.pos
        big = size >= _ZIP64_LIMIT or offset >= _ZIP64_LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, size) if big else b""
        head = 30 + len(fname) + len(extra)
        pad = -(offset + head + 4) % ALIGNMENT  # 4: the padding field's own header
        extra += struct.pack("<HH", 0x4246, pad) + b"Z" * pad  # "FB": torch's padding field
        small = _FFFF if big else size
        self._write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if big else 20, 0, 0, 0, 0x21,
                                crc, small, small, len(fname), len(extra)))
        self._write(fname)
        self._write(extra)
        self._write(view)
        self.entries.append((fname, crc, size, offset))

    def records(self, items) -> None:
        """Add ``(name, data)`` records in order. The CRC-32s of big ones are computed on a
        second thread, ahead of the record being written (zlib releases the GIL), so
        checksumming overlaps the writes instead of adding to them."""
        items = [(name, _bytes(data)) for name, data in items]
        if sum(len(v) for _, v in items) < _PIPELINE_MIN_BYTES:
            for name, view in items:
                self.record(name, view)
            return
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(1, thread_name_prefix="ember-crc") as ex:
            crcs = [ex.submit(zlib.crc32, view) for _, view in items]
            for (name, view), crc in zip(items, crcs):
                self.record(name, view, crc.result())

    def finish(self) -> None:
        """The central directory and end records."""
        start = self.pos
        for fname, crc, size, offset in self.entries:
            big = size >= _ZIP64_LIMIT or offset >= _ZIP64_LIMIT
            extra = struct.pack("<HHQQQ", 1, 24, size, size, offset) if big else b""
            s, o = (_FFFF, _FFFF) if big else (size, offset)
            self._write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if big else 20,
                                    45 if big else 20, 0, 0, 0, 0x21, crc, s, s, len(fname),
                                    len(extra), 0, 0, 0, 0, o))
            self._write(fname)
            self._write(extra)
        cd_size, n = self.pos - start, len(self.entries)
        if n >= 0xFFFF or start >= _ZIP64_LIMIT or cd_size >= _ZIP64_LIMIT:
            end64 = self.pos
            self._write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n,
                                    cd_size, start))
            self._write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
            n16, size32, start32 = min(n, 0xFFFF), _FFFF, _FFFF
        else:
            n16, size32, start32 = n, cd_size, start
        self._write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n16, n16, size32, start32, 0))


class Reader:
    """Bounded access to the members of a zip archive held in a seekable binary file."""

    def __init__(self, f: BinaryIO, length: int):
        self.f, self.length = f, length
        try:
            self.zip = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError,
                struct.error, UnicodeDecodeError) as e:
            raise ZipFormatError(f"not a readable zip archive ({e})") from None
        self.infos = {}
        for info in self.zip.infolist():
            self.infos.setdefault(info.filename, info)

    def names(self) -> list:
        return list(self.infos)

    def info(self, name: str):
        info = self.infos.get(name)
        if info is None:
            raise KeyError(name)
        return info

    def data_offset(self, name: str) -> int:
        """Where ``name``'s stored bytes start in the file, checked to lie inside it."""
        info = self.info(name)
        if info.compress_type != zipfile.ZIP_STORED:
            raise ZipFormatError(f"record {name!r} is compressed; it cannot be mapped")
        start = self._local_data_start(info)
        if info.compress_size != info.file_size or start + info.file_size > self.length:
            raise ZipFormatError(f"record {name!r} declares {info.file_size} bytes at offset "
                                 f"{start}, past the end of the {self.length}-byte file")
        return start

    def _local_data_start(self, info) -> int:
        if not 0 <= info.header_offset <= self.length - 30:
            raise ZipFormatError(f"record {info.filename!r} lies outside the file")
        self.f.seek(info.header_offset)
        head = self.f.read(30)
        if len(head) != 30 or head[:4] != b"PK\x03\x04":
            raise ZipFormatError(f"record {info.filename!r}: bad local header")
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        return info.header_offset + 30 + name_len + extra_len

    def size(self, name: str) -> int:
        """The record's declared size, once checked to be one the file can hold."""
        info = self.info(name)
        if info.compress_type == zipfile.ZIP_STORED:
            self.data_offset(name)
        elif info.file_size > info.compress_size * _MAX_DEFLATE_RATIO + 1024 or \
                self._local_data_start(info) + info.compress_size > self.length:
            raise ZipFormatError(f"record {name!r}: declared size {info.file_size} cannot "
                                 f"come from {info.compress_size} compressed bytes")
        return info.file_size

    def read(self, name: str, limit: int | None = None) -> bytes:
        """A whole (small) record's bytes: the pickle, the version strings."""
        out = bytearray(self.size(name))
        if limit is not None and len(out) > limit:
            raise ZipFormatError(f"record {name!r} is {len(out)} bytes (at most {limit} "
                                 "expected)")
        self.readinto(name, memoryview(out))
        return bytes(out)

    def readinto(self, name: str, buf: memoryview) -> None:
        """Fill ``buf`` (exactly the record's declared size) with the record's bytes."""
        info = self.info(name)
        n = buf.nbytes
        if n != info.file_size:
            raise ZipFormatError(f"record {name!r} holds {info.file_size} bytes, not {n}")
        if info.compress_type == zipfile.ZIP_STORED:
            start = self.data_offset(name)
            self.f.seek(start)
            got = _readinto_all(self.f, buf)
        else:
            self.size(name)
            try:
                with self.zip.open(info) as member:
                    got = _readinto_all(member, buf)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                    RuntimeError) as e:
                raise ZipFormatError(f"record {name!r}: {e}") from None
        if got != n:
            raise ZipFormatError(f"record {name!r} is truncated ({got} of {n} bytes)")


def _readinto_all(f, buf: memoryview) -> int:
    got = 0
    while got < buf.nbytes:
        k = f.readinto(buf[got:])
        if not k:
            break
        got += k
    return got


def open_bytes(data: bytes) -> Reader:
    return Reader(io.BytesIO(data), len(data))
