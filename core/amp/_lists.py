"""PyTorch's autocast op lists (``aten/src/ATen/autocast_mode.cpp``), by ember op name.

Three policies, as in PyTorch: ``"lower"`` casts floating inputs (not float64) to the
autocast dtype, ``"fp32"`` casts lower-precision floating inputs to float32, ``"promote"``
casts every floating input to the widest floating dtype among them. Ops on no list run in
whatever dtype their inputs have. ember's op names are torch's Python names, so
``cross_entropy`` stands for aten's ``cross_entropy_loss`` and ``linalg_*`` for
``torch.linalg.*``.
"""
from __future__ import annotations

_CPU_LOWER = """conv1d conv2d conv3d bmm mm linalg_vecdot vecdot baddbmm addmm addbmm linear
    matmul conv_tbc conv_transpose1d conv_transpose2d conv_transpose3d prelu
    scaled_dot_product_attention"""
_CPU_FP32 = """avg_pool3d binary_cross_entropy grid_sample polar prod quantile nanquantile stft
    cdist trace view_as_complex cholesky cholesky_inverse cholesky_solve inverse lu_solve
    orgqr ormqr pinverse max_pool3d max_unpool2d max_unpool3d adaptive_avg_pool3d
    mse_loss cosine_embedding_loss nll_loss hinge_embedding_loss poisson_nll_loss
    smooth_l1_loss cross_entropy l1_loss huber_loss margin_ranking_loss soft_margin_loss
    triplet_margin_loss multi_margin_loss ctc_loss kl_div multilabel_margin_loss
    binary_cross_entropy_with_logits fractional_max_pool2d fractional_max_pool3d
    adaptive_max_pool3d geqrf qr svd triangular_solve
    linalg_cond linalg_matrix_rank linalg_solve linalg_cholesky linalg_svdvals linalg_eigvals
    linalg_eigvalsh linalg_inv linalg_householder_product linalg_tensorinv
    linalg_tensorsolve fake_quantize_per_tensor_affine linalg_eig linalg_eigh linalg_lstsq
    linalg_qr linalg_svd linalg_cholesky_ex linalg_inv_ex linalg_lu linalg_lu_factor
    linalg_ldl_factor linalg_pinv linalg_matrix_power linalg_matrix_exp linalg_det
    linalg_slogdet linalg_solve_triangular"""
_CPU_PROMOTE = "stack cat index_copy"

_CUDA_LOWER = """conv1d conv2d conv3d conv_tbc conv_transpose1d conv_transpose2d
    conv_transpose3d prelu addmm addmv addr matmul einsum mm mv linalg_vecdot vecdot linear
    addbmm baddbmm bmm chain_matmul linalg_multi_dot lstm_cell gru_cell rnn_tanh_cell
    rnn_relu_cell scaled_dot_product_attention"""
_CUDA_FP32 = """acos asin cosh erfinv exp expm1 log log10 log2 log1p reciprocal rsqrt sinh tan
    pow softplus layer_norm group_norm norm nuclear_norm cosine_similarity poisson_nll_loss
    cosine_embedding_loss nll_loss hinge_embedding_loss kl_div l1_loss smooth_l1_loss
    huber_loss mse_loss margin_ranking_loss multilabel_margin_loss soft_margin_loss
    triplet_margin_loss multi_margin_loss binary_cross_entropy_with_logits dist pdist cdist
    renorm logsumexp interpolate upsample upsample_nearest upsample_bilinear
    prod softmax log_softmax cumprod cumsum sum linalg_vector_norm linalg_matrix_norm
    cross_entropy"""
_CUDA_PROMOTE = """addcdiv addcmul atan2 bilinear cross dot vdot grid_sample index_put
    tensordot scatter_add"""


def _table(lower: str, fp32: str, promote: str) -> dict:
    out = {}
    for policy, names in (("lower", lower), ("fp32", fp32), ("promote", promote)):
        for n in names.split():
            out[n] = policy
    return out


# device type -> {op name: policy}; other device types use the cuda table (accelerators)
POLICIES = {"cpu": _table(_CPU_LOWER, _CPU_FP32, _CPU_PROMOTE),
            "cuda": _table(_CUDA_LOWER, _CUDA_FP32, _CUDA_PROMOTE)}
# PyTorch refuses this one under CUDA autocast (unsafe: use the with_logits form)
BANNED_CUDA = {"binary_cross_entropy"}
BANNED_MESSAGE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with"
    "_logits\nor torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and "
    "BCEWithLogits are\nsafe to autocast.")


def policy_names() -> set:
    return set().union(*POLICIES.values()) | BANNED_CUDA
