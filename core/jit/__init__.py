"""``ember.jit``: the ``torch.jit`` entry points, over ``ember.compile``.

There is no TorchScript in ember: ``script`` and ``trace`` return a module (a
``ScriptModule`` sharing the original's parameters, buffers and submodules) or a function
(``ScriptFunction``) whose calls run through ``ember.compile``, giving the same results
as the original. ``ignore``/``unused``/``export`` mark functions as PyTorch's do and
change nothing in eager execution. TorchScript archives cannot be written or read:
``save``/``load`` and ``ScriptModule.save`` raise an error that points at ``ember.save``
(state dicts) and ``ember.onnx.export`` (a portable graph).
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

__all__ = ["script", "trace", "trace_module", "ignore", "unused", "export", "is_scripting",
           "is_tracing", "annotate", "ScriptModule", "ScriptFunction", "RecursiveScriptModule",
           "TracedModule", "save", "load", "freeze", "optimize_for_inference", "fork", "wait",
           "script_if_tracing", "Final", "Error", "Attribute", "interface"]

_SAVE_ERROR = ("ember.jit cannot write TorchScript archives: ember has no TorchScript. Save "
               "the weights with ember.save(model.state_dict(), f) (load them back with "
               "model.load_state_dict(ember.load(f))), or export a portable graph with "
               "ember.onnx.export(model, example_inputs, f).")
_LOAD_ERROR = ("ember.jit cannot read TorchScript archives: ember has no TorchScript. Load "
               "state dicts with ember.load(f) into a model built in Python, or run an "
               "ONNX export with onnxruntime.")

Error = RuntimeError


def _compile(fn: Callable) -> Callable:
    import ember
    c = ember.compile
    if not callable(c):  # a package named ember.compile holding the function
        c = c.compile
    return c(fn)


def _code(fn) -> str:
    try:
        return inspect.getsource(fn)
    except (OSError, TypeError):
        return ""


class ScriptFunction:
    """Mirrors ``torch.jit.ScriptFunction``: calls go through ``ember.compile``."""

    def __init__(self, fn: Callable) -> None:
        self._fn = fn
        self._compiled = _compile(fn)
        functools.update_wrapper(self, fn)

    def __call__(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    @property
    def code(self) -> str:
        return _code(self._fn)

    @property
    def graph(self):
        raise RuntimeError("ember.jit has no TorchScript graph; ember.onnx.export gives a "
                           "portable one")

    def save(self, f, **kwargs) -> None:
        raise RuntimeError(_SAVE_ERROR)


class ScriptModule:
    """Mirrors ``torch.jit.ScriptModule``: made by ``script``/``trace`` as a subclass of the
    module's own class sharing its parameters, buffers and submodules; ``forward`` runs
    through ``ember.compile``. ``save`` raises (see the module docstring)."""

    def _init_script(self, original) -> None:
        cls = type(original)
        object.__setattr__(self, "_script_original_forward",
                           _compile(functools.partial(cls.forward, self)))

    def forward(self, *args, **kwargs):
        return self._script_original_forward(*args, **kwargs)

    @property
    def code(self) -> str:
        orig = next(c for c in type(self).__mro__ if not issubclass(c, ScriptModule))
        return _code(orig.forward)

    @property
    def graph(self):
        raise RuntimeError("ember.jit has no TorchScript graph; ember.onnx.export gives a "
                           "portable one")

    def save(self, f, **kwargs) -> None:
        raise RuntimeError(_SAVE_ERROR)

    def _save_for_lite_interpreter(self, *args, **kwargs) -> None:
        raise RuntimeError(_SAVE_ERROR)


class RecursiveScriptModule(ScriptModule):
    """What ``script`` returns for a Module (PyTorch's class name)."""


class TracedModule(ScriptModule):
    """What ``trace`` returns for a Module (PyTorch's class name)."""


_CLASSES: dict = {}


def _wrap_module(mod, kind: type):
    cls = type(mod)
    if isinstance(mod, ScriptModule):
        return mod
    key = (kind, cls)
    new_cls = _CLASSES.get(key)
    if new_cls is None:
        new_cls = _CLASSES[key] = type(kind.__name__, (kind, cls), {
            "__module__": __name__, "__qualname__": kind.__name__})
    obj = object.__new__(new_cls)
    # share state: the same parameter/buffer/submodule dicts as the original
    obj.__dict__.update(mod.__dict__)
    obj._init_script(mod)
    return obj


def script(obj, optimize=None, _frames_up: int = 0, _rcb=None, example_inputs=None):
    """Mirrors ``torch.jit.script``: a ScriptModule for an ``nn.Module``, a ScriptFunction
    for a function (both run through ``ember.compile``)."""
    from ..nn.modules.module import Module
    if isinstance(obj, (ScriptModule, ScriptFunction)):
        return obj
    if isinstance(obj, Module):
        return _wrap_module(obj, RecursiveScriptModule)
    if isinstance(obj, type):
        return obj  # a class: scripting classes has no eager meaning beyond itself
    if callable(obj):
        return ScriptFunction(obj)
    raise RuntimeError(f"Type '{type(obj)}' cannot be compiled since it inherits from "
                       "nn.Module, pass an instance instead")


def trace(func, example_inputs=None, optimize=None, check_trace: bool = True,
          check_inputs=None, check_tolerance: float = 1e-5, strict: bool = True,
          _force_outplace: bool = False, _module_class=None, _compilation_unit=None,
          example_kwarg_inputs: dict | None = None, _store_inputs: bool = True):
    """Mirrors ``torch.jit.trace``: runs ``func`` once on ``example_inputs`` (as PyTorch's
    tracer does, so errors surface here) and returns a TracedModule / ScriptFunction."""
    from ..nn.modules.module import Module
    from .._tensor import Tensor
    if example_inputs is None and example_kwarg_inputs is None:
        raise RuntimeError("example_kwarg_inputs or example_inputs must be provided")
    args = (example_inputs,) if isinstance(example_inputs, Tensor) else \
        tuple(example_inputs or ())
    wrapped = _wrap_module(func, TracedModule) if isinstance(func, Module) else \
        ScriptFunction(func)
    from ..autograd.grad_mode import no_grad
    with no_grad():
        wrapped(*args, **(example_kwarg_inputs or {}))
    return wrapped


def trace_module(mod, inputs: dict, **kwargs):
    """Mirrors ``torch.jit.trace_module``: ``inputs`` maps method names to example args."""
    out = _wrap_module(mod, TracedModule)
    for name, args in inputs.items():
        from .._tensor import Tensor
        getattr(out, name)(*((args,) if isinstance(args, Tensor) else args))
    return out


def ignore(drop=False, **kwargs):
    """Mirrors ``torch.jit.ignore``: leave a function to Python (it always is, in ember)."""
    if callable(drop):
        drop._torchscript_modifier = "ignore"
        return drop

    def deco(fn):
        fn._torchscript_modifier = "unused" if drop else "ignore"
        return fn
    return deco


def unused(fn):
    """Mirrors ``torch.jit.unused``: the function stays callable in eager mode."""
    if isinstance(fn, property):
        return fn
    fn._torchscript_modifier = "unused"
    return fn


def export(fn):
    """Mirrors ``torch.jit.export``: mark a method as an entry point (a no-op in ember)."""
    fn._torchscript_modifier = "export"
    return fn


def interface(obj):
    return obj


def is_scripting() -> bool:
    """Mirrors ``torch.jit.is_scripting``: False (ember code always runs in Python)."""
    return False


def is_tracing() -> bool:
    return False


def annotate(the_type: Any, the_value: Any) -> Any:
    return the_value


def script_if_tracing(fn: Callable) -> Callable:
    return fn


def freeze(mod, preserved_attrs=None, optimize_numerics: bool = True):
    """Mirrors ``torch.jit.freeze``: the module in eval mode (nothing to fold in ember)."""
    return mod.eval()


def optimize_for_inference(mod, other_methods=None):
    return mod.eval()


class _Future:
    def __init__(self, value):
        self._value = value

    def wait(self):
        return self._value

    def value(self):
        return self._value

    def done(self) -> bool:
        return True


def fork(func, *args, **kwargs) -> _Future:
    """Mirrors ``torch.jit.fork``: runs ``func`` now (ember has no TorchScript threads)."""
    return _Future(func(*args, **kwargs))


def wait(future: _Future):
    return future.wait()


def save(m, f, _extra_files=None) -> None:
    raise RuntimeError(_SAVE_ERROR)


def load(f, map_location=None, _extra_files=None, _restore_shapes=False):
    raise RuntimeError(_LOAD_ERROR)


class _FinalMeta(type):
    def __getitem__(cls, item):
        return item


class Final(metaclass=_FinalMeta):
    """``torch.jit.Final[int]``: the annotated type itself."""


def Attribute(value, type=None):  # noqa: A002 - PyTorch's parameter name
    """Mirrors ``torch.jit.Attribute``: in eager mode, just the value."""
    return value
