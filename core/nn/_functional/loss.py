"""Loss functions. Mirror ``torch.nn.functional`` of the same names, with PyTorch's
argument checks, warnings and error wording.

``nll_loss`` (behind ``cross_entropy``), ``mse_loss`` and the other difference losses, and
``binary_cross_entropy`` are fused ops: forward on backend arrays, one graph node with a
backward written in Tensor ops. The rest are compositions of Tensor ops.
"""
from __future__ import annotations

import warnings

from ... import _dtype
from ..._tensor import Tensor, wrap
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as GRAD
from ...compiler._state import is_compiling
from ...ops._util import prep2
from ...ops.selection import where
from ._util import BOOL, check_reduction, dtype_name, legacy_reduction, reduce_loss
from .activation import log_softmax, logsigmoid

__all__ = ["nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss",
           "huber_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "kl_div", "cosine_embedding_loss", "margin_ranking_loss", "soft_margin_loss",
           "hinge_embedding_loss", "poisson_nll_loss", "gaussian_nll_loss",
           "triplet_margin_loss", "multilabel_soft_margin_loss"]


def _reduction(size_average, reduce, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        return legacy_reduction(size_average, reduce)
    return reduction


def _mask(like: Tensor, arr) -> Tensor:
    return wrap(arr, BOOL, like._device)


# --- negative log likelihood / cross entropy -----------------------------------------------

def _check_nll(input: Tensor, target: Tensor, weight: Tensor | None) -> int:
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if input.dim() != 1 and target.dim() >= 1 and input.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                         f"batch_size ({target.shape[0]}).")
    if target.dtype not in (_dtype.int64, _dtype.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got "
                           f"{dtype_name(target.dtype)}")
    if input.dim() <= 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    else:
        want = (input.shape[0],) + tuple(input.shape[2:])
        if tuple(target.shape) != want:
            raise RuntimeError(f"Expected target size {list(want)}, got {list(target.shape)}")
    c = input.shape[1] if input.dim() >= 2 else input.shape[0]
    if weight is not None:
        if weight.numel() != c:
            raise RuntimeError(f"weight tensor should be defined either for all {c} classes or "
                               f"no classes but got weight tensor of shape: "
                               f"{list(weight.shape)}")
        if weight.dtype is not input.dtype:
            raise RuntimeError(f"expected scalar type {dtype_name(input.dtype)} but found "
                               f"{dtype_name(weight.dtype)}")
    return c


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average=None, ignore_index: int = -100, reduce=None,
             reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.nll_loss``: ``-input[n, target[n], ...] * w``;
    inputs (C), (N, C) or (N, C, d1, ...); 'mean' divides by the summed weights of the
    targets that are not ``ignore_index``."""
    reduction = _reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    c = _check_nll(input, target, weight)
    unbatched = input.dim() == 1
    if unbatched:
        if target.dim() == 1 and target.shape[0] != 1:
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)}, target: "
                               f"{list(target.shape)})")
        squeeze_out = target.dim() == 0
        input = input.reshape(1, c)
        target = target.reshape(1)
    else:
        squeeze_out = False
    be = input._device._be
    xp = be.xp
    x = input._data
    t = target._data
    if target.dtype is not _dtype.int64:
        t = be.astype(t, _dtype.int64)
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= c))
    if is_compiling():  # no host read inside a compiled program: a bad target's loss is NaN
        poison = bad
    else:
        poison = None
        if bool(xp.any(bad)):
            raise IndexError(f"Target {int(xp.reshape(t[bad], (-1,))[0])} is out of bounds.")
    tsafe = xp.where(valid, t, 0)
    picked = xp.squeeze(xp.take_along_axis(x, xp.expand_dims(tsafe, 1), axis=1), axis=1)
    if weight is not None:
        w = xp.where(valid, weight._data[tsafe], 0)
    else:
        w = be.astype(valid, input.dtype)
    per = -picked * w
    if poison is not None:
        per = xp.where(poison, float("nan"), per)  # (a Python scalar: no host copy)
    if reduction == "none":
        data = per
    elif reduction == "sum":
        data = xp.sum(per)
    else:
        denom = xp.sum(w)
        data = xp.sum(per) / denom
    if squeeze_out and reduction == "none":
        data = xp.reshape(data, ())
    res = wrap(be.astype(data, input.dtype), input.dtype, input._device)
    if GRAD.enabled and input._requires_grad:
        shape_c = (1, c) + (1,) * (input.ndim - 2)

        def backward(g):
            if not GRAD.enabled and input.ndim == 2:
                # (N, C) without create_graph: the gradient is zeros but for each kept
                # target's entry, written directly (no dense one-hot and masks: for the
                # 700 x 10k logits of a word-level LM that was 8 passes, ~50 ms a step)
                scale = -w
                if reduction == "mean":
                    scale = scale / xp.where(denom == 0, xp.ones_like(denom), denom)
                vals = xp.where(valid, g._data * scale, xp.zeros_like(scale))
                n = x.shape[0]
                rows = xp.arange(n, dtype=xp.int64)
                out = be.setitem(xp.zeros(x.shape, dtype=x.dtype), (rows, tsafe),
                                 be.astype(vals, input.dtype))
                return (wrap(out, input.dtype, input._device),)
            onehot = xp.expand_dims(tsafe, 1) == xp.reshape(xp.arange(c), shape_c)
            coef = xp.where(onehot, -xp.expand_dims(w, 1), 0)
            if reduction == "mean":  # every target ignored: a 0 gradient, as in PyTorch
                coef = coef / xp.where(denom == 0, xp.ones_like(denom), denom)
            coef_t = wrap(be.astype(coef, input.dtype), input.dtype, input._device)
            if reduction == "none":
                g = g.reshape(target.shape).unsqueeze(1)
            # PyTorch writes only each kept target's entry: every other one is 0 even where
            # the incoming gradient is NaN (a loss whose targets are all ignored is NaN)
            hit = _mask(input, onehot & xp.expand_dims(valid, 1))
            return (where(hit, g * coef_t, 0.0),)
        record(res, "NllLossBackward0", (input,), backward)
    return res


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Mirrors ``torch.nn.functional.cross_entropy``: class indices (with
    ``ignore_index``, ``weight``, K-dimensional inputs) or class probabilities (a
    floating target shaped like the input), optionally with ``label_smoothing``."""
    reduction = _reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    class_dim = 0 if input.dim() == 1 else 1
    if input.shape == target.shape:
        if not target.dtype.is_floating_point:
            raise RuntimeError(f"Expected floating point type for target with class "
                               f"probabilities, got {dtype_name(target.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_probs(input, target, weight, reduction, label_smoothing,
                                    class_dim)
    logp = log_softmax(input, class_dim)
    nll = nll_loss(logp, target, weight, None, ignore_index, None, reduction)
    if label_smoothing == 0.0:
        return nll
    c = input.shape[class_dim]
    be = input._device._be
    xp = be.xp
    t = target._data
    keep = t != ignore_index
    bshape = [1] * input.dim()
    bshape[class_dim] = c
    smooth = -(logp * weight.reshape(bshape)).sum(class_dim) if weight is not None \
        else -logp.sum(class_dim)
    smooth = where(_mask(input, keep), smooth, 0)
    if reduction == "mean":
        if weight is not None:
            denom = xp.sum(xp.where(keep, weight._data[xp.where(keep, t, 0)], 0))
        else:
            denom = xp.count_nonzero(keep)
        ret = smooth.sum() / float(denom)
    elif reduction == "sum":
        ret = smooth.sum()
    else:
        ret = smooth
    return (1 - label_smoothing) * nll + ret * (label_smoothing / c)


