r"""Round images to the 256 grey levels of an 8-bit image file, and keep them as floats.

A model's samples are floats; a real image comes from a file with 256 levels. A detector or a
metric that compares the two should see both as they would be stored, or it can tell them apart
by the number of grey levels alone. (This belongs beside :func:`aigc_course.data.to_uint8` in
``data/transforms.py``; it has its own module until that move.)
"""

from __future__ import annotations

import torch

from aigc_course.data.transforms import to_uint8, to_unit

__all__ = ["quantize_8bit"]


def quantize_8bit(x01: torch.Tensor) -> torch.Tensor:
    r"""Round [0, 1] images to 8 bits and back: what saving them as a PNG and loading them does.

    .. math:: x \mapsto \operatorname{round}(255\,\operatorname{clip}(x, 0, 1)) / 255

    ``to_unit(to_uint8(x01))``; idempotent, and exact on images that came from ``uint8`` files.

    Parameters
    ----------
    x01 : torch.Tensor
        Floating point, shape ``(N, 1, H, W)`` or ``(N, H, W)``, nominally in [0, 1] (values in
        [-3, 3] are clipped, beyond are refused, as in :func:`~aigc_course.data.to_uint8`).

    Returns
    -------
    torch.Tensor
        ``float32``, shape ``(N, 1, H, W)``, values in ``{0, 1/255, ..., 1}``, on ``x01``'s device.
    """
    return to_unit(to_uint8(x01))
