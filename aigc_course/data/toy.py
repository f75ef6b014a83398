r"""Toy data for GANs: a ring of Gaussians in 2-D, two Gaussians in 1-D, and a mode counter.

Low-dimensional data makes a GAN's failure modes visible: on the ring, a collapsed generator
covers one or a few of the modes, which :func:`count_modes` turns into a number.

References
----------
Metz et al. (2017), "Unrolled Generative Adversarial Networks", ICLR (the 8-Gaussian ring, radius
2, std 0.02). Srivastava et al. (2017), "VEEGAN", NeurIPS (high-quality samples within 3 std).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = ["ModeCoverage", "count_modes", "ring_of_gaussians", "two_gaussians_1d"]


def _check_n(n: object) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n (number of samples) must be a positive int, got {n!r}")


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")


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
    _check_n(n)
    if not isinstance(n_modes, int) or isinstance(n_modes, bool) or n_modes < 1:
        raise ValueError(f"n_modes must be a positive int, got {n_modes!r}")
    _check_positive("radius", radius)
    _check_positive("std", std)
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
    _check_n(n)
    try:
        means = tuple(float(m) for m in means)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"means must be a non-empty tuple of finite numbers, got {means!r}"
        ) from exc
    if len(means) == 0 or not all(math.isfinite(m) for m in means):
        raise ValueError(f"means must be a non-empty tuple of finite numbers, got {means!r}")
    _check_positive("std", std)
    centers = torch.tensor(means, dtype=torch.float32).view(-1, 1)
    modes = torch.randint(len(means), (n,), generator=generator)
    samples = centers[modes] + std * torch.randn(n, 1, generator=generator)
    return samples, centers


@dataclass(frozen=True)
class ModeCoverage:
    r"""Result of :func:`count_modes`.

    Attributes
    ----------
    n_covered : int
        Number of modes that received at least ``min_fraction`` of the samples.
    n_modes : int
        Number of modes (centers) in total.
    covered : torch.Tensor
        (n_modes,) bool, which modes are covered.
    counts : torch.Tensor
        (n_modes,) int64, high-quality samples assigned to each mode.
    high_quality_fraction : float
        Fraction of all samples, in [0, 1], within ``threshold_std * std`` of their nearest center.
    """

    n_covered: int
    n_modes: int
    covered: torch.Tensor
    counts: torch.Tensor
    high_quality_fraction: float


def count_modes(
    samples: torch.Tensor,
    centers: torch.Tensor,
    std: float,
    threshold_std: float = 3.0,
    min_fraction: float = 0.01,
) -> ModeCoverage:
    r"""Count the modes of a Gaussian mixture that a set of (generated) samples covers.

    A sample is *high quality* if it lies within :math:`t\sigma` of its nearest center
    :math:`\mu_k`; it then counts for mode :math:`k`. A mode is *covered* if its count is at
    least ``min_fraction`` of all samples:

    .. math::

        c_k = \#\{i : \arg\min_j \lVert x_i - \mu_j \rVert = k,\;
                     \lVert x_i - \mu_k \rVert \le t\sigma\}, \qquad
        \text{covered}_k = [\, c_k \ge f N \,]

    Parameters
    ----------
    samples : torch.Tensor
        (N, d) float, e.g. generator outputs.
    centers : torch.Tensor
        (K, d) float, the mixture's means.
    std : float
        :math:`\sigma`, the standard deviation the data were drawn with.
    threshold_std : float
        t, the radius in units of :math:`\sigma` (3, as in Srivastava et al. 2017).
    min_fraction : float
        f in (0, 1]: a mode needs at least this fraction of all N samples; 0.01 means 25 of 2,500
        (Lin et al. 2018, PacGAN, use 20 of 2,500).

    Returns
    -------
    ModeCoverage

    References
    ----------
    Srivastava et al. (2017), "VEEGAN", Sec. 5.1. Lin et al. (2018), "PacGAN", Sec. 5.
    """
    if not isinstance(samples, torch.Tensor) or samples.ndim != 2 or samples.shape[0] == 0:
        shape = (
            tuple(samples.shape) if isinstance(samples, torch.Tensor) else type(samples).__name__
        )
        raise ValueError(f"samples must be a tensor of shape (N, d) with N >= 1, got {shape}")
    if (
        not isinstance(centers, torch.Tensor)
        or centers.ndim != 2
        or centers.shape[1] != samples.shape[1]
        or centers.shape[0] == 0
    ):
        shape = (
            tuple(centers.shape) if isinstance(centers, torch.Tensor) else type(centers).__name__
        )
        raise ValueError(
            f"centers must be a tensor of shape (K, {samples.shape[1]}) to match samples "
            f"{tuple(samples.shape)}, got {shape}"
        )
    _check_positive("std", std)
    _check_positive("threshold_std", threshold_std)
    if not 0.0 < min_fraction <= 1.0:
        raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction!r}")
    x = samples.detach().to("cpu", torch.float64)
    mu = centers.detach().to("cpu", torch.float64)
    dist = torch.cdist(x, mu)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= threshold_std * std  # NaN samples compare False: never high quality
    counts = torch.bincount(nearest[good], minlength=mu.shape[0])
    covered = counts >= min_fraction * x.shape[0]
    return ModeCoverage(
        n_covered=int(covered.sum()),
        n_modes=int(mu.shape[0]),
        covered=covered,
        counts=counts,
        high_quality_fraction=float(good.double().mean()),
    )
