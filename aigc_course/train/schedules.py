r"""Learning-rate schedules of the training loops, as factors of the base rate.

A schedule here is a plain function of the fraction of training done,
:attr:`~aigc_course.train.core.Loop.fraction_done`, so it decays to its end when the step
budget or the time budget (``max_seconds``) runs out, whichever comes first.
"""

from __future__ import annotations

import math

from aigc_course._check import check_real

__all__ = ["LR_SCHEDULES", "cosine_factor", "lr_factor"]

LR_SCHEDULES = ("constant", "cosine")
r"""The learning-rate schedules a training config may name (its ``lr_schedule`` field)."""


def cosine_factor(fraction: float) -> float:
    r"""The cosine learning-rate factor at a fraction :math:`p \in [0, 1]` of training.

    .. math:: \eta(p) = \eta_0 \cdot \tfrac12\bigl(1 + \cos(\pi p)\bigr)

    From 1 at the start to 0 at the end (Loshchilov & Hutter, 2017, without restarts). Decaying
    to the end of a fixed budget, rather than keeping the rate constant, is what makes short
    runs good (Li, Yumer & Ramanan, 2020, "Budgeted Training").
    """
    fraction = check_real(fraction, "fraction", low=0.0, high=1.0)
    return 0.5 * (1.0 + math.cos(math.pi * fraction))


def lr_factor(schedule: str, fraction: float) -> float:
    r"""The factor of the base learning rate that ``schedule`` gives at a fraction of training.

    ``"constant"``: 1; ``"cosine"``: :func:`cosine_factor`. ``schedule`` is one of
    :data:`LR_SCHEDULES` (the configs check it when they are made).
    """
    return cosine_factor(fraction) if schedule == "cosine" else 1.0
