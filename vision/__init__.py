"""``ember_vision``: torchvision's API for ember — datasets, transforms, utils, io, ops and
models. Under ``ember run`` a script's ``import torchvision`` (and its submodules) binds
this package. Mirrors torchvision 0.29."""
from . import datasets, io, models, ops, transforms, utils  # noqa: F401

__version__ = "0.29.0+ember"

_image_backend = "PIL"


def set_image_backend(backend: str) -> None:
    """Mirrors ``torchvision.set_image_backend``: only "PIL" is provided."""
    if backend != "PIL":
        raise ValueError(f"Invalid backend '{backend}'. Options are 'PIL' (ember_vision has "
                         f"no accimage)")


def get_image_backend() -> str:
    """Mirrors ``torchvision.get_image_backend``."""
    return _image_backend
