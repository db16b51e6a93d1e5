"""``ember.optim``: mirrors ``torch.optim`` (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta,
LBFGS) and ``torch.optim.lr_scheduler``. Updates run on backend arrays, outside autograd."""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .lbfgs import LBFGS
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "LBFGS",
           "lr_scheduler"]
