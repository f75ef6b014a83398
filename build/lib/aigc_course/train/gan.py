r"""The GAN training loop: alternate discriminator and generator Adam steps on a data tensor.

The loop is model-agnostic: any generator mapping noise (B, latent_dim) to examples shaped
like ``data[i]`` and any discriminator mapping examples to logits (B,) will do, so the same
function trains the 2-D toy GAN and the MNIST GANs. Given class ``labels``, it trains a
conditional GAN instead: ``G(z, y)`` and ``D(x, y)`` (Mirza & Osindero, 2014). Randomness comes only from explicit
generators: the order of the data from :func:`aigc_course.data.batching.iterate_batches`
``(seed, epoch)``, the noise from one ``torch.Generator`` seeded with ``cfg.seed`` whose state
goes into every checkpoint. A run is therefore bit-identical when repeated, and a run resumed
from a checkpoint ends with the same weights as one that was never interrupted.

References
----------
Goodfellow et al. (2014), "Generative Adversarial Nets", Algorithm 1.
Radford et al. (2016), DCGAN (Adam with lr 2e-4, beta1 0.5).
Mirza & Osindero (2014), "Conditional Generative Adversarial Nets".
"""

from __future__ import annotations

import functools
import itertools
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from aigc_course.data.batching import iterate_batches
from aigc_course.losses.gan import (
    article_discriminator_loss,
    discriminator_loss,
    generator_loss_nonsaturating,
    generator_loss_saturating,
)
from aigc_course.runtime import get_device
from aigc_course.train.checkpoint import check_resumable, load_checkpoint, save_checkpoint
from aigc_course.train.errors import TrainingDiverged

__all__ = [
    "GANResult",
    "GANTrainConfig",
    "HISTORY_KEYS",
    "NoiseSampler",
    "TrainingDiverged",
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
_STREAM_KEYS = ("seed", "batch_size", "d_steps", "n_fixed")
_NO_CONDITION: tuple[torch.Tensor, ...] = ()
_CHECKPOINT_FORMAT = 1


@dataclass(frozen=True)
class GANTrainConfig:
    r"""Everything :func:`train_gan` needs besides the models and the data.

    Attributes
    ----------
    steps : int
        Total number of training steps (one step = ``d_steps`` discriminator updates, then one
        generator update). On resume, training continues up to this total.
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
    seed: int = 0
    device: str = "cpu"
    checkpoint_path: str | os.PathLike | None = None
    checkpoint_every: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        def check_int(name: str, minimum: int, optional: bool = False) -> None:
            value = getattr(self, name)
            if optional and value is None:
                return
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ValueError(
                    f"GANTrainConfig.{name} must be an int >= {minimum}, got {value!r}"
                )

        check_int("steps", 0)
        check_int("batch_size", 1)
        check_int("d_steps", 1)
        check_int("n_fixed", 0)
        check_int("seed", 0)
        check_int("snapshot_every", 1, optional=True)
        check_int("checkpoint_every", 1, optional=True)
        for name in ("lr_d", "lr_g"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"GANTrainConfig.{name} must be a positive finite number, got {value!r}"
                )
        object.__setattr__(self, "betas", tuple(self.betas))
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ValueError(
                f"GANTrainConfig.betas must be two numbers in [0, 1), got {self.betas!r}"
            )
        if self.generator_loss not in _GENERATOR_LOSSES:
            raise ValueError(
                f"GANTrainConfig.generator_loss must be one of {_GENERATOR_LOSSES}, got {self.generator_loss!r}"
            )
        if self.d_loss not in _D_LOSSES:
            raise ValueError(
                f"GANTrainConfig.d_loss must be one of {_D_LOSSES}, got {self.d_loss!r}"
            )
        if not 0.0 < self.real_label <= 1.0:
            raise ValueError(
                f"GANTrainConfig.real_label must be in (0, 1], got {self.real_label!r}"
            )
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
    """

    generator: nn.Module
    discriminator: nn.Module
    history: dict[str, list[float]]
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    fixed_noise: torch.Tensor | None = None
    steps: int = 0
    fixed_labels: torch.Tensor | None = None


def standard_normal_noise(n: int, generator: torch.Generator, *, latent_dim: int) -> torch.Tensor:
    r"""The default noise prior :math:`z \sim \mathcal{N}(0, I_{d})`, shape (n, latent_dim), on the CPU.

    Use ``functools.partial(standard_normal_noise, latent_dim=d)`` as a :data:`NoiseSampler`.
    """
    return torch.randn(n, latent_dim, generator=generator)


def _stream(
    tensors: tuple[torch.Tensor, ...], cfg: GANTrainConfig, start_batch: int
) -> Iterator[tuple[torch.Tensor, tuple[torch.Tensor, ...]]]:
    r"""Endless ``(real batch, condition)`` pairs; the condition is ``()`` or ``(labels,)``.

    Batch ``b`` depends only on (seed, b), so a resume can skip ahead. The permutation does not
    depend on how many tensors are batched, so labels do not change which images a step sees.
    """
    per_epoch = tensors[0].shape[0] // cfg.batch_size
    epoch, skip = divmod(start_batch, per_epoch)
    while True:
        batches = iterate_batches(
            *tensors, batch_size=cfg.batch_size, seed=cfg.seed, epoch=epoch, drop_last=True
        )
        for batch, *condition in itertools.islice(batches, skip, None):
            yield batch, tuple(condition)
        epoch, skip = epoch + 1, 0


def _losses(cfg: GANTrainConfig) -> tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]:
    if cfg.d_loss == "article":
        d_loss_fn = article_discriminator_loss
    else:
        d_loss_fn = functools.partial(discriminator_loss, real_label=cfg.real_label)
    if cfg.generator_loss == "saturating":
        return d_loss_fn, generator_loss_saturating
    return d_loss_fn, generator_loss_nonsaturating


