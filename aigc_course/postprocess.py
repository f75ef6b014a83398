r"""Post-processing of generated images: denoising (median filter, VAE projection), clean-up (background
threshold, contrast stretch). 8-bit quantisation is ``aigc_course.data.to_uint8``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from aigc_course._check import (
    _kind,
    check_count,
    check_range,
    check_real,
    check_tensor,
)


def median_filter(x: torch.Tensor, size: int = 3) -> torch.Tensor:
    r"""Median of each ``size`` x ``size`` neighbourhood (edges padded by reflection): removes salt-and-pepper noise.

    Parameters
    ----------
    x : tensor (B, C, H, W)
    size : int
        Odd window size.

    Returns
    -------
    tensor (B, C, H, W), same dtype as ``x``

    References
    ----------
    Tukey (1977), *Exploratory Data Analysis*; matches ``scipy.ndimage.median_filter(mode="reflect")``.
    """
    check_tensor(x, "x", nonempty=False, shape_hint="(B, C, H, W)")
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (B, C, H, W), got {tuple(x.shape)}")
    size = check_count(size, "size")
    if size % 2 == 0:
        raise ValueError(f"size must be a positive odd integer, got {size}")
    b, c, h, w = x.shape
    r = size // 2
    if r > min(h, w):
        raise ValueError(
            f"window size {size} is larger than the {h}x{w} images allow (at most {2 * min(h, w) + 1})"
        )
    # "symmetric" padding (edge pixel repeated) is what scipy calls mode="reflect".
    xp = x.double().reshape(b * c, 1, h, w)
    left = xp[..., :, :r].flip(-1)
    right = xp[..., :, w - r :].flip(-1)
    xp = torch.cat([left, xp, right], dim=-1)
    top = xp[..., :r, :].flip(-2)
    bottom = xp[..., h - r :, :].flip(-2)
    xp = torch.cat([top, xp, bottom], dim=-2)
    patches = F.unfold(xp, size)  # (B*C, size*size, H*W)
    med = patches.median(dim=1).values
    return med.reshape(b, c, h, w).to(x.dtype)


def _check_unit_images(x: torch.Tensor, fn: str, *, nonempty: bool = True) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(
            f"{fn} expects float images in [0, 1], got {_kind(x)}: use aigc_course.data.to_unit or from_signed"
        )
    if x.ndim != 4:
        raise ValueError(f"{fn} expects images of shape (B, C, H, W), got {tuple(x.shape)}")
    check_tensor(x, f"{fn}: x", nonempty=nonempty, shape_hint="(B, C, H, W)")
    check_range(x, f"{fn}: x", 0.0, 1.0)


def suppress_background(x: torch.Tensor, threshold: float = 0.25) -> torch.Tensor:
    r"""Set faint pixels to black: a hard threshold that removes the grey haze around generated digits.

    .. math:: y = \begin{cases} x & x > t \\ 0 & x \le t \end{cases}

    Strokes (bright pixels) are kept unchanged, so unlike :func:`aigc_course.data.binarize` the
    anti-aliased edge of a stroke above :math:`t` survives.

    Parameters
    ----------
    x : tensor (B, C, H, W), float in [0, 1] (0 = background)
    threshold : float
        t in [0, 1).

    Returns
    -------
    tensor (B, C, H, W), same dtype

    References
    ----------
    Donoho & Johnstone (1994), "Ideal spatial adaptation by wavelet shrinkage", Biometrika 81(3)
    (hard thresholding), here applied to pixels.
    """
    _check_unit_images(x, "suppress_background")
    threshold = check_real(threshold, "threshold", low=0.0, high=1.0, high_open=True)
    return torch.where(x > threshold, x, torch.zeros_like(x))


def contrast_stretch(x: torch.Tensor, low: float = 0.02, high: float = 0.98) -> torch.Tensor:
    r"""Per-image linear contrast stretch: the ``low`` and ``high`` quantiles become 0 and 1, then clip.

    .. math:: y = \operatorname{clip}\Bigl(\frac{x - q_\text{low}}{q_\text{high} - q_\text{low}}, 0, 1\Bigr)

    with :math:`q` the quantiles of each image's pixels (linear interpolation, as ``numpy.percentile``).
    Images whose two quantiles are equal (flat images) are returned unchanged.

    Parameters
    ----------
    x : tensor (B, C, H, W), float in [0, 1]
    low, high : float
        Quantile levels, 0 <= low < high <= 1.

    Returns
    -------
    tensor (B, C, H, W), same dtype, in [0, 1]

    References
    ----------
    Gonzalez & Woods, *Digital Image Processing* (4th ed., 2018), sec. 3.2 (contrast stretching);
    matches ``skimage.exposure.rescale_intensity(img, in_range=tuple(np.percentile(img, ...)))``.
    """
    _check_unit_images(x, "contrast_stretch")
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"need 0 <= low < high <= 1, got low={low!r}, high={high!r}")
    flat = x.reshape(x.shape[0], -1).double()
    q = torch.quantile(flat, torch.tensor([low, high], dtype=torch.float64), dim=1)  # (2, B)
    lo, hi = q[0].view(-1, 1), q[1].view(-1, 1)
    span = hi - lo
    flat_image = span <= 0
    out = ((flat - lo) / torch.where(flat_image, torch.ones_like(span), span)).clamp(0.0, 1.0)
    out = torch.where(flat_image, flat, out)
    return out.reshape(x.shape).to(x.dtype)


@torch.no_grad()
def vae_project(x: torch.Tensor, vae: torch.nn.Module, batch_size: int = 500) -> torch.Tensor:
    r"""Denoise by projecting through a trained VAE: decode the posterior mean of each image.

    .. math:: y = \sigma\bigl(\text{dec}(\mu_\phi(x))\bigr), \qquad (\mu_\phi(x), \log\sigma^2_\phi(x)) = \text{enc}(x)

    The result lies on the decoder's manifold of images the VAE can produce: noise the VAE never
    learned to encode is removed, and so is any detail it cannot represent (the VAE's blur is added).

    Parameters
    ----------
    x : tensor (B, 1, 28, 28), float in [0, 1]
    vae : nn.Module
        With ``encode(x) -> (mu, logvar)`` and ``decode(z) -> logits`` (``aigc_course.models.MLPVAE``,
        ``ConvVAE``); run in eval mode here (its mode is restored).
    batch_size : int

    Returns
    -------
    tensor (B, 1, 28, 28), float in [0, 1], on the CPU

    References
    ----------
    Kingma & Welling (2014), "Auto-encoding variational Bayes", ICLR; the projection idea as in
    Samangouei, Kabkab & Chellappa (2018), "Defense-GAN", ICLR.
    """
    _check_unit_images(x, "vae_project", nonempty=False)
    if not (hasattr(vae, "encode") and hasattr(vae, "decode")):
        raise TypeError(
            f"vae must have encode(x) and decode(z) methods (e.g. MLPVAE), got {type(vae).__name__}"
        )
    batch_size = check_count(batch_size, "batch_size")
    was_training = vae.training
    vae.eval()
    device = next(vae.parameters()).device
    out = []
    try:
        for start in range(0, x.shape[0], batch_size):
            mu, _ = vae.encode(x[start : start + batch_size].to(device))
            out.append(torch.sigmoid(vae.decode(mu)).cpu())
    finally:
        vae.train(was_training)
    return torch.cat(out).to(x.dtype) if out else x.clone()
