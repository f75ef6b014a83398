r"""Checkers for the GAN chapter: the two losses from logits, counting modes, predicting a gradient."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from aigc_course.data.toy import count_modes, ring_of_gaussians
from aigc_course.exercises.feedback import Feedback, call_reader


def _scalar(out: object) -> tuple[float | None, Feedback | None]:
    if not isinstance(out, torch.Tensor):
        return None, Feedback(False, f"return a torch.Tensor, not {type(out).__name__}")
    if out.numel() != 1:
        return None, Feedback(
            False, f"a loss is one number (average over the batch); got shape {tuple(out.shape)}"
        )
    return float(out), None


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6)


def check_nonsaturating_loss(fn: Callable[[torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(fake_logits)``: :math:`L_G = -\frac1B\sum_b \log \sigma(\ell_b)`, from logits, shape () .

    Tried on moderate logits and on logits of -200 (a discriminator that is sure the fakes are fake),
    where :math:`\log\sigma(\ell)` computed as ``torch.log(torch.sigmoid(l))`` underflows to :math:`-\infty`.
    """
    shown = [
        -2.0,
        -0.5,
        0.3,
        1.7,
        -4.0,
    ]  # as the reader should see them, not float32 noise (0.30000001...)
    logits = torch.tensor(shown)
    expected = float(F.softplus(-logits).mean())
    out, fb = call_reader(fn, logits.clone())
    if fb is not None:
        return fb
    value, fb = _scalar(out)
    if fb is not None:
        return fb
    if not _same(value, expected):
        if _same(value, float(-F.softplus(logits).mean())):
            return Feedback(
                False,
                "that is the minimax (saturating) loss log(1 - D(G(z))); the non-saturating loss is -log D(G(z))",
            )
        if _same(value, float(F.softplus(logits).mean())):
            return Feedback(
                False,
                "that is -log(1 - D(G(z))), the discriminator's fake term; the generator wants -log D(G(z))",
            )
        if _same(value, -expected):
            return Feedback(
                False, "the sign is flipped: the loss -log D(G(z)) is >= 0 and falls as D is fooled"
            )
        if _same(value, float(F.softplus(-logits).sum())):
            return Feedback(
                False,
                "you summed over the batch; average it (mean) so the loss does not scale with the batch size",
            )
        return Feedback(False, f"for logits {shown} expected {expected:.5f}, got {value:.5f}")
    extreme = torch.full((4,), -200.0)
    out, fb = call_reader(fn, extreme.clone())
    if fb is not None:
        return fb
    value, fb = _scalar(out)
    if fb is not None:
        return fb
    if not math.isfinite(value):
        return Feedback(
            False,
            "correct formula, but it gives inf for a logit of -200: torch.log(torch.sigmoid(l)) underflows. "
            "Use the logits directly: -log sigmoid(l) = softplus(-l) (F.softplus or F.logsigmoid)",
        )
    if not _same(value, 200.0):
        return Feedback(
            False,
            f"for logits of -200 the loss should be 200 (= -log sigmoid(-200)); got {value:g}",
        )
    return Feedback(True, "-log D(G(z)) from logits (softplus(-l)), finite even when D is certain.")


