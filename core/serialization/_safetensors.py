"""The safetensors container, read and written by ember itself (the format is small: an
8-byte little-endian header length, a JSON header, then raw little-endian buffers).

Writing it here rather than through the ``safetensors`` package keeps ember free of that
dependency and lets every ember checkpoint *be* a safetensors file; the tests check both
directions against the real package. Reading validates everything before trusting it:
header size, JSON shape, dtypes, and that every buffer lies inside the file and matches
its shape.
"""
from __future__ import annotations

import json
import struct
from typing import BinaryIO

# safetensors dtype names <-> numpy dtype names (bfloat16 via ml_dtypes)
TO_ST = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
         "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8",
         "bool": "BOOL", "complex64": "C64"}
FROM_ST = {v: k for k, v in TO_ST.items()}
ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
            "U8": 1, "BOOL": 1, "C64": 8}
MAX_HEADER = 100 * 1024 * 1024  # as the safetensors library: a bigger header is an attack


class FormatError(ValueError):
    """The bytes are not a valid safetensors/ember file (a clear message says why)."""


def np_dtype(name: str):
    """The numpy dtype for one of ember's dtype names (bfloat16 through ml_dtypes)."""
    import numpy as np
    if name == "bfloat16":
        import ml_dtypes
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def write(f: BinaryIO, arrays: dict, metadata: dict | None = None) -> None:
    """Write ``{name: numpy array}`` (C order, little-endian) to the open binary file."""
    import numpy as np
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    blobs = []
    for name, arr in arrays.items():
        dt = TO_ST.get(arr.dtype.name)
        if dt is None:
            raise TypeError(f"safetensors cannot store dtype {arr.dtype.name} (tensor {name!r})")
        arr = np.asarray(arr, order="C")
        if arr.dtype.byteorder == ">":
            arr = arr.astype(arr.dtype.newbyteorder("<"))
        n = arr.nbytes
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [offset, offset + n]}
        blobs.append(arr)
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # the library aligns the data section to 8 bytes
    f.write(struct.pack("<Q", len(raw)))
    f.write(raw)
    for arr in blobs:
        f.write(memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else b"")


def read(data) -> tuple[dict, dict]:
    """Parse a whole file's bytes (bytes, a bytearray or a mapped file) into
    ``({name: numpy array}, metadata)``; the arrays are views of ``data``, not copies.
    FormatError on anything malformed, before anything is allocated. As the safetensors
    library, the entries' byte ranges must tile the data section exactly (no overlaps, no
    gaps): one range cannot be read as many tensors."""
    import numpy as np
    data = memoryview(data)
    if len(data) < 8:
        raise FormatError(f"file is too short to be a safetensors/ember checkpoint "
                          f"({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER or 8 + n > len(data):
        raise FormatError(f"header length {n} runs past the end of the file "
                          f"({len(data)} bytes): truncated or not a safetensors/ember file")
    header = parse_json(bytes(data[8:8 + n]))
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object: not a safetensors/ember file")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise FormatError("__metadata__ must be a JSON object of strings")
    body = data[8 + n:]
    out, ranges = {}, []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise FormatError(f"entry {name!r} is not a JSON object")
        dt, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if not isinstance(dt, str) or dt not in ITEMSIZE:
            raise FormatError(f"entry {name!r} has unsupported dtype {str(dt)[:40]!r}")
        if not (isinstance(shape, list) and len(shape) <= 64 and
                all(type(s) is int and 0 <= s < 2 ** 62 for s in shape)):
            raise FormatError(f"entry {name!r} has an invalid shape {str(shape)[:80]}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and
                all(type(o) is int for o in offsets)):
            raise FormatError(f"entry {name!r} has invalid data_offsets")
        start, end = offsets
        count = 1
        for s in shape:
            count *= s
        if not 0 <= start <= end <= len(body):
            raise FormatError(f"entry {name!r} data [{start}, {end}) lies outside the file's "
                              f"{len(body)} data bytes: truncated or corrupt")
        if end - start != count * ITEMSIZE[dt]:
            raise FormatError(f"entry {name!r}: {end - start} bytes do not hold shape {shape} "
                              f"of {dt}")
        ranges.append((start, end, name))
        arr = np.frombuffer(body, dtype=np_dtype(FROM_ST[dt]).newbyteorder("<"), count=count,
                            offset=start) if count else np.empty(0, np_dtype(FROM_ST[dt]))
        out[name] = arr.reshape(shape)
    pos = 0
    for start, end, name in sorted(ranges):
        if start != pos:
            raise FormatError(f"entry {name!r} data starts at {start}, expected {pos}: "
                              "entries overlap or leave gaps (invalid offsets)")
        pos = end
    if pos != len(body):
        raise FormatError(f"the entries cover {pos} of the {len(body)} data bytes")
    return out, meta


def parse_json(raw: bytes):
    """JSON from a file header; every way it can be malformed (bad UTF-8, bad JSON, a
    100k-deep nest, a 5000-digit number) is a FormatError."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise FormatError(f"header is not valid JSON ({str(e)[:120]})") from None
