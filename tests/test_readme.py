"""README.md says only what is true: every shell command in it is run (here or by
``.ci/run``), its Python snippets run and print what they say, the API coverage table's
"supported" names exist in ember and its "missing" names do not, and the test matrix lists
the tox environments that exist."""
from __future__ import annotations

import configparser
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ember

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CI_RUN = ROOT / ".ci" / "run"


def code_blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, re.M | re.S)


def shell_commands() -> list[str]:
    """Each line of the README's ```bash blocks, without its trailing comment: the commands
    a reader is told to run (inline code in the prose is reference, not instruction)."""
    out = []
    for block in code_blocks("bash"):
        for line in block.splitlines():
            cmd = re.sub(r"\s+#.*$", "", line).strip()
            if cmd and not cmd.startswith("#"):
                out.append(cmd)
    return out


def ci_commands() -> set[str]:
    return {re.sub(r"\s+#.*$", "", line).strip() for line in CI_RUN.read_text().splitlines()}


# Commands this file runs verbatim (test_command_runs); the one command too slow for the
# suite as written runs in a reduced form, named here with the test that runs it.
RUN_HERE = ["ember demo --task regression --epochs 20",
            "ember run examples/train_mlp.py --epochs 3",
            "ember info"]
RUN_REDUCED = {"python3 benchmarks/run_all.py": "test_benchmarks_run_all_smoke"}


def tox_ini() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "tox.ini")
    return cfg


def run_tests_module():
    """The repo's run_tests.py, imported (it only defines things at import)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("run_tests", ROOT / "run_tests.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ci_tox_envs() -> set[str]:
    """The tox environments .ci/run runs: ``python3 -m tox [-e LIST]`` (``-e`` list, or
    tox.ini's envlist) or ``python3 run_tests.py [--full | -e LIST]``."""
    envs = set()
    for cmd in ci_commands():
        m = re.match(r"python3? -m tox(?:\s+-e\s+(\S+))?", cmd)
        if m:
            envs |= set((m.group(1) or tox_ini()["tox"]["envlist"]).replace(" ", "").split(","))
        m = re.fullmatch(r"python3? run_tests\.py(?:\s+(--full|-e\s+\S+))?", cmd)
        if m:
            rt = run_tests_module()
            arg = m.group(1) or ""
            chosen = rt.FULL if arg == "--full" else (arg[2:].strip() or rt.QUICK)
            envs |= set(chosen.split(","))
    return envs - {""}


def run_by_ci_tox_env(cmd: str) -> bool:
    """``VAR=value ... python3 -m pytest tests`` is what a tox env that sets those variables
    runs; it counts as exercised when .ci/run runs such an env."""
    m = re.fullmatch(r"((?:\w+=\S+\s+)+)python3? -m pytest tests", cmd)
    if not m:
        return False
    wanted = dict(a.split("=", 1) for a in m.group(1).split())
    cfg = tox_ini()
    for env in ci_tox_envs():
        setenv = cfg[f"testenv:{env}"].get("setenv", "") if f"testenv:{env}" in cfg else ""
        have = dict(re.findall(r"^\s*(\w+)\s*=\s*(\S+)", setenv, re.M))
        if all(have.get(k) == v for k, v in wanted.items()):
            return True
    return False


def test_every_shell_command_is_exercised():
    cmds = shell_commands()
    assert len(cmds) >= 5, cmds
    ci = ci_commands()
    for cmd in cmds:
        assert cmd in ci or cmd in RUN_HERE or cmd in RUN_REDUCED or run_by_ci_tox_env(cmd), \
            f"README command not run by .ci/run (nor a tox env it runs) nor by a test: {cmd!r}"
    # and the lists above name only commands the README still has
    assert set(RUN_HERE) | set(RUN_REDUCED) <= set(cmds)
    for test_name in RUN_REDUCED.values():
        assert callable(globals()[test_name])


def test_quick_start_is_two_commands_and_ci_runs_both():
    quick = README.split("## Quick start")[1].split("\n## ")[0]
    block = re.search(r"```bash\n(.*?)```", quick, re.S).group(1)
    cmds = [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines() if line.strip()]
    assert len(cmds) == 2
    demo, tests = cmds
    assert "ember demo" in demo and tests == "python3 run_tests.py"
    ci = ci_commands()
    assert demo in ci and tests in ci, "the quick start must be exactly what .ci/run runs"
    # each works with nothing but Python: the demo makes and enters a virtual environment
    # before it installs anything (an OS Python may refuse pip outside one), and the tests
    # command brings its own runner
    steps = [s.strip() for s in demo.split("&&")]
    assert steps[0].startswith("python3 -m venv ") and steps[1].startswith(". ")
    assert any(s.startswith("pip install") for s in steps[2:])
    # and the full matrix is right below, and is what CI runs
    after = quick.split("```", 2)[2]
    full = re.search(r"```bash\n(.*?)```", after, re.S).group(1)
    full = re.sub(r"\s+#.*$", "", full.strip())
    assert full in ci and ci_tox_envs() >= set(run_tests_module().FULL.split(","))


def test_run_tests_needs_only_the_standard_library():
    import ast
    tree = ast.parse((ROOT / "run_tests.py").read_text())
    mods = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
            for a in n.names}
    mods |= {n.module.split(".")[0] for n in ast.walk(tree)
             if isinstance(n, ast.ImportFrom) and n.module}
    assert mods - {"__future__"} <= set(sys.stdlib_module_names), mods


