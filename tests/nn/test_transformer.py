"""Attention against PyTorch: scaled_dot_product_attention (masks, causal, scale, GQA),
MultiheadAttention over a grid of options (batch_first, kdim/vdim, biases, masks,
need_weights, per-head weights, unbatched), TransformerEncoderLayer/TransformerEncoder
(post/pre-norm, activations, masks); outputs, weights and every gradient; reprs,
state-dict keys, deep copies, initialisation, float64 gradcheck."""
import math

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.autograd import gradcheck, gradgradcheck
from nn_oracle import assert_close, copy_weights, pair

R = np.random.default_rng(0)
TOL = (1e-4, 1e-5)


def rnd(*shape, dtype="float32"):
    return R.standard_normal(shape).astype(dtype)


def _lift(torch, device, a, grad=True):
    """A numpy array (or None) as (ember, torch) tensors; floats require grad."""
    if a is None:
        return None, None
    return pair(torch, a, device, requires_grad=grad and a.dtype.kind == "f")


def _backward_and_compare(torch, device, eouts, touts, e_in, t_in, em=None, tm=None):
    eouts = [o for o in eouts if o is not None]
    touts = [o for o in touts if o is not None]
    for i, (a, b) in enumerate(zip(eouts, touts)):
        assert_close(a, b, *TOL, what=f"output {i}")
    cots = [rnd(*t.shape) for t in touts]
    ember.autograd.backward(eouts, [ember.tensor(c, device=device) for c in cots])
    torch.autograd.backward(touts, [torch.tensor(c) for c in cots])
    for i, (a, b) in enumerate(zip(e_in, t_in)):
        if b is not None and b.grad is not None:
            assert_close(a.grad, b.grad, *TOL, what=f"grad of input {i}")
    if em is not None:
        tp = dict(tm.named_parameters())
        for name, p in em.named_parameters():
            if tp[name].grad is None:
                assert p.grad is None or not p.grad.abs().sum().item(), name
            else:
                assert_close(p.grad, tp[name].grad, *TOL, what=f"grad of {name}")


SDPA = [  # (q, k, v shapes, mask shape or None, mask kind, kwargs)
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), None, None, {}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), (5, 6), "float", {}),
    ((2, 3, 5, 4), (2, 3, 6, 4), (2, 3, 6, 7), (2, 1, 5, 6), "bool", {}),
    ((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4), None, None, {"is_causal": True}),
    ((2, 5, 4), (2, 6, 4), (2, 6, 3), (5, 6), "float", {"scale": 0.3}),
    ((2, 4, 5, 4), (2, 2, 6, 4), (2, 2, 6, 3), None, None, {"enable_gqa": True}),
    ((5, 4), (6, 4), (6, 3), (5, 6), "bool", {}),
]


@pytest.mark.parametrize("qs,ks,vs,ms,kind,kw", SDPA, ids=[str(i) for i in range(len(SDPA))])
def test_sdpa_matches_torch(torch, device, qs, ks, vs, ms, kind, kw):
    arrs = [rnd(*qs), rnd(*ks), rnd(*vs)]
    mask = None
    if ms is not None:
        mask = R.random(ms) > 0.3 if kind == "bool" else rnd(*ms)
        if kind == "bool":
            mask[..., 0] = True  # every row keeps something (else both give NaN)
    lifted = [_lift(torch, device, a) for a in arrs] + [_lift(torch, device, mask)]
    e_in, t_in = [x[0] for x in lifted], [x[1] for x in lifted]
    eo = F.scaled_dot_product_attention(*e_in, **kw)
    to = torch.nn.functional.scaled_dot_product_attention(*t_in, **kw)
    _backward_and_compare(torch, device, [eo], [to], e_in, t_in)


def test_sdpa_dropout_one_and_errors(torch, device):
    q = rnd(2, 3, 4)
    eo = F.scaled_dot_product_attention(*[ember.tensor(q, device=device)] * 3, dropout_p=1.0)
    to = torch.nn.functional.scaled_dot_product_attention(*[torch.tensor(q)] * 3,
                                                          dropout_p=1.0)
    assert_close(eo, to)
    mask = np.ones((3, 3), bool)
    with pytest.raises(RuntimeError) as te:
        torch.nn.functional.scaled_dot_product_attention(
            *[torch.tensor(q)] * 3, attn_mask=torch.tensor(mask), is_causal=True)
    with pytest.raises(RuntimeError) as ee:
        F.scaled_dot_product_attention(*[ember.tensor(q)] * 3, attn_mask=ember.tensor(mask),
                                       is_causal=True)
    assert str(ee.value) == str(te.value)


