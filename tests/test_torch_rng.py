"""Random streams as PyTorch's: after ``manual_seed(s)`` the numpy backend (the default CPU)
draws PyTorch's numbers (its mt19937 stream and its CPU kernels' transforms, for each
function, dtype and size class), states load both ways in PyTorch's 5056-byte layout
(malicious bytes refused), and an unseeded process starts from a fresh seed. On the other
backends (their own generators) only determinism and shapes are checked."""
from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import pytest

import ember


def _numpy_backend(device) -> bool:
    return ember.empty(1, device=device)._device._be.name == "numpy"


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


@pytest.fixture
def torch(torch):
    """The oracle, where ember's CPU is the numpy backend (the one that draws PyTorch's
    numbers; EMBER_PROVIDERS=cpu=jax runs these tests' CPU on JAX)."""
    if not _numpy_backend("cpu"):
        pytest.skip("PyTorch's streams are drawn by the numpy backend only")
    return torch


def _both(torch, fn, seed=11):
    """fn(lib) twice in a row from the same seed, in torch and in ember (numpy arrays)."""
    out = []
    for lib in (torch, ember):
        lib.manual_seed(seed)
        out.append([_np(fn(lib)) for _ in range(2)])
    return out


def _same_stream(torch, fn, seed=11):
    want, got = _both(torch, fn, seed)
    for w, g in zip(want, got):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


# small (< 16: per-element kernels and Box-Muller cache), the 16-block boundary, odd tails
# (normal_fill recomputes the last 16) and large (vectorised paths)
SIZES = [1, 5, 16, 17, 1000, 40001]
FLOATS = ["float32", "float64"]


def _dt(lib, name):
    return getattr(lib, name)


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dt", FLOATS)
def test_float_draws_are_torchs(torch, n, dt):
    cases = [
        lambda L: L.rand(n, dtype=_dt(L, dt)),
        lambda L: L.randn(n, dtype=_dt(L, dt)),
        lambda L: L.empty(n, dtype=_dt(L, dt)).normal_(1.5, 0.3),
        lambda L: L.empty(n, dtype=_dt(L, dt)).uniform_(-2, 3),
        lambda L: L.empty(n, dtype=_dt(L, dt)).exponential_(2.0),
        lambda L: L.normal(2.0, 3.0, (n,), dtype=_dt(L, dt)),
        lambda L: L.rand_like(L.zeros(n, dtype=_dt(L, dt))),
        lambda L: L.randn_like(L.zeros(n, dtype=_dt(L, dt))),
    ]
    for fn in cases:
        _same_stream(torch, fn)


def test_interleaved_draws_share_the_box_muller_cache(torch):
    # an odd count of small normals leaves a cached sample the next draw uses
    _same_stream(torch, lambda L: L.cat([L.randn(3), L.rand(2), L.randn(1, dtype=L.float64),
                                         L.randn(20), L.randn(5)]))


@pytest.mark.parametrize("n", [3, 1000])
def test_half_and_complex_draws_are_torchs(torch, n):
    _same_stream(torch, lambda L: L.rand(n, dtype=L.float16))
    _same_stream(torch, lambda L: L.randn(n, dtype=L.float16))
    _same_stream(torch, lambda L: L.randn(n, dtype=L.complex64))
    _same_stream(torch, lambda L: L.rand(n, dtype=L.complex128))


INTS = ["int64", "int32", "int16", "int8", "uint8", "float32", "float64"]


@pytest.mark.parametrize("n", [5, 3000])
@pytest.mark.parametrize("dt", INTS)
def test_integer_draws_are_torchs(torch, n, dt):
    low = 0 if dt == "uint8" else -3
    _same_stream(torch, lambda L: L.randint(low, 100, (n,), dtype=_dt(L, dt)))
    _same_stream(torch, lambda L: L.randint_like(L.zeros(n, dtype=_dt(L, dt)), 7))
    _same_stream(torch, lambda L: L.zeros(n, dtype=_dt(L, dt)).random_())
    _same_stream(torch, lambda L: L.zeros(n, dtype=_dt(L, dt)).random_(2, 9))


def test_wide_ranges_and_bool_are_torchs(torch):
    _same_stream(torch, lambda L: L.randint(0, 2 ** 40, (50,)))       # random64 draws
    _same_stream(torch, lambda L: L.randint(-2 ** 28, 2 ** 28, (50,)))
    _same_stream(torch, lambda L: L.zeros(50, dtype=L.bool).random_())


@pytest.mark.parametrize("n", [1, 10, 3000])
def test_randperm_is_torchs(torch, n):
    _same_stream(torch, lambda L: L.randperm(n))
    _same_stream(torch, lambda L: L.randperm(n, dtype=L.int32))


