r"""Train a VAE by minimising the negative ELBO, and evaluate it in nats per image.

:func:`train_vae` follows the conventions of :func:`aigc_course.train.gan.train_gan`: it takes the
model, the data and one frozen config; the data order comes from
:func:`aigc_course.data.batching.iterate_batches` ``(seed, epoch)`` and the reparameterisation
noise from one ``torch.Generator`` seeded with ``cfg.seed``, checkpointed at the end of every epoch
with the optimiser, so a run is bit-identical when repeated and a resumed run ends where an
uninterrupted one would. The math of one update is :func:`vae_step`; the bookkeeping is the
loop core, :class:`aigc_course.train.core.Loop`. :func:`evaluate_vae` reports the held-out
negative ELBO and the importance-weighted negative log-likelihood.

References
----------
Kingma & Welling (2014), "Auto-Encoding Variational Bayes", ICLR, Algorithm 1.
Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", ICLR.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from aigc_course import _check
from aigc_course.data.batching import num_batches
from aigc_course.data.transforms import random_shift
from aigc_course.losses.vae import (
    bernoulli_nll,
    gaussian_nll,
    importance_weighted_bound,
    log_normal_diag,
    negative_elbo,
)
from aigc_course.runtime import get_device
from aigc_course.train.core import Loop, OnStep, batch_stream, cosine_factor

__all__ = [
    "VAE_HISTORY_KEYS",
    "VAEEvaluation",
    "VAEResult",
    "VAETrainConfig",
    "evaluate_vae",
    "train_vae",
    "vae_step",
]

VAE_HISTORY_KEYS = ("loss", "recon", "kl")
r"""Per-step records of :func:`train_vae`, batch means in nats per image: ``loss = recon + beta * kl``."""

_LIKELIHOODS = ("bernoulli", "gaussian")
_LR_SCHEDULES = ("constant", "cosine")
# Settings that decide which batch, shifts and noise each step sees; a resumed run must match.
_STREAM_KEYS = ("seed", "batch_size", "max_shift")


@dataclass(frozen=True)
class VAETrainConfig:
    r"""Everything :func:`train_vae` needs besides the model and the data.

    Attributes
    ----------
    epochs : int
        Passes over the data (the last partial batch of each is kept), an upper bound when
        ``max_seconds`` is set. On resume, training continues up to this total.
    batch_size : int
        Images per Adam step.
    lr : float
        Adam learning rate (1e-3 as in Kingma & Welling's experiments and the PyTorch example).
    lr_schedule : {"constant", "cosine"}
        ``"cosine"`` decays the rate from ``lr`` to 0 over the run
        (:func:`~aigc_course.train.core.cosine_factor` of
        :attr:`~aigc_course.train.core.Loop.fraction_done`: steps over ``epochs``' steps, or
        time over ``max_seconds`` if that is further).
    beta : float
        KL weight of :func:`~aigc_course.losses.vae.negative_elbo`; 1 is the ELBO.
    likelihood : {"bernoulli", "gaussian"}
        Decoder likelihood; ``"bernoulli"`` expects data in [0, 1].
    sigma : float
        Observation noise of the ``"gaussian"`` likelihood.
    max_shift : int
        Data augmentation: move every training image by a random offset of up to this many
        pixels along each axis (:func:`~aigc_course.data.transforms.random_shift`); 0 (default) trains on
        the images as they are. One or two pixels regularise a VAE trained on a few thousand
        digits; the held-out score is measured on unshifted images.
    max_seconds : float or None
        Stop after the step during which this much training time has passed.
    seed : int
        Seeds the data order and the reparameterisation noise.
    device : str
        ``"cpu"``, ``"cuda"``, ...; see :func:`aigc_course.runtime.get_device`.
    checkpoint_path : str or os.PathLike or None
        Written atomically at the end of every epoch and when training stops; ``None``
        disables checkpoints.
    progress : bool
        Show a tqdm progress bar.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    lr_schedule: str = "constant"
    beta: float = 1.0
    likelihood: str = "bernoulli"
    sigma: float = 1.0
    max_shift: int = 0
    max_seconds: float | None = None
    seed: int = 0
    device: str = "cpu"
    checkpoint_path: str | os.PathLike | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        owner = "VAETrainConfig"
        for name, minimum in (
            ("epochs", 0),
            ("batch_size", 1),
            ("seed", 0),
            ("max_shift", 0),
        ):
            _check.positive_int(owner, name, getattr(self, name), minimum)
        _check.finite_number(owner, "lr", self.lr)
        _check.finite_number(owner, "sigma", self.sigma)
        _check.finite_number(owner, "beta", self.beta, positive=False)
        if self.max_seconds is not None:
            _check.finite_number(owner, "max_seconds", self.max_seconds)
        _check.one_of(owner, "likelihood", self.likelihood, _LIKELIHOODS)
        _check.one_of(owner, "lr_schedule", self.lr_schedule, _LR_SCHEDULES)


@dataclass(frozen=True)
class VAEResult:
    r"""What :func:`train_vae` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The model, trained in place (train mode).
    history : dict of str to list of float
        One entry per step for each of :data:`VAE_HISTORY_KEYS`.
    steps : int
        Steps completed (counting those of a resumed run).
    seconds : float
        Training wall-clock time of this call.
    stopped_by : {"steps", "max_seconds", "on_step"}
        What ended training.
    """

    model: nn.Module
    history: dict[str, list[float]]
    steps: int
    seconds: float = 0.0
    stopped_by: str = "steps"


def vae_step(
    model, opt, x, eps, *, labels=(), beta=1.0, likelihood="bernoulli", sigma=1.0
):
    r"""One Adam step on the negative ELBO of a batch (Kingma & Welling, 2014, Alg. 1).

    ``eps`` (B, d) is the standard normal noise of :math:`z = \mu + \sigma\varepsilon`;
    ``labels`` is ``()`` or ``(y,)`` for a conditional VAE. Returns loss tensors (no
    host sync).
    """
    out = model(x, *labels, eps=eps)  # encode, z = mu + sigma * eps, decode
    terms = negative_elbo(x, out.logits, out.mu, out.logvar, beta, likelihood, sigma)
    loss = terms.total.mean()  # -ELBO = recon + beta * KL, nats per image
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {
        "loss": loss.detach(),
        "recon": terms.recon.detach().mean(),
        "kl": terms.kl.detach().mean(),
    }


def _check_data(data: Any, labels: Any, likelihood: str) -> None:
    _check.tensor(
        "data",
        data,
        hint="images of shape (N, 1, H, W); use aigc_course.data.to_unit(images)",
    )
    if data.ndim != 4:
        raise ValueError(
            f"data must have shape (N, 1, H, W), got {tuple(data.shape)}: "
            "use aigc_course.data.to_unit(images), which adds the channel axis"
        )
    if not data.is_floating_point():
        raise TypeError(
            f"data must be float images, got dtype {data.dtype}: use aigc_course.data.to_unit"
        )
    if data.shape[0] == 0:
        raise ValueError("data is empty: pass at least one image")
    _check.finite("data", data)
    if likelihood == "bernoulli":
        _check.unit_range(
            "data (the Bernoulli likelihood needs images in [0, 1])",
            data,
            "use aigc_course.data.to_unit (not to_signed)",
        )
    if labels is not None and (
        not isinstance(labels, torch.Tensor)
        or labels.dtype != torch.int64
        or labels.shape != data.shape[:1]
    ):
        shape = (
            tuple(labels.shape)
            if isinstance(labels, torch.Tensor)
            else type(labels).__name__
        )
        raise ValueError(
            f"labels must be an int64 tensor of shape ({data.shape[0]},), one per image, "
            f"got {shape}"
        )


def train_vae(
    model: nn.Module,
    data: torch.Tensor,
    cfg: VAETrainConfig,
    *,
    labels: torch.Tensor | None = None,
    history: dict[str, list[float]] | None = None,
    resume: bool = False,
    on_step: OnStep | None = None,
) -> VAEResult:
    r"""Train a VAE with Adam on the negative ELBO, one reparameterised sample per image.

    Each step (:func:`vae_step`) takes a batch :math:`x_{1..B}`, encodes it, draws
    :math:`z_b = \mu_b + \sigma_b\varepsilon_b`, decodes, and descends

    .. math::

        \frac1B \sum_{b} \Bigl[-\log p_\theta(x_b \mid z_b) + \beta\,\KL\bigl(q_\phi(z\mid x_b)\,\|\,\mathcal N(0, I)\bigr)\Bigr]

    Parameters
    ----------
    model : torch.nn.Module
        A VAE with an int ``latent_dim`` whose ``forward(x, eps=...)`` returns
        ``(logits, mu, logvar, z)`` like :class:`aigc_course.models.vae.MLPVAE`; with ``labels``,
        ``forward(x, y, eps=...)``.
    data : torch.Tensor
        (N, 1, H, W) float images, in [0, 1] for the Bernoulli likelihood.
    cfg : VAETrainConfig
    labels : torch.Tensor, optional
        (N,) int64 class labels, for a conditional VAE.
    history : dict, optional
        A dict to append the per-step records to (lists keyed by :data:`VAE_HISTORY_KEYS`).
    resume : bool
        Continue from ``cfg.checkpoint_path`` if that file exists (else start fresh); the
        checkpoint is validated before anything is loaded into the model.
    on_step : callable, optional
        ``on_step(step, state)`` after every step; returning ``True`` stops training there.

    Returns
    -------
    VAEResult

    Raises
    ------
    TrainingDiverged
        (a ``FloatingPointError``) when the loss, a weight or an Adam moment becomes NaN or
        infinite; names the step and says how to restart.

    Notes
    -----
    Under ``torchrun --nproc_per_node N`` each process takes its contiguous share of every
    batch and of its noise, and ``DistributedDataParallel`` averages the gradients, so the run
    matches a single process on the whole batch (exactly, when ``N`` divides the batch sizes).

    References
    ----------
    Kingma & Welling (2014), Algorithm 1 (with Adam, Kingma & Ba 2015).
    """
    if not isinstance(cfg, VAETrainConfig):
        raise TypeError(f"cfg must be a VAETrainConfig, got {type(cfg).__name__}")
    _check_data(data, labels, cfg.likelihood)
    latent_dim = _latent_dim(model)
    device = get_device(cfg.device)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = torch.Generator().manual_seed(cfg.seed)
    per_epoch = num_batches(data.shape[0], cfg.batch_size)
    loop = Loop(
        "VAE",
        total=cfg.epochs * per_epoch,
        keys=VAE_HISTORY_KEYS,
        hints={
            "loss": (
                "negative ELBO",
                f"check the data are finite and in [0, 1], and lower cfg.lr (now {cfg.lr})",
            )
        },
        models={"model": model},
        optimizers={"opt": opt},
        rngs={"noise": rng},
        settings={k: getattr(cfg, k) for k in _STREAM_KEYS}
        | {"n_examples": data.shape[0]},
        history=history,
        checkpoint_path=cfg.checkpoint_path,
        checkpoint_every=per_epoch if cfg.checkpoint_path is not None else None,
        max_seconds=cfg.max_seconds,
        progress=cfg.progress,
        limit=f"cfg.epochs={cfg.epochs} ({cfg.epochs * per_epoch} steps)",
    )
    start = loop.resume(resume)
    for group in opt.param_groups:  # a resumed optimiser keeps its state, not its rate
        group["lr"] = cfg.lr
    tensors = (
        (data.to(device),) if labels is None else (data.to(device), labels.to(device))
    )
    batches = batch_stream(tensors, cfg.batch_size, cfg.seed, start, drop_last=False)
    net = loop.wrap(model)
    dtype = next(model.parameters()).dtype
    for _ in loop.steps(on_step):
        if cfg.lr_schedule == "cosine":
            for group in opt.param_groups:
                group["lr"] = cfg.lr * cosine_factor(loop.fraction_done)
        x, *y = next(batches)
        x = random_shift(x, cfg.max_shift, rng)  # x itself when max_shift is 0
        eps = torch.randn(x.shape[0], latent_dim, generator=rng, dtype=dtype).to(device)
        x, eps, y = loop.shard((x, eps, tuple(y)))
        terms = dict(beta=cfg.beta, likelihood=cfg.likelihood, sigma=cfg.sigma)
        loop.record(vae_step(net, opt, x, eps, labels=y, **terms))
    return VAEResult(model, loop.history, loop.step, loop.seconds, loop.stopped_by)


def _latent_dim(model: nn.Module) -> int:
    latent_dim = getattr(model, "latent_dim", None)
    if (
        not isinstance(latent_dim, int)
        or isinstance(latent_dim, bool)
        or latent_dim < 1
    ):
        raise TypeError(
            f"{type(model).__name__} has no int attribute latent_dim, so train_vae cannot draw "
            "the reparameterisation noise: set model.latent_dim = d (the size of z)"
        )
    return latent_dim


def _call(
    fn: Any, tensor: torch.Tensor, labels: torch.Tensor | None, **kwargs: Any
) -> Any:
    r"""``fn(tensor)``, or ``fn(tensor, labels)`` for a conditional model."""
    return fn(tensor, **kwargs) if labels is None else fn(tensor, labels, **kwargs)


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
        As in :class:`VAETrainConfig`.
    labels : torch.Tensor, optional
        (N,) int64 labels for a conditional VAE.

    Returns
    -------
    VAEEvaluation
    """
    _check_data(data, labels, likelihood)
    if likelihood not in _LIKELIHOODS:
        raise ValueError(
            f"likelihood must be one of {_LIKELIHOODS}, got {likelihood!r}"
        )
    if not isinstance(binarized, bool):
        raise TypeError(
            f"binarized must be True or False, got {binarized!r}: say whether the data are binary"
        )
    is_binary = bool(((data == 0) | (data == 1)).all())
    if binarized and not is_binary:
        raise ValueError(
            "binarized=True but the data have grey values: binarise them first "
            "(aigc_course.data.binarize) or pass binarized=False"
        )
    for name, value in (("k", k), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    elbo_sum = iw_sum = 0.0
    try:
        for start in range(0, data.shape[0], batch_size):
            x = data[start : start + batch_size].to(device)
            y = (
                None
                if labels is None
                else labels[start : start + batch_size].to(device)
            )
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
    return VAEEvaluation(
        neg_elbo=-elbo_sum / n, iw_nll=-iw_sum / n, k=k, binarized=binarized, n=n
    )
