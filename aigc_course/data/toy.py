r"""Toy data: a ring of Gaussians and two moons in 2-D, two Gaussians in 1-D.

Low-dimensional data makes a GAN's failure modes visible: on the ring, a collapsed generator
covers one or a few of the modes, which :func:`aigc_course.metrics.modes.count_modes` turns
into a number.

References
----------
Metz et al. (2017), "Unrolled Generative Adversarial Networks", ICLR (the 8-Gaussian ring, radius
2, std 0.02). Srivastava et al. (2017), "VEEGAN", NeurIPS (high-quality samples within 3 std).
Pedregosa et al. (2011), scikit-learn's ``make_moons`` (the two arcs of :func:`two_moons`).
"""

from __future__ import annotations

import math

import torch

from aigc_course._check import check_count, check_real, check_tensor

# The mode counter lives in aigc_course.metrics.modes; re-exported here because the GAN and
# diffusion chapters import it from aigc_course.data.

__all__ = ["ring_of_gaussians", "two_gaussians_1d", "two_moons", "two_moons_log_density"]


def ring_of_gaussians(
    n: int,
    n_modes: int = 8,
    radius: float = 2.0,
    std: float = 0.02,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Sample a mixture of equally weighted isotropic Gaussians placed evenly on a circle.

    .. math::

        p(x) = \frac{1}{K} \sum_{k=0}^{K-1} \mathcal{N}\bigl(x;\, \mu_k, \sigma^2 I_2\bigr),
        \qquad \mu_k = r\,(\cos(2\pi k / K),\, \sin(2\pi k / K))

    Parameters
    ----------
    n : int
        Number of samples.
    n_modes : int
        K, number of Gaussians on the ring.
    radius : float
        r, radius of the ring.
    std : float
        :math:`\sigma`, standard deviation of each Gaussian per coordinate.
    generator : torch.Generator, optional
        Source of randomness; ``None`` uses PyTorch's global RNG.

    Returns
    -------
    samples : torch.Tensor
        (n, 2), float32, within about :math:`r + 4\sigma` of the origin.
    centers : torch.Tensor
        (n_modes, 2), float32, the :math:`\mu_k`.

    References
    ----------
    Metz et al. (2017), "Unrolled Generative Adversarial Networks", Sec. 3.1.
    """
    n = check_count(n, "n (number of samples)")
    n_modes = check_count(n_modes, "n_modes")
    check_real(radius, "radius", low=0.0, low_open=True)
    check_real(std, "std", low=0.0, low_open=True)
    angles = 2.0 * math.pi * torch.arange(n_modes, dtype=torch.float64) / n_modes
    centers = (radius * torch.stack([angles.cos(), angles.sin()], dim=1)).float()
    modes = torch.randint(n_modes, (n,), generator=generator)
    samples = centers[modes] + std * torch.randn(n, 2, generator=generator)
    return samples, centers


def two_gaussians_1d(
    n: int,
    means: tuple[float, ...] = (-2.0, 2.0),
    std: float = 0.5,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Sample an equally weighted mixture of 1-D Gaussians (two by default).

    .. math::

        p(x) = \frac{1}{K} \sum_{k} \mathcal{N}(x;\, \mu_k, \sigma^2)

    Parameters
    ----------
    n : int
        Number of samples.
    means : tuple of float
        The :math:`\mu_k`; (-2, 2) gives two well separated bumps.
    std : float
        :math:`\sigma`, shared standard deviation.
    generator : torch.Generator, optional
        Source of randomness; ``None`` uses PyTorch's global RNG.

    Returns
    -------
    samples : torch.Tensor
        (n, 1), float32, ready to be the ``data`` of a GAN with ``data_dim=1``.
    centers : torch.Tensor
        (K, 1), float32, the means.
    """
    n = check_count(n, "n (number of samples)")
    try:
        means = tuple(float(m) for m in means)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"means must be a non-empty tuple of finite numbers, got {means!r}"
        ) from exc
    if len(means) == 0 or not all(math.isfinite(m) for m in means):
        raise ValueError(f"means must be a non-empty tuple of finite numbers, got {means!r}")
    check_real(std, "std", low=0.0, low_open=True)
    centers = torch.tensor(means, dtype=torch.float32).view(-1, 1)
    modes = torch.randint(len(means), (n,), generator=generator)
    samples = centers[modes] + std * torch.randn(n, 1, generator=generator)
    return samples, centers