def test_gradcheck_sdpa():
    q, k, v = (ember.tensor(R.standard_normal(s), requires_grad=True)
               for s in ((1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 2)))
    m = ember.tensor(R.standard_normal((3, 5)))
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, m), (q, k, v))
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(
        q, k, v, is_causal=False, scale=0.7), (q, k, v))


MHA = [  # (ctor kwargs, (L, S, N) or None for unbatched (L, S), forward kwargs spec)
    (dict(embed_dim=8, num_heads=2), (5, 5, 3), dict(self_attn=True)),
    (dict(embed_dim=8, num_heads=2), (4, 6, 3), {}),
    (dict(embed_dim=8, num_heads=4, batch_first=True), (4, 6, 3), dict(kpm="bool")),
    (dict(embed_dim=8, num_heads=2, batch_first=True), (5, 5, 2),
     dict(self_attn=True, attn_mask="bool2d", kpm="bool")),
    (dict(embed_dim=8, num_heads=2), (4, 6, 3), dict(attn_mask="float3d", kpm="float")),
    (dict(embed_dim=8, num_heads=2), (4, 6, 3), dict(need_weights=False, kpm="bool")),
    (dict(embed_dim=8, num_heads=2), (4, 6, 3), dict(need_weights=False,
                                                     attn_mask="float2d")),
    (dict(embed_dim=8, num_heads=2), (4, 6, 3), dict(average_attn_weights=False)),
    (dict(embed_dim=8, num_heads=2, kdim=5, vdim=3), (4, 6, 3), dict(kpm="bool")),
    (dict(embed_dim=8, num_heads=2, kdim=5, vdim=3, batch_first=True), (4, 6, 2),
     dict(need_weights=False)),
    (dict(embed_dim=8, num_heads=2, bias=False), (4, 6, 3), {}),
    (dict(embed_dim=8, num_heads=2, add_bias_kv=True), (4, 6, 3), dict(kpm="bool",
                                                                       attn_mask="bool2d")),
    (dict(embed_dim=8, num_heads=2, add_zero_attn=True), (4, 6, 3), dict(kpm="float")),
    (dict(embed_dim=8, num_heads=2), (4, 6, None), dict(kpm="bool")),
    (dict(embed_dim=8, num_heads=2), (5, 5, 2), dict(self_attn=True, attn_mask="causal",
                                                     is_causal=True, need_weights=False)),
]


def _mha_inputs(kw, dims, spec):
    e = kw["embed_dim"]
    L, S, N = dims
    bf = kw.get("batch_first", False)

    def shape(n, d):
        if N is None:
            return (n, d)
        return (N, n, d) if bf else (n, N, d)
    q = rnd(*shape(L, e))
    k = rnd(*shape(S, kw.get("kdim", e)))
    v = rnd(*shape(S, kw.get("vdim", e)))
    fwd = {k_: spec[k_] for k_ in ("need_weights", "average_attn_weights", "is_causal")
           if k_ in spec}
    masks = {}
    if spec.get("kpm"):
        m = R.random((S,) if N is None else (N, S)) > 0.6
        m[..., 0] = False
        masks["key_padding_mask"] = m if spec["kpm"] == "bool" else \
            np.where(m, -1e9, 0.0).astype("float32")
    am = spec.get("attn_mask")
    if am == "bool2d":
        m = R.random((L, S)) > 0.6
        m[:, 1] = False
        masks["attn_mask"] = m
    elif am == "float2d":
        masks["attn_mask"] = rnd(L, S)
    elif am == "float3d":
        masks["attn_mask"] = rnd((N or 1) * kw["num_heads"], L, S)
    elif am == "causal":
        masks["attn_mask"] = np.triu(np.ones((L, S), bool), 1)
    return q, k, v, masks, fwd


