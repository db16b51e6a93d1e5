"""``ember run script.py [args...]``: run an unmodified PyTorch script on ember.

An import hook (a ``sys.meta_path`` finder, first in line) answers every ``torch`` and
``torch.*`` import with the matching ember module (and ``torchvision[.*]`` with
``ember_vision[.*]``): ``import torch.nn as nn`` binds
``ember.nn`` itself (one module object under two names, so classes and ``isinstance`` agree).
A torch module ember lacks fails at the import with ``ModuleNotFoundError: ember does not
provide torch.foo``; ``from torch import foo`` for a missing name fails with Python's own
``cannot import name 'foo'``.

``torch.backends`` (cudnn/mps flags in PyTorch; ``ember.backends`` is the plugin API) maps
to ``ember._torch_backends``, which holds those flags. Private modules (``torch._C``) are not
mapped.
Imported only by ``ember.__main__``, never at ``import ember``.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import os
import runpy
import sys
from typing import Sequence

from . import UsageError, check_device

__all__ = ["TorchAlias", "install", "uninstall", "run_script", "add_parser"]

# torch submodules whose ember namesake is a different API: importing them must fail loudly
# rather than hand the script an object that only looks right.
_NOT_MIRRORED: frozenset = frozenset()
# torch submodules served by an ember module of another name (ember.backends is the plugin
# API; torch.backends' flags live in ember._torch_backends)
_RENAMED = {"backends": "_torch_backends"}


class _AliasLoader(importlib.abc.Loader):
    """Hands the import system an already-imported ember module under a ``torch`` name."""

    def __init__(self, module) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec):
        return self.module

    def exec_module(self, module) -> None:
        # the import machinery stamped the alias spec on the module; ember keeps its own
        module.__spec__ = self.spec


class TorchAlias(importlib.abc.MetaPathFinder):
    """``sys.meta_path`` finder mapping ``torch[.x.y]`` to ``ember[.x.y]`` (and, as
    ``TorchAlias("torchvision", "ember_vision")``, torchvision to ember's vision package)."""

    def __init__(self, source: str = "torch", target: str = "ember",
                 not_mirrored: frozenset = _NOT_MIRRORED) -> None:
        self.source, self.target, self.not_mirrored = source, target, not_mirrored

    def find_spec(self, fullname: str, path=None, target=None):
        src = self.source
        if fullname != src and not fullname.startswith(src + "."):
            return None
        rest = fullname[len(src):]  # "" or ".nn.functional"
        top = rest[1:].split(".", 1)[0]
        renamed = _RENAMED.get(top) if self.source == "torch" else None
        if renamed is not None:
            rest = "." + renamed + rest[1 + len(top):]
        elif top.startswith("_") or top in self.not_mirrored:
            raise _missing(fullname)
        target_name = self.target + rest
        try:
            module = importlib.import_module(target_name)
        except ModuleNotFoundError as e:
            # only "ember.x does not exist" means torch.x is missing; an ImportError raised
            # inside an existing ember module is a bug to report as is
            if e.name is None or not target_name.startswith(e.name):
                raise
            raise _missing(fullname) from None
        return importlib.machinery.ModuleSpec(
            fullname, _AliasLoader(module), is_package=hasattr(module, "__path__"))


def _missing(fullname: str) -> ModuleNotFoundError:
    return ModuleNotFoundError(f"ember does not provide {fullname} (ember runs PyTorch "
                               f"scripts through its mirror of the torch API; "
                               f"see `ember run --help`)", name=fullname)


_FINDER = TorchAlias()
# torchvision under `ember run` is ember's vision package (ember_vision), mapped the same way
_VISION_FINDER = TorchAlias("torchvision", "ember_vision", frozenset())
_SAVED: dict = {}  # real torch modules set aside while the alias is installed


def _torch_names() -> list[str]:
    return [n for n in sys.modules if n in ("torch", "torchvision")
            or n.startswith(("torch.", "torchvision."))]


def install() -> None:
    """Put the alias first on ``sys.meta_path``. Real torch modules already imported are set
    aside (the script must not mix the two) and come back with :func:`uninstall`."""
    if _FINDER in sys.meta_path:
        return
    _SAVED.update((n, sys.modules.pop(n)) for n in _torch_names())
    sys.meta_path[:0] = [_FINDER, _VISION_FINDER]
    # bound before any import of it: the import system would otherwise set the attribute
    # ``backends`` of ``torch`` (ember itself) to it, hiding ember.backends, the plugin API
    for top, name in _RENAMED.items():
        sys.modules[f"torch.{top}"] = importlib.import_module(f"ember.{name}")


def uninstall() -> None:
    """Remove the alias and the ``torch`` names it bound; restore what :func:`install` set
    aside."""
    if _FINDER not in sys.meta_path:
        return
    sys.meta_path.remove(_FINDER)
    sys.meta_path.remove(_VISION_FINDER)
    for name in _torch_names():
        del sys.modules[name]
    sys.modules.update(_SAVED)
    _SAVED.clear()


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run", help="run an unmodified PyTorch script on ember",
        description="Run SCRIPT with `import torch` (torch.nn, torch.optim, "
        "torch.utils.data, ...) mapped to ember; arguments after SCRIPT are the script's.")
    p.add_argument("--device", metavar="DEV",
                   help="cpu/cuda[:N]: the default device for tensors the script creates "
                        "without one; a backend's own type (jax): that backend serves the "
                        "script's 'cpu'")
    p.add_argument("--provider", action="append", default=[], metavar="TYPE=BACKEND",
                   help="serve a device type with a given backend, e.g. cpu=jax so the "
                        "script's 'cpu' runs on JAX (repeatable; as EMBER_PROVIDERS)")
    p.add_argument("--nproc", type=int, metavar="N",
                   help="start N ranks of the script on this machine through mpirun "
                        "(ember.distributed; see the README's distributed section)")
    p.add_argument("script", help="path of the PyTorch script")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ember.backends import set_provider
    for item in args.provider:
        dtype, sep, name = item.partition("=")
        if not sep or not dtype or not name:
            raise UsageError(f"--provider {item}: expected TYPE=BACKEND, e.g. cpu=numpy")
        try:
            set_provider(dtype.strip(), name.strip())
        except (RuntimeError, ValueError) as e:
            raise UsageError(f"--provider {item}: {e}") from None
    if args.device is not None:
        _choose_device(check_device(args.device))
    if not os.path.isfile(args.script):
        raise UsageError(f"no such script: {args.script}")
    from ..distributed import _launch
    if args.nproc is not None:
        if args.nproc < 1:
            raise UsageError(f"--nproc {args.nproc}: expected a number of ranks >= 1")
        return _launch.launch(args.nproc, _launch.rank_argv(args))
    _launch.export_rank_env()  # under mpirun: torchrun's RANK, WORLD_SIZE, LOCAL_RANK...
    try:
        run_script(args.script, args.args)
    except Exception as e:  # noqa: BLE001 - the script's own error, shown as python would
        _print_script_error(e, args.script)
        return 1
    return 0


