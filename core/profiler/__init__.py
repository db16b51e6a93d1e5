"""``ember.profiler``: mirrors ``torch.profiler`` (see :mod:`ember.profiler.profiler`)."""
from __future__ import annotations

from ._events import EventList, FunctionEvent, FunctionEventAvg  # noqa: F401
from .profiler import (ProfilerAction, ProfilerActivity, profile, record_function,  # noqa: F401
                       schedule, supported_activities, tensorboard_trace_handler)

__all__ = ["profile", "record_function", "schedule", "ProfilerActivity", "ProfilerAction",
           "tensorboard_trace_handler", "supported_activities"]
