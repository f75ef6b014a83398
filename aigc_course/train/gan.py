r"""The GAN training loop: alternate discriminator and generator Adam steps on a data tensor.

The loop is model-agnostic: any generator mapping noise (B, latent_dim) to examples shaped
like ``data[i]`` and any discriminator mapping examples to logits (B,) will do, so the same
function trains the 2-D toy GAN and the MNIST GANs. Given class ``labels``, it trains a
conditional GAN instead: ``G(z, y)`` and ``D(x, y)`` (Mirza & Osindero, 2014). Randomness comes only from explicit
generators: the order of the data from :func:`aigc_course.data.batching.iterate_batches`
``(seed, epoch)``, the noise from one ``torch.Generator`` seeded with ``cfg.seed`` whose state
goes into every checkpoint. A run is therefore bit-identical when repeated, and a run resumed
from a checkpoint ends with the same weights as one that was never interrupted.

The math of one update is :func:`gan_step` (with :func:`discriminator_step` and
:func:`generator_step`); everything else (history, NaN guard, progress, checkpoints, time
budget, ``on_step``) is the loop core, :class:`aigc_course.train.core.Loop`.

References
----------
Goodfellow et al. (2014), "Generative Adversarial Nets", Algorithm 1.
Radford et al. (2016), DCGAN (Adam with lr 2e-4, beta1 0.5).
Mirza & Osindero (2014), "Conditional Generative Adversarial Nets".
Yazici et al. (2019), "The Unusual Effectiveness of Averaging in GAN Training" (EMA).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from aigc_course import _check
from aigc_course.losses.gan import (
    article_discriminator_loss,
    discriminator_loss,
    generator_loss_nonsaturating,
    generator_loss_saturating,
)
from aigc_course.runtime import get_device
from aigc_course.train.core import Loop, OnStep, batch_stream
from aigc_course.train.ema import ema_copy, ema_update_
from aigc_course.train.errors import TrainingDiverged

__all__ = [
    "GANResult",
    "GANTrainConfig",
    "HISTORY_KEYS",
    "NoiseSampler",
    "TrainingDiverged",
    "discriminator_step",
    "gan_step",
    "generator_step",
    "standard_normal_noise",
    "train_gan",
]

NoiseSampler = Callable[[int, torch.Generator], torch.Tensor]
r"""``sample_noise(n, generator) -> z``: draw ``n`` noise vectors using only ``generator``."""

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")
r"""Per-step records of :func:`train_gan`: both losses, mean :math:`D(x)` and mean :math:`D(G(z))`."""

_GENERATOR_LOSSES = ("nonsaturating", "saturating")
_D_LOSSES = ("standard", "article")
# Settings that decide which data batch and which noise each step sees; a resumed run must match.
_STREAM_KEYS = ("seed", "batch_size", "d_steps", "n_fixed", "ema_decay")
_HINTS = {
    "d_loss": (
        "discriminator loss",
        "check that the data are finite and scaled to [-1, 1], that the models' weights are "
        "finite, and lower cfg.lr_d",
    ),
    "g_loss": (
        "generator loss",
        "check the noise sampler and the generator's weights, and lower cfg.lr_g",
    ),
}
Condition = tuple[torch.Tensor, ...]  # () for a GAN, (labels,) for a conditional GAN


@dataclass(frozen=True)
class GANTrainConfig:
    r"""Everything :func:`train_gan` needs besides the models and the data.

    Attributes
    ----------
    steps : int
        Total number of training steps (one step = ``d_steps`` discriminator updates, then one
        generator update), an upper bound when ``max_seconds`` is set. On resume, training
        continues up to this total.
    batch_size : int
        Real and generated examples per update.
    lr_d, lr_g : float
        Adam learning rates of the discriminator and the generator.
    betas : tuple of float
        Adam :math:`(\beta_1, \beta_2)`; DCGAN's (0.5, 0.999) damps oscillations.
    generator_loss : {"nonsaturating", "saturating"}
        :func:`~aigc_course.losses.gan.generator_loss_nonsaturating` or the minimax
        :func:`~aigc_course.losses.gan.generator_loss_saturating`.
    d_loss : {"standard", "article"}
        :func:`~aigc_course.losses.gan.discriminator_loss`, or the source article's wrong
        :func:`~aigc_course.losses.gan.article_discriminator_loss` (for demonstrations only).
    real_label : float
        Target for real data in the standard D loss, in (0, 1]; 0.9 = one-sided label smoothing.
    d_steps : int
        k in Goodfellow et al.'s Algorithm 1: discriminator updates per generator update.
    n_fixed : int
        Size of the fixed noise batch used for snapshots (0: no snapshots).
    snapshot_every : int or None
        Record ``G(fixed_noise)`` at step 0 and every this many steps; the final step is always
        recorded (if ``n_fixed > 0``).
    ema_decay : float or None
        Keep an exponential moving average of the generator's weights with this decay in
        [0, 1), e.g. 0.999 (:attr:`GANResult.ema_generator`; Yazici et al., 2019).
    max_seconds : float or None
        Stop after the step during which this much training time has passed.
    seed : int
        Seeds the data order and the noise.
    device : str
        ``"cpu"``, ``"cuda"``, ...; see :func:`aigc_course.runtime.get_device`.
    checkpoint_path : str or os.PathLike or None
        Where to write checkpoints (atomically); ``None`` disables them.
    checkpoint_every : int or None
        Also checkpoint every this many steps (a checkpoint is always written at the end).
    progress : bool
        Show a tqdm progress bar.
    """

    steps: int
    batch_size: int = 64
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    generator_loss: str = "nonsaturating"
    d_loss: str = "standard"
    real_label: float = 1.0
    d_steps: int = 1
    n_fixed: int = 64
    snapshot_every: int | None = None
    ema_decay: float | None = None
    max_seconds: float | None = None
    seed: int = 0
    device: str = "cpu"
    checkpoint_path: str | os.PathLike | None = None
    checkpoint_every: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        owner = "GANTrainConfig"
        for name, minimum in (
            ("steps", 0),
            ("batch_size", 1),
            ("d_steps", 1),
            ("n_fixed", 0),
        ):
            _check.positive_int(owner, name, getattr(self, name), minimum)
        _check.positive_int(owner, "seed", self.seed, 0)
        _check.optional_int(owner, "snapshot_every", self.snapshot_every)
        _check.optional_int(owner, "checkpoint_every", self.checkpoint_every)
        _check.finite_number(owner, "lr_d", self.lr_d)
        _check.finite_number(owner, "lr_g", self.lr_g)
        if self.max_seconds is not None:
            _check.finite_number(owner, "max_seconds", self.max_seconds)
        if self.ema_decay is not None:
            _check.probability(owner, "ema_decay", self.ema_decay, high_open=True)
        object.__setattr__(self, "betas", tuple(self.betas))
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(
                f"GANTrainConfig.betas must be two numbers in [0, 1), got {self.betas!r}"
            )
        _check.one_of(owner, "generator_loss", self.generator_loss, _GENERATOR_LOSSES)
        _check.one_of(owner, "d_loss", self.d_loss, _D_LOSSES)
        _check.probability(owner, "real_label", self.real_label, low_open=True)
        if self.d_loss == "article" and self.real_label != 1.0:
            raise ValueError(
                "GANTrainConfig.real_label only applies to d_loss='standard'; set real_label=1.0"
            )
        if self.checkpoint_every is not None and self.checkpoint_path is None:
            raise ValueError(
                "GANTrainConfig.checkpoint_every is set but checkpoint_path is None: set a path"
            )


@dataclass(frozen=True)
class GANResult:
    r"""What :func:`train_gan` returns.

    Attributes
    ----------
    generator, discriminator : torch.nn.Module
        The trained models (the same objects that were passed in, trained in place).
    history : dict of str to list of float
        One entry per step for each of :data:`HISTORY_KEYS`; entry ``i`` is step ``i + 1``.
    snapshots : list of (int, torch.Tensor)
        ``(step, G(fixed_noise))`` pairs, images on the CPU, generator in eval mode.
    fixed_noise : torch.Tensor
        (n_fixed, ...) on the CPU, the noise behind every snapshot.
    steps : int
        Steps completed.
    fixed_labels : torch.Tensor or None
        Conditional runs only: (n_fixed,) int64 labels behind every snapshot,
        ``arange(n_fixed) % n_classes`` (so a grid with ``n_classes`` columns shows one class per
        column); ``None`` for an unconditional run.
    ema_generator : torch.nn.Module or None
        With ``cfg.ema_decay``: a copy of the generator (eval mode) holding the exponential
        moving average of its weights, its buffers copied; else ``None``.
    seconds : float
        Training wall-clock time of this call.
    stopped_by : {"steps", "max_seconds", "on_step"}
        What ended training.
    """

    generator: nn.Module
    discriminator: nn.Module
    history: dict[str, list[float]]
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    fixed_noise: torch.Tensor | None = None
    steps: int = 0
    fixed_labels: torch.Tensor | None = None
    ema_generator: nn.Module | None = None
    seconds: float = 0.0
    stopped_by: str = "steps"


def standard_normal_noise(
    n: int, generator: torch.Generator, *, latent_dim: int
) -> torch.Tensor:
    r"""The default noise prior :math:`z \sim \mathcal{N}(0, I_{d})`, shape (n, latent_dim), on the CPU.

    Use ``functools.partial(standard_normal_noise, latent_dim=d)`` as a :data:`NoiseSampler`.
    """
    return torch.randn(n, latent_dim, generator=generator)


# ------------------------------------------------------------------------------ the math


def discriminator_step(
    G, D, opt_d, real, z, *, loss=discriminator_loss, y_real=(), y_fake=()
):
    r"""One discriminator update: descend :math:`-\log D(x) - \log(1 - D(G(z)))`."""
    with torch.no_grad():
        fake = G(z, *y_fake)
    real_logits, fake_logits = D(real, *y_real), D(fake, *y_fake)
    loss_d = loss(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    return {
        "d_loss": loss_d.detach(),
        "d_real": real_logits.detach().sigmoid().mean(),  # mean D(x)
        "d_fake": fake_logits.detach().sigmoid().mean(),  # mean D(G(z))
    }


def generator_step(G, D, opt_g, z, *, loss=generator_loss_nonsaturating, y=()):
    r"""One generator update: descend :math:`-\log D(G(z))` (non-saturating loss)."""
    loss_g = loss(D(G(z, *y), *y))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    return {"g_loss": loss_g.detach()}


def gan_step(G, D, opt_g, opt_d, d_batches, g_batch, *, d_loss, g_loss):
    r"""One step of Goodfellow et al. (2014), Algorithm 1: k D updates, one G update.

    ``d_batches``: k tuples ``(real, z, y_real, y_fake)``; ``g_batch``: ``(z, y)``;
    each ``y`` is ``()`` or ``(labels,)``. Returns loss tensors (no host sync), the
    discriminator's averaged over its k updates.
    """
    d = [
        discriminator_step(G, D, opt_d, x, z, loss=d_loss, y_real=y_x, y_fake=y_z)
        for x, z, y_x, y_z in d_batches
    ]
    g = generator_step(G, D, opt_g, g_batch[0], loss=g_loss, y=g_batch[1])
    return {key: torch.stack([s[key] for s in d]).mean() for key in d[0]} | g


# ------------------------------------------------------------------------------ the loop


def train_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    data: torch.Tensor,
    cfg: GANTrainConfig,
    *,
    sample_noise: NoiseSampler | None = None,
    history: dict[str, list[float]] | None = None,
    resume: bool = False,
    labels: torch.Tensor | None = None,
    on_step: OnStep | None = None,
) -> GANResult:
    r"""Train a GAN by alternating discriminator and generator updates (Goodfellow et al., Alg. 1).

    Each step (:func:`gan_step`) does ``cfg.d_steps`` discriminator updates, each on a fresh
    real batch :math:`x_{1..m}` and fresh noise :math:`z_{1..m}`, descending

    .. math::

        L_D = -\frac{1}{m}\sum_i \log D(x_i) - \frac{1}{m}\sum_i \log\bigl(1 - D(G(z_i))\bigr),

    then one generator update on fresh noise, descending
    :math:`-\frac{1}{m}\sum_i \log D(G(z_i))` (non-saturating, default) or
    :math:`\frac{1}{m}\sum_i \log(1 - D(G(z_i)))` (minimax). Both optimisers are Adam, created
    here from ``cfg``. The models are moved to ``cfg.device`` and trained in place.

    Parameters
    ----------
    generator : torch.nn.Module
        Maps noise from ``sample_noise`` to examples shaped like ``data[i]``; needs a
        ``latent_dim`` attribute unless ``sample_noise`` is given.
    discriminator : torch.nn.Module
        Maps a batch of examples to logits of shape (B,).
    data : torch.Tensor
        (N, ...) float training set, e.g. (N, 2) toy points or (N, 1, 28, 28) images in [-1, 1];
        batches are drawn without replacement, reshuffled every epoch, last partial batch dropped.
    cfg : GANTrainConfig
    sample_noise : callable, optional
        ``sample_noise(n, generator) -> z`` drawing only from the given ``torch.Generator``;
        default :func:`standard_normal_noise` with ``generator.latent_dim``.
    history : dict, optional
        A dict to append the per-step records to (lists keyed by :data:`HISTORY_KEYS`). Pass
        your own to keep what was recorded if training is interrupted; on resume its contents
        are replaced by the checkpoint's.
    resume : bool
        Continue from ``cfg.checkpoint_path`` if that file exists (else start fresh). The
        checkpoint is validated before anything is loaded into the models.
    labels : torch.Tensor, optional
        (N,) int64 class of each training example, in [0, K) where K is ``generator.n_classes``.
        Given, the GAN is conditional: real batches come with their labels, generated ones with
        labels drawn uniformly from the K classes by the noise generator, and the models are
        called as ``generator(z, y)`` and ``discriminator(x, y)`` (Mirza & Osindero, 2014).
    on_step : callable, optional
        ``on_step(step, state)`` after every step (:class:`~aigc_course.train.core.TrainState`);
        returning ``True`` stops training there.

    Returns
    -------
    GANResult

    Raises
    ------
    TrainingDiverged
        (a ``FloatingPointError``) when a loss, a weight or an Adam moment becomes NaN or
        infinite; names the step and says how to restart.
    aigc_course.train.errors.CheckpointError
        On resume from a damaged or foreign checkpoint, or one of other models.

    Notes
    -----
    Real batch ``b`` (counting D updates from 0) comes from epoch ``b // (N // batch_size)`` of
    ``iterate_batches(data, seed=cfg.seed, epoch=...)``, and all noise from one
    ``torch.Generator`` seeded with ``cfg.seed`` (the fixed batch first), whose state is
    checkpointed. Resuming therefore reproduces an uninterrupted run bit for bit on the same
    machine. ``seed``, ``batch_size``, ``d_steps``, ``n_fixed``, ``ema_decay`` and the data size
    must match the checkpoint; learning rates, betas and losses may change on resume. Snapshots
    run the generator in eval mode under ``torch.no_grad()``, so taking them does not change
    training (BatchNorm uses its running statistics there).

    Under ``torchrun --nproc_per_node N`` every process draws the same real batches and noise,
    keeps its contiguous share of each, and ``DistributedDataParallel`` averages both networks'
    gradients, so a model without BatchNorm trains as one process on the whole batch would
    (exactly, up to float rounding, when ``N`` divides ``cfg.batch_size``). BatchNorm layers
    normalise each process's share separately; on GPUs,
    ``torch.nn.SyncBatchNorm.convert_sync_batchnorm`` makes them normalise the whole batch.

    Examples
    --------
    >>> from aigc_course.data.toy import ring_of_gaussians
    >>> from aigc_course.models.gan import ToyGANConfig, ToyGenerator, ToyDiscriminator
    >>> data, centers = ring_of_gaussians(8192, generator=torch.Generator().manual_seed(0))
    >>> G, D = ToyGenerator(ToyGANConfig()), ToyDiscriminator(ToyGANConfig())
    >>> cfg = GANTrainConfig(steps=3000, batch_size=256, lr_d=1e-3, lr_g=1e-3, betas=(0.5, 0.9))
    >>> result = train_gan(G, D, data, cfg)  # doctest: +SKIP
    """
    n_classes = _check_inputs(generator, data, cfg, labels)
    sample_noise = sample_noise or _default_noise(generator)
    device = get_device(cfg.device)
    G, D = generator.to(device).train(), discriminator.to(device).train()
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    ema = None if cfg.ema_decay is None else ema_copy(G)
    rng = torch.Generator().manual_seed(cfg.seed)
    fixed = _fixed_inputs(cfg, sample_noise, rng, n_classes, device)
    loop = Loop(
        "GAN",
        total=cfg.steps,
        keys=HISTORY_KEYS,
        hints=_HINTS,
        models={"generator": G, "discriminator": D}
        | ({"ema_generator": ema} if ema else {}),
        optimizers={"opt_g": opt_g, "opt_d": opt_d},
        rngs={"noise": rng},
        settings={k: getattr(cfg, k) for k in _STREAM_KEYS}
        | {"n_examples": data.shape[0], "n_classes": n_classes},
        extras={"snapshots": []},
        **_loop_options(cfg, history),
    )
    start = loop.resume(resume)
    _set_hyperparameters(cfg, opt_g, opt_d)
    snapshots = loop.extras["snapshots"]
    if start == 0 and fixed is not None and cfg.snapshot_every is not None:
        snapshots.append((0, _snapshot(G, *fixed)))
    tensors = (
        (data.to(device),) if labels is None else (data.to(device), labels.to(device))
    )
    real = batch_stream(
        tensors, cfg.batch_size, cfg.seed, start * cfg.d_steps, drop_last=True
    )
    fake = functools.partial(
        _fake_inputs, sample_noise, rng, cfg.batch_size, n_classes, device
    )
    d_loss, g_loss = _losses(cfg)
    net_g, net_d = loop.wrap(G), loop.wrap(D)  # themselves, or DDP under torchrun
    for step in loop.steps(on_step):
        d_batches = loop.shard(_d_batches(real, fake, cfg.d_steps))
        g_batch = loop.shard(fake())
        loop.record(
            gan_step(
                net_g,
                net_d,
                opt_g,
                opt_d,
                d_batches,
                g_batch,
                d_loss=d_loss,
                g_loss=g_loss,
            )
        )
        if ema is not None:
            ema_update_(ema, G, cfg.ema_decay)
        if fixed is not None and cfg.snapshot_every and step % cfg.snapshot_every == 0:
            snapshots.append((step, _snapshot(G, *fixed)))
    return _result(loop, fixed, ema)


# ------------------------------------------------------------------------------ helpers


def _d_batches(real, fake, k: int) -> list[tuple]:
    r"""``k`` tuples ``(real, z, y_real, y_fake)``: the next real batch, then fresh fake inputs."""
    batches = []
    for _ in range(k):
        x, *y = next(real)  # y: [] or [labels] of a conditional GAN
        z, y_z = fake()
        batches.append((x, z, tuple(y), y_z))
    return batches


def _fake_inputs(
    sample_noise, rng, n, n_classes, device
) -> tuple[torch.Tensor, Condition]:
    r"""Noise ``z`` and a condition for ``n`` fakes: labels first, then noise, from ``rng``."""
    y = (
        ()
        if n_classes is None
        else (torch.randint(n_classes, (n,), generator=rng).to(device),)
    )
    return sample_noise(n, rng).to(device), y


def _fixed_inputs(cfg, sample_noise, rng, n_classes, device):
    if not cfg.n_fixed:
        return None
    z = sample_noise(cfg.n_fixed, rng).to(device)
    y = (
        ()
        if n_classes is None
        else (torch.arange(cfg.n_fixed, device=device) % n_classes,)
    )
    return z, y


def _snapshot(generator: nn.Module, z: torch.Tensor, y: Condition) -> torch.Tensor:
    r"""``G(z, *y)`` in eval mode on the CPU, leaving the generator's state untouched."""
    generator.eval()
    with torch.no_grad():
        images = generator(z, *y).cpu()
    generator.train()
    return images


