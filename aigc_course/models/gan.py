r"""GAN generator/discriminator pairs: fully connected and DCGAN-style (MNIST), and a toy 2-D MLP.

Every generator maps noise ``z`` of shape (B, latent_dim) to data and exposes ``latent_dim``
and ``output_shape``; every discriminator maps data to one raw logit per example, shape (B,),
with no sigmoid (the losses in :mod:`aigc_course.losses.gan` work on logits). Image models
produce and expect images scaled to [-1, 1].

References
----------
Goodfellow et al. (2014), "Generative Adversarial Nets", NeurIPS.
Radford, Metz & Chintala (2016), "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks" (DCGAN), ICLR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from aigc_course import _check
from aigc_course.models.base import SamplingMixin

__all__ = [
    "DCGANConfig",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGANConfig",
    "MLPGenerator",
    "ToyDiscriminator",
    "ToyGANConfig",
    "ToyGenerator",
    "check_z",
    "dcgan_init_",
    "mlp",
]


def _check_slope(owner: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
        raise ValueError(
            f"{owner}.negative_slope must be in [0, 1), got {value!r} (DCGAN uses 0.2)"
        )


def check_z(z: object, latent_dim: int) -> None:
    r"""Check that ``z`` is a tensor of shape (B, latent_dim) (shape only: no host sync)."""
    if not isinstance(z, torch.Tensor):
        raise TypeError(
            f"z must be a torch.Tensor of shape (B, {latent_dim}), got {type(z).__name__}"
        )
    if not z.is_floating_point():
        raise TypeError(
            f"z must be a floating-point tensor, got {z.dtype}: sample it as "
            f"torch.randn(B, {latent_dim})"
        )
    if z.ndim != 2:
        raise ValueError(
            f"expected z of shape (B, {latent_dim}), got {tuple(z.shape)}: "
            f"sample it as torch.randn(B, {latent_dim}) (flatten extra axes with z.view(B, -1))"
        )
    if z.shape[1] != latent_dim:
        raise ValueError(
            f"expected z of shape (B, {latent_dim}), got {tuple(z.shape)}: sample "
            f"torch.randn(B, {latent_dim}), or set cfg.latent_dim={z.shape[1]} when building "
            "the generator"
        )


def mlp(
    widths: tuple[int, ...], negative_slope: float, *, batchnorm_from: int | None = None
) -> list[nn.Module]:
    r"""Hidden layers ``Linear -> [BatchNorm] -> LeakyReLU`` through ``widths`` (w_0 -> w_1 -> ...).

    BatchNorm goes into hidden layers ``batchnorm_from``, ``batchnorm_from + 1``, ... (counting
    from 0); ``None``: no BatchNorm. Shared by the MLP, conditional and toy networks.
    """
    layers: list[nn.Module] = []
    for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(w_in, w_out))
        if batchnorm_from is not None and i >= batchnorm_from:
            layers.append(nn.BatchNorm1d(w_out))
        layers.append(nn.LeakyReLU(negative_slope))
    return layers


# --------------------------------------------------------------------------------------------
# Fully connected GAN for MNIST
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MLPGANConfig:
    r"""Sizes of the fully connected GAN for 28x28 images.

    Attributes
    ----------
    latent_dim : int
        Length of the noise vector z.
    hidden : tuple of int
        Generator hidden widths, from z outwards; the discriminator uses them reversed.
    image_shape : tuple of int
        (C, H, W) of the images, scaled to [-1, 1].
    negative_slope : float
        LeakyReLU slope for negative inputs, in [0, 1).
    batchnorm : bool
        BatchNorm after every generator hidden layer but the first (on by default). Whether
        this generator trains worse without it is not measured in the package; the GAN
        chapter leaves it as an exercise (compare the variety of the digits over seeds).
    """

    latent_dim: int = 100
    hidden: tuple[int, ...] = (256, 512, 1024)
    image_shape: tuple[int, int, int] = (1, 28, 28)
    negative_slope: float = 0.2
    batchnorm: bool = True

    def __post_init__(self) -> None:
        _check.check_count(self.latent_dim, "MLPGANConfig.latent_dim")
        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        if len(self.hidden) == 0:
            raise ValueError(
                "MLPGANConfig.hidden must list at least one hidden width, e.g. (256, 512, 1024)"
            )
        for width in self.hidden:
            _check.check_count(width, "MLPGANConfig.hidden[i]")
        if len(self.image_shape) != 3:
            raise ValueError(
                f"MLPGANConfig.image_shape must be (C, H, W), got {self.image_shape!r}"
            )
        for size in self.image_shape:
            _check.check_count(size, "MLPGANConfig.image_shape[i]")
        _check_slope("MLPGANConfig", self.negative_slope)


class MLPGenerator(SamplingMixin, nn.Module):
    r"""Fully connected generator: noise z to an image in [-1, 1].

    .. math::

        G(z) = \tanh\bigl(W_L\, \phi(\cdots \phi(W_1 z + b_1) \cdots) + b_L\bigr),
        \qquad \phi = \operatorname{LeakyReLU}_{0.2}

    (with BatchNorm before :math:`\phi` in hidden layers 2, 3, ... when ``cfg.batchnorm``).
    With the default config the widths are 100 -> 256 -> 512 -> 1024 -> 784. The source
    article's generator was 100 -> 128 -> 64 -> 784: a 64-unit bottleneck feeding 784 pixels
    is too narrow to model digit variety, and the article had no working discriminator to
    pair it with; this version widens the layers and comes with :class:`MLPDiscriminator`.

    Parameters
    ----------
    cfg : MLPGANConfig

    Shapes
    ------
    z : (B, latent_dim), any real values (usually standard normal); B >= 2 in train mode
        when ``cfg.batchnorm`` (BatchNorm needs batch statistics), any B in eval mode.
    returns : ``(B, *image_shape)``, values in [-1, 1].

    References
    ----------
    Goodfellow et al. (2014), "Generative Adversarial Nets".
    Radford et al. (2016), DCGAN, Sec. 3 (BatchNorm in the generator, not on its input layer).
    """

    def __init__(self, cfg: MLPGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.output_shape = cfg.image_shape
        widths = (cfg.latent_dim, *cfg.hidden)
        layers = mlp(widths, cfg.negative_slope, batchnorm_from=1 if cfg.batchnorm else None)
        layers += [nn.Linear(widths[-1], math.prod(cfg.image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_z(z, self.latent_dim)
        return self.net(z).view(z.shape[0], *self.output_shape)


class MLPDiscriminator(nn.Module):
    r"""Fully connected discriminator: an image to one real/fake logit.

    .. math::

        \ell(x) = w_L^\top \phi(\cdots \phi(W_1 \operatorname{vec}(x) + b_1) \cdots) + b_L,
        \qquad D(x) = \sigma(\ell(x))

    With the default config the widths are 784 -> 1024 -> 512 -> 256 -> 1, LeakyReLU(0.2),
    and no sigmoid: the losses take logits for numerical stability.

    Parameters
    ----------
    cfg : MLPGANConfig

    Shapes
    ------
    x : ``(B, *image_shape)``, values in [-1, 1].
    returns : (B,), logits (any real value; > 0 means "real").

    References
    ----------
    Goodfellow et al. (2014), "Generative Adversarial Nets".
    """

    def __init__(self, cfg: MLPGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_shape = cfg.image_shape
        widths = (math.prod(cfg.image_shape), *reversed(cfg.hidden))
        layers = mlp(widths, cfg.negative_slope)
        layers.append(nn.Linear(widths[-1], 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check.check_image_batch(x, "images", self.input_shape, floating=True)
        return self.net(x.flatten(1)).view(-1)


# --------------------------------------------------------------------------------------------
# DCGAN for 28x28 images
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DCGANConfig:
    r"""Sizes of the DCGAN-style pair for 28x28 images.

    DCGAN-style: the layer rules of Radford et al. (strided transposed convolutions,
    BatchNorm, ReLU in G and LeakyReLU in D, no pooling, no fully connected hidden layers)
    on a 28x28 grid, with two up-sampling steps instead of four; the training settings
    are not part of the architecture.

    Attributes
    ----------
    latent_dim : int
        Length of the noise vector z.
    base_channels : int
        C: the generator goes z -> (2C, 7, 7) -> (C, 14, 14) -> (image_channels, 28, 28); the
        discriminator mirrors it.
    image_channels : int
        1 for MNIST, 3 for colour images.
    negative_slope : float
        LeakyReLU slope in the discriminator (0.2 in Radford et al.).
    """

    latent_dim: int = 100
    base_channels: int = 64
    image_channels: int = 1
    negative_slope: float = 0.2

    def __post_init__(self) -> None:
        _check.check_count(self.latent_dim, "DCGANConfig.latent_dim")
        _check.check_count(self.base_channels, "DCGANConfig.base_channels")
        _check.check_count(self.image_channels, "DCGANConfig.image_channels")
        _check_slope("DCGANConfig", self.negative_slope)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        r"""(C, 28, 28): the only image size this architecture produces."""
        return (self.image_channels, 28, 28)


def dcgan_init_(module: nn.Module) -> None:
    r"""Initialise one module in place the DCGAN way; use as ``model.apply(dcgan_init_)``.

    .. math::

        W_\text{conv}, W_\text{linear} \sim \mathcal{N}(0, 0.02^2), \quad b = 0; \qquad
        \gamma_\text{BN} \sim \mathcal{N}(1, 0.02^2), \quad \beta_\text{BN} = 0

    Other modules are left untouched. Draws from PyTorch's global RNG, so seed first
    (:func:`aigc_course.runtime.seed_everything`) for reproducible weights.

    Parameters
    ----------
    module : torch.nn.Module

    References
    ----------
    Radford et al. (2016), DCGAN, Sec. 4 ("all weights were initialized from a zero-centered
    Normal distribution with standard deviation 0.02").
    """
    if isinstance(
        module, (nn.Conv1d, nn.Conv2d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.Linear)
    ):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and module.weight is not None:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGANGenerator(SamplingMixin, nn.Module):
    r"""DCGAN-style generator for 28x28 images: z to 7x7, then two stride-2 up-convolutions.

    .. math::

        z \in \mathbb{R}^{d}
        \xrightarrow{\text{ConvT } 7\times7}  (2C, 7, 7)
        \xrightarrow{\text{ConvT } 4/2/1}     (C, 14, 14)
        \xrightarrow{\text{ConvT } 4/2/1}     (c, 28, 28) \xrightarrow{\tanh} [-1, 1]

    BatchNorm + ReLU after every layer but the last; weights initialised with
    :func:`dcgan_init_`. (The source article's "generator" of three same-padding 3x3
    convolutions on a noise vector cannot produce a 28x28 image; the transposed convolutions
    here are what does the upsampling.)

    Parameters
    ----------
    cfg : DCGANConfig

    Shapes
    ------
    z : (B, latent_dim).
    returns : (B, image_channels, 28, 28), values in [-1, 1].

    References
    ----------
    Radford et al. (2016), DCGAN, Sec. 3 and Fig. 1.
    """

    def __init__(self, cfg: DCGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.output_shape = cfg.image_shape
        c = cfg.base_channels
        self.net = nn.Sequential(
            nn.ConvTranspose2d(
                cfg.latent_dim, 2 * c, kernel_size=7, stride=1, padding=0, bias=False
            ),
            nn.BatchNorm2d(2 * c),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * c, c, kernel_size=4, stride=2, padding=1, bias=False),  # 7 -> 14
            nn.BatchNorm2d(c),
            nn.ReLU(),
            nn.ConvTranspose2d(
                c, cfg.image_channels, kernel_size=4, stride=2, padding=1
            ),  # 14 -> 28
            nn.Tanh(),
        )
        self.apply(dcgan_init_)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_z(z, self.latent_dim)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    r"""DCGAN-style discriminator for 28x28 images: two stride-2 convolutions, then one logit.

    .. math::

        (c, 28, 28)
        \xrightarrow{\text{Conv } 4/2/1} (C, 14, 14)
        \xrightarrow{\text{Conv } 4/2/1} (2C, 7, 7)
        \xrightarrow{\text{Conv } 7\times7} \ell \in \mathbb{R}

    LeakyReLU(0.2) after both strided convolutions, BatchNorm on the middle one only (not on
    the input layer, as in Radford et al.), no sigmoid; weights initialised with
    :func:`dcgan_init_`.

    Parameters
    ----------
    cfg : DCGANConfig

    Shapes
    ------
    x : (B, image_channels, 28, 28), values in [-1, 1].
    returns : (B,), logits.

    References
    ----------
    Radford et al. (2016), DCGAN, Sec. 3.
    """

    def __init__(self, cfg: DCGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_shape = cfg.image_shape
        c = cfg.base_channels
        self.net = nn.Sequential(
            nn.Conv2d(cfg.image_channels, c, kernel_size=4, stride=2, padding=1),  # 28 -> 14
            nn.LeakyReLU(cfg.negative_slope),
            nn.Conv2d(c, 2 * c, kernel_size=4, stride=2, padding=1, bias=False),  # 14 -> 7
            nn.BatchNorm2d(2 * c),
            nn.LeakyReLU(cfg.negative_slope),
            nn.Conv2d(2 * c, 1, kernel_size=7, stride=1, padding=0),  # 7 -> 1
        )
        self.apply(dcgan_init_)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check.check_image_batch(x, "images", self.input_shape, floating=True)
        return self.net(x).view(-1)


# --------------------------------------------------------------------------------------------
# Small MLP GAN for low-dimensional toy data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToyGANConfig:
    r"""Sizes of the small MLP GAN for low-dimensional toy data (e.g. the 8-Gaussian ring).

    Attributes
    ----------
    latent_dim : int
        Length of the noise vector z.
    hidden : int
        Width of every hidden layer.
    data_dim : int
        Dimension of a data point (2 for the ring, 1 for the two-Gaussian mixture).
    n_layers : int
        Number of hidden layers in each network.
    negative_slope : float
        LeakyReLU slope in the discriminator.
    """

    latent_dim: int = 2
    hidden: int = 128
    data_dim: int = 2
    n_layers: int = 2
    negative_slope: float = 0.2

    def __post_init__(self) -> None:
        for name in ("latent_dim", "hidden", "data_dim", "n_layers"):
            _check.check_count(getattr(self, name), f"ToyGANConfig.{name}")
        _check_slope("ToyGANConfig", self.negative_slope)


class ToyGenerator(SamplingMixin, nn.Module):
    r"""MLP generator for toy data: noise to an unbounded point in :math:`\mathbb{R}^{d}`.

    .. math::

        G(z) = W_L\, \operatorname{ReLU}(\cdots \operatorname{ReLU}(W_1 z + b_1) \cdots) + b_L

    No output squashing: toy data such as the ring of radius 2 lies outside [-1, 1].

    Parameters
    ----------
    cfg : ToyGANConfig

    Shapes
    ------
    z : (B, latent_dim).
    returns : (B, data_dim), any real values.

    References
    ----------
    Goodfellow et al. (2014), "Generative Adversarial Nets".
    """

    data_range = (-math.inf, math.inf)  # unbounded 2-D points

    def __init__(self, cfg: ToyGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.output_shape = (cfg.data_dim,)
        layers: list[nn.Module] = []
        width = cfg.latent_dim
        for _ in range(cfg.n_layers):
            layers += [nn.Linear(width, cfg.hidden), nn.ReLU()]
            width = cfg.hidden
        layers.append(nn.Linear(width, cfg.data_dim))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_z(z, self.latent_dim)
        return self.net(z)


class ToyDiscriminator(nn.Module):
    r"""MLP discriminator for toy data: a point in :math:`\mathbb{R}^{d}` to one logit.

    .. math::

        \ell(x) = w_L^\top \phi(\cdots \phi(W_1 x + b_1) \cdots) + b_L,
        \qquad \phi = \operatorname{LeakyReLU}_{0.2}

    Parameters
    ----------
    cfg : ToyGANConfig

    Shapes
    ------
    x : (B, data_dim).
    returns : (B,), logits.

    References
    ----------
    Goodfellow et al. (2014), "Generative Adversarial Nets".
    """

    def __init__(self, cfg: ToyGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.input_shape = (cfg.data_dim,)
        layers: list[nn.Module] = []
        width = cfg.data_dim
        for _ in range(cfg.n_layers):
            layers += [nn.Linear(width, cfg.hidden), nn.LeakyReLU(cfg.negative_slope)]
            width = cfg.hidden
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check.check_image_batch(x, "points x", self.input_shape, floating=True)
        return self.net(x).view(-1)
