r"""The simplest real generative models of images: independent pixels and a Gaussian in PCA space.

They are the baselines of the Concepts chapter: each has an exact log-likelihood and an exact
sampler, so every stage of the generation pipeline can be run and measured on them.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from aigc_course._check import check_count, check_range, check_real, check_tensor, is_int


def _flatten(x: torch.Tensor, num_pixels: int, what: str) -> torch.Tensor:
    r"""Return ``x`` as (B, num_pixels), accepting (B, 1, H, W), (B, H, W) or (B, D)."""
    check_tensor(x, f"{what}: x", shape_hint="(B, 1, H, W) or (B, D)")
    if x.ndim < 2:
        raise ValueError(
            f"{what}: expected a batch of images (B, 1, H, W) or (B, D), got shape {tuple(x.shape)}"
        )
    flat = x.reshape(x.shape[0], -1)
    if flat.shape[1] != num_pixels:
        raise ValueError(
            f"{what}: each example has {flat.shape[1]} values but the model was built for {num_pixels}; "
            "use images of the size the model was fitted on"
        )
    return flat


class PixelBernoulli(nn.Module):
    r"""Every pixel an independent coin flip: :math:`p(x) = \prod_i \pi_i^{x_i} (1-\pi_i)^{1-x_i}`.

    Parameters are the logits :math:`\ell_i` with :math:`\pi_i = \sigma(\ell_i)`, so the model can be
    trained by gradient descent as well as fitted in closed form (:meth:`fit`).

    Shapes: images (B, 1, H, W) with values in {0, 1}; :meth:`log_prob` returns (B,) in nats.

    References
    ----------
    Bishop, *Pattern Recognition and Machine Learning* (2006), sec. 2.1 and 9.3.3.
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28)) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.num_pixels = math.prod(self.image_shape)
        self.logits = nn.Parameter(torch.zeros(self.num_pixels))

    @classmethod
    def fit(cls, x: torch.Tensor, alpha: float = 1.0) -> PixelBernoulli:
        r"""Maximum-likelihood fit with add-``alpha`` (Laplace) smoothing.

        .. math:: \hat\pi_i = \frac{\sum_n x_{n,i} + \alpha}{N + 2\alpha}

        Parameters
        ----------
        x : tensor (N, 1, H, W) with values in {0, 1}
        alpha : float
            Pseudo-count; 0 gives the plain MLE (a pixel never on gets probability 0 and any test
            image with that pixel on gets log-likelihood :math:`-\infty`).
        """
        check_real(alpha, "alpha", low=0.0)
        check_tensor(x, "PixelBernoulli.fit: x", shape_hint="(N, 1, H, W)")
        if x.ndim > 4:
            raise ValueError(
                f"PixelBernoulli.fit: x must be a batch (N, 1, H, W), got shape {tuple(x.shape)}"
            )
        model = cls(tuple(x.shape[1:]))
        flat = _flatten(x, model.num_pixels, "PixelBernoulli.fit").float()
        _check_binary(flat)
        pi = (flat.sum(0) + alpha) / (flat.shape[0] + 2 * alpha)
        with torch.no_grad():
            # Clamp in float64: in float32, 1 - 1e-12 rounds to 1 and logit(1) = inf (then log_prob is NaN).
            model.logits.copy_(torch.logit(pi.double().clamp(1e-12, 1 - 1e-12)))
        return model

    @property
    def probs(self) -> torch.Tensor:
        r"""Per-pixel probability of being on, shape (D,), values in (0, 1)."""
        return torch.sigmoid(self.logits)

    def log_prob(self, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        r"""Log-likelihood in nats, :math:`\sum_i x_i \log\pi_i + (1-x_i)\log(1-\pi_i)`, shape (B,).

        ``validate=False`` skips the check that ``x`` lies in [0, 1], which reads a value back
        from the device; a training loop that checked its data once passes it per step.
        """
        flat = _flatten(x, self.num_pixels, "PixelBernoulli.log_prob")
        if validate:
            self._check_pixels(flat)
        flat = flat.to(self.logits.dtype)
        # -BCE-with-logits is the numerically stable form of the Bernoulli log-likelihood.
        return -nn.functional.binary_cross_entropy_with_logits(
            self.logits.expand_as(flat), flat, reduction="none"
        ).sum(1)

    @staticmethod
    def _check_pixels(flat: torch.Tensor) -> None:
        if flat.dtype == torch.uint8 and flat.numel() and int(flat.max()) > 1:
            raise ValueError(
                "PixelBernoulli.log_prob: x holds uint8 pixels up to 255, but the model is over "
                "binary pixels: binarise them first, e.g. aigc_course.data.binarize(to_unit(x))"
            )
        check_range(flat, "PixelBernoulli.log_prob: x", 0.0, 1.0)

    data_range = (0.0, 1.0)  # binary images

    @torch.no_grad()
    def sample(
        self, n: int, generator: torch.Generator | None = None, *, labels: None = None
    ) -> torch.Tensor:
        r"""Draw ``n`` binary images, shape (n, 1, H, W), values in {0, 1} (unconditional)."""
        n = check_count(n, "n", minimum=0)
        _unconditional(labels, "PixelBernoulli")
        u = torch.rand(n, self.num_pixels, generator=generator)
        return (u < self.probs.cpu()).float().reshape(n, *self.image_shape)


class PCAGaussian(nn.Module):
    r"""A Gaussian whose covariance keeps the top ``k`` principal directions: probabilistic PCA.

    .. math::

        x = \mu + U_k (\Lambda_k - \sigma^2 I)^{1/2} \varepsilon_k + \sigma \varepsilon, \qquad
        p(x) = \mathcal N\!\left(\mu,\; U_k (\Lambda_k - \sigma^2 I) U_k^\top + \sigma^2 I\right)

    with :math:`\varepsilon_k \sim \mathcal N(0, I_k)`, :math:`\varepsilon \sim \mathcal N(0, I_D)`,
    :math:`\Lambda_k` the top-``k`` eigenvalues of the data covariance and :math:`\sigma^2` the
    mean of the remaining ones (the maximum-likelihood solution; Tipping & Bishop's
    :math:`W = U_k(\Lambda_k - \sigma^2 I)^{1/2}`). ``k = 0`` is an isotropic Gaussian.
    :meth:`sample` draws from the same distribution in the equivalent form
    :math:`x = \mu + U_k \Lambda_k^{1/2} \varepsilon_k + \sigma (I - U_k U_k^\top)\varepsilon`:
    the noise's in-subspace part is projected out, so the variance along :math:`U_k` stays
    :math:`\Lambda_k`.

    Shapes: images (B, 1, H, W), real valued (the chapter uses dequantised pixels in [0, 1]);
    :meth:`log_prob` returns (B,) in nats.

    References
    ----------
    Tipping & Bishop, "Probabilistic principal component analysis", JRSS B 61(3), 1999, eq. (7)-(8).
    """

    def __init__(
        self,
        mean: torch.Tensor,
        components: torch.Tensor,
        variances: torch.Tensor,
        noise_variance: float,
        image_shape: tuple[int, ...],
    ) -> None:
        super().__init__()
        d = mean.numel()
        k = components.shape[1] if components.ndim == 2 else -1
        if mean.shape != (d,) or components.shape != (d, k) or variances.shape != (k,):
            raise ValueError(
                f"inconsistent PCA parameters: mean {tuple(mean.shape)}, components {tuple(components.shape)}, "
                f"variances {tuple(variances.shape)}; expected (D,), (D, k), (k,)"
            )
        if not noise_variance > 0:  # also rejects NaN
            raise ValueError(f"noise_variance must be > 0, got {noise_variance}")
        self.image_shape = tuple(image_shape)
        self.register_buffer("mean", mean.double())
        self.register_buffer("components", components.double())
        self.register_buffer("variances", variances.double())
        self.noise_variance = float(noise_variance)

    @classmethod
    def fit(cls, x: torch.Tensor, k: int, min_variance: float = 1e-6) -> PCAGaussian:
        r"""Closed-form maximum-likelihood fit from the eigendecomposition of the sample covariance.

        Parameters
        ----------
        x : tensor (N, 1, H, W) or (N, D), real valued
        k : int
            Number of principal directions kept, ``0 <= k < min(N, D)``.
        min_variance : float
            Floor on every variance (guards against a zero-variance pixel, e.g. a border that is
            always black, which would make the density infinite).
        """
        check_tensor(x, "x", nonempty=False, shape_hint="(N, 1, H, W) or (N, D)")
        if not is_int(k):
            raise TypeError(f"k must be an int, 0 <= k < min(N, D), got {k!r}")
        check_real(min_variance, "min_variance", low=0.0, low_open=True)
        if x.ndim < 2 or x.shape[0] < 2:
            raise ValueError(f"need a batch of at least 2 examples, got shape {tuple(x.shape)}")
        flat = x.reshape(x.shape[0], -1).double()
        n, d = flat.shape
        if not 0 <= k < min(n, d):
            raise ValueError(f"k must satisfy 0 <= k < min(N, D) = {min(n, d)}, got k={k}")
        mean = flat.mean(0)
        # Eigen-decomposition of the (biased, MLE) covariance through the SVD of the centred data.
        _, s, vh = torch.linalg.svd(flat - mean, full_matrices=False)
        eig = s**2 / n
        all_eig = torch.cat([eig, eig.new_zeros(d - eig.numel())])
        noise = max(float(all_eig[k:].mean()), min_variance)
        variances = torch.clamp(all_eig[:k], min=noise)
        return cls(
            mean,
            vh[:k].T.contiguous(),
            variances,
            noise,
            tuple(x.shape[1:]) if x.ndim > 2 else (d,),
        )

    @property
    def k(self) -> int:
        return self.components.shape[1]

    def covariance(self) -> torch.Tensor:
        r"""The full (D, D) covariance :math:`U_k(\Lambda_k-\sigma^2 I)U_k^\top+\sigma^2 I` (for checks; O(D^2))."""
        u, lam, s2 = self.components, self.variances, self.noise_variance
        return (u * (lam - s2)) @ u.T + s2 * torch.eye(u.shape[0], dtype=u.dtype)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        r"""Log-density in nats, shape (B,), computed in the eigenbasis in O(B D k).

        .. math::

            \log p(x) = -\tfrac12\Big[D\log 2\pi + \sum_{j\le k}\log\lambda_j + (D-k)\log\sigma^2
            + \sum_{j\le k}\frac{c_j^2}{\lambda_j} + \frac{\|x-\mu\|^2 - \sum_{j\le k} c_j^2}{\sigma^2}\Big],
            \quad c_j = u_j^\top (x-\mu)
        """
        d = self.mean.numel()
        flat = _flatten(x, d, "PCAGaussian.log_prob").double() - self.mean
        c = flat @ self.components
        sq = (flat**2).sum(1)
        proj = (c**2).sum(1)
        s2 = self.noise_variance
        logdet = torch.log(self.variances).sum() + (d - self.k) * math.log(s2)
        maha = (c**2 / self.variances).sum(1) + (sq - proj) / s2
        return -0.5 * (d * math.log(2 * math.pi) + logdet + maha)

    data_range = (0.0, 1.0)  # the scale of the images it was fit on; samples may overshoot

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        noise: bool = True,
        *,
        labels: None = None,
    ) -> torch.Tensor:
        r"""Draw ``n`` samples, shape ``(n, *image_shape)``, float64.

        :math:`x = \mu + U_k \Lambda_k^{1/2} \varepsilon_k + \sigma (I - U_k U_k^\top)\varepsilon`,
        whose covariance is :math:`U_k(\Lambda_k - \sigma^2 I)U_k^\top + \sigma^2 I`. With
        ``noise=False`` the noise term is left out: the sample is the point on the k-dimensional
        principal subspace (what PCA "believes" the image is).
        """
        n = check_count(n, "n", minimum=0)
        _unconditional(labels, "PCAGaussian")
        d = self.mean.numel()
        z = torch.randn(n, self.k, generator=generator, dtype=torch.float64)
        x = self.mean + (z * self.variances.sqrt()) @ self.components.T
        if noise:
            eps = torch.randn(n, d, generator=generator, dtype=torch.float64)
            # Remove the in-subspace part of the noise so the total variance there stays lambda_j.
            eps = eps - (eps @ self.components) @ self.components.T
            x = x + math.sqrt(self.noise_variance) * eps
        return x.reshape(n, *self.image_shape)


def _unconditional(labels: object, model: str) -> None:
    if labels is not None:
        raise ValueError(
            f"labels: {model} is unconditional (one model of all images); pass labels=None, "
            "or use a conditional model"
        )


def _check_binary(x: torch.Tensor) -> None:
    if not torch.all((x == 0) | (x == 1)):
        raise ValueError(
            "PixelBernoulli expects binary images (values 0 or 1); "
            "binarise first, e.g. aigc_course.data.binarize(x01)"
        )
