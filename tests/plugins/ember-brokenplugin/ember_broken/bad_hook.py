"""A plugin whose hook raises while constructing its backend."""
from ember.backends.hookspecs import hookimpl


@hookimpl
def ember_backends():
    raise RuntimeError("no frobnicator device driver found")
