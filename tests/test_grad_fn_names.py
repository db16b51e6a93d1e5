"""``grad_fn`` names and ``next_functions`` structure as PyTorch's: the graphs of common ops
and of the seeds' tutorial models are built in ember and in torch and walked side by side
(node name, number of edges, which edges are None / AccumulateGrad, recursively).

Ops whose graph differs because ember's decomposition genuinely differs are listed in
``KNOWN`` with the reason; the test checks they still differ, so a fix shows up."""
from __future__ import annotations

import pytest

import ember


def _walk(fn):
    """A graph as nested tuples: (name, ((child, output_nr), ...)); leaves "Acc"."""
    if fn is None:
        return None
    name = fn.name()
    if "AccumulateGrad" in name:
        return "Acc"
    return (name, tuple((_walk(n), i) for n, i in fn.next_functions))


def _inputs(L, dev):
    a = L.tensor([[0.5, -1.0, 2.0], [1.5, 0.3, -0.2]], device=dev, requires_grad=True)
    b = L.tensor([[0.1, 0.7, -1.3], [0.4, -0.6, 0.9]], device=dev, requires_grad=True)
    return a, b


def _F(L):
    return L.nn.functional


OPS = {
    "mul_sum": lambda L, a, b, d: (a * b).sum(),
    "add": lambda L, a, b, d: a + b,
    "sub_alpha": lambda L, a, b, d: L.sub(a, b, alpha=2),
    "div": lambda L, a, b, d: a / b,
    "mul_scalar": lambda L, a, b, d: a * 2,
    "scalar_mul": lambda L, a, b, d: 2 * a,
    "add_scalar": lambda L, a, b, d: a + 2,
    "sub_scalar": lambda L, a, b, d: a - 2,
    "div_scalar": lambda L, a, b, d: a / 2,
    "rsub": lambda L, a, b, d: 1 - a,
    "rdiv": lambda L, a, b, d: 1 / a,
    "pow": lambda L, a, b, d: a ** 2,
    "pow_tensor": lambda L, a, b, d: a.abs() ** b,
    "neg": lambda L, a, b, d: -a,
    "mean": lambda L, a, b, d: a.mean(),
    "mean_dim": lambda L, a, b, d: a.mean(0),
    "sum_dim": lambda L, a, b, d: a.sum(1),
    "var": lambda L, a, b, d: a.var(),
    "max": lambda L, a, b, d: a.max(),
    "max_dim": lambda L, a, b, d: a.max(1)[0],
    "logsumexp": lambda L, a, b, d: a.logsumexp(1),
    "cumsum": lambda L, a, b, d: a.cumsum(1),
    "relu": lambda L, a, b, d: L.relu(a),
    "F.relu": lambda L, a, b, d: _F(L).relu(a),
    "relu_": lambda L, a, b, d: (a * 1).relu_(),
    "mul_": lambda L, a, b, d: (a * 1).mul_(b),
    "sigmoid": lambda L, a, b, d: a.sigmoid(),
    "tanh": lambda L, a, b, d: a.tanh(),
    "exp_log": lambda L, a, b, d: a.exp().log(),
    "sqrt_abs": lambda L, a, b, d: a.abs().sqrt(),
    "clamp": lambda L, a, b, d: a.clamp(0, 1),
    "gelu": lambda L, a, b, d: _F(L).gelu(a),
    "silu": lambda L, a, b, d: _F(L).silu(a),
    "leaky_relu": lambda L, a, b, d: _F(L).leaky_relu(a),
    "t": lambda L, a, b, d: a.t(),
    "view": lambda L, a, b, d: a.view(-1),
    "reshape": lambda L, a, b, d: a.reshape(3, 2),
    "permute": lambda L, a, b, d: a.permute(1, 0),
    "unsqueeze_squeeze": lambda L, a, b, d: a.unsqueeze(0).squeeze(0),
    "expand": lambda L, a, b, d: a[0].expand(2, 3),
    "index_slice": lambda L, a, b, d: a[0] + a[:, 1:].sum(),
    "cat_stack": lambda L, a, b, d: L.stack([L.cat([a, b]), L.cat([b, a])]),
    "chunk_split": lambda L, a, b, d: a.chunk(3, 1)[1].sum() + a.split(1, 0)[1].sum(),
    "where": lambda L, a, b, d: L.where(a > 0, a, b),
    "masked_fill": lambda L, a, b, d: a.masked_fill(a > 0, 0.0),
    "gather": lambda L, a, b, d: a.gather(1, L.tensor([[0], [1]], device=d)),
    "matmul": lambda L, a, b, d: a @ b.t(),
    "mm": lambda L, a, b, d: a.mm(b.t()),
    "bmm": lambda L, a, b, d: L.bmm(a.unsqueeze(0), b.t().unsqueeze(0)),
    "clone_double": lambda L, a, b, d: a.clone().double(),
    "linear_1d": lambda L, a, b, d: _F(L).linear(a[0], b),
    "linear_1d_bias": lambda L, a, b, d: _F(L).linear(a[0], b, b[0][:2]),
    "linear_nobias": lambda L, a, b, d: _F(L).linear(a, b),
    "linear_input_no_grad": lambda L, a, b, d: _F(L).linear(a.detach(), b, b[0][:2]),
    "linear_3d": lambda L, a, b, d: _F(L).linear(a.unsqueeze(0), b, b[0][:2]),
    "linear_3d_nobias": lambda L, a, b, d: _F(L).linear(a.unsqueeze(0), b),
    "softmax": lambda L, a, b, d: L.softmax(a, 1),
    "log_softmax": lambda L, a, b, d: L.log_softmax(a, 1),
    "cross_entropy": lambda L, a, b, d: _F(L).cross_entropy(a, L.tensor([0, 2], device=d)),
    "nll_loss": lambda L, a, b, d: _F(L).nll_loss(a, L.tensor([0, 2], device=d)),
    "mse_loss": lambda L, a, b, d: _F(L).mse_loss(a, b),
    "l1_loss": lambda L, a, b, d: _F(L).l1_loss(a, b),
    "l1_loss_sum": lambda L, a, b, d: _F(L).l1_loss(a, b.detach(), reduction="sum"),
    "smooth_l1": lambda L, a, b, d: _F(L).smooth_l1_loss(a, b),
    "bce": lambda L, a, b, d: _F(L).binary_cross_entropy(a.sigmoid(), b.detach().sigmoid()),
    "bce_logits": lambda L, a, b, d: _F(L).binary_cross_entropy_with_logits(
        a, b.detach().sigmoid()),
    "bce_logits_none_pw": lambda L, a, b, d: _F(L).binary_cross_entropy_with_logits(
        a, b.sigmoid(), pos_weight=L.ones(3, device=d), reduction="none"),
    "layer_norm": lambda L, a, b, d: _F(L).layer_norm(a, (3,), b[0], b[1]),
    "layer_norm_plain": lambda L, a, b, d: _F(L).layer_norm(a, (3,)),
    "batch_norm_train": lambda L, a, b, d: _F(L).batch_norm(
        a, None, None, b[0], b[1], training=True),
    "batch_norm_eval": lambda L, a, b, d: _F(L).batch_norm(
        a, L.zeros(3, device=d), L.ones(3, device=d), b[0], None),
    "conv2d_bias": lambda L, a, b, d: _F(L).conv2d(a.view(1, 1, 2, 3), b.view(2, 1, 1, 3),
                                                   b[0][:2]),
    "max_pool2d": lambda L, a, b, d: _F(L).max_pool2d(a.view(1, 1, 2, 3), 2),
    "avg_pool2d": lambda L, a, b, d: _F(L).avg_pool2d(a.view(1, 1, 2, 3), 2),
    "flatten": lambda L, a, b, d: a.view(1, 1, 2, 3).flatten(1),
    "embedding": lambda L, a, b, d: _F(L).embedding(L.tensor([1, 0], device=d), a),
    "dropout": lambda L, a, b, d: _F(L).dropout(a, 0.5),
    # one MkldnnRnnLayerBackward0 per layer (on numpy; other backends run per-step cells)
    "lstm": lambda L, a, b, d: L.nn.LSTM(3, 2).to(d)(a.unsqueeze(1))[0],
}

