"""DataLoader throughput, ember vs PyTorch in one run (issue 4).

A 20,000-sample map-style dataset of 64-float vectors whose ``__getitem__`` returns a row
of a tensor (``self.data[i]``), batch 64, one full epoch, with ``num_workers=0`` and
``num_workers=2``. Each timing is the best of ``--repeat`` epochs and includes creating the
iterator (so worker start-up counts), as a training loop would see it; ember and PyTorch
epochs alternate so that both see the same load on the machine.

    python benchmarks/dataloader.py [--repeat 5] [--samples 20000]
"""
from __future__ import annotations

import argparse
import time


def make_dataset(lib, n: int):
    class Rows(lib.utils.data.Dataset):
        def __init__(self):
            lib.manual_seed(0)
            self.data = lib.randn(n, 64)

        def __len__(self):
            return len(self.data)

        def __getitem__(self, i):
            return self.data[i]

    return Rows()


def one_epoch(loader, n: int) -> float:
    t0 = time.perf_counter()
    seen = 0
    for batch in loader:
        seen += batch.shape[0]
    elapsed = time.perf_counter() - t0
    assert seen == n, seen
    return elapsed


def best_times(libs, datasets, num_workers: int, repeat: int) -> dict:
    """Best epoch per library; the libraries take turns, so both see the same machine load."""
    loaders = {name: lib.utils.data.DataLoader(datasets[name], batch_size=64,
                                               num_workers=num_workers)
               for name, lib in libs}
    best = {name: float("inf") for name, _ in libs}
    for _ in range(repeat):
        for name, _ in libs:
            best[name] = min(best[name], one_epoch(loaders[name], len(datasets[name])))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--samples", type=int, default=20000)
    args = ap.parse_args()
    import ember
    import ember.utils.data  # noqa: F401
    libs = [("ember", ember)]
    try:
        import torch
        import torch.utils.data  # noqa: F401
        torch.set_num_threads(1)
        libs.append(("torch", torch))
    except ImportError:
        print("(PyTorch not installed: ember timings only)")
    datasets = {name: make_dataset(lib, args.samples) for name, lib in libs}
    print(f"{args.samples} samples x 64 float32, batch 64, best of {args.repeat} epochs")
    print(f"{'num_workers':>11}  {'ember ms':>9}  {'torch ms':>9}  {'ember/torch':>11}")
    for nw in (0, 2):
        t = best_times(libs, datasets, nw, args.repeat)
        ratio = f"{t['ember'] / t['torch']:.2f}" if "torch" in t else "-"
        torch_ms = f"{t['torch'] * 1e3:.1f}" if "torch" in t else "-"
        print(f"{nw:>11}  {t['ember'] * 1e3:>9.1f}  {torch_ms:>9}  {ratio:>11}")


if __name__ == "__main__":
    main()
