"""``ember.profiler``: mirrors ``torch.profiler``.

While a profile is open the op interceptor (:mod:`ember.ops._intercept`) wraps every op,
forward and backward formulas alike, and the autograd engine's ``NODE_HOOK`` wraps each
backward node run (``autograd::engine::evaluate_function: MulBackward0``); ops are named
``aten::<torch name>`` as PyTorch's tables name them. Times are host (CPU) wall times
from ``time.perf_counter_ns``; on a CUDA device the op times are the host's (launch)
times, with no separate device timeline (a deliberate difference: no CUPTI).
``profile_memory`` counts the bytes of each op's output tensors as its allocation.
"""
from __future__ import annotations

import enum
import functools
import os
import socket
import threading
import time
import traceback
from typing import Any, Callable, Iterable

from .._tensor import Tensor
from ._events import EventList, FunctionEvent

__all__ = ["profile", "record_function", "schedule", "ProfilerActivity", "ProfilerAction",
           "tensorboard_trace_handler", "supported_activities"]

_KEY = "ember.profiler"
_clock = time.perf_counter_ns


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 2
    XPU = 3
    MTIA = 4


def supported_activities() -> set:
    return {ProfilerActivity.CPU, ProfilerActivity.CUDA}


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0,
             skip_first: int = 0, skip_first_wait: int = 0) -> Callable[[int], ProfilerAction]:
    """Mirrors ``torch.profiler.schedule``: skip ``skip_first`` steps, then cycles of
    ``wait`` idle, ``warmup`` and ``active`` recorded steps, ``repeat`` times (0: forever)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError("Invalid profiler schedule arguments")

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait and step < wait:
            return ProfilerAction.NONE
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod_step < num_steps - 1 else \
            ProfilerAction.RECORD_AND_SAVE
    return schedule_fn


def _default_schedule_fn(_: int) -> ProfilerAction:
    return ProfilerAction.RECORD


class _Recorder:
    """The events of one recording window, and each thread's stack of open events."""

    def __init__(self, record_shapes: bool, profile_memory: bool, with_stack: bool):
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack = with_stack
        self.events: list = []
        self.local = threading.local()
        self.next_id = 0

    def begin(self, name: str, args=(), user: bool = False) -> FunctionEvent:
        stack = getattr(self.local, "stack", None)
        if stack is None:
            stack = self.local.stack = []
        shapes = ()
        if self.record_shapes and args:
            shapes = tuple(list(a.shape) if isinstance(a, Tensor) else [] for a in args)
        frames = _user_stack() if self.with_stack else ()
        self.next_id += 1
        ev = FunctionEvent(self.next_id, name, 0, threading.get_ident(), shapes, frames, user)
        if stack:
            ev.cpu_parent = stack[-1]
            stack[-1].cpu_children.append(ev)
        stack.append(ev)
        self.events.append(ev)
        ev.start_ns = _clock()
        return ev

    def end(self, ev: FunctionEvent, out=None) -> None:
        ev.end_ns = _clock()
        stack = self.local.stack
        if stack and stack[-1] is ev:
            stack.pop()
        elif ev in stack:
            stack.remove(ev)
        if self.profile_memory and out is not None:
            ev.cpu_memory_usage = _nbytes(out)


def _nbytes(out) -> int:
    if isinstance(out, Tensor):
        return out.nbytes
    if isinstance(out, (tuple, list)):
        return sum(o.nbytes for o in out if isinstance(o, Tensor))
    return 0


_EMBER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stack() -> tuple:
    """The caller's frames outside ember, innermost first ("file(line): function")."""
    out = []
    for fr in reversed(traceback.extract_stack()[:-3]):
        if fr.filename.startswith(_EMBER_DIR):
            continue
        out.append(f"{fr.filename}({fr.lineno}): {fr.name}")
    return tuple(out)


_current: list = [None]  # the recorder of the open recording window (one at a time)


def _make(name: str, fn):
    label = "aten::" + name

    @functools.wraps(fn)
    def profiled_op(*args, **kwargs):
        rec = _current[0]
        if rec is None:
            return fn(*args, **kwargs)
        stack = getattr(rec.local, "stack", None)
        if stack and stack[-1].name == label:
            # F.relu calling ember.relu: one op to the user (PyTorch shows aten::relu once)
            return fn(*args, **kwargs)
        ev = rec.begin(label, args)
        out = None
        try:
            out = fn(*args, **kwargs)
            return out
        finally:
            rec.end(ev, out)
    return profiled_op


def _node_hook(node, fn):
    rec = _current[0]
    if rec is None:
        return fn
    label = "autograd::engine::evaluate_function: " + node._name

    def run_node(*grads):
        ev = rec.begin(label)
        out = None
        try:
            out = fn(*grads)
            return out
        finally:
            rec.end(ev, out)
    return run_node


def _hooks_on(on: bool) -> None:
    from ..autograd import graph
    from ..ops import _intercept
    if on:
        _intercept.install(_KEY, _make)
        graph.NODE_HOOK = _node_hook
    else:
        graph.NODE_HOOK = None
        _intercept.remove(_KEY)


