"""Which public names of PyTorch's everyday namespaces ember lacks.

Walks ``torch``, ``torch.Tensor``, ``torch.nn``, ``torch.nn.functional``, ``torch.linalg``,
``torch.special``, ``torch.nn.init``, ``torch.optim`` and ``torch.optim.lr_scheduler`` (the
installed torch is the reference), looks each public name up on the ember namesake, and prints
per-namespace counts: public names, present in ember, left out on purpose (the patterns in
``tests/coverage/left_out.txt``, each with its reason), and missing.

    python benchmarks/coverage.py            # counts
    python benchmarks/coverage.py --list     # counts and every missing name
    python benchmarks/coverage.py --json     # machine-readable (tests/test_coverage.py)
    python benchmarks/coverage.py --write-missing   # refresh tests/coverage/missing.txt

Run it in a fresh interpreter: the names on ``torch`` itself include the submodules imported
so far, so the walk imports exactly the namespaces above and nothing else first.
"""
from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LEFT_OUT = ROOT / "tests" / "coverage" / "left_out.txt"
MISSING = ROOT / "tests" / "coverage" / "missing.txt"

NAMESPACES = ("torch", "torch.Tensor", "torch.nn", "torch.nn.functional", "torch.linalg",
              "torch.special", "torch.nn.init", "torch.optim", "torch.optim.lr_scheduler")


def _resolve(qualname: str):
    """The module or class a dotted torch/ember name names (``torch.Tensor``: the class)."""
    try:
        return importlib.import_module(qualname)
    except ModuleNotFoundError:
        mod, _, attr = qualname.rpartition(".")
        return getattr(importlib.import_module(mod), attr)


def public_names(ns: str) -> list[str]:
    """The public names of torch namespace ``ns``: no leading underscore; for a module, not
    the modules it merely imports (``os``, ``typing``) nor its torch submodules' own
    imports of foreign objects."""
    obj = _resolve(ns)
    out = []
    for name in dir(obj):
        if name.startswith("_"):
            continue
        try:
            val = getattr(obj, name)
        except Exception:  # noqa: BLE001 - a lazy attribute that fails is not a public name
            continue
        if name == "TYPE_CHECKING" or getattr(val, "__module__", None) == "typing" or \
                type(val).__module__ == "typing":
            continue  # typing's Optional, Literal, ... imported for annotations
        if ns != "torch" and isinstance(obj, types.ModuleType) and (
                isinstance(val, (str, float)) or val is _resolve("torch.Tensor")):
            continue  # docstring fragments, math.inf, the Tensor class imported for hints
        if isinstance(val, types.ModuleType):
            if not val.__name__.startswith("torch.") or isinstance(obj, type):
                continue
        elif isinstance(obj, types.ModuleType):
            owner = getattr(val, "__module__", None)
            if isinstance(owner, str) and not owner.startswith("torch") and \
                    isinstance(val, (type, types.FunctionType)):
                continue  # typing.Any, collections.OrderedDict, ... imported by torch
        out.append(name)
    return out


def _matcher(pattern: str):
    """A glob over dotted names whose ``*``/``?`` stay within one dotted part (so
    ``torch.*_copy`` is not ``torch.Tensor.index_copy``)."""
    rx = re.escape(pattern).replace(r"\*", "[^.]*").replace(r"\?", "[^.]")
    return re.compile(rx + r"\Z")


def read_patterns(path: Path) -> dict[str, str]:
    """``pattern  # reason`` lines (globs over ``torch.x.name``, see :func:`_matcher`;
    ``!pattern`` takes names back out of the others) -> reason."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pat, _, why = line.partition("#")
        out[pat.strip()] = why.strip()
    return out


def walk() -> dict:
    """{namespace: {"total": n, "present": [...], "left_out": [...], "missing": [...]}}."""
    import ember  # noqa: F401 - the namespaces below import it
    pats = read_patterns(LEFT_OUT)
    matchers = [_matcher(p) for p in pats if not p.startswith("!")]
    keep = [_matcher(p[1:]) for p in pats if p.startswith("!")]
    report = {}
    for ns in NAMESPACES:
        ember_obj = _resolve("ember" + ns[len("torch"):])
        names = public_names(ns)
        row: dict = {"total": len(names), "present": [], "left_out": [], "missing": []}
        for name in names:
            full = f"{ns}.{name}"
            try:
                has = hasattr(ember_obj, name)
            except Exception:  # noqa: BLE001 - a failing lazy import counts as absent
                has = False
            if has:
                row["present"].append(full)
            elif any(m.match(full) for m in matchers) and not any(m.match(full)
                                                                   for m in keep):
                row["left_out"].append(full)
            else:
                row["missing"].append(full)
        report[ns] = row
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--list", action="store_true", help="print every missing name")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--write-missing", action="store_true",
                   help=f"write the missing names to {MISSING.relative_to(ROOT)}")
    args = p.parse_args(argv)
    import torch
    for ns in NAMESPACES[1:]:
        if ns != "torch.Tensor":
            importlib.import_module(ns)
    report = walk()
    report_meta = {"torch": torch.__version__}
    if args.json:
        json.dump({"meta": report_meta, "namespaces": report}, sys.stdout)
        return 0
    print(f"torch {torch.__version__}: public names ember lacks")
    print(f"{'namespace':28s} {'public':>7s} {'ember':>7s} {'left out':>9s} {'missing':>8s}")
    tot = [0, 0, 0, 0]
    for ns, row in report.items():
        vals = [row["total"], len(row["present"]), len(row["left_out"]), len(row["missing"])]
        tot = [a + b for a, b in zip(tot, vals)]
        print(f"{ns:28s} {vals[0]:7d} {vals[1]:7d} {vals[2]:9d} {vals[3]:8d}")
    print(f"{'all':28s} {tot[0]:7d} {tot[1]:7d} {tot[2]:9d} {tot[3]:8d}   "
          f"({100 * tot[1] / tot[0]:.1f}% present)")
    missing = [n for row in report.values() for n in row["missing"]]
    if args.list:
        print("\n".join(missing))
    if args.write_missing:
        MISSING.write_text("# public torch names ember lacks (benchmarks/coverage.py "
                           "--write-missing);\n# tests/test_coverage.py fails on a missing "
                           "name in neither this file nor left_out.txt\n" +
                           "".join(f"{n}\n" for n in missing))
        print(f"wrote {len(missing)} names to {MISSING}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
