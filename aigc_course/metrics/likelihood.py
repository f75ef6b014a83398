r"""Likelihood-based metrics: nats to bits per dimension, the NLL bound of a density on dequantised data, a VAE's held-out negative ELBO and importance-weighted NLL, and an autoregressive model's exact held-out NLL.

References
----------
Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", ICLR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from aigc_course._check import (
    check_bool,
    check_choice,
    check_count,
    check_finite,
    check_module,
    check_range,
    check_real,
    check_tensor,
)
from aigc_course.data.transforms import check_on_grid, dequantize_unit
from aigc_course.losses.vae import (
    bernoulli_nll,
    gaussian_nll,
    importance_weighted_bound,
    log_normal_diag,
)

__all__ = [
    "AutoregressiveEvaluation",
    "NormalizingFlowEvaluation",
    "VAEEvaluation",
    "bits_per_dim",
    "check_vae_data",
    "dequantized_bits_per_dim",
    "discrete_nll_from_density",
    "evaluate_autoregressive",
    "evaluate_normalizing_flow",
    "evaluate_vae",
]

_LIKELIHOODS = ("bernoulli", "gaussian")


def bits_per_dim(nll_nats: torch.Tensor | float, num_dims: int) -> torch.Tensor | float:
    r"""Convert a negative log-likelihood per example from nats to bits per dimension.

    .. math:: \text{bpd} = \frac{\text{NLL}_{\text{nats}}}{D \ln 2}

    Parameters
    ----------
    nll_nats : tensor (B,) or float
        Negative log-likelihood of each example, in nats (natural log).
    num_dims : int
        Number of dimensions D of one example (784 for a 28x28 image).

    References
    ----------
    Theis, van den Oord & Bethge, "A note on the evaluation of generative models", ICLR 2016, sec. 3.1.
    """
    _check_nll(nll_nats, "nll_nats")
    num_dims = check_count(num_dims, "num_dims")
    return nll_nats / (num_dims * math.log(2.0))


def _check_nll(value: object, name: str) -> None:
    if isinstance(value, torch.Tensor):
        check_tensor(value, name, floating=True, nonempty=False)
    else:
        check_real(value, name)


def discrete_nll_from_density(
    log_density: torch.Tensor, num_dims: int, levels: int = 256
) -> torch.Tensor:
    r"""Upper bound on the NLL (nats) of ``levels``-valued data from a density fitted to dequantised data.

    With :math:`y = (x + u) / L`, :math:`u \sim U[0, 1)^D`, a density :math:`p` on :math:`[0, 1]^D` assigns the
    discrete image :math:`x` the probability :math:`P(x) = \int_{\text{bin}(x)} p(y)\,dy`, and by Jensen

    .. math:: -\log P(x) \le -\mathbb E_u[\log p(y)] + D \log L .

    Parameters
    ----------
    log_density : tensor (B,)
        :math:`\log p(y)` in nats for dequantised, rescaled images :math:`y \in [0, 1)^D`.
    num_dims : int
        D, the number of pixels.
    levels : int
        L, the number of intensity levels (256 for 8-bit images).

    References
    ----------
    Theis, van den Oord & Bethge, ICLR 2016, sec. 3.1; Uria, Murray & Larochelle, NeurIPS 2013.
    """
    _check_nll(log_density, "log_density")
    levels = check_count(levels, "levels", minimum=2)
    num_dims = check_count(num_dims, "num_dims")
    return -log_density + num_dims * math.log(levels)


def dequantized_bits_per_dim(
    log_density: torch.Tensor, num_dims: int, levels: int = 256
) -> torch.Tensor:
    r"""Bits per dimension of ``levels``-valued images from a density on dequantised data in [0, 1).

    The discrete bound of :func:`discrete_nll_from_density` divided by :math:`D \ln 2`:

    .. math::

        \text{bpd} = \frac{-\log p(y) + D \log L}{D \ln 2}
                    = \frac{-\log p(y)}{D \ln 2} + \log_2 L ,

    so with the data scaled to [0, 1] every 8-bit image pays an offset of exactly 8 bits per
    dimension: a uniform density on :math:`[0, 1]^D` (:math:`\log p = 0`) scores 8, as it
    should (256 equally likely levels). Averaged over :math:`u`, :math:`\log p(y)` gives an upper
    bound on the discrete NLL; this is how RealNVP and Glow report bits/dim.

    Parameters
    ----------
    log_density : tensor (B,)
        :math:`\log p(y)` in nats for dequantised images :math:`y = (k + u) / L \in [0, 1)^D`
        (e.g. :func:`aigc_course.data.dequantize_unit` then ``model.log_prob``).
    num_dims : int
        D, the number of pixels (784 for MNIST).
    levels : int
        L (256 for 8-bit images).

    Returns
    -------
    tensor (B,)
        Bits per dimension.

    References
    ----------
    Theis, van den Oord & Bethge, ICLR 2016, sec. 3.1; Dinh et al., ICLR 2017, sec. 4.1.
    """
    return bits_per_dim(discrete_nll_from_density(log_density, num_dims, levels), num_dims)


# ------------------------------------------------------------------------------ flows


@dataclass(frozen=True)
class NormalizingFlowEvaluation:
    r"""Held-out discrete likelihood of a density model on dequantised images (lower is better).

    Attributes
    ----------
    nats : float
        Mean upper bound on :math:`-\log P(x)` per image, in nats, with the :math:`D \log L`
        offset (:func:`discrete_nll_from_density`).
    bits_per_dim : float
        The same in bits per dimension (:func:`dequantized_bits_per_dim`).
    bits_per_dim_sem : float
        Standard error of ``bits_per_dim`` over the images (sample std / sqrt(n)).
    n : int
        Images evaluated.
    draws : int
        Dequantisation draws :math:`u` per image averaged in :math:`\mathbb E_u[\log p]`.
    levels : int
        L, intensity levels of the data (256: 8-bit).
    """

    nats: float
    bits_per_dim: float
    bits_per_dim_sem: float
    n: int
    draws: int
    levels: int

    def __str__(self) -> str:
        return (
            f"{self.bits_per_dim:.3f} +- {self.bits_per_dim_sem:.3f} bits/dim "
            f"({self.nats:.1f} nats/image) on {self.n} {self.levels}-level images, "
            f"{self.draws} dequantisation draw(s) each"
        )


@torch.no_grad()
def evaluate_normalizing_flow(
    model: nn.Module,
    data: torch.Tensor,
    *,
    levels: int = 256,
    draws: int = 1,
    batch_size: int = 256,
    seed: int = 0,
) -> NormalizingFlowEvaluation:
    r"""Held-out NLL bound of a density on uniformly dequantised images, in nats and bits/dim.

    For each image :math:`k` (stored as :math:`k / (L - 1)` in [0, 1]), draw
    :math:`u_1, \dots, u_S \sim \mathcal U[0, 1)^D`, set :math:`y_s = (k + u_s) / L` and
    report

    .. math::

        -\log P(k) \le -\frac1S \sum_s \log p(y_s) + D \log L \ \text{nats},
        \qquad \text{bpd} = \frac{\text{nats}}{D \ln 2},

    averaged over the images, with the standard error of the mean over images.

    Parameters
    ----------
    model : torch.nn.Module
        A density on [0, 1]^D with ``log_prob(y) -> (B,)`` in nats (e.g.
        :class:`aigc_course.models.normalizing_flow.NormalizingFlow` with a logit layer).
    data : torch.Tensor
        (N, ...) float images on the grid :math:`k / (L - 1)` in [0, 1]
        (:func:`aigc_course.data.to_unit` of 8-bit images); N >= 2.
    levels : int
        L (256 for 8-bit images).
    draws : int
        S, dequantisation draws per image.
    batch_size : int
        Images per ``log_prob`` call.
    seed : int
        Seeds the noise :math:`u` (drawn on the CPU, so results match across devices).

    Returns
    -------
    NormalizingFlowEvaluation

    References
    ----------
    Theis, van den Oord & Bethge, ICLR 2016, sec. 3.1; Dinh et al., ICLR 2017, sec. 4.1.
    """
    check_module(model, "model", "log_prob")
    check_tensor(data, "data", floating=True, shape_hint="(N, ...) images in [0, 1]")
    levels = check_count(levels, "levels", minimum=2)
    check_count(data.shape[0], "the number of images in data", minimum=2)
    check_on_grid(data, "data", levels)
    draws = check_count(draws, "draws")
    batch_size = check_count(batch_size, "batch_size")
    seed = check_count(seed, "seed", minimum=0)
    params = next(iter(model.parameters()), None)
    device = data.device if params is None else params.device
    rng = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    log_p = []
    try:
        for chunk in data.split(batch_size):
            total = torch.zeros(chunk.shape[0], dtype=torch.float64)
            for _ in range(draws):
                noise = torch.rand(chunk.shape, generator=rng, dtype=chunk.dtype)
                y = dequantize_unit(
                    chunk.to(device), levels=levels, noise=noise.to(device), validate=False
                )
                total += model.log_prob(y).double().cpu()
            log_p.append(total / draws)
    finally:
        model.train(was_training)
    num_dims = data[0].numel()
    nats = discrete_nll_from_density(torch.cat(log_p), num_dims, levels)
    bpd = bits_per_dim(nats, num_dims)
    check_finite(bpd, "the model's log_prob on data", "the model assigns zero density somewhere")
    return NormalizingFlowEvaluation(
        nats=float(nats.mean()),
        bits_per_dim=float(bpd.mean()),
        bits_per_dim_sem=float(bpd.std() / math.sqrt(len(bpd))),
        n=len(bpd),
        draws=draws,
        levels=levels,
    )


# ------------------------------------------------------------------------------ VAEs


def check_vae_data(data: object, labels: object, likelihood: str) -> torch.Tensor:
    r"""Check VAE images (N, 1, H, W), finite, in [0, 1] for the Bernoulli likelihood, and labels.

    Reads every value (a host sync): call it once at an entry point, never per step.
    """
    hint = "(N, 1, H, W); use aigc_course.data.to_unit(images), which adds the channel axis"
    check_tensor(data, "data", ndim=4, floating=True, shape_hint=hint)
    check_finite(data, "data")
    if likelihood == "bernoulli" and data.numel() and float(data.min()) < -0.5:
        raise ValueError(
            "data must lie in [0, 1] for the Bernoulli likelihood, but it looks like [-1, 1] "
            "images: use aigc_course.data.to_unit (not to_signed), or from_signed"
        )
    if likelihood == "bernoulli":
        check_range(data, "data (the Bernoulli likelihood needs images in [0, 1])", 0.0, 1.0)
    if labels is not None and (
        not isinstance(labels, torch.Tensor)
        or labels.dtype != torch.int64
        or labels.shape != data.shape[:1]
    ):
        shape = tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
        raise ValueError(
            f"labels must be an int64 tensor of shape ({data.shape[0]},), one per image, "
            f"got {shape}"
        )
    return data


@dataclass(frozen=True)
class VAEEvaluation:
    r"""Held-out scores of a VAE, in nats per image (lower is better).

    Attributes
    ----------
    neg_elbo : float
        :math:`-\E_q[\log p(x\mid z) + \log p(z) - \log q(z\mid x)]`, the mean over the K samples.
    iw_nll : float
        :math:`-\mathcal L_K`, the importance-weighted bound (Burda et al.); :math:`\le` ``neg_elbo``.
    k : int
        Importance samples per image.
    binarized : bool
        Whether the data were binary. Only then is the Bernoulli score a negative log-likelihood
        comparable with published binarised-MNIST results; on grey values it is a cross-entropy.
    n : int
        Images evaluated.
    """

    neg_elbo: float
    iw_nll: float
    k: int
    binarized: bool
    n: int

    def __str__(self) -> str:
        data = (
            "binarised"
            if self.binarized
            else "grey-level (not binarised: a cross-entropy, not an NLL)"
        )
        return (
            f"negative ELBO {self.neg_elbo:.2f} nats/image, IW-NLL (k={self.k}) {self.iw_nll:.2f} nats/image "
            f"on {self.n} {data} images"
        )


@torch.no_grad()
def evaluate_vae(
    model: nn.Module,
    data: torch.Tensor,
    *,
    binarized: bool,
    k: int = 100,
    batch_size: int = 100,
    seed: int = 0,
    likelihood: str = "bernoulli",
    sigma: float = 1.0,
    labels: torch.Tensor | None = None,
) -> VAEEvaluation:
    r"""Held-out negative ELBO and importance-weighted NLL of a VAE, in nats per image.

    For each image, draw :math:`z_1, \dots, z_K \sim q_\phi(z \mid x)` and form
    :math:`\log w_k = \log p_\theta(x\mid z_k) + \log p(z_k) - \log q_\phi(z_k\mid x)`; then

    .. math::

        \text{neg ELBO} = -\frac1K\sum_k \log w_k, \qquad
        \text{IW-NLL} = -\Bigl(\operatorname{logsumexp}_k \log w_k - \log K\Bigr)

    (:func:`~aigc_course.losses.vae.importance_weighted_bound`), averaged over the images. The
    IW-NLL is never above the negative ELBO and approaches :math:`-\log p(x)` as K grows.

    Parameters
    ----------
    model : torch.nn.Module
        A VAE with ``encode(x) -> (mu, logvar)`` and ``decode(z) -> logits`` (or
        ``encode(x, y)``, ``decode(z, y)`` with ``labels``).
    data : torch.Tensor
        (N, 1, H, W) float images in [0, 1] (binary if ``binarized``).
    binarized : bool
        Say whether the data are binary; checked, and carried into the result.
    k : int
        Importance samples per image (Burda et al. report K = 5000; 100 is close for small models).
    batch_size : int
        Images per forward pass (memory grows as ``k * batch_size``).
    seed : int
        Seeds the samples of :math:`z`.
    likelihood, sigma
        As in :class:`~aigc_course.train.vae.VAETrainConfig`.
    labels : torch.Tensor, optional
        (N,) int64 labels for a conditional VAE.

    Returns
    -------
    VAEEvaluation
    """
    check_module(model, "model", "encode", "decode")
    check_choice(likelihood, "likelihood", _LIKELIHOODS)
    check_vae_data(data, labels, likelihood)
    if likelihood == "gaussian":
        sigma = check_real(sigma, "sigma", low=0.0, low_open=True)
    check_bool(binarized, "binarized", hint="say whether the data are binary")
    is_binary = bool(((data == 0) | (data == 1)).all())
    if binarized and not is_binary:
        raise ValueError(
            "binarized=True but the data have grey values: binarise them first "
            "(aigc_course.data.binarize) or pass binarized=False"
        )
    k = check_count(k, "k")
    batch_size = check_count(batch_size, "batch_size")
    seed = check_count(seed, "seed", minimum=0)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    elbo_sum = iw_sum = 0.0
    try:
        for start in range(0, data.shape[0], batch_size):
            x = data[start : start + batch_size].to(device)
            y = None if labels is None else labels[start : start + batch_size].to(device)
            b = x.shape[0]
            mu, logvar = _call(model.encode, x, y)
            eps = torch.randn((k, *mu.shape), generator=rng, dtype=mu.dtype).to(device)
            z = mu + torch.exp(0.5 * logvar) * eps  # (K, B, d)
            y_rep = None if y is None else y.repeat(k)
            out = _call(model.decode, z.reshape(k * b, -1), y_rep)
            x_rep = x.repeat(k, 1, 1, 1)
            if likelihood == "bernoulli":
                log_px = -bernoulli_nll(out, x_rep).view(k, b)
            else:
                log_px = -gaussian_nll(out, x_rep, sigma).view(k, b)
            log_pz = log_normal_diag(z, torch.zeros_like(z), torch.zeros_like(z))
            log_qz = log_normal_diag(z, mu, logvar)
            elbo_sum += float((log_px + log_pz - log_qz).mean(0).sum())
            iw_sum += float(importance_weighted_bound(log_px, log_pz, log_qz).sum())
    finally:
        model.train(was_training)
    n = data.shape[0]
    return VAEEvaluation(neg_elbo=-elbo_sum / n, iw_nll=-iw_sum / n, k=k, binarized=binarized, n=n)


def _call(fn: Any, tensor: torch.Tensor, labels: torch.Tensor | None, **kwargs: Any) -> Any:
    r"""``fn(tensor)``, or ``fn(tensor, labels)`` for a conditional model."""
    return fn(tensor, **kwargs) if labels is None else fn(tensor, labels, **kwargs)


# ------------------------------------------------------------------------------ autoregressive models


@dataclass(frozen=True)
class AutoregressiveEvaluation:
    r"""Held-out exact negative log-likelihood of an autoregressive model (lower is better).

    Attributes
    ----------
    nats_per_example : float
        :math:`-\frac1N \sum_n \log p(x_n)`: nats per image, or per token window.
    nats_per_dim : float
        The same divided by D, the scored dimensions per example (pixels or tokens).
    bits_per_dim : float
        ``nats_per_dim / ln 2``.
    n : int
        Examples scored.
    dims : int
        D.
    """

    nats_per_example: float
    nats_per_dim: float
    bits_per_dim: float
    n: int
    dims: int


@torch.no_grad()
def evaluate_autoregressive(
    model: nn.Module, data: torch.Tensor, *, batch_size: int = 256
) -> AutoregressiveEvaluation:
    r"""Exact held-out NLL of a model with ``conditional_log_probs``, in nats and bits per dim.

    .. math:: \mathrm{NLL} = -\frac1N \sum_{n} \sum_{d=1}^{D} \log p(x_{n,d} \mid x_{n,<d}),
              \qquad \text{bpd} = \frac{\mathrm{NLL}}{D \ln 2}

    Parameters
    ----------
    model : nn.Module
        MADE, PixelCNN or a causal transformer (eval mode is set and restored).
    data : tensor
        (N, 1, H, W) binary images, or (N, T) int64 token windows; checked by the model.
    batch_size : int

    Returns
    -------
    AutoregressiveEvaluation

    References
    ----------
    Theis, van den Oord & Bethge, "A note on the evaluation of generative models", ICLR 2016.
    """
    check_module(model, "model", "conditional_log_probs")
    check_tensor(data, "data", shape_hint="(N, 1, H, W) binary images or (N, T) int64 tokens")
    batch_size = check_count(batch_size, "batch_size")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, dims = 0.0, 0
    try:
        for chunk in data.split(batch_size):
            try:
                terms = model.conditional_log_probs(chunk.to(device), validate=True)
            except (TypeError, ValueError) as exc:  # the model's check, said of `data`
                raise type(exc)(f"data: {exc}") from exc
            total -= float(terms.double().sum())
            dims = terms.shape[1]
    finally:
        model.train(was_training)
    n = data.shape[0]
    per_dim = total / (n * dims)
    return AutoregressiveEvaluation(total / n, per_dim, per_dim / math.log(2.0), n, dims)
