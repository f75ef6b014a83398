r"""Checkers for the Applications chapter: hit rate of requested classes, latent interpolation, sample diversity."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from aigc_course.exercises.feedback import Feedback, call_reader


def _number(out: object, what: str) -> tuple[float | None, Feedback | None]:
    if isinstance(out, torch.Tensor):
        if out.numel() != 1:
            return None, Feedback(
                False, f"{what} is one number; got a tensor of shape {tuple(out.shape)}"
            )
        return float(out), None
    if isinstance(out, (int, float)) and not isinstance(out, bool):
        return float(out), None
    return None, Feedback(
        False, f"return {what} as a float (or a one-element tensor), not {type(out).__name__}"
    )


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)


def check_class_accuracy(fn: Callable[[torch.Tensor, torch.Tensor], object]) -> Feedback:
    r"""Check ``fn(probs, requested)``: the share of images classified as the class that was requested.

    .. math:: \text{hit rate} = \frac1N \sum_{n=1}^{N} \bigl[\arg\max_k p_{nk} = y_n\bigr] \in [0, 1]

    ``probs`` (N, K) are a classifier's class probabilities for N generated images, ``requested`` (N,)
    int64 the classes asked of the generator.
    """
    probs = torch.tensor(
        [
            [0.70, 0.20, 0.10],  # asked 0, got 0
            [0.10, 0.25, 0.65],  # asked 1, got 2
            [0.05, 0.15, 0.80],  # asked 2, got 2
            [0.45, 0.35, 0.20],  # asked 1, got 0
            [0.20, 0.50, 0.30],  # asked 1, got 1
        ]
    )
    requested = torch.tensor([0, 1, 2, 1, 1])
    expected = 3 / 5
    out, fb = call_reader(fn, probs.clone(), requested.clone())
    if fb is not None:
        return fb
    value, fb = _number(out, "the hit rate")
    if fb is not None:
        return fb
    if not _close(value, expected):
        if _close(value, 3.0):
            return Feedback(
                False,
                "you returned the number of hits (3); divide by the number of images to get a share in [0, 1]",
            )
        if _close(value, float(probs[torch.arange(5), requested].mean())):
            return Feedback(
                False,
                "you averaged the probability of the requested class; count an image as a hit only "
                "when the requested class is the classifier's top class (argmax)",
            )
        if _close(value, float(probs.max(dim=1).values.mean())):
            return Feedback(
                False,
                "you averaged the classifier's confidence without comparing its answer with the "
                "requested class",
            )
        if _close(value, float((probs.argmin(dim=1) == requested).float().mean())):
            return Feedback(
                False, "you used argmin; the predicted class is the most probable one (argmax)"
            )
        if _close(value, 100 * expected):
            return Feedback(False, "that is a percentage; return a share in [0, 1]")
        return Feedback(False, f"for these 5 images (3 hits) expected {expected:g}, got {value:g}")
    return Feedback(True, "the share of images whose top class (argmax) is the requested one.")


def check_interpolation(fn: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> Feedback:
    r"""Check ``fn(z0, z1, steps)``: ``steps`` evenly spaced points from ``z0`` to ``z1``, both included.

    .. math:: z_i = (1 - t_i)\, z_0 + t_i\, z_1, \qquad t_i = \frac{i}{\text{steps} - 1},\ i = 0..\text{steps}-1

    ``z0``, ``z1`` have shape (d,); the result has shape (steps, d).
    """
    z0 = torch.tensor([0.0, 2.0, -1.0])
    z1 = torch.tensor([4.0, -2.0, 1.0])
    steps = 5
    t = torch.linspace(0, 1, steps).view(-1, 1)
    expected = (1 - t) * z0 + t * z1
    out, fb = call_reader(fn, z0.clone(), z1.clone(), steps)
    if fb is not None:
        return fb
    if not isinstance(out, torch.Tensor):
        return Feedback(
            False, f"return a torch.Tensor of shape (steps, d) = (5, 3), not {type(out).__name__}"
        )
    out = out.detach().float()
    if tuple(out.shape) == (3, 5):
        return Feedback(
            False, "your result has shape (d, steps) = (3, 5); put one point per row: (steps, d)"
        )
    if tuple(out.shape) != (5, 3):
        if tuple(out.shape) in ((4, 3), (6, 3)):
            return Feedback(
                False,
                f"you returned {out.shape[0]} points for steps=5: return exactly `steps` points, "
                "with both ends included (torch.linspace(0, 1, steps))",
            )
        return Feedback(False, f"expected shape (steps, d) = (5, 3), got {tuple(out.shape)}")
    if torch.allclose(out, expected, atol=1e-5):
        return Feedback(True, "z0 at t = 0, z1 at t = 1, evenly spaced in between.")
    if torch.allclose(out, expected.flip(0), atol=1e-5):
        return Feedback(
            False,
            "your path runs from z1 to z0; start at z0 (t = 0): (1 - t) multiplies z0 and t multiplies z1",
        )
    t_open = torch.arange(steps).view(-1, 1) / steps
    if torch.allclose(out, (1 - t_open) * z0 + t_open * z1, atol=1e-5):
        return Feedback(
            False,
            "your last point stops short of z1: t must reach 1, so use t = i / (steps - 1) "
            "(torch.linspace(0, 1, steps)), not i / steps",
        )
    if torch.allclose(out[0], z0, atol=1e-5) and torch.allclose(out[-1], z1, atol=1e-5):
        return Feedback(
            False,
            "the ends are right but the points in between are not evenly spaced on the straight line",
        )
    return Feedback(
        False,
        f"for z0 = {z0.tolist()}, z1 = {z1.tolist()} and steps = 5 the middle point should be "
        f"{expected[2].tolist()}, got {[round(v, 4) for v in out[2].tolist()]}",
    )


def check_mean_pairwise_distance(fn: Callable[[torch.Tensor], object]) -> Feedback:
    r"""Check ``fn(features)``: the mean Euclidean distance between all pairs of *different* rows.

    .. math:: \bar d = \frac{1}{N(N-1)} \sum_{i \ne j} \lVert f_i - f_j \rVert_2

    ``features`` has shape (N, F). A diversity score: near 0 when a generator repeats itself.
    """
    f = torch.tensor([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 4.0]])
    n = f.shape[0]
    d = torch.cdist(f, f)
    off = ~torch.eye(n, dtype=torch.bool)
    expected = float(d[off].mean())
    out, fb = call_reader(fn, f.clone())
    if fb is not None:
        return fb
    value, fb = _number(out, "the mean distance")
    if fb is not None:
        return fb
    if not _close(value, expected):
        if _close(value, float(d.mean())):
            return Feedback(
                False,
                "you averaged over all N x N pairs, including each row with itself (distance 0); "
                "average over the N(N - 1) pairs of different rows",
            )
        if _close(value, float((d**2)[off].mean())):
            return Feedback(
                False, "these are squared distances; take the square root of each before averaging"
            )
        if _close(value, float(d[off].sum())) or _close(value, float(d[off].sum() / 2)):
            return Feedback(False, "you summed the distances; divide by the number of pairs")
        if _close(value, float(torch.linalg.vector_norm(f - f.mean(0), dim=1).mean())):
            return Feedback(
                False,
                "that is the mean distance to the centroid; the diversity score compares pairs of rows",
            )
        if _close(value, float((f[:, None] - f[None]).abs().sum(-1)[off].mean())):
            return Feedback(
                False,
                "you used the L1 (city-block) distance; use the Euclidean distance (torch.cdist)",
            )
        return Feedback(False, f"for these 4 points expected {expected:.4f}, got {value:.4f}")
    same = torch.ones(5, 3)
    out, fb = call_reader(fn, same)
    if fb is not None:
        return fb
    value, fb = _number(out, "the mean distance")
    if fb is not None:
        return fb
    if not (math.isfinite(value) and abs(value) < 1e-6):
        return Feedback(False, f"five identical rows should give 0 (no diversity), got {value:g}")
    return Feedback(True, "the mean Euclidean distance over the N(N - 1) pairs of different rows.")
