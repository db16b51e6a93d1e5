"""Checkpoint save/load, ember vs PyTorch: a ~100 MiB state_dict (issue 13's targets:
time within 1.3x of ``torch.save``/``torch.load``, peak memory while loading under 1.5x
the checkpoint's size).

Both libraries write the same format (PyTorch's zip) to files in one folder (``--dir``,
default the system temp folder). Times are the best of ``--repeat`` rounds, the libraries
taking turns. ember's path save is atomic (temporary file, fsync, rename); the row
"save to an open file" writes through an already open file, as ``torch.save`` always does,
so it compares the formats alone. Peak memory while loading is measured in a fresh process
per library, after a small warm-up load: the rise of the resident set (its high-water mark
``VmHWM``, reset through ``/proc/self/clear_refs``, minus the RSS before the load), so
whatever each allocates counts, numpy's and torch's alike (Linux only).

A second pair of rows times a state_dict of ``--small`` tiny tensors (8x8), where the
pickle, not the bytes, is the cost.

    python benchmarks/checkpoint_io.py [--mib 100] [--small 5000] [--repeat 3] [--dir /tmp]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_torch, ratio, table  # noqa: E402

MIB = 1 << 20


def shapes(mib: int) -> list:
    """A transformer-ish mix: big matrices, their biases, norms (float32)."""
    out, total, i = [], 0, 0
    while total < mib * MIB:
        d = 512 + 128 * (i % 4)
        for shape in ((d, d * 4), (d * 4,), (d * 4, d), (d,), (d,), (d,)):
            out.append((f"layer{i}.{len(out)}", shape))
            n = 4
            for s in shape:
                n *= s
            total += n
        i += 1
    return out


def _ember_sd(spec):
    import ember
    return {k: ember.randn(*s) for k, s in spec}


def _torch_sd(torch, spec):
    return {k: torch.randn(*s) for k, s in spec}


def _best(fns: dict, repeat: int) -> dict:
    best = {k: float("inf") for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


_PEAK = r"""
import json, os, sys
lib, path, small = sys.argv[1], sys.argv[2], sys.argv[3]
if lib == "ember":
    import ember as m
else:
    import torch as m
kw = {"weights_only": True} if lib == "torch" else {}
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
def hwm():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM"))
m.load(small, **kw)  # lazy imports and first-use setup are not the checkpoint's cost
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # restart the peak (VmHWM) from here
before = rss()
sd = m.load(path, **kw)
peak = hwm()
print(json.dumps({"rise": peak - before, "kept": rss() - before}))
"""


def peak_rise(lib: str, path: str, small: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _PEAK, lib, path, small], capture_output=True,
                         text=True, check=True, env={**os.environ, "OMP_NUM_THREADS": "2"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mib", type=int, default=100)
    ap.add_argument("--small", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    args = ap.parse_args()
    import ember
    torch = load_torch()
    spec = shapes(args.mib)
    esd = _ember_sd(spec)
    folder = tempfile.mkdtemp(prefix="ckpt-bench-", dir=args.dir)
    ep, tp = os.path.join(folder, "ember.pt"), os.path.join(folder, "torch.pt")
    rows = []
    try:
        ember.save(esd, ep)
        size = os.path.getsize(ep)

        def efile():
            with open(ep + ".f", "wb") as f:
                ember.save(esd, f)
        cases = {"ember save (atomic path)": lambda: ember.save(esd, ep),
                 "ember save (open file)": efile,
                 "ember load": lambda: ember.load(ep),
                 "ember load mmap": lambda: ember.load(ep, mmap=True)}
        if torch is not None:
            tsd = _torch_sd(torch, spec)
            torch.save(tsd, tp)

            def tfile():
                with open(tp + ".f", "wb") as f:
                    torch.save(tsd, f)
            cases.update({"torch save (path)": lambda: torch.save(tsd, tp),
                          "torch save (open file)": tfile,
                          "torch load": lambda: torch.load(tp, weights_only=True),
                          "torch load mmap": lambda: torch.load(tp, weights_only=True,
                                                                mmap=True)})
        t = _best(cases, args.repeat)
        pairs = [("save to a path", "ember save (atomic path)", "torch save (path)"),
                 ("save to an open file", "ember save (open file)", "torch save (open file)"),
                 ("load", "ember load", "torch load"),
                 ("load, mmap=True", "ember load mmap", "torch load mmap")]
        for case, e, tt in pairs:
            tv = t.get(tt)
            rows.append([case, "ms", f"{t[e] * 1e3:.1f}", "-" if tv is None else
                         f"{tv * 1e3:.1f}", ratio(t[e], tv),
                         "<= 1.3x" if case in ("save to an open file", "load") else ""])
        if torch is not None and args.small:
            import io
            es = {f"m{i}.w": ember.ones(8, 8) for i in range(args.small)}
            ts = {f"m{i}.w": torch.ones(8, 8) for i in range(args.small)}
            eb, tb = io.BytesIO(), io.BytesIO()
            ember.save(es, eb)
            torch.save(ts, tb)
            small = _best({"es": lambda: ember.save(es, io.BytesIO()),
                           "ts": lambda: torch.save(ts, io.BytesIO()),
                           "el": lambda: ember.load(io.BytesIO(eb.getvalue())),
                           "tl": lambda: torch.load(io.BytesIO(tb.getvalue()),
                                                    weights_only=True)}, args.repeat)
            for case, e, tt in ((f"save {args.small} small tensors", "es", "ts"),
                                (f"load {args.small} small tensors", "el", "tl")):
                rows.append([case, "ms", f"{small[e] * 1e3:.1f}", f"{small[tt] * 1e3:.1f}",
                             ratio(small[e], small[tt]), ""])
        # cross-compatibility: each opens the other's file
        if torch is not None:
            assert torch.load(ep, weights_only=True).keys() == tsd.keys()
            assert ember.load(tp).keys() == esd.keys()
        ember.save({"w": ember.ones(4)}, ep + ".small")
        em = peak_rise("ember", ep, ep + ".small")
        tm = peak_rise("torch", tp, ep + ".small") if torch is not None else None
        rows.append(["peak RSS rise while loading / file size", "x",
                     f"{em['rise'] / size:.2f}",
                     "-" if tm is None else f"{tm['rise'] / size:.2f}",
                     ratio(em["rise"], tm and tm["rise"]), "ember < 1.5x"])
    finally:
        for p in (ep, tp, ep + ".f", tp + ".f", ep + ".small"):
            if os.path.exists(p):
                os.unlink(p)
        os.rmdir(folder)
    print(f"checkpoint: {len(spec)} float32 tensors, {size / MIB:.1f} MiB on disk "
          f"(folder {args.dir})")
    print(table(["case", "unit", "ember", "torch", "ember/torch", "target"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
