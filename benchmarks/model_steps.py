"""Training steps shaped like real scripts, ember vs PyTorch in the same run (issue 20):

- ``lstm``: PyTorch's word-level language-model example, LSTM flavour: embedding 200,
  2-layer LSTM of 200, dropout 0.2, decoder to a 10k vocabulary, log-softmax + NLLLoss,
  bptt 35, batch 20, hidden state carried (detached) across steps, ``clip_grad_norm_(0.25)``,
  SGD (lr 20);
- ``transformer``: the same example's Transformer flavour: 2 encoder layers, d_model 200,
  2 heads, feed-forward 200, dropout 0.2, causal mask, sinusoidal positions; same data;
- ``cnn64``/``cnn256``: the LeNet-5-like CNN of ``cnn_train_step.py``, batch 64 and 256, SGD;
- ``resnet``: a ResNet-style stack on 3x32x32 (batch 32): 3x3 conv stem, BasicBlocks
  (conv-BN-ReLU-conv-BN + identity) at 16 channels, a stride-2 block to 32 with a 1x1
  projection shortcut, another at 32, global average pool, linear; SGD with momentum 0.9
  and weight decay 5e-4;
- ``gpt``: a GPT block stack shaped like a small character-level GPT: 65-token vocabulary,
  context 64, batch 12, 4 pre-norm blocks of d_model 128 with 4 heads (masked softmax
  attention written out, as in minGPT/nanoGPT's slow path) and a 4x MLP with exact GELU,
  AdamW (lr 1e-3);
- ``adam10m``: one ``Adam.step()`` over 10 M parameters (ten 1000x1000 tensors), gradients
  given.

Each model runs with the same weights and data in both libraries (the first losses, in eval
mode, are checked equal), at each thread count of ``--threads`` (both libraries set to it:
``torch.set_num_threads`` and ``ember.set_num_threads``, which sets numpy's BLAS too). Each
library runs in a process of its own, as a user's script would: in one process PyTorch's
OpenMP workers, numpy's OpenBLAS workers and ember's pool spin beside each other and 2-thread
figures swung up to 2x run to run (``--in-process`` keeps the old way to compare). The
step times are medians over ``--repeat`` blocks of ``--number`` steps, the libraries
alternating block by block; the best block is shown beside it.

    python benchmarks/model_steps.py [--models lstm gpt ...] [--threads 1 2] [--number 3]
        [--repeat 11] [--profile MODEL] [--in-process] [--cpu-time]
"""
from __future__ import annotations

import argparse
import functools
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import Workers, blocks, ratio, table  # noqa: E402

VOCAB, BPTT, LM_BATCH, EMB, HID = 10_000, 35, 20, 200, 200


# --- models, written once against either library ------------------------------------------

def lstm_lm(lib):
    nn, F = lib.nn, lib.nn.functional

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.drop = nn.Dropout(0.2)
            self.encoder = nn.Embedding(VOCAB, EMB)
            self.rnn = nn.LSTM(EMB, HID, 2, dropout=0.2)
            self.decoder = nn.Linear(HID, VOCAB)

        def forward(self, x, hidden):
            emb = self.drop(self.encoder(x))
            out, hidden = self.rnn(emb, hidden)
            out = self.decoder(self.drop(out)).view(-1, VOCAB)
            return F.log_softmax(out, dim=1), hidden
    return RNNModel()


