"""What the benchmark scripts share: timing that lets the libraries take turns (so all see
the same machine load), PyTorch pinned to 2 threads, and the result table."""
from __future__ import annotations

import timeit

THREADS = 2


def load_torch():
    """PyTorch with ``THREADS`` intra-op threads, or None where it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


def race(cases: dict, number: int, repeat: int, timer=timeit.default_timer) -> dict:
    """Best microseconds per call of each ``{label: callable}``. Each round times every
    candidate once (``number`` calls), the candidates taking turns; the best of ``repeat``
    rounds is kept, the least disturbed by other work on the machine. ``timer``:
    ``time.process_time`` counts only this process's CPU time (steadier on a loaded
    machine; meaningful for single-threaded runs)."""
    timers = {k: timeit.Timer(fn, timer=timer) for k, fn in cases.items()}
    for t in timers.values():
        t.timeit(max(1, number // 10))  # warm-up: caches, lazy imports, allocator
    best = {k: float("inf") for k in cases}
    for _ in range(repeat):
        for k, t in timers.items():
            best[k] = min(best[k], t.timeit(number) / number * 1e6)
    return best


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a / b:.2f}"


def table(header: list, rows: list) -> str:
    """A Markdown table (it reads fine in a terminal and pastes into the README)."""
    cells = [[str(c) for c in r] for r in [header] + rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    sep = "| " + " | ".join("-" * (w - 1) + ":" for w in widths) + " |"
    return "\n".join([line(cells[0]), sep] + [line(r) for r in cells[1:]])


def blocks(cases: dict, number: int, repeat: int, timer=timeit.default_timer) -> dict:
    """``{label: (median, best)}`` microseconds per call over ``repeat`` blocks of
    ``number`` calls each, the candidates alternating block by block (and the order of
    each round alternating, so neither always runs right after the other). The median is
    what a busy machine reports most faithfully; the best is its least disturbed block."""
    import statistics
    timers = {k: timeit.Timer(fn, timer=timer) for k, fn in cases.items()}
    for t in timers.values():
        t.timeit(max(1, number // 5))  # warm-up: caches, lazy imports, allocator
    times: dict = {k: [] for k in cases}
    keys = list(cases)
    for r in range(repeat):
        for k in (keys if r % 2 == 0 else keys[::-1]):
            times[k].append(timers[k].timeit(number) / number * 1e6)
    return {k: (statistics.median(v), min(v)) for k, v in times.items()}


def _serve(conn, prepare, label: str, cpu_time: bool) -> None:
    """A worker process of :class:`Workers`: ``prepare(label)`` gives ``(step,
    set_threads, eval_loss)``; then it answers the parent's commands until told to stop."""
    import time
    timer = time.process_time if cpu_time else time.perf_counter
    step, set_threads, eval_loss = prepare(label)
    conn.send(eval_loss())
    while True:
        cmd, arg = conn.recv()
        if cmd == "threads":
            set_threads(arg)
            conn.send(None)
        elif cmd == "time":
            number, warm = arg
            end = time.perf_counter() + warm
            while time.perf_counter() < end:
                step()
            t0 = timer()
            for _ in range(number):
                step()
            conn.send((timer() - t0) / number * 1e6)
        else:
            return


class Workers:
    """One process per library (``prepare(label)`` runs in each, so the library's model,
    data and thread pools live there alone). Two libraries in one process share it with
    each other's spinning thread pools: PyTorch's OpenMP workers, numpy's OpenBLAS workers
    and ember's own; on 2 cores the same step then read 100 ms in one run and 186 ms in the
    next. A user runs one library, so each gets a process of its own; the blocks still
    alternate, so both see the same machine load. Use as a context manager."""

    PAUSE = 0.3  # seconds between blocks

    def __init__(self, prepare, labels, cpu_time: bool = False, warm: float = 0.0):
        """``warm``: seconds of untimed calls after each pause, before the block is timed:
        a training loop runs its steps back to back, and after a pause the first ones are
        slow (XLA's MLP step at 2 threads: ~13 steps, 45 ms, at 3-4 ms each, then 2.2-2.4
        ms)."""
        self.warm = warm
        import multiprocessing as mp
        ctx = mp.get_context("spawn")  # no fork of a process holding thread pools
        self.conns, self.procs = {}, []
        for label in labels:
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_serve, args=(child, prepare, label, cpu_time),
                               daemon=True)
            proc.start()
            self.conns[label] = parent
            self.procs.append(proc)
        #: each library's first evaluation (e.g. the loss, to check the models agree)
        self.first = {k: c.recv() for k, c in self.conns.items()}

    def threads(self, n: int) -> None:
        for c in self.conns.values():
            c.send(("threads", n))
        for c in self.conns.values():
            c.recv()

    def drop(self, label: str) -> None:
        """Stop ``label``'s process and leave it out of the blocks (e.g. it could not run)."""
        self.conns.pop(label).send(("stop", None))

    def time(self, label: str, number: int) -> float:
        """Microseconds per call of ``number`` calls in ``label``'s process."""
        self.conns[label].send(("time", (number, self.warm)))
        return self.conns[label].recv()

    def blocks(self, number: int, repeat: int) -> dict:
        """:func:`blocks`, each block timed in its library's own process."""
        import statistics
        for k in self.conns:
            self.time(k, max(1, number // 5))  # warm-up
        import time
        times: dict = {k: [] for k in self.conns}
        keys = list(self.conns)
        for r in range(repeat):
            for k in (keys if r % 2 == 0 else keys[::-1]):
                # a pause first: a library's idle workers spin on after its block (OpenBLAS
                # ~0.1 s, OpenMP likewise) and would take a core from the next block
                time.sleep(self.PAUSE)
                times[k].append(self.time(k, number))
        return {k: (statistics.median(v), min(v)) for k, v in times.items()}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        for c in self.conns.values():
            try:
                c.send(("stop", None))
            except OSError:
                pass
        for p in self.procs:
            p.join(timeout=10)


def cases_main(doc: str, cases) -> None:
    """The command line of a benchmark made of ``cases(lib) -> {name: (fn, number)}``:
    ``--repeat``, ``--cpu-time``; prints ember against PyTorch, one row per case."""
    import argparse
    import time
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--cpu-time", action="store_true")
    args = ap.parse_args()
    timer = time.process_time if args.cpu_time else time.perf_counter
    import ember
    torch = load_torch()
    ec = cases(ember)
    tc = cases(torch) if torch is not None else {}
    rows = []
    for name, (fn, number) in ec.items():
        runs = {"ember": fn}
        if name in tc:
            runs["torch"] = tc[name][0]
        best = race(runs, number, args.repeat, timer=timer)
        rows.append([name, f"{best['ember']:.0f}",
                     f"{best['torch']:.0f}" if "torch" in best else "-",
                     ratio(best["ember"], best.get("torch"))])
    print(table(["case", "ember us", "torch us", "ember/torch"], rows))
