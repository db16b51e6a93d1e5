"""The op table on complex128: every op of ``tests/optable/`` that PyTorch differentiates for
complex inputs gets its gradients compared with PyTorch's and a gradcheck (finite
differences over real and imaginary parts), on every device under test. New rows of the
table are covered as they are added: whether an op takes complex inputs is PyTorch's call
(a row PyTorch refuses for complex is skipped, naming its error).

Each op runs on one sample: the smallest non-empty one of its row (the real-dtype drivers
in ``test_optable.py`` cover the shapes). The inputs that would get a gradient become
complex, with imaginary parts kept away from zero so that no finite difference straddles
a branch cut (sqrt, log, asin ... all cut along the real axis)."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import ember
from optable import all_ops

# rows that probe real numbers' edges (±0, ±inf): made complex, they test C's complex
# infinities, where XLA's arithmetic and PyTorch's differ in ways no program relies on
REAL_EDGES = {"pow_edges_tensor", "pow_edges_scalar", "rpow_zero_base"}
OPS = [op for op in all_ops() if op.grad and op.name not in REAL_EDGES]
# rows that make their input symmetric with .mT, which is not Hermitian for complex input:
# eigh's gradient holds for Hermitian inputs only (PyTorch's own gradcheck wraps the input
# as (A + A^H) / 2); test_complex_autograd.py checks these ops that way
# rows ember runs on complex values but PyTorch refuses (what the oracle decides when present):
# zeta and repeat_interleave take no complex input, and svd's complex gradient is refused
# where the loss depends on the singular vectors' phase (the legacy row's does)
NO_COMPLEX_IN_TORCH = {"special.zeta_q", "repeat_interleave_counts", "svd_legacy"}
NOT_HERMITIAN = {"linalg.eigh", "linalg.eigh_upper", "linalg.eigvalsh", "linalg.pinv_hermitian"}


def _sample(op):
    rng = np.random.default_rng(zlib.crc32(op.name.encode()))
    samples = [s for s in op.samples(rng)
               if all(np.size(a) for a in s.arrays) and s.arrays]
    return min(samples, key=lambda s: sum(np.size(a) for a in s.arrays)) if samples else None


CASES = [pytest.param(op, s, id=op.name) for op in OPS if (s := _sample(op)) is not None]


def _wants_grad(sample, j):
    return (sample.grad is None and j not in sample.keep) or bool(sample.grad and j in sample.grad)


def _inputs(lib, op, sample, device=None):
    """The sample's arrays as tensors: those that get a gradient complex128, the rest as
    the real table gives them (conditions, indices)."""
    rng = np.random.default_rng(zlib.crc32(op.name.encode()) + 1)
    ts = []
    for j, a in enumerate(sample.arrays):
        a = np.asarray(a)
        kw = {} if device is None else {"device": device}
        if j not in sample.keep and a.dtype.kind == "f" and _wants_grad(sample, j):
            im = rng.uniform(0.3, 1.0, a.shape) * rng.choice([-1.0, 1.0], a.shape)
            t = lib.tensor(a + 1j * im, dtype=lib.complex128, **kw).requires_grad_(True)
        else:
            t = lib.tensor(a, **kw)
        ts.append(t)
    return ts


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    return [out]


def _np(x):
    x = x.detach()
    if hasattr(x, "resolve_conj"):
        x = x.resolve_conj()
    return np.asarray(x.cpu().numpy() if hasattr(x, "cpu") else x.numpy())


def _loss(lib, outs, dev):
    """A real loss that weighs every output element (its real and imaginary parts apart)."""
    loss = 0
    for k, o in enumerate(outs):
        n = np.arange(o.numel()).reshape(tuple(o.shape)) + k
        kw = {} if dev is None else {"device": dev}
        if o.is_complex():
            w = lib.tensor(np.cos(n) + 1j * np.sin(2 * n + 1), dtype=o.dtype, **kw)
            loss = loss + (o * w).sum().real
        else:
            loss = loss + (o * lib.tensor(np.cos(n), dtype=o.dtype, **kw)).sum()
    return loss


def _torch_grads(torch, op, sample):
    """PyTorch's gradients of the complex inputs, or skip where PyTorch refuses."""
    ins = _inputs(torch, op, sample)
    if not any(t.is_complex() for t in ins):
        pytest.skip("no input of this sample is differentiable")
    try:
        outs = [o for o in _flat(op.fn(torch, *ins, **sample.kwargs))
                if hasattr(o, "requires_grad") and o.requires_grad]
        if not outs:
            return [None for t in ins if t.is_complex()]
        grads = torch.autograd.grad(_loss(torch, outs, None), [t for t in ins if t.is_complex()],
                                    allow_unused=True)
    except (RuntimeError, TypeError, NotImplementedError, ValueError) as e:
        pytest.skip(f"PyTorch takes no complex input here: {str(e).splitlines()[0][:120]}")
    return grads


@pytest.mark.parametrize("op,sample", CASES)
def test_complex_grad_matches_torch(op, sample, device, torch):
    expected = _torch_grads(torch, op, sample)
    ins = _inputs(ember, op, sample, device)
    outs = [o for o in _flat(op.fn(ember, *ins, **sample.kwargs))
            if isinstance(o, ember.Tensor) and o.requires_grad]
    if not outs:
        assert all(e is None or not np.any(_np(e)) for e in expected)
        return
    got = ember.autograd.grad(_loss(ember, outs, device), [t for t in ins if t.is_complex()],
                              allow_unused=True)
    for e, g in zip(expected, got):
        if e is None:
            assert g is None or not np.any(_np(g))
            continue
        assert g is not None, "ember produced no gradient where torch did"
        assert g.dtype == ember.complex128
        e, g = _np(e), _np(g)
        # where PyTorch's complex kernel overflows to NaN (sigmoid at |Re z| ~ 800: it is
        # 1/(1 + exp(-z))), ember's stays finite: compared where PyTorch's is a number
        finite = np.isfinite(e)
        np.testing.assert_allclose(g[finite], e[finite], rtol=max(op.rtol, 1e-6),
                                   atol=max(op.atol, 1e-6))


@pytest.mark.parametrize("op,sample", CASES)
def test_complex_gradcheck(op, sample, device):
    if not op.gradcheck:
        pytest.skip("the row opts out of gradcheck (a kink or a tie at its samples)")
    if op.name in NOT_HERMITIAN:
        pytest.skip("the row's input is not Hermitian for complex values (see NOT_HERMITIAN)")
    ins = _inputs(ember, op, sample, device)
    try:
        import torch
    except ImportError:  # without the oracle: every op ember takes complex inputs for
        if op.name in NO_COMPLEX_IN_TORCH or not any(t.requires_grad for t in ins):
            pytest.skip("PyTorch takes no complex input here (its oracle decides otherwise)")
        try:
            op.fn(ember, *ins, **sample.kwargs)
        except (RuntimeError, TypeError, NotImplementedError, ValueError) as e:
            pytest.skip(f"no complex input here: {e}")
    else:
        _torch_grads(torch, op, sample)  # PyTorch decides whether the op takes complex inputs
    assert ember.autograd.gradcheck(lambda *ts: op.fn(ember, *ts, **sample.kwargs), ins,
                                    eps=1e-6, atol=1e-5, rtol=1e-3)
