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
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from aigc_course import _check
from aigc_course._check import (
    check_bool,
    check_choice,
    check_count,
    check_finite,
    check_module,
    check_range,
    check_real,
    check_tensor,
    is_int,
)
from aigc_course.losses.gan import (
    article_discriminator_loss,
    discriminator_loss,
    generator_loss_nonsaturating,
    generator_loss_saturating,
)
from aigc_course.train.config import RunConfig, TrainResult
from aigc_course.train.core import Loop, OnStep
from aigc_course.train.ema import ema_copy, ema_update_
from aigc_course.train.errors import TrainingDiverged

__all__ = [
    "GANResult",
    "DCGAN_RECIPE",
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


@dataclass(frozen=True, kw_only=True)
class GANTrainConfig(RunConfig):
    r"""Everything :func:`train_gan` needs besides the models and the data.

    The run settings (``batch_size``, ``seed``, ``device``, ``max_seconds``,
    ``checkpoint_path``, ``checkpoint_every``, ``log_every``, ``progress``) are those of
    :class:`~aigc_course.train.config.RunConfig`; here ``batch_size`` defaults to 64 (real and
    generated examples per update) and ``device`` to ``"cpu"``.

    Attributes
    ----------
    steps : int
        Total number of training steps (one step = ``d_steps`` discriminator updates, then one
        generator update), an upper bound when ``max_seconds`` is set. On resume, training
        continues up to this total.
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
    ema_warmup : bool
        Warm the decay up as :func:`~aigc_course.train.ema.warmed_up_decay` does for diffusion
        models (default False: the constant decay, as in Yazici et al.).
    """

    steps: int
    batch_size: int = 64
    device: str | None = "cpu"
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
    ema_warmup: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        owner = "GANTrainConfig"
        check_count(self.steps, f"{owner}.steps", minimum=0)
        check_count(self.d_steps, f"{owner}.d_steps")
        check_count(self.n_fixed, f"{owner}.n_fixed", minimum=0)
        if self.snapshot_every is not None:
            check_count(self.snapshot_every, f"{owner}.snapshot_every")
        for name in ("lr_d", "lr_g"):
            check_real(getattr(self, name), f"{owner}.{name}", low=0.0, low_open=True)
        if self.ema_decay is not None:
            check_real(
                self.ema_decay, f"{owner}.ema_decay", low=0.0, high=1.0, high_open=True
            )
        betas = self.betas
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(
                f"{owner}.betas must be two numbers in [0, 1), got {betas!r}"
            )
        object.__setattr__(self, "betas", tuple(betas))
        for i, beta in enumerate(self.betas):
            check_real(beta, f"{owner}.betas[{i}]", low=0.0, high=1.0, high_open=True)
        check_choice(self.generator_loss, f"{owner}.generator_loss", _GENERATOR_LOSSES)
        check_choice(self.d_loss, f"{owner}.d_loss", _D_LOSSES)
        check_real(
            self.real_label, f"{owner}.real_label", low=0.0, high=1.0, low_open=True
        )
        if self.d_loss == "article" and self.real_label != 1.0:
            raise ValueError(
                f"{owner}.real_label only applies to d_loss='standard'; set 1.0"
            )
        check_bool(self.ema_warmup, f"{owner}.ema_warmup")


DCGAN_RECIPE = GANTrainConfig(
    steps=10**9,  # bounded by max_seconds
    batch_size=32,
    lr_d=2.4e-3,
    lr_g=2.4e-3,
    betas=(0.0, 0.99),
    n_fixed=0,
    ema_decay=0.995,
    ema_warmup=True,
    max_seconds=60.0,
    progress=False,
)
"""The package's tuned DCGAN recipe on MNIST (32 base channels, sample the EMA generator).

Non-saturating loss, batch 32, Adam 2.4e-3 with betas (0.0, 0.99), an EMA of the generator's
weights with decay 0.995 (Yazici et al., 2019) warmed up as the diffusion loop's is
(:func:`~aigc_course.train.ema.warmed_up_decay`: a short run is not an average of the random
initial weights), a time budget instead of a step count (60 s;
change it with ``dataclasses.replace(DCGAN_RECIPE, max_seconds=..., seed=...)``). Chosen by the
sweep that ``benchmarks/bench_quality.py`` documents; the chapters that compare families use it.
"""


@dataclass(frozen=True, kw_only=True)
class GANResult(TrainResult):
    r"""What :func:`train_gan` returns: :class:`~aigc_course.train.config.TrainResult` and

    Attributes
    ----------
    generator, discriminator : torch.nn.Module
        The trained models (the same objects that were passed in, trained in place).
    snapshots : list of (int, torch.Tensor)
        ``(step, G(fixed_noise))`` pairs, images on the CPU, generator in eval mode.
    fixed_noise : torch.Tensor
        (n_fixed, ...) on the CPU, the noise behind every snapshot.
    fixed_labels : torch.Tensor or None
        Conditional runs only: (n_fixed,) int64 labels behind every snapshot,
        ``arange(n_fixed) % n_classes`` (so a grid with ``n_classes`` columns shows one class per
        column); ``None`` for an unconditional run.
    ema_generator : torch.nn.Module or None
        With ``cfg.ema_decay``: a copy of the generator (eval mode) holding the exponential
        moving average of its weights, its buffers copied; else ``None``.
    """

    generator: nn.Module
    discriminator: nn.Module
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    fixed_noise: torch.Tensor | None = None
    fixed_labels: torch.Tensor | None = None
    ema_generator: nn.Module | None = None


def standard_normal_noise(
    n: int, generator: torch.Generator, *, latent_dim: int
) -> torch.Tensor:
    r"""The default noise prior :math:`z \sim \mathcal{N}(0, I_{d})`, shape (n, latent_dim), on the CPU.

    Use ``functools.partial(standard_normal_noise, latent_dim=d)`` as a :data:`NoiseSampler`.
    """
    n = check_count(n, "n", minimum=0)
    latent_dim = check_count(latent_dim, "latent_dim")
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator, got {type(generator).__name__}: "
            "pass torch.Generator().manual_seed(seed)"
        )
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
    n_classes = _check_inputs(generator, discriminator, data, cfg, labels)
    sample_noise = sample_noise or _default_noise(generator)
    G, D = generator.train(), discriminator.train()
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    ema = None if cfg.ema_decay is None else ema_copy(G)
    rng = torch.Generator().manual_seed(cfg.seed)
    fixed = _fixed_noise(
        cfg, sample_noise, rng
    )  # drawn first, before a resume restores rng
    loop = Loop.start(
        "GAN",
        cfg,
        models={"generator": G, "discriminator": D}
        | ({"ema_generator": ema} if ema else {}),
        optimizers={"opt_g": opt_g, "opt_d": opt_d},
        keys=HISTORY_KEYS,
        hints=_HINTS,
        total=cfg.steps,
        data=(data, labels),
        stream_keys=_STREAM_KEYS,
        settings={"n_classes": n_classes},
        rngs={"noise": rng},
        extras={"snapshots": []},
        history=history,
        resume=resume,
        batches_per_step=cfg.d_steps,  # k real batches per step
    )
    fixed = _fixed_inputs(fixed, n_classes, loop.device)
    snapshots = loop.extras["snapshots"]
    if loop.step == 0 and fixed is not None and cfg.snapshot_every is not None:
        snapshots.append((0, _snapshot(G, *fixed)))
    fake = functools.partial(
        _fake_inputs, sample_noise, rng, cfg.batch_size, n_classes, loop.device
    )
    d_loss, g_loss = _losses(cfg)
    net_g, net_d = loop.nets["generator"], loop.nets["discriminator"]  # or DDP wrappers
    for step in loop.steps(on_step):
        d_batches = loop.shard(_d_batches(loop.stream, fake, cfg.d_steps))
        g_batch = loop.shard(fake())
        losses = gan_step(
            net_g, net_d, opt_g, opt_d, d_batches, g_batch, d_loss=d_loss, g_loss=g_loss
        )
        loop.record(losses)
        if ema is not None:
            ema_update_(ema, G, cfg.ema_decay, step=step if cfg.ema_warmup else None)
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


