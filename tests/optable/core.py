"""Core ops of the table that the foundation defines first (more live in their kind's file)."""
from optable import FLOATS, OpInfo, S, r, unary_samples

OPS = [
    OpInfo("exp", lambda lib, a: lib.exp(a), unary_samples),
    OpInfo("log", lambda lib, a: lib.log(a), lambda rng: unary_samples(rng, 0.2, 3.0)),
    OpInfo("sum", lambda lib, a: a.sum(), unary_samples, dtypes=FLOATS + ("int64", "bool")),
    OpInfo("sum_dim", lambda lib, a: a.sum(dim=1, keepdim=True),
           lambda rng: [S(r(rng, 3, 4)), S(r(rng, 2, 3, 4))]),
    OpInfo("sum_dims", lambda lib, a: lib.sum(a, (0, -1)), lambda rng: [S(r(rng, 2, 3, 4))]),
    OpInfo("mean", lambda lib, a: a.mean(), unary_samples),
    OpInfo("mean_dim", lambda lib, a: a.mean(-1), lambda rng: [S(r(rng, 3, 4))]),
    OpInfo("matmul_2d", lambda lib, a, b: a @ b, lambda rng: [S(r(rng, 3, 4), r(rng, 4, 5))]),
    OpInfo("matmul_vec", lambda lib, a, b: lib.matmul(a, b),
           lambda rng: [S(r(rng, 4), r(rng, 4)), S(r(rng, 3, 4), r(rng, 4)),
                        S(r(rng, 4), r(rng, 4, 2))]),
    OpInfo("matmul_batched", lambda lib, a, b: a @ b,
           lambda rng: [S(r(rng, 2, 3, 4), r(rng, 4, 5)), S(r(rng, 2, 1, 3, 4), r(rng, 3, 4, 2))]),
    OpInfo("reshape", lambda lib, a: a.reshape(2, -1), lambda rng: [S(r(rng, 3, 4))]),
    OpInfo("view", lambda lib, a: a.view(4, 3), lambda rng: [S(r(rng, 3, 4))]),
    OpInfo("permute", lambda lib, a: a.permute(2, 0, 1), lambda rng: [S(r(rng, 2, 3, 4))]),
    OpInfo("transpose", lambda lib, a: a.transpose(0, 1), lambda rng: [S(r(rng, 2, 3))]),
    OpInfo("expand", lambda lib, a: a.expand(2, 3, 4), lambda rng: [S(r(rng, 3, 1))]),
    OpInfo("squeeze", lambda lib, a: a.squeeze(1), lambda rng: [S(r(rng, 3, 1, 2))]),
    OpInfo("unsqueeze", lambda lib, a: a.unsqueeze(-1), lambda rng: [S(r(rng, 3, 2))]),
    OpInfo("flatten", lambda lib, a: a.flatten(1), lambda rng: [S(r(rng, 2, 3, 4))]),
    OpInfo("where", lambda lib, c, a, b: lib.where(c > 0, a, b),
           lambda rng: [S(r(rng, 3, 4), r(rng, 3, 4), r(rng, 1, 4), grad=(1, 2))]),
]