@pytest.mark.parametrize("kw,dims,spec", MHA, ids=[str(i) for i in range(len(MHA))])
def test_multihead_attention_matches_torch(torch, device, kw, dims, spec):
    em, tm = nn.MultiheadAttention(**kw), torch.nn.MultiheadAttention(**kw)
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    copy_weights(em, tm, device)
    q, k, v, masks, fwd = _mha_inputs(kw, dims, spec)
    if spec.get("self_attn"):
        eq, tq = _lift(torch, device, q)
        e_in, t_in = [eq, eq, eq], [tq, tq, tq]
    else:
        lifted = [_lift(torch, device, a) for a in (q, k, v)]
        e_in, t_in = [x[0] for x in lifted], [x[1] for x in lifted]
    emask = {n: _lift(torch, device, m, grad=False)[0] for n, m in masks.items()}
    tmask = {n: _lift(torch, device, m, grad=False)[1] for n, m in masks.items()}
    eo, ew = em(*e_in, **emask, **fwd)
    to, tw = tm(*t_in, **tmask, **fwd)
    assert (ew is None) == (tw is None)
    _backward_and_compare(torch, device, [eo, ew], [to, tw], e_in[:1] if spec.get(
        "self_attn") else e_in, t_in[:1] if spec.get("self_attn") else t_in, em, tm)


def test_multihead_attention_init(torch):
    m = nn.MultiheadAttention(16, 4, add_bias_kv=True)
    w = m.in_proj_weight.detach().numpy()
    bound = math.sqrt(6 / (16 + 48))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert not m.in_proj_bias.detach().numpy().any()
    assert not m.out_proj.bias.detach().numpy().any()
    assert m.bias_k.shape == (1, 1, 16)
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)


ENC = [  # (layer kwargs, input shape (S, N, E) or batch-first, forward spec)
    (dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0), (5, 3, 8), {}),
    (dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, norm_first=True,
          activation="gelu"), (5, 3, 8), dict(kpm=True)),
    (dict(d_model=8, nhead=4, dim_feedforward=12, dropout=0.0, batch_first=True),
     (3, 5, 8), dict(mask=True, kpm=True)),
    (dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, batch_first=True),
     (3, 5, 8), dict(causal=True)),
    (dict(d_model=8, nhead=2, dim_feedforward=16, dropout=0.0, bias=False,
          layer_norm_eps=1e-3), (5, 8), {}),  # unbatched
]


def _enc_masks(kw, shape, spec):
    bf = kw.get("batch_first", False)
    if len(shape) == 2:
        s, n = shape[0], None
    else:
        s, n = (shape[1], shape[0]) if bf else (shape[0], shape[1])
    out = {}
    if spec.get("kpm"):
        m = R.random((n, s)) > 0.6
        m[:, 0] = False
        out["src_key_padding_mask"] = m
    if spec.get("mask"):
        out["mask"] = rnd(s, s)
    if spec.get("causal"):
        out["mask"] = np.triu(np.full((s, s), -np.inf, "float32"), 1)
        out["is_causal"] = True
    return out


