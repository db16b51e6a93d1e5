"""Whole models saved and loaded under ``ember run`` as PyTorch's word-language-model
example does it: ``torch.save(model, f)``, then ``torch.load(f)`` inside
``torch.serialization.safe_globals([...])`` naming torch's classes (issue 13)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

MODEL = textwrap.dedent('''
    import math
    import torch
    import torch.nn as nn
    import torch.nn.functional as F


    class RNNModel(nn.Module):
        def __init__(self, ntoken, ninp, nhid, nlayers, dropout=0.5):
            super().__init__()
            self.drop = nn.Dropout(dropout)
            self.encoder = nn.Embedding(ntoken, ninp)
            self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
            self.decoder = nn.Linear(nhid, ntoken)
            self.nhid, self.nlayers = nhid, nlayers

        def forward(self, input, hidden):
            output, hidden = self.rnn(self.drop(self.encoder(input)), hidden)
            return F.log_softmax(self.decoder(self.drop(output)), dim=-1), hidden

        def init_hidden(self, bsz):
            w = next(self.parameters())
            return (w.new_zeros(self.nlayers, bsz, self.nhid),
                    w.new_zeros(self.nlayers, bsz, self.nhid))


    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=64):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            pe = torch.zeros(max_len, d_model)
            position = torch.arange(0, max_len, dtype=torch.float).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2).float()
                                 * (-math.log(10000.0) / d_model))
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe.unsqueeze(0).transpose(0, 1))

        def forward(self, x):
            return self.dropout(x + self.pe[:x.size(0), :])


    class TransformerModel(nn.Transformer):
        def __init__(self, ntoken, ninp, nhead, nhid, nlayers, dropout=0.5):
            super().__init__(d_model=ninp, nhead=nhead, dim_feedforward=nhid,
                             num_encoder_layers=nlayers)
            self.src_mask = None
            self.pos_encoder = PositionalEncoding(ninp, dropout)
            self.input_emb = nn.Embedding(ntoken, ninp)
            self.ninp = ninp
            self.decoder = nn.Linear(ninp, ntoken)

        def forward(self, src):
            src = self.pos_encoder(self.input_emb(src) * math.sqrt(self.ninp))
            return F.log_softmax(self.decoder(self.encoder(src, mask=self.src_mask)), dim=-1)
''')

SCRIPT = textwrap.dedent('''
    import pickle
    import sys
    import torch
    import torch.nn as nn
    from model import PositionalEncoding, RNNModel, TransformerModel

    kind, path = sys.argv[1], sys.argv[2]
    torch.manual_seed(0)
    data = torch.randint(0, 20, (6, 3))
    if kind == "LSTM":
        model = RNNModel(20, 8, 8, 2, dropout=0.2)
        run = lambda m: m(data, m.init_hidden(3))[0]
        safe_globals = [RNNModel, torch.nn.modules.dropout.Dropout,
                        torch.nn.modules.linear.Linear, torch.nn.modules.rnn.GRU,
                        torch.nn.modules.rnn.LSTM, torch.nn.modules.rnn.RNN,
                        torch.nn.modules.sparse.Embedding]
    else:
        model = TransformerModel(20, 8, 2, 16, 2, dropout=0.2)
        run = lambda m: m(data)
        safe_globals = [PositionalEncoding, TransformerModel, torch.nn.functional.relu,
                        torch.nn.modules.activation.MultiheadAttention,
                        torch.nn.modules.container.ModuleList,
                        torch.nn.modules.dropout.Dropout, torch.nn.modules.linear.Linear,
                        torch.nn.modules.linear.NonDynamicallyQuantizableLinear,
                        torch.nn.modules.normalization.LayerNorm,
                        torch.nn.modules.sparse.Embedding,
                        torch.nn.modules.transformer.TransformerEncoder,
                        torch.nn.modules.transformer.TransformerEncoderLayer]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):  # train a little, as the example does before saving
        opt.zero_grad()
        run(model).sum().neg().backward()
        opt.step()
    with open(path, "wb") as f:
        torch.save(model, f)
    try:
        with open(path, "rb") as f:
            torch.load(f)
        print("loaded without safe_globals")
    except pickle.UnpicklingError as e:
        assert "torch.serialization.add_safe_globals([model." in str(e), str(e)
    with open(path, "rb") as f:
        with torch.serialization.safe_globals(safe_globals):
            loaded = torch.load(f)
    assert type(loaded) is type(model)
    model.eval()
    loaded.eval()
    with torch.no_grad():
        assert torch.equal(run(model), run(loaded))
    print("ok", kind, sum(p.numel() for p in loaded.parameters()))
''')


def test_whole_lstm_and_transformer_models_under_ember_run(tmp_path):
    (tmp_path / "model.py").write_text(MODEL)
    (tmp_path / "main.py").write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "EMBER_PROVIDERS"}
    for kind in ("LSTM", "Transformer"):
        proc = subprocess.run([sys.executable, "-m", "ember", "run", str(tmp_path / "main.py"),
                               kind, str(tmp_path / f"{kind}.pt")], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert proc.stdout.strip().startswith(f"ok {kind}"), proc.stdout + proc.stderr[-2000:]
