r"""Checkers for the Applications chapter: hit rate of requested classes, latent interpolation, sample diversity."""

from __future__ import annotations

from collections.abc import Callable

import torch

from aigc_course.exercises.engine import Args, Edge, Exercise, Mistake, check, rand_int
from aigc_course.exercises.feedback import Feedback


def _hit_inputs(gen: torch.Generator, case: int) -> Args:
    n, k = rand_int(gen, 10, 30), rand_int(gen, 3, 8)
    probs = torch.softmax(torch.randn(n, k, generator=gen) * 2, dim=1)
    hits = torch.rand(n, generator=gen) < 0.6
    other = (probs.argmax(1) + torch.randint(1, k, (n,), generator=gen)) % k
    return probs, torch.where(hits, probs.argmax(1), other)


def _hits(probs: torch.Tensor, requested: torch.Tensor) -> torch.Tensor:
    return (probs.argmax(1) == requested).double()


CLASS_ACCURACY = Exercise(
    name="check_class_accuracy",
    arg_names=("probs", "requested"),
    draw=_hit_inputs,
    reference=lambda p, r: _hits(p, r).mean(),
    passed="the share of images whose top class (argmax) is the requested one.",
    what="the hit rate",
    hint="not yet right: the hit rate is the share of images whose most probable class (argmax) is the requested one",
    mistakes=(
        Mistake(
            lambda p, r: _hits(p, r).sum(),
            "you returned the number of hits; divide by the number of images to get a share in [0, 1]",
        ),
        Mistake(
            lambda p, r: p[torch.arange(len(r)), r].mean(),
            "you averaged the probability of the requested class; count an image as a hit only when the requested class is the classifier's top class (argmax)",
        ),
        Mistake(
            lambda p, r: p.max(dim=1).values.mean(),
            "you averaged the classifier's confidence without comparing its answer with the requested class",
        ),
        Mistake(
            lambda p, r: (p.argmin(dim=1) == r).double().mean(),
            "you used argmin; the predicted class is the most probable one (argmax)",
        ),
        Mistake(
            lambda p, r: 100 * _hits(p, r).mean(), "that is a percentage; return a share in [0, 1]"
        ),
        Mistake(
            lambda p, r: 1 - _hits(p, r).mean(), "that is the miss rate; return the share of hits"
        ),
    ),
)


def check_class_accuracy(fn: Callable[[torch.Tensor, torch.Tensor], object]) -> Feedback:
    r"""Check ``fn(probs, requested)``: the share of images classified as the class that was requested.

    .. math:: \text{hit rate} = \frac1N \sum_{n=1}^{N} \bigl[\arg\max_k p_{nk} = y_n\bigr] \in [0, 1]

    ``probs`` (N, K) are a classifier's class probabilities for N generated images, ``requested`` (N,)
    int64 the classes asked of the generator; both fresh and random on every call. Accepted: a float,
    a 0-d or one-element tensor (any dtype), a NumPy scalar.
    """
    return check(CLASS_ACCURACY, fn)


def _interp_inputs(gen: torch.Generator, case: int) -> Args:
    d = rand_int(gen, 2, 6)
    z0, z1 = (torch.randn(d, generator=gen) * 2 for _ in range(2))
    return z0, z1, rand_int(gen, 4, 9)


def _interp(
    z0: torch.Tensor, z1: torch.Tensor, steps: int, t: torch.Tensor | None = None
) -> torch.Tensor:
    t = torch.linspace(0, 1, steps, dtype=z0.dtype) if t is None else t.to(z0.dtype)
    return (1 - t[:, None]) * z0 + t[:, None] * z1


def _interp_diagnose(fn: Callable[..., object], args: Args, value: torch.Tensor) -> str | None:
    z0, z1, steps = args
    if value.shape == (steps + 1, len(z0)) or value.shape == (steps - 1, len(z0)):
        return (
            f"you returned {value.shape[0]} points for steps = {steps}: return exactly `steps` points, "
            "with both ends included (torch.linspace(0, 1, steps))"
        )
    if (
        value.shape == (steps, len(z0))
        and torch.allclose(value[0], z0.double(), atol=1e-5)
        and torch.allclose(value[-1], z1.double(), atol=1e-5)
    ):
        return "the ends are right but the points in between are not evenly spaced on the straight line"
    return None


