r"""Checkers for the diffusion chapter: q(x_t | x_0), x0 from epsilon, one DDIM step, the flow loss.

Every function takes the per-example quantities it needs (alpha-bar values, times) as tensors,
so no checker depends on a schedule object, and each is tried on fresh random inputs.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from aigc_course.exercises.engine import Args, Exercise, Mistake, check, rand_int
from aigc_course.exercises.feedback import Feedback


def _batch(gen: torch.Generator) -> tuple[int, int]:
    b = rand_int(gen, 4, 7)  # rows != columns, so a missing broadcast fails loudly
    return b, rand_int(gen, 2, b - 1)


def _alpha_bar(gen: torch.Generator, b: int, low: float = 0.05, high: float = 0.95):
    return low + (high - low) * torch.rand(b, generator=gen, dtype=torch.float64)


def _col(a: torch.Tensor) -> torch.Tensor:
    return a[:, None]


# ------------------------------------------------------------------ q(x_t | x_0)


def _q_inputs(gen: torch.Generator, case: int) -> Args:
    b, d = _batch(gen)
    x0 = torch.randn(b, d, generator=gen, dtype=torch.float64)
    noise = torch.randn(b, d, generator=gen, dtype=torch.float64)
    return x0, _alpha_bar(gen, b), noise


def _q(x0: torch.Tensor, ab: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    return _col(ab).sqrt() * x0 + (1 - _col(ab)).sqrt() * noise


Q_SAMPLE = Exercise(
    name="check_q_sample",
    arg_names=("x0", "alpha_bar", "noise"),
    draw=_q_inputs,
    reference=_q,
    passed="x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise: one step instead of t.",
    what="x_t (the shape of x0)",
    hint=(
        "not yet right: q(x_t | x0) has mean sqrt(alpha_bar) x0 and variance "
        "1 - alpha_bar, per example (alpha_bar has one value per row of x0)"
    ),
    grad=(0,),
    mistakes=(
        Mistake(
            lambda x0, ab, n: _col(ab) * x0 + (1 - _col(ab)) * n,
            "you scaled by alpha_bar and 1 - alpha_bar, which are the *variances*' factors; "
            "the coefficients are their square roots",
        ),
        Mistake(
            lambda x0, ab, n: _col(ab).sqrt() * x0 + (1 - _col(ab)) * n,
            "the noise is scaled by 1 - alpha_bar, its variance; scale it by the square root",
        ),
        Mistake(
            lambda x0, ab, n: (1 - _col(ab)).sqrt() * x0 + _col(ab).sqrt() * n,
            "the two coefficients are swapped: alpha_bar is the share of the signal, so "
            "sqrt(alpha_bar) multiplies x0",
        ),
        Mistake(
            lambda x0, ab, n: _col(ab).sqrt() * x0 + n,
            "the noise keeps unit variance: x_t would then grow in variance with t; scale "
            "it by sqrt(1 - alpha_bar) so that x_t keeps variance about 1",
        ),
        Mistake(
            lambda x0, ab, n: _col(ab).sqrt() * (x0 + n),
            "sqrt(alpha_bar) multiplies only x0; the noise gets sqrt(1 - alpha_bar)",
        ),
    ),
)


def check_q_sample(fn: Callable[..., torch.Tensor]) -> Feedback:
    r"""Check ``fn(x0, alpha_bar, noise)``: one draw of :math:`q(x_t \mid x_0)` by the closed form.

    .. math:: x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1-\bar\alpha_t}\, \epsilon

    ``x0`` and ``noise`` are (B, D), ``alpha_bar`` (B,) (one value per example, so it must be
    broadcast over D). Ho et al. (2020), Eq. (4).
    """
    return check(Q_SAMPLE, fn)


# ------------------------------------------------------------------ x0 from epsilon


def _x0_inputs(gen: torch.Generator, case: int) -> Args:
    b, d = _batch(gen)
    x_t = torch.randn(b, d, generator=gen, dtype=torch.float64)
    eps = torch.randn(b, d, generator=gen, dtype=torch.float64)
    return x_t, eps, _alpha_bar(gen, b)


def _x0(x_t: torch.Tensor, eps: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    return (x_t - (1 - _col(ab)).sqrt() * eps) / _col(ab).sqrt()


PREDICT_X0 = Exercise(
    name="check_predict_x0",
    arg_names=("x_t", "eps_hat", "alpha_bar"),
    draw=_x0_inputs,
    reference=_x0,
    passed="x0_hat = (x_t - sqrt(1 - alpha_bar) eps_hat) / sqrt(alpha_bar): the closed form, solved for x0.",
    what="x0_hat (the shape of x_t)",
    hint="not yet right: solve x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps for x0",
    grad=(0, 1),
    mistakes=(
        Mistake(
            lambda x, e, ab: x - (1 - _col(ab)).sqrt() * e,
            "you removed the noise but did not divide by sqrt(alpha_bar), the factor that "
            "shrank x0",
        ),
        Mistake(
            lambda x, e, ab: (x + (1 - _col(ab)).sqrt() * e) / _col(ab).sqrt(),
            "the noise must be subtracted, not added",
        ),
        Mistake(
            lambda x, e, ab: (x - (1 - _col(ab)) * e) / _col(ab),
            "you used alpha_bar and 1 - alpha_bar without square roots",
        ),
        Mistake(
            lambda x, e, ab: (x - (1 - _col(ab)).sqrt() * e) * _col(ab).sqrt(),
            "you multiplied by sqrt(alpha_bar); x0 was scaled down by it, so divide",
        ),
        Mistake(
            lambda x, e, ab: (x - _col(ab).sqrt() * e) / (1 - _col(ab)).sqrt(),
            "the coefficients are swapped: sqrt(alpha_bar) scales x0, sqrt(1 - alpha_bar) the noise",
        ),
    ),
)


def check_predict_x0(fn: Callable[..., torch.Tensor]) -> Feedback:
    r"""Check ``fn(x_t, eps_hat, alpha_bar)``: the clean image implied by a noise estimate.

    .. math:: \hat x_0 = \bigl(x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon\bigr) / \sqrt{\bar\alpha_t}

    ``x_t``, ``eps_hat`` (B, D); ``alpha_bar`` (B,). Ho et al. (2020), Eq. (15).
    """
    return check(PREDICT_X0, fn)


# ------------------------------------------------------------------ one DDIM step


def _ddim_inputs(gen: torch.Generator, case: int) -> Args:
    b, d = _batch(gen)
    x_t = torch.randn(b, d, generator=gen, dtype=torch.float64)
    eps = torch.randn(b, d, generator=gen, dtype=torch.float64)
    ab_t = float(0.05 + 0.5 * torch.rand((), generator=gen, dtype=torch.float64))
    ab_prev = float(ab_t + (0.95 - ab_t) * (0.2 + 0.8 * torch.rand((), generator=gen)))
    return x_t, eps, ab_t, ab_prev


def _ddim(x_t, eps, ab_t: float, ab_prev: float) -> torch.Tensor:
    x0 = (x_t - (1 - ab_t) ** 0.5 * eps) / ab_t**0.5
    return ab_prev**0.5 * x0 + (1 - ab_prev) ** 0.5 * eps


DDIM_STEP = Exercise(
    name="check_ddim_step",
    arg_names=("x_t", "eps_hat", "alpha_bar_t", "alpha_bar_prev"),
    draw=_ddim_inputs,
    reference=_ddim,
    passed=(
        "x_prev = sqrt(alpha_bar_prev) x0_hat + sqrt(1 - alpha_bar_prev) eps_hat: the same "
        "noise, re-applied at the smaller noise level (eta = 0, no fresh noise)."
    ),
    what="x_prev (the shape of x_t)",
    hint=(
        "not yet right: predict x0 from x_t and eps_hat, then put it back at the noise level "
        "alpha_bar_prev with the same eps_hat"
    ),
    grad=(0, 1),
    mistakes=(
        Mistake(
            lambda x, e, a, p: (x - (1 - a) ** 0.5 * e) / a**0.5,
            "that is x0_hat, the end of the chain; one step only goes to alpha_bar_prev",
        ),
        Mistake(
            lambda x, e, a, p: p**0.5 * (x - (1 - a) ** 0.5 * e) / a**0.5,
            "the noise direction is missing: add sqrt(1 - alpha_bar_prev) * eps_hat",
        ),
        Mistake(
            lambda x, e, a, p: _ddim(x, e, p, a),
            "alpha_bar_t and alpha_bar_prev are swapped: x0_hat comes from the current level "
            "alpha_bar_t, and the result sits at alpha_bar_prev",
        ),
        Mistake(
            lambda x, e, a, p: p**0.5 * (x - (1 - a) ** 0.5 * e) / a**0.5 + (1 - p) * e,
            "the noise is scaled by 1 - alpha_bar_prev, a variance; use its square root",
        ),
        Mistake(
            lambda x, e, a, p: p * (x - (1 - a) * e) / a + (1 - p) * e,
            "you used the alpha_bar values without square roots",
        ),
    ),
)


def check_ddim_step(fn: Callable[..., torch.Tensor]) -> Feedback:
    r"""Check ``fn(x_t, eps_hat, alpha_bar_t, alpha_bar_prev)``: one deterministic DDIM step.

    .. math::

        \hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon}{\sqrt{\bar\alpha_t}}, \qquad
        x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}}\,\hat\epsilon

    ``x_t``, ``eps_hat`` (B, D); the two alpha-bar values are floats with
    ``alpha_bar_prev > alpha_bar_t``. Song, Meng & Ermon (2021), Eq. (12) with sigma = 0.
    """
    return check(DDIM_STEP, fn)


# ------------------------------------------------------------------ the flow-matching loss


def _flow_inputs(gen: torch.Generator, case: int) -> Args:
    b, d = _batch(gen)
    v = torch.randn(b, d, generator=gen, dtype=torch.float64)
    x0 = torch.randn(b, d, generator=gen, dtype=torch.float64) + 1.0
    x1 = torch.randn(b, d, generator=gen, dtype=torch.float64)
    return v, x0, x1


def _flow(v, x0, x1) -> torch.Tensor:
    return ((v - (x1 - x0)) ** 2).mean()


FLOW_LOSS = Exercise(
    name="check_flow_loss",
    arg_names=("v_hat", "x0", "x1"),
    draw=_flow_inputs,
    reference=_flow,
    passed=(
        "mean((v_hat - (x1 - x0))^2): the network learns the velocity that carries data "
        "(t = 0) to noise (t = 1) along the straight line."
    ),
    what="the loss (one number)",
    hint="not yet right: the target is the velocity x1 - x0 of the straight path",
    grad=(0,),
    mistakes=(
        Mistake(
            lambda v, x0, x1: ((v - (x0 - x1)) ** 2).mean(),
            "the target points the wrong way: with data at t = 0 and noise at t = 1, "
            "dx_t/dt = x1 - x0",
        ),
        Mistake(
            lambda v, x0, x1: ((v - x1) ** 2).mean(),
            "that target is the noise, as in DDPM; flow matching regresses the velocity x1 - x0",
        ),
        Mistake(
            lambda v, x0, x1: ((v - x0) ** 2).mean(),
            "that target is the data; flow matching regresses the velocity x1 - x0",
        ),
        Mistake(
            lambda v, x0, x1: ((v - (x1 - x0)) ** 2).sum(),
            "you summed; average over every element (mean) so the loss does not grow "
            "with the batch or the image size",
        ),
        Mistake(
            lambda v, x0, x1: (v - (x1 - x0)).abs().mean(),
            "that is the absolute error; the flow-matching loss is the squared error",
        ),
        Mistake(
            lambda v, x0, x1: (v - (x1 - x0)).mean() ** 2,
            "you squared the mean error; take the mean of the squared errors",
        ),
    ),
)


def check_flow_loss(fn: Callable[..., torch.Tensor]) -> Feedback:
    r"""Check ``fn(v_hat, x0, x1)``: the conditional flow-matching loss on the straight path.

    .. math:: L = \operatorname{mean}\bigl((\hat v - (x_1 - x_0))^2\bigr)

    ``v_hat``, ``x0`` (data), ``x1`` (noise): (B, D). The gradient with respect to ``v_hat``
    must match too. Lipman et al. (2023); Liu, Gong & Liu (2023).
    """
    return check(FLOW_LOSS, fn)
