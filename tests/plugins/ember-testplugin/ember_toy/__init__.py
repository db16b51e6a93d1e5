"""Third-party-style ember backends used by the tests, over plain numpy arrays:

- ``toy`` serves a made-up device type ``toy`` with two devices;
- ``toycpu`` also serves ``cpu``, below numpy's priority, so it is used only when chosen
  (``EMBER_PROVIDERS=cpu=toycpu`` or ``set_provider``), as ``tox -e jax`` chooses jax.

They reach ember only through the entry point declared in pyproject.toml, as a real plugin
would."""
from ember.backends import Backend
from ember.backends.hookspecs import hookimpl

__version__ = "0.0.1"


class ToyBackend(Backend):
    name = "toy"
    device_types = ("toy",)
    priority = 0

    def load(self) -> None:
        import numpy as np
        self.xp = np

    @staticmethod
    def dtype_of_native(nat):
        import numpy as np
        return np.dtype(nat)

    def version(self) -> str:
        return __version__

    def device_count(self, device_type: str) -> int:
        return 2


class ToyCpuBackend(ToyBackend):
    name = "toycpu"
    device_types = ("cpu",)
    priority = -1

    def device_count(self, device_type: str) -> int:
        return 1


@hookimpl
def ember_backends():
    return [ToyBackend(), ToyCpuBackend()]
