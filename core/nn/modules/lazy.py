"""Lazy modules: layers whose input size is read from the first batch. Mirrors
``torch.nn.modules.lazy.LazyModuleMixin`` and the ``Lazy*`` layers.

A lazy layer is built as its base with zero input features and ``UninitializedParameter``
placeholders; a forward pre-hook reads the input's size on the first call, materializes
the placeholders in place (the same objects, so an optimizer built before keeps working),
runs the base's ``reset_parameters`` and turns the module into the base class
(``cls_to_become``). Loading a state dict into a lazy module materializes it too.

The lazy convolutions are made for every ``Conv{1,2,3}d``/``ConvTranspose{1,2,3}d`` base
that ``nn.modules.conv`` defines, picked by name.
"""
from __future__ import annotations

import itertools
from typing import Any

from ... import _dtype
from ..._creation import tensor
from ...autograd.grad_mode import no_grad
from ..parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from . import batchnorm, conv, instancenorm
from .linear import Linear

# the Lazy{Conv,ConvTranspose,BatchNorm,InstanceNorm}{1,2,3}d made below add themselves
__all__ = ["LazyModuleMixin", "LazyLinear"]


class LazyModuleMixin:
    """Mirrors ``torch.nn.modules.lazy.LazyModuleMixin``: subclasses implement
    ``initialize_parameters(*args)``; ``has_uninitialized_params()`` says whether it has
    run."""

    cls_to_become: type | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._load_hook = self._register_load_state_dict_pre_hook(self._lazy_load_hook)
        self._initialize_hook = self.register_forward_pre_hook(self._infer_parameters,
                                                               with_kwargs=True)

    def _save_to_state_dict(self, destination, prefix: str, keep_vars: bool) -> None:
        # placeholders are saved as they are (PyTorch's lazy state dicts hold them)
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars or is_lazy(param) else \
                    param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars or is_lazy(buf) else \
                    buf.detach()

    def _lazy_load_hook(self, state_dict, prefix, local_metadata, strict, missing_keys,
                        unexpected_keys, error_msgs) -> None:
        """Materialize each placeholder the state dict has an initialized value for."""
        for name, param in itertools.chain(self._parameters.items(), self._buffers.items()):
            key = prefix + name
            if key in state_dict and param is not None:
                value = state_dict[key]
                if is_lazy(param) and not is_lazy(value):
                    with no_grad():
                        param.materialize(value.shape)

    def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"initialize_parameters is not implemented for "
                                  f"{self.__class__.__name__}")

    def has_uninitialized_params(self) -> bool:
        """Whether a parameter or buffer is still a placeholder."""
        for param in itertools.chain(self._parameters.values(), self._buffers.values()):
            if is_lazy(param):
                return True
        return False

    def _infer_parameters(self, module, args, kwargs=None) -> None:
        module.initialize_parameters(*args, **(kwargs or {}))
        if module.has_uninitialized_params():
            raise RuntimeError(f"module {self._get_name()} has not been fully initialized")
        module._initialize_hook.remove()
        module._load_hook.remove()
        delattr(module, "_initialize_hook")
        delattr(module, "_load_hook")
        if module.cls_to_become is not None:
            module.__class__ = module.cls_to_become

    def _replicate_for_data_parallel(self):
        raise RuntimeError("Modules with uninitialized parameters can't be used with "
                           "`DataParallel`. Run a dummy forward pass to correctly initialize "
                           "the modules")


def _factory(device, dtype) -> dict:
    return {"device": device, "dtype": dtype}


