"""The device registry: finds backend plugins once, and says which backend serves a device.

Discovery iterates the ``ember.backends`` entry points itself and isolates each load: a
plugin that fails to import, or whose hook fails -- ``SystemExit`` and ``KeyboardInterrupt``
included (a plugin that parses ``sys.argv`` at import) -- is skipped with a warning naming it
and why. (pluggy's ``load_setuptools_entrypoints`` stops at the first broken plugin, and one
bad third-party package must never break ``import ember``.) Each backend a plugin returns is
checked before it is added (a name, device types that are device-type strings, a finite
numeric priority); a bad one is skipped alone. A third-party backend that claims the name of
one of ember's built-in backends (``numpy``, ``jax``, ``cupy``) is refused with a warning
naming both packages: it never silently replaces the built-in. The scan is lazy: entry
points are read on the first device lookup, not at import time.

Resolution: each device type has providers, ordered by an explicit override first (API
:func:`set_provider` or ``EMBER_PROVIDERS="cpu=jax,cuda=cupy"``), then priority, then name.
"""
from __future__ import annotations

import math
import numbers
import os
import threading
import warnings

from .base import Backend

__all__ = ["backends", "get_backend", "known_types", "providers", "register", "set_provider",
           "resolve", "canonical", "info", "serving"]

GROUP = "ember.backends"
ENV_PROVIDERS = "EMBER_PROVIDERS"

# Device types ember knows how to advise on even when nothing installed serves them.
_INSTALL_HINTS = {
    "cpu": "the numpy backend ships with ember: reinstall with `pip install ember`",
    "cuda": "install CuPy for your CUDA version (`pip install cupy-cuda12x`, or "
            "`pip install 'ember[cupy]'`) on a machine with an NVIDIA GPU and driver",
    "jax": "install JAX (`pip install 'ember[jax]'`, i.e. jax and jaxlib)",
}

#: ember's own backends: name -> the package that must define it
_BUILTIN = {"numpy": "ember_numpy", "jax": "ember_jax", "cupy": "ember_cupy"}
#: what a plugin may raise that is isolated (a plugin that calls sys.exit() or parses argv at
#: import must not end the program that merely imported ember)
_ISOLATED = (Exception, SystemExit, KeyboardInterrupt)

_lock = threading.RLock()
_backends: dict[str, Backend] = {}
_override: dict[str, str] = {}
_canonical: dict[tuple[str, int | None], object] = {}
_scanned = False
_pm = None
_listeners: list = []  # called when who serves a device type may have changed


def on_change(fn) -> None:
    """Call ``fn()`` whenever providers change (register / set_provider), so a layer above
    that caches a resolved device (creation's default cpu) can drop it."""
    _listeners.append(fn)


def _invalidate() -> None:
    _canonical.clear()
    for fn in _listeners:
        fn()


def _plugin_manager():
    global _pm
    if _pm is None:
        import pluggy
        from . import hookspecs
        _pm = pluggy.PluginManager("ember")
        _pm.add_hookspecs(hookspecs)
    return _pm


def _warn(what: str, exc: BaseException) -> None:
    warnings.warn(f"ember: skipping backend plugin {what}: {type(exc).__name__}: {exc}",
                  RuntimeWarning, stacklevel=3)


def _collect(plugin, label: str) -> None:
    """Call one plugin's hook, isolated, and add the backends it returns."""
    pm = _plugin_manager()
    impls = [i for i in pm.hook.ember_backends.get_hookimpls() if i.plugin is plugin]
    if not impls:
        warnings.warn(f"ember: backend plugin {label} defines no ember_backends() hookimpl "
                      "(decorate it with ember.backends.hookspecs.hookimpl)", RuntimeWarning,
                      stacklevel=3)
    for impl in impls:
        try:
            made = impl.function()
            made = [made] if isinstance(made, Backend) else list(made or ())
            for be in made:
                if not isinstance(be, Backend):
                    raise TypeError(f"ember_backends() returned {be!r}, not a Backend")
        except _ISOLATED as e:  # isolation is the point
            _warn(label, e)
            continue
        for be in made:
            _add(be, label)


def _invalid(be: Backend) -> str | None:
    """Why ``be``'s metadata is unusable, or None. Checked once, when it is added: a string
    priority would break the provider sort for every device type, and a str as
    ``device_types`` would serve each of its letters."""
    name, types, prio = be.name, be.device_types, be.priority
    if not isinstance(name, str) or not name or name == "?":
        return f"its name must be a non-empty string, got {name!r}"
    if not isinstance(types, (tuple, list)) or not types:
        return f"device_types must be a non-empty tuple of strings, got {types!r}"
    for t in types:
        if not (isinstance(t, str) and t and t.isascii() and t.replace("_", "a").isalpha()):
            return (f"device_types must hold device-type names (letters and underscores), "
                    f"got {t!r}")
    if not isinstance(prio, numbers.Real) or isinstance(prio, bool) or \
            not math.isfinite(prio):
        return f"priority must be a finite number, got {prio!r}"
    return None


