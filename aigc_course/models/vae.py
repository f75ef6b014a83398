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

from aigc_course import _check
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
            _check.check_count(getattr(self, name), f"VAEConfig.{name}")


class VAEOutput(NamedTuple):
    r"""What a VAE's ``forward`` returns.

    ``logits`` (B, 1, H, W) decode ``z`` (B, d), a reparameterised sample of
    :math:`q(z \mid x) = \mathcal N(\mu, \operatorname{diag} e^{\text{logvar}})`, with ``mu`` and ``logvar`` (B, d).
    """

    logits: torch.Tensor
    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor


def _config(cfg: object, kind: type) -> None:
    if not isinstance(cfg, kind):
        raise TypeError(f"cfg must be a {kind.__name__}, got {type(cfg).__name__}")


class _VAE(nn.Module):
    r"""What every VAE here shares: input checks, ``encode``, ``decode``, ``forward``, ``sample``.

    A conditional VAE (:class:`aigc_course.models.conditional.ConditionalVAE`) only changes what
    the encoder and the decoder are fed (:meth:`_encoder_input`, :meth:`_decoder_input`).
    """

    n_classes: int | None = None  # set by conditional VAEs

    data_range = (0.0, 1.0)  # samples are Bernoulli means

    def __init__(self, cfg: VAEConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.latent_dim = cfg.latent_dim
        self.image_shape = (1, cfg.image_size, cfg.image_size)

    def _check_x(self, x: torch.Tensor) -> None:
        name = type(self).__name__
        _check.check_image_batch(
            x,
            "images",
            self.image_shape,
            hint=f"{name} was built for images {self.image_shape}: "
            "build the model with a config whose image_size matches the images",
        )
        if not x.is_floating_point():
            raise TypeError(
                f"{name} expects float images in [0, 1], got dtype {x.dtype}: "
                "use aigc_course.data.to_unit"
            )

    def _check_z(self, z: torch.Tensor) -> None:
        if isinstance(z, torch.Tensor) and not z.is_floating_point():
            raise TypeError(
                f"codes z must be a floating-point tensor, got {z.dtype}: "
                f"sample torch.randn(B, {self.latent_dim}) or encode images first"
            )
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(
                f"expected codes z of shape (B, {self.latent_dim}), got {shape}: "
                f"sample torch.randn(B, {self.latent_dim}) or encode images first"
            )

    def _encoder_input(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        self._no_labels(y)
        return x

    def _decoder_input(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        self._no_labels(y)
        return z

    def _no_labels(self, y: object) -> None:
        if y is not None:
            raise TypeError(
                f"{type(self).__name__} is not conditional, so it takes no labels "
                f"(got {type(y).__name__}): pass the noise source as generator=..."
            )

    def encode(
        self, x: torch.Tensor, y: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(mu, logvar)`` of :math:`q(z \mid x)`, each (B, d), for images (B, 1, H, W) in [0, 1]."""
        self._check_x(x)
        h = self.encoder(self._encoder_input(x, y))
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        r"""Bernoulli logits (B, 1, H, W) of :math:`p(x \mid z)` for codes ``z`` (B, d)."""
        self._check_z(z)
        return self.decoder(self._decoder_input(z, y)).view(-1, *self.image_shape)

    def forward(
        self,
        x: torch.Tensor,
        y: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        *,
        eps: torch.Tensor | None = None,
    ) -> VAEOutput:
        r"""Encode, draw :math:`z = \mu + \sigma\varepsilon`, decode.

        :math:`\varepsilon` is ``eps`` (B, d) if given, else drawn from ``generator``
        (:func:`~aigc_course.losses.vae.reparameterize`). ``y``: labels of a conditional VAE.
        """
        mu, logvar = self.encode(x, y)
        if eps is None:
            z = reparameterize(mu, logvar, generator)
        else:
            z = mu + torch.exp(0.5 * logvar) * eps.to(mu.device, mu.dtype)
        return VAEOutput(self.decode(z, y), mu, logvar, z)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        labels: torch.Tensor | int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        r"""``n`` new images: pixel probabilities :math:`\sigma(\text{decode}(z))`, :math:`z \sim \mathcal N(0, I)`.

        Returns the Bernoulli means in [0, 1], shape (n, 1, H, W), on the model's device (drawing
        binary pixels from them adds salt-and-pepper noise). ``z`` comes from ``generator``. A
        conditional VAE takes ``labels``: (n,) int64, one int for all, or ``None`` for the classes
        in turn, ``arange(n) % n_classes``.
        """
        _check.check_sample_count(n)
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        y = _check.sample_labels(self, n, labels, device)
        return torch.sigmoid(self.decode(z, y))


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
        _config(cfg, VAEConfig)
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
        _config(cfg, VAEConfig)
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
