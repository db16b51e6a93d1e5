"""Check that ember raises what PyTorch raises: same exception type, same message."""
from __future__ import annotations

import re

import pytest


def _sets_sorted(msg: str) -> str:
    """PyTorch prints some choices as a Python set, whose order varies between runs."""
    return re.sub(r"\{([^}]*)\}", lambda m: "{" + ", ".join(sorted(m.group(1).split(", ")))
                  + "}", msg)


def assert_same_error(run_torch, run_ember) -> None:
    """``run_torch()`` and ``run_ember()`` must both raise, alike."""
    with pytest.raises(Exception) as te:
        run_torch()
    with pytest.raises(Exception) as ee:
        run_ember()
    assert type(ee.value) is type(te.value), (type(ee.value), type(te.value))
    assert _sets_sorted(str(ee.value)) == _sets_sorted(str(te.value))
