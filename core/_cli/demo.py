"""``ember demo``: the seeds' whole training procedure on a real data set, end to end.

``--task classify`` (default): scikit-learn's digits (1,797 8x8 images, shipped inside the
package, no download), a small CNN (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear),
CrossEntropyLoss, Adam with a cosine learning-rate schedule. ``--task regression``: the
seeds' homework shape, a Linear-ReLU-Linear net with MSELoss and SGD with momentum on
scikit-learn's diabetes data. Both run the same procedure, written as a PyTorch user would
write it: ``Dataset`` + ``DataLoader`` (train/val/test), ``model.train()`` / ``model.eval()``,
``no_grad`` evaluation, the best checkpoint by validation score saved with ``ember.save`` and
reloaded with ``load_state_dict(ember.load(...))`` for the test, ``tqdm`` progress bars and
a learning-curve PNG in ``--out``. Needs the ``demo`` extra: ``pip install 'ember[demo]'``.
"""
from __future__ import annotations

import argparse
import os
import time

from . import UsageError, check_device, check_out_dir

__all__ = ["add_parser"]

# Tuned over seeds 0-4: test accuracy 0.98-0.99, ~7 s of CPU (tests/test_cli.py checks the
# default run reaches 0.97 in under a minute).
_DEFAULTS = {"classify": {"epochs": 15, "batch_size": 32, "lr": 2e-3},
             "regression": {"epochs": 30, "batch_size": 32, "lr": 0.01}}


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="train a CNN on scikit-learn's digits (or --task "
                       "regression) and report the test score",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--task", choices=("classify", "regression"), default="classify",
                   help="digits CNN (default) or the diabetes regression")
    p.add_argument("--device", default="cpu", help="any device string (default: cpu)")
    p.add_argument("--epochs", type=_positive, default=None,
                   help=f"default: {_DEFAULTS['classify']['epochs']} (classify), "
                        f"{_DEFAULTS['regression']['epochs']} (regression)")
    p.add_argument("--batch-size", type=_positive, default=None, help="default: 32")
    p.add_argument("--out", default="ember-demo", metavar="DIR",
                   help="where the checkpoint and learning curve go (default: ./ember-demo)")
    p.add_argument("--seed", type=int, default=0, help="seeds the split, init and shuffling")
    p.add_argument("--tensorboard", default=None, metavar="DIR",
                   help="also log losses (and accuracy) per epoch to TensorBoard event files "
                        "in DIR (needs tensorboard: pip install 'ember[tools]')")
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _need_extras() -> None:
    missing = []
    for module, dist in (("sklearn", "scikit-learn"), ("tqdm", "tqdm"),
                         ("matplotlib", "matplotlib")):
        try:
            __import__(module)
        except ImportError:
            missing.append(dist)
    if missing:
        raise UsageError(f"the demo needs {', '.join(missing)}: pip install 'ember[demo]'")


def run(args: argparse.Namespace) -> int:
    _need_extras()
    device = check_device(args.device)
    out = check_out_dir(args.out)
    cfg = dict(_DEFAULTS[args.task])
    cfg["epochs"] = args.epochs or cfg["epochs"]
    cfg["batch_size"] = args.batch_size or cfg["batch_size"]
    cfg["writer"] = _writer(getattr(args, "tensorboard", None))
    t0 = time.perf_counter()
    with _one_blas_thread():
        if args.task == "classify":
            score = _classify(device, out, args.seed, **cfg)
            print(f"test accuracy: {score:.4f}")
        else:
            score = _regression(device, out, args.seed, **cfg)
            print(f"test MSE: {score:.1f}")
    if cfg["writer"] is not None:
        cfg["writer"].close()
    print(f"({time.perf_counter() - t0:.1f} s on {device}; checkpoint and learning curve "
          f"in {out}/)")
    return 0


