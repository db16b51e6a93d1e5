"""``ember.fft`` vs ``torch.fft``: values and dtypes of every transform over several
n/s, dim and norm; gradients (real signals through rfft/irfft, fft/hfft, the 2-d and n-d
forms; complex leaves); second derivatives; errors; the backend kernel's host fallback."""
from __future__ import annotations

import types
import warnings

import ember
import numpy as np
import pytest

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 6, 5))
C = X + 1j * RNG.standard_normal((3, 6, 5))
NORMS = (None, "ortho", "forward", "backward")


def _np(t):
    t = t.detach().cpu()
    if hasattr(t, "resolve_conj"):  # torch's lazy conjugates
        t = t.resolve_conj()
    return t.numpy()


def _same(a, b, tol=1e-5):
    a, b = _np(a), _np(b)
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


ONE_D = {"fft": (X, C), "ifft": (X, C), "rfft": (X,), "irfft": (X, C), "hfft": (X, C),
         "ihfft": (X,)}


@pytest.mark.parametrize("name", sorted(ONE_D))
def test_one_dim_values(name, device, torch):
    for src in ONE_D[name]:
        for dt in (np.float32, np.float64) if src is X else (np.complex64,):
            a = src.astype(dt)
            for n, dim, norm in [(None, -1, None), (4, 1, "ortho"), (7, 0, "forward"),
                                 (None, 1, "backward"), (1 if name != "irfft" else 2, -1,
                                                         None)]:
                got = getattr(ember.fft, name)(ember.tensor(a, device=device), n, dim, norm)
                want = getattr(torch.fft, name)(torch.tensor(a), n, dim, norm)
                _same(got, want, 1e-4 if dt != np.float64 else 1e-9)


N_D = ["fft2", "ifft2", "rfft2", "irfft2", "hfft2", "ihfft2", "fftn", "ifftn", "rfftn",
       "irfftn", "hfftn", "ihfftn"]


@pytest.mark.parametrize("name", N_D)
def test_n_dim_values(name, device, torch):
    real_only = name.startswith(("rfft", "ihfft"))
    for src in (X,) if real_only else (X, C):
        for s, dim, norm in [(None, None, None), ((4, 7), None, "ortho"),
                             ((3, -1), (0, 2), "forward"), (None, (2, 0), "backward")]:
            kw = {} if dim is None else {"dim": dim}
            if name.endswith("2") and dim is not None:
                kw = {"dim": dim}
            got = getattr(ember.fft, name)(ember.tensor(src, device=device), s, norm=norm, **kw)
            want = getattr(torch.fft, name)(torch.tensor(src), s, norm=norm, **kw)
            _same(got, want, 1e-9)


def test_int_input_promotes(device, torch):
    _same(ember.fft.fft(ember.arange(6, device=device)), torch.fft.fft(torch.arange(6)))
    _same(ember.fft.rfft(ember.tensor([1, 0, 1], device=device)),
          torch.fft.rfft(torch.tensor([1, 0, 1])))


@pytest.mark.parametrize("n", [1, 4, 7])
def test_freqs_and_shifts(n, device, torch):
    for name in ("fftfreq", "rfftfreq"):
        _same(getattr(ember.fft, name)(n, device=device), getattr(torch.fft, name)(n))
        _same(getattr(ember.fft, name)(n, 0.25, dtype=ember.float64, device=device),
              getattr(torch.fft, name)(n, 0.25, dtype=torch.float64))
    for name in ("fftshift", "ifftshift"):
        for dim in (None, 1, (0, 2), -1):
            _same(getattr(ember.fft, name)(ember.tensor(X[:, :n], device=device), dim),
                  getattr(torch.fft, name)(torch.tensor(X[:, :n]), dim))


# --- gradients: a real loss (weighted sum) of a real or complex leaf -----------------------
def _grad(lib, f, src, device=None):
    kw = {"device": device} if device else {}
    t = lib.tensor(src, requires_grad=True, **kw)
    y = f(lib, t)
    w = np.random.default_rng(1).standard_normal(tuple(y.shape))
    (y * lib.tensor(w, **kw)).sum().backward()
    return t.grad