class profile:
    """Mirrors ``torch.profiler.profile``. Without ``schedule`` every op between enter and
    exit is recorded; with one, ``step()`` moves through its NONE / WARMUP / RECORD /
    RECORD_AND_SAVE actions and ``on_trace_ready(prof)`` runs at the end of each active
    cycle. ``key_averages()``, ``events()``, ``export_chrome_trace()`` read the last
    recorded window."""

    def __init__(self, *, activities: Iterable[ProfilerActivity] | None = None,
                 schedule: Callable[[int], ProfilerAction] | None = None,
                 on_trace_ready: Callable | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_flops: bool = False, with_modules: bool = False,
                 experimental_config: Any = None, execution_trace_observer: Any = None,
                 acc_events: bool = False, use_cuda: bool | None = None,
                 **_legacy: Any) -> None:
        self.activities = set(activities) if activities else supported_activities()
        self.schedule = schedule or _default_schedule_fn
        self.on_trace_ready = on_trace_ready
        self.record_shapes, self.profile_memory = record_shapes, profile_memory
        self.with_stack = with_stack
        self.acc_events = acc_events
        self.step_num = 0
        self.current_action = self.schedule(0)
        self._rec: _Recorder | None = None
        self._events: EventList | None = None
        self._acc: list = []
        self._open = False

    # -- window control --------------------------------------------------------------------
    def _start_window(self) -> None:
        if _current[0] is not None and _current[0] is not self._rec:
            raise RuntimeError("Profiler is already enabled on this thread")
        self._rec = _Recorder(self.record_shapes, self.profile_memory, self.with_stack)
        _current[0] = self._rec

    def _stop_window(self) -> None:
        rec, self._rec = self._rec, None
        if _current[0] is rec:
            _current[0] = None
        if rec is not None:
            evs = rec.events if not self.acc_events else self._acc + rec.events
            self._acc = evs if self.acc_events else []
            self._events = EventList(evs, profile_memory=self.profile_memory,
                                     with_shapes=self.record_shapes,
                                     with_stack=self.with_stack)

    def _transition(self, prev: ProfilerAction, now: ProfilerAction) -> None:
        recording = (ProfilerAction.WARMUP, ProfilerAction.RECORD,
                     ProfilerAction.RECORD_AND_SAVE)
        if prev == ProfilerAction.RECORD_AND_SAVE and self._rec is not None:
            self._stop_window()
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        elif prev in recording and now not in recording and self._rec is not None:
            self._stop_window()
        if now in recording and self._rec is None:
            self._start_window()
        if prev == ProfilerAction.WARMUP and self._rec is not None:
            self._rec.events.clear()  # warmup steps run the profiler but keep nothing

    def start(self) -> None:
        if self._open:
            return
        self._open = True
        _hooks_on(True)
        self._transition(ProfilerAction.NONE, self.current_action)

    def stop(self) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if self._rec is not None:
                self._stop_window()
                if self.on_trace_ready is not None and self.current_action in (
                        ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
                    self.on_trace_ready(self)
        finally:
            _hooks_on(False)

    def step(self) -> None:
        """Signal the end of a training step to the schedule."""
        prev = self.current_action
        self.step_num += 1
        self.current_action = self.schedule(self.step_num)
        if self._open:
            self._transition(prev, self.current_action)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- results ---------------------------------------------------------------------------
    def events(self) -> EventList:
        if self._events is None:
            raise AssertionError("Profiler didn't finish running")
        return self._events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        return self.events().key_averages(group_by_input_shape, group_by_stack_n)

    def table(self, *args, **kwargs) -> str:
        return self.events().table(*args, **kwargs)

    def export_chrome_trace(self, path: str) -> None:
        self.events().export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Mirrors ``export_stacks``: one "frame;frame;op value" line per event (needs
        ``with_stack=True``), the input of flamegraph.pl."""
        with open(path, "w") as f:
            for e in self.events():
                if e.stack:
                    frames = ";".join(reversed(e.stack))
                    f.write(f"{frames};{e.name} {int(getattr(e, metric))}\n")


class record_function:
    """Mirrors ``torch.profiler.record_function(name, args=None)``: a labelled range in the
    profile (context manager or decorator); free when no profiler is recording."""

    def __init__(self, name: str, args: str | None = None) -> None:
        self.name, self.args = name, args
        self._ev = None
        self._rec = None

    def __enter__(self):
        rec = _current[0]
        if rec is not None:
            self._rec, self._ev = rec, rec.begin(self.name, user=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._ev is not None:
            self._rec.end(self._ev)
            self._ev = self._rec = None

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            with record_function(self.name, self.args):
                return fn(*args, **kwargs)
        return wrapped


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None,
                              use_gzip: bool = False) -> Callable:
    """Mirrors ``torch.profiler.tensorboard_trace_handler``: write each finished window to
    ``dir_name/<worker>.<ms>.pt.trace.json[.gz]``, where TensorBoard's profiler plugin
    looks."""

    def handler_fn(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        worker = worker_name or f"{socket.gethostname()}_{os.getpid()}"
        name = f"{worker}.{time.time_ns() // 1_000_000}.pt.trace.json"
        if use_gzip:
            name += ".gz"
        prof.export_chrome_trace(os.path.join(dir_name, name))
    return handler_fn