@pytest.mark.parametrize("args,envs,tail", [
    ([], "quick", ""),
    (["--full"], "numpy,oracle,jax,strict,lint", ""),
    (["-e", "jax"], "jax", ""),
    (["--", "-k", "relu"], "quick", " -- -k relu"),
])
def test_run_tests_picks_tox_envs_that_exist(args, envs, tail):
    proc = subprocess.run([sys.executable, str(ROOT / "run_tests.py"), "--dry-run", *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"tox -c {ROOT / 'tox.ini'} -e {envs}{tail}"
    cfg = tox_ini()
    for env in envs.split(","):
        assert f"testenv:{env}" in cfg
    # the full matrix is tox.ini's default list, so `python3 -m tox` means the same
    assert run_tests_module().FULL == ",".join(
        e.strip() for e in re.split(r"[,\s]+", cfg["tox"]["envlist"]) if e.strip())


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A scratch folder that sees the repo's examples/ and benchmarks/ (the README's
    commands use those relative paths) but keeps the demo's output out of the repo."""
    for name in ("examples", "benchmarks"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


@pytest.mark.parametrize("cmd", RUN_HERE)
def test_command_runs(cmd, workdir):
    if cmd.startswith("ember ") and shutil.which("ember") is None:
        pytest.fail("the `ember` console script is not on PATH: install the package")
    if "demo" in cmd:
        pytest.importorskip("sklearn")
    # as a reader runs it: default providers, whatever backend env this suite runs under
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBER_")}
    proc = subprocess.run(cmd, shell=True, cwd=workdir, capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip()


@pytest.mark.slow
def test_benchmarks_run_all_smoke(workdir):
    """Every benchmark script runs to the end (tiny sizes: the figures mean nothing here);
    memory_growth.py's flat-RSS check still decides its exit status."""
    pytest.importorskip("torch", reason="the benchmarks compare against PyTorch")
    proc = subprocess.run([sys.executable, "benchmarks/run_all.py", "--smoke"], cwd=workdir,
                          capture_output=True, text=True, timeout=1800)
    summary = proc.stdout.split("=== summary")[-1]
    assert proc.returncode == 0, summary + proc.stderr[-3000:]
    for script in ("import_time", "op_overhead", "mlp_train_step", "cnn_train_step",
                   "model_steps", "matmul_large", "dataloader", "memory_growth"):
        assert re.search(rf"^{script}\.py\s+ok\b", summary, re.M), summary


@pytest.mark.slow
def test_backend_suite_command_on_strict(tmp_path):
    """"Writing a backend"'s way to test a backend (``EMBER_PROVIDERS=cpu=strict
    EMBER_TEST_DEVICES=cpu python3 -m pytest tests``), on the ember-strict plugin installed as
    a third party's package (its own directory, a real entry point), with the cross-backend
    tests for ``tests`` (``tox -e strict`` runs a sample of the whole suite this way)."""
    pytest.importorskip("array_api_strict")
    src = tmp_path / "ember-strict"
    shutil.copytree(ROOT / "tests" / "plugins" / "ember-strict", src,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--no-build-isolation", "--no-index", "--disable-pip-version-check",
                    "--target", str(tmp_path / "site"), str(src)],
                   check=True, capture_output=True, timeout=300)
    env = {**os.environ, "EMBER_PROVIDERS": "cpu=strict", "EMBER_TEST_DEVICES": "cpu",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path / "site"),
                                                       os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/test_backends.py",
                           "-p", "no:cacheprovider", "-o", "addopts="], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert re.search(r"\b\d+ passed", proc.stdout), proc.stdout[-2000:]
    # conftest's report header: the plugin was found and cpu is the only device under test
    assert "strict(ok)" in proc.stdout and "devices under test: cpu\n" in proc.stdout


@pytest.mark.parametrize("snippet", code_blocks("python"))
def test_python_snippet_runs(snippet):
    """Each ```python block runs on its own; a commented ``print`` shows its output."""
    proc = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    claims = re.findall(r"print\(.*\)\s+#\s*(.+)$", snippet, re.M)
    if claims:
        assert len(claims) == 1
        assert " ".join(proc.stdout.split()) == " ".join(claims[0].split())


def _coverage_rows() -> list[list[str]]:
    section = README.split("## PyTorch API coverage")[1].split("\n## ")[0]
    rows = [r for r in section.splitlines() if r.startswith("| ") and "---" not in r]
    cells = [[c.strip() for c in r.strip("|").split("|")] for r in rows[1:]]
    assert len(cells) >= 6 and all(len(c) == 4 for c in cells)
    return cells


def _names(cell: str) -> list[str]:
    return re.findall(r"`([A-Za-z_][\w.]*)`", cell)


def _resolve(name: str):
    """``ember.<name>`` (importing submodules on the way), or None where it does not exist."""
    obj = ember
    parts = name.split(".")
    for i, part in enumerate(parts):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module("ember." + ".".join(parts[:i + 1]))
            except ImportError:
                return None
    return obj


def test_coverage_table_supported_names_exist():
    names = [n for row in _coverage_rows() for n in _names(row[1])]
    assert len(names) >= 40
    assert [n for n in names if _resolve(n) is None] == []


def test_coverage_table_missing_names_are_missing():
    names = [n for row in _coverage_rows() for n in _names(row[3])]
    assert len(names) >= 20
    present = [n for n in names if _resolve(n) is not None]
    assert present == [], f"now in ember, move them out of the 'missing' column: {present}"


def test_coverage_names_exist_in_pytorch(torch):
    """The table speaks of real PyTorch names (with torch's own spelling)."""
    for row in _coverage_rows():
        for name in _names(row[1]) + _names(row[3]):
            obj = torch
            for part in name.split("."):
                obj = getattr(obj, part, None) or importlib.import_module(
                    f"{obj.__name__}.{part}")
            assert obj is not None, name


def test_test_matrix_lists_every_tox_env():
    cfg = tox_ini()
    envs = [e.strip() for e in re.split(r"[,\s]+", cfg["tox"]["envlist"]) if e.strip()]
    section = README.split("## Tests")[1].split("\n## ")[0]
    documented = re.findall(r"^\| `([\w-]+)` \|", section, re.M)
    assert set(envs) <= set(documented), (envs, documented)
    for env in documented:
        assert f"testenv:{env}" in cfg, f"README documents tox env {env!r}, tox.ini lacks it"


def test_ci_runs_the_readme_test_command():
    section = README.split("## Tests")[1].split("\n## ")[0]
    cmd = re.search(r"```bash\n(.*?)\n```", section, re.S).group(1).strip()
    assert cmd in ci_commands()
    assert os.access(CI_RUN, os.X_OK) or CI_RUN.read_text().startswith("#!")
