"""The flag namespaces of ``torch.backends`` (``cudnn``, ``cuda``, ``mps``, ``opt_einsum``)
that training scripts set at the top.

ember's own ``ember.backends`` is the backend plugin API, so these live here: ``ember run``
maps ``torch.backends`` (and ``import torch.backends.cudnn``) to this package, and
``ember.backends.cudnn`` / ``.cuda`` / ``.mps`` / ``.opt_einsum`` give the same modules, so
``import ember as torch; torch.backends.cudnn.benchmark = True`` works too. ember's kernels
use neither cuDNN nor TF32; each flag is recorded and read back as PyTorch does, and what it
changes is in each module's docstring.
"""
from . import cuda, cudnn, mps, opt_einsum

__all__ = ["cuda", "cudnn", "mps", "opt_einsum"]
