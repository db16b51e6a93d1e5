"""``ember.stft`` / ``ember.istft`` (and the Tensor methods): mirror ``torch.stft`` and
``torch.istft``, composed of differentiable ember ops (reflect padding, framing by
indexing, a window product, ``ember.fft.rfft``/``fft`` and, for istft, ``irfft``/``ifft``
with overlap-add by ``index_add``), so gradients flow as in PyTorch.

Not provided: ``align_to_window=True``; istft's error text for a vanishing window
envelope is shorter than PyTorch's (which prints the whole call).
"""
from __future__ import annotations

import warnings

from .._tensor import Tensor
from ..ops._register import method
from . import _core

__all__ = ["stft", "istft"]

_NO_WINDOW = ("A window was not provided. A rectangular window will be applied,which is known "
              "to cause spectral leakage. Other windows such as torch.hann_window or "
              "torch.hamming_window are recommended to reduce spectral leakage.To suppress "
              "this warning and use a rectangular window, explicitly set "
              "`window=torch.ones(n_fft, device=<device>)`.")


def _window(window: Tensor | None, win_length: int, n_fft: int, like: Tensor, name: str):
    """The window, zero-padded on both sides to n_fft (centred), as PyTorch does."""
    from .._creation import ones, zeros
    from ..ops.joining import cat
    if not 0 < win_length <= n_fft:
        raise RuntimeError(f"{name}: expected 0 < win_length <= n_fft, but got "
                           f"win_length={win_length}")
    if window is None:
        window = ones(win_length, dtype=like.dtype.to_real(), device=like.device)
    elif window.ndim != 1 or window.shape[0] != win_length:
        raise RuntimeError(f"{name}: expected a 1D window tensor of size equal to "
                           f"win_length={win_length}, but got window with size "
                           f"{list(window.shape)}")
    left = (n_fft - win_length) // 2
    if left or n_fft - win_length - left:
        window = cat([zeros(left, dtype=window.dtype, device=window.device), window,
                      zeros(n_fft - win_length - left, dtype=window.dtype,
                            device=window.device)])
    return window


def _frame_index(n_frames: int, n_fft: int, hop: int, device):
    from .._creation import arange
    return (arange(n_frames, device=device)[:, None] * hop
            + arange(n_fft, device=device)[None, :])


@method("stft")
def stft(input: Tensor, n_fft: int, hop_length: int | None = None,
         win_length: int | None = None, window: Tensor | None = None, center: bool = True,
         pad_mode: str = "reflect", normalized: bool = False, onesided: bool | None = None,
         return_complex: bool | None = None, align_to_window: bool | None = None) -> Tensor:
    """Mirrors ``torch.stft``: (B?, n_fft // 2 + 1 or n_fft, n_frames) complex."""
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    if align_to_window:
        raise NotImplementedError("ember.stft: align_to_window=True is not supported")
    complex_in = input.dtype.is_complex or (window is not None and window.dtype.is_complex)
    if return_complex is None:
        if not complex_in:
            raise RuntimeError("stft requires the return_complex parameter be given for real "
                               "inputs, and will further require that return_complex=True in "
                               "a future PyTorch release.")
        return_complex = True
    if window is None:
        warnings.warn(_NO_WINDOW, UserWarning, stacklevel=2)
    if input.ndim not in (1, 2):
        raise RuntimeError(f"stft: expected a 1D or 2D tensor, but got {input.ndim}D tensor")
    if not (input.dtype.is_floating_point or input.dtype.is_complex):
        input = input.to(_default())
    x = input if input.ndim == 2 else input.unsqueeze(0)
    if center:
        from ..nn.functional import pad
        p = n_fft // 2
        x = pad(x.unsqueeze(0), [p, p], pad_mode).squeeze(0)
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    length = x.shape[-1]
    if not 0 < n_fft <= length:
        raise RuntimeError(f"stft: expected 0 < n_fft < {length}, but got n_fft={n_fft}")
    if hop <= 0:
        raise RuntimeError(f"stft: expected hop_length > 0, but got hop_length={hop}")
    w = _window(window, win, n_fft, x, "stft")
    n_frames = 1 + (length - n_fft) // hop
    frames = x[:, _frame_index(n_frames, n_fft, hop, x.device)] * w  # (B, frames, n_fft)
    if onesided is None:
        onesided = not complex_in
    elif onesided and complex_in:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    norm = "ortho" if normalized else "backward"
    from . import fft, rfft
    spec = rfft(frames, dim=-1, norm=norm) if onesided else fft(frames, dim=-1, norm=norm)
    spec = spec.transpose(1, 2)
    if input.ndim == 1:
        spec = spec.squeeze(0)
    if return_complex:
        return spec
    warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, "
                  "stft will return complex tensors for all inputs, and return_complex=False "
                  "will raise an error.\nNote: you can still call torch.view_as_real on the "
                  "complex output to recover the old return format.", UserWarning, stacklevel=2)
    from ..ops.joining import stack
    return stack([_core.real_part(spec), _core.imag_part(spec)], -1)


