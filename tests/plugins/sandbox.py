"""Helpers for tests that need extra backends.

- :func:`installed_plugins` pip-installs the two test plugin packages next to this file
  (``ember-testplugin``: backends ``toy`` and ``toycpu``; ``ember-brokenplugin``: one entry
  point that fails to import, one whose hook raises) into a temporary directory, once per
  session; put it on ``PYTHONPATH`` of a subprocess and ember finds them through their real
  entry points.
- :func:`run_python` runs code in such a subprocess.
- :func:`toy_in_process` registers the ``toy`` plugin module at run time in this process and
  restores the registry afterwards (for tests that need a second device type in-process).
"""
from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOY_SRC = HERE / "ember-testplugin"
BROKEN_SRC = HERE / "ember-brokenplugin"


INSTALL_SECONDS: list = []  # how long the pip install took (read by a test)


@functools.lru_cache(maxsize=None)
def installed_plugins() -> str:
    """A directory holding both test plugins installed with pip (dist-info + entry points)."""
    import time
    t0 = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="ember-plugins-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    target = root / "site"
    # build from copies: a build in place would leave build/ and egg-info in the repo
    srcs = []
    for src in (TOY_SRC, BROKEN_SRC):
        dst = root / src.name
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                "__pycache__"))
        srcs.append(str(dst))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--disable-pip-version-check",
                    "--target", str(target), *srcs],
                   check=True, capture_output=True, timeout=120)
    INSTALL_SECONDS.append(time.perf_counter() - t0)
    return str(target)


def run_python(code: str, *, plugins: bool = True, env: dict | None = None,
               args: tuple = ("-c",)) -> subprocess.CompletedProcess:
    """Run ``python <args> code`` with the test plugins importable (if ``plugins``)."""
    e = dict(os.environ)
    e.pop("EMBER_PROVIDERS", None)
    if plugins:
        e["PYTHONPATH"] = os.pathsep.join(filter(None, [installed_plugins(),
                                                        e.get("PYTHONPATH")]))
    e.update(env or {})
    return subprocess.run([sys.executable, *args, code], env=e, capture_output=True,
                          text=True, timeout=120)


@contextlib.contextmanager
def registry_restored():
    """Undo any register()/set_provider() done inside the block."""
    from ember.backends import registry
    registry._scan()
    saved = (dict(registry._backends), dict(registry._override))
    pm = registry._plugin_manager()
    plugins = set(map(id, pm.get_plugins()))
    try:
        yield registry
    finally:
        for p in pm.get_plugins():
            if id(p) not in plugins:
                pm.unregister(p)
        registry._backends.clear()
        registry._backends.update(saved[0])
        registry._override.clear()
        registry._override.update(saved[1])
        registry._invalidate()


@contextlib.contextmanager
def toy_in_process():
    """The ``toy`` plugin registered at run time; yields its module."""
    with registry_restored() as registry:
        sys.path.insert(0, str(TOY_SRC))
        try:
            import ember_toy
        finally:
            sys.path.remove(str(TOY_SRC))
        registry.register(ember_toy)
        yield ember_toy
