"""ember.ops: every differentiable op, grouped by kind. Importing this package attaches the
ops to Tensor as methods and operators."""
from . import (arith, conversion, elementwise, linalg, reduction, selection,  # noqa: F401
               shape, indexing, scatter)
from .arith import *  # noqa: F401,F403
from .conversion import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .indexing import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .reduction import *  # noqa: F401,F403
from .scatter import *  # noqa: F401,F403
from .selection import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from . import cumulative, extrema, softmax, sorting  # noqa: F401,E402
from .cumulative import *  # noqa: F401,F403
from .extrema import *  # noqa: F401,F403
from .softmax import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from . import einsum as _einsum_mod, joining, rearrange  # noqa: F401,E402
from .einsum import *  # noqa: F401,F403
from .joining import *  # noqa: F401,F403
from .rearrange import *  # noqa: F401,F403
from . import bounds, compare  # noqa: F401,E402
from .bounds import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
from . import fill  # noqa: F401,E402 - in-place fills: zero_, fill_, normal_, ...
from . import (binning, calculus, distances, grids, linalg_methods, sampling,  # noqa: F401,E402
               setops, special_math, statistics, tensor_new)
from .binning import *  # noqa: F401,F403
from .calculus import *  # noqa: F401,F403
from .distances import *  # noqa: F401,F403
from .grids import *  # noqa: F401,F403
from .linalg_methods import *  # noqa: F401,F403
from .sampling import *  # noqa: F401,F403
from .setops import *  # noqa: F401,F403
from .special_math import *  # noqa: F401,F403
from .statistics import *  # noqa: F401,F403
from . import fused  # noqa: F401,E402 - addcmul/addcdiv
from .fused import *  # noqa: F401,F403,E402
from . import complex_parts  # noqa: F401,E402 - conj, real/imag, view_as_real, polar ...
from .complex_parts import *  # noqa: F401,F403,E402

# ``from ember.ops import *`` (ember's own top level) takes the ops, not the modules above
import sys as _sys  # noqa: E402

__all__ = [n for _m in ("arith", "conversion", "elementwise", "indexing", "linalg", "reduction",
                        "scatter", "selection", "shape", "cumulative", "extrema", "softmax",
                        "sorting", "einsum", "joining", "rearrange", "bounds", "compare",
                        "binning", "calculus", "distances", "grids", "linalg_methods",
                        "sampling", "setops", "special_math", "statistics", "fused", "complex_parts")
           for n in _sys.modules[f"{__name__}.{_m}"].__all__]
