"""ember_jax: ember's backend over JAX (XLA), registered through the ``ember.backends`` entry
point exactly as a third-party backend would be.

Device types:

- ``jax`` / ``jax:N``: the devices of JAX's default platform (``jax.devices()``);
- ``cpu``, when chosen (``EMBER_PROVIDERS=cpu=jax`` or ``ember.backends.set_provider("cpu",
  "jax")``): JAX's CPU device; numpy stays the default provider of ``cpu``;
- ``cuda`` / ``cuda:N`` when a JAX CUDA plugin is installed: JAX's GPUs (CuPy, when present,
  is the default provider; ``EMBER_PROVIDERS=cuda=jax`` chooses JAX).

Process-wide effect: loading the backend (first use of a device it serves, not ``import
ember``) turns on ``jax_enable_x64``, so int64 and float64 behave as in PyTorch. Other JAX
code in the same process then also gets 64-bit defaults (``jnp.arange(3)`` is int64,
``jnp.asarray(1.0)`` float64). It also sets ``jax_default_matmul_precision`` to
``"highest"``: float32 matmuls and convolutions in full float32 as in PyTorch, not TF32 as
JAX's default on a GPU. And it turns off JAX's asynchronous CPU dispatch
(``jax_cpu_enable_async_dispatch``): CPU programs run on the calling thread, as PyTorch's
ops do, which halves the time of a small compiled training step;
``EMBER_JAX_ASYNC_DISPATCH=1`` keeps JAX's default.

JAX arrays are immutable (``Backend.mutable`` is False). In-place ops, ``x[i] = v`` and
optimizer steps rebind the tensor's array, so every ember Tensor that shares a tensor's
identity (``.data``, ``detach()``, views made by indexing, whose writes the frontend passes
back to their bases) sees updates. What cannot alias: ``from_numpy`` and ``Tensor.numpy()``
copy (a numpy array and a JAX array never share memory here), so writing into either side
does not show on the other; and a view made by a shape op (``view``, ``reshape``,
``transpose``, ``expand``) holds its own array, so an in-place op on the base does not
reach it (PyTorch would show the write through the view).
"""
from ember.backends.hookspecs import hookimpl

from .backend import JaxBackend

__all__ = ["JaxBackend"]


@hookimpl
def ember_backends():
    return [JaxBackend()]