# ember's decomposition differs from PyTorch's here (the test asserts the graphs differ)
KNOWN = {
    "soft_cross_entropy": "PyTorch divides by the batch with its internal div(Tensor, "
                          "Scalar) (DivBackward1, one edge); ember's Python scalar division "
                          "is DivBackward0 with a None edge for the scalar",
    "adaptive_avg_pool_1": "PyTorch turns a 1x1 adaptive average pool into mean "
                           "(MeanBackward1); ember pools (AvgPool2DBackward0)",
    "rnn_tanh": "ember's RNN cell adds the input projection first (Add(Unbind, Addmm)); "
                "PyTorch adds the hidden one first (Add(Addmm, Unbind))",
    "gru": "PyTorch's GRU cell is decomposed into elementwise ops; ember's is a fused "
           "GruCellBackward0 per step",
    "conv2d_no_bias": "ember's ConvolutionBackward0 has no edge for an absent bias; "
                      "PyTorch's has (None, 0) (core/nn/_functional/conv.py _record)",
    "multi_index": "PyTorch indexes a[0, :2] as SliceBackward0(SelectBackward0); ember "
                   "makes one SliceBackward0",
    "multihead_attention": "PyTorch's attention is Bmm/Softmax/Bmm with Clone; ember's "
                           "matmuls are UnsafeView-wrapped",
}

