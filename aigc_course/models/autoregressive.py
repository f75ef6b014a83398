r"""Masked autoregressive models of binary images: MADE and a small PixelCNN.

Both factorise an image of D binary pixels in raster order (row by row, left to right),

.. math:: p(x) = \prod_{d=1}^{D} p(x_d \mid x_{<d}), \qquad
          p(x_d = 1 \mid x_{<d}) = \sigma(\ell_d(x_{<d})),

and get all D logits from **one** pass of a network whose weights are masked so that logit
:math:`\ell_d` cannot see pixels :math:`\ge d`. Training therefore costs one pass per image;
sampling costs D passes (``sample``). The exact
log-likelihood is the sum of the D Bernoulli terms (``conditional_log_probs``).

Shapes: images (B, 1, H, W) float with values in {0, 1}; ``log_prob`` (B,) in nats;
``conditional_log_probs`` (B, D), D = H * W, in raster order.

References
----------
Germain, Gregor, Murray & Larochelle, "MADE: Masked autoencoder for distribution estimation",
ICML 2015. van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel recurrent neural networks", ICML
2016, sec. 3.5 (PixelCNN, masks A and B).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from aigc_course._check import (
    check_binary,
    check_count,
    check_image_batch,
    check_sample_count,
    check_tensor,
)

__all__ = [
    "MADE",
    "MADEConfig",
    "MaskedConv2d",
    "MaskedLinear",
    "PixelCNN",
    "PixelCNNConfig",
    "made_masks",
    "pixelcnn_mask",
]


class MaskedLinear(nn.Linear):
    r"""A linear layer :math:`y = (W \odot M) x + b` with a fixed 0/1 mask M (out, in)."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features)
        self.register_buffer("mask", torch.ones(out_features, in_features))

    def set_mask(self, mask: torch.Tensor) -> None:
        r"""Install ``mask`` (out_features, in_features) of zeros and ones."""
        check_tensor(mask, "mask", ndim=2, shape_hint="(out_features, in_features)")
        if tuple(mask.shape) != tuple(self.weight.shape):
            raise ValueError(
                f"mask must have the weight's shape {tuple(self.weight.shape)} "
                f"(out_features, in_features), got {tuple(mask.shape)}"
            )
        self.mask.copy_(mask.to(self.mask.dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def made_masks(
    n_in: int, hidden: tuple[int, ...], *, generator: torch.Generator | None = None
) -> list[torch.Tensor]:
    r"""MADE's masks for inputs in the natural order (Germain et al., 2015, eq. 12-13).

    Input d gets degree :math:`m^0(d) = d` (1..D); hidden unit k of layer l gets a degree
    :math:`m^l(k)` drawn uniformly from :math:`\{\min_j m^{l-1}(j), \dots, D - 1\}`. Then

    .. math:: M^l_{kj} = [m^l(k) \ge m^{l-1}(j)], \qquad M^{out}_{dk} = [d > m^L(k)]

    so output d depends on inputs < d only.

    Returns
    -------
    list of tensors: one (out, in) mask per layer, the output layer's last.
    """
    degrees = [torch.arange(1, n_in + 1)]
    for width in hidden:
        low = int(degrees[-1].min())
        high = max(low, n_in - 1)
        degrees.append(torch.randint(low, high + 1, (width,), generator=generator))
    masks = [
        (d_out[:, None] >= d_in[None, :]).float()
        for d_in, d_out in zip(degrees, degrees[1:], strict=False)
    ]
    masks.append((degrees[0][:, None] > degrees[-1][None, :]).float())
    return masks


@dataclass(frozen=True)
class MADEConfig:
    r"""Size of a :class:`MADE`.

    Attributes
    ----------
    image_shape : tuple of int
        (1, H, W).
    hidden : tuple of int
        Widths of the hidden layers.
    mask_seed : int
        Seeds the hidden units' degrees (one fixed ordering and connectivity).
    """

    image_shape: tuple[int, int, int] = (1, 28, 28)
    hidden: tuple[int, ...] = (512, 512)
    mask_seed: int = 0

    def __post_init__(self) -> None:
        if len(self.image_shape) != 3 or self.image_shape[0] != 1:
            raise ValueError(f"MADEConfig.image_shape must be (1, H, W), got {self.image_shape!r}")
        for i, v in enumerate(self.image_shape):
            check_count(v, f"MADEConfig.image_shape[{i}]")
        if not self.hidden:
            raise ValueError("MADEConfig.hidden must name at least one hidden layer width")
        for i, v in enumerate(self.hidden):
            check_count(v, f"MADEConfig.hidden[{i}]")
        check_count(self.mask_seed, "MADEConfig.mask_seed", minimum=0)


class _BinaryImageModel(nn.Module):
    r"""What MADE and PixelCNN share: logits (B, D) from one masked pass; the rest follows."""

    data_range = (0.0, 1.0)  # binary images
    image_shape: tuple[int, int, int]

    def logits(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check(self, x: torch.Tensor, validate: bool) -> None:
        check_image_batch(x, f"{type(self).__name__}: x", self.image_shape)
        if validate:
            check_binary(x, f"{type(self).__name__}: x", shape_hint="(B, 1, H, W)")

    def conditional_log_probs(self, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        r"""The chain-rule terms :math:`\log p(x_d \mid x_{<d})` in nats, (B, D), raster order.

        .. math:: \log p(x_d \mid x_{<d}) = x_d \log \sigma(\ell_d) + (1 - x_d) \log(1 - \sigma(\ell_d))

        ``validate=False`` skips the check that ``x`` is binary (it reads every value).
        """
        self._check(x, validate)
        flat = x.flatten(1)
        return -F.binary_cross_entropy_with_logits(self.logits(x), flat, reduction="none")

    def log_prob(self, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        r"""Exact :math:`\log p(x) = \sum_d \log p(x_d \mid x_{<d})` in nats, (B,)."""
        return self.conditional_log_probs(x, validate=validate).sum(dim=1)

    @torch.no_grad()
    def sample(
        self, n: int, *, labels: None = None, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        r"""``n`` binary images (n, 1, H, W), pixel by pixel in raster order (D network passes).

        Uniform draws come from ``generator`` on the CPU, so a seed gives the same images on
        every device.
        """
        n = check_sample_count(n)
        if labels is not None:
            raise TypeError(f"{type(self).__name__} is not conditional: it takes no labels")
        device = next(self.parameters()).device
        D = math.prod(self.image_shape)
        u = torch.rand(n, D, generator=generator).to(device)
        x = torch.zeros(n, D, device=device)
        was_training = self.training
        self.eval()
        try:
            for d in range(D):
                p = torch.sigmoid(self.logits(x.view(n, *self.image_shape))[:, d])
                x[:, d] = (u[:, d] < p).float()
        finally:
            self.train(was_training)
        return x.view(n, *self.image_shape)


class MADE(_BinaryImageModel):
    r"""Masked autoencoder for distribution estimation (Germain et al., 2015).

    An MLP :math:`D \to h_1 \to \dots \to D` whose weights are masked by :func:`made_masks`,
    ReLU between layers; output d is the logit of :math:`p(x_d = 1 \mid x_{<d})`.
    """

    def __init__(self, cfg: MADEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.image_shape = tuple(cfg.image_shape)
        D = math.prod(self.image_shape)
        sizes = (D, *cfg.hidden, D)
        self.layers = nn.ModuleList(
            MaskedLinear(a, b) for a, b in zip(sizes, sizes[1:], strict=False)
        )
        generator = torch.Generator().manual_seed(cfg.mask_seed)
        for layer, mask in zip(
            self.layers, made_masks(D, cfg.hidden, generator=generator), strict=True
        ):
            layer.set_mask(mask)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        r"""Logits (B, D) of every pixel given the pixels before it."""
        h = x.flatten(1)
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = F.relu(h)
        return h


def pixelcnn_mask(kernel_size: int, kind: str) -> torch.Tensor:
    r"""The (k, k) spatial mask of a PixelCNN convolution (van den Oord et al., 2016, fig. 2).

    Rows below the centre and pixels right of the centre are 0; the centre itself is 0 for
    mask ``"A"`` (the first layer: a pixel must not see itself) and 1 for mask ``"B"`` (later
    layers, whose centre feature already depends only on earlier pixels).
    """
    check_count(kernel_size, "kernel_size")
    if kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be odd (a centre pixel), got {kernel_size}")
    if kind not in ("A", "B"):
        raise ValueError(f"kind must be 'A' or 'B', got {kind!r}")
    c = kernel_size // 2
    mask = torch.ones(kernel_size, kernel_size)
    mask[c, c + (kind == "B") :] = 0
    mask[c + 1 :, :] = 0
    return mask


class MaskedConv2d(nn.Conv2d):
    r"""A 'same' convolution with weights :math:`W \odot M`, M the :func:`pixelcnn_mask`."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, kind: str) -> None:
        super().__init__(in_ch, out_ch, kernel_size, padding=kernel_size // 2)
        self.register_buffer("mask", pixelcnn_mask(kernel_size, kind)[None, None])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.weight * self.mask, self.bias)


@dataclass(frozen=True)
class PixelCNNConfig:
    r"""Size of a :class:`PixelCNN`.

    Attributes
    ----------
    image_shape : tuple of int
        (1, H, W).
    channels : int
        Feature maps of every hidden layer.
    n_layers : int
        Mask-B layers after the first (mask-A) layer.
    first_kernel, kernel : int
        Odd kernel sizes of the mask-A layer and of the mask-B layers.
    """

    image_shape: tuple[int, int, int] = (1, 28, 28)
    channels: int = 32
    n_layers: int = 4
    first_kernel: int = 7
    kernel: int = 3

    def __post_init__(self) -> None:
        if len(self.image_shape) != 3 or self.image_shape[0] != 1:
            raise ValueError(
                f"PixelCNNConfig.image_shape must be (1, H, W), got {self.image_shape!r}"
            )
        for name in ("channels", "first_kernel", "kernel"):
            check_count(getattr(self, name), f"PixelCNNConfig.{name}")
        check_count(self.n_layers, "PixelCNNConfig.n_layers", minimum=0)
        for name in ("first_kernel", "kernel"):
            if getattr(self, name) % 2 == 0:
                raise ValueError(f"PixelCNNConfig.{name} must be odd, got {getattr(self, name)}")


class PixelCNN(_BinaryImageModel):
    r"""A small PixelCNN for binary images (van den Oord et al., 2016).

    One mask-A convolution, ``n_layers`` mask-B convolutions with ReLU, then two 1x1
    convolutions to one logit per pixel. Stacked masked convolutions have a *blind spot*
    (pixels up and to the right that no path reaches); the gated PixelCNN's two stacks remove
    it, which this small version does not.
    """

    def __init__(self, cfg: PixelCNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.image_shape = tuple(cfg.image_shape)
        c = cfg.channels
        layers: list[nn.Module] = [MaskedConv2d(1, c, cfg.first_kernel, "A"), nn.ReLU()]
        for _ in range(cfg.n_layers):
            layers += [MaskedConv2d(c, c, cfg.kernel, "B"), nn.ReLU()]
        layers += [nn.Conv2d(c, c, 1), nn.ReLU(), nn.Conv2d(c, 1, 1)]
        self.net = nn.Sequential(*layers)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        r"""Logits (B, D) of every pixel given the pixels before it in raster order."""
        return self.net(x).flatten(1)
