r"""Normalizing flows: invertible layers with exact log-determinants, stacked over a Gaussian base.

A normalizing flow is an invertible map :math:`z = f(x)` onto a standard-normal base. By the
change of variables its density is exact,

.. math:: \log p(x) = \log \mathcal N\bigl(f(x); 0, I\bigr) + \log\bigl|\det J_f(x)\bigr|,

and for :math:`f = f_K \circ \dots \circ f_1` the log-determinant is the sum of the layers'. Every
layer here maps ``forward(x) -> (y, log_det)`` with ``log_det`` of shape (B,) (nats, summed over
the example's dimensions) and has an exact ``inverse(y) -> x``; sampling draws
:math:`z \sim \mathcal N(0, I)` and runs the inverses in one pass.

Not to be confused with *flow matching* (:func:`aigc_course.losses.flow_matching_loss`), a
diffusion-style model trained to regress a velocity field: the names here all say
"normalizing flow" or "coupling".

References
----------
Dinh, Sohl-Dickstein & Bengio (2017), "Density estimation using Real NVP", ICLR.
Kingma & Dhariwal (2018), "Glow: Generative flow with invertible 1x1 convolutions", NeurIPS.
Papamakarios et al. (2021), "Normalizing flows for probabilistic modeling and inference", JMLR.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from aigc_course import _check
from aigc_course.models.spline_coupling import SplineCoupling

__all__ = [
    "ActNorm",
    "AffineCoupling",
    "InvertibleConv1x1",
    "LogitTransform",
    "NormalizingFlow",
    "NormalizingFlowConfig",
    "Squeeze",
    "alternating_mask",
    "channel_mask",
    "checkerboard_mask",
    "standard_normal_log_prob",
]

_LOG_2PI = math.log(2.0 * math.pi)


def standard_normal_log_prob(z: torch.Tensor) -> torch.Tensor:
    r"""Log-density of :math:`\mathcal N(0, I)` per example, in nats.

    .. math:: \log \mathcal N(z; 0, I) = -\tfrac12 \sum_d \bigl(z_d^2 + \log 2\pi\bigr)

    Parameters
    ----------
    z : torch.Tensor
        (B, ...), any number of dimensions per example.

    Returns
    -------
    torch.Tensor
        (B,), summed over all but the first axis.
    """
    return -0.5 * (z.pow(2) + _LOG_2PI).flatten(1).sum(1)


# ---------------------------------------------------------------------------- masks


def alternating_mask(dim: int, parity: int = 0) -> torch.Tensor:
    r"""The vector checkerboard: :math:`m_i = 1` for :math:`i + \text{parity}` even, shape (dim,).

    The coupling keeps the coordinates with :math:`m_i = 1` and transforms the others; layers
    with parity 0 and 1 alternate so that every coordinate gets transformed.
    """
    dim = _check.check_count(dim, "dim", minimum=2)
    parity = _check.check_choice(parity, "parity", (0, 1))
    return ((torch.arange(dim) + parity) % 2 == 0).float()


def checkerboard_mask(height: int, width: int, parity: int = 0) -> torch.Tensor:
    r"""RealNVP's spatial checkerboard, shape (1, H, W): :math:`m_{ij} = 1` for :math:`i + j + \text{parity}` even.

    Broadcasts over channels. Dinh et al. (2017), sec. 3.4, fig. 3 (left).
    """
    height = _check.check_count(height, "height")
    width = _check.check_count(width, "width")
    parity = _check.check_choice(parity, "parity", (0, 1))
    ij = torch.arange(height)[:, None] + torch.arange(width)[None, :]
    return ((ij + parity) % 2 == 0).float()[None]


def channel_mask(channels: int, parity: int = 0) -> torch.Tensor:
    r"""RealNVP's channel-wise mask, shape (C, 1, 1): the first half of the channels (parity 0) or the second.

    Needs an even channel count so that the two halves match (Dinh et al. 2017, sec. 3.4, fig. 3
    right); apply :class:`Squeeze` first to turn C channels into 4C.
    """
    channels = _check.check_count(channels, "channels", minimum=2)
    if channels % 2:
        raise ValueError(
            f"channels must be even for a channel mask (two equal halves), got {channels}: "
            "squeeze the images first (Squeeze makes 4C channels) or use a checkerboard mask"
        )
    parity = _check.check_choice(parity, "parity", (0, 1))
    first = (torch.arange(channels) < channels // 2).float()
    return (first if parity == 0 else 1.0 - first)[:, None, None]


# ---------------------------------------------------------------------------- layers


class AffineCoupling(nn.Module):
    r"""RealNVP's affine coupling layer with a fixed binary mask :math:`m`.

    .. math::

        y = m \odot x + (1 - m) \odot \bigl(x \odot e^{s(m \odot x)} + t(m \odot x)\bigr),
        \qquad \log|\det J| = \sum_d (1 - m_d)\, s_d(m \odot x)

    The Jacobian is triangular, so its log-determinant is the sum of the log-scales; the inverse
    is :math:`x = m \odot y + (1 - m) \odot (y - t) \odot e^{-s}` with :math:`s, t` computed
    from :math:`m \odot y = m \odot x`. The log-scale is bounded, :math:`s = a \tanh(\tilde s)`
    with a learned per-dimension :math:`a` (initialised to 1), and the network's last layer
    starts at zero, so a new layer is the identity.

    Parameters
    ----------
    mask : torch.Tensor
        (D,) for vectors (:func:`alternating_mask`), or (C, H, W) / broadcastable (1, H, W),
        (C, 1, 1) for images (:func:`checkerboard_mask`, :func:`channel_mask`); values 0 or 1,
        with at least one of each.
    hidden : int
        Width of the conditioner: an MLP with two hidden layers (vectors), or a CNN with
        3x3, 1x1 and 3x3 kernels as in Glow (images).
    channels : int, optional
        C, for image masks (required there).

    References
    ----------
    Dinh, Sohl-Dickstein & Bengio (2017), eqs. (4)-(9).
    """

    def __init__(self, mask: torch.Tensor, hidden: int, *, channels: int | None = None) -> None:
        super().__init__()
        _check.check_tensor(mask, "mask", ndim=(1, 3), floating=True)
        hidden = _check.check_count(hidden, "hidden")
        if not bool(((mask == 0) | (mask == 1)).all()) or float(mask.sum()) <= 0:
            raise ValueError("mask must hold only 0 and 1, with at least one 1 (kept) entry")
        if mask.ndim == 1:
            dim = mask.shape[0]
            if float(mask.sum()) == dim:
                raise ValueError("mask keeps every coordinate: it must have at least one 0")
            self.net = nn.Sequential(
                nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                nn.Linear(hidden, 2 * dim),
            )  # fmt: skip
            scale_shape: tuple[int, ...] = (dim,)
        else:
            channels = _check.check_count(channels, "channels")
            if mask.shape[0] not in (1, channels):
                raise ValueError(
                    f"mask has {mask.shape[0]} channels but channels={channels}: "
                    "build the mask for the same channel count"
                )
            self.net = nn.Sequential(
                nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
                nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                nn.Conv2d(hidden, 2 * channels, 3, padding=1),
            )  # fmt: skip
            scale_shape = (channels, 1, 1)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.ones(scale_shape))
        self.register_buffer("mask", mask.clone())

    def _s_t(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(kept).chunk(2, dim=1)
        inv = 1.0 - self.mask
        return self.scale * torch.tanh(s) * inv, t * inv

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(y, log_det)``: y like x, log_det (B,) in nats."""
        s, t = self._s_t(x * self.mask)
        y = x * torch.exp(s) + t  # s = t = 0 on the kept entries: y = x there
        return y, s.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        r"""The exact inverse of :meth:`forward`."""
        s, t = self._s_t(y * self.mask)
        return (y - t) * torch.exp(-s)


