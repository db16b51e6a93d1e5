"""Compiling a step on CuPy: capture the steady-state call as one CUDA graph and replay it
(PyTorch's ``mode="reduce-overhead"``).

Per guard key: the first ``WARMUP`` calls run eagerly (they create gradients, optimizer
state and the memory pool's blocks); the next one is captured on a side stream
(``cupy.cuda.Stream.begin_capture``/``end_capture``) with tensor arguments copied into
static buffers and every allocation taken from a private memory pool, which only this
graph uses, so the addresses baked into the graph stay valid. State tensors keep their
buffers: where the step rebinds one (``p._data = new``), a copy back into the old buffer
is captured at the end, so every replay reads and writes the same memory. Each later call
copies its arguments into the static buffers, launches the graph, points the slots
(``.grad``, optimizer state) at the captured tensors and returns copies of the outputs.

Capture is impossible where the step needs the host (``.item()``, ``bool(t)``, a
host-side random draw, a synchronize): CUDA invalidates the capture, and that guard case
then runs eagerly, with one warning saying why (``fullgraph=True`` raises). Random draws
are refused up front: cuRAND's offsets advance on the host, so a replay would repeat the
same numbers. Nothing here ran on a GPU when it was written (see the README).
"""
from __future__ import annotations


from .._tensor import Tensor, wrap
from . import _slots
from ._breaks import GraphBreak, Unsupported, describe, print_breaks
from ._state import tracing

__all__ = ["GraphRunner", "WARMUP"]

WARMUP = 2  # eager calls per guard case before capture (PyTorch's cudagraph trees warm up too)
_EAGER = "eager"


class _NoDraw:
    """Stands in for a device generator's state during capture: any draw is a break."""

    def __getattr__(self, name):
        raise GraphBreak("random number generation",
                         "cuRAND advances its offsets on the host, so a CUDA graph would "
                         "replay the same numbers")


class _Graph:
    __slots__ = ("graph", "stream", "pool", "static_in", "slot_objs", "data", "outs",
                 "spec")


