"""Arithmetic ops of the table."""
import numpy as np

from optable import ALL_REAL, FLOATS, OpInfo, S, away_from, binary_samples, r

OPS = [
    OpInfo("add", lambda lib, a, b: lib.add(a, b), binary_samples, dtypes=ALL_REAL),
    OpInfo("add_alpha", lambda lib, a, b: lib.add(a, b, alpha=2), binary_samples),
    OpInfo("add_scalar", lambda lib, a: a + 2.5, lambda rng: [S(r(rng, 3, 4)), S(r(rng, 0))],
           dtypes=ALL_REAL),
    OpInfo("radd_int", lambda lib, a: 3 + a, lambda rng: [S(r(rng, 3, 4))], dtypes=ALL_REAL),
    OpInfo("sub", lambda lib, a, b: a - b, binary_samples, dtypes=FLOATS + ("int64",)),
    OpInfo("rsub_scalar", lambda lib, a: 1.5 - a, lambda rng: [S(r(rng, 3, 4))]),
    OpInfo("mul", lambda lib, a, b: a * b, binary_samples, dtypes=ALL_REAL),
    OpInfo("mul_scalar", lambda lib, a: a * 3, lambda rng: [S(r(rng, 2, 3))], dtypes=ALL_REAL),
    OpInfo("div", lambda lib, a, b: a / b,
           lambda rng: [S(s.arrays[0], away_from(s.arrays[1], (0.0,), 0.3))
                        for s in binary_samples(rng)], dtypes=FLOATS + ("int64",)),
    OpInfo("rdiv_scalar", lambda lib, a: 2 / a,
           lambda rng: [S(away_from(r(rng, 3, 4), (0.0,), 0.3))]),
    OpInfo("div_floor", lambda lib, a, b: lib.div(a, b, rounding_mode="floor"),
           lambda rng: [S(r(rng, 3, 4) * 3, away_from(r(rng, 3, 4), (0.0,), 0.5))],
           dtypes=FLOATS + ("int64",), gradcheck=False),
    OpInfo("div_trunc", lambda lib, a, b: lib.div(a, b, rounding_mode="trunc"),
           lambda rng: [S(r(rng, 3, 4) * 3, away_from(r(rng, 3, 4), (0.0,), 0.5))],
           dtypes=FLOATS + ("int64",), gradcheck=False),
    OpInfo("neg", lambda lib, a: -a, lambda rng: [S(r(rng, 3, 4)), S(np.array(1.5))],
           dtypes=FLOATS + INTS if (INTS := ("int64", "int32")) else FLOATS),
    OpInfo("pow_scalar", lambda lib, a: a.pow(2), lambda rng: [S(r(rng, 3, 4)), S(r(rng, 0))]),
    OpInfo("pow_scalar_frac", lambda lib, a: a ** 1.5,
           lambda rng: [S(r(rng, 3, 4, low=0.5, high=2.0))]),
    OpInfo("pow_tensor", lambda lib, a, b: lib.pow(a, b),
           lambda rng: [S(r(rng, 3, 4, low=0.5, high=2.0), r(rng, 3, 4)),
                        S(r(rng, 3, 1, low=0.5, high=2.0), r(rng, 4))]),
    OpInfo("rpow_scalar", lambda lib, a: 2 ** a, lambda rng: [S(r(rng, 3, 4))]),
]