def _default():
    from .. import _dtype
    return _dtype.get_default_dtype()


@method("istft")
def istft(input: Tensor, n_fft: int, hop_length: int | None = None,
          win_length: int | None = None, window: Tensor | None = None, center: bool = True,
          normalized: bool = False, onesided: bool | None = None, length: int | None = None,
          return_complex: bool = False) -> Tensor:
    """Mirrors ``torch.istft``: the overlap-add inverse of :func:`stft` (input complex,
    (B?, freq, n_frames))."""
    from .._creation import zeros
    if not input.dtype.is_complex:
        raise RuntimeError("istft requires a complex-valued input tensor matching the output "
                           "from stft with return_complex=True.")
    if window is None:
        warnings.warn("A window was not provided. A rectangular window will be applied.Please "
                      "provide the same window used by stft to make the inversion lossless.To "
                      "suppress this warning and use a rectangular window, explicitly set "
                      "`window=torch.ones(n_fft, device=<device>)`.", UserWarning, stacklevel=2)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"istft: expected a tensor with 2 or 3 dimensions of complex "
                           f"dtype, but got {input.ndim}")
    spec = input if input.ndim == 3 else input.unsqueeze(0)
    hop = n_fft // 4 if hop_length is None else hop_length
    win = n_fft if win_length is None else win_length
    w = _window(window, win, n_fft, _core.real_part(spec.detach()), "istft")
    n_frames = spec.shape[-1]
    if onesided is None:
        onesided = spec.shape[-2] != n_fft
    if onesided:
        if spec.shape[-2] != n_fft // 2 + 1:
            raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of "
                               f"the input tensor to match n_fft / 2 + 1 when onesided=True, "
                               f"but got {spec.shape[-2]}")
        if return_complex:
            raise RuntimeError("cannot have onesided output if window or input is complex")
    elif spec.shape[-2] != n_fft:
        raise RuntimeError(f"istft: expected the frequency dimension (3rd to the last) of the "
                           f"input tensor to match n_fft when onesided=False, but got "
                           f"{spec.shape[-2]}")
    norm = "ortho" if normalized else "backward"
    from . import ifft, irfft
    cols = spec.transpose(1, 2)  # (B, frames, freq)
    if onesided:
        frames = irfft(cols, n=n_fft, dim=-1, norm=norm)
    else:
        frames = ifft(cols, n=n_fft, dim=-1, norm=norm)
        if not return_complex:
            frames = _core.real_part(frames)
    frames = frames * w
    expected = n_fft + hop * (n_frames - 1)
    idx = _frame_index(n_frames, n_fft, hop, spec.device).reshape(-1)
    b = spec.shape[0]
    y = zeros(b, expected, dtype=frames.dtype, device=spec.device).index_add(
        1, idx, frames.reshape(b, -1))
    env = zeros(expected, dtype=w.dtype, device=spec.device).index_add(
        0, idx, (w * w).expand(n_frames, n_fft).reshape(-1))
    start = n_fft // 2 if center else 0
    if length is not None:
        end = start + length
    else:
        end = expected - n_fft // 2 if center else expected
    end = min(end, expected)
    y, env = y[:, start:end], env[start:end]
    if float(env.abs().min()) < 1e-11:
        raise RuntimeError(f"istft(...) window overlap add min: {float(env.abs().min()):g}")
    y = y / env
    if length is not None and y.shape[-1] < length:
        from ..ops.joining import cat
        y = cat([y, zeros(b, length - y.shape[-1], dtype=y.dtype, device=y.device)], -1)
    return y.squeeze(0) if input.ndim == 2 else y
