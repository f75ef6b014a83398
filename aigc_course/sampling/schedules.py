r"""Noise schedules and the closed forms of the forward (noising) process.

Conventions used across :mod:`aigc_course.sampling`
----------------------------------------------------
* Discrete time follows Ho et al. (2020): :math:`t \in \{0, 1, \dots, T\}`, :math:`x_0` is the
  data and :math:`x_T` is (almost) pure noise. Every tensor of a :class:`NoiseSchedule` has
  length :math:`T + 1` and is indexed by :math:`t` directly, with :math:`\beta_0 = 0` and
  :math:`\bar\alpha_0 = 1` (so that ``alpha_bars[t]`` is the paper's :math:`\bar\alpha_t`).
* A network never sees the integer :math:`t`: it sees the float time :math:`t / T \in [0, 1]`
  (:func:`model_time`), the same range a flow-matching network sees, so one architecture serves
  both objectives. Time 0 is the data, time 1 the noise, for diffusion and flow alike.
* Schedules are computed in float64 and stored in float64; gathered values are cast to the dtype
  of the tensor they multiply.

References
----------
Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models", NeurIPS, Eqs. (4), (6), (7).
Nichol & Dhariwal (2021), "Improved Denoising Diffusion Probabilistic Models", ICML, Eq. (17)
(the cosine schedule) and the 1000/T scaling of the linear schedule.
Kingma, Salimans, Poole & Ho (2021), "Variational Diffusion Models", NeurIPS, Eqs. (3)-(5) (the
posterior between any two times s < t).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from aigc_course import _check

__all__ = [
    "NoiseSchedule",
    "cosine_schedule",
    "linear_schedule",
    "log_snr",
    "model_time",
    "predict_x0",
    "q_posterior",
    "q_sample",
    "score_from_epsilon",
]


@dataclass(frozen=True, eq=False)
class NoiseSchedule:
    r"""A variance schedule :math:`\beta_1, \dots, \beta_T` and the products derived from it.

    .. math::

        \alpha_t = 1 - \beta_t, \qquad \bar\alpha_t = \prod_{s=1}^{t} \alpha_s, \qquad
        \beta_0 = 0,\ \bar\alpha_0 = 1

    Build one with :func:`linear_schedule` or :func:`cosine_schedule`, or from your own betas
    with :meth:`from_betas`.

    Attributes
    ----------
    betas : torch.Tensor
        (T + 1,) float64, :math:`\beta_t`, with ``betas[0] = 0`` and ``betas[1:]`` in (0, 1).
    alphas : torch.Tensor
        (T + 1,) float64, :math:`\alpha_t = 1 - \beta_t`.
    alpha_bars : torch.Tensor
        (T + 1,) float64, :math:`\bar\alpha_t`, decreasing from 1 (t = 0) towards 0 (t = T).

    References
    ----------
    Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models", Sec. 2.
    """

    betas: torch.Tensor
    alphas: torch.Tensor
    alpha_bars: torch.Tensor

    def __post_init__(self) -> None:
        _check_schedule_tensors(self.betas, self.alphas, self.alpha_bars)

    @classmethod
    def _trusted(cls, betas, alphas, alpha_bars) -> NoiseSchedule:
        # A copy of a checked schedule (e.g. on another device): no second check, no sync.
        out = object.__new__(cls)
        object.__setattr__(out, "betas", betas)
        object.__setattr__(out, "alphas", alphas)
        object.__setattr__(out, "alpha_bars", alpha_bars)
        return out

    @classmethod
    def from_betas(cls, betas: torch.Tensor) -> NoiseSchedule:
        r"""Build a schedule from :math:`\beta_1, \dots, \beta_T` (shape (T,), values in (0, 1))."""
        if not isinstance(betas, torch.Tensor) or betas.ndim != 1 or betas.numel() < 1:
            raise ValueError(
                "betas must be a 1-D tensor of beta_1..beta_T (length T >= 1), "
                f"got {betas if not isinstance(betas, torch.Tensor) else tuple(betas.shape)}"
            )
        betas = betas.detach().to(device="cpu", dtype=torch.float64)
        if not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError(
                f"every beta must lie in (0, 1), got min {betas.min().item():.3g} and max "
                f"{betas.max().item():.3g}: lower beta_end or raise T"
            )
        betas = torch.cat([torch.zeros(1, dtype=torch.float64), betas])
        alphas = 1.0 - betas
        return cls(betas=betas, alphas=alphas, alpha_bars=torch.cumprod(alphas, 0))

    @property
    def T(self) -> int:  # noqa: N802 (the papers' name)
        r"""The number of diffusion steps :math:`T`."""
        return self.betas.numel() - 1

    @property
    def device(self) -> torch.device:
        return self.betas.device

    def to(self, device: torch.device | str) -> NoiseSchedule:
        r"""The same schedule on ``device`` (``self`` when it is already there)."""
        device = torch.device(device)
        if self.betas.device == device:
            return self
        return NoiseSchedule._trusted(
            self.betas.to(device), self.alphas.to(device), self.alpha_bars.to(device)
        )


def _check_schedule_tensors(betas: object, alphas: object, alpha_bars: object) -> None:
    r"""A hand-built schedule must be one: same lengths, betas[0] = 0, alpha-bar in (0, 1],
    decreasing from 1, alphas = 1 - betas and alpha-bar their running product."""
    fix = "build it with linear_schedule(T), cosine_schedule(T) or NoiseSchedule.from_betas(betas)"
    for name, value in (("betas", betas), ("alphas", alphas), ("alpha_bars", alpha_bars)):
        _check.check_tensor(value, f"NoiseSchedule.{name}", ndim=1, floating=True)
    if not betas.shape == alphas.shape == alpha_bars.shape or betas.numel() < 2:
        raise ValueError(
            "NoiseSchedule.betas, alphas and alpha_bars must have the same length T + 1 >= 2, got "
            f"{betas.numel()}, {alphas.numel()} and {alpha_bars.numel()}: {fix}"
        )
    b, a, ab = (v.detach().to("cpu", torch.float64) for v in (betas, alphas, alpha_bars))
    if not bool(torch.isfinite(b).all() and torch.isfinite(a).all() and torch.isfinite(ab).all()):
        raise ValueError(f"NoiseSchedule holds NaN or Inf values: {fix}")
    if b[0] != 0 or ab[0] != 1:
        raise ValueError(
            "NoiseSchedule must be indexed by t from 0: betas[0] = 0 and alpha_bars[0] = 1, got "
            f"{b[0].item():.3g} and {ab[0].item():.3g}: {fix}"
        )
    if not bool(((ab > 0) & (ab <= 1)).all()):
        raise ValueError(
            f"NoiseSchedule.alpha_bars must lie in (0, 1], got values in [{ab.min().item():.3g}, "
            f"{ab.max().item():.3g}]: {fix}"
        )
    if not bool((ab[1:] < ab[:-1]).all()):
        raise ValueError(f"NoiseSchedule.alpha_bars must decrease strictly with t: {fix}")
    double = all(v.dtype == torch.float64 for v in (betas, alphas, alpha_bars))
    atol, rtol = (1e-12, 1e-9) if double else (1e-6, 1e-4)  # float32: rounding of 1 - beta
    if not torch.allclose(a, 1 - b, rtol=0, atol=atol) or not torch.allclose(
        ab, torch.cumprod(a, 0), rtol=rtol, atol=1e-300
    ):
        raise ValueError(
            "NoiseSchedule is inconsistent: alphas must equal 1 - betas and alpha_bars their "
            f"running product: {fix}"
        )


def _check_T(T: object) -> int:  # noqa: N802
    if not _check.is_int(T) or T < 1:
        raise ValueError(f"T (number of diffusion steps) must be a positive int, got {T!r}")
    return T


def linear_schedule(
    T: int,  # noqa: N803
    beta_start: float | None = None,
    beta_end: float | None = None,
) -> NoiseSchedule:
    r"""Linearly spaced betas (Ho et al., 2020), scaled by 1000 / T as in Nichol & Dhariwal (2021).

    .. math::

        \beta_t = \beta_{\text{start}} + \frac{t - 1}{T - 1}\,(\beta_{\text{end}} - \beta_{\text{start}}),
        \qquad t = 1, \dots, T

    Defaults are :math:`\beta_{\text{start}} = 10^{-4} \cdot 1000/T` and
    :math:`\beta_{\text{end}} = 0.02 \cdot 1000/T`: Ho et al.'s values at T = 1000, and about the
    same end point for other T (:math:`\bar\alpha_T` = 4.0e-5 at T = 1000, 2.0e-5 at T = 100,
    7.7e-6 at T = 50), since :math:`\sum_t \beta_t` stays near 10. T must exceed 20, where
    :math:`\beta_T` would reach 1.

    Parameters
    ----------
    T : int
        Number of steps, >= 1.
    beta_start, beta_end : float, optional
        :math:`\beta_1` and :math:`\beta_T`, in (0, 1).

    Returns
    -------
    NoiseSchedule

    References
    ----------
    Ho, Jain & Abbeel (2020), Sec. 4; Nichol & Dhariwal (2021), Sec. 3.2 and their released code.
    """
    _check_T(T)
    scale = 1000.0 / T
    start = 1e-4 * scale if beta_start is None else beta_start
    end = 0.02 * scale if beta_end is None else beta_end
    for name, value in (("beta_start", start), ("beta_end", end)):
        if not (isinstance(value, (int, float)) and 0.0 < value < 1.0):
            raise ValueError(
                f"{name} must be in (0, 1), got {value!r}: with T={T} the default scaling "
                "1000/T makes it too large; raise T (>= 21) or pass beta_start and beta_end"
            )
    return NoiseSchedule.from_betas(torch.linspace(start, end, T, dtype=torch.float64))


def cosine_schedule(T: int, s: float = 0.008, max_beta: float = 0.999) -> NoiseSchedule:  # noqa: N803
    r"""The cosine schedule of Nichol & Dhariwal (2021): alpha-bar follows a squared cosine.

    .. math::

        \bar\alpha_t = \frac{f(t)}{f(0)}, \qquad
        f(t) = \cos^2\!\Bigl(\frac{t/T + s}{1 + s} \cdot \frac{\pi}{2}\Bigr), \qquad
        \beta_t = \min\Bigl(1 - \frac{\bar\alpha_t}{\bar\alpha_{t-1}},\ \beta_{\max}\Bigr)

    Parameters
    ----------
    T : int
        Number of steps, >= 1.
    s : float
        Small offset >= 0 that keeps :math:`\beta_1` from being tiny (0.008 in the paper).
    max_beta : float
        Clip in (0, 1) that avoids the singularity at t = T (0.999 in the paper).

    Returns
    -------
    NoiseSchedule
        ``alpha_bars`` equals :math:`f(t)/f(0)` exactly wherever no beta was clipped.

    References
    ----------
    Nichol & Dhariwal (2021), "Improved Denoising Diffusion Probabilistic Models", Eq. (17).
    """
    _check_T(T)
    if not (isinstance(s, (int, float)) and s >= 0):
        raise ValueError(f"s must be a number >= 0, got {s!r}")
    if not (isinstance(max_beta, (int, float)) and 0 < max_beta < 1):
        raise ValueError(f"max_beta must be in (0, 1), got {max_beta!r}")
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    alpha_bars = f / f[0]
    betas = (1 - alpha_bars[1:] / alpha_bars[:-1]).clamp(min=1e-12, max=max_beta)
    return NoiseSchedule.from_betas(betas)


def _check_schedule(schedule: object) -> NoiseSchedule:
    if not isinstance(schedule, NoiseSchedule):
        raise TypeError(
            "schedule must be a NoiseSchedule (from linear_schedule(T) or cosine_schedule(T)), "
            f"got {type(schedule).__name__}"
        )
    return schedule


def check_timesteps(t: object, schedule: NoiseSchedule, batch: int, *, low: int = 0) -> None:
    r"""Check integer timesteps: int64, shape (B,), values in [low, T]; raise a clear error."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(
            f"t must be a torch.Tensor of int64 timesteps, shape ({batch},), got "
            f"{type(t).__name__}: use torch.full(({batch},), t)"
        )
    if t.dtype != torch.long:
        hint = (
            " (a float time in [0, 1] is what networks see; multiply by T and round)"
            if t.is_floating_point()
            else ""
        )
        raise TypeError(f"t must be int64 timesteps, got dtype {t.dtype}: use t.long(){hint}")
    if t.shape != (batch,):
        raise ValueError(
            f"t must have shape ({batch},), one timestep per example of x0 (its first axis: "
            f"x0 and t must agree on the batch size), got {tuple(t.shape)}"
        )
    if t.numel() and (int(t.min()) < low or int(t.max()) > schedule.T):
        bad = int(t.min()) if int(t.min()) < low else int(t.max())
        raise ValueError(
            f"t must lie in [{low}, {schedule.T}] (this schedule has T={schedule.T}), found {bad}: "
            f"draw t with torch.randint({max(low, 1)}, {schedule.T + 1}, (B,))"
        )


