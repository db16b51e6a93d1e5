"""``ember.optim.swa_utils``: mirrors ``torch.optim.swa_utils`` — ``AveragedModel`` (stochastic
weight averaging by default, EMA through ``get_ema_avg_fn`` / ``get_ema_multi_avg_fn``, or any
``avg_fn`` / ``multi_avg_fn``), ``SWALR`` and ``update_bn``. The averaging functions follow
torch's per-device choice: on the CPU the single-tensor formula
``avg + (cur - avg) / (n + 1)``, elsewhere the lerp that torch's foreach kernels use."""
from __future__ import annotations

import itertools
import math
import warnings
from copy import deepcopy
from typing import Any, Callable, Iterable

from .. import _dtype
from .._creation import tensor
from .._tensor import Tensor
from ..autograd.grad_mode import no_grad
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from .lr_scheduler import LRScheduler, _format_param
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn",
           "get_swa_multi_avg_fn", "get_ema_avg_fn", "get_swa_avg_fn"]

# torch.utils._foreach_utils._get_foreach_kernels_supported_devices()
_FOREACH_DEVICES = ("cuda", "xpu")


def _is_float_or_complex(t: Tensor) -> bool:
    return t.dtype.is_floating_point or t.dtype.is_complex


def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in "
                         "[0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable:
    """In-place EMA over lists of parameters: ``ema.lerp_(current, 1 - decay)``."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param_list, current_param_list, _) -> None:
        if _is_float_or_complex(ema_param_list[0]):
            for p_ema, p_model in zip(ema_param_list, current_param_list):
                p_ema.lerp_(p_model, 1 - decay)
        else:
            for p_ema, p_model in zip(ema_param_list, current_param_list):
                p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn() -> Callable:
    """In-place equal-weight average over lists of parameters."""

    @no_grad()
    def swa_update(averaged_param_list, current_param_list, num_averaged) -> None:
        if _is_float_or_complex(averaged_param_list[0]):
            w = 1 / (num_averaged + 1)
            w = float(w) if isinstance(w, Tensor) else w
            for p_avg, p_model in zip(averaged_param_list, current_param_list):
                p_avg.lerp_(p_model, w)
        else:
            for p_avg, p_model in zip(averaged_param_list, current_param_list):
                diff = p_model - p_avg
                if isinstance(num_averaged, Tensor):
                    p_avg.copy_(p_avg + diff / (num_averaged + 1))
                else:
                    p_avg.copy_(p_avg + diff * (1.0 / (num_averaged + 1)))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable:
    """EMA of one parameter: returns ``decay * ema + (1 - decay) * current``."""
    _check_decay(decay)

    @no_grad()
    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged):
        return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn() -> Callable:
    """Equal-weight average of one parameter: ``avg + (cur - avg) / (n + 1)``."""

    @no_grad()
    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged):
        return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    """Mirrors ``torch.optim.swa_utils.AveragedModel``: a deep copy of ``model`` (on
    ``device`` if given) whose parameters (and buffers, with ``use_buffers``) hold a running
    average updated by ``update_parameters``; ``n_averaged`` is an int64 buffer."""

    def __init__(self, model: Module, device=None, avg_fn: Callable | None = None,
                 multi_avg_fn: Callable | None = None, use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", tensor(0, dtype=_dtype.int64, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters into the average (a copy the first time)."""
        if self.use_buffers:
            self_params = itertools.chain(self.module.parameters(), self.module.buffers())
            model_params = itertools.chain(model.parameters(), model.buffers())
        else:
            self_params, model_params = self.parameters(), model.parameters()
        averaged, current = [], []
        copy_param = bool(self.n_averaged == 0)
        with no_grad():
            for p_avg, p_model in zip(self_params, model_params):
                # in place on the tensors themselves (no_grad), not on .detach() aliases: on
                # immutable backends (JAX) writing through an alias leaves the original alone
                p_model_ = p_model.detach().to(p_avg.device)
                averaged.append(p_avg)
                current.append(p_model_)
                if copy_param:
                    p_avg.copy_(p_model_)
            if self.n_averaged > 0:
                if self.multi_avg_fn is not None or self.avg_fn is None:
                    for device, avgs, curs in _by_device_and_dtype(averaged, current):
                        n = self.n_averaged.to(device)
                        if self.multi_avg_fn:
                            self.multi_avg_fn(avgs, curs, n)
                        elif device.type in _FOREACH_DEVICES:
                            get_swa_multi_avg_fn()(avgs, curs, n)
                        else:
                            fn = get_swa_avg_fn()
                            for p_avg, p_model in zip(avgs, curs):
                                p_avg.copy_(fn(p_avg, p_model, n))
                else:
                    for p_avg, p_model in zip(averaged, current):
                        n = self.n_averaged.to(p_avg.device)
                        p_avg.copy_(self.avg_fn(p_avg.detach(), p_model, n))
            if not self.use_buffers:
                # keep buffers (e.g. BatchNorm statistics) in sync with the model's
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa.copy_(b_model.detach().to(b_swa.device))
            self.n_averaged.add_(1)


def _by_device_and_dtype(averaged: list, current: list):
    """(device, averaged list, current list) per (device, dtype) group, in first-seen order
    (torch's ``_group_tensors_by_device_and_dtype``)."""
    groups: dict = {}
    for a, c in zip(averaged, current):
        key = (str(a.device), a.dtype)
        if key not in groups:
            groups[key] = (a.device, [], [])
        groups[key][1].append(a)
        groups[key][2].append(c)
    return list(groups.values())


def update_bn(loader: Iterable[Any], model: Module, device=None) -> None:
    """Mirrors ``torch.optim.swa_utils.update_bn``: reset every BatchNorm's running statistics
    and recompute them as a cumulative average over one pass of ``loader`` (each batch a
    tensor, or a list/tuple whose first item is the input)."""
    with no_grad():
        momenta = {}
        for module in model.modules():
            if isinstance(module, _BatchNorm):
                module.reset_running_stats()
                momenta[module] = module.momentum
        if not momenta:
            return
        was_training = model.training
        model.train()
        for module in momenta:
            module.momentum = None
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
        for module in momenta:
            module.momentum = momenta[module]
        model.train(was_training)


class SWALR(LRScheduler):
    """Mirrors ``torch.optim.swa_utils.SWALR``: anneals each group's learning rate to
    ``swa_lr`` over ``anneal_epochs`` epochs ("cos" or "linear"), then holds it."""

    def __init__(self, optimizer: Optimizer, swa_lr, anneal_epochs: int = 10,
                 anneal_strategy: str = "cos", last_epoch: int = -1) -> None:
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got "
                             f"{anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t):
        return t

    @staticmethod
    def _cosine_anneal(t):
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr, swa_lr, alpha):
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        if not self._get_lr_called_within_step:
            warnings.warn("To get the last learning rate computed by the scheduler, please use "
                          "`get_last_lr()`.", UserWarning, stacklevel=2)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(g["lr"], g["swa_lr"], prev_alpha)
                    for g in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [g["swa_lr"] * alpha + lr * (1 - alpha)
                for g, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" \
            else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
