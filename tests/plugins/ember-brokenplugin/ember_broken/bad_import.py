"""A plugin module that cannot even be imported."""
raise ImportError("ember_broken.bad_import needs libfrobnicate, which is not installed")