def _snapshot(
    generator: nn.Module, fixed_noise: torch.Tensor, condition: tuple[torch.Tensor, ...]
) -> torch.Tensor:
    r"""``G(fixed_noise, *condition)`` in eval mode on the CPU, leaving the generator's state untouched."""
    generator.eval()
    with torch.no_grad():
        images = generator(fixed_noise, *condition).cpu()
    generator.train()
    return images


def _check_data(data: torch.Tensor, cfg: GANTrainConfig) -> None:
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"data must be a torch.Tensor of shape (N, ...), got {type(data).__name__}")
    if data.ndim < 2:
        raise ValueError(
            f"data must have shape (N, ...) with one example per row, got {tuple(data.shape)}: "
            "for 1-D toy data use data.view(-1, 1)"
        )
    if not data.is_floating_point():
        raise TypeError(
            f"data must be floating point (images scaled to [-1, 1]), got dtype {data.dtype}"
        )
    if data.shape[0] < cfg.batch_size:
        raise ValueError(
            f"data has {data.shape[0]} examples, fewer than cfg.batch_size={cfg.batch_size}: "
            "lower the batch size or use more data"
        )
    if not bool(torch.isfinite(data).all()):
        raise ValueError(
            "data contains NaN or Inf values: clean or re-normalise it before training"
        )


def _check_labels(labels: object, n_examples: int, generator: nn.Module) -> int:
    r"""Validate ``labels`` for a conditional run and return the generator's number of classes."""
    n_classes = getattr(generator, "n_classes", None)
    if not isinstance(n_classes, int) or isinstance(n_classes, bool) or n_classes < 1:
        raise ValueError(
            f"labels were given but {type(generator).__name__} has no int attribute n_classes: pass labels only "
            "with a conditional generator G(z, y), e.g. aigc_course.models.ConditionalGenerator"
        )
    if not isinstance(labels, torch.Tensor):
        raise TypeError(
            f"labels must be a torch.Tensor of int64 class indices, shape (N,), got {type(labels).__name__}"
        )
    if labels.dtype != torch.long:
        raise TypeError(
            f"labels must be int64 class indices, got dtype {labels.dtype}: convert with labels.long()"
        )
    if labels.shape != (n_examples,):
        raise ValueError(
            f"labels must have shape (N,) = ({n_examples},), one per training example, got {tuple(labels.shape)}"
        )
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high >= n_classes:
        raise ValueError(
            f"labels must lie in [0, {n_classes - 1}] (the generator has n_classes={n_classes}), "
            f"got values in [{low}, {high}]: fix the labels or build the models with more classes"
        )
    return n_classes


