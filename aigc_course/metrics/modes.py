r"""Mode coverage of samples from a Gaussian mixture: how many modes a generator reaches.

On low-dimensional toy data (:func:`aigc_course.data.toy.ring_of_gaussians`) a collapsed
generator covers one or a few of the modes, which :func:`count_modes` turns into a number.

References
----------
Srivastava et al. (2017), "VEEGAN", NeurIPS (high-quality samples within 3 std).
Lin et al. (2018), "PacGAN", NeurIPS.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from aigc_course._check import check_real

__all__ = ["ModeCoverage", "count_modes"]


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
    within_std : float
        Spread of the high-quality samples around their centers, per coordinate:
        :math:`\sqrt{\operatorname{mean}_i \lVert x_i - \mu_{k(i)} \rVert^2 / d}`; NaN if there
        are none. Data drawn with ``std`` give about 0.97 ``std`` in 2-D (the 3-std cut trims the
        tail); a sampler that shrinks the spread scores less. A high ``high_quality_fraction``
        with a small ``within_std`` is under-dispersion, not quality.
    """

    n_covered: int
    n_modes: int
    covered: torch.Tensor
    counts: torch.Tensor
    high_quality_fraction: float
    within_std: float = float("nan")


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
    check_real(std, "std", low=0.0, low_open=True)
    check_real(threshold_std, "threshold_std", low=0.0, low_open=True)
    check_real(min_fraction, "min_fraction", low=0.0, high=1.0, low_open=True)
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
        within_std=float((nearest_dist[good] ** 2).mean().div(x.shape[1]).sqrt())
        if bool(good.any())
        else float("nan"),
    )
