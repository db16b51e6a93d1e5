"""The global random state (get/set_rng_state, ember.random.fork_rng) and the global
switches PyTorch scripts set (determinism, threads, matmul precision, compile) vs PyTorch."""
from __future__ import annotations

import ember
import pytest


def test_rng_state_round_trip():
    state = ember.get_rng_state()
    assert state.dtype is ember.uint8 and state.ndim == 1
    a = ember.rand(5)
    ember.set_rng_state(state)
    assert ember.rand(5).tolist() == a.tolist()
    assert ember.random.get_rng_state is ember.get_rng_state


def test_set_rng_state_errors_match_torch(torch):
    for bad in (lambda L: L.ones(3), lambda L: [1, 2]):
        with pytest.raises(TypeError) as want:
            torch.set_rng_state(bad(torch))
        with pytest.raises(TypeError) as got:
            ember.set_rng_state(bad(ember))
        assert str(got.value) == str(want.value)


def test_fork_rng_restores_the_state():
    ember.manual_seed(3)
    expected = ember.rand(4).tolist()
    ember.manual_seed(3)
    with ember.random.fork_rng():
        ember.manual_seed(123)
        ember.randn(10)
    assert ember.rand(4).tolist() == expected
    with ember.random.fork_rng(enabled=False):
        ember.rand(1)
    assert ember.rand(4).tolist() != expected


def test_random_namespace():
    assert ember.random.manual_seed is ember.manual_seed
    assert ember.random.initial_seed() == ember.initial_seed()
    assert ember.random.default_generator is ember.default_generator


def test_deterministic_switches_match_torch(torch):
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        for args, kw in (((True,), {}), ((True,), {"warn_only": True}), ((False,), {}),
                         ((False,), {"warn_only": True})):
            torch.use_deterministic_algorithms(*args, **kw)
            ember.use_deterministic_algorithms(*args, **kw)
            assert ember.are_deterministic_algorithms_enabled() == \
                torch.are_deterministic_algorithms_enabled()
            assert ember.is_deterministic_algorithms_warn_only_enabled() == \
                torch.is_deterministic_algorithms_warn_only_enabled()
            assert ember.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
        for mode in ("default", "warn", "error", 0, 1, 2):
            torch.set_deterministic_debug_mode(mode)
            ember.set_deterministic_debug_mode(mode)
            assert ember.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
            assert ember.are_deterministic_algorithms_enabled() == \
                torch.are_deterministic_algorithms_enabled()
        for bad, exc in (("bad", RuntimeError), (5, RuntimeError)):
            with pytest.raises(exc) as want:
                torch.set_deterministic_debug_mode(bad)
            with pytest.raises(exc) as got:
                ember.set_deterministic_debug_mode(bad)
            assert str(got.value) == str(want.value)
        with pytest.raises(TypeError) as want:
            torch.use_deterministic_algorithms(1)
        with pytest.raises(TypeError) as got:
            ember.use_deterministic_algorithms(1)
        assert str(got.value) == str(want.value)
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        ember.use_deterministic_algorithms(False)


def test_thread_counts(torch):
    assert ember.get_num_threads() >= 1 and ember.get_num_interop_threads() >= 1
    before = ember.get_num_threads()
    try:
        ember.set_num_threads(3)
        assert ember.get_num_threads() == 3
    finally:
        ember.set_num_threads(before)
    for bad in (0, 2.5):
        with pytest.raises(RuntimeError) as want:
            torch.set_num_threads(bad)
        with pytest.raises(RuntimeError) as got:
            ember.set_num_threads(bad)
        assert str(got.value) == str(want.value)


def test_matmul_precision_and_misc_switches(torch):
    assert ember.get_float32_matmul_precision() == "highest"
    try:
        ember.set_float32_matmul_precision("high")
        assert ember.get_float32_matmul_precision() == "high"
        with pytest.warns(UserWarning, match="is not one of 'highest', 'high', or 'medium'"):
            ember.set_float32_matmul_precision("bad")
        assert ember.get_float32_matmul_precision() == "high"
    finally:
        ember.set_float32_matmul_precision("highest")
    assert ember.set_flush_denormal(True) is False
    assert ember.is_warn_always_enabled() is False


def test_compile_returns_the_model_unchanged():
    net = ember.nn.Linear(2, 2)
    if net.weight._device._be.name not in ("jax", "cupy"):  # no compiler there (test_compile)
        assert ember.compile(net) is net
    else:
        assert ember.compile(net)._orig_mod is net

    @ember.compile
    def f(x):
        return x * 2

    @ember.compile(mode="reduce-overhead", fullgraph=True)
    def g(x):
        return x + 1

    assert f(ember.ones(1)).item() == 2.0 and g(ember.ones(1)).item() == 2.0
    with pytest.raises(AssertionError, match="A callable function is expected"):
        ember.compile(3)