@pytest.mark.parametrize("kw,shape,spec", ENC, ids=[str(i) for i in range(len(ENC))])
def test_transformer_encoder_matches_torch(torch, device, exact_oracle, kw, shape, spec):
    tl, el = torch.nn.TransformerEncoderLayer(**kw), nn.TransformerEncoderLayer(**kw)
    tm = torch.nn.TransformerEncoder(tl, 2, norm=torch.nn.LayerNorm(8),
                                     enable_nested_tensor=False)
    em = nn.TransformerEncoder(el, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
    if exact_oracle:  # LayerNorm's repr gained ``bias=`` in torch 2.13
        assert repr(el) == repr(tl)
        assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    copy_weights(em, tm, device)
    masks = _enc_masks(kw, shape, spec)
    ex, tx = _lift(torch, device, rnd(*shape))
    emask = {n: (_lift(torch, device, m, grad=False)[0] if isinstance(m, np.ndarray) else m)
             for n, m in masks.items()}
    tmask = {n: (_lift(torch, device, m, grad=False)[1] if isinstance(m, np.ndarray) else m)
             for n, m in masks.items()}
    eo, to = em(ex, **emask), tm(tx, **tmask)
    _backward_and_compare(torch, device, [eo], [to], [ex], [tx], em, tm)
    # one layer alone, with the layer's own argument names
    lmask = {"src_mask" if n == "mask" else n: m for n, m in emask.items()}
    tlmask = {"src_mask" if n == "mask" else n: m for n, m in tmask.items()}
    copy_weights(el, tl, device)
    assert_close(el(ex, **lmask), tl(tx, **tlmask), *TOL)


def test_encoder_layers_are_independent_copies(torch):
    layer = nn.TransformerEncoderLayer(8, 2, 16)
    enc = nn.TransformerEncoder(layer, 3, enable_nested_tensor=False)
    a, b = enc.layers[0].linear1.weight, enc.layers[1].linear1.weight
    assert a is not b and a is not layer.linear1.weight
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    with ember.no_grad():
        a.add_(1.0)
    assert not np.array_equal(a.detach().numpy(), b.detach().numpy())


def test_encoder_nested_tensor_warning_matches_torch(torch):
    import warnings
    msgs = []
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            lib.nn.TransformerEncoder(lib.nn.TransformerEncoderLayer(8, 2, 16), 2)
        msgs.append([str(x.message) for x in w])
    assert msgs[0] == msgs[1] and msgs[0]


def test_callable_activation_and_errors(torch, exact_oracle):
    layer = nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU())
    assert layer.activation_relu_or_gelu == 2
    if exact_oracle:  # LayerNorm's repr gained ``bias=`` in torch 2.13
        assert repr(layer) == repr(torch.nn.TransformerEncoderLayer(
            8, 2, 16, activation=torch.nn.GELU()))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_training_dropout_changes_output():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5)
    x = ember.randn(4, 2, 8)
    layer.train()
    assert not np.allclose(layer(x).detach().numpy(), layer(x).detach().numpy())
    layer.eval()
    np.testing.assert_array_equal(layer(x).detach().numpy(), layer(x).detach().numpy())


DEC = [  # (kwargs, batch_first, with masks)
    (dict(dim_feedforward=16, dropout=0.0), False, False),
    (dict(dim_feedforward=12, dropout=0.0, norm_first=True, activation="gelu"), True, True),
    (dict(dim_feedforward=16, dropout=0.0, bias=False), False, True),
]


@pytest.mark.parametrize("kw,batch_first,masks", DEC, ids=[str(i) for i in range(len(DEC))])
def test_transformer_matches_torch(torch, device, exact_oracle, kw, batch_first, masks):
    """Full encoder-decoder: Transformer, hence TransformerDecoder(Layer) too."""
    args = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=2,
                batch_first=batch_first, **kw)
    tm, em = torch.nn.Transformer(**args), nn.Transformer(**args)
    if exact_oracle:  # LayerNorm's repr gained ``bias=`` in torch 2.13
        assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())
    copy_weights(em, tm, device)
    s_len, t_len, n = 5, 4, 3
    src = rnd(n, s_len, 8) if batch_first else rnd(s_len, n, 8)
    tgt = rnd(n, t_len, 8) if batch_first else rnd(t_len, n, 8)
    fwd = {}
    if masks:
        kpm = R.random((n, s_len)) > 0.6
        kpm[:, 0] = False
        fwd = {"tgt_mask": np.triu(np.full((t_len, t_len), -np.inf, "float32"), 1),
               "memory_key_padding_mask": kpm, "src_key_padding_mask": kpm}
    (es, ts), (et, tt) = _lift(torch, device, src), _lift(torch, device, tgt)
    ef = {k: _lift(torch, device, v, grad=False)[0] for k, v in fwd.items()}
    tf = {k: _lift(torch, device, v, grad=False)[1] for k, v in fwd.items()}
    eo, to = em(es, et, **ef), tm(ts, tt, **tf)
    _backward_and_compare(torch, device, [eo], [to], [es, et], [ts, tt], em, tm)


def test_transformer_helpers(torch):
    assert_close(nn.Transformer.generate_square_subsequent_mask(4),
                 torch.nn.Transformer.generate_square_subsequent_mask(4))
    m = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        m(ember.randn(3, 2, 8), ember.randn(3, 4, 8))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal"):
        m(ember.randn(3, 2, 8), ember.randn(3, 2, 6))
    w = m.encoder.layers[0].linear1.weight.detach().numpy()
    bound = math.sqrt(6 / (8 + 16))  # every matrix re-drawn Xavier-uniform
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
