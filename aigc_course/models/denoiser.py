r"""An MLP denoiser for vectors: 2-D toy points and the latent codes of an autoencoder.

The same role as :class:`~aigc_course.models.unet.UNet`, for data that is a flat vector: it maps
:math:`(x_t, t, y)` to a vector of the same length, the predicted noise (DDPM) or velocity
(flow matching). Time and the optional class label enter every hidden layer through one shared
embedding, each layer adding its own linear projection of it:

.. math::

    h_0 = x, \qquad h_{\ell} = \operatorname{SiLU}(W_\ell h_{\ell-1} + U_\ell\, e(t, y) + b_\ell),
    \qquad f_\theta(x, t, y) = W_{\text{out}} h_L + b_{\text{out}}

Trained in the latent space of a VAE and decoded, it is latent diffusion in miniature
(Rombach et al., 2022).

References
----------
Ho, Jain & Abbeel (2020), "Denoising Diffusion Probabilistic Models".
Rombach, Blattmann, Lorenz, Esser & Ommer (2022), "High-Resolution Image Synthesis with Latent
Diffusion Models", CVPR.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from aigc_course import _check
from aigc_course.models.unet import TimeEmbedding, check_denoiser_inputs

__all__ = ["MLPDenoiser", "MLPDenoiserConfig"]


@dataclass(frozen=True)
class MLPDenoiserConfig:
    r"""Sizes of :class:`MLPDenoiser`.

    Attributes
    ----------
    dim : int
        Length of the data vector (2 for toy points, the latent size for latent diffusion).
    hidden : int
        Width of every hidden layer.
    depth : int
        Number of hidden layers, >= 1.
    time_dim : int
        Width of the time embedding (even).
    n_classes : int, optional
        K for a class-conditional model; the null label is K. None: unconditional.
    """

    dim: int = 2
    hidden: int = 128
    depth: int = 3
    time_dim: int = 64
    n_classes: int | None = None

    def __post_init__(self) -> None:
        for name in ("dim", "hidden", "depth", "time_dim"):
            _check.check_count(getattr(self, name), f"MLPDenoiserConfig.{name}")
        if self.time_dim % 2:
            raise ValueError(f"MLPDenoiserConfig.time_dim must be even, got {self.time_dim}")
        if self.n_classes is not None:
            _check.check_count(self.n_classes, "MLPDenoiserConfig.n_classes")


class MLPDenoiser(nn.Module):
    r"""Time-conditioned MLP: (x_t, t, y) -> predicted noise or velocity, for (B, dim) vectors.

    Parameters
    ----------
    cfg : MLPDenoiserConfig

    Attributes
    ----------
    n_classes, null_label : int or None
        K and the null label K (None for an unconditional model).

    Shapes
    ------
    ``forward(x, t, labels=None)``: x (B, dim); t (B,) float in [0, 1] or a scalar; labels (B,)
    int64 in [0, K] or None. Output (B, dim), unbounded.

    References
    ----------
    Ho et al. (2020); Rombach et al. (2022).
    """

    def __init__(self, cfg: MLPDenoiserConfig | None = None) -> None:
        super().__init__()
        cfg = MLPDenoiserConfig() if cfg is None else cfg
        self.cfg = cfg
        self.n_classes = cfg.n_classes
        self.null_label = cfg.n_classes
        self.time_embedding = TimeEmbedding(cfg.time_dim, cfg.n_classes)
        widths = [cfg.dim] + [cfg.hidden] * cfg.depth
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.emb_proj = nn.ModuleList(nn.Linear(cfg.time_dim, cfg.hidden) for _ in widths[1:])
        self.out = nn.Linear(cfg.hidden, cfg.dim)

    def forward(
        self, x: torch.Tensor, t: torch.Tensor | float, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        t = check_denoiser_inputs(self, x, t, labels, (self.cfg.dim,))
        emb = self.time_embedding(t.to(x.dtype), labels)
        h = x
        for layer, proj in zip(self.layers, self.emb_proj, strict=True):
            h = F.silu(layer(h) + proj(emb))
        return self.out(h)