def _moon_arcs(theta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Points of the upper and lower arcs at angles ``theta`` in [0, pi]: two (M, 2) tensors."""
    upper = torch.stack([theta.cos(), theta.sin()], dim=1)
    lower = torch.stack([1.0 - theta.cos(), 0.5 - theta.sin()], dim=1)
    return upper, lower


def two_moons(
    n: int, noise: float = 0.1, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Sample the two-moons density: a uniform point on one of two half circles, plus noise.

    .. math::

        x = a_m(\theta) + \sigma \varepsilon, \quad m \sim \mathrm{U}\{0, 1\},\;
        \theta \sim \mathrm{U}[0, \pi],\; \varepsilon \sim \mathcal N(0, I_2),
        \qquad a_0(\theta) = (\cos\theta, \sin\theta),\;
        a_1(\theta) = (1 - \cos\theta, \tfrac12 - \sin\theta)

    The arcs of scikit-learn's ``make_moons``, with the angle drawn at random (``make_moons``
    spaces it evenly), so that the density is known: :func:`two_moons_log_density`.

    Parameters
    ----------
    n : int
        Number of samples.
    noise : float
        :math:`\sigma` > 0, the standard deviation of the Gaussian noise per coordinate.
    generator : torch.Generator, optional
        Source of randomness; ``None`` uses PyTorch's global RNG.

    Returns
    -------
    torch.Tensor
        (n, 2), float32, within about [-1, 2] x [-0.5, 1] plus a few :math:`\sigma`.
    """
    n = check_count(n, "n (number of samples)")
    check_real(noise, "noise", low=0.0, low_open=True)
    moon = torch.randint(2, (n,), generator=generator)
    theta = math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
    upper, lower = _moon_arcs(theta)
    centers = torch.where(moon[:, None] == 0, upper, lower)
    eps = torch.randn(n, 2, generator=generator, dtype=torch.float64)
    return (centers + noise * eps).float()


def two_moons_log_density(
    x: torch.Tensor, noise: float = 0.1, *, n_arc: int = 2000
) -> torch.Tensor:
    r"""The log-density of :func:`two_moons` at ``x``, in nats, by quadrature over the arcs.

    .. math::

        p(x) = \frac12 \sum_{m=0}^{1} \frac1\pi \int_0^\pi
        \mathcal N\bigl(x;\, a_m(\theta), \sigma^2 I_2\bigr)\, d\theta
        \approx \frac{1}{2M} \sum_{m} \sum_{j=1}^{M} \mathcal N\bigl(x;\, a_m(\theta_j),
        \sigma^2 I_2\bigr), \quad \theta_j = \pi (j - \tfrac12) / M

    The midpoint rule; its error is far below Monte Carlo noise when the arc spacing
    :math:`\pi / M` is much smaller than :math:`\sigma` (the default: 0.0016 vs 0.1).

    Parameters
    ----------
    x : torch.Tensor
        (B, 2) points.
    noise : float
        :math:`\sigma`, as in :func:`two_moons`.
    n_arc : int
        M, quadrature points per arc.

    Returns
    -------
    torch.Tensor
        (B,), float64, :math:`\log p(x)`.
    """
    x = check_tensor(x, "x", ndim=2, floating=True, shape_hint="(B, 2)")
    if x.shape[1] != 2:
        raise ValueError(f"x must have shape (B, 2), got {tuple(x.shape)}")
    check_real(noise, "noise", low=0.0, low_open=True)
    n_arc = check_count(n_arc, "n_arc")
    theta = math.pi * (torch.arange(n_arc, dtype=torch.float64) + 0.5) / n_arc
    centers = torch.cat(_moon_arcs(theta)).to(x.device)  # (2M, 2)
    const = math.log(2 * math.pi * noise**2) + math.log(2 * n_arc)
    out = []
    for chunk in x.double().split(4096):
        d2 = (chunk[:, None, :] - centers[None]).pow(2).sum(-1)
        out.append(torch.logsumexp(-d2 / (2 * noise**2), dim=1) - const)
    return torch.cat(out)
