r"""Checkers for the normalizing-flows chapter: change of variables, coupling layers, bits/dim.

Every checker draws fresh random inputs at each call and never prints the expected value; the
four exercises cover the change-of-variables density of an elementwise affine map, the
log-determinant of an affine coupling, the inverse of an affine coupling, and the conversion of
a density on dequantised images into bits per dimension (with the :math:`\log_2 L` offset).

References
----------
Dinh, Sohl-Dickstein & Bengio (2017), "Density estimation using Real NVP", ICLR, eqs. (3)-(9).
Theis, van den Oord & Bethge (2016), "A note on the evaluation of generative models", ICLR.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from aigc_course.exercises.engine import Args, Exercise, Mistake, check, rand_int
from aigc_course.exercises.feedback import Feedback

_LOG_2PI = math.log(2.0 * math.pi)
LN2 = math.log(2.0)


def _std_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    return -0.5 * (z.pow(2) + _LOG_2PI).sum(-1)


# ------------------------------------------------------------------ change of variables


def _affine_inputs(gen: torch.Generator, case: int) -> Args:
    b, d = rand_int(gen, 3, 6), rand_int(gen, 2, 4)
    x = torch.randn(b, d, generator=gen, dtype=torch.float64) * 2
    # |a| in [0.3, 3], with random signs: a negative scale is still invertible
    a = torch.empty(d, dtype=torch.float64).uniform_(0.3, 3.0, generator=gen)
    sign = torch.where(torch.rand(d, generator=gen) < 0.5, -1.0, 1.0).double()
    sign[0] = -1.0  # at least one negative scale, so a log of a (not |a|) shows
    b_ = torch.randn(d, generator=gen, dtype=torch.float64)
    return x, a * sign, b_


def _affine_log_prob(x: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return _std_normal_log_prob(a * x + b) + torch.log(a.abs()).sum()


AFFINE_LOG_PROB = Exercise(
    name="check_affine_flow_log_prob",
    arg_names=("x", "a", "b"),
    draw=_affine_inputs,
    reference=_affine_log_prob,
    passed="log N(a x + b; 0, I) + sum_d log|a_d|: the change of variables, one value per example.",
    what="one log-density per example, shape (B,)",
    hint=(
        "not yet right: z = a * x + b is standard normal, so log p(x) = log N(z; 0, I) "
        "+ log|det dz/dx|, summed over the dimensions"
    ),
    grad=(0, 1, 2),
    mistakes=(
        Mistake(
            lambda x, a, b: _std_normal_log_prob(a * x + b),
            "the log-determinant is missing: a map that stretches space thins the density, "
            "add sum_d log|a_d|",
        ),
        Mistake(
            lambda x, a, b: _std_normal_log_prob(a * x + b) - torch.log(a.abs()).sum(),
            "the log-determinant has the wrong sign: z = f(x), so log p(x) = log N(f(x)) "
            "+ log|det J_f| (you used the inverse map's Jacobian)",
        ),
        Mistake(
            lambda x, a, b: _std_normal_log_prob(x) + torch.log(a.abs()).sum(),
            "you evaluated the normal density at x; evaluate it at z = a * x + b",
        ),
        Mistake(
            lambda x, a, b: _std_normal_log_prob((x - b) / a) - torch.log(a.abs()).sum(),
            "you inverted the map: here z = a * x + b goes from data to noise, so evaluate "
            "the normal at a * x + b",
        ),
        Mistake(
            lambda x, a, b: -0.5 * (a * x + b).pow(2).sum(-1) + torch.log(a.abs()).sum(),
            "the normalising constant -D/2 log(2 pi) of the Gaussian is missing",
        ),
        Mistake(
            lambda x, a, b: (-0.5 * ((a * x + b).pow(2) + _LOG_2PI) + torch.log(a.abs())).mean(-1),
            "you averaged over the dimensions; a joint log-density sums them",
        ),
        Mistake(
            lambda x, a, b: _std_normal_log_prob(a * x + b) + torch.log(a.abs()).sum() * x.shape[1],
            "the log-determinant of an elementwise map is sum_d log|a_d|, once, not D times",
        ),
    ),
)


def check_affine_flow_log_prob(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(x, a, b)``: the log-density of x when :math:`z = a \odot x + b \sim \mathcal N(0, I)`.

    .. math:: \log p(x) = \log \mathcal N(a \odot x + b; 0, I) + \sum_d \log |a_d|

    Fresh random float64 inputs x (B, D), a (D,) with some negative entries, b (D,); the
    gradients with respect to x, a and b must match too. Accepted: any expression with these
    values, e.g. ``torch.distributions.Normal(0, 1).log_prob(a * x + b).sum(1) +
    a.abs().log().sum()``.
    """
    return check(AFFINE_LOG_PROB, fn)


