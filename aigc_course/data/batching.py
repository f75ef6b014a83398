r"""Seeded, in-memory mini-batching: one ``randperm`` per epoch, then tensor slicing.

MNIST fits in memory many times over, so a ``DataLoader`` with per-sample ``__getitem__``
calls is pure overhead. Here a batch is one fancy-indexing operation per tensor.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from aigc_course._check import check_count

__all__ = ["epoch_generator", "num_batches", "iterate_batches"]


def epoch_generator(seed: int, epoch: int = 0) -> torch.Generator:
    r"""Return a CPU ``torch.Generator`` seeded from the pair ``(seed, epoch)``.

    The pair is mixed with NumPy's ``SeedSequence``, so nearby pairs such as ``(0, 1)`` and
    ``(1, 0)`` give unrelated streams.

    Parameters
    ----------
    seed : int
        Non-negative run seed.
    epoch : int
        Non-negative epoch number.
    """
    check_count(seed, "seed", minimum=0)
    check_count(epoch, "epoch", minimum=0)
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    r"""Number of batches :func:`iterate_batches` yields for ``n`` examples.

    ``n // batch_size`` with ``drop_last``, else ``ceil(n / batch_size)``.
    """
    check_count(n, "n", minimum=0)
    check_count(batch_size, "batch_size", minimum=1)
    return n // batch_size if drop_last else -(-n // batch_size)


def iterate_batches(
    *tensors: torch.Tensor,
    batch_size: int,
    seed: int,
    epoch: int = 0,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, ...]]:
    r"""Yield aligned mini-batches of one or more tensors, in a reproducible shuffled order.

    The order is a single ``torch.randperm`` drawn from :func:`epoch_generator` ``(seed,
    epoch)``: the same seed and epoch always give the same batches, and each epoch a new
    order. Every example appears exactly once per epoch (except the last partial batch when
    ``drop_last``). Arguments are checked at call time, before the first batch.

    Parameters
    ----------
    *tensors : torch.Tensor
        One or more tensors with the same length along dimension 0, e.g. images ``(N, 1,
        28, 28)`` and labels ``(N,)``; they may live on any device.
    batch_size : int
        Positive batch size.
    seed : int
        Non-negative seed of the run.
    epoch : int
        Non-negative epoch number.
    shuffle : bool
        If false, batches are consecutive views ``t[i:i + batch_size]``.
    drop_last : bool
        Drop the final batch if it is smaller than ``batch_size``.

    Yields
    ------
    tuple of torch.Tensor
        One slice per input tensor, each of length ``batch_size`` (the last may be shorter).
    """
    if not tensors:
        raise ValueError("iterate_batches needs at least one tensor")
    for t in tensors:
        if not isinstance(t, torch.Tensor) or t.ndim == 0:
            raise TypeError(
                f"iterate_batches expects tensors with a batch dimension, got {t!r:.60}"
            )
    lengths = [int(t.shape[0]) for t in tensors]
    if len(set(lengths)) != 1:
        raise ValueError(f"all tensors must have the same length along dim 0, got {lengths}")
    n = lengths[0]
    count = num_batches(n, batch_size, drop_last)
    generator = epoch_generator(seed, epoch)  # validates seed and epoch
    order = torch.randperm(n, generator=generator) if shuffle else None
    return _batches(tensors, order, batch_size, count)


def _batches(
    tensors: tuple[torch.Tensor, ...], order: torch.Tensor | None, batch_size: int, count: int
) -> Iterator[tuple[torch.Tensor, ...]]:
    # One copy of the permutation per device, so GPU tensors are indexed on the GPU.
    orders = {t.device: order.to(t.device) for t in tensors} if order is not None else {}
    for b in range(count):
        start, stop = b * batch_size, (b + 1) * batch_size
        if order is None:
            yield tuple(t[start:stop] for t in tensors)
        else:
            yield tuple(t[orders[t.device][start:stop]] for t in tensors)
