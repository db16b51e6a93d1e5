"""``ember.utils.benchmark``: mirrors the Python-timing part of ``torch.utils.benchmark``:
``Timer`` (``timeit``, ``blocked_autorange``, ``adaptive_autorange``), ``Measurement`` (with
PyTorch's repr, median/mean/IQR and its noise warnings) and ``TaskSpec``.

Deliberate differences: only ``language="python"`` (PyTorch can also time C++ snippets);
``num_threads`` is recorded, not applied (ember's numpy backend keeps BLAS's own threads);
``Compare``, ``Fuzzer`` and the Callgrind collectors are not provided.
"""
from __future__ import annotations

import dataclasses
import textwrap
import timeit as _timeit
from typing import Any, Callable

__all__ = ["Timer", "Measurement", "TaskSpec", "select_unit"]

# the IQR/median ratios above which a Measurement warns, as PyTorch's
_IQR_WARN_THRESHOLD = 0.1
_IQR_GROSS_WARN_THRESHOLD = 0.5


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """Mirrors ``torch.utils.benchmark.utils.common.TaskSpec``: what a Timer runs."""

    stmt: str
    setup: str
    global_setup: str = ""
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        sub = f": {self.sub_label}" if self.sub_label else ""
        if self.label is not None:
            return self.label + sub
        if "\n" not in self.stmt:
            return self.stmt + sub
        return (f"stmt:{f' ({self.sub_label})' if self.sub_label else ''}\n"
                f"{textwrap.indent(self.stmt, '  ')}")

    def setup_str(self) -> str:
        if self.setup == "pass" or not self.setup:
            return ""
        if "\n" in self.setup:
            return f"setup:\n{textwrap.indent(self.setup, '  ')}"
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        parts = [self.title, self.description or "", self.setup_str()]
        return "\n".join(f"{p}\n" if "\n" in p else p for p in parts if p)


def select_unit(t: float) -> tuple[str, float]:
    """Mirrors ``torch.utils.benchmark.select_unit``: the unit that shows ``t`` seconds as
    a number of order one."""
    import math
    exp = int(math.log10(t) // 3) if t > 0 else 0
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(exp, "s")
    return unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[unit]


def _quantile(sorted_times: tuple, q: float) -> float:
    # linear interpolation between closest ranks (torch.quantile's default)
    pos = (len(sorted_times) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_times) - 1)
    return sorted_times[lo] + (sorted_times[hi] - sorted_times[lo]) * (pos - lo)


@dataclasses.dataclass(repr=False)
class Measurement:
    """Mirrors ``torch.utils.benchmark.Measurement``: ``raw_times`` are seconds per block of
    ``number_per_run`` runs; ``times``, ``median``, ``mean``, ``iqr`` are per run."""

    number_per_run: int
    raw_times: list
    task_spec: TaskSpec
    metadata: dict | None = None

    def __getattr__(self, name: str) -> Any:
        # TaskSpec's fields read through (m.stmt, m.label, m.num_threads, ...)
        if name in {f.name for f in dataclasses.fields(TaskSpec)}:
            return getattr(self.task_spec, name)
        raise AttributeError(f"'Measurement' object has no attribute '{name}'")

    @property
    def times(self) -> list:
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def _sorted(self) -> tuple:
        return tuple(sorted(self.times))

    @property
    def median(self) -> float:
        return _quantile(self._sorted, 0.5)

    @property
    def mean(self) -> float:
        ts = self.times
        return sum(ts) / len(ts)

    @property
    def iqr(self) -> float:
        s = self._sorted
        return _quantile(s, 0.75) - _quantile(s, 0.25)

    @property
    def title(self) -> str:
        return self.task_spec.title

    @property
    def env(self) -> str:
        return "Unspecified env" if self.task_spec.env is None else self.task_spec.env

    @property
    def as_row_name(self) -> str:
        return self.task_spec.sub_label or self.task_spec.stmt or "[Unknown]"

    def meets_confidence(self, threshold: float = _IQR_WARN_THRESHOLD) -> bool:
        return self.iqr / self.median < threshold

    @property
    def _warnings(self) -> tuple:
        if self.meets_confidence(_IQR_WARN_THRESHOLD):
            return ()
        why = ("This suggests significant environmental influence."
               if not self.meets_confidence(_IQR_GROSS_WARN_THRESHOLD)
               else "This could indicate system fluctuation.")
        return (f"  WARNING: Interquartile range is {self.iqr / self.median * 100:.1f}% of "
                f"the median measurement.\n           {why}",)

    @property
    def has_warnings(self) -> bool:
        return bool(self._warnings)

    def __repr__(self) -> str:
        s = self._sorted
        n = len(s)
        unit, scale = select_unit(self.median)
        lines = [f"<torch.utils.benchmark.utils.common.Measurement object at {id(self):#x}>",
                 self.task_spec.summarize(),
                 f"  {'Median: ' if n > 1 else ''}{self.median / scale:.2f} {unit}"]
        if n >= 4:
            lines.append(f"  IQR:    {self.iqr / scale:.2f} {unit} "
                         f"({_quantile(s, 0.25) / scale:.2f} to "
                         f"{_quantile(s, 0.75) / scale:.2f})")
        threads = self.task_spec.num_threads
        lines.append(f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs "
                     f"{'per measurement,' if n > 1 else ','} {threads} "
                     f"thread{'s' if threads > 1 else ''}")
        lines.extend(self._warnings)
        return "\n".join(lines).strip()

    @staticmethod
    def merge(measurements) -> list:
        """Mirrors ``Measurement.merge``: replicates of one TaskSpec pooled, per run."""
        groups: dict = {}
        for m in measurements:
            groups.setdefault(m.task_spec, []).extend(m.times)
        return [Measurement(1, ts, spec) for spec, ts in groups.items()]