def _losses(
    cfg: GANTrainConfig,
) -> tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]:
    if cfg.d_loss == "article":
        d_loss_fn = article_discriminator_loss
    else:
        d_loss_fn = functools.partial(discriminator_loss, real_label=cfg.real_label)
    if cfg.generator_loss == "saturating":
        return d_loss_fn, generator_loss_saturating
    return d_loss_fn, generator_loss_nonsaturating


def _loop_options(cfg, history: dict[str, list[float]] | None) -> dict:
    r"""The :class:`~aigc_course.train.core.Loop` settings every train config shares."""
    return {
        "history": history,
        "checkpoint_path": getattr(cfg, "checkpoint_path", None),
        "checkpoint_every": getattr(cfg, "checkpoint_every", None),
        "max_seconds": cfg.max_seconds,
        "progress": cfg.progress,
    }


def _set_hyperparameters(cfg: GANTrainConfig, opt_g, opt_d) -> None:
    # A loaded optimiser state carries the old hyper-parameters; the config's win.
    for opt, lr in ((opt_g, cfg.lr_g), (opt_d, cfg.lr_d)):
        for group in opt.param_groups:
            group["lr"], group["betas"] = lr, cfg.betas


def _result(loop: Loop, fixed, ema: nn.Module | None) -> GANResult:
    G = loop.models["generator"]
    snapshots = list(loop.extras["snapshots"])
    if fixed is not None and (not snapshots or snapshots[-1][0] != loop.step):
        snapshots.append((loop.step, _snapshot(G, *fixed)))
    return GANResult(
        generator=G,
        discriminator=loop.models["discriminator"],
        history=loop.history,
        snapshots=snapshots,
        fixed_noise=None if fixed is None else fixed[0].cpu(),
        steps=loop.step,
        fixed_labels=fixed[1][0].cpu() if fixed is not None and fixed[1] else None,
        ema_generator=ema,
        seconds=loop.seconds,
        stopped_by=loop.stopped_by,
    )