# ------------------------------------------------------------------ coupling log-determinant


def _coupling_inputs(gen: torch.Generator, case: int) -> Args:
    b, d = rand_int(gen, 3, 6), rand_int(gen, 4, 7)
    s = torch.randn(b, d, generator=gen, dtype=torch.float64)
    parity = rand_int(gen, 0, 1)
    mask = ((torch.arange(d) + parity) % 2 == 0).double()
    return s, mask


COUPLING_LOG_DET = Exercise(
    name="check_coupling_log_det",
    arg_names=("s", "mask"),
    draw=_coupling_inputs,
    reference=lambda s, m: ((1 - m) * s).sum(1),
    passed=(
        "sum over the transformed coordinates of s: the Jacobian is triangular, its diagonal "
        "is 1 on the kept coordinates and exp(s) on the others."
    ),
    what="one log-determinant per example, shape (B,)",
    hint=(
        "not yet right: the Jacobian is triangular with diagonal 1 (kept, mask = 1) and "
        "exp(s_d) (transformed, mask = 0); log|det| is the sum of the logs of the diagonal"
    ),
    grad=(0,),
    mistakes=(
        Mistake(
            lambda s, m: s.sum(1),
            "you summed s over every coordinate; the kept ones (mask = 1) are copied and "
            "contribute log 1 = 0",
        ),
        Mistake(
            lambda s, m: (m * s).sum(1),
            "you summed s over the kept coordinates (mask = 1); the scaled ones are where mask = 0",
        ),
        Mistake(
            lambda s, m: ((1 - m) * s.exp()).sum(1),
            "you summed exp(s); the log-determinant sums the log of the diagonal, which is s",
        ),
        Mistake(
            lambda s, m: ((1 - m) * s.exp()).prod(1),
            "that is the determinant itself, exp(sum s); return its log",
        ),
        Mistake(
            lambda s, m: ((1 - m) * s).sum(1) / (1 - m).sum(),
            "you averaged over the transformed coordinates; the log-determinant sums them",
        ),
        Mistake(
            lambda s, m: -((1 - m) * s).sum(1),
            "the sign is flipped: that is the log-determinant of the inverse",
        ),
        Mistake(
            lambda s, m: ((1 - m) * s).sum(),
            "you summed over the batch too; return one value per example",
        ),
    ),
)