INTERPOLATION = Exercise(
    name="check_interpolation",
    arg_names=("z0", "z1", "steps"),
    draw=_interp_inputs,
    reference=_interp,
    passed="z0 at t = 0, z1 at t = 1, evenly spaced in between.",
    what="one point per row",
    hint="not yet right: z_i = (1 - t_i) z0 + t_i z1 with t_i = i / (steps - 1)",
    mistakes=(
        Mistake(
            lambda z0, z1, s: _interp(z0, z1, s).flip(0),
            "your path runs from z1 to z0; start at z0 (t = 0): (1 - t) multiplies z0 and t multiplies z1",
        ),
        Mistake(
            lambda z0, z1, s: _interp(z0, z1, s, torch.arange(s) / s),
            "your last point stops short of z1: t must reach 1, so use t = i / (steps - 1) (torch.linspace(0, 1, steps)), not i / steps",
        ),
        Mistake(
            lambda z0, z1, s: _interp(z0, z1, s).T,
            "your result has shape (d, steps); put one point per row: (steps, d)",
        ),
    ),
    diagnose=_interp_diagnose,
)


def check_interpolation(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> Feedback:
    r"""Check ``fn(z0, z1, steps)``: ``steps`` evenly spaced points from ``z0`` to ``z1``, both included.

    .. math:: z_i = (1 - t_i)\, z_0 + t_i\, z_1, \qquad t_i = \frac{i}{\text{steps} - 1},\ i = 0..\text{steps}-1

    ``z0``, ``z1`` have shape (d,); the result has shape (steps, d). Fresh random codes and a random
    ``steps`` in [4, 9] on every call. Accepted: ``torch.lerp`` and ``torch.linspace`` forms, any
    float dtype.
    """
    return check(INTERPOLATION, fn)


def _pairwise(f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""All pairwise Euclidean distances and the mask of pairs of different rows."""
    return torch.cdist(f, f), ~torch.eye(f.shape[0], dtype=torch.bool)


def _mpd(f: torch.Tensor) -> torch.Tensor:
    d, off = _pairwise(f)
    return d[off].mean()


def _identical_rows(gen: torch.Generator) -> Args:
    row = torch.randn(1, rand_int(gen, 2, 5), generator=gen)
    return (row.repeat(rand_int(gen, 3, 6), 1),)


MEAN_PAIRWISE = Exercise(
    name="check_mean_pairwise_distance",
    arg_names=("features",),
    draw=lambda gen, case: (torch.randn(rand_int(gen, 4, 10), rand_int(gen, 2, 6), generator=gen),),
    reference=_mpd,
    passed="the mean Euclidean distance over the N(N - 1) pairs of different rows.",
    what="the mean distance",
    hint="not yet right: average the Euclidean distance ||f_i - f_j|| over the N(N - 1) pairs of different rows",
    rtol=1e-5,
    atol=1e-5,
    mistakes=(
        Mistake(
            lambda f: _pairwise(f)[0].mean(),
            "you averaged over all N x N pairs, including each row with itself (distance 0); average over the N(N - 1) pairs of different rows",
        ),
        Mistake(
            lambda f: (_pairwise(f)[0] ** 2)[_pairwise(f)[1]].mean(),
            "these are squared distances; take the square root of each before averaging",
        ),
        Mistake(
            lambda f: _pairwise(f)[0].sum(),
            "you summed the distances; divide by the number of pairs",
        ),
        Mistake(
            lambda f: _pairwise(f)[0].sum() / 2,
            "you summed the distances; divide by the number of pairs",
        ),
        Mistake(
            lambda f: torch.linalg.vector_norm(f - f.mean(0), dim=1).mean(),
            "that is the mean distance to the centroid; the diversity score compares pairs of rows",
        ),
        Mistake(
            lambda f: (f[:, None] - f[None]).abs().sum(-1)[_pairwise(f)[1]].mean(),
            "you used the L1 (city-block) distance; use the Euclidean distance (torch.cdist)",
        ),
    ),
    edges=(
        Edge(
            _identical_rows,
            "right on distinct rows, but identical rows (no diversity) should give 0: a distance computed through a square root of a small negative rounding error can give NaN (torch.cdist avoids it)",
        ),
    ),
)


def check_mean_pairwise_distance(fn: Callable[[torch.Tensor], object]) -> Feedback:
    r"""Check ``fn(features)``: the mean Euclidean distance between all pairs of *different* rows.

    .. math:: \bar d = \frac{1}{N(N-1)} \sum_{i \ne j} \lVert f_i - f_j \rVert_2

    ``features`` has shape (N, F), fresh and random on every call; then a set of identical rows,
    whose answer is 0. A diversity score: near 0 when a generator repeats itself. Accepted: a float,
    a 0-d tensor, a NumPy scalar; ``torch.cdist`` or broadcasting forms, over i != j or i < j.
    """
    return check(MEAN_PAIRWISE, fn)
