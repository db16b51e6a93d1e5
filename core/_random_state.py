"""The global random state as PyTorch exposes it: ``get_rng_state``/``set_rng_state``
(the CPU default generator's state as a uint8 tensor) and ``fork_rng`` (run a block and
put the state back). Device generators are reached through ``ember.cuda`` as in PyTorch.

A state comes back from checkpoints, which are untrusted input: it is parsed with bounds
checks and never unpickled. Two layouts, both little-endian:

* PyTorch's ``CPUGeneratorImplState`` (:data:`TORCH_STATE_SIZE` = 5056 bytes), the state of
  a generator drawing PyTorch's mt19937 stream (``ember._mt19937``: the numpy backend).
  ``torch.get_rng_state()`` loads in ember and ember's in PyTorch::

    0     q     the initial seed
    8     i     left (1..624: draws before the twister regenerates, plus one)
    12    i     seeded (1)
    16    Q     next (0..624: the next word of the 624)
    24    624Q  the twister's words (each < 2**32)
    5016  d     normal_x (unused, 0)
    5024  d     normal_y: the cached double Box-Muller sample
    5032  d     normal_rho (unused, 0)
    5040  i     normal_is_valid (0/1), then 4 bytes of padding
    5048  f     the cached float sample
    5052  ?     its validity, then 3 bytes of padding

* ember's own (:data:`STATE_SIZE` = 80 bytes) for the backends whose generator is not
  PyTorch's (JAX's counter-based keys, numpy PCG64 on the other host backends)::

    0   8s    magic b"EMBRNG" + 2-byte format version (1)
    8   Q     seed
    16  I     kind: 0 seeded, no draws yet (or a backend whose state is its seed: CuPy),
              1 numpy PCG64, 2 counter-based key words (JAX)
    20  I     PCG64: has_uint32 (0/1); key: number of 32-bit words (1..8)
    24  I     PCG64: uinteger
    28  I     reserved, 0
    32  32s   PCG64: the 128-bit state (then 16 zero bytes); key: the words
    64  16s   PCG64: the 128-bit increment (odd)

A state of one kind does not load into a generator of the other (RuntimeError).
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


_TORCH_HEAD = struct.Struct("<qiiQ")
_TORCH_TAIL = struct.Struct("<dddi4xf?3x")
_N = 624
TORCH_STATE_SIZE = _TORCH_HEAD.size + 8 * _N + _TORCH_TAIL.size  # 5056


def encode_torch_state(g) -> bytes:
    """PyTorch's 5056-byte ``CPUGeneratorImplState`` of an ``ember._mt19937`` generator."""
    import numpy as np
    from ._mt19937 import init_genrand
    key, pos = g.engine_state()
    left, nxt = (1, pos) if pos == _N else (_N + 1 - pos, pos)
    if pos == _N and np.array_equal(key, init_genrand(g.seed)):
        nxt = 0  # freshly seeded: PyTorch's init leaves next_ at 0 (either way it regenerates)
    seed = g.seed - (1 << 64) if g.seed >= 1 << 63 else g.seed
    dn, fn = g.next_double_normal, g.next_float_normal
    return (_TORCH_HEAD.pack(seed, left, 1, nxt) + key.astype("<u8").tobytes()
            + _TORCH_TAIL.pack(0.0, dn or 0.0, 0.0, dn is not None, fn or 0.0,
                               fn is not None))


def decode_torch_state(data: bytes):
    """An ``ember._mt19937`` generator from PyTorch's state bytes; RuntimeError("Invalid
    mt19937 state") for anything PyTorch's engine would refuse or could not have written."""
    import numpy as np  # (here: ``import ember`` stays light)
    from ._mt19937 import TorchCPUGenerator
    if len(data) != TORCH_STATE_SIZE:
        check_size(len(data))
    seed, left, seeded, nxt = _TORCH_HEAD.unpack_from(data, 0)
    words = np.frombuffer(data, dtype="<u8", count=_N, offset=_TORCH_HEAD.size)
    _x, dn, _rho, dvalid, fn, fvalid = _TORCH_TAIL.unpack_from(data, _TORCH_HEAD.size + 8 * _N)
    # left + next == 625 between regenerations; left == 1 regenerates on the next draw
    if seeded != 1 or not 1 <= left <= _N or not 0 <= nxt <= _N or \
            (left != 1 and left + nxt != _N + 1) or bool((words >> 32).any()) or \
            dvalid not in (0, 1):
        raise RuntimeError("Invalid mt19937 state")
    g = TorchCPUGenerator.__new__(TorchCPUGenerator)
    g.seed = seed & 0xFFFF_FFFF_FFFF_FFFF
    g.bitgen = np.random.MT19937(0)
    g.set_engine_state(words.astype(np.uint32), _N if left == 1 else nxt)
    g.next_double_normal = float(dn) if dvalid else None
    g.next_float_normal = float(fn) if fvalid else None
    return g


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
    if n not in (STATE_SIZE, TORCH_STATE_SIZE):
        raise RuntimeError(f"Expected a CPUGeneratorImplState of size {TORCH_STATE_SIZE} but "
                           f"found the input RNG state size to be {n}")


def decode_state(data: bytes) -> tuple:
    """``(seed, kind, payload)`` from a state; RuntimeError (PyTorch's words for a wrong
    size) for anything that is not a state :func:`encode_state` could have made."""
    check_size(len(data))
    if len(data) != STATE_SIZE:
        raise RuntimeError("Invalid RNG state: a PyTorch mt19937 state, and this backend's "
                           "generator is not PyTorch's")
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
    tensor (PyTorch's layout on the numpy backend, see the module docstring)."""
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
