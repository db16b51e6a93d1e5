"""``ember.nn.utils``: gradient clipping and parameter/vector conversion. Mirrors
``torch.nn.utils``."""
from . import clip_grad, convert_parameters  # noqa: F401
from .clip_grad import clip_grad_norm, clip_grad_norm_, clip_grad_value_, get_total_norm  # noqa: F401
from .convert_parameters import parameters_to_vector, vector_to_parameters  # noqa: F401
from . import rnn  # noqa: F401,E402
from . import parametrizations, parametrize, spectral_norm as _spectral_norm_mod  # noqa: F401,E402
from . import weight_norm as _weight_norm_mod  # noqa: F401,E402
from .spectral_norm import remove_spectral_norm, spectral_norm  # noqa: F401,E402
from .weight_norm import remove_weight_norm, weight_norm  # noqa: F401,E402
from . import prune  # noqa: F401,E402