KNOWN_OPS = {
    "soft_cross_entropy": lambda L, a, b, d: _F(L).cross_entropy(a, b.detach().softmax(1)),
    "conv2d_no_bias": lambda L, a, b, d: _F(L).conv2d(a.view(1, 1, 2, 3), b.view(2, 1, 1, 3)),
    "multi_index": lambda L, a, b, d: a[0, :2],
    "adaptive_avg_pool_1": lambda L, a, b, d: _F(L).adaptive_avg_pool2d(a.view(1, 1, 2, 3), 1),
    "rnn_tanh": lambda L, a, b, d: L.nn.RNN(3, 2).to(d)(a.unsqueeze(1))[0],
    "gru": lambda L, a, b, d: L.nn.GRU(3, 2).to(d)(a.unsqueeze(1))[0],
    "multihead_attention": lambda L, a, b, d: L.nn.MultiheadAttention(3, 1).to(d)(
        a.unsqueeze(1), a.unsqueeze(1), a.unsqueeze(1))[0],
}


def _graphs(torch, device, fn):
    """(torch's graph, ember's graph) of ``fn(lib, a, b, dev)``, both seeded alike."""
    out = []
    for lib, dev in ((torch, "cpu"), (ember, device)):
        lib.manual_seed(0)
        a, b = _inputs(lib, dev)
        out.append(_walk(fn(lib, a, b, dev).grad_fn))
    return out


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_graph_matches_torch(torch, device, name):
    if name == "lstm" and ember.empty(0, device=device)._device._be.name != "numpy":
        pytest.skip("the one-node LSTM layer is numpy's; other backends run per-step cells")
    want, got = _graphs(torch, device, OPS[name])
    assert got == want


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_differences_still_differ(torch, name):
    want, got = _graphs(torch, "cpu", KNOWN_OPS[name])
    assert got is not None and want is not None
    assert got != want, f"{name} now matches PyTorch: move it to OPS"


def _seed_models(L):
    """The models of the tutorials in /work/shared/seeds (quoted as they appear there)."""
    nn = L.nn
    F = nn.functional

    class MyModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer1 = nn.Linear(10, 32)
            self.layer2 = nn.Sigmoid()
            self.layer3 = nn.Linear(32, 1)

        def forward(self, x):
            out = self.layer1(x)
            out = self.layer2(out)
            out = self.layer3(out)
            return out

    class Net(nn.Module):
        def __init__(self, input_size=10, hidden_size=8, output_size=1):
            super().__init__()
            self.fc1 = nn.Linear(input_size, hidden_size)
            self.fc2 = nn.Linear(hidden_size, output_size)

        def forward(self, x):
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    seq = nn.Sequential(nn.Linear(10, 32), nn.Sigmoid(), nn.Linear(32, 1))
    cnn = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(8, 3))
    return {"sequential_mse": (seq, "mse"), "mymodel_mse": (MyModel(), "mse"),
            "net_mse": (Net(), "mse"), "cnn_cross_entropy": (cnn, "ce")}


@pytest.mark.parametrize("name", ["sequential_mse", "mymodel_mse", "net_mse",
                                  "cnn_cross_entropy"])
def test_tutorial_model_graph_matches_torch(torch, device, name):
    got = []
    for lib, dev in ((torch, "cpu"), (ember, device)):
        lib.manual_seed(0)
        model, loss = _seed_models(lib)[name]
        model.to(dev)
        if loss == "mse":
            x, y = lib.ones(5, 10, device=dev), lib.zeros(5, 1, device=dev)
            out = lib.nn.MSELoss()(model(x), y)
        else:
            x = lib.ones(2, 1, 4, 4, device=dev)
            out = lib.nn.CrossEntropyLoss()(model(x), lib.tensor([0, 2], device=dev))
        got.append(_walk(out.grad_fn))
    assert got[1] == got[0]


def test_next_functions_and_accumulate_grad(device):
    a = ember.ones(2, requires_grad=True, device=device)
    b = ember.ones(2, requires_grad=True, device=device)
    s = (a * b).sum()
    assert type(s.grad_fn).__name__ == "SumBackward0"
    (mul, nr), = s.grad_fn.next_functions
    assert type(mul).__name__ == "MulBackward0" and nr == 0
    acc_a, acc_b = (n for n, _ in mul.next_functions)
    assert type(acc_a).__name__ == "AccumulateGrad" and acc_a.variable is a
    assert acc_b.variable is b
    assert (a * 2).grad_fn.next_functions[1] == (None, 0)
    # the same leaf gives the same AccumulateGrad node each time, as in PyTorch
    assert (a + 1).grad_fn.next_functions[0][0] is acc_a
