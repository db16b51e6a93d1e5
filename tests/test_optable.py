"""The op table's drivers: forward and gradients vs PyTorch, gradcheck vs finite
differences, on every device under test. The table itself is ``tests/optable/``."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

import ember
from optable import all_ops

OPS = all_ops()


def _cases(kind):
    out = []
    for op in OPS:
        rng = np.random.default_rng(zlib.crc32(op.name.encode()))
        for i, s in enumerate(op.samples(rng)):
            for dt in op.dtypes:
                if kind == "grad" and (not op.grad or dt not in ("float32", "float64")):
                    continue
                if kind == "gradcheck" and (not op.grad or not op.gradcheck or dt != "float64"):
                    continue
                marks = [pytest.mark.torch_exact] if kind == "grad" and \
                    op.torch_exact_grad is not None and op.torch_exact_grad(s) else []
                out.append(pytest.param(op, s, dt, id=f"{op.name}-{i}-{s!r}-{dt}", marks=marks))
    return out


def _cast(arr, dt):
    a = np.asarray(arr)
    if dt == "bool":
        return a > 0
    if dt.startswith("int") or dt.startswith("uint"):
        return np.round(a * 3).astype(dt)
    return a.astype(dt)


def _inputs(lib, sample, dt, device=None, grad=False):
    ts = []
    for j, a in enumerate(sample.arrays):
        a = np.asarray(a) if j in sample.keep else _cast(a, dt)
        kw = {"dtype": getattr(lib, str(a.dtype))}
        if device is not None:
            kw["device"] = device
        t = lib.tensor(a, **kw)
        want = (sample.grad is None and j not in sample.keep) or (sample.grad and j in sample.grad)
        if grad and want and t.dtype.is_floating_point:
            t.requires_grad_(True)
        ts.append(t)
    return ts


def _flat(out):
    if isinstance(out, (tuple, list)):
        res = []
        for o in out:
            res.extend(_flat(o))
        return res
    return [out]


def _np(x):
    if hasattr(x, "detach"):
        x = x.detach()
        if hasattr(x, "cpu"):
            x = x.cpu()
        if str(x.dtype).endswith("bfloat16"):
            x = x.float()
        return np.asarray(x.numpy())
    return np.asarray(x)


def _close(a, b, op, dt):
    tol = {"float32": (1e-4, 1e-5), "float16": (1e-2, 1e-3), "bfloat16": (5e-2, 1e-2)}
    rtol, atol = tol.get(dt, (op.rtol, op.atol))
    rtol, atol = max(rtol, op.rtol), max(atol, op.atol)
    np.testing.assert_allclose(_np(a).astype(np.float64) if _np(a).dtype != np.complex128 else _np(a),
                               _np(b), rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("op,sample,dt", _cases("forward"))
def test_forward_matches_torch(op, sample, dt, device, torch):
    expected = op.fn(torch, *_inputs(torch, sample, dt), **sample.kwargs)
    got = op.fn(ember, *_inputs(ember, sample, dt, device), **sample.kwargs)
    exp_l, got_l = _flat(expected), _flat(got)
    assert len(exp_l) == len(got_l)
    for e, g in zip(exp_l, got_l):
        if hasattr(e, "shape"):
            assert tuple(g.shape) == tuple(e.shape)
            assert str(g.dtype) == str(e.dtype), f"dtype {g.dtype} != torch's {e.dtype}"
            _close(g, e, op, dt)
        else:
            assert g == pytest.approx(e) if isinstance(e, float) else g == e


@pytest.mark.parametrize("op,sample,dt", _cases("grad"))
def test_grad_matches_torch(op, sample, dt, device, torch):
    results = []
    for lib, dev in ((torch, None), (ember, device)):
        ins = _inputs(lib, sample, dt, dev, grad=True)
        outs = [o for o in _flat(op.fn(lib, *ins, **sample.kwargs))
                if hasattr(o, "requires_grad") and o.requires_grad]
        if not outs:
            pytest.skip("no differentiable output for this sample")
        loss = 0
        for k, o in enumerate(outs):
            w = np.cos(np.arange(o.numel()) + k).reshape(tuple(o.shape))
            loss = loss + (o * lib.tensor(w, dtype=o.dtype, **({} if dev is None else
                                                                   {"device": dev}))).sum()
        loss.backward()
        results.append([t.grad for t in ins if t.requires_grad])
    for e, g in zip(*results):
        if e is None:
            assert g is None or not np.any(_np(g))
            continue
        assert g is not None, "ember produced no gradient where torch did"
        assert tuple(g.shape) == tuple(e.shape)
        _close(g, e, op, dt)


@pytest.mark.parametrize("op,sample,dt", _cases("gradcheck"))
def test_gradcheck(op, sample, dt, device):
    ins = _inputs(ember, sample, dt, device, grad=True)
    if not any(t.requires_grad for t in ins) or all(t.numel() == 0 for t in ins):
        pytest.skip("nothing to differentiate")
    assert ember.autograd.gradcheck(lambda *ts: op.fn(ember, *ts, **sample.kwargs), ins,
                                    eps=1e-6, atol=1e-5, rtol=1e-3)
