"""Import time: ember vs PyTorch vs numpy, each in fresh interpreters.

Three figures per library, each the median of ``--repeat`` fresh processes:

- ``-X importtime``: Python's own cumulative figure for the top-level package (the issue's
  measure; target for ember: at most 0.15 s);
- ``import``: wall time of ``import X`` measured inside the child with ``perf_counter``
  (interpreter start-up excluded);
- ``+ first tensor``: the same plus making one small tensor. ember loads numpy and its
  backend plugin on first device use, so this is what a script pays before its first op.

Children run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` removed) into a private
``-X pycache_prefix`` directory, after one warm-up import each, so every library is timed
as an installed one would be: from ``.pyc`` files, not compiling its source.

    python benchmarks/import_time.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import atexit
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import table  # noqa: E402

CASES = {
    "ember": ("ember", "ember.zeros(2, 2)"),
    "torch": ("torch", "torch.zeros(2, 2)"),
    "numpy": ("numpy", "numpy.zeros((2, 2), numpy.float32)"),
}


_PYCACHE = tempfile.mkdtemp(prefix="ember-bench-pycache-")
atexit.register(shutil.rmtree, _PYCACHE, True)
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def python(*args: str) -> subprocess.CompletedProcess:
    """A fresh interpreter with bytecode caching into this run's private directory."""
    return subprocess.run([sys.executable, "-X", f"pycache_prefix={_PYCACHE}", *args],
                          capture_output=True, text=True, env=_ENV)


def importtime_cumulative(module: str) -> float | None:
    """Seconds ``python -X importtime -c 'import module'`` reports for ``module``."""
    proc = python("-X", "importtime", "-c", f"import {module}")
    if proc.returncode != 0:
        return None
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        # "import time:  self [us] | cumulative | <2 spaces per nesting level>name"
        if len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return int(parts[1]) / 1e6
    return None


def wall(module: str, first_use: str | None) -> float | None:
    """Seconds ``import module`` (+ ``first_use``) takes inside a fresh interpreter."""
    body = f"import {module}" + (f"; {first_use}" if first_use else "")
    prog = f"import time; t0 = time.perf_counter()\n{body}\nprint(time.perf_counter() - t0)"
    proc = python("-c", prog)
    if proc.returncode != 0:
        return None
    return float(proc.stdout.strip().splitlines()[-1])


def median(samples: list) -> float | None:
    return None if None in samples else statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    for module, first in CASES.values():  # warm-up: compile and cache the bytecode
        wall(module, first)
    samples = {lib: ([], [], []) for lib in CASES}
    for _ in range(args.repeat):  # the libraries take turns: all see the same load
        for lib, (module, first) in CASES.items():
            it, imp, fst = samples[lib]
            it.append(importtime_cumulative(module))
            imp.append(wall(module, None))
            fst.append(wall(module, first))
    rows = {lib: tuple(median(s) for s in samples[lib]) for lib in CASES}
    fmt = lambda t: "-" if t is None else f"{t * 1e3:.1f}"  # noqa: E731
    print(f"milliseconds, median of {args.repeat} fresh interpreters")
    print(table(["library", "-X importtime", "import", "+ first tensor"],
                [[lib] + [fmt(t) for t in r] for lib, r in rows.items()]))
    e = rows["ember"]
    for other in ("torch", "numpy"):
        o = rows[other]
        if None not in o and None not in e:
            print(f"ember/{other}: -X importtime {e[0] / o[0]:.2f}x, import {e[1] / o[1]:.2f}x, "
                  f"+ first tensor {e[2] / o[2]:.2f}x")
    if e[0] is not None:
        verdict = "meets" if e[0] <= 0.15 else "MISSES"
        print(f"ember -X importtime {e[0]:.3f} s ({verdict} the 0.15 s target)")


if __name__ == "__main__":
    main()
