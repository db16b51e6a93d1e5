"""Grad mode: ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``.

Mirrors the torch context managers/decorators of the same names. As in PyTorch, the
state is per thread: a thread running inference under ``no_grad`` leaves another thread's
training step recording its graph, and every new thread starts with grad mode on and
inference mode off whatever the thread that started it was doing (PyTorch's rule for
Python threads). Ops read ``STATE.enabled``: one attribute of a ``threading.local``, about
20 ns more than a class attribute (benchmarks/op_overhead.py shows it within noise).
"""
from __future__ import annotations

import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _State(threading.local):
    """This thread's grad mode. ``__init__`` runs once in each thread that reads it, so the
    attributes live in the thread's own dict (a little faster to read than a fallback to
    class attributes)."""

    def __init__(self) -> None:
        self.enabled = True
        self.inference = False


STATE = _State()


def is_grad_enabled() -> bool:
    """Mirrors ``torch.is_grad_enabled``."""
    return STATE.enabled


def is_inference_mode_enabled() -> bool:
    return STATE.inference


class _Mode:
    """Base of the grad-mode context managers; also usable as decorators."""

    _target = True

    def __enter__(self):
        self._prev = STATE.enabled
        STATE.enabled = self._target
        return None

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        import inspect  # here, not at import: it is slow to import
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def gen_wrapper(*args, **kwargs):
                # the mode holds while the generator body runs, not while the caller does
                gen = fn(*args, **kwargs)
                try:
                    with self.clone():
                        value = gen.send(None)
                    while True:
                        try:
                            sent = yield value
                        except GeneratorExit:
                            with self.clone():
                                gen.close()
                            raise
                        except BaseException as exc:  # noqa: BLE001 - forwarded
                            with self.clone():
                                value = gen.throw(exc)
                        else:
                            with self.clone():
                                value = gen.send(sent)
                except StopIteration as e:
                    return e.value
            return gen_wrapper

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.clone():
                return fn(*args, **kwargs)
        return wrapper

    def clone(self):
        return type(self)()


class no_grad(_Mode):
    """Mirrors ``torch.no_grad``: ops inside record no graph."""

    _target = False

    def __init__(self, orig_func=None):
        # allow bare use as a decorator: @no_grad (PyTorch accepts @no_grad() only, but
        # the bare form is a common slip that would otherwise silently do nothing)
        self._orig = orig_func

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if orig_func is not None and callable(orig_func):
            self.__init__()
            return self(orig_func)
        return self


class enable_grad(_Mode):
    """Mirrors ``torch.enable_grad``."""

    _target = True


class set_grad_enabled(_Mode):
    """Mirrors ``torch.set_grad_enabled``: takes effect at once, and restores on ``with`` exit."""

    def __init__(self, mode: bool):
        self._prev = STATE.enabled
        self._target = bool(mode)
        STATE.enabled = self._target

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        return False

    def __call__(self, fn):
        # used as a decorator, it must not leave the mode switched for the caller
        STATE.enabled = self._prev
        return super().__call__(fn)

    def clone(self):
        return set_grad_enabled(self._target)


class inference_mode(_Mode):
    """Mirrors ``torch.inference_mode``: like no_grad (ember keeps no extra view/version
    bookkeeping to skip, so the two cost the same here)."""

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)
        self._target = not self._mode

    def __enter__(self):
        self._prev = STATE.enabled
        self._prev_inf = STATE.inference
        STATE.enabled = self._target
        STATE.inference = self._mode
        return None

    def __exit__(self, *exc):
        STATE.enabled = self._prev
        STATE.inference = self._prev_inf
        return False

    def clone(self):
        return inference_mode(self._mode)
