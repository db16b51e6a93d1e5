"""The one hook a backend plugin implements (pluggy, project name "ember").

A plugin is a plain module registered under the entry-point group ``ember.backends``::

    # pyproject.toml of your package
    [project.entry-points."ember.backends"]
    mybackend = "my_package.ember_plugin"

    # my_package/ember_plugin.py
    from ember.backends.hookspecs import hookimpl

    @hookimpl
    def ember_backends():
        return [MyBackend()]

pluggy is used to *find* backends, once; kernels are then plain attribute calls on the
backend object (a hook call costs about 1.5 microseconds, several times a small array op).
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("ember")
hookimpl = pluggy.HookimplMarker("ember")


@hookspec
def ember_backends() -> list:
    """Return the :class:`ember.backends.Backend` instances this plugin provides."""
