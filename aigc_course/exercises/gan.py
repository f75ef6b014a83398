r"""Checkers for the GAN chapter: the two losses from logits, counting modes, predicting a gradient."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from aigc_course.exercises.engine import Args, Convention, Edge, Exercise, Mistake, check, rand_int
from aigc_course.exercises.feedback import Feedback
from aigc_course.metrics.modes import count_modes

_FROM_LOGITS = "compute it from logits with F.softplus or F.binary_cross_entropy_with_logits"


def _ns(logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(-logits).mean()


NONSATURATING = Exercise(
    name="check_nonsaturating_loss",
    arg_names=("fake_logits",),
    # the two cases' batch sizes never coincide, so sum / (a fixed number) cannot pass
    draw=lambda gen, case: (
        torch.randn(rand_int(gen, 4 + 5 * case, 8 + 4 * case), generator=gen) * 2,
    ),
    reference=_ns,
    passed="-log D(G(z)) from logits (softplus(-l)), finite even when D is certain.",
    what="the loss",
    hint="not yet right: the non-saturating loss is the batch mean of -log sigmoid(l)",
    rtol=1e-4,
    atol=1e-5,
    grad=(0,),
    mistakes=(
        Mistake(
            lambda g: -F.softplus(g).mean(),
            "that is the minimax (saturating) loss log(1 - D(G(z))); the non-saturating loss is -log D(G(z))",
        ),
        Mistake(
            lambda g: F.softplus(g).mean(),
            "that is -log(1 - D(G(z))), the discriminator's fake term; the generator wants -log D(G(z))",
        ),
        Mistake(
            lambda g: -_ns(g),
            "the sign is flipped: the loss -log D(G(z)) is >= 0 and falls as D is fooled",
        ),
        Mistake(
            lambda g: F.softplus(-g).sum(),
            "you summed over the batch; average it (mean) so the loss does not scale with the batch size",
        ),
        Mistake(lambda g: F.softplus(-g), "a loss is one number: average it over the batch"),
    ),
    edges=(
        Edge(
            lambda gen: (torch.full((rand_int(gen, 3, 6),), -200.0),),
            "right on moderate logits, but not on logits of -200 (a discriminator sure the fakes "
            "are fake): torch.log(torch.sigmoid(l)) underflows to -inf there. Use the logits "
            "directly: -log sigmoid(l) = softplus(-l) (F.softplus or F.logsigmoid)",
        ),
    ),
)


def check_nonsaturating_loss(fn: Callable[[torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(fake_logits)``: :math:`L_G = -\frac1B\sum_b \log \sigma(\ell_b)`, from logits, shape ().

    Tried on fresh random float32 logits, then on logits of -200 (a discriminator that is sure the
    fakes are fake), where ``torch.log(torch.sigmoid(l))`` underflows to :math:`-\infty`. The
    gradient with respect to the logits must match too. Accepted: ``F.softplus(-l).mean()``,
    ``-F.logsigmoid(l).mean()``, ``F.binary_cross_entropy_with_logits(l, torch.ones_like(l))``.
    """
    return check(NONSATURATING, fn)


def _d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _d_inputs(gen: torch.Generator, case: int) -> Args:
    n_real = rand_int(gen, 3, 8)
    n_fake = n_real + rand_int(gen, 1, 4)  # different batch sizes on purpose
    return torch.randn(n_real, generator=gen) * 2 + 1, torch.randn(n_fake, generator=gen) * 2 - 1


def _d_edge(logit: float) -> Callable[[torch.Generator], Args]:
    return lambda gen: (torch.full((3,), logit), torch.full((4,), -logit))


