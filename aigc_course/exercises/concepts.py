r"""Checkers for the Concepts chapter: preprocessing, the Bernoulli log-likelihood, bits per dimension."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from aigc_course.exercises.engine import Args, Exercise, Mistake, check, rand_int
from aigc_course.exercises.feedback import Feedback

LN2 = math.log(2.0)


def _signed_inputs(gen: torch.Generator, case: int) -> Args:
    shape = (rand_int(gen, 2, 4), 1, rand_int(gen, 3, 5), rand_int(gen, 3, 5))
    return (torch.rand(shape, generator=gen),)


def _locate_signed(args: Args, value: torch.Tensor, expected: torch.Tensor) -> str:
    (x,) = args
    i = int((value - expected).abs().argmax())
    return f"at x = {float(x.flatten()[i]):.4g} your function gives {float(value.flatten()[i]):.4g}"


TO_SIGNED = Exercise(
    name="check_to_signed",
    arg_names=("x",),
    draw=_signed_inputs,
    reference=lambda x: 2 * x - 1,
    passed="0 maps to -1, 0.5 to 0 and 1 to 1, elementwise.",
    what="one value per pixel (the shape of x)",
    hint="not yet 2x - 1 elementwise",
    mistakes=(
        Mistake(
            lambda x: 2 * x, "you scaled by 2 but forgot to shift by -1 (the output spans [0, 2])"
        ),
        Mistake(
            lambda x: x - 0.5,
            "you shifted by -0.5 but forgot to scale by 2 (the output spans [-0.5, 0.5])",
        ),
        Mistake(
            lambda x: (x - 1) * 2,
            "your output spans [-2, 0], not [-1, 1]; check the order of scale and shift",
        ),
        Mistake(
            lambda x: 2 * x - 0.5,
            "your output spans [-0.5, 1.5], not [-1, 1]; check the order of scale and shift",
        ),
        Mistake(lambda x: 1 - 2 * x, "your map is flipped: 0 should go to -1 and 1 to +1"),
    ),
    locate=_locate_signed,
)


def check_to_signed(fn: Callable[[torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check a map from pixels in [0, 1] to [-1, 1]: :math:`x \mapsto 2x - 1`, elementwise.

    Tried on fresh random images of shape (B, 1, H, W). Accepted: any expression with these values
    (``(x - 0.5) / 0.5``, ``x * 2 - 1``), in place or not, as a tensor or a NumPy array.
    """
    return check(TO_SIGNED, fn)


def _bernoulli_inputs(gen: torch.Generator, case: int) -> Args:
    b, d = rand_int(gen, 3, 6), rand_int(gen, 8, 16)
    x = (torch.rand(b, d, generator=gen) < 0.4).double()
    probs = torch.rand(d, generator=gen, dtype=torch.float64) * 0.8 + 0.1
    return x, probs


def _bernoulli(x: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
    return (x * probs.log() + (1 - x) * (1 - probs).log()).sum(1)


BERNOULLI = Exercise(
    name="check_bernoulli_log_likelihood",
    arg_names=("x", "probs"),
    draw=_bernoulli_inputs,
    reference=_bernoulli,
    passed="the log-likelihood is a sum over pixels of log pi or log(1 - pi), in nats.",
    what="one log-likelihood per image",
    hint="not yet right: sum x log(pi) + (1 - x) log(1 - pi) over the pixels of each image",
    mistakes=(
        Mistake(
            lambda x, p: _bernoulli(x, p).sum(),
            "you summed over the batch too: return one log-likelihood per image, shape (B,)",
        ),
        Mistake(
            lambda x, p: _bernoulli(x, p).mean(),
            "you averaged over the batch: return one log-likelihood per image, shape (B,)",
        ),
        Mistake(
            lambda x, p: -_bernoulli(x, p),
            "the sign is flipped: you returned the negative log-likelihood (a loss); the log-likelihood is <= 0",
        ),
        Mistake(
            lambda x, p: _bernoulli(x, p) / LN2,
            "your values are in bits (log base 2); use the natural log (torch.log) for nats",
        ),
        Mistake(
            lambda x, p: _bernoulli(x, p) / x.shape[1],
            "you averaged over pixels; the log-likelihood of an image is the sum over its pixels",
        ),
        Mistake(
            lambda x, p: (x * p.log()).sum(1),
            "you left out the (1 - x) log(1 - pi) term: a pixel that is off also has a probability, 1 - pi",
        ),
        Mistake(
            lambda x, p: p.log().sum().expand(x.shape[0]),
            "pixels that are on should use log(pi) and pixels that are off log(1 - pi); check which goes where",
        ),
        Mistake(
            lambda x, p: (x * (1 - p).log() + (1 - x) * p.log()).sum(1),
            "pixels that are on should use log(pi) and pixels that are off log(1 - pi); check which goes where",
        ),
    ),
)


def check_bernoulli_log_likelihood(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(x, probs)``: the log-likelihood in nats of binary images under independent pixels.

    .. math:: \log p(x) = \sum_i x_i \log \pi_i + (1 - x_i) \log (1 - \pi_i)

    ``x`` has shape (B, D) with values in {0, 1}, ``probs`` has shape (D,) in (0, 1); the answer has
    shape (B,). Accepted: the formula, ``-F.binary_cross_entropy(..., reduction="none").sum(1)``,
    ``torch.distributions.Bernoulli(probs).log_prob(x).sum(1)``, in any float dtype.
    """
    return check(BERNOULLI, fn)


def _bpd_inputs(gen: torch.Generator, case: int) -> Args:
    nll = torch.rand(rand_int(gen, 3, 6), generator=gen, dtype=torch.float64) * 2000 + 50
    return nll, rand_int(gen, 100, 3072)


BITS_PER_DIM = Exercise(
    name="check_bits_per_dim",
    arg_names=("nll_nats", "num_dims"),
    draw=_bpd_inputs,
    reference=lambda nll, d: nll / (d * LN2),
    passed="divide by D to get per dimension, and by ln 2 to turn nats into bits.",
    what="one value per image",
    hint="not yet right: bits per dimension = NLL / (D ln 2)",
    rtol=1e-6,
    atol=1e-9,
    mistakes=(
        Mistake(
            lambda nll, d: nll / d,
            "you divided by D but are still in nats: divide by ln 2 as well (1 bit = ln 2 nats)",
        ),
        Mistake(
            lambda nll, d: nll / LN2,
            "these are bits per image: divide by the number of dimensions D too",
        ),
        Mistake(
            lambda nll, d: nll * LN2 / d,
            "you multiplied by ln 2; a bit is ln 2 nats, so divide by ln 2 to count bits",
        ),
        Mistake(lambda nll, d: nll / (d * math.log(10)), "you used ln 10 (digits); bits need ln 2"),
        Mistake(
            lambda nll, d: (nll / (d * LN2)).mean(), "return one value per image, not their mean"
        ),
    ),
)


def check_bits_per_dim(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> Feedback:
    r"""Check ``fn(nll_nats, num_dims)``: convert a NLL per image in nats to bits per dimension.

    .. math:: \text{bpd} = \frac{\text{NLL}}{D \ln 2}

    Accepted: ``nll / (D * math.log(2))``, ``nll * math.log2(math.e) / D``, a tensor or NumPy array.
    """
    return check(BITS_PER_DIM, fn)
