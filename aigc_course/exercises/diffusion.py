r"""Checkers for the diffusion chapter: q(x_t | x_0), the posterior, the flow loss, a DDIM loop.

Each function checker runs on fresh random inputs at every call: random alpha-bar values, random
schedules (random betas, or a linear or cosine schedule with a random T), random Gaussian data
whose exact noise predictor (:class:`~aigc_course.sampling.analytic.GaussianEpsilon`) stands in
for a trained network, so a sampler loop is checked against the package's loop step for step.
:func:`check_spread_prediction` checks a prediction by running the experiment on fresh seeds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from aigc_course.exercises.engine import Args, Exercise, Mistake, check, fresh_seed, rand_int
from aigc_course.exercises.feedback import Feedback
from aigc_course.sampling.analytic import GaussianEpsilon
from aigc_course.sampling.diffusion import ddim_sample, ddim_step
from aigc_course.sampling.guidance import ClassifierFreeGuidance
from aigc_course.sampling.schedules import (
    NoiseSchedule,
    cosine_schedule,
    linear_schedule,
    q_posterior,
)


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


def _ddim(x_t, eps, ab_t, ab_prev) -> torch.Tensor:
    r"""One deterministic DDIM step from alpha-bar ``ab_t`` to ``ab_prev`` (eta = 0)."""
    x0 = (x_t - (1 - ab_t) ** 0.5 * eps) / ab_t**0.5
    return ab_prev**0.5 * x0 + (1 - ab_prev) ** 0.5 * eps


# ------------------------------------------------------------------ the posterior q(x_{t-1} | x_t, x_0)


class _AnswerForm(Exception):
    r"""Raised by a checker's adapter when the reader's answer is not in the asked-for form."""


def _form_feedback(feedback: Feedback) -> Feedback:
    r"""Turn the adapter's ``_AnswerForm`` (reported as "your function raised") into a plain hint."""
    prefix = f"your function raised {_AnswerForm.__name__}: "
    if not feedback.passed and feedback.message.startswith(prefix):
        return Feedback(False, feedback.message[len(prefix) :], feedback.exercise)
    return feedback


def _random_schedule(gen: torch.Generator, low: int = 6, high: int = 40) -> NoiseSchedule:
    r"""A fresh schedule of T in [low, high] steps with random (not monotone) betas in (0.01, 0.3)."""
    T = rand_int(gen, low, high)  # noqa: N806
    betas = 0.01 + 0.29 * torch.rand(T, generator=gen, dtype=torch.float64)
    return NoiseSchedule.from_betas(betas)


def _copy_schedule(schedule: NoiseSchedule) -> NoiseSchedule:
    r"""A copy the reader may change in place without touching the checker's schedule."""
    return NoiseSchedule(
        schedule.betas.clone(), schedule.alphas.clone(), schedule.alpha_bars.clone()
    )


def _pack(mean: Any, variance: Any) -> torch.Tensor:
    r"""(mean, variance) as one (2, B, D) tensor: the mean, then the variance broadcast to it."""
    mean = mean if isinstance(mean, torch.Tensor) else torch.as_tensor(mean, dtype=torch.float64)
    if not isinstance(variance, torch.Tensor):
        try:
            variance = torch.as_tensor(variance, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise _AnswerForm(
                f"the variance must be a number or a tensor, got {type(variance).__name__}"
            ) from None
    try:
        variance = torch.broadcast_to(variance, mean.shape)
    except RuntimeError:
        raise _AnswerForm(
            f"the variance has shape {tuple(variance.shape)}, which does not broadcast against "
            f"the mean's {tuple(mean.shape)}: it is one number, the same for every example"
        ) from None
    return torch.stack([mean.to(torch.float64), variance.to(torch.float64)])


def _as_pair(fn: Callable[..., Any]) -> Callable[..., Any]:
    r"""The reader's ``fn(x0, x_t, t, schedule) -> (mean, variance)`` as one (2, B, D) tensor."""

    def packed(x0, x_t, t, schedule):
        out = fn(x0, x_t, t, _copy_schedule(schedule))
        if out is None:
            return None
        if isinstance(out, torch.Tensor) and out.shape == (2, *x0.shape):
            return out  # already stacked: torch.stack([mean, variance.expand_as(mean)])
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise _AnswerForm(
                f"return the pair (mean, variance), got {type(out).__name__}"
                + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else "")
            )
        return _pack(*out)

    return packed


