r"""What every generative model in the package offers: the ``Generator`` protocol.

A generator draws ``n`` samples with ``sample(n, *, labels=None, generator=None)`` and declares
the range its samples live in, ``data_range = (low, high)``: (-1, 1) for the GANs' tanh images,
(0, 1) for Bernoulli means and binary images, ``(-inf, inf)`` for unbounded 2-D toy data. Code
that needs images in [0, 1] (metrics, plots, :func:`aigc_course.models.conditional.generate`) maps
:math:`x \mapsto (x - \text{low}) / (\text{high} - \text{low})` from the declared range, so it
needs no ``isinstance`` branch per family, and a new family only declares its range.

Families and where they live: GAN generators (:mod:`.gan`, :mod:`.conditional`), VAEs
(:mod:`.vae`, :mod:`.conditional`), likelihood baselines (:mod:`.baselines`), diffusion and
flow-matching denoisers (:mod:`.unet`, :mod:`.denoiser`, sampled through the samplers).

References
----------
PEP 544, "Protocols: Structural subtyping (static duck typing)".
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from aigc_course import _check
from aigc_course.runtime import eval_mode

__all__ = ["Generator", "SamplingMixin", "to_unit_range"]


@runtime_checkable
class Generator(Protocol):
    r"""A model that draws samples: ``sample(n, *, labels=None, generator=None) -> Tensor``.

    Attributes
    ----------
    data_range : tuple of float
        (low, high): every sample lies in [low, high] (for a density with unbounded support fit
        to data on that scale, the scale of the data; its samples may overshoot).
    """

    data_range: tuple[float, float]

    def sample(
        self,
        n: int,
        *,
        labels: torch.Tensor | int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor: ...


def to_unit_range(x: torch.Tensor, data_range: tuple[float, float]) -> torch.Tensor:
    r"""Map samples from their model's declared range onto [0, 1]: :math:`(x - l) / (h - l)`.

    Parameters
    ----------
    x : torch.Tensor
        Samples of any shape, in ``data_range``.
    data_range : tuple of float
        (low, high) with finite low < high, as a :class:`Generator` declares it.

    Returns
    -------
    torch.Tensor
        Same shape, clamped to [0, 1].
    """
    low, high = data_range
    _check.check_real(low, "data_range[0]")
    _check.check_real(high, "data_range[1]")
    if not low < high:
        raise ValueError(f"data_range must be (low, high) with low < high, got {data_range!r}")
    return ((x - low) / (high - low)).clamp(0, 1)


class SamplingMixin:
    r"""``sample(n, *, labels=None, generator=None)`` for every GAN generator here.

    Draws :math:`z \sim \mathcal N(0, I)` (n, latent_dim) from ``generator`` (CPU), moves it to
    the model's device and returns ``G(z)`` (or ``G(z, y)``) in eval mode under ``no_grad``, in
    the generator's own range (``data_range``, [-1, 1] for images), putting the model back in its
    mode. Conditional generators take ``labels``: (n,) int64, one int for all, or ``None`` for the
    classes in turn, ``arange(n) % n_classes``.
    """

    data_range: tuple[float, float] = (-1.0, 1.0)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        labels: torch.Tensor | int | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        _check.check_sample_count(n)
        device = next(self.parameters()).device
        z = torch.randn(n, self.latent_dim, generator=generator).to(device)
        y = _check.sample_labels(self, n, labels, device)
        with eval_mode(self):
            return self(z) if y is None else self(z, y)