def _cross_entropy_probs(input, target, weight, reduction, label_smoothing, class_dim):
    c = input.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / c
    logp = log_softmax(input, class_dim)
    prod = logp * target
    if weight is not None:
        bshape = [1] * input.dim()
        bshape[class_dim] = c
        prod = prod * weight.reshape(bshape)
    if reduction == "mean":
        return -prod.sum() / (input.numel() // c) if input.numel() else -prod.sum() / 0.0
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum(class_dim)


# --- elementwise difference losses ------------------------------------------------------------

def _warn_size(input: Tensor, target: Tensor) -> None:
    if target.size() != input.size():
        warnings.warn(f"Using a target size ({target.size()}) that is different to the input "
                      f"size ({input.size()}). This will likely lead to incorrect results due "
                      "to broadcasting. Please ensure they have the same size.", stacklevel=3)


def _diff_loss(input: Tensor, target: Tensor, reduction: str, name: str, per_element,
               derivative) -> Tensor:
    """A loss f(input - target), reduced. ``per_element(xp, d)`` is the forward on arrays;
    ``derivative(diff_tensor, d_array)`` is f' as a Tensor (Tensor ops of diff where
    f'' matters)."""
    check_reduction(reduction)
    if input.shape != target.shape:
        from ...ops.shape import broadcast_shapes
        broadcast_shapes(input.shape, target.shape)
    a, b, dt, dev = prep2(input, target)
    be = dev._be
    xp = be.xp
    d = a - b
    per = per_element(xp, d)
    n = per.size if hasattr(per, "size") else 1
    if reduction == "mean":
        data = xp.mean(per)
    elif reduction == "sum":
        data = xp.sum(per)
    else:
        data = per
    res = wrap(be.astype(data, dt), dt, dev)
    ri, rt = input._requires_grad, target._requires_grad
    if GRAD.enabled and (ri or rt):
        def backward(g):
            diff = input - target if GRAD.enabled else wrap(d, dt, dev)
            gd = derivative(diff, d)
            gd = gd * (g / n) if reduction == "mean" else gd * g
            return (gd if ri else None, -gd if rt else None)
        record(res, name, (input, target), backward, saved=(input, target))
    return res


def _weighted(input: Tensor, per: Tensor, weight: Tensor, reduction: str) -> Tensor:
    """PyTorch's weighted pointwise losses: 'mean' divides by the summed weights."""
    if weight.size() != input.size():
        raise ValueError("Weights and input must have the same size.")
    per = per * weight
    return per.sum() / weight.sum() if reduction == "mean" else reduce_loss(per, reduction)


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.mse_loss`` (warns when the shapes differ)."""
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if weight is not None:
        return _weighted(input, (input - target) ** 2, weight, reduction)
    return _diff_loss(input, target, reduction, "MseLossBackward0",
                      lambda xp, d: d * d, lambda diff, d: diff * 2)


def _sign(diff: Tensor, d) -> Tensor:
    xp = diff._device._be.xp
    return wrap(diff._device._be.astype(xp.sign(d), diff.dtype), diff.dtype, diff._device)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.l1_loss``."""
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if weight is not None:
        return _weighted(input, (input - target).abs(), weight, reduction)
    check_reduction(reduction)
    return reduce_loss((input - target).abs(), reduction)  # PyTorch's graph: Abs(Sub)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Mirrors ``torch.nn.functional.smooth_l1_loss``: quadratic below ``beta``."""
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return l1_loss(input, target, reduction=reduction)

    def per(xp, d):
        z = xp.abs(d)
        return xp.where(z < beta, 0.5 * z * z / beta, z - 0.5 * beta)

    def deriv(diff, d):
        xp = diff._device._be.xp
        return where(_mask(diff, xp.abs(d) < beta), diff / beta, _sign(diff, d))
    return _diff_loss(input, target, reduction, "SmoothL1LossBackward0", per, deriv)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.huber_loss``: quadratic below ``delta``, then linear
    with slope ``delta``."""
    _warn_size(input, target)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")

    def per(xp, d):
        z = xp.abs(d)
        return xp.where(z < delta, 0.5 * z * z, delta * (z - 0.5 * delta))

    def deriv(diff, d):
        xp = diff._device._be.xp
        return where(_mask(diff, xp.abs(d) < delta), diff, _sign(diff, d) * delta)
    if weight is not None:  # PyTorch: a plain mean here, not divided by the weights
        if weight.size() != input.size():
            raise ValueError("Weights and input must have the same size.")
        return reduce_loss(_diff_loss(input, target, "none", "HuberLossBackward0", per,
                                      deriv) * weight, reduction)
    return _diff_loss(input, target, reduction, "HuberLossBackward0", per, deriv)


# --- binary cross entropy ---------------------------------------------------------------------

def _clamped_log(xp, a):
    """max(log(a), -100) as PyTorch's BCE takes it, without log(0) warnings."""
    pos = a > 0
    return xp.maximum(xp.where(pos, xp.log(xp.where(pos, a, 1)), -100.0), -100.0)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.binary_cross_entropy``: logs clamped at -100 as in
    PyTorch, so 0 and 1 inputs give finite losses."""
    reduction = _reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if target.size() != input.size():
        raise ValueError(f"Using a target size ({target.size()}) that is different to the input "
                         f"size ({input.size()}) is deprecated. Please ensure they have the "
                         "same size.")
    if weight is not None and weight.shape != input.shape:
        weight = weight.expand(input.shape)
    a, b, dt, dev = prep2(input, target)
    be = dev._be
    xp = be.xp
    # PyTorch's check is `0 <= x <= 1`, which a NaN fails too (skipped inside a compiled
    # program, which cannot read values on the host)
    if input.numel() and not is_compiling() and not bool(xp.all((a >= 0) & (a <= 1))):
        raise RuntimeError("all elements of input should be between 0 and 1")
    log_x = _clamped_log(xp, a)
    log_1mx = _clamped_log(xp, 1 - a)
    per = -(b * log_x + (1 - b) * log_1mx)
    if weight is not None:
        per = per * weight._data
    n = input.numel()
    data = xp.mean(per) if reduction == "mean" else xp.sum(per) if reduction == "sum" \
        else per
    res = wrap(be.astype(data, dt), dt, dev)
    ri, rt = input._requires_grad, target._requires_grad
    if GRAD.enabled and (ri or rt):
        def backward(g):
            gs = g / n if reduction == "mean" else g
            if weight is not None:
                gs = gs * weight
            gi = gt = None
            if ri:
                denom = (1 - input) * input
                small = _mask(input, be.astype((1 - a) * a, dt) < 1e-12)
                gi = gs * (input - target) / where(small, 1e-12, denom)
            if rt:
                gt = gs * wrap(be.astype(log_1mx - log_x, dt), dt, dev)
            return gi, gt
        record(res, "BinaryCrossEntropyBackward0", (input, target), backward,
               saved=(input, target))
    return res


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.binary_cross_entropy_with_logits``:
    ``(1 - t)·x - (1 + (pos_weight - 1)·t)·log σ(x)``, stable for any |x|."""
    reduction = _reduction(size_average, reduce, reduction)
    check_reduction(reduction)
    if target.size() != input.size():
        raise ValueError(f"Target size ({target.size()}) must be the same as input size "
                         f"({input.size()})")
    from ...autograd.grad_mode import no_grad
    with no_grad():  # one node, as PyTorch's: BinaryCrossEntropyWithLogitsBackward0
        log_sig = logsigmoid(input)
        if pos_weight is not None:
            log_weight = (pos_weight - 1) * target + 1
            loss = (1 - target) * input - log_weight * log_sig
        else:
            loss = (1 - target) * input - log_sig
        if weight is not None:
            loss = loss * weight
        loss = reduce_loss(loss, reduction)
    rx, rt = input._requires_grad, target._requires_grad
    if GRAD.enabled and (rx or rt):
        def backward(g):
            if reduction == "mean":
                g = g / input.numel()
            if weight is not None:
                g = g * weight
            gx = gt = None
            if rx:  # d/dx: σ(x)·(1 + (pw - 1)·t) - pw·t
                if pos_weight is None:
                    gx = (input.sigmoid() - target) * g
                else:
                    pt = pos_weight * target
                    gx = ((pt + 1 - target) * input.sigmoid() - pt) * g
            if rt:  # d/dt: -x, or log σ(-x) - pw·log σ(x)
                gt = -input * g if pos_weight is None else \
                    (logsigmoid(-input) - logsigmoid(input) * pos_weight) * g
            return gx, gt
        record(loss, "BinaryCrossEntropyWithLogitsBackward0", (input, target), backward,
               saved=(input, target))
    return loss


# --- divergences and margins --------------------------------------------------------------------

def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.kl_div``: ``target·(log target - input)`` pointwise
    (input is log-probabilities); 'batchmean' divides the sum by the batch size."""
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        pos = _mask(target, target._data > 0)
        safe = where(pos, target, 1.0)
        loss = where(pos, target * safe.log(), 0.0) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.dim() != 0 else total
    return reduce_loss(loss, reduction)


def _relu_like(x: Tensor) -> Tensor:
    """max(x, 0) with a constant mask (so no op beyond where is needed)."""
    return where(_mask(x, x._data > 0), x, 0.0)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.cosine_embedding_loss``: ``1 - cos`` for target 1,
    ``max(0, cos - margin)`` for target -1."""
    reduction = _reduction(size_average, reduce, reduction)
    tdim = target.dim()
    if tdim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if tdim == 1 and (input1.dim() != 2 or input2.dim() != 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if tdim == 0 and (input1.dim() != 1 or input2.dim() != 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with "
                           f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    d = tdim
    prod = (input1 * input2).sum(d)
    mag1 = (input1 * input1).sum(d) + 1e-12
    mag2 = (input2 * input2).sum(d) + 1e-12
    cos = prod / (mag1 * mag2) ** 0.5
    t = target._data
    out = where(_mask(cos, t == 1), 1 - cos, 0.0) + \
        where(_mask(cos, t == -1), _relu_like(cos - margin), 0.0)
    return reduce_loss(out, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.margin_ranking_loss``:
    ``max(0, -target·(input1 - input2) + margin)``."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.size()}, input2: {input2.size()}, "
                           f"target: {target.size()} ")
    return reduce_loss(_relu_like(-target * (input1 - input2) + margin), reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.soft_margin_loss``: ``log(1 + exp(-target·input))``."""
    reduction = _reduction(size_average, reduce, reduction)
    return reduce_loss(-logsigmoid(target * input), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.hinge_embedding_loss``."""
    reduction = _reduction(size_average, reduce, reduction)
    t = target._data
    margin_clamp = _relu_like(margin - input)
    out = where(_mask(input, t != 1), margin_clamp, 0.0) + \
        where(_mask(input, t != -1), input, 0.0)
    return reduce_loss(out, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True,
                     full: bool = False, size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.poisson_nll_loss``."""
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        import math
        big = _mask(target, target._data > 1)
        t = where(big, target, 1.0)  # Stirling's term only where target > 1
        stirling = t * t.log() - t + (2 * math.pi * t).log() * 0.5
        loss = loss + where(big, stirling, 0.0)
    return reduce_loss(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.gaussian_nll_loss``."""
    import math
    if not isinstance(var, Tensor):
        var = input.new_full(input.shape, float(var)) if hasattr(input, "new_full") else \
            wrap(input._device._be.xp.full(tuple(input.shape), float(var),
                                           dtype=input._device._be.native_dtype(input.dtype)),
                 input.dtype, input._device)
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.shape[:-1] == var.shape[:-1] and var.shape[-1] == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    if bool(var._device._be.xp.any(var._data < 0)):
        raise ValueError("var has negative entry/entries")
    from ...autograd.grad_mode import no_grad
    var = var.clone()
    with no_grad():
        var.clamp_min_(eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.triplet_margin_loss``."""
    from .distance import pairwise_distance
    reduction = _reduction(size_average, reduce, reduction)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_swap = pairwise_distance(positive, negative, p, eps)
        d_neg = where(_mask(d_neg, d_swap._data < d_neg._data), d_swap, d_neg)
    return reduce_loss(_relu_like(margin + d_pos - d_neg), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average=None, reduce=None,
                                reduction: str = "mean") -> Tensor:
    """Mirrors ``torch.nn.functional.multilabel_soft_margin_loss``."""
    reduction = _reduction(size_average, reduce, reduction)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.dim() - 1) / input.shape[-1]
    return reduce_loss(loss, reduction)
