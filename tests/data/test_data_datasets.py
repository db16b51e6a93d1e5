"""Datasets and samplers: PyTorch's semantics, lengths and errors (compared with torch
where the result does not depend on the random stream), and reproducibility from
``ember.manual_seed`` / ``generator`` where it does."""
from __future__ import annotations

import collections

import pytest

import ember
from ember.utils.data import (BatchSampler, ChainDataset, ConcatDataset, Dataset,
                              IterableDataset, RandomSampler, SequentialSampler,
                              StackDataset, Subset, SubsetRandomSampler, TensorDataset,
                              WeightedRandomSampler, random_split)


class Seq(Dataset):
    def __init__(self, n, tag=""):
        self.n, self.tag = n, tag

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return f"{self.tag}{i}"


class Stream(IterableDataset):
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def _raised(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the point is to compare any error
        return type(e), str(e)
    return None


def test_dataset_base_and_add():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement "
                                                  "__getitem__."):
        Dataset()[0]
    both = Seq(2, "a") + Seq(3, "b")
    assert isinstance(both, ConcatDataset) and len(both) == 5
    assert [both[i] for i in range(5)] == ["a0", "a1", "b0", "b1", "b2"]
    chained = Stream([1, 2]) + Stream([3])
    assert isinstance(chained, ChainDataset) and list(chained) == [1, 2, 3]
    assert len(chained) == 3


def test_tensor_dataset():
    x = ember.arange(12).reshape(4, 3)
    y = ember.arange(4)
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert xi.tolist() == [6, 7, 8] and yi.item() == 2
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(x, ember.arange(3))


def test_stack_dataset_matches_torch(torch):
    import torch.utils.data as tud
    tup = StackDataset(Seq(3, "a"), Seq(3, "b"))
    assert tup[1] == ("a1", "b1") and len(tup) == 3
    named = StackDataset(x=Seq(3, "a"), y=Seq(3, "b"))
    assert named[2] == {"x": "a2", "y": "b2"}
    assert named.__getitems__([0, 2]) == [{"x": "a0", "y": "b0"}, {"x": "a2", "y": "b2"}]
    assert tup.__getitems__([1]) == [("a1", "b1")]
    for ember_call, torch_call in (
            (lambda: StackDataset(Seq(2), y=Seq(2)), lambda: tud.StackDataset(Seq(2), y=Seq(2))),
            (lambda: StackDataset(Seq(2), Seq(3)), lambda: tud.StackDataset(Seq(2), Seq(3))),
            (lambda: StackDataset(), lambda: tud.StackDataset())):
        assert _raised(ember_call) == _raised(torch_call)


def test_concat_dataset_indexing_and_errors(torch):
    import torch.utils.data as tud
    ds = ConcatDataset([Seq(2, "a"), Seq(0), Seq(3, "c")])
    ref = tud.ConcatDataset([Seq(2, "a"), Seq(0), Seq(3, "c")])
    assert ds.cumulative_sizes == ref.cumulative_sizes
    assert [ds[i] for i in range(-5, 5)] == [ref[i] for i in range(-5, 5)]
    assert _raised(lambda: ds[-6]) == _raised(lambda: ref[-6])
    assert _raised(lambda: ConcatDataset([])) == _raised(lambda: tud.ConcatDataset([]))
    assert _raised(lambda: ConcatDataset([Stream([1])])) == \
        (AssertionError, "ConcatDataset does not support IterableDataset")


def test_chain_dataset_rejects_map_style():
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(ChainDataset([Seq(2)]))


def test_subset():
    ds = Subset(Seq(10), [7, 3, 5])
    assert len(ds) == 3 and [ds[i] for i in range(3)] == ["7", "3", "5"]
    assert ds.__getitems__([2, 0]) == ["5", "7"]

    class Bad(Subset):
        def __getitem__(self, idx):
            return 0

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Bad(Seq(3), [0])


