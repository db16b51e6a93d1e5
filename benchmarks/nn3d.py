"""3-d layers and resampling: ember (numpy) against PyTorch (CPU), forward + backward.

Run by hand: ``python benchmarks/nn3d.py [--repeat N]``. Prints milliseconds per call and the
ember / PyTorch ratio for conv3d, conv_transpose3d, max_pool3d, avg_pool3d, unfold, fold,
bicubic interpolate and grid_sample; for conv3d also the alternative composition (a sum
over the depth taps of one conv2d each) that ember's im2col-over-depth replaced.
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def _time(fn, repeat: int) -> float:
    fn()  # warm up
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def _conv3d_by_taps(F, x, w, b, padding):
    """The alternative: for each depth tap, conv2d of the depth-strided input planes (depth
    folded into the batch), summed."""
    n, c, d, h, wd = x.shape
    o, _, kd = w.shape[:3]
    x = F.pad(x, [0, 0, 0, 0, padding, padding])
    od = x.shape[2] - kd + 1
    out = None
    for k in range(kd):
        planes = x[:, :, k:k + od].permute(0, 2, 1, 3, 4).reshape(n * od, c, h, wd)
        y = F.conv2d(planes, w[:, :, k], None, 1, padding)
        out = y if out is None else out + y
    out = out.reshape(n, od, o, *out.shape[2:]).permute(0, 2, 1, 3, 4)
    return out + b.reshape(1, -1, 1, 1, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import torch

    import ember
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)

    def both(shape):
        a = rng.standard_normal(shape).astype("float32")
        return (ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True))

    x = both((4, 8, 12, 24, 24))
    w = both((16, 8, 3, 3, 3))
    b = both((16,))
    xt = both((4, 8, 6, 12, 12))
    wt = both((8, 8, 3, 3, 3))
    img = both((4, 8, 32, 32))
    cols = both((4, 8 * 9, 30 * 30))
    grid = [t.detach() for t in both((4, 24, 24, 2))]
    grid = [g.tanh().requires_grad_(True) for g in grid]
    cases = [
        ("conv3d k3 p1", lambda L, i: L.nn.functional.conv3d(x[i], w[i], b[i], padding=1)),
        # ember composed the other way, against torch's conv3d
        ("conv3d by depth taps", lambda L, i: (
            _conv3d_by_taps(L.nn.functional, x[i], w[i], b[i], 1) if i == 0 else
            L.nn.functional.conv3d(x[i], w[i], b[i], padding=1))),
        ("conv_transpose3d s2", lambda L, i: L.nn.functional.conv_transpose3d(
            xt[i], wt[i], stride=2, padding=1, output_padding=1)),
        ("max_pool3d k2", lambda L, i: L.nn.functional.max_pool3d(x[i], 2)),
        ("avg_pool3d k3 s2 p1", lambda L, i: L.nn.functional.avg_pool3d(x[i], 3, 2, 1)),
        ("unfold k3", lambda L, i: L.nn.functional.unfold(img[i], 3)),
        ("fold k3", lambda L, i: L.nn.functional.fold(cols[i], (32, 32), 3)),
        ("interpolate bicubic x2", lambda L, i: L.nn.functional.interpolate(
            img[i], scale_factor=2, mode="bicubic")),
        ("grid_sample bilinear", lambda L, i: L.nn.functional.grid_sample(
            img[i], grid[i], align_corners=False)),
    ]
    print(f"{'case':28s} {'ember ms':>10s} {'torch ms':>10s} {'ratio':>7s}")
    for name, fn in cases:
        def run(L, i, fn=fn):
            out = fn(L, i)
            out.sum().backward()
        te = _time(lambda: run(ember, 0), args.repeat)
        tt = _time(lambda: run(torch, 1), args.repeat)
        print(f"{name:28s} {te:10.2f} {tt:10.2f} {te / tt:7.2f}")


if __name__ == "__main__":
    main()