def _coefs(schedule: NoiseSchedule, t: int) -> tuple[torch.Tensor, ...]:
    return schedule.alpha_bars[t], schedule.alpha_bars[t - 1], schedule.alphas[t], schedule.betas[t]


def _posterior_from(x0, x_t, c0, ct, variance) -> torch.Tensor:
    return _pack(c0 * x0 + ct * x_t, variance)


def _posterior(x0, x_t, t: int, schedule: NoiseSchedule) -> torch.Tensor:
    mean, variance = q_posterior(x0, x_t, t, schedule)  # the package's own implementation
    return _pack(mean, variance)


def _posterior_mistake(kind: str) -> Callable[..., torch.Tensor]:
    r"""What the mistake ``kind`` returns, from the schedule's values at t and t - 1."""

    def compute(x0, x_t, t, schedule):
        ab, ab_prev, a, b = _coefs(schedule, t)
        c0 = ab_prev.sqrt() * b / (1 - ab)
        ct = a.sqrt() * (1 - ab_prev) / (1 - ab)
        var = (1 - ab_prev) / (1 - ab) * b
        if kind == "ab_in_ct":
            ct = ab.sqrt() * (1 - ab_prev) / (1 - ab)
        elif kind == "ab_in_c0":
            c0 = ab.sqrt() * b / (1 - ab)
        elif kind == "a_in_c0":
            c0 = a.sqrt() * b / (1 - ab)
        elif kind == "swapped":
            c0, ct = ct, c0
        elif kind == "no_sqrt":
            c0, ct = ab_prev * b / (1 - ab), a * (1 - ab_prev) / (1 - ab)
        elif kind == "beta":
            var = b
        elif kind == "std":
            var = var.sqrt()
        elif kind == "ratio":
            var = (1 - ab) / (1 - ab_prev) * b
        elif kind == "shifted":
            return _posterior(x0, x_t, t - 1, schedule)
        return _posterior_from(x0, x_t, c0, ct, var)

    return compute


def _posterior_inputs(gen: torch.Generator, case: int) -> Args:
    schedule = _random_schedule(gen)
    b, d = _batch(gen)
    x0 = torch.randn(b, d, generator=gen, dtype=torch.float64)
    x_t = torch.randn(b, d, generator=gen, dtype=torch.float64)
    return x0, x_t, rand_int(gen, 2, schedule.T), schedule


def _which_half(fn: Callable[..., Any], args: Args, value: torch.Tensor) -> str | None:
    r"""Say whether the mean or the variance is the wrong half (never what either should be)."""
    expected = _posterior(*args)
    if value.shape != expected.shape:
        return None
    mean_ok = torch.allclose(value[0], expected[0], rtol=1e-5, atol=1e-6)
    var_ok = torch.allclose(value[1], expected[1], rtol=1e-5, atol=1e-6)
    if mean_ok:
        return (
            "the mean is right, the variance is not: beta-tilde_t = "
            "(1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t"
        )
    if var_ok:
        return (
            "the variance is right, the mean is not: mean = sqrt(alpha_bar_{t-1}) beta_t / "
            "(1 - alpha_bar_t) x0 + sqrt(alpha_t) (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t"
        )
    return None


POSTERIOR = Exercise(
    name="check_posterior",
    arg_names=("x0", "x_t", "t", "schedule"),
    draw=_posterior_inputs,
    reference=_posterior,
    passed=(
        "mean = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x0 + sqrt(alpha_t) "
        "(1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) x_t and variance beta-tilde_t = "
        "(1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t, as the package's q_posterior: a "
        "DDPM step is this Gaussian with the network's x0_hat in place of x0."
    ),
    what="(mean, variance)",
    hint=(
        "not yet right: q(x_{t-1} | x_t, x0) is the Gaussian of Ho et al.'s Eqs. (6)-(7); "
        "alpha_bar_t, alpha_bar_{t-1}, alpha_t and beta_t each have their own place"
    ),
    grad=(0, 1),
    diagnose=_which_half,
    mistakes=(
        Mistake(
            _posterior_mistake("ab_in_ct"),
            "you used alpha_bar_t where alpha_t belongs: x_t's coefficient has sqrt(alpha_t), "
            "the one forward step from x_{t-1} to x_t, not the whole product alpha_bar_t",
        ),
        Mistake(
            _posterior_mistake("ab_in_c0"),
            "you used alpha_bar_t where alpha_bar_{t-1} belongs: x0's coefficient has "
            "sqrt(alpha_bar_{t-1}), the signal left in x_{t-1}",
        ),
        Mistake(
            _posterior_mistake("a_in_c0"),
            "you used alpha_t where alpha_bar_{t-1} belongs: x0's coefficient has "
            "sqrt(alpha_bar_{t-1}), the signal left in x_{t-1}",
        ),
        Mistake(
            _posterior_mistake("swapped"),
            "the coefficients of x0 and x_t are swapped",
        ),
        Mistake(
            _posterior_mistake("no_sqrt"),
            "the mean's coefficients lack their square roots: sqrt(alpha_bar_{t-1}) and "
            "sqrt(alpha_t) scale a signal, alpha_bar and alpha are variances' factors",
        ),
        Mistake(
            _posterior_mistake("beta"),
            "that variance is beta_t, the forward step's (DDPM's other choice when sampling); "
            "the posterior's is beta-tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t",
        ),
        Mistake(
            _posterior_mistake("std"),
            "you returned the standard deviation; return the variance beta-tilde_t",
        ),
        Mistake(
            _posterior_mistake("ratio"),
            "the variance's ratio is upside down: (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t), "
            "which is below 1",
        ),
        Mistake(
            _posterior_mistake("shifted"),
            "everything is one step early: the schedule's tensors are indexed by t itself "
            "(alpha_bars[0] = 1 is the data), so alpha_bar_t is schedule.alpha_bars[t]",
        ),
    ),
)


