"""The autograd graph: nodes (``grad_fn``), leaf accumulators, and the backward engine.

An op that needs a gradient calls :func:`record` with its output, its inputs, a name
(``"MulBackward0"``) and a backward function written with Tensor ops, so running it with
grad mode on (``create_graph=True``) builds the graph of the gradient and higher-order
gradients come free. The engine is iterative (Kahn's algorithm over dependency counts):
a chain of 10,000 ops backs up without touching the recursion limit.

Shapes are the engine's job, as in PyTorch's ``validate_outputs``: a gradient arriving for
a broadcast input is summed back to that input's shape and cast to its dtype (a complex
gradient reaching a real input keeps its real part, as PyTorch's), so each op's backward
only states its maths.

Complex gradients follow PyTorch's convention (conjugate Wirtinger: for a real loss L the
gradient of z is dL/dRe(z) + i dL/dIm(z)), so a holomorphic op's backward multiplies by the
*conjugate* derivative. An op's backward states the plain derivative (``g * y`` for mul);
:func:`record` conjugates it for complex results once, here: ``conj(fn(conj(g)))`` is
``g * conj(f'(z))`` for every holomorphic op and leaves any real-coefficient linear map
(sums, views, indexing) as it is. Ops whose backward already speaks the complex
convention (conj, real/imag, abs/angle, the DFTs, decompositions, custom Functions) record
with ``holomorphic=False``. Real results never take that path.
"""
from __future__ import annotations

import weakref

from .grad_mode import STATE

__all__ = ["Node", "AccumulateGrad", "CONSTANT", "record", "run_backward"]

# Set by tools that must see each node run (the profiler): ``NODE_HOOK(node, fn)`` returns
# the function to call in place of the node's backward ``fn``. Read once per backward run.
NODE_HOOK = None
# Set by ``autograd.forward_ad`` while a dual level is open: ``FORWARD(out, name, inputs,
# fn)`` gives each recorded op's output its tangent. Outside a level it costs one global read.
FORWARD = None

_FREED = ("Trying to backward through the graph a second time (or directly access saved "
          "tensors after they have already been freed). Saved intermediate values of the graph "
          "are freed when you call .backward() or autograd.grad(). Specify retain_graph=True if "
          "you need to backward through the graph a second time or if you need to access saved "
          "tensors after calling backward.")


