r"""Train a VAE by minimising the negative ELBO.

:func:`train_vae` follows the conventions of :func:`aigc_course.train.gan.train_gan`: it takes the
model, the data and one frozen config; the data order comes from
:func:`aigc_course.data.batching.iterate_batches` ``(seed, epoch)`` and the reparameterisation
noise from one ``torch.Generator`` seeded with ``cfg.seed``, checkpointed at the end of every epoch
with the optimiser, so a run is bit-identical when repeated and a resumed run ends where an
uninterrupted one would. The math of one update is :func:`vae_step`; the bookkeeping is the
loop core, :class:`aigc_course.train.core.Loop`. :func:`aigc_course.metrics.likelihood.evaluate_vae`
reports the held-out negative ELBO and the importance-weighted negative log-likelihood.

References
----------
Kingma & Welling (2014), "Auto-Encoding Variational Bayes", ICLR, Algorithm 1.
Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", ICLR.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from aigc_course._check import (
    check_choice,
    check_count,
    check_module,
    check_real,
    is_int,
)
from aigc_course.data.batching import num_batches
from aigc_course.data.transforms import random_shift
from aigc_course.losses.vae import negative_elbo
from aigc_course.metrics.likelihood import check_vae_data
from aigc_course.train.config import RunConfig, TrainResult
from aigc_course.train.core import Loop, OnStep
from aigc_course.train.schedules import LR_SCHEDULES, cosine_factor

__all__ = [
    "VAE_HISTORY_KEYS",
    "VAEResult",
    "VAETrainConfig",
    "train_vae",
    "vae_step",
]

VAE_HISTORY_KEYS = ("loss", "recon", "kl")
r"""Per-step records of :func:`train_vae`, batch means in nats per image: ``loss = recon + beta * kl``."""

_LIKELIHOODS = ("bernoulli", "gaussian")
_HINT = "check the data are finite and in [0, 1], and lower cfg.lr (now {})"
# Settings that decide which batch, shifts and noise each step sees; a resumed run must match.
_STREAM_KEYS = ("seed", "batch_size", "max_shift")


@dataclass(frozen=True, kw_only=True)
class VAETrainConfig(RunConfig):
    r"""Everything :func:`train_vae` needs besides the model and the data.

    The run settings are those of :class:`~aigc_course.train.config.RunConfig` (``batch_size``
    128: images per Adam step); here ``device`` defaults to ``"cpu"``, and
    ``checkpoint_every=None`` means once per epoch (when ``checkpoint_path`` is set) and at
    the end.

    Attributes
    ----------
    epochs : int
        Passes over the data (the last partial batch of each is kept), an upper bound when
        ``max_seconds`` is set. On resume, training continues up to this total.
    lr : float
        Adam learning rate (1e-3 as in Kingma & Welling's experiments and the PyTorch example).
    lr_schedule : {"constant", "cosine"}
        ``"cosine"`` decays the rate from ``lr`` to 0 over the run
        (:func:`~aigc_course.train.schedules.cosine_factor` of
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
    """

    epochs: int = 10
    device: str | None = "cpu"
    lr: float = 1e-3
    lr_schedule: str = "constant"
    beta: float = 1.0
    likelihood: str = "bernoulli"
    sigma: float = 1.0
    max_shift: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "VAETrainConfig"
        check_count(self.epochs, f"{owner}.epochs", minimum=0)
        check_count(self.max_shift, f"{owner}.max_shift", minimum=0)
        check_real(self.lr, f"{owner}.lr", low=0.0, low_open=True)
        check_real(self.sigma, f"{owner}.sigma", low=0.0, low_open=True)
        check_real(self.beta, f"{owner}.beta", low=0.0)
        check_choice(self.likelihood, f"{owner}.likelihood", _LIKELIHOODS)
        check_choice(self.lr_schedule, f"{owner}.lr_schedule", LR_SCHEDULES)


@dataclass(frozen=True, kw_only=True)
class VAEResult(TrainResult):
    r"""What :func:`train_vae` returns: :class:`~aigc_course.train.config.TrainResult` and

    Attributes
    ----------
    model : torch.nn.Module
        The model, trained in place (train mode).
    """

    model: nn.Module


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
    check_module(model, "model")
    check_vae_data(data, labels, cfg.likelihood)
    latent_dim = _latent_dim(model)
    opt = torch.optim.Adam(model.train().parameters(), lr=cfg.lr)
    rng = torch.Generator().manual_seed(cfg.seed)
    per_epoch = num_batches(data.shape[0], cfg.batch_size)
    loop = Loop.start(
        "VAE",
        cfg,
        models={"model": model},
        optimizers={"opt": opt},
        keys=VAE_HISTORY_KEYS,
        hints={"loss": ("negative ELBO", _HINT.format(cfg.lr))},
        total=cfg.epochs * per_epoch,
        data=(data, labels),
        drop_last=False,
        stream_keys=_STREAM_KEYS,
        rngs={"noise": rng},
        history=history,
        resume=resume,
        checkpoint_every=cfg.checkpoint_every
        or (per_epoch if cfg.checkpoint_path else None),
        limit=f"cfg.epochs={cfg.epochs} ({cfg.epochs * per_epoch} steps)",
    )
    dtype = next(model.parameters()).dtype
    terms = {"beta": cfg.beta, "likelihood": cfg.likelihood, "sigma": cfg.sigma}
    for x, *y in loop.batches(on_step):
        if cfg.lr_schedule == "cosine":
            loop.set_lr(opt, cfg.lr * cosine_factor(loop.fraction_done))
        x = random_shift(x, cfg.max_shift, rng)  # x itself when max_shift is 0
        eps = torch.randn(x.shape[0], latent_dim, generator=rng, dtype=dtype).to(
            loop.device
        )
        x, eps, y = loop.shard((x, eps, tuple(y)))
        loop.record(vae_step(loop.nets["model"], opt, x, eps, labels=y, **terms))
    return VAEResult(model=model, **loop.summary())


def _latent_dim(model: nn.Module) -> int:
    latent_dim = getattr(model, "latent_dim", None)
    if not is_int(latent_dim) or latent_dim < 1:
        raise TypeError(
            f"{type(model).__name__} has no int attribute latent_dim, so train_vae cannot draw "
            "the reparameterisation noise: set model.latent_dim = d (the size of z)"
        )
    return latent_dim
