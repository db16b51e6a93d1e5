"""Spatial transformers: ``affine_grid`` and ``grid_sample``. Mirror
``torch.nn.functional`` of the same names.

Both are composed from differentiable tensor ops, so every backend has them and the
gradients (to the input, the grid and theta) come from the parts: ``affine_grid`` is the
base grid times theta; ``grid_sample`` turns the grid into pixel coordinates (unnormalised,
then clipped or reflected as ``padding_mode`` says), gathers the input at each neighbour tap
(``gather`` over the flattened spatial dims, whose gradient scatters back) and sums the taps
with their interpolation weights, which are functions of the coordinates (so the grid's
gradient flows through them). Taps outside the input get weight 0, as PyTorch reads zeros.
"""
from __future__ import annotations

import warnings

from ... import _dtype
from ..._tensor import Tensor
from ._util import dtype_name

__all__ = ["affine_grid", "grid_sample", "GRID_SAMPLE_INTERPOLATION_MODES",
           "GRID_SAMPLE_PADDING_MODES"]

GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}

_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to "
                  "align_corners=False since 1.3.0. Please specify align_corners=True if the old "
                  "behavior is desired. See the documentation of grid_sample for details.")


# --- affine_grid --------------------------------------------------------------------------

def _linspace(n: int, align_corners: bool, like: Tensor) -> Tensor:
    """PyTorch's linspace_from_neg_one: n points over [-1, 1] (pixel centres unless
    ``align_corners``), 0 for a single point."""
    from ..._creation import linspace, zeros
    if n <= 1:
        return zeros(1, dtype=like.dtype, device=like._device)
    r = linspace(-1.0, 1.0, n, dtype=like.dtype, device=like._device)
    return r if align_corners else r * ((n - 1) / n)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.affine_grid``: (N, 2, 3) theta and size (N, C, H, W) ->
    (N, H, W, 2) sampling grid (or (N, 3, 4) and (N, C, D, H, W) -> (N, D, H, W, 3))."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.ndim != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.ndim != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {theta.shape[2]}] but got: [{theta.shape[0]}, "
                           f"{theta.shape[2]}].")
    from ..._creation import ones
    from ...ops.joining import stack
    k = len(spatial)
    # the base grid's last dim is (x, y[, z], 1): x runs along the last spatial dim
    axes = [_linspace(n, align_corners, theta) for n in reversed(spatial)]
    count = 1
    for n in spatial:
        count *= n
    cols = []
    for i, a in enumerate(axes):  # axis i varies along spatial dim k - 1 - i
        shape = [1] * k
        shape[k - 1 - i] = a.shape[0]
        cols.append(a.reshape(*shape).expand(*spatial).reshape(count))
    cols.append(ones(count, dtype=theta.dtype, device=theta._device))
    base = stack(cols, -1)  # (count, k + 1)
    grid = base @ theta.transpose(1, 2)  # (N, count, k)
    return grid.reshape(size[0], *spatial, k)


# --- grid_sample --------------------------------------------------------------------------

