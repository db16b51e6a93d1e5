"""``ember_vision.models``: torchvision's classification models with torchvision's module
names, so a torchvision ``state_dict`` loads as is. Adapted from torchvision's sources
(BSD-3-Clause; Copyright (c) Soumith Chintala 2016; license text: vision/LICENSE-torchvision) with ``torch`` bound to ember. ``weights=`` enums load from PyTorch's hub
cache (``$TORCH_HOME/hub/checkpoints``), downloading when online (see ``_hub``)."""
from .alexnet import *  # noqa: F401,F403
from .densenet import *  # noqa: F401,F403
from .efficientnet import *  # noqa: F401,F403
from .googlenet import *  # noqa: F401,F403
from .mobilenetv2 import *  # noqa: F401,F403
from .mobilenetv3 import *  # noqa: F401,F403
from .resnet import *  # noqa: F401,F403
from .squeezenet import *  # noqa: F401,F403
from .vgg import *  # noqa: F401,F403
from .vision_transformer import *  # noqa: F401,F403
from ._api import (Weights, WeightsEnum, get_model, get_model_builder,  # noqa: F401
                   get_model_weights, get_weight, list_models)
