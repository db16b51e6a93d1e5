"""``ember.optim``: mirrors ``torch.optim`` (SGD, Adam, AdamW, NAdam, RAdam, Adamax, RMSprop,
Rprop, Adagrad, Adadelta, Adafactor, ASGD, SparseAdam, LBFGS, Muon),
``torch.optim.lr_scheduler`` and ``torch.optim.swa_utils``. Updates run on backend arrays, outside autograd."""
from . import lr_scheduler, swa_utils
from .adadelta import Adadelta
from .adafactor import Adafactor
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lbfgs import LBFGS
from .muon import Muon
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD
from .sparse_adam import SparseAdam

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "NAdam", "RAdam", "Adamax", "RMSprop", "Rprop",
           "Adagrad", "Adadelta", "Adafactor", "ASGD", "SparseAdam", "LBFGS", "Muon", "lr_scheduler", "swa_utils"]