@pytest.mark.parametrize("n", [5, 3000])
@pytest.mark.parametrize("dt", FLOATS)
def test_bernoulli_is_torchs(torch, n, dt):
    _same_stream(torch, lambda L: L.empty(n, dtype=_dt(L, dt)).bernoulli_(0.3))
    _same_stream(torch, lambda L: L.bernoulli(L.linspace(0, 1, n, dtype=_dt(L, dt))))
    _same_stream(torch, lambda L: L.bernoulli(L.zeros(n, dtype=_dt(L, dt)), p=0.7))
    _same_stream(torch, lambda L: L.zeros(n).bernoulli_(L.full((n,), 0.4, dtype=_dt(L, dt))))
    _same_stream(torch, lambda L: L.zeros(n, dtype=L.int64).bernoulli_(0.5))


@pytest.mark.parametrize("dt", FLOATS)
def test_multinomial_is_torchs(torch, dt):
    w = [1.0, 0.0, 3.0, 2.0, 0.5, 4.0, 1.0]
    rows = [w, w[::-1]]
    for fn in (
        lambda L: L.multinomial(L.tensor(w, dtype=_dt(L, dt)), 4),
        lambda L: L.multinomial(L.tensor(rows, dtype=_dt(L, dt)), 6),
        lambda L: L.multinomial(L.tensor(w, dtype=_dt(L, dt)), 1, replacement=True),
        lambda L: L.multinomial(L.tensor(w, dtype=_dt(L, dt)), 9, replacement=True),
        lambda L: L.multinomial(L.tensor(rows, dtype=_dt(L, dt)), 5, replacement=True),
        lambda L: L.tensor(w, dtype=_dt(L, dt)).multinomial(3),
    ):
        _same_stream(torch, fn)


@pytest.mark.parametrize("n", [3, 2000])
def test_dropout_masks_are_torchs(torch, n):
    _same_stream(torch, lambda L: L.nn.functional.dropout(L.ones(n, 3), p=0.3))
    _same_stream(torch, lambda L: L.nn.functional.dropout(L.ones(n, dtype=L.float64), 0.5))
    _same_stream(torch, lambda L: L.nn.functional.dropout2d(L.ones(2, n, 2, 2), p=0.5))
    _same_stream(torch, lambda L: L.nn.functional.alpha_dropout(L.ones(n, 2), 0.2, True))
    _same_stream(torch, lambda L: L.nn.Dropout(0.6)(L.ones(n, 2)))


def test_init_and_layers_are_torchs(torch):
    _same_stream(torch, lambda L: L.nn.Linear(3, 4).weight, seed=0)
    _same_stream(torch, lambda L: L.nn.Linear(30, 4).bias, seed=0)
    _same_stream(torch, lambda L: L.nn.Conv2d(3, 8, 3).weight)
    _same_stream(torch, lambda L: L.nn.Embedding(10, 4).weight)
    _same_stream(torch, lambda L: L.nn.LSTM(3, 4).weight_hh_l0)
    for name in ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                 "trunc_normal_", "normal_", "uniform_"):
        _same_stream(torch, lambda L: getattr(L.nn.init, name)(L.empty(20, 30)))
    # orthogonal_ draws the same normals; the QR (LAPACK vs numpy) may round differently
    want, got = _both(torch, lambda L: L.nn.init.orthogonal_(L.empty(6, 9)))
    np.testing.assert_allclose(got[0], want[0], atol=1e-5)


def test_generators_are_torchs(torch):
    for lib in (torch, ember):
        lib.manual_seed(0)
    g_t, g_e = torch.Generator().manual_seed(3), ember.Generator().manual_seed(3)
    for _ in range(2):
        np.testing.assert_array_equal(_np(ember.rand(5, generator=g_e)),
                                      _np(torch.rand(5, generator=g_t)))
        np.testing.assert_array_equal(_np(ember.randperm(7, generator=g_e)),
                                      _np(torch.randperm(7, generator=g_t)))
        np.testing.assert_array_equal(
            _np(ember.empty(20).normal_(generator=g_e)), _np(torch.empty(20).normal_(
                generator=g_t)))
    # the default generator was not touched
    np.testing.assert_array_equal(_np(ember.rand(3)), _np(torch.rand(3)))
    # a fresh Generator has PyTorch's default seed and state
    assert ember.Generator().initial_seed() == torch.Generator().initial_seed()
    np.testing.assert_array_equal(_np(ember.Generator().get_state()),
                                  _np(torch.Generator().get_state()))


def test_state_round_trips_both_ways(torch):
    torch.manual_seed(3)
    torch.randn(3)   # leaves a cached Box-Muller sample in the state
    torch.rand(700)  # crosses a twister regeneration
    ember.set_rng_state(ember.from_numpy(_np(torch.get_rng_state()).copy()))
    np.testing.assert_array_equal(_np(ember.get_rng_state()), _np(torch.get_rng_state()))
    np.testing.assert_array_equal(_np(ember.randn(9)), _np(torch.randn(9)))

    ember.manual_seed(9)
    ember.randn(5)
    state = ember.get_rng_state()
    assert state.dtype is ember.uint8 and tuple(state.shape) == (5056,)
    torch.set_rng_state(torch.from_numpy(_np(state).copy()))
    np.testing.assert_array_equal(_np(ember.randn(9)), _np(torch.randn(9)))
    np.testing.assert_array_equal(_np(ember.get_rng_state()), _np(torch.get_rng_state()))
    # a generator's state, and fork_rng
    g = ember.Generator().manual_seed(4)
    g.set_state(ember.from_numpy(_np(torch.Generator().manual_seed(4).get_state()).copy()))
    s = ember.get_rng_state()
    with ember.random.fork_rng():
        ember.rand(10)
    np.testing.assert_array_equal(_np(ember.get_rng_state()), _np(s))


