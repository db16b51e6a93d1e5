"""The ``weights_only`` unpickler: mirrors ``torch._weights_only_unpickler``.

A pickle interpreter written out opcode by opcode (after PyTorch's and CPython's
``pickle.py``) so that nothing a file says reaches Python beyond:

- globals in the allow-list (PyTorch's defaults mapped to ember, numeric numpy arrays) or
  allowed by the caller (``add_safe_globals``/``safe_globals``); ``sys``/``os`` never;
- calls (``REDUCE``) and ``NEWOBJ`` of those globals only;
- ``BUILD`` (setting state) only on objects this unpickler created itself from an allowed
  class (never on a global such as a dtype or a function: a file cannot change
  process-wide state), ``APPEND`` only to lists and ``SETITEM`` only to dicts.

Lengths are never trusted: every read is checked against the bytes actually present, so
a declared 2**40-byte string costs nothing. The interpreter is iterative (no recursion).
"""
from __future__ import annotations

import _compat_pickle
import io
import pickle
from collections import Counter, OrderedDict
from struct import unpack

from . import _numpy_pickle, _safe_globals


class Malformed(ValueError):
    """The pickle is not one a pickler writes (the caller raises a CheckpointError);
    refusals of what it asks for are ``pickle.UnpicklingError``, as in PyTorch."""


class Truncated(Malformed):
    """The pickle ends in the middle of an opcode."""


def _api() -> str:
    """How the caller names the serialization module: ``torch.serialization`` under
    ``ember run`` (where the script says torch), else ``ember.serialization``."""
    import sys
    t = sys.modules.get("torch")
    return "torch" if t is not None and getattr(t, "__name__", "") == "ember" else "ember"


def unsupported_global(full_path: str) -> pickle.UnpicklingError:
    if full_path.startswith("builtins."):
        full_path = full_path[len("builtins."):]
    api = _api()
    return pickle.UnpicklingError(
        f"Unsupported global: GLOBAL {full_path} was not an allowed global by default. "
        f"Please use `{api}.serialization.add_safe_globals([{full_path}])` or the "
        f"`{api}.serialization.safe_globals([{full_path}])` context manager to allowlist "
        "this global if you trust this class/function.")