def transformer_lm(lib):
    nn, F = lib.nn, lib.nn.functional

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.2, max_len=5000):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = lib.zeros(max_len, d_model)
            position = lib.arange(0, max_len, dtype=lib.float).unsqueeze(1)
            div_term = lib.exp(lib.arange(0, d_model, 2).float()
                               * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = lib.sin(position * div_term)
            pe[:, 1::2] = lib.cos(position * div_term)
            self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))

        def forward(self, x):
            return self.dropout(x + self.pe[:x.size(0), :])

    class TransformerModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos_encoder = PositionalEncoding(EMB)
            layer = nn.TransformerEncoderLayer(EMB, 2, HID, 0.2)
            self.transformer_encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.encoder = nn.Embedding(VOCAB, EMB)
            self.decoder = nn.Linear(EMB, VOCAB)
            self.mask = nn.Transformer.generate_square_subsequent_mask(BPTT)

        def forward(self, src):
            src = self.pos_encoder(self.encoder(src) * math.sqrt(EMB))
            out = self.decoder(self.transformer_encoder(src, self.mask))
            return F.log_softmax(out, dim=-1)
    return TransformerModel()


def lenet(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def resnet(lib):
    nn, F = lib.nn, lib.nn.functional

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                              nn.BatchNorm2d(cout))

        def forward(self, x):
            out = F.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return F.relu(out + self.shortcut(x))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
            self.bn = nn.BatchNorm2d(16)
            self.blocks = nn.Sequential(BasicBlock(16, 16), BasicBlock(16, 16),
                                        BasicBlock(16, 32, 2), BasicBlock(32, 32))
            self.fc = nn.Linear(32, 10)

        def forward(self, x):
            out = self.blocks(F.relu(self.bn(self.conv(x))))
            return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))
    return Net()


GPT_VOCAB, GPT_CTX, GPT_BATCH, GPT_D, GPT_HEADS, GPT_LAYERS = 65, 64, 12, 128, 4, 4


