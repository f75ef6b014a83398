r"""The loop core shared by the five training loops: run settings, steps, time budget, history, checkpoints.

Every training config subclasses :class:`~aigc_course.train.config.RunConfig` (batch size, seed, device, time budget,
checkpoints, logging, progress). A training function builds its models and optimisers, starts
a :class:`Loop` in one call, and writes the algorithm as a plain ``for`` loop around its step
function::

    loop = Loop.start("VAE", cfg, models={"model": model}, optimizers={"opt": opt},
                      keys=VAE_HISTORY_KEYS, hints=HINTS, total=total,
                      data=(data, labels), resume=resume)    # device, resume, lr, batches
    for x, *y in loop.batches(on_step):                       # time budget, checkpoints
        loop.record(vae_step(loop.nets["model"], opt, x, ...))  # loss tensors: no host sync
    return VAEResult(model=model, **loop.summary())

Everything that is not the algorithm happens in :meth:`Loop.steps` between two steps:

- the losses of the last ``log_every`` steps are moved to the host in one transfer, checked for
  NaN/Inf (:class:`~aigc_course.train.errors.TrainingDiverged` names the first bad step) and
  appended to the history;
- before every checkpoint the parameters and optimiser moments are checked as well, so no
  checkpoint with non-finite state is ever written; checkpoints are atomic
  (:func:`~aigc_course.train.checkpoint.save_checkpoint`) and validated before a resume
  (:func:`~aigc_course.train.checkpoint.validate_resume`);
- the loop stops after ``total`` steps, after the step during which ``cfg.max_seconds`` passed,
  or after a step for which ``on_step(step, state)`` returned ``True``; a final checkpoint is
  written either way.

Under ``torchrun --nproc_per_node N`` (``torch.distributed`` initialised, gloo or nccl) every
rank runs the same loop on its shard of the same seeded batch stream (:meth:`Loop.shard`), the
trained models are wrapped in ``DistributedDataParallel`` (:meth:`Loop.wrap`, done by
:meth:`Loop.start` in ``loop.nets``), the logged losses are the mean over ranks, and only rank 0
writes checkpoints and shows progress.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from aigc_course.data.batching import iterate_batches, num_batches
from aigc_course.runtime import get_device
from aigc_course.train.checkpoint import (
    check_checkpoint_path,
    read_checkpoint,
    save_checkpoint,
    validate_resume,
)
from aigc_course.train.config import RunConfig
from aigc_course.train.errors import TrainingDiverged

__all__ = [
    "CHECKPOINT_FORMAT",
    "Loop",
    "OnStep",
    "TrainState",
    "batch_stream",
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
        self.device: torch.device | None = None  # set by start()
        self.stream: Iterator[tuple[torch.Tensor, ...]] | None = None
        self.nets: dict[str, nn.Module] = {}

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

        The whole checkpoint is validated first
        (:func:`~aigc_course.train.checkpoint.validate_resume`), so a failed resume leaves the
        models as they were. The optimisers keep the hyper-parameters they were built with
        (the config's learning rate wins over the checkpoint's); a missing file starts fresh
        and says so in one printed line.
        """
        if not resume:
            return 0
        if self.checkpoint_path is None:
            raise ValueError(
                "resume=True needs cfg.checkpoint_path to point at the checkpoint file"
            )
        path = Path(self.checkpoint_path)
        if not path.is_file():
            if self.rank == 0:
                print(f"{self.kind}: no checkpoint at {path} yet, starting fresh")
            return 0
        ckpt = read_checkpoint(path)
        validate_resume(
            path,
            ckpt,
            kind=self.kind,
            version=CHECKPOINT_FORMAT,
            models=self.models,
            optimizers=self.optimizers,
            settings=self.settings,
            total=self.total,
            limit=self.limit,
        )
        for name, model in self.models.items():
            model.load_state_dict(ckpt[name])
        for name, opt in self.optimizers.items():
            hyper = [
                {k: v for k, v in g.items() if k != "params"} for g in opt.param_groups
            ]
            opt.load_state_dict(ckpt[name])
            for group, values in zip(opt.param_groups, hyper, strict=True):
                group.update(
                    values
                )  # a loaded state carries the old rate: the config's wins
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

    # ---------------------------------------------------------------- start-up in one call
    @classmethod
    def start(
        cls,
        kind: str,
        cfg: RunConfig,
        *,
        models: dict[str, nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        keys: tuple[str, ...],
        hints: dict[str, tuple[str, str]],
        total: int,
        data: tuple[torch.Tensor | None, ...],
        drop_last: bool = True,
        stream_keys: tuple[str, ...] = (),
        history: dict[str, list[float]] | None = None,
        resume: bool = False,
        batches_per_step: int = 1,
        ddp: bool = True,
        **options: Any,
    ) -> Loop:
        r"""Everything before the first step, in one call; returns the started loop.

        Moves ``models`` to ``cfg.device`` (parameters keep their identity, so optimisers
        built before stay valid), records the settings a resume must match (``stream_keys``
        of ``cfg``, the data size and ``options["settings"]``), resumes if asked (the
        optimisers keep their configured rates), moves ``data`` (a tuple of tensors; ``None``
        entries are skipped) to the device, opens the seeded batch stream (``loop.stream``,
        read by :meth:`batches`) at the resumed position, and wraps every model with
        trainable parameters for ``torchrun`` (``loop.nets``: the models themselves in one
        process; ``ddp=False`` for a loop that must call its model's own methods, such as
        ``log_prob``, which a ``DistributedDataParallel`` wrapper hides). ``options`` are further :class:`Loop` fields (``rngs``, ``extras``,
        ``limit``, ``checkpoint_every``, ...).
        """
        device = get_device(cfg.device)
        for model in models.values():
            model.to(device)
        tensors = tuple(t for t in data if t is not None)
        settings = {k: getattr(cfg, k) for k in stream_keys}
        settings |= {"n_examples": tensors[0].shape[0]} | options.pop("settings", {})
        run = {
            "history": history,
            "checkpoint_path": cfg.checkpoint_path,
            "checkpoint_every": cfg.checkpoint_every,
            "max_seconds": cfg.max_seconds,
            "progress": cfg.progress,
            "log_every": cfg.log_every,
        }
        loop = cls(
            kind,
            total=total,
            keys=keys,
            hints=hints,
            models=models,
            optimizers=optimizers,
            settings=settings,
            **(run | options),
        )
        loop.device = device
        loop.resume(resume)
        tensors = tuple(t.to(device) for t in tensors)
        first = loop.step * batches_per_step
        loop.stream = batch_stream(tensors, cfg.batch_size, cfg.seed, first, drop_last)
        loop.nets = {
            name: loop.wrap(m) if ddp else m
            for name, m in models.items()
            if any(p.requires_grad for p in m.parameters())
        }
        return loop

    def batches(
        self, on_step: OnStep | None = None
    ) -> Iterator[tuple[torch.Tensor, ...]]:
        r"""Yield the next batch of ``loop.stream`` for every step of :meth:`steps`."""
        for _ in self.steps(on_step):
            yield next(self.stream)

    def set_lr(self, optimizer: torch.optim.Optimizer, lr: float) -> None:
        r"""Set every parameter group's learning rate (a schedule's value for this step)."""
        for group in optimizer.param_groups:
            group["lr"] = lr

    def summary(self) -> dict[str, Any]:
        r"""The :class:`TrainResult` fields: ``history``, ``steps``, ``seconds``, ``stopped_by``."""
        return {
            "history": self.history,
            "steps": self.step,
            "seconds": self.seconds,
            "stopped_by": self.stopped_by,
        }

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

        Whichever is further, so a schedule that decays with it (e.g. :func:`~aigc_course.train.schedules.cosine_factor`)
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
        # The last checkpoint holds only finite values, but the settings that diverged wrote
        # it and may already have pushed the weights far off (measured: |w| ~ 1e6 one step
        # before a divergence at lr=1e6), so resuming it is no cure: start fresh.
        return (
            f". The last checkpoint, {self.checkpoint_path} at step {self._saved_at}, holds "
            "only finite values, but if the learning rate caused this it may already carry "
            "the damage: then restart from scratch with the fix (resume=False, or delete it); "
            "resume from it (resume=True) only after a cause that left its weights sound"
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