DISCRIMINATOR = Exercise(
    name="check_discriminator_loss",
    arg_names=("real_logits", "fake_logits"),
    draw=_d_inputs,
    reference=_d_loss,
    passed="binary cross-entropy with target 1 on real and 0 on fake, from logits.",
    what="the loss",
    hint="not yet right: L_D = mean of -log sigmoid(real logits) + mean of -log(1 - sigmoid(fake logits))",
    rtol=1e-4,
    atol=1e-5,
    grad=(0, 1),
    conventions=(
        Convention(
            lambda r, f: _d_loss(r, f) / 2,
            "You averaged the two terms instead of adding them (as pix2pix and many Keras codes do): "
            "the same minimiser, half this course's loss, so its equilibrium value is ln 2, not 2 ln 2.",
        ),
    ),
    mistakes=(
        Mistake(
            lambda r, f: F.softplus(-r).mean() + F.softplus(-f).mean(),
            "this is the source article's mistake: the fake term is -log D(G(z)), which rewards D for calling fakes real; it must be -log(1 - D(G(z)))",
        ),
        Mistake(
            lambda r, f: F.softplus(r).mean() + F.softplus(-f).mean(),
            "the labels are swapped: real examples should be pushed towards D = 1, fakes towards D = 0",
        ),
        Mistake(
            lambda r, f: -_d_loss(r, f),
            "the sign is flipped: you returned the value function V(D, G), which D maximises; the loss is -V",
        ),
        Mistake(
            lambda r, f: torch.cat([F.softplus(-r), F.softplus(f)]).mean(),
            "you pooled real and fake into one batch; average each term over its own batch and add the two averages (the batches may differ in size)",
        ),
        Mistake(
            lambda r, f: F.softplus(-r).sum() + F.softplus(f).sum(),
            "you summed over the batches; average each term over its own batch",
        ),
    ),
    edges=(
        Edge(
            _d_edge(150.0),
            "right on moderate logits, but not for a perfect discriminator (logits +150 on real, -150 on fake), where a hand-written 0 * log(0) gives NaN: "
            + _FROM_LOGITS,
        ),
        Edge(
            _d_edge(-150.0),
            "right on moderate logits, but not for a fooled discriminator (logits -150 on real, +150 on fake), where torch.log(torch.sigmoid(l)) underflows to -inf: "
            + _FROM_LOGITS,
        ),
    ),
)


