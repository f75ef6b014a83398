r"""Checkers for the Concepts chapter: preprocessing, the Bernoulli log-likelihood, bits per dimension."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from aigc_course.exercises.feedback import Feedback, call_reader


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-4) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a.double(), b.double(), atol=tol, rtol=tol))


def check_to_signed(fn: Callable[[torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check a map from pixels in [0, 1] to [-1, 1]: :math:`x \mapsto 2x - 1`, elementwise, input untouched."""
    x = torch.linspace(0, 1, 11).reshape(1, 1, 1, 11).repeat(2, 1, 1, 1)
    original = x.clone()
    out, fb = call_reader(fn, x)
    if fb is not None:
        return fb
    if not isinstance(out, torch.Tensor):
        return Feedback(False, f"return a torch.Tensor, not {type(out).__name__}")
    if not torch.equal(x, original):
        return Feedback(
            False, "your function changed its input in place; build a new tensor (e.g. `2 * x - 1`)"
        )
    if out.shape != x.shape:
        return Feedback(
            False,
            f"the output shape {tuple(out.shape)} differs from the input shape {tuple(x.shape)}; the map is elementwise",
        )
    expected = 2 * x - 1
    if _close(out, expected):
        return Feedback(True, "0 maps to -1, 0.5 to 0 and 1 to 1, elementwise.")
    lo, hi = float(out.min()), float(out.max())
    if _close(out, 2 * x):
        return Feedback(
            False, f"your output spans [{lo:g}, {hi:g}]: you scaled by 2 but forgot to shift by -1"
        )
    if _close(out, x - 0.5):
        return Feedback(
            False,
            f"your output spans [{lo:g}, {hi:g}]: you shifted by -0.5 but forgot to scale by 2",
        )
    if _close(out, (x - 1) * 2) or _close(out, x * 2 - 0.5):
        return Feedback(
            False,
            f"your output spans [{lo:g}, {hi:g}], not [-1, 1]; check the order of scale and shift",
        )
    if _close(out, 1 - 2 * x):
        return Feedback(False, "your map is flipped: 0 should go to -1 and 1 to +1")
    return Feedback(
        False,
        f"your output spans [{lo:g}, {hi:g}] and is not 2x - 1; at x = 0.5 it gives {float(out[0, 0, 0, 5]):g} (expected 0)",
    )


def check_bernoulli_log_likelihood(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(x, probs)``: the log-likelihood in nats of binary images under independent pixels.

    .. math:: \log p(x) = \sum_i x_i \log \pi_i + (1 - x_i) \log (1 - \pi_i)

    ``x`` has shape (B, D) with values in {0, 1}, ``probs`` has shape (D,) in (0, 1); the answer has shape (B,).
    """
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(5, 12, generator=gen) < 0.4).double()
    probs = torch.rand(12, generator=gen, dtype=torch.float64) * 0.8 + 0.1
    expected = torch.distributions.Bernoulli(probs=probs).log_prob(x).sum(1)
    out, fb = call_reader(fn, x.clone(), probs.clone())
    if fb is not None:
        return fb
    if not isinstance(out, torch.Tensor):
        return Feedback(False, f"return a torch.Tensor, not {type(out).__name__}")
    if out.shape != expected.shape:
        if out.numel() == 1:
            if math.isclose(float(out), float(expected.sum()), rel_tol=1e-4):
                return Feedback(
                    False,
                    "you summed over the batch too: return one log-likelihood per image, shape (B,)",
                )
            if math.isclose(float(out), float(expected.mean()), rel_tol=1e-4):
                return Feedback(
                    False,
                    "you averaged over the batch: return one log-likelihood per image, shape (B,)",
                )
        return Feedback(
            False,
            f"expected shape (B,) = {tuple(expected.shape)}, got {tuple(out.shape)}; sum over pixels only (dim=1)",
        )
    if _close(out, expected):
        return Feedback(
            True, "the log-likelihood is a sum over pixels of log pi or log(1 - pi), in nats."
        )
    if _close(out, -expected):
        return Feedback(
            False,
            "the sign is flipped: you returned the negative log-likelihood (a loss); the log-likelihood is <= 0",
        )
    if _close(out, expected / math.log(2)):
        return Feedback(
            False, "your values are in bits (log base 2); use the natural log (torch.log) for nats"
        )
    if _close(out, expected / x.shape[1]):
        return Feedback(
            False,
            "you averaged over pixels; the log-likelihood of an image is the sum over its pixels",
        )
    if _close(out, (x * probs.log()).sum(1)):
        return Feedback(
            False,
            "you left out the (1 - x) log(1 - pi) term: a pixel that is off also has a probability, 1 - pi",
        )
    if _close(out, (x * probs.log() + (1 - x) * probs.log()).sum(1)) or _close(
        out, (x * (1 - probs).log() + (1 - x) * probs.log()).sum(1)
    ):
        return Feedback(
            False,
            "pixels that are on should use log(pi) and pixels that are off log(1 - pi); check which goes where",
        )
    return Feedback(
        False,
        f"not yet right: for the first image expected {float(expected[0]):.4f} nats, got {float(out[0]):.4f}",
    )


def check_bits_per_dim(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> Feedback:
    r"""Check ``fn(nll_nats, num_dims)``: convert a NLL per image in nats to bits per dimension.

    .. math:: \text{bpd} = \frac{\text{NLL}}{D \ln 2}
    """
    nll = torch.tensor([100.0, 543.21, 1000.0], dtype=torch.float64)
    d = 784
    expected = nll / (d * math.log(2))
    out, fb = call_reader(fn, nll.clone(), d)
    if fb is not None:
        return fb
    try:
        out = torch.as_tensor(out, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        return Feedback(
            False, f"return a tensor of numbers (one per image), not {type(out).__name__}"
        )
    if out.shape != expected.shape:
        return Feedback(
            False,
            f"return one value per image, shape {tuple(expected.shape)}; got {tuple(out.shape)}",
        )
    if _close(out, expected, tol=1e-6):
        return Feedback(
            True, "divide by D to get per dimension, and by ln 2 to turn nats into bits."
        )
    if _close(out, nll / d, tol=1e-6):
        return Feedback(
            False,
            "you divided by D but are still in nats: divide by ln 2 as well (1 bit = ln 2 nats)",
        )
    if _close(out, nll / math.log(2), tol=1e-6):
        return Feedback(False, "these are bits per image: divide by the number of dimensions D too")
    if _close(out, nll * math.log(2) / d, tol=1e-6):
        return Feedback(
            False, "you multiplied by ln 2; a bit is ln 2 nats, so divide by ln 2 to count bits"
        )
    if _close(out, nll / (d * math.log(10)), tol=1e-6):
        return Feedback(False, "you used ln 10 (digits); bits need ln 2")
    return Feedback(
        False,
        f"for NLL = 100 nats and D = 784 expected {float(expected[0]):.6f} bits/dim, got {float(out[0]):.6f}",
    )
