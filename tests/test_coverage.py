"""The namespace coverage report (``benchmarks/coverage.py``) as a test: every name in
``tests/coverage/must_have.txt`` exists in ember, and every public name of the walked torch
namespaces that ember lacks is either left out on purpose (``left_out.txt``, with a reason)
or already known to be missing (``missing.txt``), so the missing list can only shrink.

The walk runs in a fresh interpreter (the names on ``torch`` depend on the submodules
imported so far) and only against the PyTorch release CI pins: another release has other
names."""
from __future__ import annotations

import functools
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ORACLE_RELEASE

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _names(path: Path) -> list[str]:
    return [ln.split("#")[0].strip() for ln in path.read_text().splitlines()
            if ln.split("#")[0].strip()]


def _on_ember(qualname: str) -> bool:
    """Whether ``torch.a.b.c`` exists as ``ember.a.b.c`` (a module or an attribute chain)."""
    parts = ("ember" + qualname[len("torch"):]).split(".")
    obj = importlib.import_module("ember")
    for i, part in enumerate(parts[1:], 1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(".".join(parts[:i + 1]))
            except ImportError:
                return False
    return True


def test_must_have_names_exist():
    lacking = [n for n in _names(HERE / "coverage" / "must_have.txt") if not _on_ember(n)]
    assert not lacking, f"ember lacks must-have torch names: {lacking}"


@functools.lru_cache(maxsize=1)
def _report() -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "coverage.py"), "--json"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_no_new_missing_names(torch):
    if not torch.__version__.startswith(ORACLE_RELEASE + "."):
        pytest.skip(f"the lists are for torch {ORACLE_RELEASE}, not {torch.__version__}")
    report = _report()
    known = set(_names(HERE / "coverage" / "missing.txt"))
    missing = [n for row in report["namespaces"].values() for n in row["missing"]]
    new = sorted(set(missing) - known)
    assert not new, (
        f"{len(new)} torch name(s) ember lacks are in neither tests/coverage/left_out.txt nor "
        f"missing.txt (a regression, or a new torch name): {new}")
    assert len(missing) <= len(known)


def test_report_counts_against_the_lists(torch):
    if not torch.__version__.startswith(ORACLE_RELEASE + "."):
        pytest.skip(f"the lists are for torch {ORACLE_RELEASE}, not {torch.__version__}")
    rows = _report()["namespaces"]
    assert set(rows) == {"torch", "torch.Tensor", "torch.nn", "torch.nn.functional",
                         "torch.linalg", "torch.special", "torch.nn.init", "torch.optim",
                         "torch.optim.lr_scheduler"}
    for ns, row in rows.items():
        assert row["total"] == len(row["present"]) + len(row["left_out"]) + len(row["missing"])
        # a name counted present really is on ember
        for name in row["present"][:50]:
            assert _on_ember(name), name
    assert "torch.FloatTensor" in rows["torch"]["present"]
    assert "torch.jit" in rows["torch"]["left_out"] + rows["torch"]["present"]
