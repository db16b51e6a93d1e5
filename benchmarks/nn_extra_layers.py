"""Forward + backward of the layers added for issue 17's "remaining layers" (CTC loss, an
LSTM over a PackedSequence next to the same LSTM on the padded batch, EmbeddingBag), ember
vs PyTorch on the CPU. Prints microseconds per call and the ratio.

    python benchmarks/nn_extra_layers.py [--number 5] [--repeat 3] [--cpu-time]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_torch, race, ratio, table  # noqa: E402

import ember  # noqa: E402

R = np.random.default_rng(0)
T, N, C, S = 50, 16, 20, 10
X_CTC = R.standard_normal((T, N, C)).astype(np.float32)
TGT = R.integers(1, C, (N, S))
IL, TL = [T] * N, list(R.integers(3, S + 1, N))
X_RNN = R.standard_normal((20, 16, 32)).astype(np.float32)
LENS = sorted(R.integers(5, 21, 16).tolist(), reverse=True)
W_EMB = R.standard_normal((1000, 64)).astype(np.float32)
IDX = R.integers(0, 1000, 512)
OFF = np.arange(0, 512, 8)


def _ctc(lib):
    x = lib.tensor(X_CTC, requires_grad=True)
    tgt = lib.tensor(TGT)

    def run():
        lib.nn.functional.ctc_loss(x.log_softmax(2), tgt, IL, TL).backward()
    return run


def _lstm(lib, packed: bool):
    m = lib.nn.LSTM(32, 64)
    x = lib.tensor(X_RNN, requires_grad=True)
    rnn = lib.nn.utils.rnn

    def run():
        if packed:
            out, _ = m(rnn.pack_padded_sequence(x, LENS))
            rnn.pad_packed_sequence(out)[0].sum().backward()
        else:
            m(x)[0].sum().backward()
    return run


def _bag(lib):
    bag = lib.nn.EmbeddingBag.from_pretrained(lib.tensor(W_EMB), freeze=False, mode="sum")
    idx, off = lib.tensor(IDX), lib.tensor(OFF)

    def run():
        bag(idx, off).sum().backward()
    return run


CASES = [("ctc_loss T50 N16 C20", _ctc), ("LSTM packed T20 B16", lambda lib: _lstm(lib, True)),
         ("LSTM padded T20 B16", lambda lib: _lstm(lib, False)), ("EmbeddingBag sum", _bag)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--number", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cpu-time", action="store_true")
    args = ap.parse_args()
    torch = load_torch()
    rows = []
    for name, make in CASES:
        cases = {"ember": make(ember)}
        if torch is not None:
            cases["torch"] = make(torch)
        best = race(cases, args.number, args.repeat,
                    time.process_time if args.cpu_time else time.perf_counter)
        rows.append([name, f"{best['ember']:.0f}", f"{best.get('torch', float('nan')):.0f}",
                     ratio(best["ember"], best.get("torch"))])
    print(table(["case", "ember us", "torch us", "ember/torch"], rows))


if __name__ == "__main__":
    main()