class GraphRunner:
    """The CUDA-graph compiler of one ``CompiledCallable`` (``cp``: the cupy module,
    replaceable by a fake in tests)."""

    def __init__(self, owner, cp=None):
        self.owner = owner
        self.cp = cp
        self.graphs: dict = {}
        self.seen: dict = {}

    def _cupy(self):
        if self.cp is None:
            import cupy
            self.cp = cupy
        return self.cp

    def __call__(self, snap, leaves, akey, rebuild, args, kwargs):
        owner = self.owner
        key = owner._key(snap, akey)
        g = self.graphs.get(key)
        if g is None:
            n = self.seen.get(key, 0)
            if n < WARMUP or len(self.graphs) >= owner._limit:
                self.seen[key] = n + 1
                return owner._fn(*args, **kwargs)
            g = self.graphs[key] = self._capture(snap, leaves, rebuild)
        if g is _EAGER:
            return owner._fn(*args, **kwargs)
        return self._replay(g, snap, leaves)

    # --- capture ---------------------------------------------------------------------------
    def _capture(self, snap, leaves, rebuild):
        cp = self._cupy()
        owner = self.owner
        saved = _slots.save(snap, owner._roots, [])
        gens = _device_generators(snap.tensors, leaves)
        before = [t._data for t in snap.tensors]  # the buffers every replay reads and writes
        g = _Graph()
        g.pool = cp.cuda.MemoryPool()
        g.stream = cp.cuda.Stream(non_blocking=True)
        g.static_in = []
        wrappers = []
        for t in leaves:  # static input buffers, filled now and before every replay
            buf = cp.empty_like(t._data)
            buf[...] = t._data
            g.static_in.append(buf)
            w = wrap(buf, t.dtype, t._device)
            w._requires_grad = t._requires_grad
            wrappers.append(w)
        a, kw = rebuild(wrappers)
        result = None
        graph = None
        err = None
        old_states = [(gen, gen._state) for gen in gens]
        for gen in gens:
            gen._state = (gen._state[0] if gen._state else None, _NoDraw())
        # the side stream starts after everything queued so far (argument copies included)
        g.stream.wait_event(cp.cuda.get_current_stream().record())
        try:
            with cp.cuda.using_allocator(g.pool.malloc), g.stream:
                capturing = False
                try:
                    # relaxed: the private pool may cudaMalloc while capturing
                    g.stream.begin_capture(getattr(cp.cuda.runtime,
                                                   "streamCaptureModeRelaxed", None))
                    capturing = True
                    with tracing(), print_breaks():
                        result = owner._fn(*a, **kw)
                    # rebound state goes back into the buffers the graph reads next time
                    for t, buf in zip(snap.tensors, before):
                        if t._data is not buf:
                            buf[...] = t._data
                except BaseException as exc:  # noqa: BLE001 - reported below
                    err = exc
                finally:
                    if capturing:
                        try:
                            graph = g.stream.end_capture()
                        except Exception as exc:  # noqa: BLE001 - an invalidated capture
                            err = err or exc
        finally:
            for gen, st in old_states:
                gen._state = st
        if err is not None:
            _slots.restore(saved)
            self._fail(err)
            return _EAGER
        g.graph = graph
        after = _slots.gather(owner._roots, owner._grads)
        if after.sig != snap.sig:  # new state made during capture: not a steady state
            _slots.restore(saved)
            return _EAGER
        # the slots' captured objects: the graph rewrites their memory on every replay
        g.slot_objs = [(i, v) for i, v in enumerate(after.values)
                       if v is not snap.values[i]]
        refs: list = []
        from ._jax import _flatten_out
        g.spec = _flatten_out(result, refs)
        g.outs = refs
        # capture recorded the work without running it: the state still holds its values
        # in its own buffers; the caller's replay runs the step for this call
        _slots.restore(saved)
        return g

    def _fail(self, exc: BaseException) -> None:
        owner = self.owner
        op = describe(exc)
        why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if owner._fullgraph:
            raise Unsupported(f"ember.compile(fullgraph=True): cannot capture {owner._name} "
                              f"as a CUDA graph at {op}: {why}") from exc
        owner._warn_once("cuda-graph:" + op, f"ember.compile: cannot capture {owner._name} as "
                         f"a CUDA graph at {op} ({why}); running it eagerly")

    # --- replay ----------------------------------------------------------------------------
    def _replay(self, g, snap, leaves):
        cp = self._cupy()
        cur = cp.cuda.get_current_stream()
        g.stream.wait_event(cur.record())
        with g.stream:
            for buf, t in zip(g.static_in, leaves):
                buf[...] = t._data
            g.graph.launch(g.stream)
        cur.wait_event(g.stream.record())  # later eager work sees the results
        slots = snap.slots
        for i, v in g.slot_objs:
            c, k = slots[i]
            _slots.set_slot(c, k, v)
        for t in snap.tensors:
            t._bump()
        from ._jax import _unflatten_out
        vals = [_copy_out(t) for t in g.outs]
        return _unflatten_out(g.spec, vals)


def _copy_out(t):
    """An output the caller owns (the graph rewrites its own buffer on the next replay)."""
    if not isinstance(t, Tensor):
        return t
    out = wrap(t._data.copy(), t.dtype, t._device)
    return out


def _device_generators(tensors, leaves) -> list:
    """The ``ember.Generator`` objects serving the devices in play (made as a first draw
    would make them)."""
    from .. import _creation
    out = []
    devs: dict = {}
    for group in (tensors, leaves):
        for t in group:
            devs.setdefault(t._device, None)
    for dev in devs:
        _creation._generator_for(dev, None)
        gen = _creation.default_generator if dev.type == "cpu" else \
            _creation._device_generators.get(dev)
        if gen is not None and gen not in out:
            out.append(gen)
    return out
