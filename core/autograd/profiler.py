"""``ember.autograd.profiler``: mirrors ``torch.autograd.profiler`` (the older entry point
of the same profiler): ``profile(enabled=True, use_cuda=False, record_shapes=False,
profile_memory=False, with_stack=False)``, ``record_function``."""
from __future__ import annotations

from ..profiler import EventList, FunctionEvent, FunctionEventAvg, record_function  # noqa: F401
from ..profiler.profiler import profile as _profile

__all__ = ["profile", "record_function", "EventList", "FunctionEvent", "FunctionEventAvg"]


class profile(_profile):
    """Mirrors ``torch.autograd.profiler.profile``; ``enabled=False`` records nothing."""

    def __init__(self, enabled: bool = True, *, use_cuda: bool = False, use_device=None,
                 record_shapes: bool = False, with_flops: bool = False,
                 profile_memory: bool = False, with_stack: bool = False,
                 with_modules: bool = False, use_kineto: bool = False,
                 use_cpu: bool = True, **kwargs) -> None:
        super().__init__(record_shapes=record_shapes, profile_memory=profile_memory,
                         with_stack=with_stack)
        self.enabled = enabled

    def __enter__(self):
        if self.enabled:
            self.start()
        return self

    @property
    def function_events(self) -> EventList:
        return self.events()
