r"""The run settings every training config shares, and the result every training loop returns.

Each family's config (:class:`~aigc_course.train.gan.GANTrainConfig`, ...) subclasses
:class:`RunConfig` and adds its algorithm's fields; each family's result subclasses
:class:`TrainResult` and adds its models. Both are frozen and keyword-only, so
``dataclasses.replace(cfg, max_seconds=60)`` makes a variant and no field order matters.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from aigc_course._check import check_bool, check_count, check_real

__all__ = ["RunConfig", "TrainResult"]


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    r"""The run settings every training config shares (keyword-only, frozen, checked once).

    Attributes
    ----------
    batch_size : int
        Examples per optimiser step.
    seed : int
        Seeds the batch order and every random draw of the loop.
    device : str or None
        ``"cpu"``, ``"cuda"``, ``"mps"``; None picks the best available
        (:func:`aigc_course.runtime.get_device`).
    max_seconds : float or None
        Stop after the step during which this much training time has passed.
    checkpoint_path : str or os.PathLike or None
        Where to write checkpoints (atomically); None disables them.
    checkpoint_every : int or None
        Also checkpoint every this many steps (a checkpoint is always written at the end).
    log_every : int
        Steps between two host transfers of the losses (and NaN checks).
    progress : bool
        Show a tqdm progress bar.
    """

    batch_size: int = 128
    seed: int = 0
    device: str | None = None
    max_seconds: float | None = None
    checkpoint_path: str | os.PathLike | None = None
    checkpoint_every: int | None = None
    log_every: int = 10
    progress: bool = True

    def __post_init__(self) -> None:
        owner = type(self).__name__
        check_count(self.batch_size, f"{owner}.batch_size")
        check_count(self.seed, f"{owner}.seed", minimum=0)
        check_count(self.log_every, f"{owner}.log_every")
        if self.device is not None and not isinstance(self.device, str):
            raise TypeError(
                f"{owner}.device must be a str such as 'cpu' or 'cuda', or None (best "
                f"available), got {type(self.device).__name__}"
            )
        if self.max_seconds is not None:
            check_real(self.max_seconds, f"{owner}.max_seconds", low=0.0, low_open=True)
        if self.checkpoint_path is not None and not isinstance(
            self.checkpoint_path, (str, os.PathLike)
        ):
            raise TypeError(
                f"{owner}.checkpoint_path must be a file name (str or os.PathLike) or None, "
                f"got {type(self.checkpoint_path).__name__}"
            )
        if self.checkpoint_every is not None:
            check_count(self.checkpoint_every, f"{owner}.checkpoint_every")
            if self.checkpoint_path is None:
                raise ValueError(
                    f"{owner}.checkpoint_every is set but checkpoint_path is None: set a path"
                )
        check_bool(self.progress, f"{owner}.progress")


@dataclass(frozen=True, kw_only=True)
class TrainResult:
    r"""What every ``train_*`` returns; each family's result adds its own fields.

    Attributes
    ----------
    history : dict of str to list of float
        One entry per step for each loss key; entry ``i`` is step ``i + 1``.
    steps : int
        Steps completed (counting those of a resumed run).
    seconds : float
        Training wall-clock time of this call.
    stopped_by : {"steps", "max_seconds", "on_step"}
        What ended training.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    steps: int = 0
    seconds: float = 0.0
    stopped_by: str = "steps"