def check_posterior(fn: Callable[..., tuple[Any, Any]]) -> Feedback:
    r"""Check ``fn(x0, x_t, t, schedule) -> (mean, variance)``: the forward posterior.

    .. math::

        q(x_{t-1} \mid x_t, x_0) = \mathcal N(\tilde\mu_t, \tilde\beta_t I), \quad
        \tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\, x_0
        + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\, x_t, \quad
        \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t

    ``x0``, ``x_t`` (B, D); ``t`` an int in [2, T]; ``schedule`` a fresh
    :class:`~aigc_course.sampling.schedules.NoiseSchedule` with random betas at every call
    (a copy, so changing it in place is harmless). ``variance`` may be a number or any tensor
    that broadcasts against the mean. Compared with
    :func:`~aigc_course.sampling.schedules.q_posterior`; the mean's gradient with respect to
    ``x0`` and ``x_t`` must match too. Ho, Jain & Abbeel (2020), Eqs. (6)-(7).
    """
    if not callable(fn):
        return check(POSTERIOR, fn)
    return _form_feedback(check(POSTERIOR, _as_pair(fn)))


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


# ------------------------------------------------------------------ a DDIM sampling loop


class _Oracle:
    r"""The exact noise predictor of Gaussian data, as the model the reader's loop calls.

    Wraps :class:`~aigc_course.sampling.analytic.GaussianEpsilon`; ``time`` may be a number or a
    0-d or (B,) tensor. A time outside [0, 1] (the step number instead of t / T) raises an error
    that says so.
    """

    n_classes = None
    null_label = None

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, schedule: NoiseSchedule) -> None:
        self.oracle = GaussianEpsilon(mean, std, schedule)
        self.T = schedule.T

    def __call__(self, x: torch.Tensor, time: Any, labels: Any = None) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.ndim != 2:
            raise TypeError(f"call the model on the current samples x (B, D), got {x!r:.60}")
        time = torch.as_tensor(time, dtype=torch.float64).detach().reshape(-1)
        if time.numel() == 1:
            time = time.expand(x.shape[0])
        if time.shape != (x.shape[0],):
            raise ValueError(
                f"the model's time must be one number or one per row of x ({x.shape[0]}), got "
                f"{time.numel()} values"
            )
        bad = time[(time < 0) | (time > 1) | time.isnan()]
        if bad.numel():
            raise ValueError(
                f"the model takes the time t / T in [0, 1] (T = {self.T}); it was called with "
                f"{float(bad[0]):g}: divide the step number by T"
            )
        return self.oracle(x, time.contiguous())


def _timesteps(gen: torch.Generator, T: int) -> tuple[int, ...]:  # noqa: N803
    r"""A random strictly decreasing tuple from T to 0, unevenly spaced, with 4 to 8 steps."""
    inner = torch.randperm(T - 1, generator=gen)[: rand_int(gen, 3, min(7, T - 1))] + 1
    return (T, *sorted(inner.tolist(), reverse=True), 0)


