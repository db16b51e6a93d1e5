"""``ember_vision.transforms``: mirrors ``torchvision.transforms`` (the v1 API;
``transforms.v2`` holds the v2 names). Adapted from torchvision's sources (BSD-3-Clause; Copyright (c) Soumith Chintala 2016; license text: vision/LICENSE-torchvision)
with ``torch`` bound to ember, so PIL paths call Pillow exactly as torchvision does."""
from .transforms import *  # noqa: F401,F403
from .autoaugment import *  # noqa: F401,F403
