r"""The loop core shared by the four training loops: steps, time budget, history, checks, checkpoints.

A training function builds its models, optimisers and random generators, hands them to a
:class:`Loop`, and writes the algorithm as a plain ``for`` loop around a step function::

    loop = Loop("GAN", cfg, total=cfg.steps, keys=HISTORY_KEYS, models=..., optimizers=...)
    start = loop.resume(resume)                        # validated before anything is loaded
    for step in loop.steps(on_step):                   # time budget, progress, checkpoints
        loop.record(gan_step(G, D, opt_g, opt_d, ...))  # loss tensors: no host sync here

Everything that is not the algorithm happens in :meth:`Loop.steps` between two steps:

- the losses of the last ``log_every`` steps are moved to the host in one transfer, checked for
  NaN/Inf (:class:`~aigc_course.train.errors.TrainingDiverged` names the first bad step) and
  appended to the history;
- before every checkpoint the parameters and optimiser moments are checked as well, so no
  checkpoint with non-finite state is ever written; checkpoints are atomic
  (:func:`~aigc_course.train.checkpoint.save_checkpoint`);
- the loop stops after ``total`` steps, after the step during which ``cfg.max_seconds`` passed,
  or after a step for which ``on_step(step, state)`` returned ``True``; a final checkpoint is
  written either way.

Under ``torchrun --nproc_per_node N`` (``torch.distributed`` initialised, gloo or nccl) every
rank runs the same loop on its shard of the same seeded batch stream (:meth:`Loop.shard`), the
models are wrapped in ``DistributedDataParallel`` (:meth:`Loop.wrap`), the logged losses are the
mean over ranks, and only rank 0 writes checkpoints and shows progress.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from aigc_course.data.batching import iterate_batches, num_batches
from aigc_course.train.checkpoint import (
    check_resumable,
    read_checkpoint,
    save_checkpoint,
)
from aigc_course.train.errors import CheckpointError, TrainingDiverged

__all__ = [
    "CHECKPOINT_FORMAT",
    "Loop",
    "OnStep",
    "TrainState",
    "batch_stream",
    "cosine_factor",
]

CHECKPOINT_FORMAT = 2
r"""Version of the checkpoint layout written by :class:`Loop`; other versions are refused."""

STOP_REASONS = ("steps", "max_seconds", "on_step")


@dataclass
class TrainState:
    r"""What ``on_step(step, state)`` sees after each step (read it, do not change it).

    Attributes
    ----------
    step : int
        Steps completed so far, counting those of a resumed run.
    seconds : float
        Training wall-clock time of this call so far (``time.perf_counter``).
    losses : dict of str to float
        The step's losses on logging steps (every ``log_every`` steps, and before a stop);
        empty on the other steps, which keep their losses on the device.
    models : dict of str to torch.nn.Module
        The models being trained (and the EMA copy, if any), by name.
    history : dict of str to list of float
        Per-step losses up to the last logging step.
    total : int
        The step count the loop runs to unless stopped earlier.
    """

    step: int
    seconds: float
    losses: dict[str, float]
    models: dict[str, nn.Module]
    history: dict[str, list[float]]
    total: int


OnStep = Callable[[int, TrainState], "bool | None"]
r"""``on_step(step, state) -> bool | None``: called after every step; ``True`` stops training."""


def batch_stream(
    tensors: tuple[torch.Tensor, ...],
    batch_size: int,
    seed: int,
    start: int,
    drop_last: bool,
) -> Iterator[tuple[torch.Tensor, ...]]:
    r"""Endless mini-batches, epoch after epoch, starting at batch number ``start``.

    Batch ``b`` comes from epoch ``b // per_epoch`` of
    :func:`~aigc_course.data.batching.iterate_batches` ``(seed, epoch)``, so a resumed run sees the
    same batches as an uninterrupted one.
    """
    per_epoch = num_batches(tensors[0].shape[0], batch_size, drop_last)
    epoch, skip = divmod(start, per_epoch)
    while True:
        batches = iterate_batches(
            *tensors, batch_size=batch_size, seed=seed, epoch=epoch, drop_last=drop_last
        )
        yield from itertools.islice(batches, skip, None)
        epoch, skip = epoch + 1, 0


def cosine_factor(fraction: float) -> float:
    r"""The cosine learning-rate factor at a fraction :math:`p \in [0, 1]` of training.

    .. math:: \eta(p) = \eta_0 \cdot \tfrac12\bigl(1 + \cos(\pi p)\bigr)

    From 1 at the start to 0 at the end (Loshchilov & Hutter, 2017, without restarts). Decaying
    to the end of a fixed budget, rather than keeping the rate constant, is what makes short
    runs good (Li, Yumer & Ramanan, 2020, "Budgeted Training").
    """
    return 0.5 * (1.0 + math.cos(math.pi * fraction))


def check_checkpoint_path(path: str | os.PathLike) -> Path:
    r"""Refuse a checkpoint path that cannot be written, before any training is done.

    A folder, a path under a regular file, or a folder where files cannot be created is an error
    that names the path and the fix. Missing parent folders are created.
    """
    path = Path(path)
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


def _tensors(obj: Any) -> Iterator[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, Mapping):
        for value in obj.values():
            yield from _tensors(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _tensors(value)


def _all_finite(tensors: list[torch.Tensor]) -> bool:
    floats = [t.detach() for t in tensors if t.is_floating_point() and t.numel()]
    if not floats:
        return True
    return bool(torch.stack([torch.isfinite(t).all() for t in floats]).all())


def _architecture_diffs(
    name: str, saved: Mapping[str, Any], model: nn.Module
) -> list[str]:
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


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


@dataclass
class Loop:
    r"""The bookkeeping around a training step; see the module docstring.

    Parameters
    ----------
    kind : str
        Names the loop in progress bars, checkpoints and messages (``"GAN"``, ``"VAE"``, ...).
    total : int
        Steps to run to (counting those of a resumed run).
    keys : tuple of str
        The history keys, in the order of the dicts the step function returns.
    hints : dict of str to (str, str)
        For each key to guard against NaN/Inf, the loss's name in messages and the fix.
    models, optimizers : dict
        By name; their state goes into checkpoints.
    rngs : dict of str to torch.Generator
        Random generators whose state goes into checkpoints.
    settings : dict
        Values a resumed run must share with the checkpoint (seed, batch size, data size, ...).
    extras : dict
        Other plain values to checkpoint and restore (e.g. snapshot lists, updated in place).
    history : dict, optional
        The caller's dict to append to.
    checkpoint_path, checkpoint_every, max_seconds, progress
        From the config.
    log_every : int
        Steps between two host transfers of the losses (and NaN checks).
    limit : str, optional
        How messages name ``total`` in config terms, e.g. ``"cfg.epochs=3"``.
    """

    kind: str
    total: int
    keys: tuple[str, ...]
    hints: dict[str, tuple[str, str]]
    models: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    rngs: dict[str, torch.Generator] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    history: dict[str, list[float]] | None = None
    checkpoint_path: str | os.PathLike | None = None
    checkpoint_every: int | None = None
    max_seconds: float | None = None
    progress: bool = True
    log_every: int = 10
    limit: str | None = None
    step: int = 0
    seconds: float = 0.0
    stopped_by: str = "steps"

    def __post_init__(self) -> None:
        self.rank, self.world = _distributed()
        if self.history is None:
            self.history = {}
        for key in self.keys:
            self.history.setdefault(key, [])
        if self.checkpoint_path is not None:
            self.checkpoint_path = check_checkpoint_path(self.checkpoint_path)
        self._pending: list[dict[str, torch.Tensor]] = []
        self._saved_at: int | None = None
        self._recorded = 0
        self._bar: Any = None

    # ---------------------------------------------------------------- several processes
    def shard(self, batch: Any) -> Any:
        r"""This rank's contiguous share of a batch (the whole batch in a single process).

        ``batch`` is a tensor, or a tuple or list of them (nested as deep as needed): every
        tensor is split along its first axis, and the structure is kept.
        """
        if self.world == 1:
            return batch
        if isinstance(batch, (tuple, list)):
            return type(batch)(self.shard(part) for part in batch)
        return torch.tensor_split(batch, self.world)[self.rank]

    def wrap(self, model: nn.Module) -> nn.Module:
        r"""``model`` itself, or a ``DistributedDataParallel`` wrapper under ``torchrun``."""
        if self.world == 1:
            return model
        device = next(model.parameters()).device
        ids = [device.index] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    # ---------------------------------------------------------------- resume
    def resume(self, resume: bool) -> int:
        r"""Load the checkpoint if ``resume`` and it exists; return the number of steps done.

        The whole checkpoint is validated first (readable, format, kind, each model's tensor
        names and shapes, the optimisers, the settings), so a failed resume leaves the models
        as they were.
        """
        if not resume:
            return 0
        if self.checkpoint_path is None:
            raise ValueError(
                "resume=True needs cfg.checkpoint_path to point at the checkpoint file"
            )
        path = Path(self.checkpoint_path)
        if not path.is_file():
            return 0
        ckpt = read_checkpoint(path)
        self._validate(path, ckpt)
        for name, model in self.models.items():
            model.load_state_dict(ckpt[name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(ckpt[name])
        for name, rng in self.rngs.items():
            rng.set_state(ckpt["rng_states"][name])
        for key in self.keys:
            self.history[key][:] = ckpt["history"][key]
        for name, value in ckpt["extras"].items():
            if isinstance(self.extras.get(name), list):
                self.extras[name][:] = value
            else:
                self.extras[name] = value
        self.step = self._saved_at = int(ckpt["step"])
        return self.step

    def _validate(self, path: Path, ckpt: Any) -> None:
        fix = f"delete {path} to start from scratch, or point checkpoint_path at another file"
        if not isinstance(ckpt, dict) or "format" not in ckpt:
            raise CheckpointError(f"{path} is not a training checkpoint: {fix}")
        if ckpt["format"] != CHECKPOINT_FORMAT or ckpt.get("kind") != self.kind:
            raise CheckpointError(
                f"{path} is a checkpoint of kind {ckpt.get('kind')!r}, format {ckpt['format']!r}, "
                f"but this {self.kind} loop reads kind {self.kind!r}, format {CHECKPOINT_FORMAT}: {fix}"
            )
        missing = [
            k
            for k in ("step", "history", "stream", "rng_states", "extras")
            if k not in ckpt
        ]
        if missing:
            raise CheckpointError(f"{path} lacks {', '.join(missing)}: {fix}")
        check_resumable(
            path,
            dict(ckpt["stream"]),
            self.settings,
            "step",
            int(ckpt["step"]),
            self.total,
            self.limit,
        )
        diffs = [
            d
            for n, m in self.models.items()
            for d in _architecture_diffs(n, ckpt.get(n), m)
        ]
        diffs += [
            d
            for n, o in self.optimizers.items()
            for d in _optimizer_diffs(n, ckpt.get(n), o)
        ]
        if diffs:
            more = f"; and {len(diffs) - 4} more" if len(diffs) > 4 else ""
            raise CheckpointError(
                f"cannot resume from {path}: the models differ from the checkpoint's "
                f"({'; '.join(diffs[:4])}{more}). Build them with the configuration of the "
                "original run, or start fresh (resume=False); the models were left unchanged"
            )

    # ---------------------------------------------------------------- the loop
    def record(self, losses: Mapping[str, torch.Tensor]) -> None:
        r"""Keep one step's loss tensors (on the device) until the next logging step."""
        self._pending.append(dict(losses))
        self._recorded += 1

    def steps(self, on_step: OnStep | None = None) -> Iterator[int]:
        r"""Yield step numbers ``start + 1, ...``; between two, do everything but the step itself."""
        state = TrainState(
            self.step, 0.0, {}, dict(self.models), self.history, self.total
        )
        self._bar = bar = tqdm(
            total=self.total,
            initial=self.step,
            disable=not self.progress or self.rank != 0,
            desc=self.kind,
            unit="step",
        )
        began, self.stopped_by = time.perf_counter(), "steps"
        try:
            for step in range(self.step + 1, self.total + 1):
                yield step
                if self._recorded != 1:
                    raise RuntimeError(
                        f"the {self.kind} loop must call record() once per step"
                    )
                self._recorded = 0
                self.step = step
                self.seconds = time.perf_counter() - began
                state.step, state.seconds, state.losses = step, self.seconds, {}
                if step % self.log_every == 0 or step == self.total:
                    state.losses = self._flush()
                stop = self._stop_reason(step, state, on_step)
                if stop is not None and not state.losses:
                    state.losses = self._flush()
                if (
                    self.checkpoint_every is not None
                    and step % self.checkpoint_every == 0
                ):
                    self.save()
                bar.update(1)
                if stop is not None:
                    self.stopped_by = stop
                    break
            self._flush()
            if self.checkpoint_path is not None and self._saved_at != self.step:
                self.save()
        finally:
            bar.close()
        self.seconds = time.perf_counter() - began

    def _stop_reason(
        self, step: int, state: TrainState, on_step: OnStep | None
    ) -> str | None:
        stop = None
        if on_step is not None and on_step(step, state):
            stop = "on_step"
        elif self.max_seconds is not None and self.seconds >= self.max_seconds:
            stop = "max_seconds"
        timed = on_step is not None or self.max_seconds is not None
        # Every rank must stop at the same step and see the same clock: rank 0 decides.
        if self.world > 1 and timed:
            code = STOP_REASONS.index(stop) if stop else -1
            flag = torch.tensor([code, self.seconds], dtype=torch.float64)
            if torch.distributed.get_backend() == "nccl":  # nccl only moves GPU tensors
                flag = flag.to(torch.device("cuda", torch.cuda.current_device()))
            torch.distributed.broadcast(flag, src=0)
            code, self.seconds = int(flag[0]), float(flag[1])
            stop = STOP_REASONS[code] if code >= 0 else None
        return None if stop is None or step == self.total else stop

    @property
    def fraction_done(self) -> float:
        r"""How far training is, in [0, 1]: steps over ``total``, or time over ``max_seconds``.

        Whichever is further, so a schedule that decays with it (e.g. :func:`~aigc_course.train.core.cosine_factor`)
        reaches its end when the time budget runs out. Step-based (and so reproducible) unless
        ``max_seconds`` is set; under ``torchrun`` every rank uses rank 0's clock.
        """
        done = self.step / self.total if self.total else 1.0
        if self.max_seconds:
            done = max(done, self.seconds / self.max_seconds)
        return min(done, 1.0)

    def _flush(self) -> dict[str, float]:
        r"""Move the pending losses to the host in one transfer, check them, append to history."""
        if not self._pending:
            return {}
        first = self.step - len(self._pending) + 1
        rows = torch.stack(
            [torch.stack([p[k] for k in self.keys]) for p in self._pending]
        )
        self._pending.clear()
        if self.world > 1:
            torch.distributed.all_reduce(rows)
            rows = rows / self.world
        values = rows.tolist()
        for i, row in enumerate(values):
            bad = [
                k
                for k, v in zip(self.keys, row, strict=True)
                if k in self.hints and not math.isfinite(v)
            ]
            if bad:  # keep what was recorded before the failure, then stop
                self._append(values[:i])
                name, hint = self.hints[bad[0]]
                value = row[self.keys.index(bad[0])]
                raise TrainingDiverged(first + i, name, value, hint + self._restart())
        self._append(values)
        last = dict(zip(self.keys, values[-1], strict=True))
        if self._bar is not None:
            self._bar.set_postfix(
                {k: f"{v:.3g}" for k, v in last.items()}, refresh=False
            )
        return last

    def _append(self, values: list[list[float]]) -> None:
        for i, key in enumerate(self.keys):
            self.history[key].extend(row[i] for row in values)

    def _restart(self) -> str:
        if self.checkpoint_path is None:
            return ""
        if self._saved_at is None:
            return (
                f". No checkpoint was written to {self.checkpoint_path}: restart from scratch "
                "(resume=False) with the fix"
            )
        return (
            f". The last good checkpoint, {self.checkpoint_path} at step {self._saved_at}, is "
            "untouched: resume from it with the fix (resume=True), or restart from scratch "
            "(delete it, or resume=False)"
        )

    # ---------------------------------------------------------------- checkpoints
    def save(self) -> None:
        r"""Check every loss, parameter and optimiser moment for NaN/Inf, then write a checkpoint."""
        self._flush()
        self._check_state()
        if self.rank == 0:
            save_checkpoint(
                self.checkpoint_path,
                format=CHECKPOINT_FORMAT,
                kind=self.kind,
                step=self.step,
                **{name: m.state_dict() for name, m in self.models.items()},
                **{name: o.state_dict() for name, o in self.optimizers.items()},
                rng_states={name: g.get_state() for name, g in self.rngs.items()},
                history={k: list(self.history[k]) for k in self.keys},
                stream=dict(self.settings),
                extras={
                    k: list(v) if isinstance(v, list) else v
                    for k, v in self.extras.items()
                },
            )
        self._saved_at = self.step

    def _check_state(self) -> None:
        for name, model in self.models.items():
            if not _all_finite([*model.parameters(), *model.buffers()]):
                raise TrainingDiverged(
                    self.step,
                    f"a parameter of {name}",
                    math.nan,
                    "lower the learning rate; no checkpoint was written"
                    + self._restart(),
                )
        for name, opt in self.optimizers.items():
            if not _all_finite(list(_tensors(opt.state_dict()["state"]))):
                raise TrainingDiverged(
                    self.step,
                    f"the optimiser state {name}",
                    math.inf,
                    "lower the learning rate or rescale the data; no checkpoint was written"
                    + self._restart(),
                )
