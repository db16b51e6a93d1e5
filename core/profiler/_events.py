"""The profiler's records: one ``FunctionEvent`` per op call (or ``record_function``
range, or autograd node run), their averages per name, the table PyTorch prints, and the
Chrome trace JSON (the format chrome://tracing and Perfetto open)."""
from __future__ import annotations

import gzip
import json
import os
from collections import OrderedDict

__all__ = ["FunctionEvent", "FunctionEventAvg", "EventList"]


class FunctionEvent:
    """Mirrors ``torch.autograd.profiler_util.FunctionEvent``: times in microseconds."""

    __slots__ = ("id", "name", "start_ns", "end_ns", "thread", "input_shapes", "stack",
                 "cpu_memory_usage", "cpu_children", "cpu_parent", "is_user_annotation",
                 "device_type")

    def __init__(self, id, name, start_ns, thread, input_shapes=(), stack=(),
                 is_user_annotation=False):
        self.id, self.name, self.start_ns, self.end_ns = id, name, start_ns, start_ns
        self.thread, self.input_shapes, self.stack = thread, input_shapes, stack
        self.cpu_memory_usage = 0
        self.cpu_children = []
        self.cpu_parent = None
        self.is_user_annotation = is_user_annotation
        self.device_type = "CPU"

    @property
    def key(self) -> str:
        return self.name

    @property
    def cpu_time_total(self) -> float:
        return (self.end_ns - self.start_ns) / 1000.0

    @property
    def self_cpu_time_total(self) -> float:
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def self_cpu_memory_usage(self) -> int:
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    @property
    def time_range(self):
        return (self.start_ns / 1000.0, self.end_ns / 1000.0)

    def __repr__(self) -> str:
        return (f"<FunctionEvent id={self.id} name={self.name} cpu_time_total="
                f"{self.cpu_time_total:.3f}us input_shapes={list(self.input_shapes)}>")


class FunctionEventAvg:
    """Mirrors ``FunctionEventAvg``: the sum over the events with one key."""

    def __init__(self, key, input_shapes=None, stack=None):
        self.key = key
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0
        self.cpu_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.input_shapes = input_shapes
        self.stack = stack
        self.is_user_annotation = False

    def add(self, ev: FunctionEvent) -> None:
        self.count += 1
        self.cpu_time_total += ev.cpu_time_total
        self.self_cpu_time_total += ev.self_cpu_time_total
        self.cpu_memory_usage += ev.cpu_memory_usage
        self.self_cpu_memory_usage += ev.self_cpu_memory_usage
        self.is_user_annotation = ev.is_user_annotation

    @property
    def cpu_time(self) -> float:
        return self.cpu_time_total / max(self.count, 1)

    def __repr__(self) -> str:
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total:.3f}"
                f"us cpu_time={self.cpu_time:.3f}us count={self.count}>")


def _fmt_time(us: float) -> str:
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _fmt_mem(b: int) -> str:
    for unit, size in (("Gb", 1 << 30), ("Mb", 1 << 20), ("Kb", 1 << 10)):
        if abs(b) >= size:
            return f"{b / size:.2f} {unit}"
    return f"{b} b"


_SORT_KEYS = {"cpu_time": "cpu_time", "cpu_time_total": "cpu_time_total",
              "self_cpu_time_total": "self_cpu_time_total", "count": "count",
              "cpu_memory_usage": "cpu_memory_usage",
              "self_cpu_memory_usage": "self_cpu_memory_usage",
              # no device timing in ember: CUDA sort keys order by host time
              "cuda_time": "cpu_time", "cuda_time_total": "cpu_time_total",
              "self_cuda_time_total": "self_cpu_time_total",
              "device_time": "cpu_time", "device_time_total": "cpu_time_total",
              "self_device_time_total": "self_cpu_time_total"}