def _sampler_inputs(gen: torch.Generator, case: int) -> Args:
    T = rand_int(gen, 50, 300)  # noqa: N806
    schedule = linear_schedule(T) if case == 0 else cosine_schedule(T)
    b, d = _batch(gen)
    mean = 2 * torch.rand(d, generator=gen, dtype=torch.float64) - 1
    std = 0.2 + 0.6 * torch.rand(d, generator=gen, dtype=torch.float64)
    x_T = torch.randn(b, d, generator=gen, dtype=torch.float64)  # noqa: N806
    return x_T, _Oracle(mean, std, schedule), schedule, _timesteps(gen, T)


def _ddim_loop(
    model, x_T, schedule, timesteps, *, when=None, to=None, step=None, once=False
) -> torch.Tensor:  # noqa: N803
    r"""The DDIM (eta = 0) loop; the keyword arguments build the mistakes.

    ``when(t, s)`` is the step whose time the model sees, ``to(t, s)`` the step the update goes
    to, ``step(x, eps, ab_t, ab_s)`` the update, ``once`` reuses the first noise prediction.
    """
    T = schedule.T  # noqa: N806
    x, eps = x_T, None
    for t, s in zip(timesteps[:-1], timesteps[1:], strict=True):
        if eps is None or not once:
            seen = t if when is None else when(t, s)
            eps = model(x, torch.full((x.shape[0],), seen / T, dtype=torch.float64))
        s = s if to is None else to(t, s)
        ab_t, ab_s = schedule.alpha_bars[t], schedule.alpha_bars[s]
        x = (step or _ddim)(x, eps, ab_t, ab_s)
    return x


def _ddim_sample_ref(x_T, model, schedule, timesteps) -> torch.Tensor:  # noqa: N803
    T = schedule.T  # noqa: N806
    x = x_T
    for t, s in zip(timesteps[:-1], timesteps[1:], strict=True):
        eps = model(x, torch.full((x.shape[0],), t / T, dtype=torch.float64))
        x = ddim_step(x, eps, t, s, schedule=schedule, eta=0.0)  # the package's step
    return x


def _stop_short(x_T, model, schedule, timesteps):  # noqa: N803
    return _ddim_loop(model, x_T, schedule, timesteps[:-1])


def _swapped_levels(x, e, a, p):
    return _ddim(x, e, p, a)


def _no_direction(x, e, a, p):
    return p.sqrt() * (x - (1 - a).sqrt() * e) / a.sqrt()


DDIM_SAMPLE = Exercise(
    name="check_ddim_sample",
    arg_names=("x_T", "model", "schedule", "timesteps"),
    draw=_sampler_inputs,
    reference=_ddim_sample_ref,
    passed=(
        "your loop gives what the package's DDIM steps give on the same x_T. With the "
        "exact noise predictor as the model, its samples have the data's mean and spread "
        "(up to the discretisation error of few steps): the loop is right, and a trained "
        "network only replaces the model."
    ),
    what="the samples (the shape of x_T)",
    hint=(
        "not yet right: for each pair (t, t') of consecutive times, call the model at t / T, "
        "form x0_hat, and move to alpha_bar_{t'} with the same eps_hat; return x at time 0"
    ),
    mistakes=(
        Mistake(
            lambda x, m, sc, ts: x,
            "your loop returned x_T unchanged: assign each step's result back to x",
        ),
        Mistake(
            lambda x, m, sc, ts: _ddim_loop(m, x, sc, ts, to=lambda t, s: t - 1),
            "each step goes to t - 1, not to the next listed time t': with fewer steps than T "
            "the update jumps from alpha_bar_t to alpha_bar_{t'}",
        ),
        Mistake(
            lambda x, m, sc, ts: _ddim_loop(m, x, sc, ts, when=lambda t, s: s),
            "the model is called at the time you are going to, t'; call it at the current "
            "time t, where x lives",
        ),
        Mistake(
            lambda x, m, sc, ts: _ddim_loop(m, x, sc, ts, when=lambda t, s: sc.T - t),
            "the model's time runs backwards: it is t / T (0 is the data, 1 the noise), not "
            "1 - t / T",
        ),
        Mistake(
            _stop_short,
            "your loop stops one step short of time 0: the last step goes from the last "
            "nonzero time to 0",
        ),
        Mistake(
            lambda x, m, sc, ts: _ddim_loop(m, x, sc, ts, once=True),
            "your loop uses the first noise prediction all the way down (the same as one "
            "jump from T to 0): call the model again at every listed time, on the current x",
        ),
        Mistake(
            lambda x, m, sc, ts: _ddim_loop(m, x, sc, ts, step=_swapped_levels),
            "in the step, alpha_bar_t and alpha_bar_{t'} are swapped: x0_hat comes from the "
            "current level alpha_bar_t, and the result sits at alpha_bar_{t'}",
        ),
        Mistake(
            lambda x, m, sc, ts: _ddim_loop(m, x, sc, ts, step=_no_direction),
            "the step drops the noise direction: add sqrt(1 - alpha_bar_{t'}) * eps_hat to "
            "sqrt(alpha_bar_{t'}) * x0_hat",
        ),
        Mistake(
            lambda x, m, sc, ts: _ddim_loop(
                m, x, sc, ts, step=lambda x, e, a, p: p * (x - (1 - a) * e) / a + (1 - p) * e
            ),
            "the step uses the alpha_bar values without square roots",
        ),
    ),
    rtol=1e-5,
    atol=1e-6,
)


