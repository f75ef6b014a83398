r"""Save and load training checkpoints: plain state_dicts and values, written atomically.

A checkpoint is one ``dict`` saved with :func:`torch.save` and read back with
``torch.load(weights_only=True)``, which refuses to unpickle arbitrary objects, so loading a
checkpoint from someone else cannot run code. Only tensors, numbers, strings, booleans,
``None`` and (nested) dicts, lists and tuples of those may go in: save ``model.state_dict()``,
never the model.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from aigc_course.runtime import atomic_write
from aigc_course.train.errors import CheckpointError

__all__ = ["check_resumable", "load_checkpoint", "read_checkpoint", "save_checkpoint"]

_PLAIN = (
    str,
    int,
    float,
    bool,
    type(None),
    torch.Tensor,
    torch.Size,
    torch.dtype,
    torch.device,
)


def _check_plain(value: Any, where: str) -> None:
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, (dict, OrderedDict)):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(
                    f"checkpoint key {where}[{key!r}] must be a str or int, got {type(key).__name__}"
                )
            _check_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    hint = (
        "save its .state_dict()"
        if hasattr(value, "state_dict")
        else "convert it to plain values"
    )
    raise TypeError(
        f"checkpoint value {where} has type {type(value).__name__}, which torch.load(weights_only=True) "
        f"cannot read back: {hint}"
    )


def save_checkpoint(path: str | os.PathLike, **state: Any) -> Path:
    r"""Write ``state`` (keyword arguments) to ``path`` atomically and return the path.

    The file appears only once it is complete: a crash or error during the write leaves any
    previous checkpoint at ``path`` untouched and no partial file behind
    (:func:`aigc_course.runtime.atomic_write`).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file, conventionally ``*.pt``; parent folders are created.
    **state
        Plain values to store, e.g. ``generator=G.state_dict(), step=100``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        If a value could not be read back by ``torch.load(weights_only=True)`` (e.g. a model
        object instead of its ``state_dict()``); nothing is written.

    Examples
    --------
    >>> save_checkpoint("run/ckpt.pt", generator=G.state_dict(), step=100)  # doctest: +SKIP
    """
    if not state:
        raise ValueError(
            "save_checkpoint needs at least one keyword argument, e.g. model=model.state_dict()"
        )
    for key, value in state.items():
        _check_plain(value, key)
    path = Path(path)
    with atomic_write(path) as tmp:
        torch.save(state, tmp)
    return path


def load_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    r"""Read a checkpoint written by :func:`save_checkpoint` with ``weights_only=True``.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    map_location : str or torch.device
        Where to put the tensors; ``"cpu"`` works on any machine.

    Returns
    -------
    dict
        The keyword arguments given to :func:`save_checkpoint`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: check the path, or train from scratch (resume=False)"
        )
    return torch.load(path, map_location=map_location, weights_only=True)


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    r""":func:`load_checkpoint` for resuming: any unreadable file is a :class:`CheckpointError`.

    An empty, truncated or random file, or a pickle that ``weights_only=True`` refuses, raises an
    error that names the file and the fix instead of torch's or pickle's own.
    """
    path = Path(path)
    try:
        ckpt = load_checkpoint(path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # every way a file can be unreadable
        reason = (str(exc).splitlines() or [""])[0][:120]
        raise CheckpointError(
            f"cannot read the checkpoint {path} ({type(exc).__name__}: {reason}): it is damaged, "
            "empty or not a checkpoint. Delete it to start from scratch, or point "
            "checkpoint_path at another file"
        ) from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(
            f"{path} holds a {type(ckpt).__name__}, not a checkpoint dict: delete it or point "
            "checkpoint_path at another file"
        )
    return ckpt


def check_resumable(
    path: str | os.PathLike,
    saved: dict[str, Any],
    wanted: dict[str, Any],
    unit: str,
    done: int,
    total: int,
    limit: str | None = None,
) -> None:
    r"""Refuse to resume a run from a checkpoint written by a different run, or one already past the end.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint, named in the messages.
    saved, wanted : dict
        The settings that decide which data and noise each step sees (seed, batch size, data size, ...),
        as stored in the checkpoint and as they are now; every key of ``wanted`` must match.
    unit : str
        What ``done`` and ``total`` count, e.g. ``"step"`` or ``"epoch"`` (the config field is ``unit + "s"``).
    done, total : int
        Progress stored in the checkpoint, and the total the config asks for.
    limit : str, optional
        How the message names the total, default ``f"cfg.{unit}s={total}"``.

    Raises
    ------
    ValueError
        Naming every setting that differs, or the progress beyond ``total``, and how to fix it.
    """
    diffs = [
        f"{k}={saved.get(k)!r} in the checkpoint but {v!r} now"
        for k, v in wanted.items()
        if saved.get(k) != v
    ]
    if diffs:
        raise ValueError(
            f"cannot resume from {path}: "
            + "; ".join(diffs)
            + ". Resume with the settings and data of the original run, or start fresh (resume=False)"
        )
    if done > total:
        limit = limit or f"cfg.{unit}s={total}"
        raise ValueError(
            f"the checkpoint {path} is at {unit} {done}, beyond {limit}: "
            f"set {limit.split('=')[0]} to the total you want"
        )