class ActNorm(nn.Module):
    r"""Glow's activation normalisation: a per-channel affine map with data-dependent initialisation.

    .. math:: y = (x + b) \odot e^{\ell}, \qquad \log|\det J| = S \sum_c \ell_c

    with :math:`S` the number of spatial positions (1 for vectors). On the first training
    batch :math:`b = -\text{mean}`, :math:`\ell = -\log \text{std}` per channel, so that batch
    leaves with zero mean and unit variance; afterwards both are ordinary parameters. The
    ``initialized`` buffer travels in the state dict, so a resumed run does not re-initialise.

    Parameters
    ----------
    channels : int
        C (features for (B, C) vectors, channels for (B, C, H, W) images).

    References
    ----------
    Kingma & Dhariwal (2018), sec. 3.1, table 1.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        channels = _check.check_count(channels, "channels")
        self.bias = nn.Parameter(torch.zeros(channels))
        self.log_scale = nn.Parameter(torch.zeros(channels))
        self.register_buffer("initialized", torch.tensor(False))
        self._checked = False  # the buffer is read once (one host sync), not every step
        self.register_load_state_dict_post_hook(ActNorm._reset_checked)

    @staticmethod
    def _reset_checked(module: nn.Module, _keys: object) -> None:
        module._checked = False

    def _view(self, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return p.view(1, -1, *([1] * (x.ndim - 2)))

    @torch.no_grad()
    def _initialize(self, x: torch.Tensor) -> None:
        dims = [0, *range(2, x.ndim)]
        self.bias.copy_(-x.mean(dim=dims))
        self.log_scale.copy_(-torch.log(x.std(dim=dims, correction=0) + 1e-6))
        self.initialized.fill_(True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(y, log_det)``; initialises from ``x`` on the first call in training mode."""
        if self.training and not self._checked and x.shape[0]:
            if not bool(self.initialized):
                self._initialize(x)
            self._checked = True
        y = (x + self._view(self.bias, x)) * torch.exp(self._view(self.log_scale, x))
        spatial = math.prod(x.shape[2:])
        log_det = spatial * self.log_scale.sum()
        return y, log_det.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        r"""The exact inverse of :meth:`forward`."""
        return y * torch.exp(-self._view(self.log_scale, y)) - self._view(self.bias, y)


