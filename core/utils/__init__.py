"""ember.utils: mirrors ``torch.utils`` (``ember.utils.data``; ``ember.utils.benchmark``
loads on first use)."""
from . import data  # noqa: F401  -- ``ember.utils.data.DataLoader`` after ``import ember``


def __getattr__(name):
    if name == "benchmark":
        import importlib
        mod = importlib.import_module(f"{__name__}.benchmark")
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'ember.utils' has no attribute '{name}'")