def check_ddim_sample(fn: Callable[..., torch.Tensor]) -> Feedback:
    r"""Check ``fn(x_T, model, schedule, timesteps)``: the deterministic DDIM loop.

    .. math::

        \hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\epsilon_\theta(x_t, t/T)}
        {\sqrt{\bar\alpha_t}}, \qquad
        x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}}\,
        \epsilon_\theta(x_t, t/T)

    over the consecutive pairs (t, t') of ``timesteps``, a decreasing tuple from T to 0. The
    model is the exact noise predictor of fresh random Gaussian data
    (:class:`~aigc_course.sampling.analytic.GaussianEpsilon`), ``x_T`` (B, D) fresh noise, the
    schedule linear or cosine with a random T, the times random and unevenly spaced. The result
    must equal the package's loop over :func:`~aigc_course.sampling.diffusion.ddim_step`
    (which is :func:`~aigc_course.sampling.diffusion.ddim_sample` for evenly spaced times). The
    reader gets a copy of the schedule, so changing it in place is harmless.
    Song, Meng & Ermon (2021), Eq. (12) with sigma = 0.
    """
    if not callable(fn):
        return check(DDIM_SAMPLE, fn)

    def with_a_copy(x_T, model, schedule, timesteps):  # noqa: N803
        return fn(x_T, model, _copy_schedule(schedule), timesteps)  # the oracle keeps its own

    return check(DDIM_SAMPLE, with_a_copy)


# ------------------------------------------------------------------ predict, then run: spread

_DIRECTIONS = ("smaller", "same", "larger")


