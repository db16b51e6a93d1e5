"""The global random state as PyTorch exposes it: ``get_rng_state``/``set_rng_state``
(the CPU default generator's state as a uint8 tensor) and ``fork_rng`` (run a block and
put the state back). Device generators are reached through ``ember.cuda`` as in PyTorch.

A generator's state is a fixed binary layout (:data:`STATE_SIZE` bytes, little-endian),
parsed with bounds checks and never unpickled: a state comes back from checkpoints, which
are untrusted input. Layout::

    0   8s    magic b"EMBRNG" + 2-byte format version (1)
    8   Q     seed
    16  I     kind: 0 seeded, no draws yet (or a backend whose state is its seed: CuPy),
              1 numpy PCG64, 2 counter-based key words (JAX)
    20  I     PCG64: has_uint32 (0/1); key: number of 32-bit words (1..8)
    24  I     PCG64: uinteger
    28  I     reserved, 0
    32  32s   PCG64: the 128-bit state (then 16 zero bytes); key: the words
    64  16s   PCG64: the 128-bit increment (odd)

Deliberate difference: PyTorch's CPU state is its Mersenne Twister (5056 bytes); ember's
generator is PCG64, so the states are not interchangeable and each refuses the other's
size with PyTorch's message.
"""
from __future__ import annotations

import contextlib
import struct

from . import _creation, _dtype
from ._tensor import Tensor

__all__ = ["fork_rng", "get_rng_state", "set_rng_state"]


_LAYOUT = struct.Struct("<8sQIIII32s16s")
STATE_SIZE = _LAYOUT.size  # 80
_MAGIC = b"EMBRNG\x00\x01"
_SEEDED, _PCG64, _KEY = 0, 1, 2


def encode_state(seed: int, rng) -> bytes:
    """The :data:`STATE_SIZE`-byte state of a generator with this seed and backend rng
    (None before the first draw)."""
    kind, a, b, words, inc = _SEEDED, 0, 0, b"", b""
    bg = getattr(rng, "bit_generator", None)
    st = getattr(bg, "state", None) if bg is not None else None
    if isinstance(st, dict) and st.get("bit_generator") == "PCG64":
        kind, a, b = _PCG64, int(st["has_uint32"]), int(st["uinteger"])
        words = st["state"]["state"].to_bytes(16, "little")
        inc = st["state"]["inc"].to_bytes(16, "little")
    elif isinstance(st, list) and 1 <= len(st) <= 8:
        kind, a = _KEY, len(st)
        words = struct.pack(f"<{len(st)}I", *st)
    return _LAYOUT.pack(_MAGIC, seed, kind, a, b, 0, words, inc)


def check_size(n: int) -> None:
    if n != STATE_SIZE:
        raise RuntimeError(f"Expected a CPUGeneratorImplState of size {STATE_SIZE} but found "
                           f"the input RNG state size to be {n}")


def decode_state(data: bytes) -> tuple:
    """``(seed, kind, payload)`` from a state; RuntimeError (PyTorch's words for a wrong
    size) for anything that is not a state :func:`encode_state` could have made."""
    check_size(len(data))
    magic, seed, kind, a, b, reserved, words, inc = _LAYOUT.unpack(data)
    if magic != _MAGIC or reserved:
        raise RuntimeError("Invalid RNG state: not an ember generator state (or a newer one)")
    if kind == _SEEDED:
        return seed, kind, None
    if kind == _PCG64:
        state, increment = int.from_bytes(words[:16], "little"), int.from_bytes(inc, "little")
        if a not in (0, 1) or not increment & 1 or any(words[16:]):
            raise RuntimeError("Invalid RNG state: corrupt PCG64 state")
        return seed, kind, {"bit_generator": "PCG64", "has_uint32": a, "uinteger": b,
                            "state": {"state": state, "inc": increment}}
    if kind == _KEY and 1 <= a <= 8 and not any(inc) and not any(words[4 * a:]):
        return seed, kind, list(struct.unpack(f"<{a}I", words[:4 * a]))
    raise RuntimeError(f"Invalid RNG state: unknown generator kind {kind}")


def get_rng_state() -> Tensor:
    """Mirrors ``torch.get_rng_state``: the default CPU generator's state as a uint8
    tensor (ember's layout, see the module docstring; feed it back to ``set_rng_state``)."""
    return _creation.default_generator.get_state()


def set_rng_state(new_state: Tensor) -> None:
    """Mirrors ``torch.set_rng_state``: restore a state from ``get_rng_state``."""
    if not isinstance(new_state, Tensor):
        raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
    if new_state.dtype is not _dtype.uint8:
        raise TypeError("RNG state must be a torch.ByteTensor")
    _creation.default_generator.set_state(new_state)


@contextlib.contextmanager
def fork_rng(devices=None, enabled: bool = True, _caller: str = "fork_rng",
             _devices_kw: str = "devices", device_type: str | None = None):
    """Mirrors ``torch.random.fork_rng``: the block may draw and reseed freely; the CPU
    generator's state (and each listed device's) is restored on exit."""
    if not enabled:
        yield
        return
    cpu = get_rng_state()
    saved = []
    for dev, g in list(_creation._device_generators.items()):
        if devices is None or dev in devices or getattr(dev, "index", None) in devices:
            saved.append((g, g.get_state()))
    try:
        yield
    finally:
        set_rng_state(cpu)
        for g, st in saved:
            g.set_state(st)