class Node:
    """A ``grad_fn``: how to turn the gradient of an op's output(s) into its inputs'."""

    __slots__ = ("_name", "_fn", "next_functions", "_saved", "_meta", "_pre_hooks", "_hooks",
                 "_metadata", "_materialize", "__weakref__")

    def __init__(self, name, fn, next_functions, saved, meta):
        self._name = name
        self._fn = fn
        self.next_functions = next_functions  # ((node | None, output_nr), ...) per input
        self._saved = saved                     # ((tensor, version), ...) to check and free
        self._meta = meta                       # ((shape, dtype, device), ...) per output
        self._pre_hooks = None                  # {output_nr: [fn]} from Tensor.register_hook
        self._hooks = None                      # [fn(grad_inputs, grad_outputs)]
        self._metadata = None
        self._materialize = True                # zeros (not None) for outputs with no grad

    @property
    def metadata(self) -> dict:
        """Mirrors ``Node.metadata``: a dict for the user's notes (made on first use)."""
        if self._metadata is None:
            self._metadata = {}
        return self._metadata

    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<{self._name} object at {id(self):#x}>"

    def register_hook(self, fn):
        """Mirrors ``Node.register_hook``: ``fn(grad_inputs, grad_outputs)`` after it runs."""
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(fn)
        return _Handle(self._hooks, fn)

    def register_prehook(self, fn):
        return self._add_pre_hook(0, fn)

    def _add_pre_hook(self, nr, fn, retain=False):
        if self._pre_hooks is None:
            self._pre_hooks = {}
        lst = self._pre_hooks.setdefault(nr, [])
        if retain:
            _RETAIN_HOOKS.add(fn)
            lst.append(fn)
        else:
            # retain_grad's hook stays last, so .grad shows what other hooks made (PyTorch)
            lst.insert(next((k for k, h in enumerate(lst) if h in _RETAIN_HOOKS), len(lst)), fn)
        return _Handle(lst, fn)

    @property
    def saved_tensors(self):
        if self._saved is None:
            raise RuntimeError(_FREED)
        return tuple(t for t, _ in self._saved)

    def _check_saved(self):
        for t, version in self._saved:
            now = t._vc[0] if t._vc is not None else 0
            if now != version:
                raise RuntimeError(_modified_message(t, now, version))


def _modified_message(t, now: int, version: int) -> str:
    """PyTorch's error for a saved tensor changed in place after it was saved. The node is
    named as PyTorch names it ("output 0 of Add"); a leaf gets no "which is" clause."""
    import re
    from .._tensor import _type_string
    node = t._grad_fn
    which = ""
    if node is not None:
        which = f", which is output {t._out_nr} of {re.sub(r'Backward[0-9]*$', '', node._name)},"
    return ("one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{_type_string(t)} {list(t.shape)}]{which} is at version "
            f"{now}; expected version {version} instead. Hint: enable anomaly detection to "
            "find the operation that failed to compute its gradient, with "
            "torch.autograd.set_detect_anomaly(True, check_nan=False).")


_NODE_TYPES: dict = {}
_new = object.__new__
_RETAIN_HOOKS = weakref.WeakSet()  # the hooks Tensor.retain_grad registered


def _node_type(name: str) -> type:
    """A Node subclass named ``name``, so ``type(t.grad_fn).__name__ == "MulBackward0"`` as
    in PyTorch (graph drawers such as torchviz label nodes that way). Made once per name."""
    cls = _NODE_TYPES.get(name)
    if cls is None:
        cls = _NODE_TYPES[name] = type(name, (Node,), {"__slots__": ()})
    return cls


class AccumulateGrad(Node):
    """The node at a leaf: adds the incoming gradient into ``tensor.grad``."""

    __slots__ = ("variable", "_post_hooks")

    def __init__(self, tensor):
        t = tensor
        # PyTorch's name() for this node is the C++ one
        super().__init__("torch::autograd::AccumulateGrad", None, (), (),
                         ((t._data.shape, t.dtype, t._device),))
        self.variable = tensor
        self._post_hooks = None  # [fn(tensor)] from Tensor.register_post_accumulate_grad_hook

    def _add_post_hook(self, fn):
        if self._post_hooks is None:
            self._post_hooks = []
        self._post_hooks.append(fn)
        return _Handle(self._post_hooks, fn)

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class _Handle:
    """What ``register_hook`` returns: ``.remove()`` takes the hook off."""

    __slots__ = ("_lst", "_fn")

    def __init__(self, lst, fn):
        self._lst, self._fn = lst, fn

    def remove(self):
        try:
            self._lst.remove(self._fn)
        except ValueError:
            pass


def _edge(t):
    node = t._grad_fn
    if node is not None:
        return (node, t._out_nr)
    if t._requires_grad:
        acc = t._accum
        if acc is None:
            acc = t._accum = AccumulateGrad(t)
        return (acc, 0)
    return _NO_EDGE


_NO_EDGE = (None, 0)  # an input that wants no gradient


class _Constant:
    """An input slot PyTorch's node has but no tensor fills in ember: a Python scalar that
    PyTorch wraps as a tensor (``a * 2`` is ``MulBackward0`` with edges ``(a, None)``), or
    an absent optional tensor (layer_norm without weight). Passed to :func:`record` like a
    tensor that needs no gradient; its backward returns None in that place."""

    __slots__ = ()
    _grad_fn = None
    _requires_grad = False
    _out_nr = 0


CONSTANT = _Constant()


def _conjugated(fn):
    """``fn`` (a holomorphic op's backward with the plain derivative) in PyTorch's complex
    convention: ``conj(fn(conj(g)))``, i.e. ``g * conj(f'(z))``."""
    def back(*grads):
        outs = fn(*[g if g is None or not g.dtype.is_complex else g.conj() for g in grads])
        if type(outs) is not tuple:
            outs = (outs,) if not isinstance(outs, list) else tuple(outs)
        return tuple([g if g is None or not g.dtype.is_complex else g.conj() for g in outs])
    return back


def record(out, name, inputs, fn, saved=(), holomorphic=True):
    """Attach a grad_fn to ``out`` (or a tuple of outputs). ``fn(grad)`` (one output) or
    ``fn(*grads)`` returns one gradient per input (None where there is none). ``saved`` lists
    the tensors ``fn`` reads: their versions are checked, and they are freed after use.
    For a complex result ``fn`` gives the plain (holomorphic) derivative and is conjugated
    here (see the module docstring), unless ``holomorphic=False``: then ``fn`` already
    follows PyTorch's conjugate Wirtinger convention."""
    # every op under autograd comes through here: the node is filled in directly (no
    # __init__ frame), _edge is inlined for one and two inputs, saved versions likewise
    node = _new(_NODE_TYPES.get(name) or _node_type(name))
    node._name = name
    node._fn = fn
    if type(inputs) is not tuple:
        inputs = tuple(inputs)
    if len(inputs) == 1:
        t = inputs[0]
        nxt = t._grad_fn
        node.next_functions = ((nxt, t._out_nr) if nxt is not None else _edge(t),)
    elif len(inputs) == 2:
        t, u = inputs
        nxt, nxu = t._grad_fn, u._grad_fn
        node.next_functions = (
            (nxt, t._out_nr) if nxt is not None else _edge(t) if t._requires_grad else _NO_EDGE,
            (nxu, u._out_nr) if nxu is not None else _edge(u) if u._requires_grad else _NO_EDGE)
    else:
        node.next_functions = tuple([_edge(t) for t in inputs])
    if not saved:
        node._saved = ()
    else:
        if type(saved) is not tuple:
            saved = tuple(saved)
        if len(saved) == 1:
            t = saved[0]
            node._saved = ((t, t._vc[0] if t._vc is not None else 0),)
        elif len(saved) == 2:
            t, u = saved
            node._saved = ((t, t._vc[0] if t._vc is not None else 0),
                           (u, u._vc[0] if u._vc is not None else 0))
        else:
            node._saved = tuple([(t, t._vc[0] if t._vc is not None else 0) for t in saved])
    node._pre_hooks = node._hooks = node._metadata = None
    node._materialize = True
    if type(out) is tuple:
        node._meta = tuple([(o._data.shape, o.dtype, o._device) for o in out])
        for i, o in enumerate(out):
            o._grad_fn, o._requires_grad, o._out_nr = node, True, i
        if holomorphic and any(o.dtype.is_complex for o in out):
            node._fn = _conjugated(fn)
    else:
        dt = out.dtype
        node._meta = ((out._data.shape, dt, out._device),)
        out._grad_fn = node
        out._requires_grad = True
        if dt.is_complex and holomorphic:
            node._fn = _conjugated(fn)
    if FORWARD is not None:
        FORWARD(out, name, inputs, fn)
    return out


# --- the engine -------------------------------------------------------------------------

def _fit(g, meta):
    """Sum a gradient back to the input's (broadcast) shape and cast it to its dtype."""
    shape, dtype, _ = meta
    if g._data.shape != shape:
        from ..ops.reduction import sum_to_size
        g = sum_to_size(g, shape)
    if g.dtype is not dtype:
        if g.dtype.is_complex and not dtype.is_complex:
            g = g.real  # a real input that fed a complex op: PyTorch keeps the real part
        g = g.to(dtype)
    return g


def run_backward(roots, grads, retain_graph=False, create_graph=False, inputs=None,
                 accumulate=True):
    """Backpropagate ``grads`` from ``roots`` (tensors). With ``inputs`` (tensors), return
    their gradients instead of (``accumulate=False``) or as well as accumulating into
    leaves' ``.grad``; gradients reaching no input stay None."""
    buffers = {}
    ready_roots = []
    for t, g in zip(roots, grads):
        node, nr = _edge(t)
        if node is None:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                               "grad_fn")
        buf = buffers.get(node)
        if buf is None:
            buf = buffers[node] = [None] * len(node._meta)
            ready_roots.append(node)
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    # dependency counts over the reachable graph (iterative DFS); its keys are the nodes seen
    deps = dict.fromkeys(ready_roots, 0)
    stack = list(ready_roots)
    while stack:
        for nxt, _ in stack.pop().next_functions:
            if nxt is None:
                continue
            d = deps.get(nxt)
            if d is None:
                deps[nxt] = 1
                stack.append(nxt)
            else:
                deps[nxt] = d + 1

    # where to capture gradients for autograd.grad: {node: {output_nr: slot}}
    capture = None
    results = None
    if inputs is not None:
        capture = {}
        results = [None] * len(inputs)
        for i, t in enumerate(inputs):
            node, nr = _edge(t)
            if node is not None:
                capture.setdefault(node, {}).setdefault(nr, []).append(i)
    # autograd.grad / backward(inputs=...) run only the nodes that lead to an input
    needed = _leading_to(deps, capture) if capture is not None and not accumulate else None

    hook = NODE_HOOK
    prev = STATE.enabled
    STATE.enabled = bool(create_graph)
    stored = set()  # data ids already kept as some leaf's .grad during this pass
    try:
        ready = [n for n in ready_roots if deps[n] == 0 and (needed is None or n in needed)]
        while ready:
            node = ready.pop()
            buf = buffers.pop(node)
            if node._pre_hooks:
                for nr, hooks in node._pre_hooks.items():
                    for h in list(hooks):
                        if buf[nr] is not None:
                            new = h(buf[nr])
                            if new is not None:
                                buf[nr] = new
            if capture is not None and node in capture:
                for nr, slots in capture[node].items():
                    for i in slots:
                        results[i] = buf[nr]
            fn = node._fn
            if fn is None:  # a leaf's AccumulateGrad, or a node whose graph was freed
                if type(node) is AccumulateGrad:
                    if accumulate and buf[0] is not None:
                        _accumulate(node.variable, buf[0], create_graph, stored)
                        if node._post_hooks:  # e.g. DDP's gradient-ready hook
                            for h in list(node._post_hooks):
                                h(node.variable)
                    continue
                if node._saved is None:
                    raise RuntimeError(_FREED)
                raise RuntimeError(f"{node._name} has no backward function")
            if hook is not None:
                fn = hook(node, fn)
            saved = node._saved
            if saved:
                for t, version in saved:
                    if (t._vc[0] if t._vc is not None else 0) != version:
                        node._check_saved()  # raises PyTorch's message
            if len(buf) == 1:
                g = buf[0]
                if g is None:
                    _skip_children(node, deps, ready, buffers)
                    continue
                outs = fn(g)
            else:
                if all(g is None for g in buf):
                    _skip_children(node, deps, ready, buffers)
                    continue
                outs = fn(*[_zeros_for(m) if g is None else g
                            for g, m in zip(buf, node._meta)] if node._materialize else buf)
            if type(outs) is not tuple:
                outs = (outs,) if not isinstance(outs, list) else tuple(outs)
            if node._hooks:
                for h in list(node._hooks):
                    new = h(outs, tuple(buf))
                    if new is not None:
                        outs = tuple(new)
            if saved and not retain_graph:
                node._fn = None
                node._saved = None
            nexts = node.next_functions
            if len(outs) != len(nexts):
                raise RuntimeError(f"function {node._name} returned an incorrect number of "
                                   f"gradients (expected {len(nexts)}, got {len(outs)})")
            for (nxt, nr), g in zip(nexts, outs):
                if nxt is None or (needed is not None and nxt not in needed):
                    continue
                if g is not None:
                    meta = nxt._meta[nr]
                    if g.dtype is not meta[1] or g._data.shape != meta[0]:
                        g = _fit(g, meta)
                    nbuf = buffers.get(nxt)
                    if nbuf is None:
                        if len(nxt._meta) == 1:  # the usual single-output node
                            buffers[nxt] = [g]
                        else:
                            nbuf = buffers[nxt] = [None] * len(nxt._meta)
                            nbuf[nr] = g
                    elif nbuf[nr] is None:
                        nbuf[nr] = g
                    else:
                        nbuf[nr] = nbuf[nr] + g
                d = deps[nxt] - 1
                deps[nxt] = d
                if d == 0:
                    if nxt in buffers:
                        ready.append(nxt)
                    else:
                        _skip_children(nxt, deps, ready, buffers)
    finally:
        STATE.enabled = prev
    return results