class _LabelledGaussians:
    r"""The exact noise predictor for K Gaussian classes (shared std) and their mixture.

    Label k in [0, K) gives class k's :math:`\mathbb E[\epsilon \mid x_t, y = k]`; the null label K
    gives the unconditional one, :math:`\sum_k p(k \mid x_t)\,\mathbb E[\epsilon \mid x_t, k]`
    (equal class weights). A model for
    :class:`~aigc_course.sampling.guidance.ClassifierFreeGuidance`.
    """

    def __init__(self, means: torch.Tensor, std: float, schedule: NoiseSchedule) -> None:
        self.means, self.std, self.schedule = means, std, schedule
        self.n_classes = len(means)
        self.null_label = len(means)

    def __call__(self, x: torch.Tensor, time: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        t = (time.double() * self.schedule.T).round().long()
        ab = self.schedule.alpha_bars[t][:, None, None]  # (B, 1, 1)
        var = ab * self.std**2 + 1 - ab
        diff = x.double()[:, None, :] - ab.sqrt() * self.means[None]  # (B, K, D)
        eps_k = (1 - ab).sqrt() * diff / var
        log_w = -0.5 * (diff**2).sum(-1) / var[:, :, 0]  # (B, K), equal priors
        weights = torch.softmax(log_w, dim=1)
        uncond = (weights[..., None] * eps_k).sum(1)
        rows = torch.arange(len(x))
        cond = eps_k[rows, labels.clamp(max=self.n_classes - 1)]
        return torch.where((labels == self.null_label)[:, None], uncond, cond).to(x.dtype)


def _spread(x: torch.Tensor) -> float:
    return float(x.std(0).mean())


def measure_spreads(seed: int | None = None, n: int = 2000) -> dict[str, float]:
    r"""Run the two experiments of :func:`check_spread_prediction` on fresh random data.

    Returns the spread (the per-coordinate standard deviation of the samples, averaged over the
    coordinates) of DDIM (eta = 0) samples of exact noise predictors, with a linear schedule of
    T = 1000 steps: ``"steps_50"``, ``"steps_1"`` for Gaussian data N(m, s^2) with random m and
    s, sampled with 50 and with 1 step; ``"w_0"``, ``"w_4"`` for one class of a mixture of
    three Gaussian classes, sampled with 50 steps and classifier-free guidance of weight 0 and 4.
    ``seed`` fixes everything (for tests); by default a fresh one is drawn.
    """
    gen = torch.Generator().manual_seed(fresh_seed() if seed is None else seed)
    sched = linear_schedule(1000)
    d = 2
    m = 2 * torch.rand(d, generator=gen, dtype=torch.float64) - 1
    s = 0.3 + 0.5 * torch.rand(d, generator=gen, dtype=torch.float64)
    model = GaussianEpsilon(m, s, sched)
    x_T = torch.randn(n, d, generator=gen, dtype=torch.float64)  # noqa: N806
    out = {
        f"steps_{k}": _spread(ddim_sample(model, None, sched, steps=k, x_init=x_T)) for k in (50, 1)
    }
    angle = 2 * math.pi * float(torch.rand((), generator=gen))
    angles = angle + torch.arange(3, dtype=torch.float64) * (2 * math.pi / 3)
    radius = 1.5 + float(torch.rand((), generator=gen))
    means = radius * torch.stack([angles.cos(), angles.sin()], 1)
    classes = _LabelledGaussians(means, 0.3 + 0.3 * float(torch.rand((), generator=gen)), sched)
    label = torch.full((n,), rand_int(gen, 0, 2))
    for w in (0, 4):
        guided = ClassifierFreeGuidance(classes, weight=float(w))
        x = ddim_sample(guided, None, sched, steps=50, labels=label, x_init=x_T)
        out[f"w_{w}"] = _spread(x)
    return out


def _direction(before: float, after: float) -> str:
    ratio = after / before
    return "smaller" if ratio < 0.9 else "larger" if ratio > 1.1 else "same"


_SPREAD_HINTS = {
    "steps": (
        "your prediction for 1 step instead of 50 does not match the run. Think about what a "
        "single deterministic step from x_T returns: x0_hat, the network's best guess, which is "
        "an average over every image that could have produced x_T"
    ),
    "guidance": (
        "your prediction for w = 4 instead of w = 0 does not match the run. Think about the "
        "guided score, (1 + w) grad log q_t(x | y) - w grad log q_t(x), where the noisy data "
        "as a whole (q_t(x)) is broader than the noisy class y"
    ),
}


def check_spread_prediction(steps: str, guidance: str) -> Feedback:
    r"""Check two predictions of how the spread of samples changes, by running both experiments.

    ``steps``: going from 50 DDIM steps to 1 step, the spread of the samples becomes
    ``"smaller"``, stays the ``"same"`` or becomes ``"larger"``. ``guidance``: the same for one
    class's samples going from guidance weight w = 0 to w = 4. The checker measures both with
    :func:`measure_spreads` on fresh random data and seeds (exact noise predictors, so no
    training), turns each pair of spreads into a direction (a change under 10% is "same"), and
    accepts the answer only if both predictions match the measured directions. A failure says
    which prediction is off, never the measured direction; a pass shows the measurements.
    """
    name = "check_spread_prediction"
    answers = {"steps": steps, "guidance": guidance}
    for key, value in answers.items():
        if not isinstance(value, str) or value.strip().lower() not in _DIRECTIONS:
            return Feedback(
                False,
                f"answer {key}= with one of {', '.join(map(repr, _DIRECTIONS))}; got {value!r}",
                name,
            )
    answers = {key: value.strip().lower() for key, value in answers.items()}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: threads only add overhead (seconds on a busy CPU)
    try:
        spreads = measure_spreads()
    finally:
        torch.set_num_threads(threads)
    measured = {
        "steps": _direction(spreads["steps_50"], spreads["steps_1"]),
        "guidance": _direction(spreads["w_0"], spreads["w_4"]),
    }
    wrong = [key for key in answers if answers[key] != measured[key]]
    if wrong:
        return Feedback(False, "; and ".join(_SPREAD_HINTS[key] for key in wrong) + ".", name)
    return Feedback(
        True,
        f"measured on fresh data: spread {spreads['steps_50']:.3f} with 50 steps, "
        f"{spreads['steps_1']:.3f} with 1 (one step returns the average guess x0_hat, so every "
        f"sample sits near the mean); one class's spread {spreads['w_0']:.3f} at w = 0, "
        f"{spreads['w_4']:.3f} at w = 4 (guidance trades variety for typical samples).",
        name,
    )
