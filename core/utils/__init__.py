"""ember.utils: mirrors ``torch.utils`` (so far: ``ember.utils.data``)."""
from . import data  # noqa: F401  -- ``ember.utils.data.DataLoader`` after ``import ember``
