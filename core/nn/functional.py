"""``ember.nn.functional``: the functional forms of the layers and losses. Mirrors
``torch.nn.functional``.

The implementations live in ``ember.nn._functional``, one file per family; this module
gathers them under PyTorch's names. A new family adds a file there and a line here.
"""
from __future__ import annotations

from ._functional.activation import *  # noqa: F401,F403
from ._functional.distance import *  # noqa: F401,F403
from ._functional.dropout import *  # noqa: F401,F403
from ._functional.linear import *  # noqa: F401,F403
from ._functional.loss import *  # noqa: F401,F403
from ._functional.normalization import *  # noqa: F401,F403
from ._functional.sparse import *  # noqa: F401,F403
from ._functional.conv import *  # noqa: F401,F403
from ._functional.pooling import *  # noqa: F401,F403
from ._functional.attention import *  # noqa: F401,F403
from ._functional.attention import _canonical_mask, _none_or_dtype  # noqa: F401
from ._functional.resample import *  # noqa: F401,F403
from ._functional.ctc import *  # noqa: F401,F403
from ._functional.fold import *  # noqa: F401,F403
from ._functional.grid import *  # noqa: F401,F403
from ..ops._register import finalize as _finalize
from ._functional import (activation as _a, distance as _d, dropout as _dr,  # noqa: E402
                          linear as _l, loss as _lo, normalization as _n, sparse as _s)

from ._functional import (attention as _at, conv as _c, pooling as _p,  # noqa: E402
                          resample as _r)
from ._functional import ctc as _ctc  # noqa: E402
from ._functional import fold as _fo, grid as _g  # noqa: E402

__all__ = [  # noqa: PLE0604 - every part is a list of names
    *_a.__all__, *_d.__all__, *_dr.__all__, *_l.__all__, *_lo.__all__, *_n.__all__,
    *_s.__all__, *_c.__all__, *_p.__all__, *_at.__all__, *_r.__all__, *_ctc.__all__,
    *_fo.__all__, *_g.__all__]


# out= is honoured in one place: every public function here that declares it (the op kit)
_finalize(globals(), "")
