"""The generated type stub (core/_tensor.pyi) declares every Tensor member and is current."""
from __future__ import annotations

import ast
import subprocess
import sys

import ember
from ember.ops import _stub


def test_stub_is_current():
    """Regenerate with ``python -m ember.ops._stub`` when this fails."""
    with open(_stub.path(), encoding="utf-8") as f:
        assert f.read() == _stub.render()


def test_stub_declares_every_member_with_its_docstring():
    with open(_stub.path(), encoding="utf-8") as f:
        tree = ast.parse(f.read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Tensor")
    declared = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)} | {
        n.target.id for n in cls.body if isinstance(n, ast.AnnAssign)}
    public = {n for n in dir(ember.Tensor) if not n.startswith("_")}
    assert public <= declared
    sums = [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "sum"]
    assert "torch.sum" in ast.get_docstring(sums[0])


def test_help_shows_the_docstring():
    out = subprocess.run([sys.executable, "-c", "import ember; help(ember.Tensor.sum)"],
                         capture_output=True, text=True, check=True,
                         env={"PAGER": "cat", "TERM": "dumb", **__import__("os").environ})
    assert "Mirrors ``torch.sum``" in out.stdout
