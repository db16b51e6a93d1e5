#!/usr/bin/env python3
"""Run ember's tests on a machine that has nothing but Python (3.10+).

    python3 run_tests.py            # quick: a 1-in-8 sample of the suite on numpy (minutes)
    python3 run_tests.py --full     # CI's matrix: tox -e numpy,oracle,jax,strict,lint
    python3 run_tests.py -e jax     # any tox envs (see tox.ini)
    python3 run_tests.py -- -k relu # arguments after -- go to pytest (through tox)

The test runner is tox. This script brings it: it makes a virtual environment,
``.venv-tests/`` next to this file (standard library ``venv``; also where an operating
system's Python refuses ``pip install`` outside one), installs tox there once, and runs
tox from it. tox then builds each test environment from the repo's own files. Only the
standard library is used here.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv-tests"
FULL = "numpy,oracle,jax,strict,lint"  # keep in step with .ci/run and tox.ini's envlist
QUICK = "quick"
TOX = "tox>=4"


def _python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ensure_tox() -> Path:
    """The virtual environment's Python, with tox installed (made on first use)."""
    py = _python(VENV)
    if not py.exists():
        print(f"run_tests: creating {VENV.name}/ (a virtual environment for tox)", flush=True)
        try:
            venv.create(VENV, with_pip=True, clear=True)
        except (OSError, subprocess.CalledProcessError) as e:
            sys.exit(f"run_tests: could not create a virtual environment ({e}); on Debian "
                     f"and Ubuntu install the `python3-venv` package and rerun")
    ok = subprocess.run([str(py), "-c", "import tox"], capture_output=True).returncode == 0
    if not ok:
        print(f"run_tests: installing {TOX} into {VENV.name}/", flush=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        TOX], check=True)
    return py


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    pytest_args: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, pytest_args = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--full", action="store_true", help=f"CI's matrix: {FULL}")
    group.add_argument("-e", dest="envs", help="comma-separated tox environments")
    ap.add_argument("--dry-run", action="store_true",
                    help="print the tox command instead of running it")
    args = ap.parse_args(argv)
    envs = FULL if args.full else (args.envs or QUICK)
    tail = ["--", *pytest_args] if pytest_args else []
    if args.dry_run:
        print(" ".join(["tox", "-c", str(ROOT / "tox.ini"), "-e", envs, *tail]))
        return 0
    py = _ensure_tox()
    return subprocess.run([str(py), "-m", "tox", "-c", str(ROOT / "tox.ini"), "-e", envs,
                           *tail], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