def _writer(log_dir):
    """A SummaryWriter for ``--tensorboard DIR`` (None without the option)."""
    if not log_dir:
        return None
    try:
        from ember.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UsageError("--tensorboard needs tensorboard: pip install 'ember[tools]'") from None
    return SummaryWriter(log_dir)


def _one_blas_thread():
    """The demo's matrices are tiny (batch 32, at most 256 wide): a second BLAS thread costs
    more than it saves, and on a busy machine spinning threads multiply the time several
    fold. threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# -- data ------------------------------------------------------------------------------

def _dataset_class():
    from ember.utils.data import Dataset

    class ArrayDataset(Dataset):
        """(input, target) pairs: row ``i`` of two tensors."""

        def __init__(self, x, y):
            self.x, self.y = x, y

        def __getitem__(self, index):
            return self.x[index], self.y[index]

        def __len__(self):
            return len(self.x)

    return ArrayDataset


def _loaders(x, y, seed: int, batch_size: int, stratify: bool):
    """Train/val/test DataLoaders over a 60/20/20 split (shuffled training batches)."""
    import ember
    from ember.utils.data import DataLoader
    from sklearn.model_selection import train_test_split
    strat = y if stratify else None
    x_tr, x_rest, y_tr, y_rest = train_test_split(x, y, test_size=0.4, random_state=seed,
                                                  stratify=strat)
    x_dv, x_tt, y_dv, y_tt = train_test_split(x_rest, y_rest, test_size=0.5,
                                              random_state=seed,
                                              stratify=y_rest if stratify else None)
    data = _dataset_class()
    gen = ember.Generator().manual_seed(seed)
    make = lambda a, b, shuffle: DataLoader(  # noqa: E731
        data(ember.tensor(a), ember.tensor(b)), batch_size, shuffle=shuffle,
        generator=gen if shuffle else None)
    return make(x_tr, y_tr, True), make(x_dv, y_dv, False), make(x_tt, y_tt, False)


# -- the procedure (the seeds' "entire procedure") ------------------------------------------

def _evaluate(model, loader, criterion, device, accuracy: bool) -> tuple[float, float]:
    """Mean loss over ``loader`` and the fraction of correct argmax predictions."""
    import ember
    model.eval()
    total_loss, correct = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        with ember.no_grad():
            pred = model(x)
            total_loss += criterion(pred, y).cpu().item() * len(x)
            if accuracy:
                correct += (pred.argmax(dim=1) == y).sum().item()
    n = len(loader.dataset)
    return total_loss / n, correct / n


def _fit(model, criterion, optimizer, loaders, device, epochs: int, ckpt: str,
         accuracy: bool, scheduler=None, writer=None) -> dict:
    """Train, validate each epoch, keep the best checkpoint (validation accuracy, or loss
    for regression); returns the history the learning curve plots."""
    import ember
    from tqdm import tqdm
    tr_set, dv_set, _ = loaders
    history = {"train_loss": [], "val_loss": [], "val_acc": []}
    best = None
    for epoch in range(1, epochs + 1):
        model.train()
        total, seen = 0.0, 0
        bar = tqdm(tr_set, desc=f"epoch {epoch}/{epochs}", unit="batch", leave=False)
        for x, y in bar:
            optimizer.zero_grad()
            x, y = x.to(device), y.to(device)
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            value = loss.item()
            total, seen = total + value * len(x), seen + len(x)
            bar.set_postfix(loss=f"{value:.4f}", refresh=False)
        if scheduler is not None:
            scheduler.step()
        val_loss, val_acc = _evaluate(model, dv_set, criterion, device, accuracy)
        history["train_loss"].append(total / seen)
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        score = val_acc if accuracy else -val_loss
        saved = best is None or score > best
        if saved:
            best = score
            ember.save(model.state_dict(), ckpt)
        line = f"epoch {epoch:>3}/{epochs}  train loss {total / seen:.4f}  val loss {val_loss:.4f}"
        if accuracy:
            line += f"  val acc {val_acc:.4f}"
        tqdm.write(line + ("  (best so far: saved)" if saved else ""))
        if writer is not None:
            writer.add_scalar("loss/train", total / seen, epoch)
            writer.add_scalar("loss/val", val_loss, epoch)
            if accuracy:
                writer.add_scalar("accuracy/val", val_acc, epoch)
    return history


def _test(model, loaders, criterion, device, ckpt: str, accuracy: bool) -> tuple[float, float]:
    import ember
    model.load_state_dict(ember.load(ckpt))
    return _evaluate(model, loaders[2], criterion, device, accuracy)


def _plot(history: dict, path: str, title: str, accuracy: bool) -> None:
    # Figure + its own Agg canvas: no global backend switch, no display needed
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9 if accuracy else 5, 3.5), layout="constrained")
    axes = fig.subplots(1, 2 if accuracy else 1, squeeze=False)[0]
    epochs = range(1, len(history["train_loss"]) + 1)
    axes[0].plot(epochs, history["train_loss"], label="train")
    axes[0].plot(epochs, history["val_loss"], label="validation")
    axes[0].set(xlabel="epoch", ylabel="loss", title=title)
    axes[0].legend()
    if accuracy:
        axes[1].plot(epochs, history["val_acc"], color="tab:green")
        axes[1].set(xlabel="epoch", ylabel="accuracy", title="validation accuracy")
    fig.savefig(path, dpi=100)


# -- the two tasks ------------------------------------------------------------------------

def _digits_cnn():
    from ember import nn
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),                                                    # 32 x 4 x 4
        nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.MaxPool2d(2),                                                    # 64 x 2 x 2
        nn.Flatten(), nn.Linear(64 * 2 * 2, 128), nn.ReLU(), nn.Linear(128, 10))


def _classify(device, out: str, seed: int, epochs: int, batch_size: int, lr: float,
              writer=None) -> float:
    import numpy as np
    import ember
    from ember import nn
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # N x 1 x 8 x 8 in [0, 1]
    loaders = _loaders(x, digits.target.astype(np.int64), seed, batch_size, stratify=True)
    ember.manual_seed(seed)
    model = _digits_cnn().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = ember.optim.Adam(model.parameters(), lr=lr)
    scheduler = ember.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    ckpt = os.path.join(out, "digits_cnn.pt")
    history = _fit(model, criterion, optimizer, loaders, device, epochs, ckpt, accuracy=True,
                   scheduler=scheduler, writer=writer)
    _plot(history, os.path.join(out, "learning_curve.png"), "digits CNN", accuracy=True)
    return _test(model, loaders, criterion, device, ckpt, accuracy=True)[1]


def _regression(device, out: str, seed: int, epochs: int, batch_size: int, lr: float,
                writer=None) -> float:
    import numpy as np
    import ember
    from ember import nn
    from sklearn.datasets import load_diabetes
    data = load_diabetes()
    x = data.data.astype(np.float32)
    # standardised target for training; the test MSE is reported in the target's own units
    mean, std = float(data.target.mean()), float(data.target.std())
    y = ((data.target - mean) / std).astype(np.float32)[:, None]
    loaders = _loaders(x / x.std(axis=0), y, seed, batch_size, stratify=False)
    ember.manual_seed(seed)
    model = nn.Sequential(nn.Linear(x.shape[1], 32), nn.ReLU(), nn.Linear(32, 1)).to(device)
    criterion = nn.MSELoss()
    optimizer = ember.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    ckpt = os.path.join(out, "diabetes_mlp.pt")
    history = _fit(model, criterion, optimizer, loaders, device, epochs, ckpt, accuracy=False,
                   writer=writer)
    _plot(history, os.path.join(out, "learning_curve.png"), "diabetes MLP (MSE, standardised target)",
          accuracy=False)
    return _test(model, loaders, criterion, device, ckpt, accuracy=False)[0] * std * std
