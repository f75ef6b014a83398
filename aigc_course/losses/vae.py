r"""VAE objectives: the reparameterisation trick, the Gaussian KL, reconstruction terms, the ELBO.

Everything here is weight-free maths on tensors and is reported **per example, in nats**
(natural log), summed over pixels and latent dimensions, never averaged over them: a
negative ELBO of 100 means 100 nats for one 28x28 image. The training loop averages over
the batch.

Notation: an encoder gives :math:`q_\phi(z \mid x) = \mathcal N(\mu, \operatorname{diag}\sigma^2)`
with :math:`\log\sigma^2` = ``logvar``; the prior is :math:`p(z) = \mathcal N(0, I)`; a decoder
gives the parameters of :math:`p_\theta(x \mid z)`: Bernoulli logits, or Gaussian means.

References
----------
Kingma & Welling (2014), "Auto-Encoding Variational Bayes", ICLR.
Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", ICLR (arXiv 2015).
Higgins et al. (2017), "beta-VAE: Learning Basic Visual Concepts with a Constrained Variational
Framework", ICLR.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from aigc_course._check import check_real

__all__ = [
    "NegativeELBO",
    "bernoulli_nll",
    "gaussian_kl",
    "gaussian_nll",
    "importance_weighted_bound",
    "log_normal_diag",
    "negative_elbo",
    "reparameterize",
]

_LIKELIHOODS = ("bernoulli", "gaussian")


def _check_tensor(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {value.dtype}: convert it with .float()"
        )
    return value


def _check_gaussian(mu: torch.Tensor, logvar: torch.Tensor) -> None:
    _check_tensor("mu", mu)
    _check_tensor("logvar", logvar)
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape (B, d), got {tuple(mu.shape)} and {tuple(logvar.shape)}: "
            "the encoder should return one mean and one log-variance per latent dimension"
        )
    if mu.ndim != 2:
        raise ValueError(
            f"expected mu and logvar of shape (B, d), got {tuple(mu.shape)}: flatten with .view(B, -1)"
        )


def _check_pair(x: torch.Tensor, params: torch.Tensor, what: str) -> None:
    _check_tensor("x", x)
    _check_tensor(what, params)
    if x.shape != params.shape:
        raise ValueError(
            f"x and {what} must have the same shape, got {tuple(x.shape)} and {tuple(params.shape)}: "
            "the decoder must output one value per pixel, shaped like the images"
        )
    if x.ndim < 2:
        raise ValueError(f"expected a batch of examples (B, ...), got shape {tuple(x.shape)}")


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Draw :math:`z \sim \mathcal N(\mu, \operatorname{diag}\sigma^2)` as a differentiable function of :math:`\mu, \sigma`.

    .. math::

        z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp(\tfrac12 \log\sigma^2), \qquad
        \varepsilon \sim \mathcal N(0, I)

    The randomness sits in :math:`\varepsilon`, which does not depend on the encoder, so
    :math:`\partial z / \partial \mu = 1` and :math:`\partial z / \partial \sigma = \varepsilon`:
    gradients of :math:`\E_q[f(z)]` flow back into the encoder (Kingma & Welling 2014, Sec. 2.4).

    Parameters
    ----------
    mu, logvar : torch.Tensor
        Shape (B, d), any real values: the mean and log-variance of :math:`q(z \mid x)`.
    generator : torch.Generator, optional
        Source of :math:`\varepsilon` (a CPU generator; the noise is moved to ``mu``'s device).

    Returns
    -------
    torch.Tensor
        Shape (B, d).
    """
    _check_gaussian(mu, logvar)
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL divergence from a diagonal Gaussian to the standard normal, in closed form, per example.

    .. math::

        \KL\bigl(\mathcal N(\mu, \operatorname{diag}\sigma^2)\,\|\,\mathcal N(0, I)\bigr)
        = \frac12 \sum_{j=1}^{d} \bigl(\mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1\bigr)

    Parameters
    ----------
    mu, logvar : torch.Tensor
        Shape (B, d), any real values.

    Returns
    -------
    torch.Tensor
        Shape (B,), :math:`\geq 0`, in nats; 0 exactly when :math:`\mu = 0, \sigma = 1`.

    References
    ----------
    Kingma & Welling (2014), Appendix B.
    """
    _check_gaussian(mu, logvar)
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(dim=1)


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""Log-density of a diagonal Gaussian, summed over the last axis.

    .. math::

        \log \mathcal N(z; \mu, \operatorname{diag}\sigma^2)
        = -\frac12 \sum_j \Bigl(\log 2\pi + \log\sigma_j^2 + \frac{(z_j - \mu_j)^2}{\sigma_j^2}\Bigr)

    Parameters
    ----------
    z, mu, logvar : torch.Tensor
        Broadcastable shapes (..., d); ``mu = 0, logvar = 0`` gives the standard normal prior.

    Returns
    -------
    torch.Tensor
        Shape (...), in nats.
    """
    for name, value in (("z", z), ("mu", mu), ("logvar", logvar)):
        _check_tensor(name, value)
        if value.numel() == 0:
            raise ValueError(
                f"{name} is empty (shape {tuple(value.shape)}); give at least one item"
            )
    try:
        torch.broadcast_shapes(z.shape, mu.shape, logvar.shape)
    except RuntimeError as exc:
        raise ValueError(
            f"z {tuple(z.shape)}, mu {tuple(mu.shape)} and logvar {tuple(logvar.shape)} must have "
            "broadcastable shapes (..., d)"
        ) from exc
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mu).pow(2) * torch.exp(-logvar)).sum(
        dim=-1
    )


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
    r"""Bernoulli reconstruction term :math:`-\log p(x \mid z)`, from logits, per example.

    .. math::

        -\log p(x \mid z) = -\sum_i \bigl[x_i \log \sigma(\ell_i) + (1 - x_i)\log(1 - \sigma(\ell_i))\bigr]

    which is binary cross-entropy summed over pixels (not averaged). For binary :math:`x` it is
    an exact negative log-likelihood; for grey values in [0, 1] (the classic PyTorch example) it
    is a cross-entropy, not a normalised likelihood, and is not comparable with binarised results.

    Parameters
    ----------
    logits : torch.Tensor
        Shape (B, ...), any real values: the decoder's output.
    x : torch.Tensor
        Same shape, values in [0, 1].
    validate : bool
        Check that ``x`` lies in [0, 1] (reads its values: a host sync on an accelerator). A
        training loop checks its data once at entry and passes ``False`` in every step; shapes
        are always checked.

    Returns
    -------
    torch.Tensor
        Shape (B,), :math:`\geq 0`, in nats.
    """
    _check_pair(x, logits, "logits")
    if validate and (bool((x < 0).any()) or bool((x > 1).any())):
        raise ValueError(
            f"Bernoulli targets must lie in [0, 1], got values in [{float(x.min()):g}, {float(x.max()):g}]: "
            "scale images with aigc_course.data.to_unit (not to_signed)"
        )
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)


