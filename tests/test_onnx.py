"""ember.onnx.export: models traced once, checked by onnx.checker and run in onnxruntime on
*other* inputs than the traced ones (so a value baked in by mistake shows), matching
ember's outputs within 1e-5."""
from __future__ import annotations

import io

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import ember  # noqa: E402
import ember.nn as nn  # noqa: E402
from ember.onnx import UnsupportedOperatorError  # noqa: E402


def _flat(x):
    if isinstance(x, ember.Tensor):
        return [x]
    return [t for v in x for t in _flat(v)]


def roundtrip(model, trace_args, run_args=None, atol=1e-5, **kw):
    """Export on ``trace_args``, run onnxruntime on ``run_args``; compare with ember."""
    model.eval()
    buf = io.BytesIO()
    proto = ember.onnx.export(model, trace_args, buf, **kw)
    onnx.checker.check_model(proto)
    sess = ort.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    run_args = trace_args if run_args is None else run_args
    feeds = {i.name: t.cpu().numpy() for i, t in zip(sess.get_inputs(), _flat(run_args))}
    got = sess.run(None, feeds)
    with ember.no_grad():
        want = _flat(model(*run_args))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.cpu().numpy(), atol=atol, rtol=1e-5)
    return proto, sess


def test_mlp_with_dynamic_batch(device):
    ember.manual_seed(0)
    m = nn.Sequential(nn.Linear(6, 16), nn.GELU(), nn.Dropout(0.3), nn.Linear(16, 8), nn.Tanh(),
                      nn.Linear(8, 3), nn.LogSoftmax(-1)).to(device)
    x = ember.randn(4, 6, device=device)
    proto, sess = roundtrip(m, (x,), (ember.randn(7, 6, device=device),),
                            input_names=["x"], output_names=["logp"],
                            dynamic_axes={"x": {0: "batch"}, "logp": {0: "batch"}})
    assert [i.name for i in sess.get_inputs()] == ["x"]
    assert sess.get_inputs()[0].shape == ["batch", 6]
    assert [o.name for o in sess.get_outputs()] == ["logp"]
    names = {i.name for i in proto.graph.initializer}
    assert {"0.weight", "0.bias", "5.bias"} <= names  # parameters keep their names


def test_demo_cnn_with_dynamic_batch():
    try:
        from ember._cli.demo import _digits_cnn
    except ImportError:  # before the CLI became a package
        from ember._demo import _digits_cnn
    ember.manual_seed(0)
    m = _digits_cnn()
    m.train()
    for _ in range(2):  # give BatchNorm running statistics that are not the defaults
        m(ember.randn(8, 1, 8, 8))
    ember.onnx.export(m, ember.randn(2, 1, 8, 8), io.BytesIO())
    assert m.training  # export runs in eval and puts the mode back
    roundtrip(m, (ember.randn(2, 1, 8, 8),), (ember.randn(5, 1, 8, 8),),
              dynamic_axes={"input_0": [0], "output_0": [0]})


class _LM(nn.Module):
    """word_language_model's RNNModel: embedding, LSTM/GRU, dropout, decoder."""

    def __init__(self, kind="LSTM", ntoken=30, ninp=8, nhid=12, nlayers=2):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, kind)(ninp, nhid, nlayers, dropout=0.5)
        self.decoder = nn.Linear(nhid, ntoken)

    def forward(self, x, hidden):
        out, hidden = self.rnn(self.drop(self.encoder(x)), hidden)
        return self.decoder(self.drop(out)), hidden


def test_lstm_language_model():
    ember.manual_seed(0)
    m = _LM("LSTM")

    def args(t, b):
        return (ember.randint(0, 30, (t, b)), (ember.randn(2, b, 12), ember.randn(2, b, 12)))
    roundtrip(m, args(5, 3), args(5, 3))


def test_gru_and_bidirectional_rnn():
    ember.manual_seed(0)
    roundtrip(_LM("GRU"), (ember.randint(0, 30, (4, 2)), ember.randn(2, 2, 12)),
              (ember.randint(0, 30, (4, 2)), ember.randn(2, 2, 12)))
    bi = nn.LSTM(5, 7, batch_first=True, bidirectional=True)
    roundtrip(bi, (ember.randn(2, 4, 5),), (ember.randn(2, 4, 5),))


def test_transformer_encoder():
    ember.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True,
                                       activation="gelu")
    enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
    roundtrip(enc, (ember.randn(2, 5, 16),), (ember.randn(2, 5, 16),))


