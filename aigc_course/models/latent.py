r"""Paths in a latent space: decode them to see how a generator's output changes along the way."""

from __future__ import annotations

import torch

from aigc_course._check import check_count, check_tensor

__all__ = ["latent_path"]


def latent_path(z0: torch.Tensor, z1: torch.Tensor, steps: int) -> torch.Tensor:
    r"""``steps`` evenly spaced codes on the straight line from ``z0`` to ``z1``, both included.

    .. math:: z(t_i) = (1 - t_i)\, z_0 + t_i\, z_1, \qquad t_i = \frac{i}{\text{steps} - 1}

    Parameters
    ----------
    z0, z1 : tensor (d,)
        End points, same shape and dtype.
    steps : int >= 2

    Returns
    -------
    tensor (steps, d)

    References
    ----------
    White (2016), "Sampling Generative Networks" (linear and spherical interpolation).
    """
    check_tensor(z0, "z0", floating=True, shape_hint="(d,)")
    check_tensor(z1, "z1", floating=True, shape_hint="(d,)")
    if z0.shape != z1.shape:
        raise ValueError(
            f"z0 and z1 must have the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}"
        )
    steps = check_count(steps, "steps", minimum=2)
    t = torch.linspace(0.0, 1.0, steps, dtype=z0.dtype, device=z0.device).view(-1, *[1] * z0.ndim)
    return (1 - t) * z0 + t * z1