def _gather(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    r"""``values[t]`` reshaped to (B, 1, ..., 1) so it broadcasts against ``like`` (B, ...)."""
    out = values.to(like.device)[t.to(like.device)].to(like.dtype)
    return out.view(-1, *([1] * (like.ndim - 1)))


def q_sample(
    x0: torch.Tensor,
    t: torch.Tensor,
    noise: torch.Tensor,
    schedule: NoiseSchedule,
    *,
    validate: bool = True,
) -> torch.Tensor:
    r"""Draw :math:`x_t \sim q(x_t \mid x_0)` in one step, by the closed form of the forward chain.

    .. math::

        q(x_t \mid x_0) = \mathcal N\bigl(x_t;\ \sqrt{\bar\alpha_t}\, x_0,\ (1 - \bar\alpha_t) I\bigr),
        \qquad x_t = \sqrt{\bar\alpha_t}\, x_0 + \sqrt{1 - \bar\alpha_t}\, \epsilon

    It equals running :math:`x_s = \sqrt{1-\beta_s}\, x_{s-1} + \sqrt{\beta_s}\, z_s` for
    s = 1, ..., t (the tests check this by Monte Carlo).

    Parameters
    ----------
    x0 : torch.Tensor
        (B, ...) clean data.
    t : torch.Tensor
        (B,) int64 timesteps in [0, T]; t = 0 returns ``x0``.
    noise : torch.Tensor
        :math:`\epsilon`, same shape as ``x0``, standard normal.
    schedule : NoiseSchedule
    validate : bool
        Check the arguments (reads ``t``'s values); ``False`` inside a training loop.

    Returns
    -------
    torch.Tensor
        :math:`x_t`, same shape and dtype as ``x0``.

    References
    ----------
    Ho, Jain & Abbeel (2020), Eq. (4).
    """
    if validate:
        _check_schedule(schedule)
        _check_batch(x0, "x0")
        check_timesteps(t, schedule, x0.shape[0])
        _check.check_same_shape(noise, "noise", x0, "x0")
    ab = _gather(schedule.alpha_bars, t, x0)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def _posterior_coefs(schedule: NoiseSchedule, t: int, s: int, like: torch.Tensor):
    ab_t = schedule.alpha_bars[t].to(like.device, like.dtype)
    ab_s = schedule.alpha_bars[s].to(like.device, like.dtype)
    alpha_ts = ab_t / ab_s
    beta_ts = 1 - alpha_ts
    coef_x0 = ab_s.sqrt() * beta_ts / (1 - ab_t)
    coef_xt = alpha_ts.sqrt() * (1 - ab_s) / (1 - ab_t)
    variance = (1 - ab_s) / (1 - ab_t) * beta_ts
    return coef_x0, coef_xt, variance


def _check_pair(t: object, s: object, schedule: NoiseSchedule) -> tuple[int, int]:
    t = _check.check_step(t, "t", 1, schedule.T)
    s = t - 1 if s is None else s
    return t, _check.check_step(s, "t_prev", 0, t - 1)


def _check_batch(x: object, name: str) -> torch.Tensor:
    # A floating (B, ...) tensor with B >= 1: shape and dtype only, no device sync.
    return _check.check_tensor(x, name, floating=True, shape_hint="(B, ...)")


def _check_t(t: object, schedule: NoiseSchedule, batch: int, low: int = 0) -> None:
    # One int for the whole batch, or (B,) int64 steps (the latter reads the values).
    if isinstance(t, torch.Tensor):
        check_timesteps(t, schedule, batch, low=low)
    else:
        _check.check_step(t, "t", low, schedule.T)


def log_snr(schedule: NoiseSchedule) -> torch.Tensor:
    r"""Log signal-to-noise ratio of every step of a schedule, the axis that compares schedules.

    .. math::

        \lambda_t = \log \frac{\bar\alpha_t}{1 - \bar\alpha_t}, \qquad t = 0, \dots, T

    For :math:`x_t = \alpha_t x_0 + \sigma_t \epsilon` in general, :math:`\lambda_t =
    \log(\alpha_t^2 / \sigma_t^2)`; the flow-matching path :math:`\alpha_t = 1 - t`,
    :math:`\sigma_t = t` has :math:`\lambda_t = 2 \log((1 - t) / t)`.

    Parameters
    ----------
    schedule : NoiseSchedule

    Returns
    -------
    torch.Tensor
        (T + 1,) float64, decreasing; :math:`+\infty` at t = 0 (no noise).

    References
    ----------
    Kingma, Salimans, Poole & Ho (2021), "Variational Diffusion Models", NeurIPS, Eq. (2).
    """
    _check_schedule(schedule)
    ab = schedule.alpha_bars.double()
    return torch.log(ab) - torch.log1p(-ab)


def q_posterior(
    x0: torch.Tensor,
    x_t: torch.Tensor,
    t: int,
    schedule: NoiseSchedule,
    t_prev: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and variance of the forward posterior :math:`q(x_{t'} \mid x_t, x_0)`, :math:`t' < t`.

    With :math:`t' = t - 1` (the default) this is Ho et al.'s Eqs. (6)-(7):

    .. math::

        \tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\, x_0
        + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\, x_t, \qquad
        \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t

    For any :math:`t' < t`, replace :math:`\alpha_t` by :math:`\alpha_{t|t'} =
    \bar\alpha_t / \bar\alpha_{t'}`, :math:`\beta_t` by :math:`1 - \alpha_{t|t'}` and
    :math:`t-1` by :math:`t'` (Kingma et al., 2021): the "respaced" chain that samples with
    fewer steps (Nichol & Dhariwal, 2021).

    Parameters
    ----------
    x0 : torch.Tensor
        (B, ...) clean data (or a network's estimate of it).
    x_t : torch.Tensor
        (B, ...) the noisy sample at time ``t``.
    t : int
        In [1, T].
    schedule : NoiseSchedule
    t_prev : int, optional
        :math:`t'` in [0, t); default ``t - 1``.

    Returns
    -------
    mean : torch.Tensor
        Shape of ``x_t``.
    variance : torch.Tensor
        0-d tensor (the same for every example), :math:`\tilde\beta_t \ge 0`; it is 0 for t' = 0.

    References
    ----------
    Ho, Jain & Abbeel (2020), Eqs. (6)-(7); Kingma et al. (2021), Eq. (5).
    """
    _check_schedule(schedule)
    t, s = _check_pair(t, t_prev, schedule)
    _check_batch(x_t, "x_t")
    _check.check_same_shape(x0, "x0", x_t, "x_t")
    coef_x0, coef_xt, variance = _posterior_coefs(schedule, t, s, x_t)
    return coef_x0 * x0 + coef_xt * x_t, variance


def predict_x0(
    x_t: torch.Tensor,
    t: torch.Tensor | int,
    eps: torch.Tensor,
    schedule: NoiseSchedule,
    *,
    validate: bool = True,
) -> torch.Tensor:
    r"""The clean sample implied by a noise estimate: invert the closed form of :func:`q_sample`.

    .. math:: \hat x_0 = \bigl(x_t - \sqrt{1-\bar\alpha_t}\, \hat\epsilon\bigr) / \sqrt{\bar\alpha_t}

    Parameters
    ----------
    x_t, eps : torch.Tensor
        (B, ...), the noisy sample and the predicted noise.
    t : int or torch.Tensor
        One int in [0, T] for the whole batch, or (B,) int64 timesteps.
    schedule : NoiseSchedule
    validate : bool
        Check the arguments (``False`` inside a sampling loop, after one check at entry).

    References
    ----------
    Ho, Jain & Abbeel (2020), Eq. (15); Song, Meng & Ermon (2021), Eq. (12) ("predicted x0").
    """
    if validate:
        _check_schedule(schedule)
        _check_batch(x_t, "x_t")
        _check.check_same_shape(eps, "eps", x_t, "x_t")
        _check_t(t, schedule, x_t.shape[0])
    if isinstance(t, int):
        ab = schedule.alpha_bars[t].to(x_t.device, x_t.dtype)
    else:
        ab = _gather(schedule.alpha_bars, t, x_t)
    # Ho, Jain & Abbeel (2020), Eq. (15): the only x0-from-epsilon formula in the package
    return (x_t - (1 - ab).sqrt() * eps) / ab.sqrt()


def score_from_epsilon(
    eps: torch.Tensor, t: torch.Tensor | int, schedule: NoiseSchedule
) -> torch.Tensor:
    r"""The score :math:`\nabla_{x_t} \log q_t(x_t)` from an optimal noise prediction.

    .. math:: \nabla_{x_t} \log q_t(x_t) = -\,\mathbb E[\epsilon \mid x_t] / \sqrt{1 - \bar\alpha_t}

    so an epsilon-network is a score network up to the scale :math:`-1/\sqrt{1-\bar\alpha_t}`
    (Tweedie's formula). Undefined at t = 0.

    Parameters
    ----------
    eps : torch.Tensor
        (B, ...) predicted noise.
    t : int in [1, T] or (B,) int64 tensor
    schedule : NoiseSchedule

    References
    ----------
    Song et al. (2021), "Score-Based Generative Modeling through Stochastic Differential
    Equations", ICLR, Sec. 4 and App. B; Vincent (2011), "A connection between score matching and
    denoising autoencoders".
    """
    _check_schedule(schedule)
    _check_batch(eps, "eps")
    _check_t(t, schedule, eps.shape[0], low=1)
    if isinstance(t, int):
        ab = schedule.alpha_bars[t].to(eps.device, eps.dtype)
    else:
        ab = _gather(schedule.alpha_bars, t, eps)
    return -eps / (1 - ab).sqrt()


def model_time(t: torch.Tensor | int, schedule: NoiseSchedule) -> torch.Tensor | float:
    r"""The float time a network sees for the integer step ``t``: :math:`t / T \in [0, 1]`."""
    _check_schedule(schedule)
    if isinstance(t, torch.Tensor):  # dtype and shape only: called in every training step
        if t.dtype != torch.long or t.ndim != 1:
            raise TypeError(
                f"t must be an int or a (B,) int64 tensor of steps, got {_check._kind(t)}"
            )
    else:
        _check.check_step(t, "t", 0, schedule.T)
    if isinstance(t, int):
        return t / schedule.T
    return t.to(torch.get_default_dtype()) / schedule.T