def _impostor(be: Backend) -> str | None:
    """The built-in package whose backend name ``be`` claims without being defined there."""
    home = _BUILTIN.get(be.name)
    if home is None or type(be).__module__.partition(".")[0] == home:
        return None
    return home


def _add(be: Backend, label: str | None = None) -> None:
    # named by its class: repr() reads the very metadata that may be broken
    cls = f"{type(be).__module__}.{type(be).__qualname__}"
    label = label or cls
    try:
        why = _invalid(be)
    except _ISOLATED as e:  # a property that raises
        why = f"reading its metadata failed: {type(e).__name__}: {e}"
    if why is not None:
        warnings.warn(f"ember: skipping backend {cls} from plugin {label}: {why}",
                      RuntimeWarning, stacklevel=3)
        return
    home = _impostor(be)
    if home is not None:
        warnings.warn(f"ember: refusing backend {be.name!r} from plugin {label} (class "
                      f"{cls}): the name "
                      f"{be.name!r} belongs to ember's built-in backend in package {home!r}; "
                      f"the plugin must give its backend another name (and select it with "
                      f"set_provider / EMBER_PROVIDERS)", RuntimeWarning, stacklevel=3)
        return
    _backends[be.name] = be
    _invalidate()  # a new provider may change who serves a type


def _scan() -> None:
    global _scanned
    with _lock:
        if _scanned:
            return
        _scanned = True
        for spec in filter(None, os.environ.get(ENV_PROVIDERS, "").split(",")):
            dtype_, _, name = spec.partition("=")
            if dtype_.strip() and name.strip():
                _override.setdefault(dtype_.strip(), name.strip())
            else:
                warnings.warn(f"ember: ignoring {ENV_PROVIDERS} entry {spec!r}: expected "
                              "'device_type=backend', e.g. 'cpu=jax'", RuntimeWarning,
                              stacklevel=4)
        from importlib.metadata import entry_points
        pm = _plugin_manager()
        # ember's own entry points first, so that no third-party name can shadow them
        eps = sorted(entry_points(group=GROUP),
                     key=lambda e: (e.value.partition(".")[0] not in _BUILTIN.values(),
                                    e.name, e.value))
        for ep in eps:
            dist = getattr(ep, "dist", None)
            label = f"{ep.name!r} ({ep.value}" + (
                f", from {dist.name} {dist.version})" if dist is not None else ")")
            try:
                plugin = ep.load()
                if pm.is_registered(plugin):
                    continue
                pm.register(plugin)  # pluggy's own name: entry-point names may repeat
            except _ISOLATED as e:
                _warn(label, e)
                continue
            _collect(plugin, label)


def register(obj) -> None:
    """Add a backend at run time: a :class:`Backend` instance, or a plugin module/object
    with an ``ember_backends`` hookimpl (the same thing an entry point names)."""
    _scan()
    with _lock:
        if isinstance(obj, Backend):
            _add(obj)
            return
        pm = _plugin_manager()
        if not pm.is_registered(obj):
            pm.register(obj)
        _collect(obj, repr(obj))


def backends() -> list[Backend]:
    """Every registered backend, available or not."""
    _scan()
    return sorted(_backends.values(), key=lambda b: b.name)


def get_backend(name: str) -> Backend:
    _scan()
    try:
        return _backends[name]
    except KeyError:
        raise RuntimeError(f"ember: no backend named {name!r}; registered: "
                           f"{', '.join(sorted(_backends)) or 'none'}") from None


def known_types() -> list[str]:
    _scan()
    types = set(_INSTALL_HINTS)
    for be in _backends.values():
        types.update(be.device_types)
    return sorted(types, key=lambda t: (t != "cpu", t != "cuda", t))


def providers(device_type: str) -> list[Backend]:
    """The backends serving ``device_type``, in the order they are tried."""
    _scan()
    cands = [b for b in _backends.values() if device_type in b.device_types]
    chosen = _override.get(device_type)
    return sorted(cands, key=lambda b: (b.name != chosen, -b.priority, b.name))


def set_provider(device_type: str, name: str | None) -> None:
    """Make backend ``name`` serve ``device_type`` (None restores the default order).
    Tensors already created keep their arrays; new ones go to the new provider."""
    _scan()
    with _lock:
        if name is None:
            _override.pop(device_type, None)
        else:
            be = get_backend(name)
            if device_type not in be.device_types:
                raise ValueError(f"backend {name!r} does not serve device type "
                                 f"{device_type!r} (it serves {', '.join(be.device_types)})")
            _override[device_type] = name
        _invalidate()