def _restore(
    ckpt: dict[str, Any],
    cfg: GANTrainConfig,
    n_examples: int,
    n_classes: int | None,
    models: tuple[nn.Module, nn.Module],
    optimizers: tuple[torch.optim.Optimizer, torch.optim.Optimizer],
    noise_rng: torch.Generator,
) -> None:
    wanted = {
        **{k: getattr(cfg, k) for k in _STREAM_KEYS},
        "n_examples": n_examples,
        "n_classes": n_classes,
    }
    check_resumable(
        cfg.checkpoint_path, dict(ckpt["stream"]), wanted, "step", ckpt["step"], cfg.steps
    )
    models[0].load_state_dict(ckpt["generator"])
    models[1].load_state_dict(ckpt["discriminator"])
    optimizers[0].load_state_dict(ckpt["opt_g"])
    optimizers[1].load_state_dict(ckpt["opt_d"])
    # The loaded optimiser state carries the old hyper-parameters; the config's win.
    for opt, lr in zip(optimizers, (cfg.lr_g, cfg.lr_d), strict=False):
        for group in opt.param_groups:
            group["lr"], group["betas"] = lr, cfg.betas
    noise_rng.set_state(ckpt["noise_rng_state"])


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
) -> GANResult:
    r"""Train a GAN by alternating discriminator and generator updates (Goodfellow et al., Alg. 1).

    Each step does ``cfg.d_steps`` discriminator updates, each on a fresh real batch
    :math:`x_{1..m}` and fresh noise :math:`z_{1..m}`, descending

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
        Continue from ``cfg.checkpoint_path`` if that file exists (else start fresh).
    labels : torch.Tensor, optional
        (N,) int64 class of each training example, in [0, K) where K is ``generator.n_classes``.
        Given, the GAN is conditional: real batches come with their labels, generated ones with
        labels drawn uniformly from the K classes by the noise generator, and the models are
        called as ``generator(z, y)`` and ``discriminator(x, y)`` (Mirza & Osindero, 2014).

    Returns
    -------
    GANResult

    Raises
    ------
    TrainingDiverged
        (a ``FloatingPointError``) when a loss becomes NaN or infinite; names the step and loss.

    Notes
    -----
    Real batch ``b`` (counting D updates from 0) comes from epoch ``b // (N // batch_size)`` of
    ``iterate_batches(data, seed=cfg.seed, epoch=...)``, and all noise from one
    ``torch.Generator`` seeded with ``cfg.seed`` (the fixed batch first), whose state is
    checkpointed. Resuming therefore reproduces an uninterrupted run bit for bit on the same
    machine. ``seed``, ``batch_size``, ``d_steps``, ``n_fixed`` and the data size must match the
    checkpoint; learning rates, betas and losses may change on resume and apply from then on.
    Snapshots run the generator in eval mode under ``torch.no_grad()``, so taking them does not
    change training (BatchNorm uses its running statistics there).

    Examples
    --------
    >>> from aigc_course.data.toy import ring_of_gaussians
    >>> from aigc_course.models.gan import ToyGANConfig, ToyGenerator, ToyDiscriminator
    >>> data, centers = ring_of_gaussians(8192, generator=torch.Generator().manual_seed(0))
    >>> G, D = ToyGenerator(ToyGANConfig()), ToyDiscriminator(ToyGANConfig())
    >>> cfg = GANTrainConfig(steps=3000, batch_size=256, lr_d=1e-3, lr_g=1e-3, betas=(0.5, 0.9))
    >>> result = train_gan(G, D, data, cfg)  # doctest: +SKIP

    References
    ----------
    Goodfellow et al. (2014), "Generative Adversarial Nets", Algorithm 1.
    """
    if not isinstance(cfg, GANTrainConfig):
        raise TypeError(f"cfg must be a GANTrainConfig, got {type(cfg).__name__}")
    _check_data(data, cfg)
    if resume and cfg.checkpoint_path is None:
        raise ValueError("resume=True needs cfg.checkpoint_path to point at the checkpoint file")
    n_classes = None if labels is None else _check_labels(labels, data.shape[0], generator)
    if sample_noise is None:
        latent_dim = getattr(generator, "latent_dim", None)
        if not isinstance(latent_dim, int):
            raise ValueError(
                f"{type(generator).__name__} has no int attribute latent_dim, so the default noise "
                "cannot be sized: set generator.latent_dim or pass sample_noise=lambda n, g: ..."
            )
        sample_noise = functools.partial(standard_normal_noise, latent_dim=latent_dim)
    if history is None:
        history = {}
    for key in HISTORY_KEYS:
        history.setdefault(key, [])

    device = get_device(cfg.device)
    generator.to(device).train()
    discriminator.to(device).train()
    data = data.to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr_g, betas=cfg.betas)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr_d, betas=cfg.betas)
    d_loss_fn, g_loss_fn = _losses(cfg)

    noise_rng = torch.Generator().manual_seed(cfg.seed)
    fixed_noise = sample_noise(cfg.n_fixed, noise_rng).to(device) if cfg.n_fixed else None
    if n_classes is None:
        real_tensors, fixed_condition = (data,), _NO_CONDITION

        def sample_condition(n: int) -> tuple[torch.Tensor, ...]:
            return _NO_CONDITION
    else:
        real_tensors = (data, labels.to(device))
        fixed_condition = (torch.arange(cfg.n_fixed, device=device) % n_classes,)

        def sample_condition(n: int) -> tuple[torch.Tensor, ...]:
            return (torch.randint(n_classes, (n,), generator=noise_rng).to(device),)

    snapshots: list[tuple[int, torch.Tensor]] = []
    start = 0
    if resume and os.path.isfile(cfg.checkpoint_path):
        ckpt = load_checkpoint(cfg.checkpoint_path)
        _restore(
            ckpt,
            cfg,
            data.shape[0],
            n_classes,
            (generator, discriminator),
            (opt_g, opt_d),
            noise_rng,
        )
        start = int(ckpt["step"])
        for key in HISTORY_KEYS:
            history[key][:] = ckpt["history"][key]
        snapshots = list(ckpt["snapshots"])
    elif fixed_noise is not None and cfg.snapshot_every is not None:
        snapshots.append((0, _snapshot(generator, fixed_noise, fixed_condition)))

    saved_at = start if start else None  # step of the newest checkpoint this call knows is on disk

    def checkpoint(step: int) -> None:
        nonlocal saved_at
        saved_at = step
        save_checkpoint(
            cfg.checkpoint_path,
            format=_CHECKPOINT_FORMAT,
            step=step,
            generator=generator.state_dict(),
            discriminator=discriminator.state_dict(),
            opt_g=opt_g.state_dict(),
            opt_d=opt_d.state_dict(),
            noise_rng_state=noise_rng.get_state(),
            history={k: list(history[k]) for k in HISTORY_KEYS},
            snapshots=snapshots,
            stream={
                **{k: getattr(cfg, k) for k in _STREAM_KEYS},
                "n_examples": data.shape[0],
                "n_classes": n_classes,
            },
        )

    real_batches = _stream(real_tensors, cfg, start * cfg.d_steps)
    batch_size = cfg.batch_size
    postfix_every = max(1, cfg.steps // 200)
    bar = tqdm(total=cfg.steps, initial=start, disable=not cfg.progress, desc="GAN", unit="step")
    try:
        for step in range(start + 1, cfg.steps + 1):
            # --- discriminator: k updates, each on fresh real data and fresh noise ---
            d_sums = torch.zeros(3, device=device)
            for _ in range(cfg.d_steps):
                real, real_condition = next(
                    real_batches
                )  # condition: () or (labels,) of a conditional GAN
                fake_condition = sample_condition(batch_size)
                with torch.no_grad():
                    fake = generator(
                        sample_noise(batch_size, noise_rng).to(device), *fake_condition
                    )
                if fake.shape[1:] != real.shape[1:]:
                    raise ValueError(
                        f"the generator makes examples of shape {tuple(fake.shape[1:])} but the data's "
                        f"are {tuple(real.shape[1:])}: build the generator for this data"
                    )
                real_logits = discriminator(real, *real_condition)
                fake_logits = discriminator(fake, *fake_condition)
                loss_d = d_loss_fn(real_logits, fake_logits)
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                d_sums += torch.stack(
                    [
                        loss_d.detach(),
                        real_logits.detach().sigmoid().mean(),
                        fake_logits.detach().sigmoid().mean(),
                    ]
                )
            # --- generator: one update on fresh noise ---
            fake_condition = sample_condition(batch_size)
            fake = generator(sample_noise(batch_size, noise_rng).to(device), *fake_condition)
            fake_logits = discriminator(fake, *fake_condition)
            loss_g = g_loss_fn(fake_logits)
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()

            # one device-to-host transfer per step for all four records
            d_loss, d_real, d_fake, g_loss = torch.cat(
                [d_sums / cfg.d_steps, loss_g.detach().view(1)]
            ).tolist()
            if not math.isfinite(d_loss):
                raise TrainingDiverged(
                    step,
                    "discriminator loss",
                    d_loss,
                    "check that the data are finite and scaled to [-1, 1], that the models' weights are "
                    "finite, and lower cfg.lr_d",
                )
            if not math.isfinite(g_loss):
                raise TrainingDiverged(
                    step,
                    "generator loss",
                    g_loss,
                    "check the noise sampler and the generator's weights, and lower cfg.lr_g",
                )
            history["d_loss"].append(d_loss)
            history["g_loss"].append(g_loss)
            history["d_real"].append(d_real)
            history["d_fake"].append(d_fake)

            if (
                fixed_noise is not None
                and cfg.snapshot_every is not None
                and step % cfg.snapshot_every == 0
            ):
                snapshots.append((step, _snapshot(generator, fixed_noise, fixed_condition)))
            if cfg.checkpoint_every is not None and step % cfg.checkpoint_every == 0:
                checkpoint(step)
            bar.update(1)
            if step % postfix_every == 0:
                bar.set_postfix(
                    d_loss=f"{d_loss:.3f}",
                    g_loss=f"{g_loss:.3f}",
                    D_x=f"{d_real:.2f}",
                    D_G_z=f"{d_fake:.2f}",
                    refresh=False,
                )
    finally:
        bar.close()

    if cfg.checkpoint_path is not None and saved_at != cfg.steps:
        checkpoint(cfg.steps)
    result_snapshots = list(snapshots)
    if fixed_noise is not None and (not result_snapshots or result_snapshots[-1][0] != cfg.steps):
        result_snapshots.append((cfg.steps, _snapshot(generator, fixed_noise, fixed_condition)))
    return GANResult(
        generator=generator,
        discriminator=discriminator,
        history=history,
        snapshots=result_snapshots,
        fixed_noise=None if fixed_noise is None else fixed_noise.cpu(),
        steps=cfg.steps,
        fixed_labels=fixed_condition[0].cpu()
        if fixed_condition and fixed_noise is not None
        else None,
    )