def _choose_device(dev) -> None:
    """``--device``: a PyTorch script knows only "cpu" and "cuda". For those, ``dev`` becomes
    the default device (the script's own device strings keep their meaning). For a
    backend's own type (``jax``) whose backend also serves "cpu", the script's "cpu" is
    served by that backend instead, so everything it creates or moves with ``.to("cpu")`` /
    ``.cpu()`` stays on one device; otherwise ``dev`` is the default device."""
    import ember
    from ember.backends import set_provider
    be = dev._be
    if dev.type not in ("cpu", "cuda") and "cpu" in be.device_types:
        set_provider("cpu", be.name)
    else:
        ember.set_default_device(dev)


def _print_script_error(e: BaseException, script: str) -> None:
    """The traceback from the script's frames on (ember's runner and import hook frames
    are noise to the user), like ``python script.py`` would print it."""
    import traceback
    tb, target = e.__traceback__, os.path.abspath(script)
    while tb is not None and os.path.abspath(tb.tb_frame.f_code.co_filename) != target:
        tb = tb.tb_next
    te = traceback.TracebackException(type(e), e, tb or e.__traceback__)
    te.stack = traceback.StackSummary.from_list(
        [f for f in te.stack if os.path.abspath(f.filename) != os.path.abspath(__file__)])
    sys.stderr.write("".join(te.format()))


# A spawned process (DataLoader workers under JAX, multiprocessing's "spawn"/"forkserver")
# imports the script again before anything of ours runs there, but with the parent's
# sys.path: a ``torch`` package first on that path installs the alias in the child too.
_SPAWN_SHIM = '''"""Written by `ember run` for spawned processes: `import torch` binds ember."""
import sys

import ember
from ember._cli.run import install

install()
sys.modules[__name__] = ember
'''


_SPAWN_SHIM_VISION = '''"""Written by `ember run` for spawned processes: `import torchvision`
binds ember_vision."""
import sys

import ember_vision
from ember._run import install

install()
sys.modules[__name__] = ember_vision
'''


def _spawn_shim_dir() -> str:
    import atexit
    import shutil
    import tempfile
    root = tempfile.mkdtemp(prefix="ember-run-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for name, shim in (("torch", _SPAWN_SHIM), ("torchvision", _SPAWN_SHIM_VISION)):
        os.mkdir(os.path.join(root, name))
        with open(os.path.join(root, name, "__init__.py"), "w") as f:
            f.write(shim)
    return root


def run_script(path: str, argv: Sequence[str]) -> None:
    """Run ``path`` as ``__main__`` the way ``python path args...`` would (``sys.argv`` and
    ``sys.path[0]`` are the script's), with ``torch`` mapped to ember, here and in the
    processes it spawns."""
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [path, *argv]
    script_dir = os.path.dirname(os.path.abspath(path))
    sys.path[:1] = [script_dir, _spawn_shim_dir()]
    install()
    try:
        runpy.run_path(path, run_name="__main__")
    finally:
        uninstall()
        sys.argv = saved_argv
        sys.path[:] = saved_path
