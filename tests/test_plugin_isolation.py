"""Backend plugins are untrusted metadata: a plugin that exits or is interrupted while
importing or loading, one with a nonsense ``priority`` or ``device_types``, or one that
claims a built-in backend's name, is skipped alone with a warning naming it; ember and every
other plugin keep working. The plugins are built here as real distributions (a dist-info
with entry points next to the module) and found through ``importlib.metadata`` in a
subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

import ember
from ember.backends import Backend, registry
from plugins.sandbox import registry_restored

_BACKEND = '''
from ember.backends import Backend
from ember.backends.hookspecs import hookimpl

class Fake(Backend):
    name = {name!r}
    device_types = {types!r}
    priority = {prio}

    def load(self):
        {load}
        import numpy as np
        self.xp = np
        self._build_dtype_tables()

    dtype_of_native = staticmethod(lambda nat: __import__("numpy").dtype(nat))

@hookimpl
def ember_backends():
    {hook}
    return [Fake()]
'''


def _plugin(site, dist: str, module: str, *, ep_name: str | None = None, top: str = "",
            name: str = "fake", types=("fakedev",), prio="1", load: str = "pass",
            hook: str = "pass") -> None:
    """A distribution ``dist`` holding module ``module`` with one ``ember.backends``
    entry point; ``top`` runs at import; ``prio`` is source text."""
    (site / f"{module}.py").write_text(textwrap.dedent(top) + _BACKEND.format(
        name=name, types=types, prio=prio, load=load, hook=hook))
    info = site / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[ember.backends]\n{ep_name or module} = {module}\n")


_PROBE = r'''
import json, warnings, sys
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as w:
    import ember
    from ember.backends import registry
    names = sorted(b.name for b in registry.backends())
    x = ember.ones(2) + 1                    # cpu still works
    cpu_be = type(x.device._be).__module__
    fake = {}
    for n in names:
        if n.startswith("ok") or n.startswith("exit") or n == "fake":
            try:
                fake[n] = ember.zeros(1, device=registry.get_backend(n).device_types[0]).tolist()
            except RuntimeError as e:
                fake[n] = str(e)
print(json.dumps({"names": names, "cpu": cpu_be, "sum": x.sum().item(), "fake": fake,
                  "warnings": [str(m.message) for m in w]}))
'''


def _probe(site) -> dict:
    env = dict(os.environ)
    env.pop("EMBER_PROVIDERS", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _warned(out: dict, *parts: str) -> list[str]:
    return [m for m in out["warnings"] if all(p in m for p in parts)]


def test_systemexit_and_keyboardinterrupt_in_a_plugin_are_isolated(tmp_path):
    # a plugin that parses argv at import (argparse exits with SystemExit(2))
    _plugin(tmp_path, "ember-argv", "argv_plugin", name="exit_import", types=("exitimp",),
            top="import argparse\nargparse.ArgumentParser().parse_args(['--no-such-flag'])\n")
    _plugin(tmp_path, "ember-hookexit", "hookexit_plugin", name="exit_hook",
            types=("exithook",), hook="raise SystemExit('hook wants out')")
    _plugin(tmp_path, "ember-hookint", "hookint_plugin", name="exit_hookint",
            types=("exithookint",), hook="raise KeyboardInterrupt")
    _plugin(tmp_path, "ember-loadexit", "loadexit_plugin", name="exit_load",
            types=("exitload",), load="raise SystemExit(3)")
    _plugin(tmp_path, "ember-loadint", "loadint_plugin", name="exit_loadint",
            types=("exitloadint",), load="raise KeyboardInterrupt('^C in load')")
    _plugin(tmp_path, "ember-good", "good_plugin", name="ok_good", types=("okdev",))
    out = _probe(tmp_path)
    assert out["sum"] == 4.0 and out["cpu"].startswith("ember_numpy")
    assert out["fake"]["ok_good"] == [0.0]
    assert _warned(out, "argv_plugin", "ember-argv", "SystemExit")
    assert _warned(out, "hookexit_plugin", "SystemExit", "hook wants out")
    assert _warned(out, "hookint_plugin", "KeyboardInterrupt")
    assert "exit_import" not in out["names"] and "exit_hook" not in out["names"]
    # load() failures: the backend is listed but unavailable, saying why
    assert "failed to load: SystemExit: 3" in out["fake"]["exit_load"]
    assert "failed to load: KeyboardInterrupt: ^C in load" in out["fake"]["exit_loadint"]


def test_bad_priority_or_device_types_disable_only_that_plugin(tmp_path):
    _plugin(tmp_path, "ember-strprio", "strprio", name="bad_prio", prio="'high'")
    _plugin(tmp_path, "ember-nanprio", "nanprio", name="bad_nan", prio="float('nan')")
    _plugin(tmp_path, "ember-strtypes", "strtypes", name="bad_types", types="cpu")
    _plugin(tmp_path, "ember-oddtypes", "oddtypes", name="bad_odd", types=("cpu:0", None))
    _plugin(tmp_path, "ember-good", "good_plugin", name="ok_good", types=("fakedev",))
    out = _probe(tmp_path)
    assert out["sum"] == 4.0 and out["cpu"].startswith("ember_numpy")
    assert out["fake"] == {"ok_good": [0.0]}
    assert not {"bad_prio", "bad_nan", "bad_types", "bad_odd"} & set(out["names"])
    assert _warned(out, "strprio", "ember-strprio", "priority must be a finite number",
                   "'high'")
    assert _warned(out, "nanprio", "priority must be a finite number")
    assert _warned(out, "strtypes", "device_types must be a non-empty tuple", "'cpu'")
    assert _warned(out, "oddtypes", "device-type names", "'cpu:0'")


def test_plugin_claiming_a_builtin_name_is_refused(tmp_path):
    # sorted first by entry-point name, and with the very same entry-point name
    _plugin(tmp_path, "ember-evil", "evil_numpy", ep_name="aaa", name="numpy",
            types=("cpu",), prio="10**6")
    _plugin(tmp_path, "ember-evil2", "evil_numpy2", ep_name="numpy", name="numpy",
            types=("cpu",), prio="10**6")
    out = _probe(tmp_path)
    assert out["cpu"].startswith("ember_numpy") and out["sum"] == 4.0
    for mod, dist in (("evil_numpy,", "ember-evil "), ("evil_numpy2,", "ember-evil2 ")):
        msgs = _warned(out, "refusing backend 'numpy'", mod, dist, "'ember_numpy'")
        assert len(msgs) == 1, out["warnings"]


# --- the same checks for run-time register(), in process -----------------------------------

class _Ok(Backend):
    name = "okrt"
    device_types = ("okrt",)
    priority = 1


@pytest.mark.parametrize("attr,value,msg", [
    ("priority", "7", "priority must be a finite number"),
    ("priority", True, "priority must be a finite number"),
    ("priority", float("inf"), "priority must be a finite number"),
    ("device_types", "okrt", "device_types must be a non-empty tuple"),
    ("device_types", (), "device_types must be a non-empty tuple"),
    ("device_types", ("ok rt",), "device-type names"),
    ("name", "", "name must be a non-empty string"),
])
def test_register_refuses_bad_metadata(attr, value, msg):
    bad = type("Bad", (_Ok,), {attr: value, "name": "badrt" if attr != "name" else value})()
    with registry_restored():
        before = {b.name for b in registry.backends()}
        with pytest.warns(RuntimeWarning, match=msg):
            ember.backends.register(bad)
        assert {b.name for b in registry.backends()} == before
        ember.backends.register(_Ok())  # the next one is fine
        assert "okrt" in {b.name for b in registry.backends()}


def test_register_refuses_a_builtin_name_from_elsewhere():
    from ember.backends.hookspecs import hookimpl

    class Impostor(_Ok):
        name = "numpy"
        device_types = ("cpu",)
        priority = 10**9

    class Plugin:
        @hookimpl
        def ember_backends(self):
            return [Impostor()]

    with registry_restored():
        builtin = registry.get_backend("numpy")
        with pytest.warns(RuntimeWarning, match=r"refusing backend 'numpy' .*Impostor.*"
                                                r"'ember_numpy'"):
            ember.backends.register(Plugin())
        assert registry.get_backend("numpy") is builtin
        assert ember.zeros(1).device._be is builtin or \
            os.environ.get("EMBER_PROVIDERS")  # another provider chosen for the session
