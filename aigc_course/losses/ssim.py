r"""Structural similarity (SSIM) between images, differentiable, in the conventions of Wang et al. (2004).

Conventions (the defaults reproduce ``skimage.metrics.structural_similarity(x, y,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=L)``):

* local statistics are weighted by a normalised :math:`11 \times 11` Gaussian window with
  :math:`\sigma = 1.5` (the window is cut at :math:`\pm 5` pixels);
* variances and the covariance are population moments (divide by the window weight, not by
  "N - 1");
* the constants are :math:`C_1 = (K_1 L)^2`, :math:`C_2 = (K_2 L)^2` with :math:`K_1 = 0.01`,
  :math:`K_2 = 0.03` and :math:`L` the ``data_range`` (1 for images in [0, 1], 255 for uint8,
  2 for [-1, 1]);
* the SSIM map is computed only where the window fits inside the image ("valid" positions, an
  :math:`(H - 10) \times (W - 10)` map), and the image's SSIM is the mean of that map, averaged
  over channels too.

References
----------
Wang, Bovik, Sheikh and Simoncelli (2004), "Image Quality Assessment: From Error Visibility to
Structural Similarity", IEEE Transactions on Image Processing 13(4), Eq. (13) and Sec. III-C.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from aigc_course._check import check_count

__all__ = ["gaussian_window", "ssim", "ssim_map"]


def gaussian_window(
    size: int = 11, sigma: float = 1.5, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    r"""Normalised 2-D Gaussian window, the outer product of two 1-D Gaussians.

    .. math::

        w_{ij} = \frac{g_i g_j}{\left(\sum_k g_k\right)^2}, \qquad
        g_k = \exp\!\left(-\frac{(k - c)^2}{2\sigma^2}\right), \quad c = \frac{\text{size} - 1}{2}

    Parameters
    ----------
    size : int
        Odd side length of the window (11 in Wang et al.).
    sigma : float
        Standard deviation in pixels (1.5 in Wang et al.).
    dtype : torch.dtype
        Floating-point dtype of the result.

    Returns
    -------
    torch.Tensor
        (size, size), non-negative, sums to 1.

    References
    ----------
    Wang et al. (2004), Sec. III-C ("an 11 x 11 circular-symmetric Gaussian weighting function
    with standard deviation of 1.5 samples, normalized to unit sum").
    """
    size = check_count(size, "window size")
    if size % 2 == 0:
        raise ValueError(f"window size must be a positive odd int (11 in Wang et al.), got {size}")
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(
            f"sigma must be a positive finite number of pixels (1.5 in Wang et al.), got {sigma!r}"
        )
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a floating-point torch.dtype such as torch.float32, got {dtype!r}"
        )
    k = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(k**2) / (2 * float(sigma) ** 2))
    g = g / g.sum()
    return torch.outer(g, g).to(dtype)


def _check_images(x: torch.Tensor, y: torch.Tensor, window_size: int) -> None:
    for name, t in (("x", x), ("y", y)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(
                f"{name} must be a floating-point tensor, got dtype {t.dtype}: convert uint8 images with "
                "aigc_course.data.to_unit (then data_range=1.0) or .float() (then data_range=255.0)"
            )
        if t.ndim != 4:
            raise ValueError(
                f"expected {name} of shape (B, C, H, W), got {tuple(t.shape)}: "
                "for a single (H, W) image use img[None, None]"
            )
    if x.shape != y.shape:
        raise ValueError(
            f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if min(x.shape[-2:]) < window_size:
        raise ValueError(
            f"images of size {tuple(x.shape[-2:])} are smaller than the {window_size}x{window_size} window: "
            "use larger images or a smaller window_size"
        )


def _check_scale(x: torch.Tensor, y: torch.Tensor, data_range: float) -> None:
    r"""Refuse images whose values span far more than ``data_range`` (0..255 with 1.0, say).

    Noisy or overshooting images (a noise distortion, a model's samples) may leave the range a
    little; only values beyond 3 times ``data_range`` are refused.
    """
    for name, t in (("x", x), ("y", y)):
        if t.numel() == 0:
            continue
        lo, hi = (float(v) for v in torch.aminmax(t.detach()))
        if hi - lo > 3 * data_range or max(abs(lo), abs(hi)) > 3 * data_range:
            raise ValueError(
                f"{name} has values in [{lo:g}, {hi:g}], far wider than data_range={data_range:g}: "
                "pass data_range=255.0 for 0..255 pixels, or scale the images to [0, 1] "
                "(aigc_course.data.to_unit)"
            )


def ssim_map(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float,
    *,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    r"""Local SSIM at every position where the Gaussian window fits inside the images.

    .. math::

        \mathrm{SSIM}(x, y) = \frac{(2\mu_x\mu_y + C_1)(2\sigma_{xy} + C_2)}
                                   {(\mu_x^2 + \mu_y^2 + C_1)(\sigma_x^2 + \sigma_y^2 + C_2)},
        \qquad C_1 = (K_1 L)^2,\; C_2 = (K_2 L)^2,

    where :math:`\mu, \sigma^2, \sigma_{xy}` are Gaussian-weighted local means, variances and
    covariance (population moments). The product of a luminance, a contrast and a structure
    term, with :math:`\alpha = \beta = \gamma = 1`.

    Parameters
    ----------
    x, y : torch.Tensor
        (B, C, H, W), floating point, same shape, values on a scale of width ``data_range``;
        values outside it are allowed (e.g. noisy images), nothing is clipped.
    data_range : float
        :math:`L`, the dynamic range of the pixel values: 1.0 for [0, 1], 255.0 for 0..255.
    window_size, sigma : int, float
        The Gaussian window (11, 1.5 in Wang et al.).
    k1, k2 : float
        Stabilising constants (0.01, 0.03 in Wang et al.).

    Returns
    -------
    torch.Tensor
        (B, C, H - window_size + 1, W - window_size + 1), values in [-1, 1]; 1 where x = y.
        Differentiable in x and y.

    References
    ----------
    Wang et al. (2004), Eq. (13) and Sec. III-C.
    """
    _check_images(x, y, window_size)
    if not (isinstance(data_range, (int, float)) and math.isfinite(data_range) and data_range > 0):
        raise ValueError(
            f"data_range must be a positive number (the width of the pixel scale: 1.0 for [0, 1], 255.0 "
            f"for 0..255, 2.0 for [-1, 1]), got {data_range!r}"
        )
    _check_scale(x, y, float(data_range))
    for name, k in (("k1", k1), ("k2", k2)):
        if not (isinstance(k, (int, float)) and math.isfinite(k) and k > 0):
            raise ValueError(
                f"{name} must be a small positive number (Wang et al.: k1=0.01, k2=0.03), got {k!r}"
            )
    channels = x.shape[1]
    window = gaussian_window(window_size, sigma, dtype=x.dtype).to(x.device)
    window = window.expand(channels, 1, window_size, window_size)

    def filt(
        t: torch.Tensor,
    ) -> torch.Tensor:  # Gaussian-weighted local mean, "valid" positions only
        return F.conv2d(t, window, groups=channels)

    mu_x, mu_y = filt(x), filt(y)
    var_x = filt(x * x) - mu_x**2
    var_y = filt(y * y) - mu_y**2
    cov_xy = filt(x * y) - mu_x * mu_y
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)
    denominator = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return numerator / denominator


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float,
    *,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    r"""Mean structural similarity of each pair of images (the "MSSIM" of Wang et al.).

    .. math::

        \mathrm{MSSIM}(x, y) = \frac{1}{M} \sum_{j=1}^{M} \mathrm{SSIM}(x_j, y_j)

    the mean of :func:`ssim_map` over its :math:`M` valid window positions and over channels.
    As a loss, minimise ``1 - ssim(x, y, data_range)``: it is differentiable.

    Parameters
    ----------
    x, y : torch.Tensor
        (B, C, H, W), floating point, same shape, :math:`H, W \geq` ``window_size``.
    data_range : float
        :math:`L`: 1.0 for images in [0, 1], 255.0 for 0..255, 2.0 for [-1, 1].
    window_size, sigma, k1, k2
        As in :func:`ssim_map`.

    Returns
    -------
    torch.Tensor
        (B,), values in [-1, 1]; 1 when x = y.

    References
    ----------
    Wang et al. (2004), Eq. (17).
    """
    return ssim_map(x, y, data_range, window_size=window_size, sigma=sigma, k1=k1, k2=k2).mean(
        dim=(1, 2, 3)
    )
