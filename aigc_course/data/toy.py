r"""Toy data for GANs: a ring of Gaussians in 2-D and two Gaussians in 1-D.

Low-dimensional data makes a GAN's failure modes visible: on the ring, a collapsed generator
covers one or a few of the modes, which :func:`aigc_course.metrics.modes.count_modes` turns
into a number.

References
----------
Metz et al. (2017), "Unrolled Generative Adversarial Networks", ICLR (the 8-Gaussian ring, radius
2, std 0.02). Srivastava et al. (2017), "VEEGAN", NeurIPS (high-quality samples within 3 std).
"""

from __future__ import annotations

import math

import torch

from aigc_course._check import check_count, check_real

# The mode counter lives in aigc_course.metrics.modes; re-exported here because the GAN and
# diffusion chapters import it from aigc_course.data.

__all__ = ["ring_of_gaussians", "two_gaussians_1d"]


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
