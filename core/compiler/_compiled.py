"""The callable ``ember.compile`` returns: guards, the program cache, graph breaks, and
the choice of compiler by the backend the tensors live on (JAX: ``_jax``; CuPy: a CUDA
graph, ``_cuda_graph``; anything else: the function runs as it is)."""
from __future__ import annotations

import functools
import warnings

from .. import _dtype
from .._creation import _generator_for
from .._tensor import Tensor
from ..autograd.grad_mode import STATE as GRAD
from . import _jax, _slots
from ._breaks import Unsupported, break_types, describe
from ._discover import discover
from ._state import is_compiling

__all__ = ["CompiledCallable", "RECOMPILE_LIMIT"]

RECOMPILE_LIMIT = 8  # torch._dynamo.config.recompile_limit
_EAGER = "eager"  # cache entry: run this guard key eagerly


def _flatten_args(args, kwargs):
    """Tensor leaves of (args, kwargs), their guard, and a function rebuilding the
    arguments from replacement leaves."""
    leaves: list = []
    key: list = []

    def f(x):
        if isinstance(x, Tensor):
            leaves.append(x)
            key.append((x._data.shape, x.dtype, x._device, x._requires_grad))
            return ("T", len(leaves) - 1)
        t = type(x)
        if t is tuple or t is list:
            return (t, [f(v) for v in x])
        if t is dict:
            return ("D", list(x), [f(v) for v in x.values()])
        key.append(_slots._hashable(x))
        return ("S", x)

    spec = (f(args), f(kwargs))

    def g(s, vals):
        kind = s[0]
        if kind == "T":
            return vals[s[1]]
        if kind is tuple or kind is list:
            return kind(g(c, vals) for c in s[1])
        if kind == "D":
            return dict(zip(s[1], (g(c, vals) for c in s[2])))
        return s[1]

    def rebuild(vals):
        return g(spec[0], vals), g(spec[1], vals)

    return leaves, tuple(key), rebuild


