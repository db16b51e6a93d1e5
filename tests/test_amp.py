"""ember.amp: autocast's per-op dtypes against torch.autocast on cpu (bfloat16), nesting,
the deprecated per-device aliases, and GradScaler's scale trajectory against PyTorch's on a
model that overflows in float16."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import ember
import ember.nn.functional as F
from capabilities import need_dtype
from ember.ops import _intercept

RNG = np.random.default_rng(0)
A = RNG.standard_normal((4, 4)).astype(np.float32)
B = RNG.standard_normal((4, 4)).astype(np.float32)
X3 = RNG.standard_normal((2, 3, 8)).astype(np.float32)
W3 = RNG.standard_normal((4, 3, 3)).astype(np.float32)
X4 = RNG.standard_normal((1, 2, 5, 5)).astype(np.float32)
W4 = RNG.standard_normal((2, 2, 3, 3)).astype(np.float32)
BA = RNG.standard_normal((2, 3, 4)).astype(np.float32)
BB = RNG.standard_normal((2, 4, 5)).astype(np.float32)
TGT = np.array([0, 1, 2, 3])
P = np.abs(RNG.standard_normal((4, 4))).astype(np.float32)

# (id, f(lib, F, t)) where t(name) is an input tensor; bf(x) a bfloat16 copy
CASES = [
    ("matmul", lambda L, F, t: t("a") @ t("b")),
    ("mm", lambda L, F, t: L.mm(t("a"), t("b"))),
    ("bmm", lambda L, F, t: L.bmm(t("ba"), t("bb"))),
    ("addmm", lambda L, F, t: L.addmm(t("a"), t("a"), t("b"))),
    ("baddbmm", lambda L, F, t: L.baddbmm(t("ba") @ t("bb"), t("ba"), t("bb"))),
    ("linear", lambda L, F, t: F.linear(t("a"), t("b"), t("a")[0])),
    ("conv1d", lambda L, F, t: F.conv1d(t("x3"), t("w3"))),
    ("conv2d", lambda L, F, t: F.conv2d(t("x4"), t("w4"), padding=1)),
    ("conv_transpose2d", lambda L, F, t: F.conv_transpose2d(t("x4"), t("w4"))),
    ("prelu", lambda L, F, t: F.prelu(t("a"), t("a")[0, :1])),
    ("softmax_fp32", lambda L, F, t: F.softmax(t("a"), -1)),
    ("log_softmax_low", lambda L, F, t: F.log_softmax(t("a") @ t("b"), -1)),
    ("cross_entropy", lambda L, F, t: F.cross_entropy(t("a") @ t("b"), t("tgt"))),
    ("nll_loss", lambda L, F, t: F.nll_loss(t("a") @ t("b"), t("tgt"))),
    ("mse_loss_mixed", lambda L, F, t: F.mse_loss(t("a") @ t("b"), t("b"))),
    ("l1_loss", lambda L, F, t: F.l1_loss(t("a") @ t("b"), t("a") @ t("b"))),
    ("smooth_l1_loss", lambda L, F, t: F.smooth_l1_loss(t("a") @ t("b"), t("a"))),
    ("bce_with_logits", lambda L, F, t: F.binary_cross_entropy_with_logits(t("a") @ t("b"),
                                                                           t("p").clamp(0, 1))),
    ("kl_div", lambda L, F, t: F.kl_div(t("a") @ t("b"), t("p"), reduction="batchmean")),
    ("prod", lambda L, F, t: (t("a") @ t("b")).prod()),
    ("cdist", lambda L, F, t: L.cdist(t("a") @ t("b"), t("a"))),
    ("layer_norm", lambda L, F, t: F.layer_norm(t("a") @ t("b"), (4,))),
    ("sum_low", lambda L, F, t: (t("a") @ t("b")).sum()),
    ("relu_low", lambda L, F, t: F.relu(t("a") @ t("b"))),
    ("exp_fp32", lambda L, F, t: t("a").exp()),
    ("cat_promote", lambda L, F, t: L.cat([t("a"), t("a") @ t("b")])),
    ("stack_promote", lambda L, F, t: L.stack([t("a") @ t("b"), t("a")])),
    ("add_mixed", lambda L, F, t: t("a") + t("a") @ t("b")),
    ("matmul_float64", lambda L, F, t: t("a").double() @ t("b").double()),
    ("matmul_int", lambda L, F, t: t("tgt") @ t("tgt")),
]


def _inputs(lib, device):
    arrays = {"a": A, "b": B, "x3": X3, "w3": W3, "x4": X4, "w4": W4, "ba": BA, "bb": BB,
              "tgt": TGT, "p": P}
    return lambda name: lib.tensor(arrays[name], device=device)


@pytest.mark.oracle
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_autocast_dtype_per_op_matches_torch(torch, device, case):
    if ember.device(device).type != "cpu":
        pytest.skip("the oracle's cpu autocast lists apply to cpu tensors")
    need_dtype(device, ember.bfloat16)
    _, fn = case
    with torch.autocast("cpu"):
        want = fn(torch, torch.nn.functional, _inputs(torch, "cpu")).dtype
    with ember.autocast("cpu"):
        got = fn(ember, F, _inputs(ember, device)).dtype
    assert str(got) == str(want)


def test_autocast_nesting_dtype_and_disable(device):
    need_dtype(device, ember.bfloat16, ember.float16)
    dev = ember.device(device).type
    a, b = ember.tensor(A, device=device), ember.tensor(B, device=device)
    with ember.autocast(dev, dtype=ember.bfloat16):
        assert (a @ b).dtype is ember.bfloat16
        with ember.autocast(dev, enabled=False):
            assert (a @ b).dtype is ember.float32
            assert not ember.amp.is_autocast_enabled(dev)
        with ember.autocast(dev, dtype=ember.float16):
            assert (a @ b).dtype is ember.float16
        assert (a @ b).dtype is ember.bfloat16
        assert ember.amp.get_autocast_dtype(dev) is ember.bfloat16
    assert (a @ b).dtype is ember.float32


def test_autocast_as_decorator_and_default_dtypes():
    need_dtype("cpu", ember.bfloat16)
    @ember.autocast("cpu")
    def f(x):
        return x @ x

    assert f(ember.tensor(A)).dtype is ember.bfloat16
    assert ember.amp.autocast("cpu").fast_dtype is ember.bfloat16
    assert ember.amp.autocast("cuda", enabled=False).fast_dtype is ember.float16
    assert ember.autocast is ember.amp.autocast


def test_autocast_leaves_ops_exactly_as_they_were():
    need_dtype("cpu", ember.bfloat16)
    before = {k: v for k, v in vars(ember.Tensor).items() if callable(v)}
    linear, matmul = F.linear, ember.matmul
    with ember.autocast("cpu"):
        assert F.linear is not linear  # wrapped while active
        ember.tensor(A) @ ember.tensor(B)
    assert F.linear is linear and ember.matmul is matmul
    after = {k: v for k, v in vars(ember.Tensor).items() if callable(v)}
    assert all(after[k] is v for k, v in before.items())
    assert not _intercept._makers


def test_autocast_unsupported_cpu_dtype_warns_and_disables(torch):
    with pytest.warns(UserWarning) as ours:
        ctx = ember.autocast("cpu", dtype=ember.float64)
    with pytest.warns(UserWarning) as theirs:
        torch.autocast("cpu", dtype=torch.float64)
    assert str(ours[0].message) == str(theirs[0].message)
    with ctx:
        assert (ember.tensor(A) @ ember.tensor(B)).dtype is ember.float32


def test_autocast_gradients_reach_float32_leaves(device):
    need_dtype(device, ember.bfloat16)
    dev = ember.device(device).type
    w = ember.tensor(A, device=device, requires_grad=True)
    x = ember.tensor(B, device=device)
    with ember.autocast(dev, dtype=ember.bfloat16):
        y = F.linear(x, w)
        loss = F.mse_loss(y, ember.zeros(4, 4, device=device))
    assert y.dtype is ember.bfloat16 and loss.dtype is ember.float32
    loss.backward()
    assert w.grad.dtype is ember.float32
    w2 = ember.tensor(A, device=device, requires_grad=True)
    F.mse_loss(F.linear(x, w2), ember.zeros(4, 4, device=device)).backward()
    np.testing.assert_allclose(w.grad.cpu().numpy(), w2.grad.cpu().numpy(), rtol=0.05,
                               atol=0.05)


@pytest.mark.parametrize("dev", ["cpu", "cuda"])
def test_deprecated_device_aliases_warn_as_torch(torch, dev):
    mod = getattr(ember, dev).amp
    with pytest.warns(FutureWarning) as ours:
        mod.autocast(enabled=False)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        getattr(torch, dev).amp.autocast(enabled=False)
    assert str(ours[0].message) == str([w for w in theirs
                                        if w.category is FutureWarning][0].message)
    with pytest.warns(FutureWarning, match=rf"`torch.{dev}.amp.GradScaler\(args...\)` is "
                                           "deprecated"):
        mod.GradScaler(enabled=False)
    import importlib
    assert importlib.import_module(f"ember.{dev}.amp") is mod


# --- GradScaler -------------------------------------------------------------------------

def _scaler_run(lib, steps=10):
    """A model whose float16 activations overflow under a large loss scale: the scale backs
    off until the gradients are finite, then grows every 2 clean steps."""
    rng = np.random.default_rng(1)
    w0 = (rng.standard_normal((8, 8)) * 4).astype(np.float32)
    x = lib.tensor((rng.standard_normal((16, 8)) * 8).astype(np.float32))
    y = lib.tensor(rng.standard_normal((16, 8)).astype(np.float32))
    lin = lib.nn.Linear(8, 8, bias=False)
    with lib.no_grad():
        lin.weight.copy_(lib.tensor(w0))
    opt = lib.optim.SGD(lin.parameters(), lr=1e-4)
    scaler = lib.amp.GradScaler("cpu", init_scale=2.0 ** 13, growth_interval=2)
    scales, skipped = [], []
    for _ in range(steps):
        opt.zero_grad()
        with lib.autocast("cpu", dtype=lib.float16):
            loss = ((lin(x) - y) ** 2).mean()
        before = lin.weight.detach().clone()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
        skipped.append(bool((lin.weight.detach() == before).all()))
    return scales, skipped, scaler.state_dict()


@pytest.mark.oracle
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy notes the float16 overflow
def test_grad_scaler_trajectory_matches_torch(torch):
    need_dtype("cpu", ember.float16)
    ours = _scaler_run(ember)
    theirs = _scaler_run(torch)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1]
    assert any(ours[1]) and not all(ours[1])  # some steps were skipped, some were not
    assert ours[2] == theirs[2]


def test_grad_scaler_state_dict_round_trip_and_errors():
    s = ember.amp.GradScaler("cpu", init_scale=8.0, growth_factor=4.0, growth_interval=3)
    assert s.state_dict() == {"scale": 8.0, "growth_factor": 4.0, "backoff_factor": 0.5,
                              "growth_interval": 3, "_growth_tracker": 0}
    t = ember.amp.GradScaler("cpu")
    t.load_state_dict(s.state_dict())
    assert t.get_scale() == 8.0 and t.get_growth_interval() == 3
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        t.load_state_dict({})
    w = ember.nn.Parameter(ember.ones(2))
    opt = ember.optim.SGD([w], lr=0.1)
    (t.scale(w.sum())).backward()
    np.testing.assert_allclose(w.grad.numpy(), [8.0, 8.0])
    t.unscale_(opt)
    np.testing.assert_allclose(w.grad.numpy(), [1.0, 1.0])
    with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
        t.unscale_(opt)
    t.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        t.step(opt)
    t.update()
    np.testing.assert_allclose(w.detach().numpy(), [0.9, 0.9], rtol=1e-6)
    off = ember.amp.GradScaler("cpu", enabled=False)
    x = ember.ones(1)
    assert off.scale(x) is x and off.state_dict() == {} and off.get_scale() == 1.0
    with pytest.raises(AssertionError, match="growth factor must be > 1.0"):
        ember.amp.GradScaler("cpu", growth_factor=1.0)


@pytest.mark.parametrize("cache", [True, False])
def test_autocast_caches_weight_casts_within_a_region(cache):
    need_dtype("cpu", ember.bfloat16)
    from ember.profiler import profile
    w = ember.nn.Parameter(ember.tensor(A))
    x = ember.tensor(B)
    with profile() as prof, ember.autocast("cpu", cache_enabled=cache):
        F.linear(x, w)
        F.linear(x, w)
    casts = sum(e.count for e in prof.key_averages() if e.key == "aten::to")
    # x is cast for each call; the float32 leaf weight once per region when caching
    assert casts == (3 if cache else 4)


def test_autocast_state_functions_at_top_level(torch):
    assert not ember.is_autocast_enabled("cpu")
    with ember.autocast("cpu", dtype=ember.float16):
        assert ember.is_autocast_enabled("cpu") and not ember.is_autocast_enabled()
        assert ember.get_autocast_dtype("cpu") is ember.float16
    assert ember.get_autocast_dtype("cpu") is ember.bfloat16
    assert str(ember.get_autocast_dtype("cuda")) == str(torch.get_autocast_dtype("cuda"))
    if not ember.cuda.is_available() and not torch.cuda.is_available():
        with pytest.warns(UserWarning) as ours:
            ember.autocast("cuda")
        with pytest.warns(UserWarning) as theirs:
            torch.autocast("cuda")
        assert str(ours[0].message) == str(theirs[0].message)
