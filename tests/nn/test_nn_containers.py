"""Containers against PyTorch: indexing, mutation, numbering, reprs."""
from collections import OrderedDict

import pytest

import ember
import ember.nn as nn


def _both(torch, fn):
    return fn(nn, ember), fn(torch.nn, torch)


def test_sequential_indexing_and_mutation(torch):
    def build(n, lib):
        s = n.Sequential(n.Linear(1, 2), n.ReLU(), n.Linear(2, 3), n.Tanh())
        out = [repr(s[0]), repr(s[-1]), repr(s[1:3]), repr(s[::-2]), len(s)]
        s.append(n.Sigmoid())
        s.insert(1, n.Identity())
        s.insert(-1, n.ReLU6())
        s.extend([n.ELU()])
        out.append(repr(s))
        del s[2]
        out.append(list(s._modules))
        out.append(repr(s.pop(0)))
        s[0] = n.GELU()
        out.append(repr(s))
        out.append(repr(s + n.Sequential(n.Softplus())))
        out.append(repr(n.Sequential(n.ReLU()) * 2))
        return out
    mine, theirs = _both(torch, build)
    assert mine == theirs


def test_sequential_ordered_dict_and_errors(torch):
    def build(n, lib):
        s = n.Sequential(OrderedDict([("fc", n.Linear(2, 2)), ("act", n.ReLU())]))
        out = [repr(s), list(s.state_dict()), repr(s[1]), repr(s.act)]
        for bad in (lambda: s[5], lambda: s[-3]):
            try:
                bad()
            except IndexError as e:
                out.append(str(e))
        return out
    mine, theirs = _both(torch, build)
    assert mine == theirs


def test_sequential_forward(device):
    s = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    x = ember.randn(5, 3, device=device)
    manual = s[2](s[1](s[0](x)))
    assert (s(x) - manual).abs().max().item() == 0.0


def test_module_list(torch):
    def build(n, lib):
        ml = n.ModuleList([n.Linear(2, 2) for _ in range(3)] + [n.ReLU()])
        out = [repr(ml), len(ml), repr(ml[-1]), repr(ml[1:3])]
        ml.append(n.ReLU())
        ml.extend([n.Tanh(), n.Tanh()])
        ml.insert(0, n.Sigmoid())
        out.append(repr(ml))
        del ml[1]
        out.append(list(ml._modules))
        out.append(repr(ml.pop(-1)))
        ml += [n.GELU()]
        out.append(repr(ml + n.ModuleList([n.ELU()])))
        out.append(list(ml.state_dict()))
        out.append(repr(n.ModuleList()))
        return out
    mine, theirs = _both(torch, build)
    assert mine == theirs
    with pytest.raises(NotImplementedError):
        nn.ModuleList([nn.ReLU()])(ember.ones(1))


def test_module_dict(torch):
    def build(n, lib):
        md = n.ModuleDict({"b": n.ReLU(), "a": n.Linear(1, 1)})
        md["c"] = n.Tanh()
        md.update([("d", n.ELU())])
        out = [repr(md), list(md.keys()), "a" in md, len(md)]
        out.append(repr(md.pop("b")))
        out.append(list(md.state_dict()))
        md.clear()
        out.append(repr(md))
        return out
    mine, theirs = _both(torch, build)
    assert mine == theirs


def test_parameter_list_and_dict(torch):
    def build(n, lib):
        pl = n.ParameterList([n.Parameter(lib.ones(2)), lib.zeros(3, 4)])
        pl.append(lib.ones(1))
        out = [repr(pl), len(pl), type(pl[1]).__name__, list(pl.state_dict())]
        out.append(len(list(pl.parameters())))
        out.append(repr(pl[0:2]))
        pd = n.ParameterDict({"w": n.Parameter(lib.ones(2)), "b": lib.zeros(3)})
        pd["c"] = lib.ones(1)
        out += [repr(pd), list(pd.keys()), type(pd["b"]).__name__, "w" in pd,
                list(pd.state_dict())]
        out.append(repr(pd.pop("w")))
        return out
    mine, theirs = _both(torch, build)
    assert mine == theirs
    with pytest.raises(RuntimeError, match="ParameterList should not be called."):
        nn.ParameterList()(1)


def test_containers_in_model(torch):
    def build(n, lib):
        class M(n.Module):
            def __init__(self):
                super().__init__()
                self.layers = n.ModuleList([n.Linear(2, 2), n.Linear(2, 2)])
                self.heads = n.ModuleDict({"x": n.Linear(2, 1)})
                self.extra = n.ParameterList([n.Parameter(lib.ones(1))])
                self.named = n.ParameterDict({"s": n.Parameter(lib.ones(1))})
        m = M()
        return [repr(m), list(m.state_dict())]
    mine, theirs = _both(torch, build)
    assert mine == theirs