def test_attention_with_causal_mask():
    ember.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    mask = nn.Transformer.generate_square_subsequent_mask(4)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = mha

        def forward(self, x):
            return self.mha(x, x, x, attn_mask=mask, need_weights=False)[0]
    roundtrip(M(), (ember.randn(3, 4, 8),), (ember.randn(3, 4, 8),))
    q = ember.randn(1, 2, 4, 8)

    class S(nn.Module):
        def forward(self, q, k, v):
            return nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    roundtrip(S(), (q, q, q), (ember.randn(1, 2, 4, 8),) * 3)


class _Zoo(nn.Module):
    """Conv1d, ConvTranspose, pooling, LayerNorm, activations, reshape/transpose/concat
    and indexing in one forward."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(3, 4, 3, padding=1)
        self.ct = nn.ConvTranspose1d(4, 4, 2, stride=2)
        self.c2 = nn.Conv2d(2, 4, 3, stride=2, padding="valid")
        self.ct2 = nn.ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1)
        self.bn = nn.BatchNorm1d(4)
        self.ln = nn.LayerNorm(8)
        self.act = nn.ModuleList([nn.ReLU(), nn.LeakyReLU(0.1), nn.ELU(), nn.Sigmoid(),
                                  nn.SiLU(), nn.Softplus(), nn.Hardtanh()])

    def forward(self, x, img):
        h = self.bn(self.c1(x))                        # (N, 4, 8)
        h = nn.functional.avg_pool1d(self.ct(h), 2)    # (N, 4, 8)
        h = self.ln(h)
        for a in self.act:
            h = a(h)
        g = self.ct2(self.c2(img))                     # (N, 2, 8, 8)
        g = nn.functional.max_pool2d(g, 2)             # (N, 2, 4, 4)
        g = nn.functional.adaptive_avg_pool2d(g, 1).flatten(1)  # (N, 2)
        flat = h.transpose(1, 2).reshape(h.shape[0], -1)        # (N, 32)
        both = ember.cat([flat[:, 1:5], g, h[:, 0, ::2]], dim=1)
        parts = both.chunk(2, dim=1)
        return ember.stack([parts[0], parts[1]], 0).permute(1, 0, 2) * 2.0 - 1, h[..., 3]


def test_layer_zoo():
    ember.manual_seed(0)
    m = _Zoo()
    args = (ember.randn(2, 3, 8), ember.randn(2, 2, 9, 9))
    roundtrip(m, args, (ember.randn(2, 3, 8), ember.randn(2, 2, 9, 9)))


def test_embedding_indexing_and_file_output(tmp_path):
    emb = nn.Embedding(10, 4)

    class M(nn.Module):
        def forward(self, idx):
            e = emb(idx)
            return e[:, 0] + e.mean(1) - e.sum(dim=1, keepdim=True).squeeze(1)
    path = tmp_path / "m.onnx"
    ember.onnx.export(M(), (ember.tensor([[1, 2, 3], [4, 5, 9]]),), str(path), opset_version=18)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    idx = np.array([[0, 7, 7], [9, 1, 2]])
    with ember.no_grad():
        want = M()(ember.tensor(idx)).numpy()
    np.testing.assert_allclose(sess.run(None, {"input_0": idx})[0], want, atol=1e-6)
    assert onnx.load(str(path)).opset_import[0].version == 18


def test_unmapped_op_is_named():
    class M(nn.Module):
        def forward(self, x):
            return x.cumsum(0)
    with pytest.raises(UnsupportedOperatorError, match="'aten::cumsum'"):
        ember.onnx.export(M(), (ember.ones(3),), io.BytesIO())


def test_dropout_in_training_mode_is_refused():
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    with pytest.raises(UnsupportedOperatorError, match="model.eval"):
        ember.onnx.export(m, (ember.ones(1, 2),), io.BytesIO(),
                          training=ember.onnx.TrainingMode.TRAINING)


def test_padding_modes_and_key_padding_mask():
    ember.manual_seed(0)

    class P(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect")

        def forward(self, x):
            y = nn.functional.pad(self.conv(x), (1, 2), value=0.5)
            return nn.functional.pad(y, (1, 1, 2, 0), mode="replicate")
    roundtrip(P(), (ember.randn(1, 2, 5, 5),), (ember.randn(1, 2, 5, 5),))

    class KPM(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16,
                                                                        batch_first=True), 1,
                                             enable_nested_tensor=False)

        def forward(self, x, mask):
            return self.enc(x, src_key_padding_mask=mask)
    mask = ember.tensor([[False, False, True], [False, False, False]])
    roundtrip(KPM(), (ember.randn(2, 3, 8), mask), (ember.randn(2, 3, 8), mask))
