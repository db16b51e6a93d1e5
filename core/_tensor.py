"""``ember.Tensor``: a backend array plus autograd metadata. Mirrors ``torch.Tensor``.

The class holds state, attributes, conversions and autograd entry points. Maths lives in
``ember.ops`` (each op's backward beside its forward); ops attach themselves as methods
and operators there, so this file stays readable and nothing here imports ops at load time.
"""
from __future__ import annotations

from typing import Any

from . import _dtype, _strides
from ._dtype import dtype as _DType
from ._size import Size
from .autograd import api as _api, graph as _graph

__all__ = ["Tensor", "wrap"]

_new = object.__new__


class Tensor:
    """Mirrors ``torch.Tensor``. Build tensors with ``ember.tensor`` and friends; the
    constructor form ``Tensor(data)`` is accepted as PyTorch's legacy one (default dtype)."""

    __slots__ = ("_data", "dtype", "_device", "_grad_fn", "_requires_grad", "grad", "_vc",
                 "_out_nr", "_accum", "_base", "_view_src", "__dict__", "__weakref__")
    # numpy defers to a Tensor's reflected operators (np.float64(2) * t is a Tensor), as
    # for torch.Tensor
    __array_priority__ = 1000

    def __new__(cls, *args, **kwargs):
        from ._creation import _legacy_new
        return _legacy_new(cls, *args, **kwargs)

    # --- attributes ------------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """Mirrors ``Tensor.size``: the Size, or one dimension's length."""
        shape = self._data.shape
        if dim is None:
            return Size(shape)
        return shape[_wrap_dim(dim, len(shape))]

    @property
    def ndim(self) -> int:
        return len(self._data.shape)

    def dim(self) -> int:
        """Mirrors ``Tensor.dim`` (also ``ndimension``): the number of dimensions."""
        return len(self._data.shape)

    ndimension = dim

    def numel(self) -> int:
        """Mirrors ``Tensor.numel`` (also ``nelement``): the number of elements."""
        n = 1
        for s in self._data.shape:
            n *= s
        return n

    nelement = numel

    def element_size(self) -> int:
        """Mirrors ``Tensor.element_size``: bytes per element."""
        return self.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.numel() * self.dtype.itemsize

    @property
    def device(self):
        return self._device

    @property
    def is_cuda(self) -> bool:
        return self._device.type == "cuda"

    @property
    def is_cpu(self) -> bool:
        return self._device.type == "cpu"

    def get_device(self) -> int:
        """Mirrors ``Tensor.get_device``: the device index, -1 on the CPU."""
        return -1 if self._device.index is None else self._device.index

    def pin_memory(self, device=None) -> "Tensor":
        """Mirrors ``Tensor.pin_memory``: a copy in page-locked host memory (the CUDA
        backend's); see ``ember.accelerator``."""
        from .accelerator import pin_memory
        return pin_memory(self)

    def is_pinned(self, device=None) -> bool:
        """Mirrors ``Tensor.is_pinned``: False (ember does not pin host memory)."""
        from .accelerator import is_pinned
        return is_pinned(self)

    def is_floating_point(self) -> bool:
        """Mirrors ``Tensor.is_floating_point``."""
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        """Mirrors ``Tensor.is_complex``."""
        return self.dtype.is_complex

    def stride(self, dim: int | None = None):
        """Mirrors ``Tensor.stride``: elements to step in each dim, read off the backend
        array's own strides where it has them (numpy, CuPy: views share their base's), else
        the ones PyTorch would have, followed through the views that made the tensor (JAX
        and other backends without strides: see ``_strides``)."""
        shape = self._data.shape
        st = getattr(self._data, "strides", None)
        if st is not None and self._data.size:  # (an empty array's strides mean nothing)
            size = self._data.itemsize
            out = tuple(s // size for s in st)
        elif st is not None:
            out = _strides.contiguous_strides(shape)
        else:
            out = _strides.logical_strides(self)
        if dim is None:
            return out
        return out[_wrap_dim(dim, len(shape))]

    def storage_offset(self) -> int:
        """Mirrors ``Tensor.storage_offset``: where the tensor starts in the storage it views,
        in elements: read off the arrays' addresses where the backend aliases memory (numpy,
        CuPy), else followed through the views that made it (see ``_strides``); 0 where the
        chain holds a view no strides express (PyTorch would have copied there)."""
        st = getattr(self._data, "strides", None)
        got = _strides.buffer_layout(self._data) if st is not None else \
            _strides.logical_layout(self)
        return 0 if got is None else got[1]

    def is_contiguous(self, memory_format=None) -> bool:
        """Mirrors ``Tensor.is_contiguous``."""
        flags = getattr(self._data, "flags", None)
        if flags is None:  # a backend without strides: the logical ones
            return _strides.is_contiguous(self._data.shape, self.stride())
        return bool(flags["C_CONTIGUOUS"])

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def grad_fn(self):
        return self._grad_fn

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and not (self.dtype.is_floating_point or self.dtype.is_complex):
            # PyTorch words this one differently from requires_grad_'s
            raise RuntimeError("only Tensors of floating point and complex dtype can require "
                               "gradients")
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Mirrors ``Tensor.requires_grad_``."""
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. "
                                   "If you want to use a computed variable in a subgraph that "
                                   "doesn't require differentiation use "
                                   "var_no_grad = var.detach().")
            return self
        if requires_grad and not (self.dtype.is_floating_point or self.dtype.is_complex):
            raise RuntimeError("only Tensors of floating point dtype can require gradients")
        self._requires_grad = bool(requires_grad)
        return self

    @property
    def data(self) -> "Tensor":
        """A tensor sharing this one's array, outside the graph (``Tensor.data``)."""
        out = self.detach()
        out._vc = None  # as in PyTorch, changes made through .data are hidden from autograd
        return out

    @data.setter
    def data(self, other: "Tensor") -> None:
        if not isinstance(other, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(other).__name__}")
        self._data, self.dtype, self._device = other._data, other.dtype, other._device
        # (PyTorch's set_data) self now shares other's storage, and no longer what it viewed
        # before: on a backend without shared buffers its writes pass to other, as a
        # Parameter's pass to the tensor it was made of
        self._view_src = self._base = None
        from .ops._views import alias
        alias(self, other)
        self._bump()

    @property
    def _version(self) -> int:
        return self._vc[0] if self._vc is not None else 0

    def _bump(self) -> None:
        """Mark an in-place change (shared with views, like PyTorch's version counter)."""
        vc = self._vc
        if vc is None:
            self._vc = [1]
        else:
            vc[0] += 1

    @property
    def T(self) -> "Tensor":
        n = self.ndim
        if n != 2 and n != 0 and n != 1:
            import warnings
            warnings.warn("The use of `x.T` on tensors of dimension other than 2 to reverse "
                          "their shape is deprecated and it will throw an error in a future "
                          "release.", UserWarning, stacklevel=2)
        return self.permute(*range(n - 1, -1, -1))

    @property
    def mT(self) -> "Tensor":
        if self.ndim < 2:
            raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                               f"Got {self.ndim}-D tensor.")
        return self.transpose(-2, -1)

    @property
    def H(self) -> "Tensor":
        return self.T.conj() if self.dtype.is_complex else self.T

    @property
    def mH(self) -> "Tensor":
        return self.mT.conj() if self.dtype.is_complex else self.mT

    @property
    def _backend(self):
        return self._device._be

    # --- autograd --------------------------------------------------------------------------
    def backward(self, gradient: "Tensor | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Mirrors ``Tensor.backward``."""
        _api.backward((self,), gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's array (and version counter)."""
        out = wrap(self._data, self.dtype, self._device)
        if self._vc is None:
            self._vc = [0]
        out._vc = self._vc
        out._base = self if self._base is None else self._base
        from .ops._views import alias
        alias(out, self)  # no shared buffer (JAX): writes through either reach the other
        return out

    def detach_(self) -> "Tensor":
        """Mirrors ``Tensor.detach_``: this tensor leaves the graph, in place."""
        self._grad_fn = None
        self._requires_grad = False
        return self

    def register_hook(self, hook):
        """Mirrors ``Tensor.register_hook``: ``hook(grad)`` may return a replacement."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        node, nr = _graph._edge(self)
        return node._add_pre_hook(nr, hook)

    def register_post_accumulate_grad_hook(self, hook):
        """Mirrors ``Tensor.register_post_accumulate_grad_hook``: ``hook(tensor)`` runs after
        a backward pass has accumulated this leaf's ``.grad``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        return _graph._edge(self)[0]._add_post_hook(hook)

    def retain_grad(self) -> None:
        """Mirrors ``Tensor.retain_grad``: keep a non-leaf's gradient in ``.grad``."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self.__dict__.get("_retains_grad"):
            return
        self.__dict__["_retains_grad"] = True
        import weakref
        ref = weakref.ref(self)

        def _retain(grad):
            t = ref()
            if t is not None:
                g = grad.detach().clone() if not grad._requires_grad else grad
                t.grad = g if t.grad is None else t.grad + g
        self._grad_fn._add_pre_hook(self._out_nr, _retain, retain=True)

    @property
    def retains_grad(self) -> bool:
        return bool(self.__dict__.get("_retains_grad"))

    # --- conversion ------------------------------------------------------------------------
    def numpy(self, *, force: bool = False):
        """A numpy array sharing memory on CPU (``Tensor.numpy``)."""
        if self._requires_grad and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        if self._device.type != "cpu" and not force:
            raise TypeError(f"can't convert {self._device} device type tensor to numpy. Use "
                            "Tensor.cpu() to copy the tensor to host memory first.")
        arr = self._device._be.to_numpy(self._data)
        if arr.ndim == 0 and type(arr).__module__ == "numpy" and not hasattr(arr, "base"):
            import numpy as np
            arr = np.asarray(arr)
        return arr

    def __array__(self, dtype=None, copy=None):
        import numpy as np
        arr = np.asarray(self.numpy())  # PyTorch's errors: requires_grad, non-CPU
        if dtype is not None:
            arr = arr.astype(dtype, copy=False)
        return arr

    def __dlpack__(self, *args, **kwargs):
        if self._requires_grad:
            raise BufferError("Can't export tensors that require gradient, use "
                              "tensor.detach()")
        data = self._data
        if not hasattr(data, "__dlpack__"):
            import numpy as np
            data = np.asarray(data)
        return data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        data = self._data
        if not hasattr(data, "__dlpack_device__"):
            import numpy as np
            data = np.asarray(data)
        return data.__dlpack_device__()

    def item(self):
        """The Python number in a one-element tensor (``Tensor.item``)."""
        if self.numel() != 1:
            raise RuntimeError(f"a Tensor with {self.numel()} elements cannot be converted to "
                               "Scalar")
        return _to_py(self._device._be.to_numpy(self._data).reshape(()).item(), self.dtype)

    def tolist(self):
        """Nested Python lists of Python numbers (``Tensor.tolist``)."""
        arr = self._device._be.to_numpy(self._data)
        if self.dtype is _dtype.bfloat16 or self.dtype is _dtype.float16:
            arr = arr.astype("float32")
        return arr.tolist()

    def __len__(self) -> int:
        shape = self._data.shape
        if not shape:
            raise TypeError("len() of a 0-d tensor")
        return shape[0]

    def __iter__(self):
        if not self._data.shape:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __bool__(self) -> bool:
        n = self.numel()
        if n != 1:
            what = "no values" if n == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {what} is ambiguous")
        return bool(self.item())

    def _scalar(self):
        if self.numel() != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return self.item()

    def _real_scalar(self, c_type: str):
        v = self._scalar()
        if isinstance(v, complex):
            if v.imag:
                raise RuntimeError(f"value cannot be converted to type {c_type} without overflow")
            v = v.real
        return v

    def __float__(self) -> float:
        return float(self._real_scalar("double"))

    def __int__(self) -> int:
        return int(self._real_scalar("int64_t"))

    def __complex__(self) -> complex:
        return complex(self._scalar())

    def __index__(self) -> int:
        if self.dtype.is_floating_point or self.dtype.is_complex or self.numel() != 1:
            raise TypeError("only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        # as PyTorch: a format spec only for 0-d tensors (TypeError otherwise)
        if self.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self, *, tensor_contents=None) -> str:
        from ._printing import tensor_repr
        return tensor_repr(self, tensor_contents)

    def __reduce_ex__(self, protocol):
        # pickling (DataLoader workers, copy.deepcopy): values, dtype, device, requires_grad;
        # never the graph
        return (_rebuild, (self._device._be.to_numpy(self._data), self.dtype.name,
                           str(self._device), self._requires_grad, type(self)))

    def __deepcopy__(self, memo):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.  If you were "
                               "attempting to deepcopy a module, this may be because of a "
                               "torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        out = self.detach().clone()
        if type(self) is not Tensor:
            out = type(self).__new__(type(self), out, self._requires_grad) \
                if hasattr(type(self), "_from_tensor") else out
        out._requires_grad = self._requires_grad
        if self.grad is not None:
            out.grad = self.grad.detach().clone()
        memo[id(self)] = out
        return out


def _rebuild(arr, dtype_name, device, requires_grad, cls=None):
    from ._creation import tensor
    t = tensor(arr, dtype=_dtype._BY_NAME[dtype_name], device=device)
    if cls is not None and cls is not Tensor and hasattr(cls, "_from_tensor"):
        return cls._from_tensor(t, requires_grad)
    t._requires_grad = requires_grad
    return t


def _to_py(v, dt: _DType):
    if dt is _dtype.bool:
        return bool(v)
    if dt.is_floating_point:
        return float(v)
    if dt.is_complex:
        return complex(v)
    return int(v)


def wrap(data: Any, dtype: _DType, device) -> Tensor:
    """The one way to make a Tensor from a backend array (the ops' hot path)."""
    t = _new(Tensor)
    t._data = data
    t.dtype = dtype
    t._device = device
    t._grad_fn = None
    t._requires_grad = False
    t.grad = None
    t._vc = None
    t._out_nr = 0
    t._accum = None
    t._base = None
    t._view_src = None
    return t


def _wrap_dim(dim: int, ndim: int) -> int:
    """Normalise a possibly negative dim, with PyTorch's IndexError when out of range."""
    n = ndim if ndim else 1
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim + n if dim < 0 else dim


def _type_string(t: Tensor) -> str:
    """``torch.FloatTensor`` / ``torch.cuda.FloatTensor``: PyTorch's legacy type names."""
    prefix = "torch." if t._device.type == "cpu" else f"torch.{t._device.type}."
    return prefix + t.dtype.legacy_name