def _fixed_noise(cfg, sample_noise, rng) -> torch.Tensor | None:
    r"""The fixed noise of the snapshots (on the CPU), the first draw from ``rng``."""
    return sample_noise(cfg.n_fixed, rng) if cfg.n_fixed else None


def _fixed_inputs(z, n_classes, device):
    if z is None:
        return None
    n = z.shape[0]
    y = () if n_classes is None else (torch.arange(n, device=device) % n_classes,)
    return z.to(device), y


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


def _result(loop: Loop, fixed, ema: nn.Module | None) -> GANResult:
    G = loop.models["generator"]
    snapshots = list(loop.extras["snapshots"])
    if fixed is not None and (not snapshots or snapshots[-1][0] != loop.step):
        snapshots.append((loop.step, _snapshot(G, *fixed)))
    return GANResult(
        generator=G,
        discriminator=loop.models["discriminator"],
        snapshots=snapshots,
        fixed_noise=None if fixed is None else fixed[0].cpu(),
        fixed_labels=fixed[1][0].cpu() if fixed is not None and fixed[1] else None,
        ema_generator=ema,
        **loop.summary(),
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
    generator: object, discriminator: object, data: object, cfg: object, labels: object
) -> int | None:
    r"""Check everything once, before training; return the number of classes (or ``None``)."""
    if not isinstance(cfg, GANTrainConfig):
        raise TypeError(f"cfg must be a GANTrainConfig, got {type(cfg).__name__}")
    check_module(generator, "generator")
    check_module(discriminator, "discriminator")
    hint = "(N, ...), one example per row, scaled to [-1, 1]"
    check_tensor(data, "data", floating=True, shape_hint=hint)
    if data.ndim < 2:
        raise ValueError(
            f"data must have shape (N, ...) with one example per row, got {tuple(data.shape)}: "
            "for 1-D toy data use data.view(-1, 1)"
        )
    if data.shape[0] < cfg.batch_size:
        raise ValueError(
            f"data has {data.shape[0]} examples, fewer than cfg.batch_size={cfg.batch_size}: "
            "lower the batch size or use more data"
        )
    check_finite(data, "data", "clean or re-normalise it before training")
    # the generator's declared output range, where it has one
    low, high = getattr(generator, "data_range", (-math.inf, math.inf))
    if math.isfinite(low) and math.isfinite(high):
        check_range(data, "data", low, high)
    shape = getattr(generator, "output_shape", None)
    if shape is not None and tuple(shape) != tuple(data.shape[1:]):
        raise ValueError(
            f"the generator makes examples of shape {tuple(shape)} but the data's "
            f"are {tuple(data.shape[1:])}: build the generator for this data"
        )
    if labels is None:
        return None
    n_classes = getattr(generator, "n_classes", None)
    if not is_int(n_classes) or n_classes < 1:
        raise ValueError(
            f"labels were given but {type(generator).__name__} has no int attribute n_classes: "
            "pass labels only with a conditional generator G(z, y), e.g. "
            "aigc_course.models.ConditionalGenerator"
        )
    _check.check_labels(labels, "labels", n_classes, check_range=False, var="labels")
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
