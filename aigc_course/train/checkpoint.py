r"""Save and load training checkpoints: plain state_dicts and values, written atomically.

A checkpoint is one ``dict`` saved with :func:`torch.save` and read back with
``torch.load(weights_only=True)``, which refuses to unpickle arbitrary objects, so loading a
checkpoint from someone else cannot run code. Only tensors, numbers, strings, booleans,
``None`` and (nested) dicts, lists and tuples of those may go in: save ``model.state_dict()``,
never the model.
"""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from aigc_course.runtime import atomic_write
from aigc_course.train.errors import CheckpointError

__all__ = [
    "check_checkpoint_path",
    "check_resumable",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
    "validate_resume",
]

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


def _check_path(path: object) -> str | os.PathLike:
    if not isinstance(path, (str, os.PathLike)) or path == "":
        raise TypeError(
            f"path must be a file name (str or os.PathLike), got {type(path).__name__} "
            f"{path!r}"[:160]
        )
    return path


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
    path = Path(_check_path(path))
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
    path = Path(_check_path(path))
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


def check_checkpoint_path(path: str | os.PathLike) -> Path:
    r"""Refuse a checkpoint path that cannot be written, before any training is done.

    A folder, a path under a regular file, or a folder where files cannot be created is an error
    that names the path and the fix. Missing parent folders are created.
    """
    path = Path(_check_path(path))
    if path.is_dir():
        raise ValueError(
            f"checkpoint_path {path} is a folder: give a file name inside it, e.g. {path / 'run.pt'}"
        )
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(
                    f"checkpoint_path {path} lies under {parent}, which is a file, not a folder: "
                    "choose another path"
                )
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent):
            pass
    except OSError as exc:
        raise ValueError(
            f"cannot write checkpoints to {path} ({exc.strerror or exc}): choose a folder you can "
            "write to, or fix its permissions"
        ) from None
    return path


def validate_resume(
    path: Path,
    ckpt: Any,
    *,
    kind: str,
    version: int,
    models: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    settings: Mapping[str, Any],
    total: int,
    limit: str | None = None,
) -> None:
    r"""Refuse a checkpoint that this run cannot resume, before anything is loaded.

    Checks, in order: a training checkpoint of this ``kind`` and format ``version``; all its
    parts present; the same settings (:func:`check_resumable`) and a step within ``total``;
    every model's tensor names and shapes, and every optimiser's parameter count.

    Raises
    ------
    CheckpointError
        A damaged or foreign checkpoint, or one of other models; names the file and the fix.
    ValueError
        Other settings, or a step beyond ``total``.
    """
    fix = (
        f"delete {path} to start from scratch, or point checkpoint_path at another file"
    )
    if not isinstance(ckpt, dict) or "format" not in ckpt:
        raise CheckpointError(f"{path} is not a training checkpoint: {fix}")
    if ckpt["format"] != version or ckpt.get("kind") != kind:
        raise CheckpointError(
            f"{path} is a checkpoint of kind {ckpt.get('kind')!r}, format {ckpt['format']!r}, "
            f"but this {kind} loop reads kind {kind!r}, format {version}: {fix}"
        )
    parts = ("step", "history", "stream", "rng_states", "extras")
    missing = [k for k in parts if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path} lacks {', '.join(missing)}: {fix}")
    step = int(ckpt["step"])
    check_resumable(
        path, dict(ckpt["stream"]), dict(settings), "step", step, total, limit
    )
    diffs = [
        d for n, m in models.items() for d in _architecture_diffs(n, ckpt.get(n), m)
    ]
    diffs += [
        d for n, o in optimizers.items() for d in _optimizer_diffs(n, ckpt.get(n), o)
    ]
    if diffs:
        more = f"; and {len(diffs) - 4} more" if len(diffs) > 4 else ""
        raise CheckpointError(
            f"cannot resume from {path}: the models differ from the checkpoint's "
            f"({'; '.join(diffs[:4])}{more}). Build them with the configuration of the "
            "original run, or start fresh (resume=False); the models were left unchanged"
        )


def _architecture_diffs(name: str, saved: Any, model: nn.Module) -> list[str]:
    r"""How the tensors of a saved state_dict differ from ``model``'s, in words (empty: none)."""
    if not isinstance(saved, Mapping):
        return [f"{name}: no state_dict in the checkpoint"]
    current = model.state_dict()
    diffs = [
        f"{name}.{k} is missing from the checkpoint" for k in current if k not in saved
    ]
    diffs += [
        f"{name}.{k} is in the checkpoint but not in the model"
        for k in saved
        if k not in current
    ]
    for key, tensor in current.items():
        other = saved.get(key)
        if isinstance(other, torch.Tensor) and other.shape != tensor.shape:
            diffs.append(
                f"{name}.{key} has shape {tuple(other.shape)} in the checkpoint "
                f"but {tuple(tensor.shape)} in the model"
            )
    return diffs


def _optimizer_diffs(name: str, saved: Any, opt: torch.optim.Optimizer) -> list[str]:
    if not isinstance(saved, Mapping) or "param_groups" not in saved:
        return [f"{name}: no optimiser state in the checkpoint"]
    sizes = [len(g["params"]) for g in saved["param_groups"]]
    wanted = [len(g["params"]) for g in opt.param_groups]
    if sizes != wanted:
        return [
            f"{name} optimises {sizes} parameters in the checkpoint but {wanted} now"
        ]
    return []
