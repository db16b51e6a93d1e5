"""ember.utils: mirrors ``torch.utils`` (``ember.utils.data``; ``ember.utils.benchmark`` and
``ember.utils.checkpoint`` load on first use)."""
from . import data  # noqa: F401  -- ``ember.utils.data.DataLoader`` after ``import ember``


def __getattr__(name):
    if name in ("benchmark", "checkpoint"):
        import importlib
        mod = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
