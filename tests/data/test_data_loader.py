"""DataLoader in the main process: arguments, len() rules, batching, shuffling and the
seeds' snippets -- compared with PyTorch's DataLoader wherever the result is not random."""
from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import ember
from ember.utils.data import (BatchSampler, DataLoader, Dataset, IterableDataset,
                              SequentialSampler, TensorDataset)


class Pairs(Dataset):
    """Sample i: (a float pair, an int label, a name) -- built from lists so the same
    dataset serves ember and torch."""

    def __init__(self, n=11):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return [float(i), i / 2], i % 3, f"s{i}"


def _stream_class(base):
    class Stream(base):
        def __init__(self, n, report=None):
            self.n, self.report = n, report

        def __iter__(self):
            return iter(range(self.n))

        def __len__(self):
            return self.n if self.report is None else self.report

    return Stream


Stream = _stream_class(IterableDataset)


class Batched(Dataset):
    """Has ``__getitems__``: the loader must fetch a batch with one call."""
    calls = 0

    def __len__(self):
        return 6

    def __getitem__(self, i):
        raise AssertionError("__getitems__ should have been used")

    def __getitems__(self, indices):
        Batched.calls += 1
        return [i * 10 for i in indices]


def _plain(obj):
    if hasattr(obj, "tolist") and hasattr(obj, "dtype"):
        return ("T", str(obj.dtype).split(".")[-1], obj.tolist())
    if isinstance(obj, (list, tuple)):
        return [_plain(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - compare any error
        return type(e).__name__, str(e)
    return None


CONFIGS = [
    dict(),
    dict(batch_size=4),
    dict(batch_size=4, drop_last=True),
    dict(batch_size=None),
    dict(batch_size=3, collate_fn=lambda b: len(b)),
    dict(sampler=[3, 1, 2], batch_size=2),
    dict(batch_sampler=[[0, 5], [2], [7, 8, 9]]),
]


@pytest.mark.parametrize("kw", CONFIGS, ids=[str(sorted(c)) for c in CONFIGS])
def test_batches_and_len_match_torch(torch, kw):
    import torch.utils.data as tud
    ours = DataLoader(Pairs(), **kw)
    ref = tud.DataLoader(Pairs(), **kw)
    assert len(ours) == len(ref)
    assert [_plain(b) for b in ours] == [_plain(b) for b in ref]


@pytest.mark.parametrize("kw", [dict(), dict(batch_size=3), dict(batch_size=3, drop_last=True),
                                dict(batch_size=None), dict(batch_size=4)])
def test_iterable_dataset_batches_and_len_match_torch(torch, kw):
    import torch.utils.data as tud
    ours = DataLoader(Stream(10), **kw)
    ref = tud.DataLoader(_stream_class(tud.IterableDataset)(10), **kw)
    assert len(ours) == len(ref)
    assert [_plain(b) for b in ours] == [_plain(b) for b in ref]


def test_iterable_dataset_longer_than_reported_warns():
    loader = DataLoader(Stream(5, report=3))
    assert len(loader) == 3
    with pytest.warns(UserWarning, match=r"was reported to be 3\(when accessing "
                                         r"len\(dataloader\)\), but [45] samples have been "
                                         r"fetched"):
        list(loader)


BAD_ARGS = [
    dict(num_workers=-1),
    dict(timeout=-1),
    dict(prefetch_factor=2),
    dict(num_workers=1, prefetch_factor=-1),
    dict(persistent_workers=True),
    dict(sampler=[0, 1], shuffle=True),
    dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], drop_last=True),
    dict(batch_size=None, drop_last=True),
    dict(multiprocessing_context="fork"),
    dict(num_workers=1, multiprocessing_context="nope"),
    dict(num_workers=1, multiprocessing_context=3),
    dict(batch_size=0),
]


@pytest.mark.parametrize("kw", BAD_ARGS, ids=[str(sorted(c)) for c in BAD_ARGS])
def test_argument_errors_match_torch(torch, kw):
    import torch.utils.data as tud
    want = _raised(lambda: tud.DataLoader(Pairs(), **kw))
    assert want is not None
    assert _raised(lambda: DataLoader(Pairs(), **kw)) == want


@pytest.mark.parametrize("kw", [dict(shuffle=True), dict(sampler=[0]),
                                dict(batch_sampler=[[0]])])
def test_iterable_dataset_argument_errors_match_torch(torch, kw):
    import torch.utils.data as tud
    want = _raised(lambda: tud.DataLoader(_stream_class(tud.IterableDataset)(3), **kw))
    got = _raised(lambda: DataLoader(Stream(3), **kw))
    assert got[0] == want[0] == "ValueError"
    assert got[1].split(", but got")[0] == want[1].split(", but got")[0]


def test_attributes_are_frozen_and_timeout_needs_workers(torch):
    import torch.utils.data as tud
    loader = DataLoader(Pairs())
    for attr in ("batch_size", "sampler", "dataset", "drop_last"):
        assert _raised(lambda: setattr(loader, attr, 1)) == \
            _raised(lambda: setattr(tud.DataLoader(Pairs()), attr, 1))
    loader.num_workers = 0  # others may change
    assert _raised(lambda: iter(DataLoader(Pairs(), timeout=1))) == \
        _raised(lambda: iter(tud.DataLoader(Pairs(), timeout=1)))


