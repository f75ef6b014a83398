r"""Samplers: DDPM ancestral sampling, DDIM, and Euler / Heun for the flow-matching ODE.

Every sampler takes the network as a callable ``model(x, time, labels)`` (``time`` a float
tensor (B,) in [0, 1]: :math:`t/T` for diffusion, the flow time for flow matching), a shape,
and a ``torch.Generator``; it returns the samples, or ``(samples, trajectory)`` with the
trajectory stacked as ``(S + 1, *shape)``, from the noise (index 0) to the result (index S).
Wrap the model in :class:`~aigc_course.diffusion.guidance.ClassifierFreeGuidance` to guide it.

Samplers run under ``torch.no_grad()`` and do not change the model's train/eval mode: call
``model.eval()`` first. Arguments are checked once at entry; the loop itself never waits on the
device. With ``steps = S < T`` the diffusion samplers visit the evenly spaced integer times of
:func:`sampling_timesteps`, T = tau_S > ... > tau_0 = 0.

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

from aigc_course.diffusion.schedules import NoiseSchedule, _check_schedule, _posterior_coefs

__all__ = [
    "ddim_sample",
    "ddim_sigma",
    "ddim_step",
    "ddpm_sample",
    "ddpm_step",
    "flow_sample",
    "sampling_timesteps",
]

Model = Callable[..., torch.Tensor]


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
    steps = T if steps is None else steps
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if steps > T:
        raise ValueError(
            f"steps={steps} is more sampling steps than the schedule's T={T} training steps: "
            f"use steps <= {T} (a diffusion model only knows the times it was trained on)"
        )
    return torch.linspace(T, 0, steps + 1, dtype=torch.float64).round().long().tolist()


# ----------------------------------------------------------------------------------------------
# Entry checks
# ----------------------------------------------------------------------------------------------


def _check_model(model: object) -> None:
    if not callable(model):
        raise TypeError(
            f"model must be callable as model(x, time, labels), got {type(model).__name__}"
        )


def _infer_device(model: object, x_init: torch.Tensor | None, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    if x_init is not None:
        return x_init.device
    inner = getattr(model, "model", model)
    if isinstance(inner, nn.Module):
        for p in inner.parameters():
            return p.device
    return torch.device("cpu")


def _check_shape(shape: object, x_init: torch.Tensor | None) -> tuple[int, ...]:
    if x_init is not None:
        if not isinstance(x_init, torch.Tensor):
            raise TypeError(f"x_init must be a torch.Tensor, got {type(x_init).__name__}")
        if shape is not None and tuple(shape) != tuple(x_init.shape):
            raise ValueError(
                f"x_init has shape {tuple(x_init.shape)} but shape={tuple(shape)}: pass one of them"
            )
        return tuple(x_init.shape)
    if (
        not isinstance(shape, (tuple, list, torch.Size))
        or len(shape) < 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)
    ):
        raise ValueError(
            f"shape must be a tuple (n, ...) of positive ints, e.g. (64, 1, 28, 28) or (500, 2), "
            f"got {shape!r}"
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
    if labels.shape != (n,):
        raise ValueError(
            f"labels must have shape ({n},), one per sample, got {tuple(labels.shape)}"
        )
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


def _randn(shape, generator: torch.Generator | None, device: torch.device, dtype=None):
    if generator is None:
        return torch.randn(shape, device=device, dtype=dtype)
    return torch.randn(shape, generator=generator, device=generator.device, dtype=dtype).to(device)


def _check_clip(clip_x0: object) -> None:
    if clip_x0 is not None and not (isinstance(clip_x0, (int, float)) and clip_x0 > 0):
        raise ValueError(
            f"clip_x0 must be None or a positive number (1.0 for images), got {clip_x0!r}"
        )


# ----------------------------------------------------------------------------------------------
# One step (weight-free math; no checks that wait on the device)
# ----------------------------------------------------------------------------------------------


def _x0_and_eps(x_t, eps, ab_t, clip_x0):
    x0 = (x_t - (1 - ab_t).sqrt() * eps) / ab_t.sqrt()
    if clip_x0 is not None:
        x0 = x0.clamp(-clip_x0, clip_x0)
        eps = (x_t - ab_t.sqrt() * x0) / (1 - ab_t).sqrt()
    return x0, eps


def ddpm_step(
    x_t: torch.Tensor,
    eps: torch.Tensor,
    t: int,
    t_prev: int,
    schedule: NoiseSchedule,
    noise: torch.Tensor | None = None,
    *,
    variance: str = "posterior",
    clip_x0: float | None = None,
) -> torch.Tensor:
    r"""One ancestral step :math:`x_t \to x_{t'}` of the reverse process, :math:`t' < t`.

    .. math::

        \hat x_0 = \frac{x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon}{\sqrt{\bar\alpha_t}}, \qquad
        x_{t'} = \tilde\mu_{t}(x_t, \hat x_0) + \sigma_t z, \qquad z \sim \mathcal N(0, I)

    with :math:`\tilde\mu` of :func:`~aigc_course.diffusion.schedules.q_posterior` and
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
    noise : torch.Tensor, optional
        z, shape of ``x_t``; required when t_prev > 0.
    variance : {"posterior", "beta"}
    clip_x0 : float, optional
        Clamp :math:`\hat x_0` to [-clip_x0, clip_x0] (1.0 for images in [-1, 1]).

    Returns
    -------
    torch.Tensor
        :math:`x_{t'}`, shape of ``x_t``.

    References
    ----------
    Ho, Jain & Abbeel (2020), Algorithm 2 and Sec. 3.2 (the two variance choices).
    """
    ab_t = schedule.alpha_bars[t].to(x_t.device, x_t.dtype)
    # 1. predicted x0 from predicted noise: Ho et al. (2020), Eq. (15)
    x0, _ = _x0_and_eps(x_t, eps, ab_t, clip_x0)
    # 2. mean of the posterior q(x_{t'} | x_t, x0): Eq. (7)
    coef_x0, coef_xt, post_var = _posterior_coefs(schedule, t, t_prev, x_t)
    mean = coef_x0 * x0 + coef_xt * x_t
    # 3. add noise of variance beta-tilde or beta: Sec. 3.2, Algorithm 2 line 4
    if t_prev == 0:
        return mean
    if noise is None:
        raise ValueError("noise is required when t_prev > 0: pass torch.randn_like(x_t)")
    if variance == "posterior":
        var = post_var
    else:
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

    Returns
    -------
    torch.Tensor
        0-d float64 tensor on the schedule's device, >= 0.

    References
    ----------
    Song, Meng & Ermon (2021), Eq. (16).
    """
    ab_t, ab_s = schedule.alpha_bars[t], schedule.alpha_bars[t_prev]
    return eta * ((1 - ab_s) / (1 - ab_t) * (1 - ab_t / ab_s)).sqrt()


def ddim_step(
    x_t: torch.Tensor,
    eps: torch.Tensor,
    t: int,
    t_prev: int,
    schedule: NoiseSchedule,
    eta: float = 0.0,
    noise: torch.Tensor | None = None,
    *,
    clip_x0: float | None = None,
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
    eta : float
        In [0, 1].
    noise : torch.Tensor, optional
        z, shape of ``x_t``; required when eta > 0 and t_prev > 0.
    clip_x0 : float, optional
        Clamp :math:`\hat x_0` to [-clip_x0, clip_x0] and recompute :math:`\hat\epsilon` from it.

    Returns
    -------
    torch.Tensor
        :math:`x_{t'}`, shape of ``x_t``.

    References
    ----------
    Song, Meng & Ermon (2021), "Denoising Diffusion Implicit Models", Eq. (12).
    """
    ab_t = schedule.alpha_bars[t].to(x_t.device, x_t.dtype)
    ab_s = schedule.alpha_bars[t_prev].to(x_t.device, x_t.dtype)
    # 1. "predicted x0": Song, Meng & Ermon (2021), Eq. (12), first term
    x0, eps = _x0_and_eps(x_t, eps, ab_t, clip_x0)
    # 2. sigma_t(eta): Eq. (16)
    sigma = ddim_sigma(schedule, t, t_prev, eta).to(x_t.device, x_t.dtype)
    # 3. "direction pointing to x_t" and the sum: Eq. (12)
    out = ab_s.sqrt() * x0 + (1 - ab_s - sigma**2).clamp(min=0).sqrt() * eps
    # 4. random noise, Eq. (12), last term
    if eta > 0 and t_prev > 0:
        if noise is None:
            raise ValueError("noise is required when eta > 0: pass torch.randn_like(x_t)")
        out = out + sigma * noise
    return out


# ----------------------------------------------------------------------------------------------
# Samplers
# ----------------------------------------------------------------------------------------------


def _finish(x, trajectory, return_trajectory):
    if return_trajectory:
        return x, torch.stack(trajectory)
    return x


def _start(model, shape, schedule, labels, generator, x_init, device):
    _check_model(model)
    if schedule is not None:
        _check_schedule(schedule)
    _check_generator(generator)
    shape = _check_shape(shape, x_init)
    labels = check_sampler_labels(model, labels, shape[0])
    device = _infer_device(model, x_init, device)
    x = _randn(shape, generator, device) if x_init is None else x_init.to(device)
    if labels is not None:
        labels = labels.to(device)
    return x, labels, device


@torch.no_grad()
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

    (:func:`ddpm_step`). With S = T this is Algorithm 2; with S < T it samples the respaced chain
    of Nichol & Dhariwal (2021), the same as :func:`ddim_sample` with eta = 1.

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
    labels : torch.Tensor, optional
        (n,) int64 class indices within the model's class embedding.
    generator : torch.Generator, optional
        Source of every random draw (x_T and each z); on any device.
    x_init : torch.Tensor, optional
        :math:`x_T` to start from instead of drawing it.
    variance : {"posterior", "beta"}
        :math:`\sigma_t^2 = \tilde\beta_t` or :math:`\beta_t`.
    clip_x0 : float, optional
        Clamp the predicted x0 (1.0 for images in [-1, 1]).
    return_trajectory : bool
        Also return the ``(S + 1, *shape)`` stack of :math:`x_{\tau_S}, \dots, x_{\tau_0}`.
    device : torch.device, optional
        Default: ``x_init``'s device, else the model's, else CPU.

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        Samples of ``shape`` (and the trajectory).

    References
    ----------
    Ho, Jain & Abbeel (2020), Algorithm 2; Nichol & Dhariwal (2021), Sec. 4.
    """
    if variance not in ("posterior", "beta"):
        raise ValueError(f"variance must be 'posterior' or 'beta', got {variance!r}")
    _check_clip(clip_x0)
    _check_schedule(schedule)
    times = sampling_timesteps(schedule.T, steps)
    x, labels, device = _start(model, shape, schedule, labels, generator, x_init, device)
    schedule = schedule.to(device)
    trajectory = [x] if return_trajectory else None
    for t, s in zip(times[:-1], times[1:], strict=True):
        eps = model(x, torch.full((x.shape[0],), t / schedule.T, device=device), labels)
        noise = _randn(x.shape, generator, device, x.dtype) if s > 0 else None
        x = ddpm_step(x, eps, t, s, schedule, noise, variance=variance, clip_x0=clip_x0)
        if trajectory is not None:
            trajectory.append(x)
    return _finish(x, trajectory, return_trajectory)


@torch.no_grad()
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

    Runs :func:`ddim_step` over :math:`\tau_S = T > \dots > \tau_0 = 0`. With ``eta=0`` the map
    from :math:`x_T` to the sample is deterministic (the generator is used only to draw
    :math:`x_T`); with ``eta=1`` it is the DDPM ancestral sampler on the respaced chain.

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
        As in :func:`ddpm_sample`.

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        Samples of ``shape`` (and the ``(S + 1, *shape)`` trajectory).

    References
    ----------
    Song, Meng & Ermon (2021), Eqs. (12) and (16), Sec. 4.2 (sub-sequences of steps).
    """
    if not (isinstance(eta, (int, float)) and 0.0 <= eta <= 1.0):
        raise ValueError(f"eta must be in [0, 1] (0: deterministic DDIM, 1: DDPM), got {eta!r}")
    _check_clip(clip_x0)
    _check_schedule(schedule)
    times = sampling_timesteps(schedule.T, steps)
    x, labels, device = _start(model, shape, schedule, labels, generator, x_init, device)
    schedule = schedule.to(device)
    trajectory = [x] if return_trajectory else None
    for t, s in zip(times[:-1], times[1:], strict=True):
        eps = model(x, torch.full((x.shape[0],), t / schedule.T, device=device), labels)
        noise = _randn(x.shape, generator, device, x.dtype) if eta > 0 and s > 0 else None
        x = ddim_step(x, eps, t, s, schedule, eta, noise, clip_x0=clip_x0)
        if trajectory is not None:
            trajectory.append(x)
    return _finish(x, trajectory, return_trajectory)


@torch.no_grad()
def flow_sample(
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
    :mod:`aigc_course.diffusion.losses`).

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
        As in :func:`ddpm_sample`; ``x_init`` is :math:`x(1)`.

    Returns
    -------
    torch.Tensor or (torch.Tensor, torch.Tensor)
        Samples of ``shape`` (and the ``(S + 1, *shape)`` trajectory at times 1, ..., 1/S, 0).

    References
    ----------
    Lipman et al. (2023), Sec. 4 and App. E; Liu, Gong & Liu (2023), Sec. 2;
    Karras et al. (2022), Algorithm 1 (Heun).
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    if method not in ("euler", "heun"):
        raise ValueError(f"method must be 'euler' or 'heun', got {method!r}")
    x, labels, device = _start(model, shape, None, labels, generator, x_init, device)
    trajectory = [x] if return_trajectory else None
    n = x.shape[0]
    times = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64).tolist()
    for t, s in zip(times[:-1], times[1:], strict=True):
        h = s - t
        v = model(x, torch.full((n,), t, device=device), labels)
        x_next = x + h * v
        if method == "heun":
            v_next = model(x_next, torch.full((n,), s, device=device), labels)
            x_next = x + 0.5 * h * (v + v_next)
        x = x_next
        if trajectory is not None:
            trajectory.append(x)
    return _finish(x, trajectory, return_trajectory)