REAL_PATHS = {
    "rfft-irfft": lambda L, t: L.fft.irfft(L.fft.rfft(t, norm="ortho"), n=6),
    "rfft-irfft-n": lambda L, t: L.fft.irfft(L.fft.rfft(t, n=5, dim=0), n=7, dim=0),
    "fft-hfft": lambda L, t: L.fft.hfft(L.fft.fft(t)[:, :4], n=6),
    "ifft-irfft": lambda L, t: L.fft.irfft(L.fft.ifft(t, norm="forward"), n=5),
    "fftn-irfftn": lambda L, t: L.fft.irfftn(L.fft.fftn(t, s=(3, 5)), s=(4, 5)),
    "rfft2-irfft2": lambda L, t: L.fft.irfft2(L.fft.rfft2(t, norm="ortho"), s=(4, 6)),
    "ihfft-hfft": lambda L, t: L.fft.hfft(L.fft.ihfft(t, norm="ortho"), n=6),
    "ihfft2-hfft2": lambda L, t: L.fft.hfft2(L.fft.ihfft2(t), s=(4, 3)),
    "fftshift": lambda L, t: L.fft.ifftshift(L.fft.fftshift(t, dim=1) * 3, dim=(0, 1)),
}


@pytest.mark.parametrize("path", sorted(REAL_PATHS))
def test_gradients_of_real_signals(path, device, torch):
    src = RNG.standard_normal((4, 6))
    _same(_grad(ember, REAL_PATHS[path], src, device), _grad(torch, REAL_PATHS[path], src), 1e-9)


def test_gradients_of_complex_leaves(device, torch):
    src = C[0, :3]

    def f(L, t):
        return L.fft.hfft(L.fft.ifft(L.fft.fft(t, n=6), norm="ortho") * 2, n=7, dim=0)
    _same(_grad(ember, f, src, device), _grad(torch, f, src), 1e-9)

    def g(L, t):
        return L.fft.irfftn(L.fft.ifft2(t, s=(4, 4)), s=(2, 5))
    _same(_grad(ember, g, src, device), _grad(torch, g, src), 1e-9)


def test_second_derivatives(device):
    def fn(t):
        y = ember.fft.irfft(ember.fft.rfft(t * t, norm="ortho") * 3, n=6)
        return (y * y).sum()
    t = ember.tensor(RNG.standard_normal(6), requires_grad=True, device=device)
    assert ember.autograd.gradcheck(fn, (t,), eps=1e-6, atol=1e-5, rtol=1e-3)
    assert ember.autograd.gradgradcheck(fn, (t,), eps=1e-6, atol=1e-5, rtol=1e-3)


