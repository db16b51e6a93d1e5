"""ember_numpy: the CPU backend over numpy, registered through the ``ember.backends`` entry
point exactly as a third-party backend would be. numpy is ``xp`` as it is (numpy 2.x follows
the array API standard); bfloat16 comes from ``ml_dtypes``."""
from ember.backends.hookspecs import hookimpl

from .backend import NumpyBackend

__all__ = ["NumpyBackend"]


@hookimpl
def ember_backends():
    return [NumpyBackend()]