class LazyLinear(LazyModuleMixin, Linear):
    """Mirrors ``torch.nn.LazyLinear(out_features, bias=True)``: ``in_features`` from the
    first input's last dimension."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device=None, dtype=None) -> None:
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(**_factory(device, dtype))
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(**_factory(device, dtype))

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        if self.has_uninitialized_params():
            with no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()


# --- convolutions -----------------------------------------------------------------------

class _LazyConvXdMixin(LazyModuleMixin):
    """What the lazy convolutions share: ``in_channels`` from the first input."""

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def _get_in_channels(self, input) -> int:
        n = self._nd + 1
        if input.dim() not in (n, n + 1):
            raise RuntimeError(f"Expected {n}D (unbatched) or {n + 1}D (batched) input to "
                               f"{self.__class__.__name__}, but got input of size: "
                               f"{input.shape}")
        return input.shape[1] if input.dim() == n + 1 else input.shape[0]

    def initialize_parameters(self, input, *args, **kwargs) -> None:
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            if self.transposed:
                shape = (self.in_channels, self.out_channels // self.groups)
            else:
                shape = (self.out_channels, self.in_channels // self.groups)
            with no_grad():
                self.weight.materialize(shape + tuple(self.kernel_size))
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()


def _lazy_conv_init(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                    groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                    device=None, dtype=None) -> None:
    _LazyConvXdMixin.__init__(self, 0, 0, kernel_size, stride, padding, dilation, groups,
                              False, padding_mode, **_factory(device, dtype))
    self.weight = UninitializedParameter(**_factory(device, dtype))
    self.out_channels = out_channels
    if bias:
        self.bias = UninitializedParameter(**_factory(device, dtype))


def _lazy_conv_transpose_init(self, out_channels: int, kernel_size, stride=1, padding=0,
                              output_padding=0, groups: int = 1, bias: bool = True,
                              dilation=1, padding_mode: str = "zeros", device=None,
                              dtype=None) -> None:
    _LazyConvXdMixin.__init__(self, 0, 0, kernel_size, stride, padding, output_padding,
                              groups, False, dilation, padding_mode, **_factory(device, dtype))
    self.weight = UninitializedParameter(**_factory(device, dtype))
    self.out_channels = out_channels
    if bias:
        self.bias = UninitializedParameter(**_factory(device, dtype))


def _make_lazy(name: str, mixin: type, base: type, init, doc: str) -> type:
    cls = type(name, (mixin, base), {"cls_to_become": base, "__init__": init, "__doc__": doc,
                                     "__module__": __name__, "__qualname__": name})
    globals()[name] = cls
    __all__.append(name)
    return cls


for _nd in (1, 2, 3):
    _base = getattr(conv, f"Conv{_nd}d", None)
    if _base is not None:
        _make_lazy(f"LazyConv{_nd}d", _LazyConvXdMixin, _base, _lazy_conv_init,
                   f"Mirrors ``torch.nn.LazyConv{_nd}d(out_channels, kernel_size, stride=1, "
                   "padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros')``: "
                   "``in_channels`` from the first input.")
    _base = getattr(conv, f"ConvTranspose{_nd}d", None)
    if _base is not None:
        _make_lazy(f"LazyConvTranspose{_nd}d", _LazyConvXdMixin, _base,
                   _lazy_conv_transpose_init,
                   f"Mirrors ``torch.nn.LazyConvTranspose{_nd}d(out_channels, kernel_size, "
                   "stride=1, padding=0, output_padding=0, groups=1, bias=True, dilation=1, "
                   "padding_mode='zeros')``: ``in_channels`` from the first input.")


# --- normalisation ----------------------------------------------------------------------

class _LazyNormBase(LazyModuleMixin):
    """What the lazy batch and instance norms share: ``num_features`` from the first
    input's dimension 1."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None) -> None:
        fk = _factory(device, dtype)
        super().__init__(0, eps, momentum, False, False, **fk)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if self.affine:
            self.weight = UninitializedParameter(**fk)
            self.bias = UninitializedParameter(**fk)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(**fk)
            self.running_var = UninitializedBuffer(**fk)
            self.num_batches_tracked = tensor(0, dtype=_dtype.int64, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input) -> None:
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            with no_grad():
                if self.affine:
                    self.weight.materialize((self.num_features,))
                    self.bias.materialize((self.num_features,))
                if self.track_running_stats:
                    self.running_mean.materialize((self.num_features,))
                    self.running_var.materialize((self.num_features,))
                self.reset_parameters()


for _nd in (1, 2, 3):
    for _kind, _mod in (("BatchNorm", batchnorm), ("InstanceNorm", instancenorm)):
        _base = getattr(_mod, f"{_kind}{_nd}d", None)
        if _base is not None:
            _make_lazy(f"Lazy{_kind}{_nd}d", _LazyNormBase, _base, _LazyNormBase.__init__,
                       f"Mirrors ``torch.nn.Lazy{_kind}{_nd}d(eps=1e-05, momentum=0.1, "
                       "affine=True, track_running_stats=True)``: ``num_features`` from the "
                       "first input's dimension 1.")
del _nd, _base, _kind, _mod
