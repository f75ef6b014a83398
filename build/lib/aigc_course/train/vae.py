r"""Train a VAE by minimising the negative ELBO, and evaluate it in nats per image.

:func:`train_vae` follows the conventions of :func:`aigc_course.train.gan.train_gan`: it takes the
model, the data and one frozen config; the data order comes from
:func:`aigc_course.data.batching.iterate_batches` ``(seed, epoch)`` and the reparameterisation
noise from one ``torch.Generator`` seeded with ``cfg.seed``, checkpointed at the end of every epoch
with the optimiser, so a run is bit-identical when repeated and a resumed run ends where an
uninterrupted one would. :func:`evaluate_vae` reports the held-out negative ELBO and the
importance-weighted negative log-likelihood.

References
----------
Kingma & Welling (2014), "Auto-Encoding Variational Bayes", ICLR, Algorithm 1.
Burda, Grosse & Salakhutdinov (2016), "Importance Weighted Autoencoders", ICLR.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from aigc_course.data.batching import iterate_batches, num_batches
from aigc_course.losses.vae import (
    bernoulli_nll,
    gaussian_nll,
    importance_weighted_bound,
    log_normal_diag,
    negative_elbo,
)
from aigc_course.runtime import get_device
from aigc_course.train.checkpoint import check_resumable, load_checkpoint, save_checkpoint
from aigc_course.train.errors import TrainingDiverged

__all__ = [
    "VAE_HISTORY_KEYS",
    "VAEEvaluation",
    "VAEResult",
    "VAETrainConfig",
    "evaluate_vae",
    "train_vae",
]

VAE_HISTORY_KEYS = ("loss", "recon", "kl")
r"""Per-step records of :func:`train_vae`, batch means in nats per image: ``loss = recon + beta * kl``."""

_LIKELIHOODS = ("bernoulli", "gaussian")
_STREAM_KEYS = ("seed", "batch_size")  # settings that decide which batch and noise each step sees
_CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class VAETrainConfig:
    r"""Everything :func:`train_vae` needs besides the model and the data.

    Attributes
    ----------
    epochs : int
        Passes over the data (the last partial batch of each is kept). On resume, training
        continues up to this total.
    batch_size : int
        Images per Adam step.
    lr : float
        Adam learning rate (1e-3 as in Kingma & Welling's experiments and the PyTorch example).
    beta : float
        KL weight of :func:`~aigc_course.losses.vae.negative_elbo`; 1 is the ELBO.
    likelihood : {"bernoulli", "gaussian"}
        Decoder likelihood; ``"bernoulli"`` expects data in [0, 1].
    sigma : float
        Observation noise of the ``"gaussian"`` likelihood.
    seed : int
        Seeds the data order and the reparameterisation noise.
    device : str
        ``"cpu"``, ``"cuda"``, ...; see :func:`aigc_course.runtime.get_device`.
    checkpoint_path : str or os.PathLike or None
        Written atomically at the end of every epoch; ``None`` disables checkpoints.
    progress : bool
        Show a tqdm progress bar.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0
    likelihood: str = "bernoulli"
    sigma: float = 1.0
    seed: int = 0
    device: str = "cpu"
    checkpoint_path: str | os.PathLike | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        for name, minimum in (("epochs", 0), ("batch_size", 1), ("seed", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ValueError(
                    f"VAETrainConfig.{name} must be an int >= {minimum}, got {value!r}"
                )
        for name, positive in (("lr", True), ("sigma", True), ("beta", False)):
            value = getattr(self, name)
            ok = (
                isinstance(value, (int, float))
                and math.isfinite(value)
                and (value > 0 if positive else value >= 0)
            )
            if not ok:
                raise ValueError(
                    f"VAETrainConfig.{name} must be a finite number {'> 0' if positive else '>= 0'}, got {value!r}"
                )
        if self.likelihood not in _LIKELIHOODS:
            raise ValueError(
                f"VAETrainConfig.likelihood must be one of {_LIKELIHOODS}, got {self.likelihood!r}"
            )


@dataclass(frozen=True)
class VAEResult:
    r"""What :func:`train_vae` returns: the model (trained in place), per-step history, steps done."""

    model: nn.Module
    history: dict[str, list[float]]
    steps: int


def _check_data(data: Any, labels: Any, likelihood: str) -> None:
    if not isinstance(data, torch.Tensor):
        raise TypeError(
            f"data must be a torch.Tensor of images (N, 1, H, W), got {type(data).__name__}"
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
        raise ValueError("data is empty")
    if not bool(torch.isfinite(data).all()):
        raise ValueError("data contains NaN or Inf values: clean or re-normalise it first")
    if likelihood == "bernoulli" and (float(data.min()) < 0 or float(data.max()) > 1):
        raise ValueError(
            f"the Bernoulli likelihood needs data in [0, 1], got values in [{float(data.min()):g}, "
            f"{float(data.max()):g}]: use aigc_course.data.to_unit (not to_signed)"
        )
    if labels is not None:
        if (
            not isinstance(labels, torch.Tensor)
            or labels.dtype != torch.int64
            or labels.shape != data.shape[:1]
        ):
            shape = (
                tuple(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
            )
            raise ValueError(
                f"labels must be an int64 tensor of shape ({data.shape[0]},), one per image, got {shape}"
            )


def _call(fn: Any, tensor: torch.Tensor, labels: torch.Tensor | None, **kwargs: Any) -> Any:
    r"""``fn(tensor)``, or ``fn(tensor, labels)`` for a conditional model."""
    return fn(tensor, **kwargs) if labels is None else fn(tensor, labels, **kwargs)


def _restore(
    ckpt: dict[str, Any],
    cfg: VAETrainConfig,
    n: int,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    rng: torch.Generator,
) -> int:
    wanted = {**{k: getattr(cfg, k) for k in _STREAM_KEYS}, "n_examples": n}
    check_resumable(
        cfg.checkpoint_path, dict(ckpt["stream"]), wanted, "epoch", ckpt["epoch"], cfg.epochs
    )
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["opt"])
    for group in opt.param_groups:
        group["lr"] = cfg.lr
    rng.set_state(ckpt["rng_state"])
    return int(ckpt["epoch"])


def train_vae(
    model: nn.Module,
    data: torch.Tensor,
    cfg: VAETrainConfig,
    *,
    labels: torch.Tensor | None = None,
    history: dict[str, list[float]] | None = None,
    resume: bool = False,
) -> VAEResult:
    r"""Train a VAE with Adam on the negative ELBO, one reparameterised sample per image.

    Each step takes a batch :math:`x_{1..B}`, encodes it, draws :math:`z_b = \mu_b + \sigma_b\varepsilon_b`,
    decodes, and descends

    .. math::

        \frac1B \sum_{b} \Bigl[-\log p_\theta(x_b \mid z_b) + \beta\,\KL\bigl(q_\phi(z\mid x_b)\,\|\,\mathcal N(0, I)\bigr)\Bigr]

    Parameters
    ----------
    model : torch.nn.Module
        A VAE whose ``forward(x, generator=...)`` returns ``(logits, mu, logvar, z)`` like
        :class:`aigc_course.models.vae.MLPVAE`; with ``labels``, ``forward(x, y, generator=...)``.
    data : torch.Tensor
        (N, 1, H, W) float images, in [0, 1] for the Bernoulli likelihood.
    cfg : VAETrainConfig
    labels : torch.Tensor, optional
        (N,) int64 class labels, for a conditional VAE.
    history : dict, optional
        A dict to append the per-step records to (lists keyed by :data:`VAE_HISTORY_KEYS`).
    resume : bool
        Continue from ``cfg.checkpoint_path`` if that file exists (else start fresh).

    Returns
    -------
    VAEResult

    Raises
    ------
    TrainingDiverged
        (a ``FloatingPointError``) when the loss becomes NaN or infinite; names the step.

    References
    ----------
    Kingma & Welling (2014), Algorithm 1 (with Adam, Kingma & Ba 2015).
    """
    if not isinstance(cfg, VAETrainConfig):
        raise TypeError(f"cfg must be a VAETrainConfig, got {type(cfg).__name__}")
    _check_data(data, labels, cfg.likelihood)
    if resume and cfg.checkpoint_path is None:
        raise ValueError("resume=True needs cfg.checkpoint_path to point at the checkpoint file")
    if history is None:
        history = {}
    for key in VAE_HISTORY_KEYS:
        history.setdefault(key, [])

    device = get_device(cfg.device)
    model.to(device).train()
    data = data.to(device)
    tensors = (data,) if labels is None else (data, labels.to(device))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rng = torch.Generator().manual_seed(cfg.seed)
    start = 0
    if resume and os.path.isfile(cfg.checkpoint_path):
        ckpt = load_checkpoint(cfg.checkpoint_path)
        start = _restore(ckpt, cfg, data.shape[0], model, opt, rng)
        for key in VAE_HISTORY_KEYS:
            history[key][:] = ckpt["history"][key]

    per_epoch = num_batches(data.shape[0], cfg.batch_size)
    bar = tqdm(
        total=cfg.epochs * per_epoch,
        initial=start * per_epoch,
        disable=not cfg.progress,
        desc="VAE",
        unit="step",
    )
    try:
        for epoch in range(start, cfg.epochs):
            for batch in iterate_batches(
                *tensors, batch_size=cfg.batch_size, seed=cfg.seed, epoch=epoch
            ):
                x, y = batch[0], (batch[1] if labels is not None else None)
                out = _call(model, x, y, generator=rng)
                terms = negative_elbo(
                    x, out[0], out[1], out[2], cfg.beta, cfg.likelihood, cfg.sigma
                )
                loss = terms.total.mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                loss_v, recon_v, kl_v = torch.stack(
                    [loss.detach(), terms.recon.detach().mean(), terms.kl.detach().mean()]
                ).tolist()
                if not math.isfinite(loss_v):
                    raise TrainingDiverged(
                        len(history["loss"]) + 1,
                        "negative ELBO",
                        loss_v,
                        f"check the data are finite and in [0, 1], and lower cfg.lr (now {cfg.lr})",
                    )
                history["loss"].append(loss_v)
                history["recon"].append(recon_v)
                history["kl"].append(kl_v)
                bar.update(1)
            bar.set_postfix(
                loss=f"{loss_v:.1f}", recon=f"{recon_v:.1f}", kl=f"{kl_v:.1f}", refresh=False
            )
            if cfg.checkpoint_path is not None:
                save_checkpoint(
                    cfg.checkpoint_path,
                    format=_CHECKPOINT_FORMAT,
                    epoch=epoch + 1,
                    model=model.state_dict(),
                    opt=opt.state_dict(),
                    rng_state=rng.get_state(),
                    history={k: list(history[k]) for k in VAE_HISTORY_KEYS},
                    stream={
                        **{k: getattr(cfg, k) for k in _STREAM_KEYS},
                        "n_examples": data.shape[0],
                    },
                )
    finally:
        bar.close()
    return VAEResult(model=model, history=history, steps=len(history["loss"]))


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
        raise ValueError(f"likelihood must be one of {_LIKELIHOODS}, got {likelihood!r}")
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
