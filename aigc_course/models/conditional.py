r"""Class-conditional generators for 28x28 images: a conditional GAN pair and a conditional VAE.

A class label :math:`y \in \{0, \dots, K-1\}` is given to every network as an extra input, so the
generator models :math:`p(x \mid y)` instead of :math:`p(x)` and a user can ask for "a 7" or "a
sneaker". Labels are ``int64`` tensors of shape (B,); every model checks them (range, shape,
dtype) and says how to fix a bad one. :func:`generate` draws ``n`` images of one class from
either model, as pixel intensities in [0, 1].

References
----------
Mirza & Osindero (2014), "Conditional Generative Adversarial Nets", arXiv:1411.1784.
Miyato & Koyama (2018), "cGANs with Projection Discriminator", ICLR.
Sohn, Lee & Yan (2015), "Learning Structured Output Representation using Deep Conditional
Generative Models" (the conditional VAE), NeurIPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aigc_course import _check
from aigc_course.models.base import Generator, SamplingMixin, to_unit_range
from aigc_course.models.gan import check_z, mlp
from aigc_course.models.vae import _VAE, _config
from aigc_course.runtime import eval_mode

__all__ = [
    "ConditionalDiscriminator",
    "ConditionalGANConfig",
    "ConditionalGenerator",
    "ConditionalVAE",
    "ConditionalVAEConfig",
    "generate",
]


def _forward_labels(y: object, n_classes: int, batch: int) -> torch.Tensor:
    r"""Labels check inside ``forward``: the value range only on the CPU, where it costs no sync."""
    on_cpu = isinstance(y, torch.Tensor) and y.device.type == "cpu"
    return _check.check_labels(y, "labels", n_classes, batch=batch, check_range=on_cpu)


# --------------------------------------------------------------------------------------------
# Conditional GAN
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionalGANConfig:
    r"""Sizes of the fully connected conditional GAN pair for 28x28 images.

    Attributes
    ----------
    latent_dim : int
        Length of the noise vector z.
    n_classes : int
        K, the number of classes (10 for MNIST and Fashion-MNIST), at least 2.
    hidden : tuple of int
        Generator hidden widths, from [z, onehot(y)] outwards; the discriminator uses them
        reversed, and its last hidden layer (width ``hidden[0]``) is the feature vector that the
        projection scores.
    image_shape : tuple of int
        (C, H, W) of the images, scaled to [-1, 1].
    negative_slope : float
        LeakyReLU slope, in [0, 1).
    """

    latent_dim: int = 64
    n_classes: int = 10
    hidden: tuple[int, ...] = (256, 512)
    image_shape: tuple[int, int, int] = (1, 28, 28)
    negative_slope: float = 0.2

    def __post_init__(self) -> None:
        _check.check_count(self.latent_dim, "ConditionalGANConfig.latent_dim")
        _check.check_count(self.n_classes, "ConditionalGANConfig.n_classes", minimum=2)
        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "image_shape", tuple(self.image_shape))
        if len(self.hidden) == 0:
            raise ValueError(
                "ConditionalGANConfig.hidden must list at least one hidden width, e.g. (256, 512)"
            )
        for width in self.hidden:
            _check.check_count(width, "ConditionalGANConfig.hidden[i]")
        if len(self.image_shape) != 3:
            raise ValueError(
                f"ConditionalGANConfig.image_shape must be (C, H, W), got {self.image_shape!r}"
            )
        for size in self.image_shape:
            _check.check_count(size, "ConditionalGANConfig.image_shape[i]")
        if not 0.0 <= self.negative_slope < 1.0:
            raise ValueError(
                f"ConditionalGANConfig.negative_slope must be in [0, 1), got {self.negative_slope!r}"
            )


class ConditionalGenerator(SamplingMixin, nn.Module):
    r"""Conditional generator: noise z and a class label y to an image in [-1, 1].

    The label enters as a one-hot vector concatenated to the noise (Mirza & Osindero, 2014):

    .. math::

        G(z, y) = \tanh\bigl(W_L\, \phi(\cdots \phi(W_1 [z, \operatorname{onehot}(y)] + b_1) \cdots) + b_L\bigr),
        \qquad \phi = \operatorname{LeakyReLU}_{0.2}

    with BatchNorm before :math:`\phi` in hidden layers 2, 3, ...; with the default config the
    widths are (64 + 10) -> 256 -> 512 -> 784.

    Parameters
    ----------
    cfg : ConditionalGANConfig

    Shapes
    ------
    z : (B, latent_dim); y : (B,) int64 in [0, K); B >= 2 in train mode (BatchNorm).
    returns : ``(B, *image_shape)``, values in [-1, 1].

    References
    ----------
    Mirza & Osindero (2014), "Conditional Generative Adversarial Nets", Sec. 3.2 and 4.1.
    """

    def __init__(self, cfg: ConditionalGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.n_classes = cfg.n_classes
        self.output_shape = cfg.image_shape
        widths = (cfg.latent_dim + cfg.n_classes, *cfg.hidden)
        layers = mlp(widths, cfg.negative_slope, batchnorm_from=1)
        layers += [nn.Linear(widths[-1], math.prod(cfg.image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_z(z, self.latent_dim)
        _forward_labels(y, self.n_classes, z.shape[0])
        h = torch.cat([z, F.one_hot(y, self.n_classes).to(z.dtype)], dim=1)
        return self.net(h).view(z.shape[0], *self.output_shape)


class ConditionalDiscriminator(nn.Module):
    r"""Projection discriminator: an image and a class label to one real/fake logit.

    Fully connected features :math:`\phi(x) \in \mathbb{R}^{F}` are scored by a class-independent
    linear term plus their inner product with a learned embedding :math:`e_y` of the class
    (Miyato & Koyama, 2018):

    .. math::

        \ell(x, y) = w^\top \phi(x) + b + e_y^\top \phi(x),

    where :math:`\phi` is the MLP 784 -> 512 -> 256 (default widths, LeakyReLU(0.2)). No sigmoid:
    the GAN losses take logits. The projection makes "is this a real *seven*?" a different
    question from "is this a real *two*?", so an image of the wrong class is "fake" and the
    generator must honour the label. (Concatenating the one-hot label to the discriminator's
    input also works in principle, but on MNIST it learned the condition far more slowly in our
    runs.)

    Parameters
    ----------
    cfg : ConditionalGANConfig

    Shapes
    ------
    x : ``(B, *image_shape)`` in [-1, 1]; y : (B,) int64 in [0, K).
    returns : (B,), logits.

    References
    ----------
    Miyato & Koyama (2018), "cGANs with Projection Discriminator", ICLR, Eq. (3).
    """

    def __init__(self, cfg: ConditionalGANConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.n_classes = cfg.n_classes
        self.input_shape = cfg.image_shape
        widths = (math.prod(cfg.image_shape), *reversed(cfg.hidden))
        layers = mlp(widths, cfg.negative_slope)
        self.features = nn.Sequential(*layers)
        self.linear = nn.Linear(widths[-1], 1)
        self.embed = nn.Embedding(cfg.n_classes, widths[-1])

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        _check.check_image_batch(
            x, "images", self.input_shape, hint="check the data", floating=True
        )
        _forward_labels(y, self.n_classes, x.shape[0])
        h = self.features(x.flatten(1))
        return self.linear(h).view(-1) + (self.embed(y) * h).sum(dim=1)


# --------------------------------------------------------------------------------------------
# Conditional VAE
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionalVAEConfig:
    r"""Sizes of the fully connected conditional VAE.

    Attributes
    ----------
    latent_dim : int
        d, the size of the code z.
    hidden : int
        Width of the hidden layer of the encoder and of the decoder.
    n_classes : int
        K, the number of classes, at least 2.
    image_size : int
        Side of the square, single-channel images (28 for MNIST).
    """

    latent_dim: int = 16
    hidden: int = 400
    n_classes: int = 10
    image_size: int = 28

    def __post_init__(self) -> None:
        for name in ("latent_dim", "hidden", "image_size"):
            _check.check_count(getattr(self, name), f"ConditionalVAEConfig.{name}")
        _check.check_count(self.n_classes, "ConditionalVAEConfig.n_classes", minimum=2)


class ConditionalVAE(_VAE):
    r"""Conditional VAE: both the encoder and the decoder see the one-hot class label.

    .. math::

        q_\phi(z \mid x, y) = \mathcal N\bigl(\mu, \operatorname{diag} e^{\text{logvar}}\bigr),\quad
        (\mu, \text{logvar}) = \text{heads}\bigl(\operatorname{ReLU}(W_1 [\operatorname{vec}(x), \operatorname{onehot}(y)] + b_1)\bigr);

        p_\theta(x \mid z, y) = \operatorname{Bernoulli}\bigl(\sigma(\ell)\bigr),\quad
        \ell = W_4 \operatorname{ReLU}(W_3 [z, \operatorname{onehot}(y)] + b_3) + b_4.

    Trained on the conditional ELBO :math:`\mathbb E_q[\log p(x \mid z, y)] - \mathrm{KL}(q(z \mid x, y)
    \,\|\, \mathcal N(0, I))` by :func:`aigc_course.train.vae.train_vae` with ``labels=``. Because the
    decoder is told the class, the code z is free to hold what the label does not: the style
    (slant, thickness) of a digit, the cut of a garment. Decoding one z with every label draws
    the same style as every class.

    Parameters
    ----------
    cfg : ConditionalVAEConfig

    Shapes
    ------
    x : (B, 1, H, W) float in [0, 1]; y : (B,) int64 in [0, K); z : (B, latent_dim).
    forward returns :class:`aigc_course.models.vae.VAEOutput` ``(logits (B, 1, H, W), mu, logvar, z)``,
    the last three (B, latent_dim).

    References
    ----------
    Sohn, Lee & Yan (2015), "Learning Structured Output Representation using Deep Conditional
    Generative Models", NeurIPS; Kingma et al. (2014), "Semi-supervised Learning with Deep
    Generative Models" (the M2 model's decoder p(x | y, z)).
    """

    def __init__(self, cfg: ConditionalVAEConfig = ConditionalVAEConfig()) -> None:
        _config(cfg, ConditionalVAEConfig)
        super().__init__(cfg)
        self.n_classes = cfg.n_classes
        n_pixels = cfg.image_size**2
        self.encoder = nn.Sequential(nn.Linear(n_pixels + cfg.n_classes, cfg.hidden), nn.ReLU())
        self.to_mu = nn.Linear(cfg.hidden, cfg.latent_dim)
        self.to_logvar = nn.Linear(cfg.hidden, cfg.latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(cfg.latent_dim + cfg.n_classes, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, n_pixels),
        )

    def _one_hot(self, y: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        _forward_labels(y, self.n_classes, like.shape[0])
        return F.one_hot(y, self.n_classes).to(like.dtype)

    def _encoder_input(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.flatten(1), self._one_hot(y, x)], dim=1)  # [vec(x), onehot(y)]

    def _decoder_input(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.cat([z, self._one_hot(y, z)], dim=1)  # [z, onehot(y)]


# --------------------------------------------------------------------------------------------
# "Generate n images of class k"
# --------------------------------------------------------------------------------------------


def _label_tensor(label: int | torch.Tensor, n: int, n_classes: int) -> torch.Tensor:
    if isinstance(label, torch.Tensor):
        return _check.check_labels(label, "label", n_classes, batch=n)
    if not _check.is_int(label):
        raise TypeError(
            f"label must be an int class index or an int64 tensor of shape (n,), got {type(label).__name__}"
        )
    if not 0 <= label < n_classes:
        raise ValueError(
            f"label must lie in [0, {n_classes - 1}] (the model has n_classes={n_classes}), got {label}"
        )
    return torch.full((n,), label, dtype=torch.long)


@torch.no_grad()
def generate(
    model: Generator,
    n: int,
    label: int | torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Draw ``n`` images of class ``label`` from a conditional GAN generator or a conditional VAE.

    .. math::

        z_i \sim \mathcal N(0, I_d), \qquad x_i = G(z_i, k) \ \text{(GAN)} \quad\text{or}\quad
        x_i = \sigma\bigl(\text{decode}(z_i, k)\bigr) \ \text{(VAE)}, \qquad i = 1..n

    The model runs in eval mode (BatchNorm uses its running statistics) and is put back in the
    mode it was in. The noise comes from ``generator`` only (on the CPU), so a seeded generator
    gives the same images every time.

    Parameters
    ----------
    model : Generator with n_classes
        A conditional model (:class:`ConditionalGenerator`, :class:`ConditionalVAE`, ...); its
        samples are mapped from its ``data_range`` onto [0, 1].
    n : int
        Number of images, >= 0.
    label : int or torch.Tensor
        The class k in [0, K) for all n images, or (n,) int64 labels, one per image.
    generator : torch.Generator, optional
        Source of the noise z.

    Returns
    -------
    torch.Tensor
        (n, 1, 28, 28) on the CPU, float in [0, 1]: the GAN's tanh output mapped by
        :math:`(x + 1)/2`, the VAE's Bernoulli means.

    References
    ----------
    Mirza & Osindero (2014); Sohn, Lee & Yan (2015).
    """
    if not isinstance(model, Generator) or getattr(model, "n_classes", None) is None:
        raise TypeError(
            "model must be a conditional generator (sample(n, labels=..., generator=...), "
            f"data_range, n_classes), got {type(model).__name__}: "
            "for the discriminator, pass the generator instead"
        )
    n = _check.check_count(n, "n", minimum=0)
    y = _label_tensor(label, n, model.n_classes)
    device = next(model.parameters()).device
    with eval_mode(model):
        images = model.sample(n, labels=y.to(device), generator=generator)
    return to_unit_range(images, model.data_range).cpu()