def gaussian_nll(mean: torch.Tensor, x: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    r"""Gaussian reconstruction term :math:`-\log \mathcal N(x; \hat x, \sigma^2 I)`, per example.

    .. math::

        -\log p(x \mid z) = \frac{1}{2\sigma^2}\lVert x - \hat x\rVert^2 + \frac{D}{2}\log(2\pi\sigma^2)

    i.e. a scaled sum of squared errors plus a constant: "MSE loss" is this likelihood with a
    fixed :math:`\sigma`, whose value sets how much reconstruction weighs against the KL.

    Parameters
    ----------
    mean : torch.Tensor
        Shape (B, ...), the decoder's mean :math:`\hat x`.
    x : torch.Tensor
        Same shape, the data.
    sigma : float
        Observation noise standard deviation, > 0.

    Returns
    -------
    torch.Tensor
        Shape (B,), in nats (may be negative for small ``sigma``: it is a density).
    """
    _check_pair(x, mean, "mean")
    sigma = check_real(sigma, "sigma", low=0.0, low_open=True)
    sq = (x - mean).pow(2).flatten(1).sum(dim=1)
    n_dims = x[0].numel()
    return sq / (2 * sigma**2) + 0.5 * n_dims * math.log(2 * math.pi * sigma**2)


class NegativeELBO(NamedTuple):
    r"""Per-example terms of the negative ELBO, each shape (B,) in nats: ``total = recon + beta * kl``."""

    total: torch.Tensor
    recon: torch.Tensor
    kl: torch.Tensor


def negative_elbo(
    x: torch.Tensor,
    decoder_out: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    beta: float = 1.0,
    likelihood: str = "bernoulli",
    sigma: float = 1.0,
    *,
    validate: bool = True,
) -> NegativeELBO:
    r"""The VAE loss: negative evidence lower bound with a :math:`\beta` weight on the KL, per example.

    .. math::

        -\mathcal L_\beta(x) = \underbrace{-\log p_\theta(x \mid z)}_{\text{recon}}
        + \beta\,\underbrace{\KL\bigl(q_\phi(z\mid x)\,\|\,p(z)\bigr)}_{\text{kl}},
        \qquad z \sim q_\phi(z \mid x)

    a one-sample estimate of :math:`-\E_q[\log p(x\mid z)] + \beta\KL`. With :math:`\beta = 1`
    it bounds the negative log-likelihood from above: :math:`-\log p(x) \le -\mathcal L_1(x)`.
    :math:`\beta > 1` trades reconstruction for a smoother latent space (Higgins et al. 2017).
    There is **no discriminator term**: a VAE has no discriminator.

    Parameters
    ----------
    x : torch.Tensor
        (B, ...) data: in [0, 1] for ``"bernoulli"``, any real values for ``"gaussian"``.
    decoder_out : torch.Tensor
        Same shape as ``x``: logits (``"bernoulli"``) or means (``"gaussian"``), decoded from
        a reparameterised sample :math:`z`.
    mu, logvar : torch.Tensor
        (B, d) parameters of :math:`q_\phi(z \mid x)`.
    beta : float
        KL weight, >= 0 (0 turns the VAE into a plain autoencoder with a noisy code).
    likelihood : {"bernoulli", "gaussian"}
        Which :math:`p_\theta(x \mid z)`: :func:`bernoulli_nll` or :func:`gaussian_nll`.
    sigma : float
        Gaussian observation noise (``"gaussian"`` only).
    validate : bool
        Passed to :func:`bernoulli_nll`: ``False`` skips the value check of ``x`` (per-step use
        after one check at entry).

    Returns
    -------
    NegativeELBO
        ``(total, recon, kl)``, each (B,) in nats.

    References
    ----------
    Kingma & Welling (2014), Eq. (3) and (10); Higgins et al. (2017), Eq. (4).
    """
    beta = check_real(beta, "beta", low=0.0)
    if likelihood == "bernoulli":
        recon = bernoulli_nll(decoder_out, x, validate=validate)
    elif likelihood == "gaussian":
        recon = gaussian_nll(decoder_out, x, sigma)
    else:
        raise ValueError(f"likelihood must be one of {_LIKELIHOODS}, got {likelihood!r}")
    kl = gaussian_kl(mu, logvar)
    if kl.shape[0] != recon.shape[0]:
        raise ValueError(
            f"x has {recon.shape[0]} examples but mu has {kl.shape[0]}: pass the same batch"
        )
    return NegativeELBO(recon + beta * kl, recon, kl)


def importance_weighted_bound(
    log_px_given_z: torch.Tensor, log_pz: torch.Tensor, log_qz: torch.Tensor
) -> torch.Tensor:
    r"""Importance-weighted lower bound on :math:`\log p(x)` from K samples :math:`z_k \sim q(z \mid x)`.

    .. math::

        \mathcal L_K(x) = \log \frac1K \sum_{k=1}^{K}
        \frac{p_\theta(x \mid z_k)\, p(z_k)}{q_\phi(z_k \mid x)}
        = \operatorname{logsumexp}_k\bigl(\log p(x\mid z_k) + \log p(z_k) - \log q(z_k\mid x)\bigr) - \log K

    :math:`\mathcal L_1` is the ELBO; :math:`\E[\mathcal L_K] \le \E[\mathcal L_{K+1}] \le \log p(x)`, and
    :math:`\mathcal L_K \to \log p(x)` as :math:`K \to \infty` (Burda et al. 2016, Theorem 1).
    :math:`-\mathcal L_K` with large K is the usual estimate of a VAE's negative log-likelihood.

    Parameters
    ----------
    log_px_given_z, log_pz, log_qz : torch.Tensor
        Shape (K, B), in nats: log-likelihood, log-prior and log-posterior of each sample.

    Returns
    -------
    torch.Tensor
        Shape (B,), in nats (a log-likelihood bound: negate it for an NLL).
    """
    for name, value in (("log_px_given_z", log_px_given_z), ("log_pz", log_pz), ("log_qz", log_qz)):
        _check_tensor(name, value)
        if value.ndim != 2:
            raise ValueError(
                f"{name} must have shape (K, B): samples first, then examples; got {tuple(value.shape)}"
            )
    if not log_px_given_z.shape == log_pz.shape == log_qz.shape:
        raise ValueError(
            f"the three log-densities must have the same shape (K, B), got {tuple(log_px_given_z.shape)}, "
            f"{tuple(log_pz.shape)} and {tuple(log_qz.shape)}"
        )
    k = log_px_given_z.shape[0]
    return torch.logsumexp(log_px_given_z + log_pz - log_qz, dim=0) - math.log(k)