def test_random_split_lengths_fractions_and_reproducibility(torch):
    import torch.utils.data as tud
    parts = random_split(Seq(10), [3, 7], generator=ember.Generator().manual_seed(42))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    again = random_split(Seq(10), [3, 7], generator=ember.Generator().manual_seed(42))
    assert [p.indices for p in parts] == [p.indices for p in again]
    # fractions: floor, then the remainder round robin -- exactly PyTorch's lengths
    for fracs in ([0.3, 0.3, 0.4], [0.5, 0.5], [0.33, 0.33, 0.34], [0.1] * 10):
        got = [len(p) for p in random_split(Seq(31), fracs)]
        want = [len(p) for p in tud.random_split(Seq(31), fracs)]
        assert got == want
    ember.manual_seed(5)
    a = [p.indices for p in random_split(Seq(8), [4, 4])]
    ember.manual_seed(5)
    assert a == [p.indices for p in random_split(Seq(8), [4, 4])]
    for bad in ([3, 3], [1.2, -0.2]):
        assert _raised(lambda: random_split(Seq(10), bad)) == \
            _raised(lambda: tud.random_split(Seq(10), bad))
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        random_split(Seq(1), [0.5, 0.5])


def test_sequential_and_batch_sampler_match_torch(torch):
    import torch.utils.data as tud
    assert list(SequentialSampler(range(5))) == list(tud.SequentialSampler(range(5)))
    for drop_last in (False, True):
        for bs in (1, 3, 5, 7):
            ours = BatchSampler(SequentialSampler(range(10)), bs, drop_last)
            ref = tud.BatchSampler(tud.SequentialSampler(range(10)), bs, drop_last)
            assert list(ours) == list(ref) and len(ours) == len(ref)
    for args in ((range(3), 0, False), (range(3), True, False), (range(3), 2, 1)):
        assert _raised(lambda: BatchSampler(*args)) == _raised(lambda: tud.BatchSampler(*args))


def test_random_sampler(torch):
    import torch.utils.data as tud
    ember.manual_seed(0)
    perm = list(RandomSampler(range(10)))
    assert sorted(perm) == list(range(10))
    ember.manual_seed(0)
    assert list(RandomSampler(range(10))) == perm
    assert list(RandomSampler(range(10))) != perm  # the next epoch is a new order
    g = ember.Generator().manual_seed(1)
    s = RandomSampler(range(5), num_samples=12, generator=g)
    got = list(s)
    assert len(got) == len(s) == 12 and sorted(got[:10]) == sorted(list(range(5)) * 2)
    rep = list(RandomSampler(range(3), replacement=True, num_samples=70))
    assert len(rep) == 70 and set(rep) == {0, 1, 2}
    for kw in ({"replacement": 1}, {"num_samples": 0}, {"num_samples": 2.0}):
        assert _raised(lambda: RandomSampler(range(3), **kw)) == \
            _raised(lambda: tud.RandomSampler(range(3), **kw))


def test_subset_random_sampler():
    s = SubsetRandomSampler([10, 20, 30, 40], generator=ember.Generator().manual_seed(3))
    got = list(s)
    assert sorted(got) == [10, 20, 30, 40] and len(s) == 4
    assert got == list(SubsetRandomSampler([10, 20, 30, 40],
                                           generator=ember.Generator().manual_seed(3)))


def test_weighted_random_sampler(torch):
    import torch.utils.data as tud
    g = ember.Generator().manual_seed(0)
    draws = list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=g))
    counts = collections.Counter(draws)
    assert counts[0] == 0 and 0.7 < counts[2] / 4000 < 0.8
    no_rep = list(WeightedRandomSampler([1.0, 0.0, 5.0, 2.0], 3, replacement=False))
    assert sorted(no_rep) == [0, 2, 3]
    assert len(WeightedRandomSampler([1, 2], 7)) == 7
    cases = [([1.0, 2.0], 0, True), ([1.0, 2.0], 2, "yes"), ([[1.0, 2.0]], 2, True)]
    for args in cases:
        assert _raised(lambda: WeightedRandomSampler(*args)) == \
            _raised(lambda: tud.WeightedRandomSampler(*args))
    for weights, n, rep in (([1.0, 2.0], 3, False), ([-1.0, 2.0], 1, True),
                            ([0.0, 0.0], 1, True), ([float("inf"), 1.0], 1, True),
                            ([float("nan"), 1.0], 1, False), ([0.0, 0.0], 1, False)):
        assert _raised(lambda: list(WeightedRandomSampler(weights, n, rep))) == \
            _raised(lambda: list(tud.WeightedRandomSampler(weights, n, rep)))
