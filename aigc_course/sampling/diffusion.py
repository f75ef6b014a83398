r"""Samplers: DDPM ancestral sampling, DDIM, and Euler / Heun for the flow-matching ODE.

Every sampler takes the network as a callable ``model(x, time, labels)`` (``time`` a float
tensor (B,) in [0, 1]: :math:`t/T` for diffusion, the flow time for flow matching), a shape,
and a ``torch.Generator``; it returns the samples, or ``(samples, trajectory)`` with the
trajectory stacked as ``(S + 1, *shape)``, from the noise (index 0) to the result (index S).
Wrap the model in :class:`~aigc_course.sampling.guidance.ClassifierFreeGuidance` to guide it.

Samplers run under ``torch.no_grad()`` and do not change the model's train/eval mode: call
``model.eval()`` first. Arguments are checked once at entry; the loop itself never waits on the
device. With ``steps = S < T`` the diffusion samplers visit the evenly spaced integer times of
:func:`sampling_timesteps`, T = tau_S > ... > tau_0 = 0.

Every step function has one contract, ``step(x_t, prediction, t, t_prev, *, options)``
(:func:`ddpm_step`, :func:`ddim_step`, :func:`euler_step`, :func:`heun_step`), and one loop,
:func:`sample`, runs them all; :func:`ddpm_sample`, :func:`ddim_sample` and
:func:`flow_matching_sample` are that loop with ``method`` fixed.

Network evaluations per sample: DDPM and DDIM, S; Euler, S; Heun, 2S.

References
----------
Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models", Algorithm 2.
Song, Meng & Ermon (2021), "Denoising Diffusion Implicit Models", ICLR, Eqs. (12), (16).
Nichol & Dhariwal (2021), "Improved DDPM", Sec. 4 (sampling with a respaced chain).
Song et al. (2021), "Score-Based Generative Modeling through SDEs", ICLR (the probability-flow ODE,
of which DDIM with eta = 0 is a discretisation).
Lipman et al. (2023), "Flow Matching for Generative Modeling", ICLR; Liu, Gong & Liu (2023),
"Flow Straight and Fast", ICLR (Euler sampling of the learned ODE).
Karras, Aittala, Aila & Laine (2022), "Elucidating the Design Space of Diffusion-Based
Generative Models", NeurIPS, Algorithm 1 (Heun's second-order method).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from aigc_course import _check
from aigc_course.sampling.schedules import (
    NoiseSchedule,
    _check_batch,
    _check_schedule,
    _posterior_coefs,
    predict_x0,
)

__all__ = [
    "ddim_sample",
    "ddim_sigma",
    "ddim_step",
    "ddpm_sample",
    "ddpm_step",
    "euler_step",
    "flow_matching_sample",
    "heun_step",
    "sample",
    "sampling_timesteps",
]

Model = Callable[..., torch.Tensor]
METHODS = ("ddpm", "ddim", "euler", "heun")


def sampling_timesteps(T: int, steps: int | None = None) -> list[int]:  # noqa: N803
    r"""The S + 1 integer times a sampler visits, from T down to 0, evenly spaced.

    .. math:: \tau_i = \operatorname{round}(i\, T / S), \qquad i = S, S-1, \dots, 0

    Parameters
    ----------
    T : int
        Training steps of the schedule.
    steps : int, optional
        S in [1, T]; default T (every step).

    Returns
    -------
    list of int
        Strictly decreasing, first T, last 0, length S + 1.
    """
    T = _check.check_count(T, "T (the schedule's number of steps)")  # noqa: N806
    steps = T if steps is None else steps
    if not _check.is_int(steps) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if steps > T:
        raise ValueError(
            f"steps={steps} is more sampling steps than the schedule's T={T} training steps: "
            f"use steps <= {T} (a diffusion model only knows the times it was trained on)"
        )
    return torch.linspace(T, 0, steps + 1, dtype=torch.float64).round().long().tolist()


# ----------------------------------------------------------------------------------------------
# Entry checks (once per sampler call)
# ----------------------------------------------------------------------------------------------


def _parameter(model: object) -> torch.Tensor | None:
    inner = getattr(model, "model", model)  # ClassifierFreeGuidance wraps the network
    if isinstance(inner, nn.Module):
        for p in inner.parameters():
            return p
    return None


def _infer_device(model: object, x_init: torch.Tensor | None, device) -> torch.device:
    if device is not None:
        out = torch.device(device)
    elif x_init is not None:
        out = x_init.device
    else:
        p = _parameter(model)
        out = p.device if p is not None else torch.device("cpu")
    if out.type == "meta":
        # Decision: refuse. A meta tensor has a shape but no values, so there is nothing to sample.
        raise ValueError(
            "cannot sample on the 'meta' device (its tensors hold no values): pass device='cpu' "
            "or 'cuda', and a model and x_init with real weights and values"
        )
    return out


def _check_x_init(x_init: object, model: object) -> torch.Tensor:
    x_init = _check.check_tensor(x_init, "x_init", floating=True, shape_hint="(n, ...)")
    p = _parameter(model)
    if p is not None and p.is_floating_point() and x_init.dtype != p.dtype:
        raise TypeError(
            f"x_init has dtype {x_init.dtype} but the model's parameters are {p.dtype}: "
            f"pass x_init.to({p.dtype})"
        )
    if x_init.device.type != "meta":
        _check.check_finite(
            x_init, "x_init", hint="start from finite noise, e.g. torch.randn(shape)"
        )
    return x_init


def _check_shape(shape: object, x_init: object, model: object) -> tuple[int, ...]:
    if x_init is not None:
        x_init = _check_x_init(x_init, model)
        if shape is not None and tuple(shape) != tuple(x_init.shape):
            raise ValueError(
                f"x_init has shape {tuple(x_init.shape)} but shape={tuple(shape)}: pass one of them"
            )
        return tuple(x_init.shape)
    if (
        not isinstance(shape, (tuple, list, torch.Size))
        or len(shape) < 2
        or not all(_check.is_int(s) and s >= 1 for s in shape)
    ):
        raise ValueError(
            f"shape must be a tuple (n, ...) of positive ints, e.g. (64, 1, 28, 28) or (500, 2), "
            f"or x_init a starting tensor that sets it; got shape={shape!r} and x_init=None"
        )
    return tuple(shape)


def check_sampler_labels(model: object, labels: object, n: int) -> torch.Tensor | None:
    r"""Check the labels a sampler will pass to ``model``: int64, shape (n,), in the embedding.

    A model with attributes ``n_classes`` (K) and ``null_label`` accepts labels in [0, K], K being
    the null (unconditional) class; a model with ``n_classes = None`` accepts no labels. Other
    callables are not range-checked.
    """
    n_classes = getattr(model, "n_classes", None)
    has_attr = hasattr(model, "n_classes")
    if labels is None:
        return None
    if has_attr and n_classes is None:
        raise ValueError(
            "labels were given but the model is unconditional (n_classes=None): drop labels=, "
            "or build the network with n_classes=K"
        )
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.long:
        raise TypeError(
            "labels must be an int64 tensor of class indices, shape (n,): "
            "use torch.full((n,), digit) or labels.long()"
        )
    _check.check_labels(labels, "labels", 1, batch=n, check_range=False)  # shape (n,)
    if n_classes is not None:
        null = getattr(model, "null_label", None)
        top = n_classes if null == n_classes else n_classes - 1
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi > top:
            raise ValueError(
                f"labels must lie in [0, {top}] (the model's class embedding has n_classes="
                f"{n_classes}" + (f", null label {null}" if null is not None else "") + "), "
                f"found {lo if lo < 0 else hi}: ask for a class the model was trained on"
            )
    return labels


def _check_generator(generator: object) -> None:
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator or None, got {type(generator).__name__}: "
            "use torch.Generator().manual_seed(0)"
        )


def _draw(fn, args, generator: torch.Generator | None, device, **kwargs) -> torch.Tensor:
    r"""``fn(*args)`` drawn on the generator's device, then moved to ``device``.

    The one helper for random draws in sampling and training (``torch.randn``, ``torch.rand``,
    ``torch.randint``): a CPU generator gives the same numbers whichever device the model runs on.
    """
    if generator is None:
        return fn(*args, device=device, **kwargs)
    return fn(*args, generator=generator, device=generator.device, **kwargs).to(device)


def _randn(shape, generator: torch.Generator | None, device: torch.device, dtype=None):
    return _draw(torch.randn, (shape,), generator, device, dtype=dtype)


def _check_clip(clip_x0: object) -> None:
    if clip_x0 is not None:
        _check.check_real(clip_x0, "clip_x0 (None, or 1.0 for images)", low=0.0, low_open=True)


def _check_eta(eta: object) -> float:
    return _check.check_real(eta, "eta", low=0.0, high=1.0)


def _check_variance(variance: object) -> None:
    if variance not in ("posterior", "beta"):
        raise ValueError(f"variance must be 'posterior' or 'beta', got {variance!r}")


def _check_step_args(x_t, pred, pred_name, noise) -> None:
    # shapes and dtypes only: no device sync
    _check_batch(x_t, "x_t")
    _check.check_same_shape(pred, pred_name, x_t, "x_t")
    if noise is not None:
        _check.check_same_shape(noise, "noise", x_t, "x_t")


def _check_pair(schedule, t, t_prev) -> None:
    _check_schedule(schedule)
    _check.check_step(t, "t", 1, schedule.T)
    _check.check_step(t_prev, "t_prev", 0, t - 1)


# ----------------------------------------------------------------------------------------------
# One step: step(x_t, prediction, t, t_prev, *, options) -> x_{t_prev}
# ----------------------------------------------------------------------------------------------


def _x0_and_eps(x_t, eps, t, schedule, clip_x0):
    x0 = predict_x0(x_t, t, eps, schedule, validate=False)
    if clip_x0 is not None:
        ab_t = schedule.alpha_bars[t].to(x_t.device, x_t.dtype)
        x0 = x0.clamp(-clip_x0, clip_x0)
        eps = (x_t - ab_t.sqrt() * x0) / (1 - ab_t).sqrt()
    return x0, eps


def ddpm_step(
    x_t: torch.Tensor,
    eps: torch.Tensor,
    t: int,
    t_prev: int,
    *,
    schedule: NoiseSchedule,
    noise: torch.Tensor | None = None,
    variance: str = "posterior",
    clip_x0: float | None = None,
    validate: bool = True,
) -> torch.Tensor:
    r"""One ancestral step :math:`x_t \to x_{t'}` of the reverse process, :math:`t' < t`.

    .. math::

        \hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon}{\sqrt{\bar\alpha_t}}, \qquad
        x_{t'} = \tilde\mu_{t}(x_t, \hat x_0) + \sigma_t z, \qquad z \sim \mathcal N(0, I)

    with :math:`\tilde\mu` of :func:`~aigc_course.sampling.schedules.q_posterior` and
    :math:`\sigma_t^2 = \tilde\beta_t` (``variance="posterior"``) or
    :math:`\beta_{t|t'} = 1 - \bar\alpha_t/\bar\alpha_{t'}` (``"beta"``); no noise is added when
    t' = 0. For t' = t - 1 this is Ho et al.'s Algorithm 2, line 4.

    Parameters
    ----------
    x_t, eps : torch.Tensor
        (B, ...) the current sample and the network's noise estimate.
    t, t_prev : int
        1 <= t <= T and 0 <= t_prev < t.
    schedule : NoiseSchedule
        Keyword-only, like every option.
    noise : torch.Tensor, optional
        z, shape of ``x_t``; required when t_prev > 0.
    variance : {"posterior", "beta"}
    clip_x0 : float, optional
        Clamp :math:`\hat x_0` to [-clip_x0, clip_x0] (1.0 for images in [-1, 1]).
    validate : bool
        Check the arguments (shapes and integers only, no device sync); :func:`sample` passes
        ``False`` after checking once.

    Returns
    -------
    torch.Tensor
        :math:`x_{t'}`, shape of ``x_t``.

    References
    ----------
    Ho, Jain & Abbeel (2020), Algorithm 2 and Sec. 3.2 (the two variance choices).
    """
    if validate:
        _check_pair(schedule, t, t_prev)
        _check_step_args(x_t, eps, "eps", noise)
        _check_variance(variance)
        _check_clip(clip_x0)
    # 1. predicted x0 from predicted noise: Ho et al. (2020), Eq. (15)
    x0, _ = _x0_and_eps(x_t, eps, t, schedule, clip_x0)
    # 2. mean of the posterior q(x_{t'} | x_t, x0): Eq. (7)
    coef_x0, coef_xt, post_var = _posterior_coefs(schedule, t, t_prev, x_t)
    mean = coef_x0 * x0 + coef_xt * x_t
    # 3. add noise of variance beta-tilde or beta: Sec. 3.2, Algorithm 2 line 4
    if t_prev == 0:
        return mean
    if noise is None:
        raise ValueError("noise is required when t_prev > 0: pass noise=torch.randn_like(x_t)")
    if variance == "posterior":
        var = post_var
    else:
        ab_t = schedule.alpha_bars[t].to(x_t.device, x_t.dtype)
        ab_s = schedule.alpha_bars[t_prev].to(x_t.device, x_t.dtype)
        var = 1 - ab_t / ab_s
    return mean + var.sqrt() * noise


def ddim_sigma(schedule: NoiseSchedule, t: int, t_prev: int, eta: float) -> torch.Tensor:
    r"""The noise scale of one DDIM step from t to t'.

    .. math::

        \sigma_{t \to t'}(\eta) = \eta\, \sqrt{\frac{1-\bar\alpha_{t'}}{1-\bar\alpha_t}}\,
        \sqrt{1 - \frac{\bar\alpha_t}{\bar\alpha_{t'}}}

    With :math:`\eta = 1` and t' = t - 1, :math:`\sigma^2` is the DDPM posterior variance
    :math:`\tilde\beta_t`; with :math:`\eta = 0` the step is deterministic.

    Parameters
    ----------
    schedule : NoiseSchedule
    t, t_prev : int
        1 <= t <= T, 0 <= t_prev < t.
    eta : float
        In [0, 1].

    Returns
    -------
    torch.Tensor
        0-d float64 tensor on the schedule's device, >= 0.

    References
    ----------
    Song, Meng & Ermon (2021), Eq. (16).
    """
    _check_pair(schedule, t, t_prev)
    return _ddim_sigma(schedule, t, t_prev, _check_eta(eta))


def _ddim_sigma(schedule, t, t_prev, eta):
    ab_t, ab_s = schedule.alpha_bars[t], schedule.alpha_bars[t_prev]
    return eta * ((1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s)).sqrt()


def ddim_step(
    x_t: torch.Tensor,
    eps: torch.Tensor,
    t: int,
    t_prev: int,
    *,
    schedule: NoiseSchedule,
    noise: torch.Tensor | None = None,
    eta: float = 0.0,
    clip_x0: float | None = None,
    validate: bool = True,
) -> torch.Tensor:
    r"""One DDIM step :math:`x_t \to x_{t'}`: predicted x0, a direction towards x_t, and noise.

    .. math::

        x_{t'} = \sqrt{\bar\alpha_{t'}}\, \hat x_0
        + \sqrt{1 - \bar\alpha_{t'} - \sigma^2}\; \hat\epsilon + \sigma z,
        \qquad \hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon}{\sqrt{\bar\alpha_t}}

    with :math:`\sigma = \sigma_{t \to t'}(\eta)` of :func:`ddim_sigma`. :math:`\eta = 0` is
    deterministic (the probability-flow ODE's discretisation); :math:`\eta = 1` is the DDPM
    ancestral step on the respaced chain.

    Parameters
    ----------
    x_t, eps : torch.Tensor
        (B, ...) current sample and noise estimate.
    t, t_prev : int
        1 <= t <= T, 0 <= t_prev < t.
    schedule : NoiseSchedule
        Keyword-only, like every option.
    noise : torch.Tensor, optional
        z, shape of ``x_t``; required when eta > 0 and t_prev > 0.
    eta : float
        In [0, 1].
    clip_x0 : float, optional
        Clamp :math:`\hat x_0` to [-clip_x0, clip_x0] and recompute :math:`\hat\epsilon` from it.
    validate : bool
        As in :func:`ddpm_step`.

    Returns
    -------
    torch.Tensor
        :math:`x_{t'}`, shape of ``x_t``.

    References
    ----------
    Song, Meng & Ermon (2021), "Denoising Diffusion Implicit Models", Eq. (12).
    """
    if validate:
        _check_pair(schedule, t, t_prev)
        _check_step_args(x_t, eps, "eps", noise)
        eta = _check_eta(eta)
        _check_clip(clip_x0)
    ab_s = schedule.alpha_bars[t_prev].to(x_t.device, x_t.dtype)
    # 1. "predicted x0": Song, Meng & Ermon (2021), Eq. (12), first term
    x0, eps = _x0_and_eps(x_t, eps, t, schedule, clip_x0)
    # 2. sigma_t(eta): Eq. (16)
    sigma = _ddim_sigma(schedule, t, t_prev, eta).to(x_t.device, x_t.dtype)
    # 3. "direction pointing to x_t" and the sum: Eq. (12)
    out = ab_s.sqrt() * x0 + (1 - ab_s - sigma**2).clamp(min=0).sqrt() * eps
    # 4. random noise, Eq. (12), last term
    if eta > 0 and t_prev > 0:
        if noise is None:
            raise ValueError("noise is required when eta > 0: pass noise=torch.randn_like(x_t)")
        out = out + sigma * noise
    return out


def _check_flow_times(t: object, t_prev: object) -> tuple[float, float]:
    t = _check.check_real(t, "t", low=0.0, high=1.0)
    t_prev = _check.check_real(t_prev, "t_prev", low=0.0, high=1.0)
    if not t_prev < t:
        raise ValueError(
            f"t_prev must be below t (time runs from 1 down to 0), got {t_prev} >= {t}"
        )
    return t, t_prev


def euler_step(
    x_t: torch.Tensor, v: torch.Tensor, t: float, t_prev: float, *, validate: bool = True
) -> torch.Tensor:
    r"""One Euler step of the flow-matching ODE :math:`dx/dt = v(x, t)` from t down to t'.

    .. math:: x_{t'} = x_t + (t' - t)\, v(x_t, t)

    Parameters
    ----------
    x_t, v : torch.Tensor
        (B, ...) the current point and the velocity there.
    t, t_prev : float
        Flow times, 0 <= t_prev < t <= 1 (data at 0, noise at 1).
    validate : bool
        As in :func:`ddpm_step`.

    Returns
    -------
    torch.Tensor
        :math:`x_{t'}`, shape of ``x_t``.

    References
    ----------
    Liu, Gong & Liu (2023), "Flow Straight and Fast", ICLR, Sec. 2 (Euler sampling).
    """
    if validate:
        t, t_prev = _check_flow_times(t, t_prev)
        _check_step_args(x_t, v, "v", None)
    return x_t + (t_prev - t) * v


def heun_step(
    x_t: torch.Tensor,
    v: torch.Tensor,
    t: float,
    t_prev: float,
    *,
    predict: Callable[[torch.Tensor, float], torch.Tensor],
    euler_at_zero: bool = False,
    validate: bool = True,
) -> torch.Tensor:
    r"""One step of Heun's second-order method for :math:`dx/dt = v(x, t)` from t down to t'.

    .. math::

        \tilde x = x_t + h\, v_t, \qquad
        x_{t'} = x_t + \tfrac h2 \bigl(v_t + v(\tilde x, t')\bigr), \qquad h = t' - t

    Parameters
    ----------
    x_t, v : torch.Tensor
        (B, ...) the current point and the velocity there.
    t, t_prev : float
        Flow times, 0 <= t_prev < t <= 1.
    predict : callable
        ``predict(x, t_prev) -> v``: the velocity at the Euler guess (one network call).
    euler_at_zero : bool
        Take a plain Euler step when t' = 0, as Karras et al. do where their derivative is
        undefined at :math:`\sigma = 0`. A flow-matching velocity is defined at t = 0, so the
        default (``False``, two evaluations on every step) keeps the second-order correction.
    validate : bool
        As in :func:`ddpm_step`.

    Returns
    -------
    torch.Tensor
        :math:`x_{t'}`, shape of ``x_t``.

    References
    ----------
    Karras, Aittala, Aila & Laine (2022), "Elucidating the Design Space of Diffusion-Based
    Generative Models", NeurIPS, Algorithm 1, lines 5-8.
    """
    if validate:
        t, t_prev = _check_flow_times(t, t_prev)
        _check_step_args(x_t, v, "v", None)
        if not callable(predict):
            raise TypeError(f"predict must be callable as predict(x, t_prev), got {predict!r}")
    h = t_prev - t
    # 1. Euler guess: Karras et al. (2022), Algorithm 1, line 5
    x_next = x_t + h * v
    if euler_at_zero and t_prev == 0:
        return x_next
    # 2. velocity at the guess and the trapezoid average: lines 6-8
    v_next = predict(x_next, t_prev)
    return x_t + 0.5 * h * (v + v_next)


# ----------------------------------------------------------------------------------------------
# One sampling loop
# ----------------------------------------------------------------------------------------------

_OPTIONS = {
    "ddpm": {"variance": "posterior", "clip_x0": None},
    "ddim": {"eta": 0.0, "clip_x0": None},
    "euler": {},
    "heun": {},
}


def _plan(method, schedule, steps, opts):
    # Check the method's options once; return the visited times and the step with options bound.
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    unknown = sorted(set(opts) - set(_OPTIONS[method]))
    if unknown:
        allowed = ", ".join(_OPTIONS[method]) or "none"
        raise TypeError(
            f"method={method!r} takes no option {unknown[0]!r} (its options: {allowed})"
        )
    opts = {**_OPTIONS[method], **opts}
    if method in ("euler", "heun"):
        if schedule is not None:
            raise ValueError(
                f"method={method!r} integrates the flow-matching ODE and takes no schedule: "
                "drop schedule=, or use method='ddpm' or 'ddim' for a noise-prediction model"
            )
        steps = 50 if steps is None else steps
        if not _check.is_int(steps) or steps < 1:
            raise ValueError(f"steps must be a positive int, got {steps!r}")
        times = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64).tolist()
        return times, times, opts
    if schedule is None:
        raise ValueError(
            f"method={method!r} needs the schedule the model was trained with: "
            "pass schedule=linear_schedule(T) or cosine_schedule(T)"
        )
    _check_schedule(schedule)
    _check_clip(opts["clip_x0"])
    if method == "ddpm":
        _check_variance(opts["variance"])
    else:
        opts["eta"] = _check_eta(opts["eta"])
    times = sampling_timesteps(schedule.T, steps)
    return times, [t / schedule.T for t in times], opts


def _check_output(pred: object, x: torch.Tensor) -> None:
    # The first network output only, shape only: no device sync.
    if not isinstance(pred, torch.Tensor) or pred.shape != x.shape:
        got = tuple(pred.shape) if isinstance(pred, torch.Tensor) else type(pred).__name__
        raise ValueError(
            f"model(x, time, labels) must return a tensor shaped like x, {tuple(x.shape)}, got "
            f"{got}: the network's output must match its input (one prediction per value)"
        )


def _start(model, shape, labels, generator, x_init, device):
    _check.check_model_call(model)
    _check_generator(generator)
    shape = _check_shape(shape, x_init, model)
    labels = check_sampler_labels(model, labels, shape[0])
    device = _infer_device(model, x_init, device)
    x = _randn(shape, generator, device) if x_init is None else x_init.to(device)
    if labels is not None:
        labels = labels.to(device)
    return x, labels, device


def _step_fn(method, model, labels, schedule, opts, n, device):
    if method == "ddpm":
        return lambda x, pred, t, s, noise: ddpm_step(
            x, pred, t, s, schedule=schedule, noise=noise, validate=False, **opts
        )
    if method == "ddim":
        return lambda x, pred, t, s, noise: ddim_step(
            x, pred, t, s, schedule=schedule, noise=noise, validate=False, **opts
        )
    if method == "euler":
        return lambda x, pred, t, s, noise: euler_step(x, pred, t, s, validate=False)

    def predict(x, s):
        return model(x, torch.full((n,), s, device=device), labels)

    return lambda x, pred, t, s, noise: heun_step(x, pred, t, s, predict=predict, validate=False)


@torch.no_grad()
def sample(
    model: Model,
    shape: tuple[int, ...] | None,
    *,
    method: str,
    schedule: NoiseSchedule | None = None,
    steps: int | None = None,
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    x_init: torch.Tensor | None = None,
    return_trajectory: bool = False,
    device: torch.device | str | None = None,
    **opts,
):
    r"""Sample from a diffusion or flow-matching model with one of four step rules.

    .. math::

        x_{\tau_S} \sim \mathcal N(0, I), \qquad
        x_{\tau_{i-1}} = \operatorname{step}\bigl(x_{\tau_i},\
        f_\theta(x_{\tau_i}, \tau_i, y),\ \tau_i,\ \tau_{i-1}\bigr), \quad i = S, \dots, 1

    ``method`` picks the step: ``"ddpm"`` (:func:`ddpm_step`) and ``"ddim"`` (:func:`ddim_step`)
    for a noise-prediction model on the integer times of :func:`sampling_timesteps` (the network
    sees :math:`\tau/T`); ``"euler"`` (:func:`euler_step`) and ``"heun"`` (:func:`heun_step`)
    for a flow-matching velocity on the times :math:`1, 1 - 1/S, \dots, 0`. Arguments are checked
    once here (the first network output's shape too); the loop never waits on the device.

    Parameters
    ----------
    model : callable
        ``model(x, time, labels) -> prediction`` shaped like ``x``; ``time`` is (n,) in [0, 1].
        Call ``model.eval()`` first: sampling runs under ``torch.no_grad()``.
    shape : tuple of int
        (n, ...) of the samples; may be None when ``x_init`` is given.
    method : {"ddpm", "ddim", "euler", "heun"}
    schedule : NoiseSchedule, optional
        Required by "ddpm" and "ddim" (the training schedule); refused by "euler" and "heun".
    steps : int, optional
        S: in [1, T] for diffusion (default T); >= 1 for flow matching (default 50).
    labels : torch.Tensor, optional
        (n,) int64 class indices within the model's class embedding.
    generator : torch.Generator, optional
        Source of every random draw (the start and each step's noise); on any device.
    x_init : torch.Tensor, optional
        The start (noise) instead of a draw: finite, of the model's parameter dtype.
    return_trajectory : bool
        Also return the ``(S + 1, *shape)`` stack of every visited point, start first.
    device : torch.device, optional
        Default: ``x_init``'s device, else the model's, else CPU ("meta" is refused).
    \*\*opts
        The step's options: ``variance``, ``clip_x0`` for "ddpm"; ``eta``, ``clip_x0`` for
        "ddim"; none for "euler" and "heun".

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        Samples of ``shape`` (and the trajectory).

    References
    ----------
    Ho, Jain & Abbeel (2020), Algorithm 2; Song, Meng & Ermon (2021), Eq. (12); Lipman et al.
    (2023), Sec. 4; Karras et al. (2022), Algorithm 1.
    """
    times, net_times, opts = _plan(method, schedule, steps, opts)
    x, labels, device = _start(model, shape, labels, generator, x_init, device)
    if schedule is not None:
        schedule = schedule.to(device)
    n = x.shape[0]
    step = _step_fn(method, model, labels, schedule, opts, n, device)
    noisy = method == "ddpm" or (method == "ddim" and opts["eta"] > 0)
    trajectory = [x] if return_trajectory else None
    for i, (t, s) in enumerate(zip(times[:-1], times[1:], strict=True)):
        pred = model(x, torch.full((n,), net_times[i], device=device), labels)
        if i == 0:
            _check_output(pred, x)
        noise = _randn(x.shape, generator, device, x.dtype) if noisy and s > 0 else None
        x = step(x, pred, t, s, noise)
        if trajectory is not None:
            trajectory.append(x)
    return (x, torch.stack(trajectory)) if return_trajectory else x


def ddpm_sample(
    model: Model,
    shape: tuple[int, ...] | None,
    schedule: NoiseSchedule,
    *,
    steps: int | None = None,
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    x_init: torch.Tensor | None = None,
    variance: str = "posterior",
    clip_x0: float | None = None,
    return_trajectory: bool = False,
    device: torch.device | str | None = None,
):
    r"""Ancestral sampling of a noise-prediction model (Ho et al., 2020, Algorithm 2).

    .. math::

        x_T \sim \mathcal N(0, I), \qquad x_{\tau_{i-1}} = \tilde\mu(x_{\tau_i},
        \hat x_0(x_{\tau_i}, \epsilon_\theta)) + \sigma_{\tau_i} z_i, \quad i = S, \dots, 1

    :func:`sample` with ``method="ddpm"`` (:func:`ddpm_step`). With S = T this is Algorithm 2;
    with S < T it samples the respaced chain of Nichol & Dhariwal (2021), the same as
    :func:`ddim_sample` with eta = 1.

    Parameters
    ----------
    model : callable
        ``model(x, t / T, labels) -> eps_hat``.
    shape : tuple of int
        (n, ...) of the samples, e.g. (64, 1, 28, 28); may be None when ``x_init`` is given.
    schedule : NoiseSchedule
        The schedule the model was trained with.
    steps : int, optional
        S in [1, T]; default T.
    labels, generator, x_init, return_trajectory, device
        As in :func:`sample`.
    variance : {"posterior", "beta"}
        :math:`\sigma_t^2 = \tilde\beta_t` or :math:`\beta_t`.
    clip_x0 : float, optional
        Clamp the predicted x0 (1.0 for images in [-1, 1]).

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        Samples of ``shape`` (and the ``(S + 1, *shape)`` trajectory).

    References
    ----------
    Ho, Jain & Abbeel (2020), Algorithm 2; Nichol & Dhariwal (2021), Sec. 4.
    """
    if schedule is None:
        _check_schedule(schedule)
    return sample(
        model, shape, method="ddpm", schedule=schedule, steps=steps, labels=labels,
        generator=generator, x_init=x_init, return_trajectory=return_trajectory, device=device,
        variance=variance, clip_x0=clip_x0,
    )  # fmt: skip


def ddim_sample(
    model: Model,
    shape: tuple[int, ...] | None,
    schedule: NoiseSchedule,
    *,
    steps: int | None = None,
    eta: float = 0.0,
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    x_init: torch.Tensor | None = None,
    clip_x0: float | None = None,
    return_trajectory: bool = False,
    device: torch.device | str | None = None,
):
    r"""DDIM sampling on S <= T evenly spaced steps (Song, Meng & Ermon, 2021).

    :func:`sample` with ``method="ddim"``: :func:`ddim_step` over :math:`\tau_S = T > \dots >
    \tau_0 = 0`. With ``eta=0`` the map from :math:`x_T` to the sample is deterministic (the
    generator is used only to draw :math:`x_T`); with ``eta=1`` it is the DDPM ancestral sampler
    on the respaced chain.

    Parameters
    ----------
    model : callable
        ``model(x, t / T, labels) -> eps_hat``.
    shape : tuple of int
        (n, ...); may be None when ``x_init`` is given.
    schedule : NoiseSchedule
    steps : int, optional
        S in [1, T]; default T.
    eta : float
        In [0, 1].
    labels, generator, x_init, clip_x0, return_trajectory, device
        As in :func:`sample` and :func:`ddpm_sample`.

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        Samples of ``shape`` (and the ``(S + 1, *shape)`` trajectory).

    References
    ----------
    Song, Meng & Ermon (2021), Eqs. (12) and (16), Sec. 4.2 (sub-sequences of steps).
    """
    if schedule is None:
        _check_schedule(schedule)
    return sample(
        model, shape, method="ddim", schedule=schedule, steps=steps, labels=labels,
        generator=generator, x_init=x_init, return_trajectory=return_trajectory, device=device,
        eta=eta, clip_x0=clip_x0,
    )  # fmt: skip


def flow_matching_sample(
    model: Model,
    shape: tuple[int, ...] | None,
    *,
    steps: int = 50,
    method: str = "euler",
    labels: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    x_init: torch.Tensor | None = None,
    return_trajectory: bool = False,
    device: torch.device | str | None = None,
):
    r"""Integrate the flow-matching ODE from noise (time 1) to data (time 0).

    .. math::

        \frac{dx}{dt} = v_\theta(x, t), \qquad x(1) \sim \mathcal N(0, I), \qquad
        t_i = i / S,\ h = -1/S

    Euler: :math:`x_{t_{i-1}} = x_{t_i} + h\, v_\theta(x_{t_i}, t_i)`. Heun (second order):
    :math:`\tilde x = x_{t_i} + h\, v_i`, then :math:`x_{t_{i-1}} = x_{t_i} + \tfrac h2
    (v_i + v_\theta(\tilde x, t_{i-1}))`. Data at t = 0, noise at t = 1 (see
    :mod:`aigc_course.losses.diffusion`). :func:`sample` with ``method="euler"`` or ``"heun"``.

    Parameters
    ----------
    model : callable
        ``model(x, t, labels) -> v_hat``, the velocity :math:`dx/dt`.
    shape : tuple of int
        (n, ...); may be None when ``x_init`` is given.
    steps : int
        S >= 1 (there are no "training steps" to exceed: time is continuous).
    method : {"euler", "heun"}
        Heun costs two network evaluations per step.
    labels, generator, x_init, return_trajectory, device
        As in :func:`sample`; ``x_init`` is :math:`x(1)`.

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        Samples of ``shape`` (and the ``(S + 1, *shape)`` trajectory at times 1, ..., 1/S, 0).

    References
    ----------
    Lipman et al. (2023), Sec. 4 and App. E; Liu, Gong & Liu (2023), Sec. 2;
    Karras et al. (2022), Algorithm 1 (Heun).
    """
    if method not in ("euler", "heun"):
        raise ValueError(f"method must be 'euler' or 'heun', got {method!r}")
    return sample(
        model, shape, method=method, steps=steps, labels=labels, generator=generator,
        x_init=x_init, return_trajectory=return_trajectory, device=device,
    )  # fmt: skip
