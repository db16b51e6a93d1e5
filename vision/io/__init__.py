"""``ember_vision.io``: mirrors ``torchvision.io``'s image functions (``read_image``,
``decode_image``, ``decode_png``, ``decode_jpeg``, ``encode_png``, ``write_png``,
``encode_jpeg``, ``write_jpeg``, ``read_file``, ``write_file``), through Pillow instead of
torchvision's libpng/libjpeg bindings.

Images come back as uint8 tensors (C, H, W). Deliberate differences: 16-bit images are
returned as int32 (ember has no uint16); palette images are expanded to RGB/RGBA as libpng
does; Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``) applies to every
decode, so a crafted header cannot make decode allocate without bound; video is not
provided."""
from __future__ import annotations

import io
import os
from enum import Enum

import numpy as np

import ember

__all__ = ["ImageReadMode", "read_file", "write_file", "decode_image", "decode_png",
           "decode_jpeg", "encode_png", "encode_jpeg", "write_png", "write_jpeg", "read_image"]


class ImageReadMode(Enum):
    """Mirrors ``torchvision.io.ImageReadMode``."""

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = RGB_ALPHA


_MODE_BY_NAME = {"UNCHANGED": ImageReadMode.UNCHANGED, "GRAY": ImageReadMode.GRAY,
                 "GRAY_ALPHA": ImageReadMode.GRAY_ALPHA, "RGB": ImageReadMode.RGB,
                 "RGB_ALPHA": ImageReadMode.RGB_ALPHA, "RGBA": ImageReadMode.RGB_ALPHA}
_PIL_MODE = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
             ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}


def _bytes_of(input) -> bytes:
    if isinstance(input, ember.Tensor):
        if input.dtype != ember.uint8 or input.ndim != 1:
            raise RuntimeError("Expected a one-dimensional uint8 tensor of encoded bytes, got "
                               f"{input.dtype} of shape {tuple(input.shape)}")
        return input.detach().cpu().numpy().tobytes()
    if isinstance(input, (bytes, bytearray, memoryview)):
        return bytes(input)
    raise TypeError(f"Expected a tensor of encoded bytes, got {type(input).__name__}")


def read_file(path: str) -> ember.Tensor:
    """Mirrors ``torchvision.io.read_file``: the file's bytes as a 1-D uint8 tensor."""
    with open(os.fspath(path), "rb") as f:
        data = f.read()
    return ember.from_numpy(np.frombuffer(data, dtype=np.uint8).copy())


def write_file(filename: str, data: ember.Tensor) -> None:
    """Mirrors ``torchvision.io.write_file``."""
    with open(os.fspath(filename), "wb") as f:
        f.write(_bytes_of(data))


def decode_image(input, mode: ImageReadMode = ImageReadMode.UNCHANGED,
                 apply_exif_orientation: bool = False) -> ember.Tensor:
    """Mirrors ``torchvision.io.decode_image``: encoded bytes (a uint8 tensor) or a path ->
    a uint8 (C, H, W) tensor in ``mode``."""
    from PIL import Image, ImageOps
    if isinstance(mode, str):
        mode = _MODE_BY_NAME[mode.upper()]
    data = read_file(input) if isinstance(input, (str, os.PathLike)) else input
    img = Image.open(io.BytesIO(_bytes_of(data)))
    if img.format == "JPEG":
        if mode in (ImageReadMode.GRAY_ALPHA, ImageReadMode.RGB_ALPHA):
            raise RuntimeError("The provided mode is not supported for JPEG files")
        if mode is ImageReadMode.GRAY:
            # libjpeg's own grayscale output (the luma plane), as torchvision decodes it
            img.draft("L", img.size)
    img.load()
    if apply_exif_orientation:
        img = ImageOps.exif_transpose(img)
    if mode is ImageReadMode.UNCHANGED:
        if img.mode == "P":
            img = img.convert("RGBA" if "transparency" in img.info else "RGB")
        elif img.mode == "1":
            img = img.convert("L")
        elif img.mode == "CMYK":
            img = img.convert("RGB")
    else:
        img = img.convert(_PIL_MODE[mode])
    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = arr.astype(np.int32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return ember.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def decode_png(input, mode: ImageReadMode = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> ember.Tensor:
    """Mirrors ``torchvision.io.decode_png``."""
    return decode_image(input, mode, apply_exif_orientation)


def decode_jpeg(input, mode: ImageReadMode = ImageReadMode.UNCHANGED, device="cpu",
                apply_exif_orientation: bool = False):
    """Mirrors ``torchvision.io.decode_jpeg`` (one tensor or a list of them)."""
    if isinstance(input, list):
        return [decode_jpeg(x, mode, device, apply_exif_orientation) for x in input]
    return decode_image(input, mode, apply_exif_orientation).to(device)


def read_image(path: str, mode: ImageReadMode = ImageReadMode.UNCHANGED,
               apply_exif_orientation: bool = False) -> ember.Tensor:
    """Mirrors ``torchvision.io.read_image``."""
    return decode_image(read_file(path), mode, apply_exif_orientation)


def _to_pil(input: ember.Tensor):
    from PIL import Image
    if not isinstance(input, ember.Tensor) or input.dtype != ember.uint8:
        raise RuntimeError("Input tensor dtype should be uint8")
    if input.ndim != 3 or input.shape[0] not in (1, 3):
        raise RuntimeError(f"The number of channels should be 1 or 3, got: {input.shape[0]}"
                           if input.ndim == 3 else
                           f"Input data should be a 3-dimensional tensor, got {input.ndim} "
                           "dims.")
    arr = input.detach().cpu().numpy().transpose(1, 2, 0)
    return Image.fromarray(np.ascontiguousarray(arr[:, :, 0] if arr.shape[2] == 1 else arr))


def encode_png(input: ember.Tensor, compression_level: int = 6) -> ember.Tensor:
    """Mirrors ``torchvision.io.encode_png``: (C, H, W) uint8 -> PNG bytes (uint8 tensor)."""
    if not 0 <= compression_level <= 9:
        raise RuntimeError("Compression level should be between 0 and 9")
    buf = io.BytesIO()
    _to_pil(input).save(buf, format="PNG", compress_level=compression_level)
    return ember.from_numpy(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def write_png(input: ember.Tensor, filename: str, compression_level: int = 6) -> None:
    """Mirrors ``torchvision.io.write_png``."""
    write_file(filename, encode_png(input, compression_level))


def encode_jpeg(input, quality: int = 75):
    """Mirrors ``torchvision.io.encode_jpeg`` (one tensor or a list of them)."""
    if isinstance(input, list):
        return [encode_jpeg(x, quality) for x in input]
    if not 1 <= quality <= 100:
        raise ValueError("Image quality should be a positive number between 1 and 100")
    buf = io.BytesIO()
    _to_pil(input).save(buf, format="JPEG", quality=quality)
    return ember.from_numpy(np.frombuffer(buf.getvalue(), dtype=np.uint8).copy())


def write_jpeg(input: ember.Tensor, filename: str, quality: int = 75) -> None:
    """Mirrors ``torchvision.io.write_jpeg``."""
    write_file(filename, encode_jpeg(input, quality))