def _state_bytes() -> bytearray:
    ember.manual_seed(1)
    ember.rand(3)
    return bytearray(_np(ember.get_rng_state()).tobytes())


def _load(data) -> None:
    ember.set_rng_state(ember.from_numpy(np.frombuffer(bytes(data), dtype=np.uint8).copy()))


def test_malicious_states_are_refused(torch):
    good = _state_bytes()
    bad = []
    for offset, fmt, value in ((8, "<i", 0), (8, "<i", 625), (8, "<i", -5), (12, "<i", 0),
                               (16, "<Q", 625), (16, "<Q", 2 ** 63), (8, "<i", 300),
                               (24, "<Q", 2 ** 32), (5040, "<i", 7)):
        b = bytearray(good)
        struct.pack_into(fmt, b, offset, value)
        bad.append(b)
    for b in bad:
        with pytest.raises(RuntimeError, match="Invalid mt19937 state|Invalid RNG state"):
            _load(b)
    for size in (0, 10, 5055, 5057, 80 * 64):
        with pytest.raises(RuntimeError, match="CPUGeneratorImplState of size 5056"):
            _load(good[:size] if size <= len(good) else good + bytes(size - len(good)))
    with pytest.raises(TypeError, match="ByteTensor"):
        ember.set_rng_state(ember.zeros(5056))
    # ember's own 80-byte layout (other backends' generators): a PCG64 state does not load
    # into PyTorch's generator; a bare seed does
    pcg = struct.pack("<8sQIIII32s16s", b"EMBRNG\x00\x01", 7, 1, 0, 0, 0, bytes(32),
                      (3).to_bytes(16, "little"))
    with pytest.raises(RuntimeError, match="Invalid RNG state"):
        _load(pcg)
    _load(struct.pack("<8sQIIII32s16s", b"EMBRNG\x00\x01", 7, 0, 0, 0, 0, bytes(32),
                      bytes(16)))
    assert ember.initial_seed() == 7
    # what PyTorch refuses, ember refuses too (and a refused state changes nothing)
    before = _np(ember.get_rng_state())
    with pytest.raises(RuntimeError):
        _load(bad[0])
    np.testing.assert_array_equal(_np(ember.get_rng_state()), before)
    with pytest.raises(RuntimeError):
        torch.set_rng_state(torch.from_numpy(np.frombuffer(bytes(bad[0]), np.uint8).copy()))


_SEED_SCRIPT = "import ember, sys; sys.stdout.write(str(ember.initial_seed()) + ' ' + " \
               "str(float(ember.rand(1))))"


def test_unseeded_processes_start_from_fresh_seeds():
    procs = [subprocess.Popen([sys.executable, "-c", _SEED_SCRIPT], stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    runs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert runs[0] != runs[1]
    seed, _ = runs[0].split()
    assert 0 <= int(seed) < 2 ** 64


def test_seeded_draws_are_deterministic_on_every_backend(device):
    """Every backend: same seed, same numbers; shapes and dtypes as asked."""
    out = []
    for _ in range(2):
        ember.manual_seed(5)
        out.append([ember.rand(4, 3, device=device), ember.randn(17, device=device),
                    ember.randint(0, 9, (6,), device=device), ember.randperm(8, device=device),
                    ember.empty(5, device=device).bernoulli_(0.5),
                    ember.multinomial(ember.ones(6, device=device), 3)])
    for a, b in zip(*out):
        np.testing.assert_array_equal(_np(a), _np(b))
    r, n, i, p, bern, m = out[0]
    assert tuple(r.shape) == (4, 3) and r.dtype is ember.float32
    assert tuple(n.shape) == (17,) and i.dtype is ember.int64
    assert sorted(_np(p).tolist()) == list(range(8))
    assert set(_np(bern).tolist()) <= {0.0, 1.0}
    assert len(set(_np(m).tolist())) == 3
    g = ember.Generator(device).manual_seed(2)
    a = ember.rand(3, device=device, generator=g)
    g.manual_seed(2)
    np.testing.assert_array_equal(_np(ember.rand(3, device=device, generator=g)), _np(a))
    if _numpy_backend(device):
        assert tuple(ember.get_rng_state().shape) == (5056,)


def test_large_draws_stay_vectorised():
    """A million normals and a 200k-element bernoulli take well under a second (the
    numpy backend's kernels draw whole arrays; Python loops only per 16-block or fewer)."""
    import time
    if not _numpy_backend("cpu"):
        pytest.skip("times the numpy backend's kernels")
    ember.manual_seed(0)
    t = time.perf_counter()
    ember.randn(1_000_000)
    ember.empty(200_000).bernoulli_(0.5)
    ember.rand(1_000_000, dtype=ember.float64)
    assert time.perf_counter() - t < 5.0
