r"""A small time-conditioned UNet for 28x28 images, the denoiser of pixel-space diffusion.

The network maps a noisy image :math:`x_t`, a time :math:`t \in [0, 1]` (0 = data, 1 = noise;
:math:`t/T` for diffusion) and optionally a class label to a tensor of the image's shape: the
predicted noise :math:`\hat\epsilon` (DDPM) or velocity :math:`\hat v` (flow matching). It is
the Ho et al. (2020) design cut down to about half a million parameters so that it trains on a
CPU: three resolutions 28 -> 14 -> 7 and back, one residual block per resolution, skip
connections by concatenation, GroupNorm and SiLU, no attention. Downsampling is a strided 3x3
convolution; upsampling is a 3x3 convolution at the low resolution (which also halves the
width) followed by nearest-neighbour upsampling, which costs a quarter of the usual
upsample-then-convolve: about 89M multiply-adds per 28x28 image with the default widths. Time enters every residual block
through a sinusoidal embedding and an MLP (added as a per-channel bias); a class label adds a
learned embedding to it, and the extra row ``n_classes`` is the "null" label used for
classifier-free guidance.

References
----------
Ronneberger, Fischer & Brox (2015), "U-Net", MICCAI.
Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models", App. B (architecture).
Vaswani et al. (2017), "Attention Is All You Need", Sec. 3.5 (sinusoidal embedding).
Wu & He (2018), "Group Normalization", ECCV.
Ho & Salimans (2022), "Classifier-Free Diffusion Guidance" (the null label).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aigc_course import _check

__all__ = [
    "ResBlock",
    "TimeEmbedding",
    "UNet",
    "UNetConfig",
    "check_denoiser_inputs",
    "sinusoidal_embedding",
]


def sinusoidal_embedding(time: torch.Tensor, dim: int, scale: float = 1000.0) -> torch.Tensor:
    r"""Sinusoidal features of a scalar time, as the Transformer's position encoding.

    .. math::

        e(t) = \bigl[\sin(\omega_0 \tau), \dots, \sin(\omega_{h-1}\tau),
        \cos(\omega_0 \tau), \dots, \cos(\omega_{h-1} \tau)\bigr], \qquad
        \tau = \text{scale} \cdot t, \quad \omega_k = 10000^{-k/h}, \quad h = \text{dim}/2

    Parameters
    ----------
    time : torch.Tensor
        (B,) floats, times in [0, 1]; ``scale=1000`` spreads them like the integer steps of a
        T = 1000 diffusion.
    dim : int
        Even, >= 2.
    scale : float

    Returns
    -------
    torch.Tensor
        (B, dim), values in [-1, 1], dtype of ``time`` (float32 for integer input).

    References
    ----------
    Vaswani et al. (2017), Sec. 3.5; Ho et al. (2020), App. B.
    """
    if dim < 2 or dim % 2:
        raise ValueError(f"dim must be an even int >= 2, got {dim!r}")
    half = dim // 2
    time = time if time.is_floating_point() else time.float()
    freqs = torch.exp(
        -math.log(10000.0) * torch.arange(half, device=time.device, dtype=time.dtype) / half
    )
    args = scale * time[:, None] * freqs[None, :]
    return torch.cat([args.sin(), args.cos()], dim=1)


class TimeEmbedding(nn.Module):
    r"""Time (and optional class) embedding: sinusoid -> Linear -> SiLU -> Linear (+ class row).

    .. math:: e(t, y) = W_2\, \operatorname{SiLU}(W_1\, \text{sin-emb}(t) + b_1) + b_2 + E[y]

    Parameters
    ----------
    dim : int
        Output width (even).
    n_classes : int, optional
        K; the class table has K + 1 rows, row K being the null label. None: no labels.
    """

    def __init__(self, dim: int, n_classes: int | None = None) -> None:
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))
        self.n_classes = n_classes
        self.null_label = n_classes
        self.label_embedding = None if n_classes is None else nn.Embedding(n_classes + 1, dim)

    def forward(self, time: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.mlp(sinusoidal_embedding(time, self.dim))
        if self.label_embedding is not None:
            if labels is None:
                labels = torch.full((time.shape[0],), self.n_classes, device=time.device)
            emb = emb + self.label_embedding(labels)
        return emb


def _check_labels(name: str, n_classes: int | None, labels: object, batch: int) -> None:
    # The labels a denoiser embeds: [0, K) and the null label K. The value range is read only
    # when the labels live on the CPU (no accelerator sync in a forward pass).
    if labels is None:
        return
    if n_classes is None:
        raise ValueError(
            f"{name} was built without classes (n_classes=None) but got labels: drop "
            "them, or build it with n_classes=K"
        )
    _check.check_labels(labels, f"{name} labels", n_classes + 1, batch=batch, check_range=False)
    if labels.device.type == "cpu" and labels.numel():
        lo, hi = (int(v) for v in torch.aminmax(labels))
        if lo < 0 or hi > n_classes:
            raise ValueError(
                f"{name}: labels must lie in [0, {n_classes}] ({n_classes} classes and the "
                f"null label {n_classes}), found {lo if lo < 0 else hi}"
            )


def check_denoiser_inputs(
    module: nn.Module,
    x: object,
    time: object,
    labels: object,
    shape: tuple[int, ...],
) -> torch.Tensor:
    r"""Check ``forward(x, time, labels)`` inputs of a denoiser; return ``time`` as (B,) floats.

    Shapes only, plus the label range when the labels live on the CPU: nothing here waits on an
    accelerator. ``time`` may be a Python float or a 0-d tensor (broadcast to the batch).
    """
    name = type(module).__name__
    expected = "(B, " + ", ".join(str(s) for s in shape) + ")"
    if not isinstance(x, torch.Tensor) or x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} expects x of shape {expected}, got {got}")
    batch = x.shape[0]
    if _check.is_real_number(time):
        time = torch.full((batch,), float(time), device=x.device, dtype=x.dtype)
    if not isinstance(time, torch.Tensor):
        raise TypeError(f"{name}: t must be a float tensor (B,) of times in [0, 1]")
    if time.ndim == 0:
        time = time.expand(batch)
    if time.shape != (batch,):
        raise ValueError(
            f"{name}: t must have shape ({batch},) (one time per example) or be a scalar, "
            f"got {tuple(time.shape)}"
        )
    if not time.is_floating_point():
        raise TypeError(
            f"{name}: t must be a float time in [0, 1], got dtype {time.dtype}: "
            "for a diffusion step t pass t / T (aigc_course.sampling.model_time)"
        )
    _check_labels(name, getattr(module, "n_classes", None), labels, batch)
    return time


@dataclass(frozen=True)
class UNetConfig:
    r"""Sizes of :class:`UNet`.

    Attributes
    ----------
    in_channels : int
        Image channels C (1 for MNIST).
    image_size : int
        H = W, divisible by 4 (28 -> 14 -> 7).
    channels : tuple of 3 int
        Widths at the three resolutions; each divisible by ``groups``. (32, 64, 64) gives about
        0.55M parameters (89M multiply-adds per image).
    time_dim : int
        Width of the time embedding (even).
    n_classes : int, optional
        K for a class-conditional model (10 for MNIST); the null label is K. None: unconditional.
    groups : int
        GroupNorm groups.
    dropout : float
        Dropout in [0, 1) inside the residual blocks.
    """

    in_channels: int = 1
    image_size: int = 28
    channels: tuple[int, int, int] = (32, 64, 64)
    time_dim: int = 128
    n_classes: int | None = None
    groups: int = 8
    dropout: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))
        _check.check_count(self.in_channels, "UNetConfig.in_channels")
        _check.check_count(self.image_size, "UNetConfig.image_size")
        _check.check_count(self.groups, "UNetConfig.groups")
        _check.check_count(self.time_dim, "UNetConfig.time_dim")
        if self.image_size % 4:
            raise ValueError(
                f"UNetConfig.image_size must be divisible by 4 (two 2x downsamplings), got {self.image_size}"
            )
        if self.time_dim % 2:
            raise ValueError(f"UNetConfig.time_dim must be even, got {self.time_dim}")
        if len(self.channels) != 3:
            raise ValueError(
                f"UNetConfig.channels must list 3 widths, one per resolution, got {self.channels}"
            )
        for i, c in enumerate(self.channels):
            _check.check_count(c, f"UNetConfig.channels[{i}]")
            if c % self.groups:
                raise ValueError(
                    f"UNetConfig.channels {self.channels} must be divisible by groups={self.groups}"
                )
        if self.n_classes is not None:
            _check.check_count(self.n_classes, "UNetConfig.n_classes")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"UNetConfig.dropout must be in [0, 1), got {self.dropout!r}")


class ResBlock(nn.Module):
    r"""Residual block with a time-embedding bias (Ho et al., 2020, App. B).

    .. math::

        h = \operatorname{Conv}(\operatorname{SiLU}(\operatorname{GN}(x))) + W e, \qquad
        \text{out} = \operatorname{Conv}(\operatorname{Drop}(\operatorname{SiLU}(\operatorname{GN}(h))))
        + \operatorname{skip}(x)

    with skip a 1x1 convolution when the width changes. Shapes: (B, c_in, H, W) and (B, emb_dim)
    -> (B, c_out, H, W).
    """

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(math.gcd(groups, c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return h + self.skip(x)


class UNet(nn.Module):
    r"""Time-conditioned UNet, 28x28 -> 14x14 -> 7x7 -> 14x14 -> 28x28.

    .. math:: f_\theta : (x_t, t, y) \mapsto \hat\epsilon \text{ or } \hat v, \quad
              \mathbb R^{C \times H \times W} \times [0, 1] \times \{0..K\} \to
              \mathbb R^{C \times H \times W}

    Parameters
    ----------
    cfg : UNetConfig

    Attributes
    ----------
    n_classes : int or None
        K (None for an unconditional model).
    null_label : int or None
        K, the label that means "no class" (classifier-free guidance).

    Shapes
    ------
    ``forward(x, t, labels=None)``: x (B, C, H, W) float; t (B,) float in [0, 1] or a scalar;
    labels (B,) int64 in [0, K] or None (= the null label for a conditional model). Output
    (B, C, H, W), unbounded.

    References
    ----------
    Ronneberger et al. (2015); Ho et al. (2020), App. B; Ho & Salimans (2022).
    """

    def __init__(self, cfg: UNetConfig | None = None) -> None:
        super().__init__()
        cfg = UNetConfig() if cfg is None else cfg
        self.cfg = cfg
        c0, c1, c2 = cfg.channels
        g, d, e = cfg.groups, cfg.dropout, cfg.time_dim
        self.n_classes = cfg.n_classes
        self.null_label = cfg.n_classes
        self.time_embedding = TimeEmbedding(e, cfg.n_classes)
        self.conv_in = nn.Conv2d(cfg.in_channels, c0, 3, padding=1)
        self.down0 = ResBlock(c0, c0, e, g, d)
        self.pool0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.down1 = ResBlock(c0, c1, e, g, d)
        self.pool1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.down2 = ResBlock(c1, c2, e, g, d)
        self.mid = ResBlock(c2, c2, e, g, d)
        self.unpool1 = nn.Conv2d(c2, c1, 3, padding=1)  # at 7x7, then upsampled
        self.up1 = ResBlock(2 * c1, c1, e, g, d)
        self.unpool0 = nn.Conv2d(c1, c0, 3, padding=1)  # at 14x14, then upsampled
        self.up0 = ResBlock(2 * c0, c0, e, g, d)
        self.norm_out = nn.GroupNorm(g, c0)
        self.conv_out = nn.Conv2d(c0, cfg.in_channels, 3, padding=1)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor | float, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        cfg = self.cfg
        t = check_denoiser_inputs(
            self, x, t, labels, (cfg.in_channels, cfg.image_size, cfg.image_size)
        )
        emb = self.time_embedding(t.to(x.dtype), labels)
        skip0 = self.down0(self.conv_in(x), emb)  # c0, 28
        skip1 = self.down1(self.pool0(skip0), emb)  # c1, 14
        h = self.mid(self.down2(self.pool1(skip1), emb), emb)  # c2, 7
        h = F.interpolate(self.unpool1(h), scale_factor=2.0, mode="nearest")  # c1, 14
        h = self.up1(torch.cat([h, skip1], dim=1), emb)  # c1, 14
        h = F.interpolate(self.unpool0(h), scale_factor=2.0, mode="nearest")  # c0, 28
        h = self.up0(torch.cat([h, skip0], dim=1), emb)  # c0, 28
        return self.conv_out(F.silu(self.norm_out(h)))