class InvertibleConv1x1(nn.Module):
    r"""Glow's invertible 1x1 convolution: a learned C x C channel mixing :math:`W`.

    .. math:: y_{:, i, j} = W x_{:, i, j}, \qquad \log|\det J| = H W \log|\det W|

    Initialised to a random rotation (drawn from PyTorch's global generator, like every other
    initialisation), so it starts volume-preserving. Costs one C x C determinant and, for the
    inverse, one C x C inverse per call: cheap at the channel counts used here.

    References
    ----------
    Kingma & Dhariwal (2018), sec. 3.2.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        channels = _check.check_count(channels, "channels")
        q, _ = torch.linalg.qr(torch.randn(channels, channels))
        self.weight = nn.Parameter(q)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(y, log_det)`` for x of shape (B, C, H, W)."""
        y = torch.einsum("dc,bchw->bdhw", self.weight, x)
        log_det = x.shape[2] * x.shape[3] * torch.linalg.slogdet(self.weight)[1]
        return y, log_det.expand(x.shape[0])

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        r"""The exact inverse of :meth:`forward` (up to the float error of :math:`W^{-1}`)."""
        return torch.einsum("dc,bchw->bdhw", torch.linalg.inv(self.weight), y)


class Squeeze(nn.Module):
    r"""RealNVP's squeeze: (B, C, H, W) -> (B, 4C, H/2, W/2), each 2x2 patch into 4 channels.

    A permutation of the entries, so :math:`\log|\det J| = 0`. It lets channel masks reach
    pixels that a checkerboard mask pairs spatially; H and W must be even.

    References
    ----------
    Dinh, Sohl-Dickstein & Bengio (2017), sec. 3.6, fig. 3.
    """

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(y, zeros(B))``."""
        b, c, h, w = x.shape
        if h % 2 or w % 2:
            raise ValueError(
                f"x must have an even height and width to squeeze, got shape {tuple(x.shape)}: "
                "pad or crop the images, or use fewer scales"
            )
        y = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
        return y.reshape(b, 4 * c, h // 2, w // 2), x.new_zeros(b)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        r"""The exact inverse of :meth:`forward`."""
        b, c4, h, w = y.shape
        x = y.view(b, c4 // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
        return x.reshape(b, c4 // 4, 2 * h, 2 * w)


class LogitTransform(nn.Module):
    r"""RealNVP's pre-processing of images in [0, 1]: a fixed map onto the real line.

    .. math::

        y = \operatorname{logit}\bigl(\alpha + (1 - 2\alpha) x\bigr), \qquad
        \log|\det J| = \sum_d \Bigl[\log(1 - 2\alpha) - \log p_d - \log(1 - p_d)\Bigr],
        \; p_d = \alpha + (1 - 2\alpha) x_d

    :math:`\alpha > 0` keeps the pixels 0 and 1 away from :math:`\pm\infty`. Its log-determinant
    belongs to the model's density on [0, 1], so likelihoods are reported on that scale.

    Parameters
    ----------
    alpha : float
        In (0, 0.5); RealNVP uses 0.05 (0.05 CIFAR-10, 1e-6 elsewhere).

    References
    ----------
    Dinh, Sohl-Dickstein & Bengio (2017), sec. 4.1.
    """

    def __init__(self, alpha: float = 0.05) -> None:
        super().__init__()
        self.alpha = _check.check_real(
            alpha, "alpha", low=0.0, high=0.5, low_open=True, high_open=True
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(y, log_det)`` for x in [0, 1]."""
        p = self.alpha + (1.0 - 2.0 * self.alpha) * x
        y = torch.log(p) - torch.log1p(-p)
        log_det = math.log(1.0 - 2.0 * self.alpha) - torch.log(p) - torch.log1p(-p)
        return y, log_det.flatten(1).sum(1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        r"""The exact inverse of :meth:`forward`, in [alpha', 1 - alpha'] subset of [0, 1]."""
        return (torch.sigmoid(y) - self.alpha) / (1.0 - 2.0 * self.alpha)


# ---------------------------------------------------------------------------- the model


@dataclass(frozen=True, kw_only=True)
class NormalizingFlowConfig:
    r"""Architecture of a :class:`NormalizingFlow` (frozen; pass it whole).

    Attributes
    ----------
    data_shape : tuple of int
        One example's shape: ``(D,)`` with D >= 2 for vectors (the 2-D toys), or
        ``(C, H, W)`` for images.
    n_couplings : int
        Coupling layers per scale (masks alternate parity).
    hidden : int
        Width of each coupling's conditioner.
    n_scales : int
        Images only: scales, each but the last ending in a :class:`Squeeze` followed by
        ``n_couplings`` channel-mask couplings; H and W must be divisible by
        ``2 ** (n_scales - 1)``. Must be 1 for vectors.
    actnorm : bool
        An :class:`ActNorm` before every coupling.
    invertible_conv : bool
        Images only: an :class:`InvertibleConv1x1` before every coupling (Glow) when C > 1.
    logit_alpha : float or None
        Images in [0, 1]: the :class:`LogitTransform`'s alpha (first layer); None for data
        already on the real line.
    coupling : {"affine", "spline"}
        Vectors only: :class:`AffineCoupling` (RealNVP) or
        :class:`~aigc_course.models.spline_coupling.SplineCoupling` (rational-quadratic
        splines, Durkan et al. 2019). Images always use affine couplings.
    spline_bins : int
        K, bins of each spline (``coupling="spline"``).
    spline_bound : float
        B: each spline acts on [-B, B], the identity outside.
    """

    data_shape: tuple[int, ...] = (2,)
    n_couplings: int = 6
    hidden: int = 64
    n_scales: int = 1
    actnorm: bool = True
    invertible_conv: bool = False
    logit_alpha: float | None = None
    coupling: str = "affine"
    spline_bins: int = 8
    spline_bound: float = 3.0

    def __post_init__(self) -> None:
        owner = "NormalizingFlowConfig"
        shape = self.data_shape
        if not isinstance(shape, tuple) or len(shape) not in (1, 3):
            raise ValueError(
                f"{owner}.data_shape must be a tuple (D,) for vectors or (C, H, W) for images, "
                f"got {shape!r}"
            )
        for i, size in enumerate(shape):
            _check.check_count(size, f"{owner}.data_shape[{i}]")
        _check.check_count(self.n_couplings, f"{owner}.n_couplings")
        _check.check_count(self.hidden, f"{owner}.hidden")
        _check.check_count(self.n_scales, f"{owner}.n_scales")
        _check.check_bool(self.actnorm, f"{owner}.actnorm")
        _check.check_bool(self.invertible_conv, f"{owner}.invertible_conv")
        _check.check_choice(self.coupling, f"{owner}.coupling", ("affine", "spline"))
        _check.check_count(self.spline_bins, f"{owner}.spline_bins", minimum=2)
        _check.check_real(self.spline_bound, f"{owner}.spline_bound", low=0.0, low_open=True)
        if self.logit_alpha is not None:
            _check.check_real(
                self.logit_alpha, f"{owner}.logit_alpha", low=0.0, high=0.5,
                low_open=True, high_open=True,
            )  # fmt: skip
        if len(shape) == 1:
            if shape[0] < 2:
                raise ValueError(
                    f"{owner}.data_shape must have D >= 2 for a coupling flow (one part "
                    f"conditions the other), got {shape!r}"
                )
            if self.n_scales != 1 or self.invertible_conv:
                raise ValueError(
                    f"{owner}.n_scales must be 1 and invertible_conv False for vector data "
                    f"{shape!r}: squeeze and 1x1 convolutions need images (C, H, W)"
                )
            return
        if self.coupling != "affine":
            raise ValueError(
                f"{owner}.coupling={self.coupling!r} is for vector data; image flows use "
                "affine couplings: set coupling='affine'"
            )
        factor = 2 ** (self.n_scales - 1)
        if shape[1] % factor or shape[2] % factor:
            raise ValueError(
                f"{owner}.data_shape {shape!r} cannot be squeezed {self.n_scales - 1} time(s) "
                f"(n_scales={self.n_scales}): H and W must be divisible by {factor}; "
                "lower n_scales or pad the images"
            )


class NormalizingFlow(nn.Module):
    r"""A stack of invertible layers over a standard-normal base: exact log-likelihood, one-pass sampling.

    .. math::

        \log p(x) = \log \mathcal N\bigl(f(x); 0, I\bigr) + \sum_k \log\bigl|\det J_{f_k}\bigr|,
        \qquad x = f^{-1}(z),\; z \sim \mathcal N(0, I)

    Vectors (``data_shape=(D,)``): ``n_couplings`` x [ActNorm, an affine or spline coupling
    with an alternating mask]. Images (``(C, H, W)``): an optional :class:`LogitTransform`, then per
    scale ``n_couplings`` checkerboard couplings and, except after the last scale, a
    :class:`Squeeze` and ``n_couplings`` channel-mask couplings (RealNVP's multi-scale design,
    without factoring out half the variables). The base lives on the last layer's shape.

    It is a :class:`~aigc_course.models.base.Generator`: ``sample(n, generator=...)``, with
    ``data_range`` (0, 1) for images through a logit transform and :math:`(-\infty, \infty)`
    otherwise.

    Parameters
    ----------
    config : NormalizingFlowConfig

    References
    ----------
    Dinh, Sohl-Dickstein & Bengio (2017); Kingma & Dhariwal (2018).
    """

    def __init__(self, config: NormalizingFlowConfig | None = None) -> None:
        super().__init__()
        config = NormalizingFlowConfig() if config is None else config
        if not isinstance(config, NormalizingFlowConfig):
            raise TypeError(f"config must be a NormalizingFlowConfig, got {type(config).__name__}")
        self.config = config
        self.layers = nn.ModuleList(
            _vector_layers(config) if len(config.data_shape) == 1 else _image_layers(config)
        )
        bounded = config.logit_alpha is not None
        self.data_range = (0.0, 1.0) if bounded else (-math.inf, math.inf)
        shape = config.data_shape
        for _ in range(config.n_scales - 1):
            shape = (shape[0] * 4, shape[1] // 2, shape[2] // 2)
        self.latent_shape: tuple[int, ...] = tuple(shape)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(z, log_det)``: z = f(x) of shape (B, \*latent_shape), log_det (B,) in nats."""
        _check.check_image_batch(
            x, "x", self.config.data_shape, hint="give examples of the config's data_shape"
        )
        log_det = x.new_zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        r"""``x = f^{-1}(z)`` for z of shape (B, \*latent_shape)."""
        _check.check_image_batch(z, "z", self.latent_shape)
        for layer in reversed(self.layers):
            z = layer.inverse(z)
        return z

    def log_prob(self, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        r"""Exact :math:`\log p(x)` in nats per example, shape (B,).

        Parameters
        ----------
        x : torch.Tensor
            (B, \*data_shape) floats; in [0, 1] for a model with a logit layer (dequantised
            images, :func:`aigc_course.data.dequantize_unit`).
        validate : bool
            Check dtype, NaN/Inf and the [0, 1] range first (reads every value: one host
            sync); the training step calls ``forward`` and skips it.
        """
        if validate:
            _check.check_tensor(x, "x", floating=True, nonempty=False)
            if self.config.logit_alpha is None:
                _check.check_finite(x, "x")
            else:
                _check.check_range(x, "x", 0.0, 1.0, atol=0.0)
        z, log_det = self(x)
        return standard_normal_log_prob(z) + log_det

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        labels: torch.Tensor | int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        r"""``n`` samples (n, \*data_shape) in one pass: :math:`z \sim \mathcal N(0, I)` from
        ``generator`` (CPU), moved to the model's device, then :meth:`inverse` in eval mode
        (clamped to ``data_range`` = [0, 1] for a model with a logit layer, whose inverse
        reaches slightly beyond)."""
        n = _check.check_sample_count(n)
        param = next(self.parameters())
        _check.sample_labels(self, n, labels, param.device)  # refuses labels: unconditional
        z = torch.randn(n, *self.latent_shape, generator=generator, dtype=param.dtype)
        z = z.to(param.device)
        was_training = self.training
        self.eval()
        try:
            x = self.inverse(z)
            # the logit layer's inverse reaches alpha / (1 - 2 alpha) beyond [0, 1]
            return x.clamp(*self.data_range) if self.config.logit_alpha else x
        finally:
            self.train(was_training)


def _vector_layers(cfg: NormalizingFlowConfig) -> list[nn.Module]:
    dim = cfg.data_shape[0]
    layers: list[nn.Module] = []
    for i in range(cfg.n_couplings):
        if cfg.actnorm:
            layers.append(ActNorm(dim))
        mask = alternating_mask(dim, i % 2)
        if cfg.coupling == "spline":
            layers.append(
                SplineCoupling(mask, cfg.hidden, bins=cfg.spline_bins, bound=cfg.spline_bound)
            )
        else:
            layers.append(AffineCoupling(mask, cfg.hidden))
    return layers


def _image_block(cfg: NormalizingFlowConfig, channels: int, masks: list) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for mask in masks:
        if cfg.actnorm:
            layers.append(ActNorm(channels))
        if cfg.invertible_conv and channels > 1:
            layers.append(InvertibleConv1x1(channels))
        layers.append(AffineCoupling(mask, cfg.hidden, channels=channels))
    return layers


def _image_layers(cfg: NormalizingFlowConfig) -> list[nn.Module]:
    c, h, w = cfg.data_shape
    layers: list[nn.Module] = []
    if cfg.logit_alpha is not None:
        layers.append(LogitTransform(cfg.logit_alpha))
    parities = [i % 2 for i in range(cfg.n_couplings)]
    for scale in range(cfg.n_scales):
        layers += _image_block(cfg, c, [checkerboard_mask(h, w, p) for p in parities])
        if scale == cfg.n_scales - 1:
            break
        layers.append(Squeeze())
        c, h, w = 4 * c, h // 2, w // 2
        layers += _image_block(cfg, c, [channel_mask(c, p) for p in parities])
    return layers