def check_discriminator_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(real_logits, fake_logits)``: :math:`L_D = -\E[\log D(x)] - \E[\log(1 - D(G(z)))]`, from logits."""
    real = torch.tensor([2.0, 0.5, -0.3, 1.2])
    fake = torch.tensor([-1.5, 0.2, -3.0, 0.7, -0.1, -2.2])  # a different batch size on purpose
    expected = float(F.softplus(-real).mean() + F.softplus(fake).mean())
    out, fb = call_reader(fn, real.clone(), fake.clone())
    if fb is not None:
        return fb
    value, fb = _scalar(out)
    if fb is not None:
        return fb
    if not _same(value, expected):
        wrong = {
            "article": float(F.softplus(-real).mean() + F.softplus(-fake).mean()),
            "swapped": float(F.softplus(real).mean() + F.softplus(-fake).mean()),
            "sign": -expected,
            "pooled": float(torch.cat([F.softplus(-real), F.softplus(fake)]).mean()),
            "half": expected / 2,
        }
        if _same(value, wrong["article"]):
            return Feedback(
                False,
                "this is the source article's mistake: the fake term is -log D(G(z)), which rewards D for "
                "calling fakes real; it must be -log(1 - D(G(z)))",
            )
        if _same(value, wrong["swapped"]):
            return Feedback(
                False,
                "the labels are swapped: real examples should be pushed towards D = 1, fakes towards D = 0",
            )
        if _same(value, wrong["sign"]):
            return Feedback(
                False,
                "the sign is flipped: you returned the value function V(D, G), which D maximises; the loss is -V",
            )
        if _same(value, wrong["pooled"]) or _same(value, wrong["half"]):
            return Feedback(
                False,
                "average each term over its own batch and add the two averages (the batches may differ in size)",
            )
        return Feedback(False, f"expected {expected:.5f}, got {value:.5f}")
    # A perfect D (loss ~0) catches NaN from 0 * log(0) in a hand-written BCE; a fooled D (loss 300) catches
    # torch.log(torch.sigmoid(l)), which is exact for the perfect D but underflows to inf here.
    extremes = [
        (150.0, 0.0, "a perfect discriminator (logits +150 on real, -150 on fake)", "~0"),
        (-150.0, 300.0, "a fooled discriminator (logits -150 on real, +150 on fake)", "300"),
    ]
    for logit, target, who, shown in extremes:
        out, fb = call_reader(fn, torch.full((3,), logit), torch.full((3,), -logit))
        if fb is not None:
            return fb
        value, fb = _scalar(out)
        if fb is not None:
            return fb
        if not math.isfinite(value) or not _same(value, target):
            return Feedback(
                False,
                f"for {who} the loss should be {shown}, got {value:g}: "
                "compute it from logits with F.softplus or F.binary_cross_entropy_with_logits",
            )
    return Feedback(True, "binary cross-entropy with target 1 on real and 0 on fake, from logits.")


def check_count_modes(fn: Callable[[torch.Tensor, torch.Tensor, float], int]) -> Feedback:
    r"""Check ``fn(samples, centers, std)``: the number of modes with at least 1% of the samples within 3 std."""
    gen = torch.Generator().manual_seed(0)
    _, centers = ring_of_gaussians(8, generator=gen)
    std = 0.02
    picks = torch.tensor([0] * 400 + [3] * 300 + [6] * 290)
    samples = centers[picks] + std * torch.randn(len(picks), 2, generator=gen)
    stray = centers[5] + torch.tensor([[0.01, 0.0]] * 5)  # 5 of 1000 samples: below 1%
    far = torch.tensor([[0.0, 0.0]] * 5)  # the centre of the ring: no mode
    samples = torch.cat([samples, stray, far])
    coverage = count_modes(samples, centers, std)
    expected = coverage.n_covered  # 3
    n_close = {
        int(coverage.counts.sum()),
        int(coverage.counts[coverage.covered].sum()),
    }  # samples within 3 std
    out, fb = call_reader(fn, samples.clone(), centers.clone(), std)
    if fb is not None:
        return fb
    try:
        value = int(out)
        integral = float(out) == value  # 3.5 must not pass as 3
    except (TypeError, ValueError, OverflowError):
        integral = False
    if not integral:
        return Feedback(
            False, f"return an int (the number of modes covered), not {type(out).__name__}"
        )
    if value == expected:
        return Feedback(
            True,
            f"{expected} of 8 modes covered; a handful of stray samples does not cover a mode.",
        )
    if value == expected + 1:
        return Feedback(
            False,
            "you counted a mode that only 0.5% of the samples reach; require at least 1% of the samples",
        )
    if value == len(centers):
        return Feedback(
            False, "you counted every centre; count only those with enough samples within 3 std"
        )
    if value == len(samples) - 5 or value == len(samples) or value in n_close:
        return Feedback(False, "that is a number of samples; count modes (centres) instead")
    if value == 0:
        return Feedback(
            False,
            "no mode counted: measure the distance from each sample to each centre and compare with 3 * std",
        )
    return Feedback(False, f"expected {expected} modes covered, got {value}")


def check_gradient_prediction(answer: tuple[float, float]) -> Feedback:
    r"""Check a prediction of :math:`|\partial L_G / \partial \ell|` for one fake with :math:`D(G(z)) = 0.001`.

    ``answer = (saturating, non_saturating)``: the minimax loss :math:`\log(1-\sigma(\ell))` has gradient
    magnitude :math:`\sigma(\ell) = 0.001`, the non-saturating :math:`-\log\sigma(\ell)` has :math:`1-\sigma(\ell) = 0.999`.
    """
    try:
        sat, nonsat = (float(v) for v in answer)
    except (TypeError, ValueError):
        return Feedback(False, "answer with a pair of numbers: (saturating, non_saturating)")
    d = 0.001
    logit = torch.tensor(math.log(d / (1 - d)), dtype=torch.float64, requires_grad=True)
    g_sat = abs(torch.autograd.grad(-F.softplus(logit), logit)[0].item())
    g_ns = abs(torch.autograd.grad(F.softplus(-logit), logit)[0].item())
    ok = lambda a, b: math.isclose(abs(a), b, rel_tol=0.02)  # noqa: E731
    if ok(sat, g_sat) and ok(nonsat, g_ns):
        return Feedback(
            True,
            f"saturating {g_sat:.3f} (vanishes), non-saturating {g_ns:.3f} (stays ~1): G keeps learning only with the second.",
        )
    if ok(sat, g_ns) and ok(nonsat, g_sat):
        return Feedback(
            False,
            "you swapped them: it is the saturating loss whose gradient vanishes when D rejects the fakes",
        )
    if ok(sat, 1 / d) or ok(nonsat, 1 / d):
        return Feedback(
            False,
            "1/D is the gradient with respect to D; take it with respect to the logit (chain rule through the sigmoid)",
        )
    return Feedback(
        False,
        "differentiate log(1 - sigmoid(l)) and -log sigmoid(l) with respect to l, then put sigmoid(l) = 0.001",
    )