class CompiledCallable:
    """What ``ember.compile(fn)`` returns for a function (``OptimizedModule`` wraps a
    module around one). Calls give the results eager mode gives."""

    def __init__(self, fn, *, fullgraph: bool = False, dynamic=None, mode=None,
                 backend=None, recompile_limit: int | None = None, roots=None,
                 grads: bool = True):
        self._fn = fn
        self._fullgraph = bool(fullgraph)
        self._dynamic = dynamic
        self._mode = mode
        self._backend = backend
        self._limit = RECOMPILE_LIMIT if recompile_limit is None else int(recompile_limit)
        self._roots = roots
        self._grads = grads  # False for a module's forward: .grad is no state of it
        self._cache: dict = {}
        self._warned: set = set()
        self._graphs = None  # the CUDA-graph runner, made on first CuPy call
        self._fast = None  # the guard check of the last program run (_Fast)
        functools.update_wrapper(self, fn, updated=())

    @property
    def _name(self) -> str:
        return getattr(self._fn, "__qualname__", None) or type(self._fn).__name__

    def _warn_once(self, what: str, msg: str) -> None:
        if what not in self._warned:
            self._warned.add(what)
            warnings.warn(msg, UserWarning, stacklevel=6)  # the compiled function's caller

    def _graph_break(self, exc: BaseException) -> None:
        op = describe(exc)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if self._fullgraph:
            raise Unsupported(f"ember.compile(fullgraph=True): graph break in {self._name} at "
                              f"{op}: {reason}") from exc
        self._warn_once("break:" + op, f"ember.compile: graph break in {self._name} at {op} "
                        f"({reason}); running it eagerly")

    def __call__(self, *args, **kwargs):
        fn = self._fn
        if is_compiling():  # called from inside another compiled function: inline it
            return fn(*args, **kwargs)
        leaves, akey, rebuild = _flatten_args(args, kwargs)
        fast = self._fast
        if fast is not None and fast.holds(akey):  # the state as the last run left it
            return fast.run(leaves)
        self._fast = None
        if self._roots is None:
            self._roots = discover(fn, args, kwargs)
        snap = _slots.gather(self._roots, self._grads)
        be = _backend_of(snap.tensors, leaves)
        if be is None:
            if not _align_scalars(self._roots, snap.tensors, leaves):
                return fn(*args, **kwargs)
            snap = _slots.gather(self._roots, self._grads)
            be = _backend_of(snap.tensors, leaves)
            if be is None:
                return fn(*args, **kwargs)
        if be.name == "jax":
            return self._call_jax(be, snap, leaves, akey, rebuild, args, kwargs)
        if be.name == "cupy" and self._mode != "max-autotune-no-cudagraphs":
            from ._cuda_graph import GraphRunner
            if self._graphs is None:
                self._graphs = GraphRunner(self)
            return self._graphs(snap, leaves, akey, rebuild, args, kwargs)
        return fn(*args, **kwargs)

    def _key(self, snap, akey):
        return (snap.key, akey, GRAD.enabled, GRAD.inference, _dtype.get_default_dtype())

    def _call_jax(self, be, snap, leaves, akey, rebuild, args, kwargs):
        key = self._key(snap, akey)
        prog = self._cache.get(key)
        gens = _generators(snap.tensors, leaves)
        if prog is None:
            if len(self._cache) >= self._limit:
                self._warn_once("limit", f"ember.compile: {self._name} hit the recompile "
                                f"limit ({self._limit}); running new guard cases eagerly")
                return self._fn(*args, **kwargs)
            # a new guard case may come with new modules or optimizers among the arguments
            self._roots = _merge(self._roots, discover(self._fn, args, kwargs))
            snap = _slots.gather(self._roots, self._grads)
            key = self._key(snap, akey)
            gens = _generators(snap.tensors, leaves)
            prog = self._trace_jax(be.jax, snap, gens, leaves, rebuild)
            if isinstance(prog, _jax.FirstRun):
                # the state-creating call runs once as a program; should this guard case
                # come back (the state reset), it runs eagerly
                self._cache[key] = _EAGER
                return _jax.run_first(prog, snap, gens, leaves)
            self._cache[key] = prog
        if prog is _EAGER:
            return self._fn(*args, **kwargs)
        out = _jax.run(be.jax, prog, snap, gens, leaves)
        self._fast = _Fast(be.jax, prog, snap, gens, self._roots, akey)
        return out

    def _trace_jax(self, jax, snap, gens, leaves, rebuild):
        saved = _slots.save(snap, self._roots, gens)
        try:
            prog = _jax.build(jax, self._fn, self._roots, snap, gens, leaves, rebuild,
                              self._grads)
        except break_types() as exc:
            _slots.restore(saved)
            self._graph_break(exc)
            return _EAGER
        except BaseException:
            _slots.restore(saved)
            raise
        if isinstance(prog, _jax.FirstRun):
            _jax.first_capture(prog, self._roots, saved[2])
        _slots.restore(saved)
        # None: the step created state (optimizer buffers, gradients) in a way only eager
        # mode reproduces: this call runs eagerly and the next one compiles the steady state
        return _EAGER if prog is None else prog

    def __get__(self, obj, objtype=None):
        # a compiled method: bind like a function does
        return self if obj is None else functools.partial(self, obj)


def _mode():
    return GRAD.enabled, GRAD.inference, _dtype.get_default_dtype()