def _reason(be: Backend) -> str | None:
    """``be.unavailable_reason()``, with a failing check counted as a reason."""
    try:
        return be.unavailable_reason()
    except _ISOLATED as e:  # a broken check must not break device lookup
        return f"its availability check failed: {type(e).__name__}: {e}"


def _load(be: Backend) -> str | None:
    """Load ``be`` once; the reason it cannot be used, or None."""
    if be.xp is not None:
        return None
    with _lock:
        if be.xp is None:
            try:
                be.load()
                if "_to_native" not in be.__dict__:  # load() may have built and extended them
                    be._build_dtype_tables()
            except _ISOLATED as e:
                be.xp = None
                return f"failed to load: {type(e).__name__}: {e}"
            _quiet(be)
    return None


def _quiet(be: Backend) -> None:
    """PyTorch returns inf/nan silently where numpy warns (log(0), 0/0): ignore the
    floating-point RuntimeWarnings raised from inside the backend's own namespace (a library
    over numpy, such as array_api_strict, calls numpy from its frames). numpy attributes its
    warnings to the caller's frame, so the numpy backend silences ember's frames instead."""
    mod = getattr(be.xp, "__name__", "")
    if mod and mod != "numpy":
        import re
        warnings.filterwarnings("ignore", category=RuntimeWarning,
                                module=re.escape(mod) + r"(\.|$)")


def resolve(device_type: str) -> Backend:
    """The loaded backend serving ``device_type``, or a RuntimeError saying what to install.

    An explicit choice (:func:`set_provider`, ``EMBER_PROVIDERS``) is honoured or fails
    loudly: falling back silently would run a ``cpu=jax`` test session on numpy."""
    cands = providers(device_type)
    chosen = _override.get(device_type)
    if chosen is not None:
        if not cands or cands[0].name != chosen:
            raise RuntimeError(f"ember: {ENV_PROVIDERS} / set_provider asks for backend "
                               f"{chosen!r} to serve '{device_type}', but no such backend "
                               f"serving it is installed (registered: "
                               f"{', '.join(sorted(_backends)) or 'none'})")
        cands = cands[:1]
    reasons = []
    for be in cands:
        reason = _reason(be) or _load(be)
        if reason is None:
            return be
        reasons.append(f"{be.name}: {reason}")
    if device_type not in known_types():
        raise RuntimeError(f"Expected one of {', '.join(known_types())} device type at start "
                           f"of device string: {device_type}")
    why = "; ".join(reasons) if reasons else "no installed backend serves it"
    hint = _INSTALL_HINTS.get(device_type, "install a backend package that serves it")
    raise RuntimeError(f"ember: device type '{device_type}' is not available ({why}). "
                       f"To use it, {hint}.")


def canonical(dev):
    """The interned device a tensor on ``dev`` reports, with its backend attached.

    ``cpu`` has no index (as in PyTorch); other types get the current index when none is
    given, and an index past the device count raises an error that gives the count."""
    key = (dev.type, dev.index)
    got = _canonical.get(key)
    if got is not None:
        return got
    from .._device import device
    be = resolve(dev.type)
    if dev.type == "cpu":
        index = None
    else:
        index = be.current_index(dev.type) if dev.index is None else dev.index
        count = be.device_count(dev.type)
        if index >= count:
            raise RuntimeError(f"ember: invalid device index {dev.type}:{index}: the "
                               f"{be.name} backend sees {count} {dev.type} device"
                               f"{'s' if count != 1 else ''} (valid indices: "
                               f"{'0..' + str(count - 1) if count else 'none'})")
    out = _canonical.get((dev.type, index))
    if out is None:
        out = device(dev.type, index)
        out._be = be
        _canonical[(dev.type, index)] = out
    _canonical[key] = out
    return out


def _version(be: Backend) -> str:
    try:
        return str(be.version())
    except _ISOLATED as e:
        return f"? ({type(e).__name__})"


def serving() -> dict[str, tuple[str | None, str]]:
    """``{device type: (backend name or None, why not)}`` for every known type: who serves
    it now (loading that backend), or None and the error a tensor placed there would get."""
    out = {}
    for t in known_types():
        try:
            out[t] = (resolve(t).name, "")
        except RuntimeError as e:
            out[t] = (None, str(e))
    return out


def info() -> list[dict]:
    """One row per backend (name, device types, version, availability and why not, the
    types it serves now): what ``python -m ember info`` prints."""
    rows = []
    served = serving()
    for be in backends():
        reason = _reason(be) or _load(be)
        rows.append({
            "name": be.name,
            "device_types": list(be.device_types),
            "version": _version(be) if reason is None else "-",
            "available": reason is None,
            "reason": reason or "",
            "serves_by_default": [t for t in be.device_types if served[t][0] == be.name],
        })
    return rows