def _unnormalize(c: Tensor, n: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (c + 1) * ((n - 1) / 2)
    return ((c + 1) * n - 1) / 2


def _reflect(c: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """PyTorch's reflect_coordinates: c folded into [low, high] by reflections."""
    if twice_low == twice_high:
        return c * 0
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    c = (c - low).abs()
    extra = c.fmod(span)
    flips = (c / span).floor()
    even = flips.fmod(2) == 0
    return (extra + low).where(even, span - extra + low)


def _coordinates(c: Tensor, n: int, padding_mode: str, align_corners: bool) -> Tensor:
    """PyTorch's compute_coordinates: the padding mode applied to a pixel coordinate."""
    if padding_mode == "border":
        return c.clamp(0, n - 1)
    if padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (n - 1)) if align_corners else _reflect(c, -1, 2 * n - 1)
        return c.clamp(0, n - 1)
    return c


def _tap(flat: Tensor, coords: list, sizes: tuple) -> tuple:
    """The input at integer taps ``coords`` (one (N, P) int64 tensor per spatial dim, first
    dim first) as (N, C, P), and the (N, 1, P) mask of the taps inside the input."""
    n, ch = flat.shape[0], flat.shape[1]
    inside = None
    index = None
    for c, size in zip(coords, sizes):
        ok = (c >= 0) & (c < size)
        inside = ok if inside is None else inside & ok
        c = c.clamp(0, size - 1)
        index = c if index is None else index * size + c
    p = index.shape[1]
    vals = flat.gather(2, index.unsqueeze(1).expand(n, ch, p))
    return vals, inside.unsqueeze(1)


def _cubic(t: Tensor) -> list:
    """Keys' cubic weights (A = -0.75) of the taps at floor - 1 .. floor + 2."""
    a = -0.75

    def near(x):
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return [far(t + 1), near(t), near(1 - t), far(2 - t)]


def _check_grid(input: Tensor, grid: Tensor, mode: str) -> None:
    """PyTorch's grid_sampler checks, in its order and words."""
    if input.dtype is not grid.dtype:
        raise RuntimeError(f"expected scalar type {dtype_name(input.dtype)} but found "
                           f"{dtype_name(grid.dtype)}")
    if input.ndim > 0 and grid.ndim > 0 and input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if grid.ndim == 0 or grid.shape[-1] != input.ndim - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.ndim - 2} in "
                           f"last dimension, but got grid with sizes {list(grid.shape)}")
    for i in range(2, input.ndim):
        if input.shape[i] == 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {i} being empty")
    if input.ndim == 4 and grid.ndim != 4:
        raise RuntimeError(f"grid_sampler(): expected 4D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid "
                           f"with sizes {list(grid.shape)}")
    if input.ndim != 4:
        if input.ndim != 5 or grid.ndim != 5:
            raise RuntimeError(f"grid_sampler(): expected 5D input and grid with same number "
                               f"of dimensions, but got input with sizes {list(input.shape)} "
                               f"and grid with sizes {list(grid.shape)}")
        if mode == "bicubic":
            raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.dtype.is_floating_point:
        kernel = "grid_sampler_2d_cpu_kernel_impl" if input.ndim == 4 else \
            "grid_sampler_3d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{dtype_name(input.dtype)}'")


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Mirrors ``torch.nn.functional.grid_sample``: input (N, C, H, W) sampled at grid (N,
    Ho, Wo, 2) of (x, y) in [-1, 1] -> (N, C, Ho, Wo); 5-D input with a (N, Do, Ho, Wo, 3)
    grid of (x, y, z). Modes bilinear (trilinear for 5-D), nearest (ties to even, as
    PyTorch's nearbyint) and bicubic (4-D); padding zeros, border or reflection."""
    if mode not in GRID_SAMPLE_INTERPOLATION_MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in GRID_SAMPLE_PADDING_MODES:
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    _check_grid(input, grid, mode)
    n, ch = input.shape[0], input.shape[1]
    sizes = tuple(input.shape[2:])  # (H, W) or (D, H, W)
    k = len(sizes)
    out_spatial = tuple(grid.shape[1:-1])
    count = _prod(out_spatial)
    flat = input.reshape(n, ch, _prod(sizes))
    g = grid.reshape(n, count, k)
    # pixel coordinates, first spatial dim first (the grid lists x, i.e. the last, first)
    raw = [_unnormalize(g[:, :, k - 1 - i], sizes[i], align_corners) for i in range(k)]
    if mode == "bicubic":
        out = _bicubic(flat, raw, sizes, padding_mode, align_corners)
    else:
        pix = [_coordinates(c, s, padding_mode, align_corners) for c, s in zip(raw, sizes)]
        if mode == "nearest":
            near = [p.round() for p in pix]
            vals, inside = _tap(flat, [p.to(_dtype.int64) for p in near], sizes)
            weight = inside.to(input.dtype)
            if grid.requires_grad:  # the grid's gradient: zeros (round's), as PyTorch's
                weight = weight + sum(p - p.detach() for p in near).unsqueeze(1)
            out = vals * weight
        else:
            out = _linear(flat, pix, sizes)
    return out.reshape(n, ch, *out_spatial)


def _prod(sizes) -> int:
    out = 1
    for v in sizes:
        out *= v
    return out


def _linear(flat: Tensor, pix: list, sizes: tuple) -> Tensor:
    """Bilinear (trilinear) sampling: the 2^k corner taps, weighted by the products of
    (1 - frac) and frac along each dim."""
    lo = [p.floor() for p in pix]
    frac = [p - f for p, f in zip(pix, lo)]
    lo_i = [f.to(_dtype.int64) for f in lo]
    out = None
    k = len(pix)
    for corner in range(2 ** k):
        taps, w = [], None
        for d in range(k):
            up = (corner >> (k - 1 - d)) & 1
            taps.append(lo_i[d] + up)
            wd = frac[d] if up else 1 - frac[d]
            w = wd if w is None else w * wd
        vals, inside = _tap(flat, taps, sizes)
        term = vals * (w.unsqueeze(1) * inside.to(flat.dtype))
        out = term if out is None else out + term
    return out


def _bicubic(flat: Tensor, raw: list, sizes: tuple, padding_mode: str,
             align_corners: bool) -> Tensor:
    """Bicubic sampling: 4 x 4 taps around floor(coordinate) of the unpadded coordinate, each
    tap's position put through the padding mode on its own (PyTorch's get_value_bounded)."""
    (cy, cx), (h, w) = raw, sizes
    fy, fx = cy.floor(), cx.floor()
    wy, wx = _cubic(cy - fy), _cubic(cx - fx)
    out = None
    for i in range(4):
        ty = _coordinates(fy + (i - 1), h, padding_mode, align_corners).to(_dtype.int64)
        for j in range(4):
            tx = _coordinates(fx + (j - 1), w, padding_mode, align_corners).to(_dtype.int64)
            vals, inside = _tap(flat, [ty, tx], sizes)
            term = vals * ((wy[i] * wx[j]).unsqueeze(1) * inside.to(flat.dtype))
            out = term if out is None else out + term
    return out


