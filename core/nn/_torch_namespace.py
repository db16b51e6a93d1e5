"""The ``torch.*`` spellings of functional ops (``torch.conv2d``, ``torch.layer_norm``,
``torch.dropout``, ``torch.kl_div``, ...): the same functions as ``torch.nn.functional``'s,
with the argument order and conventions of PyTorch's top-level bindings (the ATen
signatures: ``batch_norm``'s weight before its running stats, losses' ``reduction`` as the
integer enum 0 none / 1 mean / 2 sum, unreduced by default as PyTorch's bindings are, a ``cudnn_enable`` flag that is accepted and ignored).

``ember`` loads this module on first use of one of :data:`NAMES` (``ember.__getattr__``),
so ``import ember`` does not import ``ember.nn``.
"""
from __future__ import annotations

from . import functional as F

_REDUCTION = {0: "none", 1: "mean", 2: "sum"}


def _reduction(r) -> str:
    """PyTorch's top-level losses take the reduction as ATen's enum (an int)."""
    if isinstance(r, str):
        return r
    try:
        return _REDUCTION[int(r)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"{r} is not a valid value for reduction") from None


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5,
               cudnn_enable: bool = True):
    """Mirrors ``torch.layer_norm``."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5,
               cudnn_enabled: bool = True):
    """Mirrors ``torch.group_norm``."""
    return F.group_norm(input, num_groups, weight, bias, eps)


def batch_norm(input, weight, bias, running_mean, running_var, training: bool,
               momentum: float, eps: float, cudnn_enabled: bool = True):
    """Mirrors ``torch.batch_norm`` (ATen's order: weight and bias before the running
    statistics)."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum,
                        eps)


def instance_norm(input, weight, bias, running_mean, running_var, use_input_stats: bool,
                  momentum: float, eps: float, cudnn_enabled: bool = True):
    """Mirrors ``torch.instance_norm``."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                           momentum, eps)


def embedding(weight, indices, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False):
    """Mirrors ``torch.embedding`` (weight first; padding_idx -1 means none)."""
    return F.embedding(indices, weight, None if padding_idx == -1 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq)


def dropout(input, p: float, train: bool):
    """Mirrors ``torch.dropout``."""
    return F.dropout(input, p, train)


def dropout_(input, p: float, train: bool):
    """Mirrors ``torch.dropout_``."""
    return F.dropout(input, p, train, inplace=True)


def alpha_dropout(input, p: float, train: bool):
    """Mirrors ``torch.alpha_dropout``."""
    return F.alpha_dropout(input, p, train)


def feature_alpha_dropout(input, p: float, train: bool):
    """Mirrors ``torch.feature_alpha_dropout``."""
    return F.feature_alpha_dropout(input, p, train)


def adaptive_max_pool1d(input, output_size):
    """Mirrors ``torch.adaptive_max_pool1d``: (values, indices), as ATen returns."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


def max_pool1d_with_indices(input, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode: bool = False):
    """Mirrors ``torch.max_pool1d_with_indices``."""
    return F.max_pool1d(input, kernel_size, stride or None, padding, dilation, ceil_mode,
                        return_indices=True)


def constant_pad_nd(input, pad, value=0):
    """Mirrors ``torch.constant_pad_nd``."""
    return F.pad(input, list(pad), "constant", value)


def kl_div(input, target, reduction=0, *, log_target: bool = False):
    """Mirrors ``torch.kl_div`` (the enum's mean is the elementwise mean, without F's
    warning)."""
    pointwise = F.kl_div(input, target, reduction="none", log_target=log_target)
    r = _reduction(reduction)
    return pointwise if r == "none" else pointwise.mean() if r == "mean" else pointwise.sum()


def margin_ranking_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    """Mirrors ``torch.margin_ranking_loss``."""
    return F.margin_ranking_loss(input1, input2, target, margin,
                                 reduction=_reduction(reduction))


def hinge_embedding_loss(input, target, margin: float = 1.0, reduction=0):
    """Mirrors ``torch.hinge_embedding_loss``."""
    return F.hinge_embedding_loss(input, target, margin, reduction=_reduction(reduction))


def cosine_embedding_loss(input1, input2, target, margin: float = 0.0, reduction=0):
    """Mirrors ``torch.cosine_embedding_loss``."""
    return F.cosine_embedding_loss(input1, input2, target, margin,
                                   reduction=_reduction(reduction))


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, reduction=0):
    """Mirrors ``torch.triplet_margin_loss``."""
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap,
                                 reduction=_reduction(reduction))


def poisson_nll_loss(input, target, log_input: bool, full: bool, eps: float, reduction):
    """Mirrors ``torch.poisson_nll_loss`` (every argument required, as ATen's)."""
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps,
                              reduction=_reduction(reduction))


def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None,
                                     reduction=0):
    """Mirrors ``torch.binary_cross_entropy_with_logits``."""
    return F.binary_cross_entropy_with_logits(input, target, weight,
                                              reduction=_reduction(reduction),
                                              pos_weight=pos_weight)


# the same function under torch's name as under F's: the signatures agree positionally
_SAME = ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "avg_pool1d",
         "max_pool1d", "max_pool2d", "adaptive_avg_pool1d", "bilinear", "celu", "celu_",
         "selu", "selu_", "threshold", "threshold_", "hardshrink", "prelu", "pixel_shuffle",
         "pixel_unshuffle", "cosine_similarity", "pairwise_distance", "rrelu", "rrelu_",
         "rms_norm")

NAMES: dict = {n: getattr(F, n) for n in _SAME if hasattr(F, n)}
NAMES.update({f.__name__: f for f in (
    layer_norm, group_norm, batch_norm, instance_norm, embedding, dropout, dropout_,
    alpha_dropout, feature_alpha_dropout, adaptive_max_pool1d, max_pool1d_with_indices,
    constant_pad_nd, kl_div, margin_ranking_loss, hinge_embedding_loss, cosine_embedding_loss,
    triplet_margin_loss, poisson_nll_loss, binary_cross_entropy_with_logits)})
