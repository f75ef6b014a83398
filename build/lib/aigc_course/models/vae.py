r"""Variational autoencoders for 28x28 images: fully connected (784-400-d) and convolutional.

An encoder maps images :math:`x \in [0, 1]^{1 \times 28 \times 28}` to the mean and
log-variance of :math:`q_\phi(z \mid x) = \mathcal N(\mu, \operatorname{diag}\sigma^2)`; a decoder
maps a code :math:`z \in \mathbb R^d` to Bernoulli **logits** of :math:`p_\theta(x \mid z)` (no
sigmoid: :func:`aigc_course.losses.vae.bernoulli_nll` works on logits). Any latent size works,
including :math:`d = 2` for maps of the latent space. The losses live in
:mod:`aigc_course.losses.vae`, the training loop in :mod:`aigc_course.train.vae`.

References
----------
Kingma & Welling (2014), "Auto-Encoding Variational Bayes", ICLR (the 784-400-d MLP follows
the classic PyTorch example, github.com/pytorch/examples/tree/main/vae).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from aigc_course.losses.vae import reparameterize

__all__ = ["ConvVAE", "MLPVAE", "VAEConfig", "VAEOutput"]


@dataclass(frozen=True)
class VAEConfig:
    r"""Sizes of a VAE.

    Attributes
    ----------
    latent_dim : int
        d, the size of the code :math:`z` (2 for plots of the latent space, 20 in the classic example).
    hidden : int
        Width of the fully connected hidden layer (400 in the classic example).
    channels : int
        Feature maps of the first convolution of :class:`ConvVAE` (the second has twice as many).
    image_size : int
        Side of the square, single-channel images; 28 for MNIST. :class:`ConvVAE` needs a multiple of 4.
    """

    latent_dim: int = 20
    hidden: int = 400
    channels: int = 32
    image_size: int = 28

    def __post_init__(self) -> None:
        for name in ("latent_dim", "hidden", "channels", "image_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"VAEConfig.{name} must be a positive int, got {value!r}")


class VAEOutput(NamedTuple):
    r"""What a VAE's ``forward`` returns.

    ``logits`` (B, 1, H, W) decode ``z`` (B, d), a reparameterised sample of
    :math:`q(z \mid x) = \mathcal N(\mu, \operatorname{diag} e^{\text{logvar}})`, with ``mu`` and ``logvar`` (B, d).
    """

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor


class _VAE(nn.Module):
    r"""What every VAE here shares: input checks, ``forward`` and ``sample``."""

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        if not isinstance(cfg, VAEConfig):
            raise TypeError(f"cfg must be a VAEConfig, got {type(cfg).__name__}")
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.image_shape = (1, cfg.image_size, cfg.image_size)

    def _check_x(self, x: torch.Tensor) -> None:
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} expects a torch.Tensor of images, got {type(x).__name__}")
        if tuple(x.shape[1:]) != self.image_shape or x.ndim != 4:
            hint = (
                "add the channel axis with x.unsqueeze(1)"
                if tuple(x.shape[1:]) == self.image_shape[1:]
                else ("build the model with VAEConfig(image_size=...) matching the images")
            )
            raise ValueError(
                f"{name} expects images of shape (B, {', '.join(map(str, self.image_shape))}), "
                f"got {tuple(x.shape)}: {hint}"
            )
        if not x.is_floating_point():
            raise TypeError(
                f"{name} expects float images in [0, 1], got dtype {x.dtype}: use aigc_course.data.to_unit"
            )

    def _check_z(self, z: torch.Tensor) -> None:
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(
                f"expected codes z of shape (B, {self.latent_dim}), got {shape}: "
                f"sample torch.randn(B, {self.latent_dim}) or encode images first"
            )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(mu, logvar)`` of :math:`q(z \mid x)`, each (B, d), for images (B, 1, H, W) in [0, 1]."""
        self._check_x(x)
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        r"""Bernoulli logits (B, 1, H, W) of :math:`p(x \mid z)` for codes ``z`` (B, d)."""
        self._check_z(z)
        return self.decoder(z).view(-1, *self.image_shape)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> VAEOutput:
        r"""Encode, draw :math:`z = \mu + \sigma\varepsilon` (:func:`~aigc_course.losses.vae.reparameterize`), decode."""
        mu, logvar = self.encode(x)
        z = reparameterize(mu, logvar, generator)
        return VAEOutput(self.decode(z), mu, logvar, z)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        r"""``n`` new images: pixel probabilities :math:`\sigma(\text{decode}(z))`, :math:`z \sim \mathcal N(0, I)`.

        Returns the Bernoulli means in [0, 1], shape (n, 1, H, W), as is usual for pictures
        (drawing binary pixels from them adds salt-and-pepper noise).
        """
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"n must be an int >= 0, got {n!r}")
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        return torch.sigmoid(self.decode(z))


class MLPVAE(_VAE):
    r"""Fully connected VAE: 784 -> hidden -> (mu, logvar) in :math:`\mathbb R^d` -> hidden -> 784 logits.

    .. math::

        h = \operatorname{ReLU}(W_1 x + b_1), \quad \mu = W_\mu h + b_\mu, \quad \log\sigma^2 = W_\sigma h + b_\sigma;
        \qquad \ell = W_4 \operatorname{ReLU}(W_3 z + b_3) + b_4

    Parameters
    ----------
    cfg : VAEConfig
        ``latent_dim``, ``hidden`` and ``image_size`` are used.
    """

    def __init__(self, cfg: VAEConfig = VAEConfig()) -> None:
        super().__init__(cfg)
        n_pixels = cfg.image_size**2
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(n_pixels, cfg.hidden), nn.ReLU())
        self.to_mu = nn.Linear(cfg.hidden, cfg.latent_dim)
        self.to_logvar = nn.Linear(cfg.hidden, cfg.latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(cfg.latent_dim, cfg.hidden), nn.ReLU(), nn.Linear(cfg.hidden, n_pixels)
        )


class ConvVAE(_VAE):
    r"""Convolutional VAE: two stride-2 convolutions down, two transposed convolutions up.

    Encoder: (1, 28, 28) -> conv 4x4/2 -> (c, 14, 14) -> conv 4x4/2 -> (2c, 7, 7) -> hidden ->
    (mu, logvar). Decoder: the mirror image, ending in logits (1, 28, 28). ReLU activations.

    Parameters
    ----------
    cfg : VAEConfig
        ``latent_dim``, ``hidden``, ``channels`` and ``image_size`` (a multiple of 4) are used.
    """

    def __init__(self, cfg: VAEConfig = VAEConfig()) -> None:
        super().__init__(cfg)
        if cfg.image_size % 4:
            raise ValueError(
                f"ConvVAE needs VAEConfig.image_size divisible by 4 (two stride-2 layers), got {cfg.image_size}"
            )
        c, s = cfg.channels, cfg.image_size // 4
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(c, 2 * c, 4, 2, 1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * c * s * s, cfg.hidden),
            nn.ReLU(),
        )
        self.to_mu = nn.Linear(cfg.hidden, cfg.latent_dim)
        self.to_logvar = nn.Linear(cfg.hidden, cfg.latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(cfg.latent_dim, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, 2 * c * s * s),
            nn.ReLU(),
            nn.Unflatten(1, (2 * c, s, s)),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, 2, 1),
        )
