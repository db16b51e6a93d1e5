"""``ember.func``: mirrors ``torch.func`` (composable function transforms).

``grad``, ``grad_and_value``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian``,
``linearize`` (:mod:`._transforms`: over ember's reverse-mode autograd with ``create_graph``, so they
nest), ``vmap`` (:mod:`._vmap`: a per-slice loop on every backend, see its docstring for
what that cannot mirror), ``functional_call`` and ``stack_module_state``
(:mod:`._functional_call`), ``functionalize``, ``replace_all_batch_norm_modules_``,
``debug_unwrap`` (:mod:`._extras`)."""
from __future__ import annotations

from ._extras import debug_unwrap, functionalize, replace_all_batch_norm_modules_
from ._functional_call import functional_call, stack_module_state
from ._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, linearize, vjp
from ._vmap import vmap

__all__ = ["vmap", "grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian",
           "functional_call", "stack_module_state", "linearize", "functionalize",
           "replace_all_batch_norm_modules_", "debug_unwrap"]
