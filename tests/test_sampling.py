"""multinomial (statistics, reproducibility, errors) and the value-level ops next to it:
searchsorted/bucketize, histc/histogram/bincount, unique/unique_consecutive/isin,
meshgrid/cartesian_prod/combinations, cdist/pdist, diff/trapezoid, cov/corrcoef: results,
dtypes and errors vs PyTorch, on every device."""
from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest


def _np(t):
    return np.asarray(t.detach().cpu().numpy())


def _same(got, want):
    """Equal outputs (tensors, tuples of tensors, scalars), dtypes and shapes included."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            _same(g, w)
        return
    assert str(got.dtype) == str(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(_np(got).astype(np.float64), want.numpy().astype(np.float64),
                               rtol=1e-6, atol=1e-7, equal_nan=True)


def _makers(torch, device):
    """Tensor constructors ``T(values, dtype_name=None)`` for torch and for ember on
    ``device``."""
    def make_t(v, dt=None):
        return torch.tensor(v, dtype=getattr(torch, dt) if dt else None)

    def make_e(v, dt=None):
        return ember.tensor(v, dtype=getattr(ember, dt) if dt else None, device=device)
    return make_t, make_e


def _both(torch, device, fn):
    """(ember's result, torch's result) of ``fn(lib, T)``."""
    make_t, make_e = _makers(torch, device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(ember, make_e), fn(torch, make_t)


def _same_error(torch, device, fn):
    """fn raises the same exception type and message in ember and in torch."""
    make_t, make_e = _makers(torch, device)
    with pytest.raises(Exception) as want:
        fn(torch, make_t)
    with pytest.raises(Exception) as got:
        fn(ember, make_e)
    assert type(got.value).__name__ == type(want.value).__name__
    # kernel names carry the device type ("histogram_cpu", "histogram_cuda")
    dtype_free = str(got.value).replace(f"_{ember.device(device).type}\"", "_cpu\"")
    assert dtype_free == str(want.value)


# --- multinomial -------------------------------------------------------------------------------

def test_multinomial_with_replacement_follows_the_weights(device):
    ember.manual_seed(1)
    w = ember.tensor([1.0, 2.0, 0.0, 7.0], device=device)
    draws = _np(ember.multinomial(w, 40000, replacement=True))
    assert draws.dtype == np.int64 and draws.shape == (40000,)
    freq = np.bincount(draws, minlength=4) / draws.size
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.0, 0.7], atol=0.01)


def test_multinomial_without_replacement(device):
    ember.manual_seed(2)
    w = ember.tensor([[1.0, 0.0, 3.0, 0.0, 6.0], [5.0, 5.0, 0.0, 0.0, 0.0]], device=device)
    first = []
    for _ in range(3000):
        d = _np(w.multinomial(4))
        assert d.shape == (2, 4)
        for row in d:
            assert len(set(row.tolist())) == 4  # no repeats
        # zero-weight categories only after every positive one
        assert set(d[0, :3]) == {0, 2, 4} and set(d[1, :2]) == {0, 1}
        first.append(d[0, 0])
    freq = np.bincount(first, minlength=5) / len(first)
    np.testing.assert_allclose(freq, [0.1, 0, 0.3, 0, 0.6], atol=0.03)


def test_multinomial_generators_reproduce(device):
    w = ember.tensor([0.2, 0.3, 0.5], device=device)
    g1 = ember.Generator(device).manual_seed(5)
    g2 = ember.Generator(device).manual_seed(5)
    a = ember.multinomial(w, 10, True, generator=g1)
    b = ember.multinomial(w, 10, True, generator=g2)
    assert _np(a).tolist() == _np(b).tolist()
    ember.manual_seed(9)
    c = ember.multinomial(w, 3)
    ember.manual_seed(9)
    assert _np(ember.multinomial(w, 3)).tolist() == _np(c).tolist()


@pytest.mark.parametrize("case", [
    lambda L, T: L.multinomial(T([0.1, 0.9]), 3),
    lambda L, T: L.multinomial(T([1, 2]), 1),
    lambda L, T: L.multinomial(T([-1.0, 2.0]), 1),
    lambda L, T: L.multinomial(T([0.0, 0.0]), 1),
    lambda L, T: L.multinomial(T([float("inf"), 0.0]), 1),
    lambda L, T: L.multinomial(T([float("nan"), 1.0]), 1),
    lambda L, T: L.multinomial(T(np.ones((2, 3, 4))), 1),
    lambda L, T: L.multinomial(T(1.0), 1),
    lambda L, T: L.multinomial(T([1.0, 1.0]), 0),
])
def test_multinomial_errors(case, device, torch):
    _same_error(torch, device, case)


# --- searchsorted / bucketize --------------------------------------------------------------------

B = [1, 3, 5, 7, 9]
V = [[3, 6, 9], [3, 6, 9]]
SEARCH = [
    lambda L, T: L.searchsorted(T(B), T(V)),
    lambda L, T: L.searchsorted(T(B), T(V), right=True),
    lambda L, T: L.searchsorted(T(B), T(V), side="right", out_int32=True),
    lambda L, T: L.searchsorted(T(B), 3),
    lambda L, T: L.searchsorted(T(B), T(4)),
    lambda L, T: L.searchsorted(T(B), T(V, "float64")),
    lambda L, T: L.searchsorted(T([1.0, 2.0, float("nan")]), T([float("nan"), 1.5])),
    lambda L, T: L.searchsorted(T([[1, 3, 5], [2, 4, 6]]), T([[3, 6, 0], [1, 7, 4]])),
    lambda L, T: L.searchsorted(T([5, 1, 3]), T([3, 0, 9]), sorter=T([1, 2, 0])),
    lambda L, T: L.searchsorted(T(np.zeros(0)), T([1.0])),
    lambda L, T: L.bucketize(T(V), T(B)),
    lambda L, T: L.bucketize(T(V, "float32"), T(B), right=True, out_int32=True),
    lambda L, T: L.bucketize(3.5, T(B)),
    lambda L, T: L.bucketize(T([[0.5, 9.5, float("nan")]]), T([1.0, 9.0])),
]


@pytest.mark.parametrize("i", range(len(SEARCH)))
def test_searchsorted_and_bucketize(i, device, torch):
    _same(*_both(torch, device, SEARCH[i]))


@pytest.mark.parametrize("case", [
    lambda L, T: L.searchsorted(T(B), T(V), side="bad"),
    lambda L, T: L.searchsorted(T(B), T(V), right=True, side="left"),
    lambda L, T: L.searchsorted(T([[1, 3, 5], [2, 4, 6]]), T([[3, 6]])),
    lambda L, T: L.bucketize(T(V), T([B])),
    lambda L, T: L.isin(T([True, False]), T([True])),
    lambda L, T: L.isin(T([1, 0]), T([1j])),
])
def test_searchsorted_errors(case, device, torch):
    _same_error(torch, device, case)


# --- histograms -------------------------------------------------------------------------------

HIST = [
    lambda L, T: L.histc(T([1.0, 2.0, 1.0]), bins=4, min=0, max=3),
    lambda L, T: L.histc(T([1.0, 2.0, 1.0, 7.5, -3.0])),
    lambda L, T: L.histc(T([1.0, 1.0, 1.0]), bins=4),
    lambda L, T: L.histc(T(np.zeros(0, dtype=np.float32)), bins=4),
    lambda L, T: T([[0.5, 3.0], [2.99, -1.0]], "float64").histc(3, 0, 3),
    lambda L, T: L.histogram(T([1.0, 2.0, 1.0]), bins=4, range=(0.0, 3.0),
                             weight=T([1.0, 2.0, 4.0])),
    lambda L, T: L.histogram(T([1.0, 2.0, 1.0, 3.0, 0.2]), bins=T([0.0, 1.0, 2.5, 3.0])),
    lambda L, T: L.histogram(T([1.0, 2.0, 1.0]), bins=4, density=True),
    lambda L, T: L.histogram(T([2.0, 2.0]), bins=2),
    lambda L, T: T([[1.0, 2.0], [0.5, 3.0]]).histogram(3, range=(0.0, 2.5), density=True),
    lambda L, T: L.bincount(T([4, 3, 6, 3, 4])),
    lambda L, T: L.bincount(T([4, 3, 6, 3, 4]), weights=T([0.0, 0.25, 0.5, 0.75, 1.0])),
    lambda L, T: L.bincount(T([4, 3, 6, 3, 4]), weights=T([0.0, 0.25, 0.5, 0.75, 1.0],
                                                          "float64")),
    lambda L, T: L.bincount(T([4, 3, 6, 3, 4]), weights=T([1, 2, 3, 4, 5])),
    lambda L, T: L.bincount(T([1]), minlength=5),
    lambda L, T: L.bincount(T(np.zeros(0, dtype=np.int64))),
    lambda L, T: T([1, 2], "uint8").bincount(),
]


@pytest.mark.parametrize("i", range(len(HIST)))
def test_histograms(i, device, torch):
    _same(*_both(torch, device, HIST[i]))


@pytest.mark.parametrize("case", [
    lambda L, T: L.histc(T([1, 2])),
    lambda L, T: L.histc(T([1.0, 2.0]), bins=4, min=3, max=0),
    lambda L, T: L.histc(T([1.0, float("nan")])),
    lambda L, T: L.bincount(T([-1])),
    lambda L, T: L.bincount(T([1.0])),
    lambda L, T: L.bincount(T([[1]])),
    lambda L, T: L.bincount(T([1, 2]), minlength=-1),
    lambda L, T: L.bincount(T([1, 2]), weights=T([1.0, 1.0, 1.0])),
])
def test_histogram_errors(case, device, torch):
    _same_error(torch, device, case)


# --- sets -------------------------------------------------------------------------------------

X = [[1, 3], [2, 3], [1, 3]]
SETS = [
    lambda L, T: L.unique(T(X)),
    lambda L, T: L.unique(T(X), return_inverse=True, return_counts=True),
    lambda L, T: L.unique(T(X), dim=0, return_inverse=True, return_counts=True),
    lambda L, T: L.unique(T(X), dim=1, return_inverse=True),
    lambda L, T: L.unique(T([[3, 1], [1, 2], [3, 0]]), dim=-2, return_counts=True),
    lambda L, T: L.unique(T([2.0, float("nan"), float("nan"), 1.0, 2.0])),
    lambda L, T: L.unique(T([True, False, True]), return_counts=True),
    lambda L, T: L.unique(T(np.zeros(0)), return_inverse=True, return_counts=True),
    lambda L, T: L.unique(T(3), return_inverse=True, return_counts=True),
    lambda L, T: T([5, 1, 5, 0, 1]).unique(return_counts=True),
    lambda L, T: L.unique_consecutive(T([1, 1, 2, 2, 3, 1, 1, 2]), return_inverse=True,
                                      return_counts=True),
    lambda L, T: L.unique_consecutive(T(X), dim=0, return_counts=True),
    lambda L, T: L.unique_consecutive(T(np.zeros(0)), return_counts=True, return_inverse=True),
    lambda L, T: T([[1.0, 1.0], [2.0, 2.0]]).unique_consecutive(),
    lambda L, T: L.isin(T([[1, 2], [3, 4]]), T([2, 3])),
    lambda L, T: L.isin(T([[1, 2], [3, 4]]), T([2, 3]), invert=True),
    lambda L, T: L.isin(T([[1, 2], [3, 4]]), 2),
    lambda L, T: L.isin(2, T([2, 3])),
    lambda L, T: L.isin(T([1.0, 2.0]), T([2, 3])),
    lambda L, T: L.isin(T([1.0, float("nan")]), T([float("nan")])),
    lambda L, T: L.isin(T([1, 2]), T(np.zeros(0, dtype=np.int64))),
]


@pytest.mark.parametrize("i", range(len(SETS)))
def test_set_operations(i, device, torch):
    _same(*_both(torch, device, SETS[i]))


def test_unique_on_random_data_matches_torch(device, torch):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 6, size=(40, 3))
    for kw in ({}, {"dim": 0}, {"dim": 1}):
        want = torch.unique(torch.tensor(x), return_inverse=True, return_counts=True, **kw)
        got = ember.unique(ember.tensor(x, device=device), return_inverse=True,
                           return_counts=True, **kw)
        _same(got, want)


# --- grids ------------------------------------------------------------------------------------

GRIDS = [
    lambda L, T: L.meshgrid(T([1, 2, 3]), T([4, 5]), indexing="ij"),
    lambda L, T: L.meshgrid(T([1, 2, 3]), T([4, 5]), indexing="xy"),
    lambda L, T: L.meshgrid([T([1.0, 2, 3]), T([4.0, 5]), T([6.0, 7, 8, 9])], indexing="xy"),
    lambda L, T: L.meshgrid(T(1), T([4, 5]), indexing="ij"),
    lambda L, T: L.meshgrid(T([1, 2, 3]), T([4, 5])),
    lambda L, T: L.cartesian_prod(T([1, 2, 3]), T([4, 5])),
    lambda L, T: L.cartesian_prod(T([1, 2, 3])),
    lambda L, T: L.cartesian_prod(T([1, 2]), T([3, 4]), T([5, 6])),
    lambda L, T: L.combinations(T([1, 2, 3, 4])),
    lambda L, T: L.combinations(T([1, 2, 3]), r=3),
    lambda L, T: L.combinations(T([1, 2, 3]), r=4),
    lambda L, T: L.combinations(T([1, 2, 3]), r=0),
    lambda L, T: L.combinations(T([1.0, 2, 3]), with_replacement=True),
]


@pytest.mark.parametrize("i", range(len(GRIDS)))
def test_grids(i, device, torch):
    _same(*_both(torch, device, GRIDS[i]))


def test_meshgrid_warns_without_indexing(torch):
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        ember.meshgrid(ember.ones(2), ember.ones(3))


@pytest.mark.parametrize("case", [
    lambda L, T: L.meshgrid(T([1, 2, 3]), T([4.0, 5.0]), indexing="ij"),
    lambda L, T: L.meshgrid(T([1, 2, 3]), indexing="foo"),
    lambda L, T: L.meshgrid(indexing="ij"),
    lambda L, T: L.cartesian_prod(T([[1, 2, 3]])),
    lambda L, T: L.combinations(T([[1, 2, 3]])),
    lambda L, T: L.combinations(T([1, 2, 3]), r=-1),
])
def test_grid_errors(case, device, torch):
    _same_error(torch, device, case)


# --- distances, differences, covariance --------------------------------------------------------

A_PTS = [[0.0, 0.0], [1.0, 1.0], [2.0, 3.0]]
B_PTS = [[0.0, 1.0], [2.0, 2.0]]


@pytest.mark.parametrize("case", [
    lambda L, T: L.cdist(T(A_PTS), T(B_PTS), p=-1),
    lambda L, T: L.cdist(T(A_PTS, "int64"), T(B_PTS, "int64")),
    lambda L, T: L.cdist(T(A_PTS), T(B_PTS, "float64")),
    lambda L, T: L.cdist(T(A_PTS[0]), T(B_PTS)),
    lambda L, T: L.cdist(T(A_PTS), T([[0.0], [1.0]])),
    lambda L, T: L.cdist(T(A_PTS), T(B_PTS), compute_mode="bad"),
    lambda L, T: L.diff(T(1)),
    lambda L, T: L.diff(T([1, 3, 2]), n=-1),
    lambda L, T: L.trapezoid(T(1.0)),
    lambda L, T: L.cov(T(np.ones((2, 2, 2)))),
    lambda L, T: L.cov(T(np.ones((2, 4))), fweights=T([1.0, 2, 1, 1])),
    lambda L, T: L.cov(T(np.ones((2, 4))), fweights=T([-1, 2, 1, 1])),
    lambda L, T: L.cov(T(np.ones((2, 4))), aweights=T([-1.0, 2, 1, 1])),
    lambda L, T: L.cov(T(np.ones((2, 4))), aweights=T([1, 2, 1, 1])),
    lambda L, T: L.cov(T(np.ones((2, 4))), fweights=T([1, 2, 1])),
])
def test_distance_difference_covariance_errors(case, device, torch):
    _same_error(torch, device, case)


def test_cdist_matrix_product_path_and_modes(device, torch):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(40, 5)), rng.normal(size=(30, 5))
    for mode in ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                 "donot_use_mm_for_euclid_dist"):
        want = torch.cdist(torch.tensor(a), torch.tensor(b), compute_mode=mode)
        got = ember.cdist(ember.tensor(a, device=device), ember.tensor(b, device=device),
                          compute_mode=mode)
        np.testing.assert_allclose(_np(got), want.numpy(), rtol=1e-10)


def test_cdist_gradients_at_zero_distance_and_ties(torch):
    for x, p in (([[0.0, 0.0], [0.0, 0.0]], 2.0), ([[0.0, 0.0], [1.0, 2.0]], 0.5),
                 ([[0.0, 0.0], [1.0, 1.0]], float("inf")), ([[0.0, 0.0], [1.0, 2.0]], 0.0),
                 ([[0.0, 0.0], [1.0, 2.0]], 1.0)):
        grads = []
        for lib in (torch, ember):
            t = lib.tensor(x, requires_grad=True)
            lib.cdist(t, t, p=p).sum().backward()
            grads.append(_np(t.grad))
        np.testing.assert_allclose(grads[1], grads[0], rtol=1e-6, err_msg=str(p))


def test_cov_warns_for_too_few_observations(torch):
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        got = ember.cov(ember.ones(2, 1))
    assert np.isnan(_np(got)).all()


def test_trapezoid_of_empty_integers_keeps_the_dtype(torch):
    for dt in ("int32", "int64", "float32"):
        want = torch.trapezoid(torch.tensor([], dtype=getattr(torch, dt)))
        got = ember.trapezoid(ember.tensor([], dtype=getattr(ember, dt)))
        assert str(got.dtype) == str(want.dtype)
