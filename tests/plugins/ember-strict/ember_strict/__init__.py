"""ember_strict: an ember backend over ``array_api_strict``, a standard-conforming array
library that ember knows nothing about, written as a third party would write one.

It serves device type ``strict`` and, when chosen (``EMBER_PROVIDERS=cpu=strict``), ``cpu``.
Everything beyond ``xp`` comes from ember's generic defaults: that the suite passes on it is
the test that the backend protocol is complete. array_api_strict has no float16/bfloat16.
"""
import importlib.util

from ember.backends import Backend
from ember.backends.hookspecs import hookimpl

__version__ = "0.1.0"


class StrictBackend(Backend):
    name = "strict"
    device_types = ("strict", "cpu")
    priority = -10  # serves cpu only when chosen

    def unavailable_reason(self):
        if importlib.util.find_spec("array_api_strict") is None:
            return "array_api_strict is not installed (pip install array_api_strict)"
        return None

    def load(self) -> None:
        import array_api_strict
        self.xp = array_api_strict


@hookimpl
def ember_backends():
    return [StrictBackend()]