def check_coupling_log_det(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(s, mask)``: :math:`\log|\det J| = \sum_d (1 - m_d)\, s_d` of an affine coupling.

    ``s`` (B, D) are the log-scales the conditioner produced, ``mask`` (D,) is 1 on the kept
    coordinates. Fresh random float64 inputs; the gradient with respect to s must match.
    """
    return check(COUPLING_LOG_DET, fn)


# ------------------------------------------------------------------ coupling inverse


def _inverse_inputs(gen: torch.Generator, case: int) -> Args:
    b, d = rand_int(gen, 3, 6), rand_int(gen, 4, 7)
    parity = rand_int(gen, 0, 1)
    mask = ((torch.arange(d) + parity) % 2 == 0).double()
    y = torch.randn(b, d, generator=gen, dtype=torch.float64) * 2
    s = torch.randn(b, d, generator=gen, dtype=torch.float64) * (1 - mask)
    t = torch.randn(b, d, generator=gen, dtype=torch.float64) * (1 - mask)
    return y, mask, s, t


def _inverse(y: torch.Tensor, m: torch.Tensor, s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return m * y + (1 - m) * (y - t) * torch.exp(-s)


COUPLING_INVERSE = Exercise(
    name="check_coupling_inverse",
    arg_names=("y", "mask", "s", "t"),
    draw=_inverse_inputs,
    reference=_inverse,
    passed=(
        "x = m * y + (1 - m) * (y - t) * exp(-s): undo the shift, then the scale, and copy "
        "the kept coordinates."
    ),
    what="x (the shape of y)",
    hint=(
        "not yet right: the forward map is y = x * exp(s) + t on the transformed "
        "coordinates (mask = 0) and y = x on the kept ones; solve it for x"
    ),
    grad=(0, 2, 3),
    mistakes=(
        Mistake(
            lambda y, m, s, t: m * y + (1 - m) * (y * torch.exp(-s) - t),
            "you undid the scale before the shift; the forward map scales first, so the "
            "inverse subtracts t first: (y - t) * exp(-s)",
        ),
        Mistake(
            lambda y, m, s, t: m * y + (1 - m) * (y - t) * torch.exp(s),
            "you multiplied by exp(s) again; the inverse divides by it: exp(-s)",
        ),
        Mistake(
            lambda y, m, s, t: m * y + (1 - m) * (y + t) * torch.exp(-s),
            "the shift has the wrong sign: subtract t",
        ),
        Mistake(
            lambda y, m, s, t: m * y + (1 - m) * (y - t),
            "the scale is not undone: multiply by exp(-s)",
        ),
        Mistake(
            lambda y, m, s, t: m * y + (1 - m) * (y - t) / s,
            "you divided by s; s is a log-scale, so divide by exp(s)",
        ),
        Mistake(
            lambda y, m, s, t: (1 - m) * (y - t) * torch.exp(-s),
            "the kept coordinates (mask = 1) are missing: they pass through unchanged, x = y there",
        ),
    ),
)


def check_coupling_inverse(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(y, mask, s, t)``: the inverse of an affine coupling,
    :math:`x = m \odot y + (1 - m) \odot (y - t) \odot e^{-s}`.

    ``s`` and ``t`` (B, D) are what the conditioner computed from the kept part
    :math:`m \odot y = m \odot x` (zero on the kept coordinates); fresh random float64 inputs,
    and the gradients with respect to y, s and t must match.
    """
    return check(COUPLING_INVERSE, fn)


# ------------------------------------------------------------------ bits per dimension


def _bpd_inputs(gen: torch.Generator, case: int) -> Args:
    b = rand_int(gen, 3, 6)
    d = rand_int(gen, 20, 900)
    levels = 256 if case else (4, 16, 32)[rand_int(gen, 0, 2)]
    # a density on [0, 1)^D: log p per image of the order of +-D (a good model has log p > 0)
    log_p = torch.randn(b, generator=gen, dtype=torch.float64) * d * 0.3 + d * 0.5
    return log_p, d, levels


def _bpd(log_p: torch.Tensor, d: int, levels: int) -> torch.Tensor:
    return (-log_p + d * math.log(levels)) / (d * LN2)


DEQUANTIZED_BPD = Exercise(
    name="check_dequantized_bits_per_dim",
    arg_names=("log_density", "num_dims", "levels"),
    draw=_bpd_inputs,
    reference=_bpd,
    passed=(
        "(-log p(y) + D log L) / (D ln 2) = -log p(y) / (D ln 2) + log2 L: the density on "
        "[0, 1)^D becomes a discrete probability by the bin width 1/L per pixel."
    ),
    what="bits per dimension per example, shape (B,)",
    hint=(
        "not yet right: each pixel's bin has width 1/L, so -log P(x) <= -log p(y) + D log L "
        "nats; divide by D ln 2 for bits per dimension"
    ),
    grad=(0,),
    mistakes=(
        Mistake(
            lambda lp, d, lv: -lp / (d * LN2),
            "the dequantisation offset is missing: add log2(L) bits per dimension (8 for "
            "8-bit images), the price of the bin width 1/L",
        ),
        Mistake(
            lambda lp, d, lv: (-lp - d * math.log(lv)) / (d * LN2),
            "the offset has the wrong sign: a bin of width 1/L has probability about "
            "p(y) / L, so the NLL grows by log L per pixel",
        ),
        Mistake(
            lambda lp, d, lv: (-lp + d * math.log(lv)) / d,
            "that is nats per dimension; divide by ln 2 as well for bits",
        ),
        Mistake(
            lambda lp, d, lv: (-lp + d * math.log(lv)) / LN2,
            "that is bits per image; divide by the number of dimensions D too",
        ),
        Mistake(
            lambda lp, d, lv: (lp + d * math.log(lv)) / (d * LN2),
            "the log-density enters with the wrong sign: bits/dim measure the negative "
            "log-likelihood",
        ),
        Mistake(
            lambda lp, d, lv: (-lp + d * math.log(lv - 1)) / (d * LN2),
            "you used L - 1 bins; there are L levels, so L bins of width 1/L",
        ),
        Mistake(
            lambda lp, d, lv: (-lp / LN2 + d * math.log(lv)) / d,
            "the offset is in nats but the rest in bits: divide the whole NLL by D ln 2",
        ),
    ),
)


def check_dequantized_bits_per_dim(
    fn: Callable[[torch.Tensor, int, int], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(log_density, num_dims, levels)``: bits/dim of L-level images from a density.

    .. math:: \text{bpd} = \frac{-\log p(y) + D \log L}{D \ln 2}

    ``log_density`` (B,) is :math:`\log p(y)` in nats of dequantised images in
    :math:`[0, 1)^D`. Fresh random inputs, one case with L in {4, 16, 32} and one with
    L = 256; the gradient with respect to the log-density must match.
    """
    return check(DEQUANTIZED_BPD, fn)
