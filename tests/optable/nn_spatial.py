"""nn.functional's spatial ops: convolutions (1-d, 2-d, transposed; stride, padding incl.
'same', dilation, groups, bias), max/average/adaptive pooling, pad (every mode),
interpolate (nearest, bilinear, linear, area), pixel (un)shuffle and scaled dot-product
attention. Forward, gradients and float64 gradcheck come from the table's drivers."""
import numpy as np

from optable import OpInfo, S, r


def _f(lib):
    return lib.nn.functional


def _distinct(rng, *shape):
    """Values at least 0.01 apart (no ties for a maximum, none within gradcheck's eps)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.01 - n * 0.005).reshape(shape)


OPS = [
    OpInfo("conv2d", lambda lib, x, w, b, **k: _f(lib).conv2d(x, w, b, **k),
           lambda rng: [S(r(rng, 2, 3, 6, 5), r(rng, 4, 3, 3, 2), r(rng, 4)),
                        S(r(rng, 2, 4, 7, 6), r(rng, 4, 2, 3, 3), r(rng, 4), stride=2,
                          padding=1, groups=2),
                        S(r(rng, 1, 2, 6, 7), r(rng, 3, 2, 2, 3), r(rng, 3), padding="same",
                          dilation=(2, 1)),
                        S(r(rng, 3, 5, 5), r(rng, 2, 3, 3, 3), r(rng, 2), stride=(1, 2))]),
    OpInfo("conv1d", lambda lib, x, w, **k: _f(lib).conv1d(x, w, **k),
           lambda rng: [S(r(rng, 2, 2, 9), r(rng, 4, 1, 3), groups=2, stride=2, padding=1),
                        S(r(rng, 2, 3, 8), r(rng, 2, 3, 4), padding="same", dilation=2)]),
    OpInfo("conv_transpose2d", lambda lib, x, w, b, **k: _f(lib).conv_transpose2d(x, w, b, **k),
           lambda rng: [S(r(rng, 2, 4, 3, 4), r(rng, 4, 3, 3, 2), r(rng, 3)),
                        S(r(rng, 2, 4, 3, 3), r(rng, 4, 1, 3, 3), r(rng, 2), stride=2,
                          padding=1, output_padding=1, groups=2),
                        S(r(rng, 1, 2, 3, 3), r(rng, 2, 2, 2, 2), r(rng, 2), stride=(2, 3),
                          dilation=2)]),
    OpInfo("conv_transpose1d", lambda lib, x, w, **k: _f(lib).conv_transpose1d(x, w, **k),
           lambda rng: [S(r(rng, 2, 2, 5), r(rng, 2, 3, 3), stride=2, output_padding=1)]),
    OpInfo("max_pool2d", lambda lib, x, **k: _f(lib).max_pool2d(x, **k),
           lambda rng: [S(_distinct(rng, 2, 3, 6, 6), kernel_size=2),
                        S(_distinct(rng, 2, 2, 7, 6), kernel_size=3, stride=2, padding=1,
                          ceil_mode=True),
                        S(_distinct(rng, 1, 2, 7, 7), kernel_size=(2, 3), dilation=(2, 1)),
                        S(_distinct(rng, 2, 5, 5), kernel_size=2, return_indices=True)]),
    OpInfo("max_pool1d", lambda lib, x, **k: _f(lib).max_pool1d(x, **k),
           lambda rng: [S(_distinct(rng, 2, 3, 9), kernel_size=3, stride=2, padding=1)]),
    OpInfo("avg_pool2d", lambda lib, x, **k: _f(lib).avg_pool2d(x, **k),
           lambda rng: [S(r(rng, 2, 3, 6, 6), kernel_size=2),
                        S(r(rng, 2, 2, 7, 6), kernel_size=3, stride=2, padding=1,
                          ceil_mode=True, count_include_pad=False),
                        S(r(rng, 2, 5, 5), kernel_size=(2, 3), divisor_override=4)]),
    OpInfo("avg_pool1d", lambda lib, x, **k: _f(lib).avg_pool1d(x, **k),
           lambda rng: [S(r(rng, 2, 3, 9), kernel_size=3, stride=2, padding=1)]),
    OpInfo("adaptive_avg_pool2d", lambda lib, x, **k: _f(lib).adaptive_avg_pool2d(x, **k),
           lambda rng: [S(r(rng, 2, 3, 7, 5), output_size=(3, 2)),
                        S(r(rng, 2, 6, 4), output_size=2)]),
    OpInfo("adaptive_max_pool2d", lambda lib, x, **k: _f(lib).adaptive_max_pool2d(x, **k),
           lambda rng: [S(_distinct(rng, 2, 3, 7, 5), output_size=(3, 2)),
                        S(_distinct(rng, 1, 2, 5, 5), output_size=(2, 4),
                          return_indices=True)]),
    OpInfo("pad", lambda lib, x, **k: _f(lib).pad(x, **k),
           lambda rng: [S(r(rng, 2, 3, 4), pad=(1, 2)),
                        S(r(rng, 2, 3, 4), pad=(1, -1, 2, 0), value=0.5),
                        S(r(rng, 2, 3, 4), pad=(2, 1), mode="reflect"),
                        S(r(rng, 1, 2, 3, 4), pad=(1, 2, 2, 1), mode="replicate"),
                        S(r(rng, 1, 2, 3, 4), pad=(1, 2, 0, 1), mode="circular")]),
    OpInfo("interpolate", lambda lib, x, **k: _f(lib).interpolate(x, **k),
           lambda rng: [S(r(rng, 1, 2, 3, 4), scale_factor=2),
                        S(r(rng, 1, 2, 3, 4), size=(5, 7), mode="bilinear"),
                        S(r(rng, 1, 2, 4, 4), scale_factor=1.5, mode="bilinear",
                          align_corners=True),
                        S(r(rng, 2, 2, 5), size=8, mode="linear"),
                        S(r(rng, 1, 2, 6, 5), size=(4, 3), mode="area")]),
    OpInfo("pixel_shuffle", lambda lib, x: _f(lib).pixel_shuffle(x, 2),
           lambda rng: [S(r(rng, 2, 8, 2, 3)), S(r(rng, 4, 3, 2))]),
    OpInfo("pixel_unshuffle", lambda lib, x: _f(lib).pixel_unshuffle(x, 2),
           lambda rng: [S(r(rng, 2, 2, 4, 6))]),
    OpInfo("scaled_dot_product_attention",
           lambda lib, q, k, v, **kw: _f(lib).scaled_dot_product_attention(q, k, v, **kw),
           lambda rng: [S(r(rng, 2, 3, 4), r(rng, 2, 5, 4), r(rng, 2, 5, 3)),
                        S(r(rng, 1, 2, 4, 3), r(rng, 1, 2, 4, 3), r(rng, 1, 2, 4, 2),
                          is_causal=True, scale=0.5)]),
    OpInfo("sdpa_float_mask",
           lambda lib, q, k, v, m: _f(lib).scaled_dot_product_attention(q, k, v, m),
           lambda rng: [S(r(rng, 2, 3, 4), r(rng, 2, 5, 4), r(rng, 2, 5, 3), r(rng, 3, 5))]),
]
