r"""Post-processing of generated images: denoising filters (8-bit quantisation is ``aigc_course.data.to_uint8``)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


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
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (B, C, H, W), got {tuple(x.shape)}")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd integer, got {size}")
    b, c, h, w = x.shape
    r = size // 2
    if r > min(h, w):
        raise ValueError(f"window size {size} is larger than the {h}x{w} images allow (at most {2 * min(h, w) + 1})")
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