def gpt(lib):
    nn, F = lib.nn, lib.nn.functional
    C, H = GPT_D, GPT_HEADS

    class SelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(C, 3 * C)
            self.c_proj = nn.Linear(C, C)
            self.register_buffer("bias", lib.tril(lib.ones(GPT_CTX, GPT_CTX))
                                 .view(1, 1, GPT_CTX, GPT_CTX))

        def forward(self, x):
            B, T, _ = x.size()
            q, k, v = self.c_attn(x).split(C, dim=2)
            k = k.view(B, T, H, C // H).transpose(1, 2)
            q = q.view(B, T, H, C // H).transpose(1, 2)
            v = v.view(B, T, H, C // H).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.c_proj(y)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(C)
            self.attn = SelfAttention()
            self.ln_2 = nn.LayerNorm(C)
            self.mlp = nn.Sequential(nn.Linear(C, 4 * C), nn.GELU(), nn.Linear(4 * C, C))

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(GPT_VOCAB, C)
            self.wpe = nn.Embedding(GPT_CTX, C)
            self.h = nn.ModuleList([Block() for _ in range(GPT_LAYERS)])
            self.ln_f = nn.LayerNorm(C)
            self.lm_head = nn.Linear(C, GPT_VOCAB, bias=False)

        def forward(self, idx, targets):
            pos = lib.arange(0, idx.size(1), dtype=lib.long)
            x = self.wte(idx) + self.wpe(pos)
            for block in self.h:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
    return GPT()


# --- steps ---------------------------------------------------------------------------------

def _sync_weights(ember, tmodel, emodel):
    emodel.load_state_dict({k: ember.tensor(v.detach().numpy())
                            for k, v in tmodel.state_dict().items()})


def make_lm(kind):
    """(setup(lib, model) -> (step, eval_loss)) for the word-level LM example's flavours."""
    import numpy as np
    rng = np.random.default_rng(0)
    data = rng.integers(0, VOCAB, (BPTT, LM_BATCH))
    target = rng.integers(0, VOCAB, BPTT * LM_BATCH)

    def setup(lib, model):
        x, y = lib.tensor(data), lib.tensor(target)
        crit = lib.nn.NLLLoss()
        opt = lib.optim.SGD(model.parameters(), lr=20.0)
        params = list(model.parameters())
        state = {"hidden": tuple(lib.zeros(2, LM_BATCH, HID) for _ in range(2))}

        def forward():
            if kind == "lstm":
                out, hidden = model(x, state["hidden"])
                state["hidden"] = tuple(h.detach() for h in hidden)
                return crit(out, y)
            return crit(model(x).view(-1, VOCAB), y)

        def step():
            model.train()
            opt.zero_grad()
            loss = forward()
            loss.backward()
            lib.nn.utils.clip_grad_norm_(params, 0.25)
            opt.step()
            return loss

        def eval_loss():
            model.eval()
            with lib.no_grad():
                return float(forward())
        return step, eval_loss
    return setup


def make_classifier(shape, classes, optim):
    import numpy as np
    rng = np.random.default_rng(0)
    xs = rng.standard_normal(shape).astype("float32")
    ys = rng.integers(0, classes, shape[0])

    def setup(lib, model):
        x, y = lib.tensor(xs), lib.tensor(ys)
        loss_fn = lib.nn.CrossEntropyLoss()
        opt = (lib.optim.SGD(model.parameters(), lr=0.01) if optim == "sgd" else
               lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4))

        def step():
            model.train()
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            return loss

        def eval_loss():
            model.eval()
            with lib.no_grad():
                return float(loss_fn(model(x), y))
        return step, eval_loss
    return setup


def make_gpt():
    import numpy as np
    rng = np.random.default_rng(0)
    idx = rng.integers(0, GPT_VOCAB, (GPT_BATCH, GPT_CTX))
    tgt = rng.integers(0, GPT_VOCAB, (GPT_BATCH, GPT_CTX))

    def setup(lib, model):
        x, y = lib.tensor(idx), lib.tensor(tgt)
        opt = lib.optim.AdamW(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = model(x, y)
            loss.backward()
            opt.step()
            return loss

        def eval_loss():
            with lib.no_grad():
                return float(model(x, y))
        return step, eval_loss
    return setup


def adam10m(lib):
    """A 'model' that is ten 1000x1000 parameters."""
    import numpy as np
    rng = np.random.default_rng(0)
    mod = lib.nn.Module()
    mod.ps = lib.nn.ParameterList(
        [lib.nn.Parameter(lib.tensor(rng.standard_normal((1000, 1000)).astype("float32")))
         for _ in range(10)])
    return mod


def make_adam():
    import numpy as np
    grads = [np.random.default_rng(i + 1).standard_normal((1000, 1000)).astype("float32")
             for i in range(10)]

    def setup(lib, model):
        params = list(model.parameters())
        for p, g in zip(params, grads):
            p.grad = lib.tensor(g)
        opt = lib.optim.Adam(params, lr=1e-3)

        def eval_loss():
            return float(sum(float(p.detach().double().sum()) for p in params))
        return opt.step, eval_loss
    return setup


MODELS = {
    "lstm": ("LSTM word LM (2x200, vocab 10k, bptt 35, batch 20), SGD + clip", lstm_lm,
             make_lm("lstm"), 2),
    "transformer": ("Transformer encoder LM (2 layers, d 200, 2 heads), SGD + clip",
                    transformer_lm, make_lm("transformer"), 2),
    "cnn64": ("LeNet-5-like CNN, batch 64, SGD", lenet, make_classifier((64, 1, 28, 28), 10,
                                                                       "sgd"), 5),
    "cnn256": ("LeNet-5-like CNN, batch 256, SGD", lenet,
               make_classifier((256, 1, 28, 28), 10, "sgd"), 2),
    "resnet": ("ResNet-style stack with BatchNorm, batch 32 of 3x32x32, SGD momentum", resnet,
               make_classifier((32, 3, 32, 32), 10, "momentum"), 2),
    "gpt": ("GPT block stack (4 x d128, 4 heads, ctx 64, batch 12), exact GELU, AdamW", gpt,
            make_gpt(), 2),
    "adam10m": ("Adam step over 10 M parameters", adam10m, make_adam(), 3),
}


def _prepare(name: str, label: str):
    """(step, set_threads, eval_loss) of model ``name`` in library ``label``. Both start
    from the same weights: PyTorch's initialisation under seed 0, copied into ember."""
    import torch
    _, build, setup, _ = MODELS[name]
    torch.manual_seed(0)
    tmodel = build(torch)
    if label == "torch":
        step, eval_loss = setup(torch, tmodel)
        return step, torch.set_num_threads, eval_loss
    import ember
    torch.set_num_threads(1)  # only used for the initial weights in this process
    emodel = build(ember)
    _sync_weights(ember, tmodel, emodel)
    step, eval_loss = setup(ember, emodel)
    return step, ember.set_num_threads, eval_loss


class _InProcess:
    """Both libraries in this process (``--in-process``): the old way, kept to compare."""

    def __init__(self, name, args):
        timer = time.process_time if args.cpu_time else time.perf_counter
        self._steps, self._set, self.first = {}, {}, {}
        for label in ("ember", "torch"):
            self._steps[label], self._set[label], ev = _prepare(name, label)
            self.first[label] = ev()
        self._timer = timer

    def threads(self, n):
        for f in self._set.values():
            f(n)

    def blocks(self, number, repeat):
        return blocks(self._steps, number, repeat, self._timer)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def _runner(name, args):
    if args.in_process:
        return _InProcess(name, args)
    return Workers(functools.partial(_prepare, name), ("ember", "torch"), args.cpu_time,
                   warm=args.warm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--number", type=int, default=None,
                    help="steps per block (default: per model, ~0.1-0.3 s a block)")
    ap.add_argument("--repeat", type=int, default=9, help="blocks per library (median kept)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="time CPU seconds of this process instead of wall time (with "
                         "--threads 1 on a loaded machine: other jobs then cost neither)")
    ap.add_argument("--profile", choices=list(MODELS), default=None,
                    help="profile ember's step of this model with pyinstrument instead")
    ap.add_argument("--steps", type=int, default=20, help="steps profiled (--profile)")
    ap.add_argument("--warm", type=float, default=0.0,
                    help="seconds of untimed steps after each block's pause (each library "
                         "in its own process only)")
    ap.add_argument("--in-process", action="store_true",
                    help="run both libraries in this process (default: each in its own "
                         "process, the blocks still alternating)")
    args = ap.parse_args()

    rows = []
    for name in ([args.profile] if args.profile else args.models):
        title, build, setup, number = MODELS[name]
        if args.profile:
            step, set_threads, _ = _prepare(name, "ember")
            set_threads(args.threads[0])
            for _ in range(3):
                step()
            from pyinstrument import Profiler
            prof = Profiler(interval=0.0005)
            prof.start()
            for _ in range(args.steps):
                step()
            prof.stop()
            print(prof.output_text(unicode=True, color=False, show_all=False))
            return
        t0 = time.perf_counter()
        with _runner(name, args) as run:
            le, lt = run.first["ember"], run.first["torch"]
            assert abs(le - lt) < 1e-3 * max(1.0, abs(lt)), (name, le, lt)
            for n in args.threads:
                run.threads(n)
                res = run.blocks(args.number or number, args.repeat)
                (em, eb), (tm, tb) = res["ember"], res["torch"]
                rows.append([name, n, f"{em / 1e3:.2f}", f"{tm / 1e3:.2f}", ratio(em, tm),
                             f"{eb / 1e3:.2f}", f"{tb / 1e3:.2f}", ratio(eb, tb)])
                print(f"{title}, {n} thread(s): ember {em / 1e3:.2f} ms, torch "
                      f"{tm / 1e3:.2f} ms (median), {time.perf_counter() - t0:.0f} s",
                      flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{'CPU' if args.cpu_time else 'wall'} ms per training step, median (and best) "
          f"of {args.repeat} alternating blocks; "
          f"load average {load:.1f} on {os.cpu_count()} CPUs")
    print(table(["model", "threads", "ember", "torch", "ember/torch", "ember best",
                 "torch best", "best ratio"], rows))


if __name__ == "__main__":
    main()