class Timer:
    """Mirrors ``torch.utils.benchmark.Timer``: times ``stmt`` after ``setup`` with
    ``timeit``; ``torch`` in the statement's globals is ember (as PyTorch puts torch
    there)."""

    def __init__(self, stmt: str = "pass", setup: str = "pass", global_setup: str = "",
                 timer: Callable[[], float] = _timeit.default_timer,
                 globals: dict | None = None, label: str | None = None,
                 sub_label: str | None = None, description: str | None = None,
                 env: str | None = None, num_threads: int = 1,
                 language: str = "python") -> None:
        if str(getattr(language, "name", language)).lower() not in ("python", "py"):
            raise ValueError(f"Invalid language `{language}`: ember times Python only.")
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")
        import ember
        g = {"torch": ember, **(globals or {})}
        stmt, setup = textwrap.dedent(stmt).strip(), textwrap.dedent(setup).strip()
        self._timer = _timeit.Timer(stmt=stmt, setup=setup or "pass", timer=timer, globals=g)
        self._task_spec = TaskSpec(stmt=stmt, setup=setup, global_setup=global_setup,
                                   label=label, sub_label=sub_label, description=description,
                                   env=env, num_threads=num_threads)

    def _timeit(self, number: int) -> float:
        return self._timer.timeit(number=max(int(number), 1))

    def timeit(self, number: int = 1000000) -> Measurement:
        """Mirrors ``Timer.timeit``: one block of ``number`` runs (after a short warmup)."""
        self._timeit(max(number // 100, 2))
        return Measurement(number, [self._timeit(number)], self._task_spec)

    def repeat(self, repeat: int = -1, number: int = -1) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback=None) -> None:
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _block_size(self, min_run_time: float) -> int:
        # grow the block until the timer's own overhead is negligible
        overhead = sorted(self._timer.timeit(number=0) for _ in range(5))[2]
        number = 1
        while True:
            took = self._timeit(number)
            if (overhead / took <= 1e-4 and took >= min_run_time / 1000) or \
                    took > min_run_time or number * 10 > 2147483647:
                return number
            number *= 10

    def _loop(self, number: int, stop, min_run_time: float, max_run_time=None,
              callback=None) -> list:
        times: list = []
        total, can_stop = 0.0, False
        while total < min_run_time or not can_stop:
            took = self._timeit(number)
            times.append(took)
            total += took
            if callback is not None:
                callback(number, took)
            can_stop = stop(times)
            if max_run_time is not None and total > max_run_time:
                break
        return times

    def blocked_autorange(self, callback=None, min_run_time: float = 0.2) -> Measurement:
        """Mirrors ``Timer.blocked_autorange``: blocks of a size chosen so timer overhead
        is negligible, repeated until ``min_run_time`` seconds have been spent."""
        number = self._block_size(min_run_time)
        times = self._loop(number, lambda ts: True, min_run_time, callback=callback)
        return Measurement(number, times, self._task_spec)

    def adaptive_autorange(self, threshold: float = 0.1, *, min_run_time: float = 0.01,
                           max_run_time: float = 10.0, callback=None) -> Measurement:
        """Mirrors ``Timer.adaptive_autorange``: blocks until the IQR/median falls under
        ``threshold`` (at least 3 blocks) or ``max_run_time`` is spent."""
        number = self._block_size(min_run_time=0.05)

        def stop(ts: list) -> bool:
            return len(ts) > 3 and Measurement(number, ts, self._task_spec).meets_confidence(
                threshold)
        times = self._loop(number, stop, min_run_time, max_run_time, callback)
        return Measurement(number, times, self._task_spec)