def _py3_name(module: str, name: str) -> tuple:
    """Protocol 2 writes Python 2 names (``__builtin__.set``); map them as torch's reader
    does."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


class Unpickler:
    def __init__(self, data: bytes, allowed: dict, persistent_load, unsupported: dict):
        self._f = io.BytesIO(data)
        self._allowed = allowed
        self._user = _safe_globals.user_allowed()
        self._persistent_load = persistent_load
        self._unsupported = unsupported
        user_values = list(self._user.values())
        self._classes = {id(c): c for c in (OrderedDict, Counter, *user_values)
                         if isinstance(c, type)}
        from .._tensor import Tensor
        # torch.Tensor is allowed as a type (``_rebuild_from_type_v2``'s argument), never
        # called: ``Tensor(2**40)`` would let a file size an allocation
        self._callables = {id(v): v for v in (*allowed.values(), *user_values)
                           if v is not Tensor}
        self.memo: dict = {}
        self._made: dict = {}  # id -> object this unpickler created (BUILD targets)
        self._pending: dict = {}  # id(placeholder) -> memo keys holding it

    def read(self, n: int) -> bytes:
        b = self._f.read(n)  # never more than is there: a declared length allocates nothing
        if len(b) != n:
            raise Truncated(f"pickle data was truncated (wanted {n} bytes, {len(b)} left)")
        return b

    def readline(self) -> bytes:
        b = self._f.readline(256)
        if not b.endswith(b"\n"):
            raise Truncated("pickle data was truncated in a GLOBAL name")
        return b[:-1]

    def find_class(self, module: str, name: str):
        module, name = _py3_name(module, name)
        full = f"{module}.{name}"
        if module.split(".")[0] in _safe_globals.BLOCKED_MODULES:
            raise pickle.UnpicklingError(f"Trying to load unsupported GLOBAL {full} whose "
                                         f"module {module} is blocked.")
        if full in self._allowed:
            return self._allowed[full]
        if full in self._user:
            return self._user[full]
        if full in self._unsupported:
            raise pickle.UnpicklingError(f"{full}: ember cannot load "
                                         f"{self._unsupported[full]}")
        raise unsupported_global(full)

    def _call(self, func, args):
        if id(func) not in self._callables or type(args) is not tuple:
            msg = f"Trying to call reduce for unrecognized function {func}"
            if hasattr(func, "__self__"):
                msg += f" which belongs to {func.__self__}"
            raise pickle.UnpicklingError(msg)
        result = func(*args)
        if id(func) in self._classes or isinstance(result, _numpy_pickle.PLACEHOLDERS):
            self._made[id(result)] = result
        return result

    def _build(self, inst, state):
        if isinstance(inst, _numpy_pickle.PLACEHOLDERS) and id(inst) in self._made:
            out = inst.build(state)
            for k in self._pending.pop(id(inst), ()):
                self.memo[k] = out
            return out
        if id(inst) not in self._made:
            raise pickle.UnpicklingError(
                "Can only build objects this load created from an allowed class, but got "
                f"{type(inst).__module__}.{type(inst).__qualname__}")
        if type(inst) in (OrderedDict, Counter):
            if not isinstance(state, dict) or not all(type(k) is str for k in state):
                raise Malformed("invalid state for an OrderedDict")
            inst.__dict__.update(state)
        elif getattr(inst, "__setstate__", None) is not None:
            inst.__setstate__(state)
        else:
            slotstate = None
            if isinstance(state, tuple) and len(state) == 2:
                state, slotstate = state
            if state:
                inst.__dict__.update(state)
            if slotstate:
                for k, v in slotstate.items():
                    setattr(inst, k, v)
        return inst

    def load(self):
        """The object the pickle describes (opcodes after CPython's ``pickle.py``: a
        dispatch table of the opcodes a checkpoint uses; any other is refused)."""
        self.stack, self.metastack = [], []
        dispatch, f = self._dispatch(), self._f
        while True:
            key = f.read(1)
            if not key:
                raise Truncated("pickle data ended without STOP")
            handler = dispatch.get(key[0])
            if handler is None:
                raise Malformed(f"Unsupported operand {key[0]}")
            if handler():
                return self.stack.pop()

    def _pop_mark(self) -> list:
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _dispatch(self) -> dict:
        P, read = pickle, self.read

        def push(v):
            self.stack.append(v)

        def op_global():
            module = self.readline().decode("utf-8")
            push(self.find_class(module, self.readline().decode("utf-8")))

        def op_stack_global():
            name, module = self.stack.pop(), self.stack.pop()
            if type(name) is not str or type(module) is not str:
                raise Malformed("STACK_GLOBAL requires str")
            push(self.find_class(module, name))

        def op_reduce():
            args = self.stack.pop()
            self.stack[-1] = self._call(self.stack[-1], args)

        def op_newobj():
            args = self.stack.pop()
            cls = self.stack.pop()
            from ..nn import Parameter
            if cls is Parameter:
                push(Parameter(*args))
            elif id(cls) in self._classes and type(args) is tuple:
                obj = cls.__new__(cls, *args)
                self._made[id(obj)] = obj
                push(obj)
            else:
                raise pickle.UnpicklingError(
                    "Can only create new object for nn.Parameter or classes allowlisted "
                    f"via `add_safe_globals` but got {cls}")

        def op_build():
            state = self.stack.pop()
            self.stack[-1] = self._build(self.stack[-1], state)

        def op_mark():
            self.metastack.append(self.stack)
            self.stack = []

        def op_pop():
            if self.stack:
                self.stack.pop()
            else:
                self._pop_mark()

        def op_tuple2():
            st = self.stack
            st[-2:] = [(st[-2], st[-1])]

        def op_tuple3():
            st = self.stack
            st[-3:] = [(st[-3], st[-2], st[-1])]

        def op_append():
            item = self.stack.pop()
            self._list(self.stack[-1]).append(item)

        def op_appends():
            items = self._pop_mark()
            self._list(self.stack[-1]).extend(items)

        def op_dict():
            items = self._pop_mark()
            push({items[i]: items[i + 1] for i in range(0, len(items) - 1, 2)})

        def op_setitem():
            v, k = self.stack.pop(), self.stack.pop()
            self._dict(self.stack[-1])[k] = v

        def op_setitems():
            items = self._pop_mark()
            d = self._dict(self.stack[-1])
            for i in range(0, len(items) - 1, 2):
                d[items[i]] = items[i + 1]

        def op_additems():
            items = self._pop_mark()
            if type(self.stack[-1]) is not set:
                raise Malformed("Can only add items to sets")
            self.stack[-1].update(items)

        def op_tuple1():
            self.stack[-1] = (self.stack[-1],)

        def counted(fmt: str, size: int):
            def n():
                v = unpack(fmt, read(size))[0]
                if v < 0:
                    raise Malformed("negative byte count in pickle")
                return v
            return n
        n4, n8, n4s = counted("<I", 4), counted("<Q", 8), counted("<i", 4)

        def text(data: bytes) -> str:
            return str(data, "utf-8", "surrogatepass")

        def stop():
            return True

        return {
            P.PROTO[0]: lambda: read(1) and None,
            P.FRAME[0]: lambda: read(8) and None,
            P.STOP[0]: stop,
            P.GLOBAL[0]: op_global,
            P.STACK_GLOBAL[0]: op_stack_global,
            P.REDUCE[0]: op_reduce,
            P.NEWOBJ[0]: op_newobj,
            P.BUILD[0]: op_build,
            P.BINPERSID[0]: lambda: push(self._persistent_load(self.stack.pop())),
            P.MARK[0]: op_mark,
            P.POP[0]: op_pop,
            P.POP_MARK[0]: lambda: self._pop_mark() and None,
            P.DUP[0]: lambda: push(self.stack[-1]),
            P.EMPTY_TUPLE[0]: lambda: push(()),
            P.TUPLE[0]: lambda: push(tuple(self._pop_mark())),
            P.TUPLE1[0]: op_tuple1,
            P.TUPLE2[0]: op_tuple2,
            P.TUPLE3[0]: op_tuple3,
            P.EMPTY_LIST[0]: lambda: push([]),
            P.LIST[0]: lambda: push(self._pop_mark()),
            P.APPEND[0]: op_append,
            P.APPENDS[0]: op_appends,
            P.EMPTY_DICT[0]: lambda: push({}),
            P.DICT[0]: op_dict,
            P.SETITEM[0]: op_setitem,
            P.SETITEMS[0]: op_setitems,
            P.EMPTY_SET[0]: lambda: push(set()),
            P.ADDITEMS[0]: op_additems,
            P.FROZENSET[0]: lambda: push(frozenset(self._pop_mark())),
            P.NONE[0]: lambda: push(None),
            P.NEWTRUE[0]: lambda: push(True),
            P.NEWFALSE[0]: lambda: push(False),
            P.BININT[0]: lambda: push(unpack("<i", read(4))[0]),
            P.BININT1[0]: lambda: push(read(1)[0]),
            P.BININT2[0]: lambda: push(unpack("<H", read(2))[0]),
            P.LONG1[0]: lambda: push(pickle.decode_long(read(read(1)[0]))),
            P.LONG4[0]: lambda: push(pickle.decode_long(read(n4s()))),
            P.BINFLOAT[0]: lambda: push(unpack(">d", read(8))[0]),
            P.BINUNICODE[0]: lambda: push(text(read(n4()))),
            P.SHORT_BINUNICODE[0]: lambda: push(text(read(read(1)[0]))),
            P.BINUNICODE8[0]: lambda: push(text(read(n8()))),
            P.SHORT_BINSTRING[0]: lambda: push(read(read(1)[0]).decode("ascii")),
            P.BINSTRING[0]: lambda: push(read(n4s()).decode("ascii")),
            P.SHORT_BINBYTES[0]: lambda: push(read(read(1)[0])),
            P.BINBYTES[0]: lambda: push(read(n4())),
            P.BINBYTES8[0]: lambda: push(read(n8())),
            P.BINPUT[0]: lambda: self._put(read(1)[0], self.stack[-1]),
            P.LONG_BINPUT[0]: lambda: self._put(n4(), self.stack[-1]),
            P.MEMOIZE[0]: lambda: self._put(len(self.memo), self.stack[-1]),
            P.BINGET[0]: lambda: push(self._get(read(1)[0])),
            P.LONG_BINGET[0]: lambda: push(self._get(n4())),
        }

    def _put(self, i: int, obj) -> None:
        self.memo[i] = obj
        if isinstance(obj, _numpy_pickle.PLACEHOLDERS):
            self._pending.setdefault(id(obj), []).append(i)

    def _get(self, i: int):
        try:
            return self.memo[i]
        except KeyError:
            raise Malformed(f"Memo value not found at index {i}") from None

    @staticmethod
    def _list(obj):
        if type(obj) is not list:
            raise Malformed(f"Can only append to lists, but got {type(obj)}")
        return obj

    @staticmethod
    def _dict(obj):
        if type(obj) not in (dict, OrderedDict, Counter):
            raise Malformed(
                "Can only SETITEM for dict, collections.OrderedDict, collections.Counter, "
                f"but got {type(obj)}")
        return obj


def globals_in(data: bytes) -> list:
    """The ``module.name`` of every GLOBAL/STACK_GLOBAL in the pickle, read statically
    (``pickletools`` reads lengths against the bytes present)."""
    import pickletools
    out, strings = [], []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            out.append(".".join(_py3_name(*arg.split(" ", 1))))
        elif op.name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE"):
            strings.append(arg)
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            out.append(f"{strings[-2]}.{strings[-1]}")
    return list(dict.fromkeys(out))
