r"""Fréchet distance between two sets of features, each summarised by a Gaussian (FID, "classifier FID").

References
----------
Dowson & Landau (1982), "The Fréchet distance between multivariate normal distributions",
J. Multivariate Analysis 12(3).
Heusel, Ramsauer, Unterthiner, Nessler & Hochreiter (2017), "GANs trained by a two time-scale update
rule converge to a local Nash equilibrium" (FID), NeurIPS.
"""

from __future__ import annotations

import torch

__all__ = ["feature_statistics", "frechet_distance", "gaussian_frechet_distance"]


def check_features(x: torch.Tensor, name: str, min_rows: int = 2) -> torch.Tensor:
    r"""Validate a feature matrix (N, F) and return it as float64 on the CPU."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (N, F), got {type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(
            f"{name} must have shape (N, F), one feature vector per row, got {tuple(x.shape)}: "
            "compute features with aigc_course.metrics.classifier_features, or flatten with x.flatten(1)"
        )
    if x.shape[0] < min_rows:
        raise ValueError(f"{name} has {x.shape[0]} rows; at least {min_rows} are needed")
    x = x.detach().to("cpu", torch.float64)
    if not torch.isfinite(x).all():
        raise ValueError(
            f"{name} contains NaN or infinite values: check the images and the network that made them"
        )
    return x


def _same_width(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"the two feature sets have {a.shape[1]} and {b.shape[1]} columns: compute both with the same network"
        )


def feature_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mean and unbiased covariance of a feature matrix, in float64.

    .. math:: \mu = \frac1N \sum_n f_n, \qquad \Sigma = \frac1{N-1} \sum_n (f_n - \mu)(f_n - \mu)^\top

    Parameters
    ----------
    features : tensor (N, F), N >= 2

    Returns
    -------
    mu : tensor (F,), cov : tensor (F, F), both float64
    """
    f = check_features(features, "features")
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def _psd_sqrt(cov: torch.Tensor) -> torch.Tensor:
    r"""Symmetric square root of a symmetric positive semi-definite matrix, through its eigendecomposition."""
    vals, vecs = torch.linalg.eigh((cov + cov.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def _check_psd(cov: torch.Tensor, name: str) -> None:
    r"""A covariance must be finite, symmetric and positive semi-definite (up to rounding)."""
    if not torch.isfinite(cov).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    scale = max(float(cov.abs().max()), 1e-300)
    if not torch.allclose(cov, cov.T, rtol=1e-6, atol=1e-9 * scale):
        raise ValueError(
            f"{name} is not symmetric: pass a covariance matrix, e.g. from feature_statistics"
        )
    low = float(torch.linalg.eigvalsh(cov).min())
    if low < -1e-6 * scale:
        raise ValueError(
            f"{name} is not positive semi-definite (smallest eigenvalue {low:.3g}): pass a covariance "
            "matrix, e.g. from feature_statistics"
        )


def gaussian_frechet_distance(
    mu1: torch.Tensor, cov1: torch.Tensor, mu2: torch.Tensor, cov2: torch.Tensor
) -> float:
    r"""Squared Fréchet (2-Wasserstein) distance between :math:`\mathcal N(\mu_1, \Sigma_1)` and :math:`\mathcal N(\mu_2, \Sigma_2)`.

    .. math::

        d^2 = \lVert \mu_1 - \mu_2 \rVert^2 + \operatorname{tr}\Sigma_1 + \operatorname{tr}\Sigma_2
              - 2 \operatorname{tr}\bigl(\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}\bigr)^{1/2}

    The last trace equals :math:`\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}`, the sum of the square roots
    of the eigenvalues of :math:`\Sigma_1\Sigma_2`; it is computed from the symmetric matrix
    :math:`\Sigma_1^{1/2} \Sigma_2 \Sigma_1^{1/2}` (``eigvalsh``, eigenvalues clipped at 0), which
    stays real and stable when the covariances are singular. This is what "FID" reports (it is a squared
    distance, although called a distance).

    Parameters
    ----------
    mu1, mu2 : tensor (F,)
    cov1, cov2 : tensor (F, F), symmetric positive semi-definite

    Returns
    -------
    float, >= 0 (up to rounding; clipped at 0)

    References
    ----------
    Dowson & Landau (1982); Heusel et al. (2017), eq. (6).
    """
    for name, t in (("mu1", mu1), ("cov1", cov1), ("mu2", mu2), ("cov2", cov2)):
        if not isinstance(t, torch.Tensor) and not hasattr(t, "__array__"):
            raise TypeError(f"{name} must be a torch.Tensor (or array), got {type(t).__name__}")
    mu1, mu2, cov1, cov2 = (torch.as_tensor(t, dtype=torch.float64) for t in (mu1, mu2, cov1, cov2))
    f = mu1.shape[0] if mu1.ndim == 1 else -1
    for name, t, shape in (
        ("mu1", mu1, (f,)),
        ("mu2", mu2, (f,)),
        ("cov1", cov1, (f, f)),
        ("cov2", cov2, (f, f)),
    ):
        if f < 1 or tuple(t.shape) != shape:
            raise ValueError(
                f"expected mu1, mu2 of shape (F,) and cov1, cov2 of shape (F, F) with one F; "
                f"got {name} of shape {tuple(t.shape)} (mu1 {tuple(mu1.shape)})"
            )
    for name, cov in (("cov1", cov1), ("cov2", cov2)):
        _check_psd(cov, name)
    root1 = _psd_sqrt(cov1)
    middle = root1 @ cov2 @ root1
    tr_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    d2 = ((mu1 - mu2) ** 2).sum() + torch.trace(cov1) + torch.trace(cov2) - 2 * tr_sqrt
    return max(float(d2), 0.0)


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    r"""Fréchet distance between two feature sets, each fitted by a Gaussian: FID with any feature network.

    .. math:: \text{FD}(A, B) = d^2\bigl(\mathcal N(\hat\mu_A, \hat\Sigma_A),\ \mathcal N(\hat\mu_B, \hat\Sigma_B)\bigr)

    with the sample means and unbiased covariances (:func:`feature_statistics`) and :math:`d^2` from
    :func:`gaussian_frechet_distance`. With classifier features of generated and real MNIST digits this is
    the "classifier FID"; it is biased upwards for small sets, so compare values computed with the same
    numbers of images.

    Parameters
    ----------
    features_a, features_b : tensor (N_a, F), (N_b, F); N >= 2 each

    Returns
    -------
    float, >= 0; 0 for two sets with equal means and covariances.

    References
    ----------
    Heusel et al. (2017), "GANs trained by a two time-scale update rule ...", NeurIPS.
    """
    a = check_features(features_a, "features_a")
    b = check_features(features_b, "features_b")
    _same_width(a, b)
    return gaussian_frechet_distance(*feature_statistics(a), *feature_statistics(b))