def check_discriminator_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(real_logits, fake_logits)``: :math:`L_D = -\E[\log D(x)] - \E[\log(1 - D(G(z)))]`, from logits.

    Tried on fresh random float32 logits (real and fake batches of different sizes), then on a
    perfect and a fooled discriminator (logits of +-150). The gradient with respect to both logit
    batches must match too. Accepted conventions: the sum of the two batch means (this course), and
    their average, half of it (pix2pix, many Keras codes); ``F.softplus``,
    ``F.binary_cross_entropy_with_logits`` or ``F.logsigmoid`` forms.
    """
    return check(DISCRIMINATOR, fn)


_RING_MODES, _RING_RADIUS = 8, 2.0


def _ring_inputs(gen: torch.Generator, case: int) -> Args:
    angles = torch.arange(_RING_MODES, dtype=torch.float64) * (2 * math.pi / _RING_MODES)
    centers = _RING_RADIUS * torch.stack([angles.cos(), angles.sin()], 1).float()
    # case 0: tight modes; case 1: wide ones, where a sample can be within 3 std of two centres
    std = float(torch.empty(()).uniform_(0.02, 0.05, generator=gen)) if case == 0 else 0.4
    order = torch.randperm(_RING_MODES, generator=gen).tolist()
    covered = order[: rand_int(gen, 2, 5)]
    picks = sum(([m] * rand_int(gen, 40, 300) for m in covered), [])
    samples = centers[picks] + std * torch.randn(len(picks), 2, generator=gen)
    n_stray = max(1, len(picks) // 250)  # under 1% of all samples
    stray = centers[order[-1]] + 0.2 * std * torch.randn(n_stray, 2, generator=gen)
    far = 0.1 * torch.randn(5, 2, generator=gen)  # near the centre of the ring: no mode
    samples = torch.cat([samples, stray, far])
    return samples[torch.randperm(len(samples), generator=gen)], centers, std


def _n_covered(samples: torch.Tensor, centers: torch.Tensor, std: float) -> int:
    return count_modes(samples, centers, std).n_covered


def _reached(samples: torch.Tensor, centers: torch.Tensor, std: float) -> torch.Tensor:
    r"""Per centre, how many samples lie within 3 std of it (nearest or not)."""
    return (torch.cdist(samples, centers) <= 3 * std).sum(0)


def _with_any(samples: torch.Tensor, centers: torch.Tensor, std: float) -> int:
    return int((count_modes(samples, centers, std).counts > 0).sum())


def _not_a_mode_count(fn: Callable[..., object], args: Args, value: torch.Tensor) -> str | None:
    samples, centers, _ = args
    if float(value) > len(centers):
        return (
            "that is more than the number of centres, so a number of samples: count modes instead"
        )
    if float(value) < 0:
        return "a number of modes cannot be negative"
    return None


COUNT_MODES = Exercise(
    name="check_count_modes",
    arg_names=("samples", "centers", "std"),
    draw=_ring_inputs,
    reference=_n_covered,
    passed="the modes that hold at least 1% of the samples are covered; a handful of stray samples does not cover a mode.",
    what="the number of modes covered",
    hint="not yet right: a mode is covered when at least one percent of all samples lie within three standard deviations of it and have it as their nearest centre",
    integer=True,
    diagnose=_not_a_mode_count,
    mistakes=(
        Mistake(
            lambda s, c, std: int((_reached(s, c, std) >= 0.01 * len(s)).sum()),
            "you counted a sample for every centre within three standard deviations; count it only for its nearest centre",
        ),
        Mistake(
            lambda s, c, std: len(c),
            "you counted every centre; count only those with enough samples within three standard deviations",
        ),
        Mistake(
            lambda s, c, std: len(s), "that is a number of samples; count modes (centres) instead"
        ),
        Mistake(
            lambda s, c, std: int(count_modes(s, c, std).counts.sum()),
            "that is a number of samples; count modes (centres) instead",
        ),
        Mistake(
            _with_any,
            "you counted a mode that fewer than one percent of the samples reach; require at least one percent of all samples",
        ),
        Mistake(
            lambda s, c, std: 0,
            "no mode counted: measure the distance from each sample to each centre and compare it with three standard deviations",
        ),
    ),
)


def check_count_modes(fn: Callable[[torch.Tensor, torch.Tensor, float], int]) -> Feedback:
    r"""Check ``fn(samples, centers, std)``: the number of modes with at least 1% of the samples within 3 std.

    A sample counts only for its nearest centre. Tried on two fresh random rings of 8 modes with
    different numbers of covered modes: one with tight modes and a mode reached by under 1% of the
    samples, one with wide modes (std 0.4), where a sample can be within 3 std of two centres.
    Accepted: an int, or a one-element tensor or NumPy integer with an integral value.
    """
    return check(COUNT_MODES, fn)


def _gradient_magnitudes(d: float) -> tuple[float, float]:
    r"""|dL/dl| of the saturating and the non-saturating loss at D = d, by autograd."""
    logit = torch.tensor(math.log(d / (1 - d)), dtype=torch.float64, requires_grad=True)
    g_sat = abs(torch.autograd.grad(-F.softplus(logit), logit)[0].item())
    g_ns = abs(torch.autograd.grad(F.softplus(-logit), logit)[0].item())
    return g_sat, g_ns


def check_gradient_prediction(answer: tuple[float, float]) -> Feedback:
    r"""Check a prediction of :math:`|\partial L_G / \partial \ell|` for one fake with :math:`D(G(z)) = 0.001`.

    ``answer = (saturating, non_saturating)``: the minimax loss :math:`\log(1-\sigma(\ell))` has gradient
    magnitude :math:`\sigma(\ell) = 0.001`, the non-saturating :math:`-\log\sigma(\ell)` has
    :math:`1-\sigma(\ell) = 0.999`. Accepted: signed or unsigned values, within 2%.
    """
    name = "check_gradient_prediction"
    try:
        sat, nonsat = (float(v) for v in answer)
    except (TypeError, ValueError):
        sat = nonsat = math.nan
    if not (math.isfinite(sat) and math.isfinite(nonsat)):
        return Feedback(False, "answer with a pair of numbers: (saturating, non_saturating)", name)
    d = 0.001
    g_sat, g_ns = _gradient_magnitudes(d)

    def ok(a: float, b: float) -> bool:
        return math.isclose(abs(a), b, rel_tol=0.02)

    table = [  # (does the answer match this?, passed, message), tried in order
        (
            ok(sat, g_sat) and ok(nonsat, g_ns),
            True,
            f"saturating {g_sat:.3f} (vanishes), non-saturating {g_ns:.3f} (stays ~1): G keeps learning only with the second.",
        ),
        (
            ok(sat, g_ns) and ok(nonsat, g_sat),
            False,
            "you swapped them: it is the saturating loss whose gradient vanishes when D rejects the fakes",
        ),
        (
            ok(sat, 1 / d) or ok(nonsat, 1 / d),
            False,
            "1/D is the gradient with respect to D; take it with respect to the logit (chain rule through the sigmoid)",
        ),
        (
            True,
            False,
            "differentiate log(1 - sigmoid(l)) and -log sigmoid(l) with respect to l, then put sigmoid(l) = 0.001",
        ),
    ]
    passed, message = next((p, m) for match, p, m in table if match)
    return Feedback(passed, message, name)
