"""Packed variable-length batches: ``PackedSequence``, ``pack_padded_sequence``,
``pad_packed_sequence``, ``pad_sequence``, ``pack_sequence``, ``unpad_sequence``,
``unpack_sequence``. Mirrors ``torch.nn.utils.rnn``.

A packed sequence stores the steps of a batch sorted by decreasing length, time-major: the
rows of step ``t`` are the first ``batch_sizes[t]`` sequences' ``t``-th elements. Packing
and unpacking are one ``index_select`` each (the row indices are worked out on the host from
the lengths), so gradients flow through both.

Deliberate difference: a length longer than the padded input raises (PyTorch reads past
the end of the input).
"""
from __future__ import annotations

from collections import namedtuple
from typing import Iterable

import numpy as np

from ... import _dtype
from ..._tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]

_PackedSequenceBase = namedtuple("PackedSequence_",
                                 ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])


def _long(values, device=None) -> Tensor:
    from ..._creation import tensor
    return tensor(np.asarray(values, dtype=np.int64), dtype=_dtype.int64, device=device)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """Mirrors ``torch.nn.utils.rnn.invert_permutation``."""
    if permutation is None:
        return None
    p = np.asarray(permutation.tolist(), dtype=np.int64)
    inv = np.empty_like(p)
    inv[p] = np.arange(p.size, dtype=np.int64)
    return _long(inv, permutation.device)


