"""``ctc_loss``: Connectionist Temporal Classification. Mirrors
``torch.nn.functional.ctc_loss`` (PyTorch's ``_ctc_loss`` and ``_ctc_loss_backward``).

The forward (alpha) and backward (beta) recursions run in log space over the extended
label sequence (blank, l1, blank, l2, ..., blank), a Python loop over time vectorised over
the batch and the label positions, in Tensor ops (so every backend runs them). The
per-sample negative log likelihood is one graph node whose backward is PyTorch's formula::

    grad[t, n, c] = exp(lp[t, n, c]) - exp(log Σ_{s: l'_s = c} α_t(s) β_t(s) + nll_n - lp[t, n, c])

for t < input_length[n], else 0. Like PyTorch's, it is the gradient of the loss with
respect to the *logits* when ``log_probs`` is a ``log_softmax`` (the ``exp(lp)`` term
vanishes through log_softmax's backward), not the plain derivative with respect to
``log_probs``; through a ``log_softmax`` both give the same logits' gradients.
"""
from __future__ import annotations

import numpy as np

from ... import _dtype
from ..._tensor import Tensor
from ...autograd.graph import record
from ...autograd.grad_mode import STATE as GRAD
from ...autograd.grad_mode import no_grad
from ._util import check_reduction

__all__ = ["ctc_loss"]

_NEG_INF = float("-inf")


