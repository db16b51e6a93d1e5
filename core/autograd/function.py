"""``ember.autograd.Function``: user-defined ops with a hand-written backward.
Mirrors ``torch.autograd.Function`` (static ``forward(ctx, ...)``/``backward(ctx, ...)``,
``ctx.save_for_backward``, ``needs_input_grad``, ``mark_non_differentiable``,
``set_materialize_grads``)."""
from __future__ import annotations

from .grad_mode import STATE
from .graph import record

__all__ = ["Function", "FunctionCtx"]


class FunctionCtx:
    """The ``ctx`` passed to a Function's forward and backward."""

    def __init__(self):
        self.to_save = ()
        self.needs_input_grad = ()
        self.non_differentiable = set()
        self.materialize_grads = True
        self._node = None  # the node over the outputs; its saved tensors may be freed

    def save_for_backward(self, *tensors) -> None:
        self.to_save = tensors

    @property
    def saved_tensors(self) -> tuple:
        node = self._node
        if node is not None and node._saved is None:
            from .graph import _FREED
            raise RuntimeError(_FREED)
        return tuple(self.to_save)

    def mark_non_differentiable(self, *tensors) -> None:
        self.non_differentiable.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors) -> None:
        for t in tensors:
            t._bump()

    def set_materialize_grads(self, value: bool) -> None:
        self.materialize_grads = bool(value)


class Function:
    """Subclass with static ``forward(ctx, *args)`` and ``backward(ctx, *grads)``; call
    ``YourFunction.apply(*args)``."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` without recording, then put one node (``<Name>Backward``) over all
        the tensor outputs. ``backward`` gets one gradient per output (zeros for outputs
        that got none, or None after ``ctx.set_materialize_grads(False)``; None for
        non-tensor outputs) and returns one per input."""
        from .._tensor import Tensor
        ctx = FunctionCtx()
        tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        prev = STATE.enabled
        STATE.enabled = False
        try:
            out = cls.forward(ctx, *args, **kwargs)
        finally:
            STATE.enabled = prev
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        inputs = [args[i] for i in tensor_pos]
        # an output that *is* an input gets a fresh tensor object so the input keeps its place
        fresh = tuple(o.detach() if isinstance(o, Tensor) and any(o is a for a in inputs) else o
                      for o in outs)
        if not (prev and any(ctx.needs_input_grad)):
            return fresh[0] if single else fresh
        out_pos = [i for i, o in enumerate(fresh) if isinstance(o, Tensor)]
        n_outs, n_args = len(fresh), len(args)

        def backward_fn(*grads):
            full = [None] * n_outs
            for i, g in zip(out_pos, grads):
                full[i] = g
            got = cls.backward(ctx, *full)
            if not isinstance(got, tuple):
                got = (got,)
            if len(got) != n_args:
                raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect "
                                   f"number of gradients (expected {n_args}, got {len(got)})")
            return tuple(got[i] for i in tensor_pos)

        saved = tuple(t for t in ctx.to_save if isinstance(t, Tensor))
        touts = tuple(fresh[i] for i in out_pos)
        if not touts:
            return fresh[0] if single else fresh
        record(touts if len(touts) != 1 else touts[0], cls.__name__ + "Backward", inputs,
               backward_fn, saved=saved, holomorphic=False)  # the user's own formula
        node = touts[0]._grad_fn
        node._materialize = ctx.materialize_grads
        ctx._node = node
        for o in touts:
            # non-differentiable (marked, or integer) outputs keep their slot in the node but
            # carry no graph
            if id(o) in ctx.non_differentiable or not (o.dtype.is_floating_point
                                                       or o.dtype.is_complex):
                o._grad_fn, o._requires_grad = None, False
        return fresh[0] if single else fresh