def _default_noise(generator: nn.Module) -> NoiseSampler:
    latent_dim = getattr(generator, "latent_dim", None)
    if not isinstance(latent_dim, int):
        raise ValueError(
            f"{type(generator).__name__} has no int attribute latent_dim, so the default noise "
            "cannot be sized: set generator.latent_dim or pass sample_noise=lambda n, g: ..."
        )
    return functools.partial(standard_normal_noise, latent_dim=latent_dim)


def _check_inputs(
    generator: nn.Module, data: object, cfg: object, labels: object
) -> int | None:
    r"""Check everything once, before training; return the number of classes (or ``None``)."""
    if not isinstance(cfg, GANTrainConfig):
        raise TypeError(f"cfg must be a GANTrainConfig, got {type(cfg).__name__}")
    _check.tensor(
        "data", data, hint="a tensor of shape (N, ...) with one example per row"
    )
    if data.ndim < 2:
        raise ValueError(
            f"data must have shape (N, ...) with one example per row, got {tuple(data.shape)}: "
            "for 1-D toy data use data.view(-1, 1)"
        )
    _check.tensor("data", data, floating=True, hint="images scaled to [-1, 1]")
    if data.shape[0] < cfg.batch_size:
        raise ValueError(
            f"data has {data.shape[0]} examples, fewer than cfg.batch_size={cfg.batch_size}: "
            "lower the batch size or use more data"
        )
    _check.finite("data", data, "clean or re-normalise it before training")
    shape = getattr(generator, "output_shape", None)
    if shape is not None and tuple(shape) != tuple(data.shape[1:]):
        raise ValueError(
            f"the generator makes examples of shape {tuple(shape)} but the data's "
            f"are {tuple(data.shape[1:])}: build the generator for this data"
        )
    if labels is None:
        return None
    n_classes = getattr(generator, "n_classes", None)
    if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 1:
        raise ValueError(
            f"labels were given but {type(generator).__name__} has no int attribute n_classes: "
            "pass labels only with a conditional generator G(z, y), e.g. "
            "aigc_course.models.ConditionalGenerator"
        )
    _check.labels(labels, n_classes, check_range=False, var="labels")
    if labels.shape != (data.shape[0],):
        raise ValueError(
            f"labels must have shape (N,) = ({data.shape[0]},), one per training example, "
            f"got {tuple(labels.shape)}"
        )
    low, high = (int(v) for v in torch.aminmax(labels))
    if low < 0 or high >= n_classes:
        raise ValueError(
            f"labels must lie in [0, {n_classes - 1}] (the generator has "
            f"n_classes={n_classes}), got values in [{low}, {high}]: fix the labels or build "
            "the models with more classes"
        )
    return n_classes