def _lengths(x, what: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return np.asarray(x.tolist(), dtype=np.int64).reshape(-1)
    if isinstance(x, (int, np.integer)):
        return np.asarray([int(x)], dtype=np.int64)
    return np.asarray([int(v) for v in x], dtype=np.int64)


def _lse(*xs: Tensor) -> Tensor:
    """log Σ exp over the given same-shaped tensors, -inf where all are -inf."""
    from ...ops.selection import where
    m = xs[0]
    for x in xs[1:]:
        m = m.maximum(x)
    safe = where(m.isinf(), m.new_zeros(()), m)
    total = sum((x - safe).exp() for x in xs)
    return total.log() + safe


def _shift(x: Tensor, k: int) -> Tensor:
    """x moved k positions along the last dim (right for k > 0), -inf filled."""
    from ...ops.joining import cat
    pad = x.new_full((*x.shape[:-1], abs(k)), _NEG_INF)
    return cat([pad, x[..., :-k]], -1) if k > 0 else cat([x[..., -k:], pad], -1)


def _ctc_nll(lp: Tensor, ext: np.ndarray, tl: np.ndarray, il: np.ndarray, blank: int,
             zero_infinity: bool) -> Tensor:
    """Per-sample negative log likelihood (N,) of lp (T, N, C) given the extended labels
    ext (N, L); one graph node with PyTorch's backward."""
    from ..._creation import tensor
    from ...ops.selection import where
    steps, batch, classes = lp.shape
    width = ext.shape[1]
    dev = lp.device
    pos = np.arange(width)
    skip = np.zeros((batch, width), dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    valid = pos[None, :] < (2 * tl + 1)[:, None]
    last = (pos[None, :] == 2 * tl[:, None]) | ((pos[None, :] == 2 * tl[:, None] - 1)
                                                 & (tl[:, None] > 0))

    def mask(a) -> Tensor:
        return tensor(a, device=dev)
    skip_t, valid_t, last_t = mask(skip), mask(valid), mask(last)
    skip_next = mask(np.concatenate([skip[:, 2:], np.zeros((batch, 2), bool)], 1))
    ext_t = tensor(ext, dtype=_dtype.int64, device=dev)
    # -inf - -inf and log(0) are expected where no alignment passes (masked afterwards)
    with no_grad(), np.errstate(divide="ignore", invalid="ignore"):
        x = lp.detach()
        neg = x.new_full((batch, width), _NEG_INF)
        lp_ext = x.gather(2, ext_t.unsqueeze(0).expand(steps, batch, width))
        alpha = [where(valid_t & mask(pos[None, :] <= 1), lp_ext[0], neg)]
        for t in range(1, steps):
            a = alpha[-1]
            prev = _lse(a, _shift(a, 1), where(skip_t, _shift(a, 2), neg))
            alpha.append(where(valid_t, lp_ext[t] + prev, neg))
        beta = [None] * steps
        nxt = neg
        for t in range(steps - 1, -1, -1):
            rec = lp_ext[t] + _lse(nxt, _shift(nxt, -1), where(skip_next, _shift(nxt, -2), neg))
            init = where(last_t, lp_ext[t], neg)
            start = mask((il == t + 1)[:, None])
            running = mask((il > t + 1)[:, None])
            nxt = where(valid_t & start, init, where(valid_t & running, rec, neg))
            beta[t] = nxt
        from ...ops.joining import stack
        alpha_t, beta_t = stack(alpha, 0), stack(beta, 0)
        # the loss reads alpha at each sample's last step, at its last two positions
        at_end = alpha_t[tensor(np.maximum(il - 1, 0), dtype=_dtype.int64, device=dev),
                         tensor(np.arange(batch), dtype=_dtype.int64, device=dev)]
        ends = where(last_t, at_end, neg)  # each sample's last one or two positions
        m = ends.amax(1, keepdim=True)
        m = where(m.isinf(), m.new_zeros(()), m)
        raw = -((ends - m).exp().sum(1, keepdim=True).log() + m).squeeze(1)
        out = where(raw.isinf(), raw.new_zeros(()), raw) if zero_infinity else raw
    if GRAD.enabled and lp._requires_grad:
        def backward(g: Tensor):
            with np.errstate(divide="ignore", invalid="ignore"):
                return _grad(g)

        def _grad(g: Tensor):
            ab = alpha_t + beta_t
            m = ab.amax(2, keepdim=True)
            m = where(m.isinf(), m.new_zeros(()), m)
            acc = x.new_zeros((steps, batch, classes)).scatter_add(
                2, ext_t.unsqueeze(0).expand(steps, batch, width), (ab - m).exp())
            lcab = acc.log() + m
            grad = x.exp() - (lcab + raw.view(1, batch, 1) - x).exp()
            live = mask((np.arange(steps)[:, None] < il[None, :])[:, :, None])
            if zero_infinity:
                live = live & ~raw.isinf().view(1, batch, 1)
            grad = where(live, grad, grad.new_zeros(()))
            return (grad * g.view(1, batch, 1),)
        record(out, "CtcLossBackward0", (lp,), backward)
    return out


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths, target_lengths,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Mirrors ``torch.nn.functional.ctc_loss``: ``log_probs`` (T, N, C) or unbatched
    (T, C); ``targets`` padded (N, S) or the targets concatenated (sum(target_lengths),);
    lengths as tensors or sequences of ints. ``reduction='mean'`` divides each loss by its
    target length before averaging over the batch, as PyTorch does."""
    check_reduction(reduction)
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        if targets.dim() == 1 and not isinstance(target_lengths, (list, tuple)):
            targets = targets.unsqueeze(0)
    steps, batch, classes = log_probs.shape
    il = _lengths(input_lengths, "input_lengths")
    tl = _lengths(target_lengths, "target_lengths")
    if il.size != batch:
        raise RuntimeError("input_lengths must be of size batch_size")
    if tl.size != batch:
        raise RuntimeError("target_lengths must be of size batch_size")
    if blank < 0 or blank >= classes:
        raise RuntimeError("blank must be in label range")
    where_ = "(while checking arguments for ctc_loss_allocate_outputs)"
    tgt = np.asarray(targets.tolist(), dtype=np.int64)
    for v in il:
        if v > steps:
            raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got "
                               f"value {v} {where_}")
        if v < 0:
            raise RuntimeError(f"Expected input_lengths to have value at least 0, but got "
                               f"value {v} {where_}")
    for v in tl:
        if v < 0:
            raise RuntimeError(f"Expected target_lengths to have value at least 0, but got "
                               f"value {v} {where_}")
    longest = int(tl.max()) if tl.size else 0
    if targets.dim() == 1:
        if tgt.size != int(tl.sum()):
            raise RuntimeError(f"Expected tensor to have size {int(tl.sum())} at dimension 0, "
                               f"but got size {tgt.size} for argument #2 'targets' {where_}")
        starts = np.concatenate([[0], np.cumsum(tl)[:-1]]).astype(np.int64)
        rows = [tgt[s:s + n] for s, n in zip(starts, tl)]
    else:
        if tgt.ndim != 2 or tgt.shape[1] < longest:
            have = tgt.shape[1] if tgt.ndim == 2 else 0
            raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension "
                               f"1, but got size {have} for argument #2 'targets' {where_}")
        rows = [tgt[n, :tl[n]] for n in range(batch)]
    ext = np.full((batch, 2 * longest + 1), blank, dtype=np.int64)
    for n, r in enumerate(rows):
        ext[n, 1:2 * len(r):2] = r
    if ext.size and (ext.min() < 0 or ext.max() >= classes):
        raise IndexError("index out of range in self")
    loss = _ctc_nll(log_probs, ext, tl, il, blank, zero_infinity)
    if reduction == "mean":
        from ..._creation import tensor
        div = tensor(np.maximum(tl, 1).astype(np.float64), dtype=loss.dtype,
                     device=loss.device)
        return (loss / div).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss
