"""ember.utils: mirrors ``torch.utils`` (``ember.utils.data``, ``ember.utils.checkpoint``)."""
from . import data  # noqa: F401  -- ``ember.utils.data.DataLoader`` after ``import ember``
from . import checkpoint  # noqa: F401,E402
