"""PyTorch's CPU generator (``at::CPUGeneratorImpl``) on numpy's MT19937 bit generator.

PyTorch's CPU random numbers come from a 32-bit Mersenne Twister seeded with
``init_genrand`` of the low 32 bits of the seed (``at::mt19937``, MT19937RNGEngine.h), plus
two cached Box-Muller samples (``next_double_normal_sample``/``next_float_normal_sample``).
numpy's ``MT19937`` is the same twister, so setting its key to ``init_genrand(seed)`` with
``pos = 624`` reproduces PyTorch's stream word for word, and ``random_raw`` draws whole
arrays of it without a Python loop. The distributions PyTorch applies on top live in the
numpy backend (``ember_numpy._random``); the 5056-byte state layout in ``ember._random_state``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["TorchCPUGenerator", "init_genrand"]

N = 624


def init_genrand(seed: int) -> np.ndarray:
    """The 624-word MT19937 key of ``init_genrand(seed & 0xffffffff)`` (PyTorch's
    ``mt19937_engine::init_with_uint32``)."""
    key = np.empty(N, dtype=np.uint32)
    x = seed & 0xFFFF_FFFF
    key[0] = x
    for j in range(1, N):
        x = (1812433253 * (x ^ (x >> 30)) + j) & 0xFFFF_FFFF
        key[j] = x
    return key


class TorchCPUGenerator:
    """The state of one PyTorch CPU generator: the seed, the twister (a numpy ``MT19937``)
    and the two normal-sample caches. ``random()``/``random64()`` are PyTorch's; the array
    forms draw many in one call, in the order PyTorch's serial kernels draw them."""

    __slots__ = ("seed", "bitgen", "next_double_normal", "next_float_normal")

    def __init__(self, seed: int):
        self.seed = seed & 0xFFFF_FFFF_FFFF_FFFF
        self.bitgen = np.random.MT19937(0)
        self.bitgen.state = {"bit_generator": "MT19937",
                             "state": {"key": init_genrand(seed), "pos": N}}
        self.next_double_normal: float | None = None
        self.next_float_normal: float | None = None

    # PyTorch draws 32-bit words; numpy's MT19937 random_raw returns them as uint64
    def words(self, n: int) -> np.ndarray:
        """n successive ``random()`` words (uint64 array holding 32-bit values)."""
        return self.bitgen.random_raw(n)

    def random(self) -> int:
        return int(self.bitgen.random_raw())

    def random64s(self, n: int) -> np.ndarray:
        """n successive ``random64()`` values: two words each, the first the high half."""
        w = self.bitgen.random_raw(2 * n)
        return (w[0::2] << np.uint64(32)) | w[1::2]

    def random64(self) -> int:
        hi, lo = self.bitgen.random_raw(2)
        return (int(hi) << 32) | int(lo)

    # --- the engine's own fields, for the state bytes ----------------------------------------
    def engine_state(self) -> tuple[np.ndarray, int]:
        """(key, pos) of the twister: numpy's pos is PyTorch's ``next_`` (624: regenerate
        on the next draw, PyTorch's ``left_ == 1``)."""
        st = self.bitgen.state["state"]
        return np.asarray(st["key"], dtype=np.uint32), int(st["pos"])

    def set_engine_state(self, key: np.ndarray, pos: int) -> None:
        self.bitgen.state = {"bit_generator": "MT19937",
                             "state": {"key": np.asarray(key, dtype=np.uint32), "pos": pos}}

    def copy(self) -> "TorchCPUGenerator":
        g = TorchCPUGenerator.__new__(TorchCPUGenerator)
        g.seed = self.seed
        g.bitgen = np.random.MT19937(0)
        g.bitgen.state = self.bitgen.state
        g.next_double_normal = self.next_double_normal
        g.next_float_normal = self.next_float_normal
        return g