class EventList(list):
    """Mirrors ``torch.autograd.profiler_util.EventList``."""

    def __init__(self, *args, profile_memory: bool = False, with_shapes: bool = False,
                 with_stack: bool = False):
        super().__init__(*args)
        self._profile_memory = profile_memory
        self._with_shapes = with_shapes
        self._with_stack = with_stack

    @property
    def self_cpu_time_total(self) -> float:
        return sum(e.self_cpu_time_total for e in self)

    def key_averages(self, group_by_input_shapes: bool = False,
                     group_by_stack_n: int = 0) -> "EventList":
        groups: OrderedDict = OrderedDict()
        for ev in self:
            key = [ev.key]
            if group_by_input_shapes:
                key.append(str(ev.input_shapes))
            if group_by_stack_n > 0:
                key.append(str(ev.stack[:group_by_stack_n]))
            key = tuple(key)
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(
                    ev.key, ev.input_shapes if group_by_input_shapes else None,
                    ev.stack[:group_by_stack_n] if group_by_stack_n else None)
            avg.add(ev)
        return EventList(groups.values(), profile_memory=self._profile_memory,
                         with_shapes=group_by_input_shapes,
                         with_stack=group_by_stack_n > 0)

    def total_average(self) -> FunctionEventAvg:
        tot = FunctionEventAvg("Total")
        for ev in self:
            tot.count += ev.count if isinstance(ev, FunctionEventAvg) else 1
            tot.cpu_time_total += ev.cpu_time_total
            tot.self_cpu_time_total += ev.self_cpu_time_total
        return tot

    def table(self, sort_by: str | None = None, row_limit: int = 100,
              max_src_column_width: int = 75, max_name_column_width: int = 55,
              max_shapes_column_width: int = 80, header: str | None = None,
              top_level_events_only: bool = False, time_unit: str | None = None) -> str:
        """PyTorch's table: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU time avg,
        (CPU Mem, Self CPU Mem,) # of Calls (, Input Shapes)."""
        rows = list(self)
        if top_level_events_only:
            rows = [e for e in rows if getattr(e, "cpu_parent", None) is None]
        if sort_by is not None:
            attr = _SORT_KEYS.get(sort_by)
            if attr is None:
                raise AttributeError(f"'FunctionEventAvg' object has no attribute '{sort_by}'")
            rows.sort(key=lambda e: getattr(e, attr), reverse=True)
        if row_limit is not None and row_limit > 0:
            rows = rows[:row_limit]
        self_total = sum(e.self_cpu_time_total for e in self) or 1.0
        name_w = min(max([len(e.key) for e in rows] + [4]) + 4, max_name_column_width)
        cols = [("Name", name_w), ("Self CPU %", 12), ("Self CPU", 12), ("CPU total %", 12),
                ("CPU total", 12), ("CPU time avg", 12)]
        if self._profile_memory:
            cols += [("CPU Mem", 12), ("Self CPU Mem", 12)]
        cols.append(("# of Calls", 12))
        if self._with_shapes:
            cols.append(("Input Shapes", max_shapes_column_width))
        if self._with_stack:
            cols.append(("Source Location", max_src_column_width))
        line = "-" * (sum(w for _, w in cols) + 2 * (len(cols) - 1))
        fmt = "  ".join(f"{{:<{w}}}" if i == 0 or n in ("Input Shapes", "Source Location")
                        else f"{{:>{w}}}" for i, (n, w) in enumerate(cols))
        out = []
        if header:
            out += [line, header]
        out += [line, fmt.format(*[n for n, _ in cols]), line]
        for e in rows:
            name = e.key if len(e.key) <= name_w - 3 else e.key[:name_w - 6] + "..."
            vals = [name, f"{100 * e.self_cpu_time_total / self_total:.2f}%",
                    _fmt_time(e.self_cpu_time_total),
                    f"{100 * e.cpu_time_total / self_total:.2f}%",
                    _fmt_time(e.cpu_time_total), _fmt_time(e.cpu_time)]
            if self._profile_memory:
                vals += [_fmt_mem(e.cpu_memory_usage), _fmt_mem(e.self_cpu_memory_usage)]
            vals.append(str(e.count))
            if self._with_shapes:
                vals.append(str(e.input_shapes)[:max_shapes_column_width])
            if self._with_stack:
                vals.append(str((e.stack or [""])[0])[:max_src_column_width])
            out.append(fmt.format(*vals))
        out.append(line)
        out.append(f"Self CPU time total: {_fmt_time(self_total)}")
        return "\n".join(out) + "\n"

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace (complete "X" events, microseconds)."""
        pid = os.getpid()
        trace = []
        for e in self:
            args = {}
            if e.input_shapes:
                args["Input Dims"] = [list(s) if s is not None else [] for s in e.input_shapes]
            if e.stack:
                args["Call stack"] = ";".join(e.stack)
            trace.append({"ph": "X", "cat": "user_annotation" if e.is_user_annotation
                          else "cpu_op", "name": e.name, "pid": pid, "tid": e.thread,
                          "ts": e.start_ns / 1000.0, "dur": e.cpu_time_total, "args": args})
        doc = {"schemaVersion": 1, "traceEvents": trace, "displayTimeUnit": "ms",
               "deviceProperties": []}
        data = json.dumps(doc).encode()
        if str(path).endswith(".gz"):
            data = gzip.compress(data)
        with open(path, "wb") as f:
            f.write(data)
