r"""Pixel-value maps between ``uint8`` images and the float ranges that models use.

Every function works on a whole batch at once and checks dtype and shape, so a
forgotten conversion fails loudly instead of training on pixels in 0..255.
"""

from __future__ import annotations

import torch

from aigc_course._check import check_count, check_range, check_real

__all__ = [
    "binarize",
    "dequantize",
    "dequantize_unit",
    "from_signed",
    "random_shift",
    "to_signed",
    "to_uint8",
    "to_unit",
]

# Largest float32 below 1.0: (255 + u) / 256 with u close to 1 rounds up to 1.0 in float32.
_BELOW_ONE = 1.0 - 2.0**-24


def _check_uint8(images: torch.Tensor, fn: str) -> None:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{fn} expects a torch.Tensor, got {type(images).__name__}")
    if images.dtype != torch.uint8:
        raise TypeError(f"{fn} expects uint8 pixels in 0..255, got dtype {images.dtype}")
    if images.ndim != 3:
        raise ValueError(f"{fn} expects shape (N, H, W), got {tuple(images.shape)}")


def _check_float(x: torch.Tensor, fn: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{fn} expects a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{fn} expects a floating-point tensor, got dtype {x.dtype}")


def to_unit(images: torch.Tensor) -> torch.Tensor:
    r"""Map ``uint8`` images to ``float32`` in [0, 1] with a channel axis.

    Parameters
    ----------
    images : torch.Tensor
        ``uint8``, shape ``(N, H, W)``, values 0..255.

    Returns
    -------
    torch.Tensor
        ``float32``, shape ``(N, 1, H, W)``, values ``images / 255`` in [0, 1].
    """
    _check_uint8(images, "to_unit")
    return images.unsqueeze(1).to(torch.float32) / 255.0


def to_signed(images: torch.Tensor) -> torch.Tensor:
    r"""Map ``uint8`` images to ``float32`` in [-1, 1], the range diffusion models use.

    Parameters
    ----------
    images : torch.Tensor
        ``uint8``, shape ``(N, H, W)``, values 0..255.

    Returns
    -------
    torch.Tensor
        ``float32``, shape ``(N, 1, H, W)``, values ``2 * images / 255 - 1`` in [-1, 1].
    """
    _check_uint8(images, "to_signed")
    return to_unit(images) * 2.0 - 1.0


def from_signed(x: torch.Tensor, *, clamp: bool = True) -> torch.Tensor:
    r"""Map [-1, 1] values back to [0, 1]: ``(x + 1) / 2``, the inverse of the [-1, 1] map.

    Parameters
    ----------
    x : torch.Tensor
        Floating point, any shape, nominally in [-1, 1] (model samples may overshoot).
    clamp : bool
        Clip the result to [0, 1] (the default, for display).

    Returns
    -------
    torch.Tensor
        Same shape and dtype, in [0, 1] when ``clamp``.
    """
    _check_float(x, "from_signed")
    # Overshoot is allowed; values far outside [-1, 1] are another scale (0..255, say).
    check_range(x, "from_signed: x", -3.0, 3.0)
    y = (x + 1.0) / 2.0
    return y.clamp(0.0, 1.0) if clamp else y


def to_uint8(x01: torch.Tensor) -> torch.Tensor:
    r"""Map [0, 1] floats back to ``uint8`` pixels, rounding and clipping.

    Parameters
    ----------
    x01 : torch.Tensor
        Floating point, shape ``(N, 1, H, W)`` or ``(N, H, W)``, nominally in [0, 1]; values in
        [-3, 3] are clipped to [0, 1] (a model's samples overshoot), values beyond are refused.

    Returns
    -------
    torch.Tensor
        ``uint8``, shape ``(N, H, W)``, values ``round(255 * x)`` in 0..255.
    """
    _check_float(x01, "to_uint8")
    # Overshoot is clipped (a Gaussian model's samples reach about -1 or 2); values far
    # outside [0, 1] are another scale (0..255, say).
    check_range(x01, "to_uint8: x01 (nominally in [0, 1])", -3.0, 3.0)
    if x01.ndim == 4 and x01.shape[1] == 1:
        x01 = x01.squeeze(1)
    if x01.ndim != 3:
        raise ValueError(
            f"to_uint8 expects shape (N, 1, H, W) or (N, H, W), got {tuple(x01.shape)}"
        )
    return (x01.clamp(0.0, 1.0) * 255.0).round().to(torch.uint8)


def binarize(x01: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    r"""Threshold [0, 1] intensities to {0, 1}: ``1.0`` where ``x01 > threshold``.

    Used for binarized MNIST (Bernoulli likelihoods).

    Parameters
    ----------
    x01 : torch.Tensor
        Floating point, any shape, values in [0, 1] (e.g. from :func:`to_unit`).
    threshold : float
        In [0, 1).

    Returns
    -------
    torch.Tensor
        Same shape and dtype, values exactly 0.0 or 1.0.
    """
    _check_float(x01, "binarize")
    threshold = check_real(threshold, "threshold", low=0.0, high=1.0, high_open=True)
    check_range(x01, "binarize: x01", 0.0, 1.0)
    return (x01 > threshold).to(x01.dtype)


def dequantize(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Uniform dequantization: ``(images + u) / 256`` with ``u ~ U[0, 1)``, for likelihood models.

    Turns discrete pixels into a continuous density whose log-likelihood lower-bounds the
    discrete one (Theis, van den Oord and Bethge, "A note on the evaluation of generative
    models", ICLR 2016).

    Parameters
    ----------
    images : torch.Tensor
        ``uint8``, shape ``(N, H, W)``, values 0..255.
    generator : torch.Generator, optional
        Source of the noise, for reproducibility; on the images' device.

    Returns
    -------
    torch.Tensor
        ``float32``, shape ``(N, 1, H, W)``, values in [0, 1); pixel value ``k`` lands in
        ``[k / 256, (k + 1) / 256)``.
    """
    _check_uint8(images, "dequantize")
    x = images.unsqueeze(1).to(torch.float32)
    noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=torch.float32)
    return _into_bins(x, noise, 256)


def _into_bins(k: torch.Tensor, noise: torch.Tensor, levels: int) -> torch.Tensor:
    r"""The one formula of uniform dequantization: :math:`y = (k + u) / L`, kept below 1."""
    return ((k + noise) / levels).clamp_(max=_BELOW_ONE)


def dequantize_unit(
    x01: torch.Tensor,
    *,
    levels: int = 256,
    generator: torch.Generator | None = None,
    noise: torch.Tensor | None = None,
    validate: bool = True,
) -> torch.Tensor:
    r"""Uniform dequantization of images stored as floats in [0, 1] on the grid :math:`k / (L - 1)`.

    .. math::

        k = \operatorname{round}\bigl((L - 1)\,x\bigr) \in \{0, \dots, L - 1\},
        \qquad y = \frac{k + u}{L}, \quad u \sim \mathcal U[0, 1)^D

    so level :math:`k` fills the bin :math:`[k/L, (k+1)/L)` of :math:`[0, 1)`. A density
    :math:`p` fitted to :math:`y` gives the discrete image the probability
    :math:`P(k) = \int_{\text{bin}(k)} p(y)\,dy`, bounded by Jensen's inequality,
    :math:`-\log P(k) \le \mathbb E_u[-\log p(y)] + D \log L` (nats; the offset
    :math:`D \log L` is :func:`aigc_course.metrics.likelihood.discrete_nll_from_density`). The
    same as :func:`dequantize` for images from :func:`to_unit` (``levels=256``).

    Parameters
    ----------
    x01 : torch.Tensor
        Floating point, any shape (e.g. (N, 1, H, W) from :func:`to_unit`), values in [0, 1]
        on the grid :math:`k / (L - 1)` (8-bit images: multiples of 1/255).
    levels : int
        L >= 2, the number of intensity levels (256 for 8-bit images).
    generator : torch.Generator, optional
        Source of the noise (on ``x01``'s device) when ``noise`` is not given.
    noise : torch.Tensor, optional
        The :math:`u`, same shape as ``x01``, values in [0, 1) (e.g. drawn on the CPU from a
        seeded generator and moved to the device, as the training loop does).
    validate : bool
        Check ``x01`` (NaN, range, grid: reads every value, one host sync). A training step
        passes ``False`` after checking the data once.

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``x01``, values in [0, 1).

    References
    ----------
    Theis, van den Oord & Bethge (2016), "A note on the evaluation of generative models", ICLR,
    sec. 3.1; Uria, Murray & Larochelle (2013), "RNADE", NeurIPS.
    """
    if validate:
        _check_float(x01, "dequantize_unit")
        levels = check_count(levels, "levels", minimum=2)
        check_on_grid(x01, "x01", levels)
        if noise is not None:
            _check_float(noise, "dequantize_unit (noise)")
            if noise.shape != x01.shape:
                raise ValueError(
                    f"noise must have the shape of x01, {tuple(x01.shape)}, "
                    f"got {tuple(noise.shape)}"
                )
            check_range(noise, "noise", 0.0, 1.0, atol=0.0)
    if noise is None:
        noise = torch.rand(x01.shape, generator=generator, device=x01.device, dtype=x01.dtype)
    k = torch.round(x01 * (levels - 1))
    return _into_bins(k, noise, levels)


def check_on_grid(x01: torch.Tensor, name: str, levels: int = 256) -> torch.Tensor:
    r"""Check that ``x01`` holds quantised intensities :math:`k / (L - 1)` in [0, 1] (no NaN).

    Reads every value (one host sync): entry points only. Returns ``x01``.
    """
    check_range(x01, name, 0.0, 1.0, atol=0.0)
    scaled = x01.detach() * (levels - 1)
    off = float((scaled - scaled.round()).abs().max()) if x01.numel() else 0.0
    if off > 1e-3:
        raise ValueError(
            f"{name} must hold {levels}-level intensities k / {levels - 1} in [0, 1], but a "
            f"value lies {off / (levels - 1):.3g} off that grid: quantise it first "
            "(aigc_course.data.quantize.quantize_8bit for 8-bit images), or dequantize the "
            "uint8 pixels with aigc_course.data.dequantize"
        )
    return x01


def random_shift(
    x: torch.Tensor, max_shift: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Translate every image by its own random whole-pixel offset, filling with zeros.

    .. math::

        y_{b,c,i,j} = x_{b,c,\,i - \Delta_b,\,j - \delta_b}
        \quad (0 \text{ outside the image}), \qquad
        \Delta_b, \delta_b \sim \mathcal U\{-s, \dots, s\} \text{ independently}

    A data augmentation for small training sets: a digit moved by a pixel or two is still the
    same digit, so the model sees more distinct images (Simard, Steinkraus and Platt, 2003).

    Parameters
    ----------
    x : torch.Tensor
        Float images, shape ``(B, C, H, W)``, background 0 (e.g. from :func:`to_unit`).
    max_shift : int
        :math:`s \ge 0`, the largest offset in pixels along each axis; 0 returns ``x`` itself.
    generator : torch.Generator, optional
        CPU source of the offsets (two draws per image: rows, then columns).

    Returns
    -------
    torch.Tensor
        Shape and device of ``x``.
    """
    _check_float(x, "random_shift")
    if x.ndim != 4:
        raise ValueError(f"random_shift expects shape (B, C, H, W), got {tuple(x.shape)}")
    max_shift = check_count(max_shift, "random_shift: max_shift", minimum=0)
    if max_shift == 0:
        return x
    b, _, h, w = x.shape
    s = max_shift
    offsets = torch.randint(-s, s + 1, (b, 2), generator=generator).to(x.device)
    padded = torch.nn.functional.pad(x, (s, s, s, s))
    # Output pixel (i, j) of image b reads padded pixel (i + s - dy_b, j + s - dx_b).
    rows = (s - offsets[:, :1]) + torch.arange(h, device=x.device)  # (B, H)
    cols = (s - offsets[:, 1:]) + torch.arange(w, device=x.device)  # (B, W)
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()