# --- errors ---------------------------------------------------------------------------------
ERRORS = [
    lambda L, d: L.fft.fft(L.ones(4, device=d), norm="bad"),
    lambda L, d: L.fft.fft(L.ones(4, device=d), n=0),
    lambda L, d: L.fft.fftn(L.ones(2, 2, device=d), dim=(0, 0)),
    lambda L, d: L.fft.fftn(L.ones(2, 2, device=d), s=(2,), dim=(0, 1)),
    lambda L, d: L.fft.irfft(L.ones(1, device=d)),
    lambda L, d: L.fft.fft(L.ones(4, device=d), dim=3),
    lambda L, d: L.fft.fft(L.tensor(1.0, device=d)),
    lambda L, d: L.fft.rfft(L.ones(4, dtype=L.complex64, device=d)),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_like_torch(i, device, oracle_error):
    want = oracle_error(ERRORS[i])
    with pytest.raises(type(want)) as got:
        ERRORS[i](ember, device)
    assert str(got.value) == str(want)


def test_backend_host_fallback():
    """A namespace without the fft extension goes through numpy.fft on the host."""
    from ember.backends.base import Backend

    class Bare(Backend):
        xp = types.SimpleNamespace()

        def to_numpy(self, x):
            return np.asarray(x)

        def from_numpy(self, arr, index):
            return arr

    be = Bare()
    a = RNG.standard_normal((4, 6))
    np.testing.assert_allclose(be.fft(a, "rfft", (1,), "ortho"), np.fft.rfft(a, norm="ortho"))
    h = np.fft.rfftn(a)
    np.testing.assert_allclose(be.fft(h, "irfft", (0, 1), "backward", 6), a, atol=1e-12)
    np.testing.assert_allclose(be.fft(a + 0j, "ifft", (0,), "forward"),
                               np.fft.ifft(a, axis=0, norm="forward"))


# --- stft / istft ---------------------------------------------------------------------------
SIG = RNG.standard_normal((2, 40))
HANN = np.hanning(14)[1:-1]  # no zeros at the ends: the envelope stays positive
STFT_CASES = [
    {"n_fft": 16, "window": "w12"},
    {"n_fft": 16, "hop_length": 5, "window": "w12", "win_length": 12, "center": False},
    {"n_fft": 16, "normalized": True, "onesided": False, "pad_mode": "constant",
     "window": "ones"},
    {"n_fft": 15, "hop_length": 3, "window": "w12", "win_length": 12},
]


def _kw(L, case, device=None):
    k = dict(case)
    dev = {"device": device} if device else {}
    if k.get("window") == "w12":
        k["window"], k["win_length"] = L.tensor(HANN, **dev), 12
    elif k.get("window") == "ones":
        k["window"] = L.ones(16, dtype=L.float64, **dev)
    return k


@pytest.mark.parametrize("i", range(len(STFT_CASES)))
def test_stft_istft_like_torch(i, device, torch):
    case = STFT_CASES[i]
    for sig in (SIG, SIG[0]):
        got = ember.stft(ember.tensor(sig, device=device), return_complex=True,
                         **_kw(ember, case, device))
        want = torch.stft(torch.tensor(sig), return_complex=True, **_kw(torch, case))
        _same(got, want, 1e-9)
        ik = {k: v for k, v in _kw(ember, case, device).items() if k != "pad_mode"}
        tk = {k: v for k, v in _kw(torch, case).items() if k != "pad_mode"}
        if case.get("center", True):
            _same(ember.istft(got, length=sig.shape[-1], **ik),
                  torch.istft(want, length=sig.shape[-1], **tk), 1e-9)
        else:  # the padded window's zero ends leave the first samples uncovered: both refuse
            with pytest.raises(RuntimeError, match="window overlap add min"):
                torch.istft(want, **tk)
            with pytest.raises(RuntimeError, match="window overlap add min"):
                ember.istft(got, **ik)
    # the Tensor method and the deprecated real layout
    t = ember.tensor(SIG[0], device=device)
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        old = t.stft(return_complex=False, **_kw(ember, case, device))
    with warnings.catch_warnings():  # torch warns once per process
        warnings.simplefilter("ignore")
        want_old = torch.tensor(SIG[0]).stft(return_complex=False, **_kw(torch, case))
    _same(old, want_old, 1e-9)


def test_stft_istft_gradients(device, torch):
    def run(L, d=None):
        dev = {"device": d} if d else {}
        t = L.tensor(SIG, requires_grad=True, **dev)
        w = L.tensor(HANN, **dev)
        s = L.stft(t, 16, hop_length=4, window=w, win_length=12, return_complex=True)
        y = L.istft(s * 2, 16, hop_length=4, window=w, win_length=12, length=37)
        wt = np.random.default_rng(5).standard_normal(tuple(y.shape))
        (y * L.tensor(wt, **dev)).sum().backward()
        return t.grad
    _same(run(ember, device), run(torch), 1e-9)


def test_stft_errors_and_warning_like_torch(device, torch, oracle_error):
    runs = [lambda L, d: L.stft(L.ones(20, device=d), 8),
            lambda L, d: L.stft(L.ones(20, device=d), 8, return_complex=True, center=True,
                                align_to_window=True),
            lambda L, d: L.istft(L.ones(5, 3, device=d), 8)]
    for run in runs:
        want = oracle_error(run)
        with pytest.raises(type(want)) as got:
            run(ember, device)
        assert str(got.value) == str(want)
    with pytest.warns(UserWarning) as got:
        ember.stft(ember.ones(20, device=device), 8, return_complex=True)
    with warnings.catch_warnings(record=True) as want:  # torch warns once per process
        warnings.simplefilter("always")
        torch.stft(torch.ones(20), 8, return_complex=True)
    if want:
        assert str(got[0].message) == str(want[0].message).split(" (Triggered")[0]
    assert str(got[0].message).startswith("A window was not provided.")