def test_getitems_is_used_for_batches():
    Batched.calls = 0
    out = [b.tolist() for b in DataLoader(Batched(), batch_size=4)]
    assert out == [[0, 10, 20, 30], [40, 50]] and Batched.calls == 2


def test_shuffle_is_reproducible_from_manual_seed_and_generator():
    ds = Pairs(20)

    def order(**kw):
        return [n for *_, names in DataLoader(ds, batch_size=5, shuffle=True, **kw)
                for n in names]

    ember.manual_seed(11)
    first, second = order(), order()
    assert sorted(first) == sorted(f"s{i}" for i in range(20))
    ember.manual_seed(11)
    assert order() == first and order() == second
    assert first != second  # each epoch reshuffles
    g = ember.Generator().manual_seed(5)
    loader = DataLoader(ds, batch_size=5, shuffle=True, generator=g)
    epoch1 = [n for *_, names in loader for n in names]
    g.manual_seed(5)
    assert [n for *_, names in loader for n in names] == epoch1
    assert sorted(epoch1) == sorted(f"s{i}" for i in range(20))


def test_pin_memory_is_a_noop_with_a_warning_on_cpu():
    """The same batches either way; as in PyTorch, pin_memory warns (and does nothing) only
    where no accelerator is available."""
    loader = DataLoader(Pairs(4), batch_size=2, pin_memory=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = [_plain(b) for b in loader]
    warned = [w for w in caught if issubclass(w.category, UserWarning) and
              "'pin_memory' argument is set as true but no accelerator is found" in
              str(w.message)]
    assert bool(warned) is not ember.accelerator.is_available(), [str(w.message) for w in caught]
    assert got == [_plain(b) for b in DataLoader(Pairs(4), batch_size=2)]


def test_pin_memory_calls_the_tensor_hook(monkeypatch):
    from ember.utils.data import _pin, dataloader
    pinned = []

    def fake_pin(self):
        pinned.append(self.shape)
        return self

    monkeypatch.setattr(dataloader, "accelerator_available", lambda: True)
    monkeypatch.setattr(ember.Tensor, "pin_memory", fake_pin, raising=False)
    out = next(iter(DataLoader(TensorDataset(ember.ones(4, 2), ember.zeros(4)),
                               batch_size=2, pin_memory=True)))
    assert len(out) == 2 and pinned == [(2, 2), (2,)]
    assert _pin.pin_memory({"a": (ember.ones(1), "x")})["a"][1] == "x"


def test_worker_count_warning(monkeypatch):
    from ember.utils.data import dataloader
    monkeypatch.setattr(dataloader, "_cpu_count", lambda: 1)
    with pytest.warns(UserWarning, match="This DataLoader will create 3 worker processes in "
                                         "total. Our suggested max number of worker in "
                                         "current system is 1"):
        DataLoader(Pairs(), num_workers=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DataLoader(Pairs(), num_workers=1)


def test_seed_tutorial_snippets():
    """The seeds' "Load Data" step, as written there (with ``import ember as torch``)."""

    class MyDataset(Dataset):
        def __init__(self, file):
            self.data = ember.arange(12, dtype=ember.float32).reshape(6, 2)
            self.target = ember.arange(6, dtype=ember.float32)

        def __getitem__(self, index):
            return self.data[index], self.target[index]

        def __len__(self):
            return len(self.data)

    dataset = MyDataset("data.csv")
    dataloader = DataLoader(dataset, batch_size=5, shuffle=False)
    batches = list(dataloader)
    assert [x.shape for x, _ in batches] == [(5, 2), (1, 2)]
    assert batches[0][1].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    dv_set = DataLoader(dataset, 16, shuffle=True)
    total = sum(len(x) for x, y in dv_set)
    assert total == len(dv_set.dataset) == 6
    ember.manual_seed(0)
    tr_set = DataLoader(TensorDataset(*dataset.data.T), batch_size=2, shuffle=True)
    seen = sorted(v for a, _ in tr_set for v in a.tolist())
    assert seen == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]


def test_import_paths_in_a_fresh_interpreter():
    code = ("import ember as torch\n"
            "from ember.utils.data import Dataset, DataLoader\n"
            "assert torch.utils.data.DataLoader is DataLoader\n"
            "import ember.utils.data\n"
            "assert ember.utils.data.Dataset is Dataset\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    subprocess.run([sys.executable, "-c", "import ember; ember.utils.data.DataLoader"],
                   check=True, timeout=60)


def test_batch_sampler_object_and_sequential_sampler():
    bs = BatchSampler(SequentialSampler(range(7)), 3, False)
    loader = DataLoader(list(range(100, 107)), batch_sampler=bs)
    assert [b.tolist() for b in loader] == [[100, 101, 102], [103, 104, 105], [106]]
    assert len(loader) == 3 and loader.batch_size is None
