"""Grad mode, inference mode and the default device are per thread, as in PyTorch; the
default dtype is process-wide, as in PyTorch. Each test uses real threads and barriers that
force the interleaving which broke a process-wide flag."""
from __future__ import annotations

import threading

import pytest

import ember


def _run(*targets):
    """Start one thread per target, join them all, re-raise the first failure."""
    errors = []

    def wrap(fn):
        def run():
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
        return run

    threads = [threading.Thread(target=wrap(f)) for f in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]


def test_inference_under_no_grad_in_one_thread_keeps_training_gradients_in_another(device):
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.ReLU(), ember.nn.Linear(8, 2))
    model.to(device)
    x = ember.randn(5, 4, device=device)
    inside, done = threading.Barrier(2), threading.Event()

    def infer():
        with ember.no_grad():
            inside.wait(10)       # the training thread runs while we are under no_grad
            assert model(x).grad_fn is None
            assert done.wait(10)
        assert ember.is_grad_enabled()

    def train():
        inside.wait(10)
        try:
            assert ember.is_grad_enabled()
            model.zero_grad()
            model(x).square().mean().backward()
            missing = [n for n, p in model.named_parameters() if p.grad is None]
            assert missing == []
        finally:
            done.set()

    _run(infer, train)


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode", "set_grad_enabled"])
def test_overlapping_blocks_in_two_threads_leave_grad_mode_on(mode):
    ctx = {"no_grad": ember.no_grad, "inference_mode": ember.inference_mode,
           "set_grad_enabled": lambda: ember.set_grad_enabled(False)}[mode]
    a_in, b_in, a_out = threading.Barrier(2), threading.Barrier(2), threading.Event()
    seen = {}

    def first():          # enters first, leaves first
        with ctx():
            a_in.wait(10)
            b_in.wait(10)
        a_out.set()
        seen["a"] = ember.is_grad_enabled(), ember.is_inference_mode_enabled()

    def second():         # enters while `first` is inside, leaves after it left
        a_in.wait(10)
        with ctx():
            b_in.wait(10)
            assert a_out.wait(10)
            seen["b_inside"] = ember.is_grad_enabled()
        seen["b"] = ember.is_grad_enabled(), ember.is_inference_mode_enabled()

    _run(first, second)
    assert seen == {"a": (True, False), "b_inside": False, "b": (True, False)}
    assert ember.is_grad_enabled() and not ember.is_inference_mode_enabled()
    x = ember.ones(2, requires_grad=True)
    assert (x * 2).requires_grad


def _probe(lib) -> dict:
    """What a new thread sees of each setting while its parent has changed them all."""
    got = {}

    def look(tag):
        got[tag] = (lib.is_grad_enabled(), lib.is_inference_mode_enabled(),
                    str(lib.get_default_dtype()).split(".")[-1],
                    str(lib.get_default_device()))

    def in_thread(tag):
        t = threading.Thread(target=look, args=(tag,))
        t.start()
        t.join(10)

    with lib.no_grad():
        in_thread("under no_grad")
    with lib.inference_mode():
        in_thread("under inference_mode")
    lib.set_grad_enabled(False)
    try:
        in_thread("after set_grad_enabled(False)")
    finally:
        lib.set_grad_enabled(True)
    lib.set_default_dtype(lib.float64)
    try:
        in_thread("after set_default_dtype(float64)")
    finally:
        lib.set_default_dtype(lib.float32)
    lib.set_default_device("meta" if lib.__name__ == "torch" else "cpu")
    try:
        in_thread("after set_default_device")
    finally:
        lib.set_default_device(None)
    with lib.device("meta" if lib.__name__ == "torch" else "cpu"):
        in_thread("inside with device(...)")

    def setter():  # a thread's own changes: which of them reach the main thread?
        lib.set_grad_enabled(False)
        lib.set_default_device("meta" if lib.__name__ == "torch" else "cpu")
        lib.set_default_dtype(lib.float64)
    t = threading.Thread(target=setter)
    t.start()
    t.join(10)
    try:
        look("main, after a thread set grad off, a device and float64")
    finally:
        lib.set_default_dtype(lib.float32)
    return got


def test_new_threads_inherit_settings_as_in_pytorch(torch):
    ours, theirs = _probe(ember), _probe(torch)
    assert ours == theirs


def test_default_device_is_per_thread():
    seen = []
    ember.set_default_device("cpu")
    try:
        t = threading.Thread(target=lambda: seen.append(ember._creation._THREAD.device))
        t.start()
        t.join(10)
        assert seen == [None]
        assert str(ember.get_default_device()) == "cpu"
    finally:
        ember.set_default_device(None)


def test_backward_in_a_thread_while_main_is_under_no_grad():
    w = ember.ones(3, requires_grad=True)
    with ember.no_grad():
        _run(lambda: (w * w).sum().backward())
    assert w.grad.tolist() == [2.0, 2.0, 2.0]
