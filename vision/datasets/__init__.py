"""``ember_vision.datasets``: mirrors ``torchvision.datasets`` for the data sets tutorials
use, read from their real on-disk formats at torchvision's paths."""
from .cifar import CIFAR10, CIFAR100
from .fakedata import FakeData
from .folder import DatasetFolder, ImageFolder
from .mnist import EMNIST, KMNIST, MNIST, FashionMNIST
from .svhn import SVHN
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "EMNIST", "KMNIST", "MNIST", "SVHN", "DatasetFolder",
           "FakeData", "FashionMNIST", "ImageFolder", "VisionDataset"]