class _Fast:
    """The steady state's guard: the last program run left every slot holding a known
    object at a known version, so the next call only checks identities and version
    counters (and modules' flags, optimizer hyper-parameters, generator states, argument
    shapes) instead of rebuilding the guard key from shapes and dtypes. Anything else
    (an in-place write, ``p.data = ...``, ``model.eval()``, ``manual_seed``) fails the
    check and the call takes the full path."""

    __slots__ = ("jax", "prog", "snap", "gens", "gen_owners", "akey", "mode", "vals",
                 "vcs", "train", "groups", "hyper", "lens", "opts", "first")

    def __init__(self, jax, prog, snap, gens, roots, akey):
        from .. import _creation
        self.jax, self.prog, self.snap, self.gens, self.akey = jax, prog, snap, gens, akey
        self.mode = _mode()
        owners = [_creation.default_generator, *_creation._device_generators.values()]
        self.gen_owners = [next((o for o in owners if o._state is not None
                                 and o._state[1] is g), None) for g in gens]
        first: dict = {}
        for i, j in enumerate(snap.where):
            if j >= 0 and j not in first:
                first[j] = i
        self.first = [first[j] for j in range(len(snap.tensors))]
        self.train = [m.training for m in snap.modules]
        self.opts = roots.optimizers
        self.groups = [g for o in roots.optimizers for g in o.param_groups]
        self.hyper = [_hyper(g) for g in self.groups]
        self.lens = _lens(snap.modules, roots.optimizers)
        self._observe()

    def _observe(self) -> None:
        snap = self.snap
        vals = self.vals = [_slots._get(c, k) for c, k in snap.slots]
        snap.values = vals
        snap.tensors = [vals[i] for i in self.first]
        self.vcs = [t._vc[0] if t._vc is not None else 0 for t in snap.tensors]

    def holds(self, akey) -> bool:
        if akey != self.akey or _mode() != self.mode:
            return False
        get = _slots._get
        for (c, k), v in zip(self.snap.slots, self.vals):
            if get(c, k) is not v:
                return False
        for t, vc in zip(self.snap.tensors, self.vcs):
            if (t._vc[0] if t._vc is not None else 0) != vc:
                return False
        for m, tr in zip(self.snap.modules, self.train):
            if m.training is not tr:
                return False
        for o, g in zip(self.gen_owners, self.gens):
            if o is None or o._state is None or o._state[1] is not g:
                return False
        groups = [g for o in self.opts for g in o.param_groups]
        if len(groups) != len(self.groups) or any(a is not b for a, b in
                                                  zip(groups, self.groups)):
            return False
        for g, h in zip(self.groups, self.hyper):
            now = _hyper(g)
            if len(now) != len(h) or any(k1 != k2 or not (v1 is v2 or (
                    not isinstance(v1, Tensor) and v1 == v2)) for (k1, v1), (k2, v2)
                    in zip(now, h)):
                return False
        return _lens(self.snap.modules, self.opts) == self.lens

    def run(self, leaves):
        out = _jax.run(self.jax, self.prog, self.snap, self.gens, leaves)
        self._observe()
        return out


def _hyper(group) -> list:
    return [(k, v) for k, v in group.items() if k != "params" and k != "lr"]


def _lens(modules, opts) -> tuple:
    return (tuple(len(m._parameters) + len(m._buffers) + len(m._modules) for m in modules),
            tuple(len(o.state) + sum(len(st) for st in o.state.values()) for o in opts))


def _backend_of(tensors, leaves):
    """The one backend every tensor lives on, or None (no tensors, or several)."""
    be = None
    for group in (tensors, leaves):
        for t in group:
            b = t._device._be
            if be is None:
                be = b
            elif b is not be:
                return None
    return be


def _align_scalars(roots, tensors, leaves) -> bool:
    """Optimizer state kept on the default device next to parameters elsewhere (Adam's
    ``step``, a CPU 0-d tensor as in PyTorch) moves to its parameter's device, where the
    compiled program can carry it (PyTorch does the same for ``capturable=True``). True
    when something moved."""
    from collections import Counter
    count = Counter(t._device._be for group in (tensors, leaves) for t in group
                    if t._data.shape != ())
    if len(count) != 1:
        return False
    be = next(iter(count))
    moved = False
    for opt in roots.optimizers:
        for p, st in opt.state.items():
            for k, v in st.items():
                if isinstance(v, Tensor) and v._data.shape == () and v._device._be is not be \
                        and p._device._be is be:
                    st[k] = v.to(p.device)
                    moved = True
    return moved


def _generators(tensors, leaves) -> list:
    """The JAX generator states (``ember_jax`` keys) of the devices in play, made now
    as the first draw would make them."""
    devs: dict = {}
    for group in (tensors, leaves):
        for t in group:
            devs.setdefault(t._device, None)
    out = []
    for dev in devs:
        rng = _generator_for(dev, None)
        if hasattr(rng, "key") and rng not in out:
            out.append(rng)
    return out


def _merge(a, b):
    for m in b.modules:
        if all(m is not x for x in a.modules):
            a.modules.append(m)
    for o in b.optimizers:
        if all(o is not x for x in a.optimizers):
            a.optimizers.append(o)
    for c, k in b.free:
        if all(c is not x or k != y for x, y in a.free):
            a.free.append((c, k))
    return a