def _leading_to(nodes, targets) -> set:
    """The nodes among ``nodes`` from which some node in ``targets`` can be reached. (Every
    parent of such a node is one too, so dependency counts need no adjusting.)"""
    parents = {}
    for n in nodes:
        for nxt, _ in n.next_functions:
            if nxt is not None:
                parents.setdefault(nxt, []).append(n)
    out = set(targets)
    stack = list(out)
    while stack:
        for p in parents.get(stack.pop(), ()):
            if p not in out:
                out.add(p)
                stack.append(p)
    return out


def _skip_children(node, deps, ready, buffers):
    """A node that received no gradient still releases its children's dependency counts."""
    stack = [node]
    while stack:
        n = stack.pop()
        for nxt, _ in n.next_functions:
            if nxt is None:
                continue
            d = deps[nxt] - 1
            deps[nxt] = d
            if d == 0:
                # reached by a gradient on another path: it runs; otherwise skip it too
                (ready if nxt in buffers else stack).append(nxt)


def _zeros_for(meta):
    from .._creation import zeros
    shape, dtype, dev = meta
    return zeros(shape, dtype=dtype, device=dev)


_CYCLE_WARNING = ("Using backward() with create_graph=True will create a reference cycle "
                  "between the parameter and its gradient which can cause a memory leak. We "
                  "recommend using autograd.grad when creating the graph to avoid this. If you "
                  "have to use this function, make sure to reset the .grad fields of your "
                  "parameters to None after use to break the cycle and avoid the leak.")
_warned_cycle = [False]


def _accumulate(t, g, create_graph, stored):
    """``t.grad += g`` as PyTorch's AccumulateGrad does it: the first gradient is kept as is
    when nothing else can see its memory, later ones add in place (out of place when the
    graph of the gradient is wanted)."""
    if create_graph and not _warned_cycle[0]:  # PyTorch warns once a process
        import warnings
        _warned_cycle[0] = True
        warnings.warn(_CYCLE_WARNING, UserWarning, stacklevel=5)  # at Tensor.backward's caller
    if not create_graph and g._requires_grad:
        g = g.detach()
    old = t.grad
    if old is None:
        if id(g._data) in stored or not g._device._be.owns(g._data):
            g = g.clone()
        stored.add(id(g._data))
        t.grad = g
    elif create_graph or old._requires_grad:
        t.grad = old + g
    else:
        a = old._data
        a += g._data  # in place on mutable arrays; rebinds on immutable ones
        old._data = a
