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
        b = self._f.read(n)
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
        """The object the pickle describes (opcodes after CPython's ``pickle.py``)."""
        P = pickle
        stack: list = []
        metastack: list = []
        read, memo = self.read, self.memo

        def pop_mark():
            nonlocal stack
            items = stack
            stack = metastack.pop()
            return items

        while True:
            key = self._f.read(1)
            if not key:
                raise Truncated("pickle data ended without STOP")
            op = key[0]
            if op == P.PROTO[0]:
                read(1)
            elif op == P.FRAME[0]:
                read(8)
            elif op == P.STOP[0]:
                return stack.pop()
            elif op == P.GLOBAL[0]:
                module = self.readline().decode("utf-8")
                stack.append(self.find_class(module, self.readline().decode("utf-8")))
            elif op == P.STACK_GLOBAL[0]:
                name, module = stack.pop(), stack.pop()
                if type(name) is not str or type(module) is not str:
                    raise Malformed("STACK_GLOBAL requires str")
                stack.append(self.find_class(module, name))
            elif op == P.REDUCE[0]:
                args = stack.pop()
                stack[-1] = self._call(stack[-1], args)
            elif op == P.NEWOBJ[0]:
                args = stack.pop()
                cls = stack.pop()
                from ..nn import Parameter
                if cls is Parameter:
                    stack.append(Parameter(*args))
                elif id(cls) in self._classes and type(args) is tuple:
                    obj = cls.__new__(cls, *args)
                    self._made[id(obj)] = obj
                    stack.append(obj)
                else:
                    raise pickle.UnpicklingError(
                        "Can only create new object for nn.Parameter or classes allowlisted "
                        f"via `add_safe_globals` but got {cls}")
            elif op == P.BUILD[0]:
                state = stack.pop()
                stack[-1] = self._build(stack[-1], state)
            elif op == P.BINPERSID[0]:
                stack.append(self._persistent_load(stack.pop()))
            # containers
            elif op == P.MARK[0]:
                metastack.append(stack)
                stack = []
            elif op == P.POP[0]:
                if stack:
                    stack.pop()
                else:
                    pop_mark()
            elif op == P.POP_MARK[0]:
                pop_mark()
            elif op == P.DUP[0]:
                stack.append(stack[-1])
            elif op == P.EMPTY_TUPLE[0]:
                stack.append(())
            elif op == P.TUPLE[0]:
                items = pop_mark()
                stack.append(tuple(items))
            elif op == P.TUPLE1[0]:
                stack[-1] = (stack[-1],)
            elif op == P.TUPLE2[0]:
                stack[-2:] = [(stack[-2], stack[-1])]
            elif op == P.TUPLE3[0]:
                stack[-3:] = [(stack[-3], stack[-2], stack[-1])]
            elif op == P.EMPTY_LIST[0]:
                stack.append([])
            elif op == P.LIST[0]:
                items = pop_mark()
                stack.append(items)
            elif op == P.APPEND[0]:
                item = stack.pop()
                self._list(stack[-1]).append(item)
            elif op == P.APPENDS[0]:
                items = pop_mark()
                self._list(stack[-1]).extend(items)
            elif op == P.EMPTY_DICT[0]:
                stack.append({})
            elif op == P.DICT[0]:
                items = pop_mark()
                stack.append({items[i]: items[i + 1] for i in range(0, len(items), 2)})
            elif op == P.SETITEM[0]:
                v, k = stack.pop(), stack.pop()
                self._dict(stack[-1])[k] = v
            elif op == P.SETITEMS[0]:
                items = pop_mark()
                d = self._dict(stack[-1])
                for i in range(0, len(items) - 1, 2):
                    d[items[i]] = items[i + 1]
            elif op == P.EMPTY_SET[0]:
                stack.append(set())
            elif op == P.ADDITEMS[0]:
                items = pop_mark()
                if type(stack[-1]) is not set:
                    raise Malformed("Can only add items to sets")
                stack[-1].update(items)
            elif op == P.FROZENSET[0]:
                items = pop_mark()
                stack.append(frozenset(items))
            # scalars
            elif op == P.NONE[0]:
                stack.append(None)
            elif op == P.NEWTRUE[0]:
                stack.append(True)
            elif op == P.NEWFALSE[0]:
                stack.append(False)
            elif op == P.BININT[0]:
                stack.append(unpack("<i", read(4))[0])
            elif op == P.BININT1[0]:
                stack.append(read(1)[0])
            elif op == P.BININT2[0]:
                stack.append(unpack("<H", read(2))[0])
            elif op == P.LONG1[0]:
                stack.append(pickle.decode_long(read(read(1)[0])))
            elif op == P.LONG4[0]:
                n = unpack("<i", read(4))[0]
                if n < 0:
                    raise Malformed("LONG pickle has negative byte count")
                stack.append(pickle.decode_long(read(n)))
            elif op == P.BINFLOAT[0]:
                stack.append(unpack(">d", read(8))[0])
            elif op == P.BINUNICODE[0]:
                stack.append(str(read(unpack("<I", read(4))[0]), "utf-8", "surrogatepass"))
            elif op == P.SHORT_BINUNICODE[0]:
                stack.append(str(read(read(1)[0]), "utf-8", "surrogatepass"))
            elif op == P.BINUNICODE8[0]:
                stack.append(str(read(unpack("<Q", read(8))[0]), "utf-8", "surrogatepass"))
            elif op == P.SHORT_BINSTRING[0]:
                stack.append(read(read(1)[0]).decode("ascii"))
            elif op == P.BINSTRING[0]:
                n = unpack("<i", read(4))[0]
                if n < 0:
                    raise Malformed("BINSTRING pickle has negative byte count")
                stack.append(read(n).decode("ascii"))
            elif op == P.SHORT_BINBYTES[0]:
                stack.append(read(read(1)[0]))
            elif op == P.BINBYTES[0]:
                stack.append(read(unpack("<I", read(4))[0]))
            elif op == P.BINBYTES8[0]:
                stack.append(read(unpack("<Q", read(8))[0]))
            # memo
            elif op == P.BINPUT[0]:
                self._put(read(1)[0], stack[-1])
            elif op == P.LONG_BINPUT[0]:
                self._put(unpack("<I", read(4))[0], stack[-1])
            elif op == P.MEMOIZE[0]:
                self._put(len(memo), stack[-1])
            elif op == P.BINGET[0]:
                stack.append(self._get(read(1)[0]))
            elif op == P.LONG_BINGET[0]:
                stack.append(self._get(unpack("<I", read(4))[0]))
            else:
                raise Malformed(f"Unsupported operand {op}")

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
