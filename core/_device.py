"""``ember.device``: PyTorch's device strings, ``type[:index]``.

Mirrors ``torch.device``: lowercase only, no leading zeros, ``device("cuda") != device("cuda:0")``.
A device names *where* a tensor lives; which backend serves that type is the registry's
business (``ember.backends``), resolved when the first tensor is placed there.
"""
from __future__ import annotations

__all__ = ["device"]


class device:
    """Mirrors ``torch.device``. ``device("cuda:1")``, ``device("cuda", 1)``, ``device("cpu")``."""

    __slots__ = ("type", "index", "_be")

    def __init__(self, type: "str | device | int", index: int | None = None):  # noqa: A002
        if isinstance(type, device):
            if index is not None:
                raise ValueError("device(): index given twice")
            self.type, self.index, self._be = type.type, type.index, None
            return
        if isinstance(type, int) and not isinstance(type, bool):
            # torch.device(0) means the current accelerator's device 0
            type, index = "cuda", type
        if not isinstance(type, str):
            raise TypeError(f"device() received an invalid combination of arguments - got "
                            f"({_builtins_type(type).__name__})")
        name = type
        if not name:
            raise RuntimeError("Device string must not be empty")
        if ":" in name:
            if index is not None:
                raise RuntimeError("type (string) must not include an index because index "
                                   f"was passed explicitly: {name}")
            name, _, idx = name.partition(":")
            index = _parse_index(idx, type)
        _check_type(name, type)
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool):
                raise TypeError("device(): argument 'index' (position 2) must be int, not "
                                f"{_builtins_type(index).__name__}")
            if index < 0:
                raise RuntimeError("Device index must not be negative")
        self.type, self.index, self._be = name, index, None

    def __eq__(self, other) -> bool:
        # as in PyTorch, a device never equals a string: device("cpu") == "cpu" is False
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __reduce__(self):
        return device, (str(self),)

    # ``with ember.device("cuda:0"):`` sets this thread's default device, as in PyTorch
    def __enter__(self):
        from ._settings import THREAD
        THREAD.device_stack.append(self)
        return self

    def __exit__(self, *exc):
        from ._settings import THREAD
        THREAD.device_stack.pop()


_builtins_type = type


def _parse_index(idx: str, whole: str) -> int:
    # digits only: no sign, no spaces, no leading zeros ("cuda:01" is rejected, as in PyTorch)
    if not idx.isdigit() or not idx.isascii() or (len(idx) > 1 and idx[0] == "0"):
        raise RuntimeError(f"Invalid device string: '{whole}'")
    return int(idx)


def _check_type(name: str, whole: str) -> None:
    # PyTorch's pattern: letters and underscores only ("float32x" is invalid, not unknown)
    if not (name.isascii() and name.replace("_", "a").isalpha()):
        raise RuntimeError(f"Invalid device string: '{whole}'")
    # A known type is accepted even when no backend for it is available (as PyTorch takes
    # "cuda" on a machine without a GPU); that is decided when a tensor is placed there.
    from .backends import registry
    if name not in registry._INSTALL_HINTS and name not in registry.known_types():
        raise RuntimeError(f"Expected one of {', '.join(registry.known_types())} device type at "
                           f"start of device string: {name}")