class PackedSequence(_PackedSequenceBase):
    """Mirrors ``torch.nn.utils.rnn.PackedSequence``: a namedtuple ``(data, batch_sizes,
    sorted_indices, unsorted_indices)``; ``batch_sizes`` is an int64 CPU tensor. Made by
    :func:`pack_padded_sequence` / :func:`pack_sequence`; RNN, LSTM and GRU take one and
    return one."""

    def __new__(cls, data: Tensor, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None, unsorted_indices: Tensor | None = None):
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError(
                    "batch_sizes should always be on CPU. Instances of PackedSequence should "
                    "never be created manually. They should be instantiated by functions like "
                    "pack_sequence and pack_padded_sequences in nn.utils.rnn. "
                    "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
            return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)
        if not isinstance(data, (list, tuple)) or len(data) != 2:
            raise TypeError("PackedSequence(data, batch_sizes) expects data and batch_sizes")
        return super().__new__(cls, data[0], data[1], sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs) -> "PackedSequence":
        """``data.to(...)``; the indices follow data's device, batch_sizes stays on CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def move(t):
            return None if t is None else t.to(data.device)
        return type(self)(data, self.batch_sizes, move(self.sorted_indices),
                          move(self.unsorted_indices))

    def cpu(self) -> "PackedSequence":
        return self.to("cpu")

    def cuda(self, device=None) -> "PackedSequence":
        return self.to("cuda" if device is None else device)

    def double(self) -> "PackedSequence":
        return self.to(dtype=_dtype.float64)

    def float(self) -> "PackedSequence":
        return self.to(dtype=_dtype.float32)

    def half(self) -> "PackedSequence":
        return self.to(dtype=_dtype.float16)

    def long(self) -> "PackedSequence":
        return self.to(dtype=_dtype.int64)

    def int(self) -> "PackedSequence":
        return self.to(dtype=_dtype.int32)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


# --- index bookkeeping (host side) ------------------------------------------------------

def _batch_sizes(lengths: np.ndarray) -> np.ndarray:
    """batch_sizes[t] = how many (descending-sorted) lengths exceed t."""
    steps = np.arange(int(lengths[0]))
    return (lengths[None, :] > steps[:, None]).sum(1).astype(np.int64)


def _packed_rows(batch_sizes: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """For each packed row, its (time, batch) position in the padded time-major layout."""
    t = np.repeat(np.arange(batch_sizes.size), batch_sizes)
    b = np.concatenate([np.arange(n) for n in batch_sizes]) if batch_sizes.size else \
        np.zeros(0, np.int64)
    return t, b


def _lengths_array(lengths) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.dim() != 1 or lengths.device.type != "cpu" or \
                lengths.dtype is not _dtype.int64:
            raise RuntimeError("'lengths' argument should be a 1D CPU int64 tensor, but got "
                               f"{lengths.dim()}D {lengths.device.type} "
                               f"{lengths.dtype.scalar_name} tensor")
        return np.asarray(lengths.tolist(), dtype=np.int64)
    return np.asarray([int(x) for x in lengths], dtype=np.int64)


def pack_padded_sequence(input: Tensor, lengths, batch_first: bool = False,
                         enforce_sorted: bool = True) -> PackedSequence:
    """Mirrors ``torch.nn.utils.rnn.pack_padded_sequence``: pack a padded batch
    (``T x B x *``, or ``B x T x *`` with ``batch_first``) given each sequence's length
    (a list or a 1-D int64 CPU tensor). With ``enforce_sorted=False`` the batch is sorted
    here and the order is kept in ``sorted_indices``."""
    if isinstance(lengths, Tensor) and lengths.dtype.is_floating_point:
        lengths = lengths.long()
    lens = _lengths_array(lengths)
    sorted_indices = None
    if not enforce_sorted:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = _long(order, input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[0], input.shape[1]
    if lens.size != batch:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got "
                           f"{lens.size} (batch_size={batch})")
    if lens.size and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an "
                           "element in 'lengths' that is <= 0")
    if np.any(np.diff(lens) > 0):
        raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                           "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                           "pack_padded_sequence and/or pack_sequence to sidestep this "
                           "requirement if you do not need ONNX exportability.")
    if lens.size and lens[0] > steps:
        raise RuntimeError(f"a length ({int(lens[0])}) exceeds the padded input's number of "
                           f"steps ({steps})")
    bs = _batch_sizes(lens)
    t, b = _packed_rows(bs, batch)
    flat = input.reshape(steps * batch, *input.shape[2:])
    data = flat.index_select(0, _long(t * batch + b, input.device))
    return PackedSequence(data, _long(bs), sorted_indices, None)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0,
                        total_length: int | None = None) -> tuple[Tensor, Tensor]:
    """Mirrors ``torch.nn.utils.rnn.pad_packed_sequence``: (padded batch in the original
    order, int64 lengths)."""
    from ...ops.joining import cat
    from ..._creation import full
    data = sequence.data
    bs = np.asarray(sequence.batch_sizes.tolist(), dtype=np.int64)
    batch = int(bs[0]) if bs.size else 0
    steps = bs.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {steps}")
        steps = total_length
    t, b = _packed_rows(bs, batch)
    # every padded position reads the packed row it holds, or the one padding row appended
    src = np.full(steps * batch, data.shape[0], dtype=np.int64)
    src[t * batch + b] = np.arange(t.size)
    pad = full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    padded = cat([data, pad], 0).index_select(0, _long(src, data.device))
    padded = padded.reshape(steps, batch, *data.shape[1:])
    lengths = (bs[None, :] > np.arange(batch)[:, None]).sum(1) if batch else \
        np.zeros(0, np.int64)
    lengths = lengths.astype(np.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, _long(lengths)


def pad_sequence(sequences, batch_first: bool = False, padding_value: float = 0.0,
                 padding_side: str = "right") -> Tensor:
    """Mirrors ``torch.nn.utils.rnn.pad_sequence``: stack variable-length ``L x *``
    tensors into ``T x B x *`` (``B x T x *`` with ``batch_first``), padded on
    ``padding_side``."""
    from ...ops.joining import cat, stack
    from ..._creation import full
    if padding_side not in ("left", "right"):
        raise RuntimeError("Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    trailing = tuple(sequences[0].shape[1:])
    rows = []
    for s in sequences:
        if tuple(s.shape[1:]) != trailing:
            a, b = tuple(s.shape[1:]), trailing
            for i in range(len(a) - 1, -1, -1):
                if a[i] != b[i]:
                    raise RuntimeError(f"The size of tensor a ({b[i]}) must match the size "
                                       f"of tensor b ({a[i]}) at non-singleton dimension "
                                       f"{i + 1}")
            raise RuntimeError("pad_sequence: every sequence must have the same trailing "
                               "dimensions")
        n = longest - s.shape[0]
        if n:
            pad = full((n, *trailing), padding_value, dtype=s.dtype, device=s.device)
            s = cat([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    return stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor,
                   batch_first: bool = False) -> list[Tensor]:
    """Mirrors ``torch.nn.utils.rnn.unpad_sequence``: the inverse of :func:`pad_sequence`."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    return [seq[:int(n)] for seq, n in zip(padded_sequences.unbind(0), lens)]


def pack_sequence(sequences: Iterable[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Mirrors ``torch.nn.utils.rnn.pack_sequence``: ``pack_padded_sequence`` of
    ``pad_sequence(sequences)``."""
    sequences = list(sequences)
    lengths = _long([s.shape[0] for s in sequences])
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Mirrors ``torch.nn.utils.rnn.unpack_sequence``: the list of sequences, in the
    original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
