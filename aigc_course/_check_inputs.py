r"""Argument checks for the public entry points: each names the argument and the fix.

Plain functions, called once at the top of a public function (never per training step):
an error here is a ``TypeError`` (wrong kind of object) or a ``ValueError`` (right kind,
wrong value), and its message starts with the argument's name.
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = [
    "check_count",
    "check_real",
    "check_tensor",
    "check_range",
    "check_unit_images",
    "check_module",
]

_SCALE_HINT = {
    (0.0, 1.0): "divide 0..255 pixels by 255 (aigc_course.data.to_unit does it for uint8 images)",
    (-1.0, 1.0): "map 0..255 pixels with aigc_course.data.to_signed, or [0, 1] ones with 2 * x - 1",
}


def _kind(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"[:80]


def check_count(value: object, name: str, *, minimum: int = 1) -> int:
    r"""Return ``value`` as an int if it is a whole number >= ``minimum`` (bools refused).

    Batch sizes, chunk sizes, sample counts, window sizes: ``0``, negatives, floats,
    strings, ``None`` and ``True`` are errors naming ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {_kind(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def check_real(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    r"""Return ``value`` as a finite float in the given interval (bools and strings refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
            value = float(value)
        else:
            raise TypeError(f"{name} must be a real number, got {_kind(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if (below or above) and high is None:
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {value:g}")
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value:g}")
    return value


def check_tensor(
    value: object,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    floating: bool = False,
    nonempty: bool = True,
    shape_hint: str = "",
) -> torch.Tensor:
    r"""Check that ``value`` is a torch.Tensor of the right rank and kind; return it.

    Parameters
    ----------
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    floating : bool
        Require a floating-point dtype (integer pixels must be scaled first).
    nonempty : bool
        Require at least one element and a non-zero first dimension.
    shape_hint : str
        The documented shape, e.g. ``"(N, 1, 28, 28)"``, for the messages.
    """
    hint = f" {shape_hint}" if shape_hint else ""
    if not isinstance(value, torch.Tensor):
        extra = " (convert it with torch.as_tensor)" if hasattr(value, "__array__") else ""
        raise TypeError(f"{name} must be a torch.Tensor{hint}, got {_kind(value)}{extra}")
    if value.is_complex():
        raise TypeError(f"{name} must be a real tensor, got {value.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and value.ndim not in allowed:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, allowed))} dimensions{hint}, "
            f"got shape {tuple(value.shape)}"
        )
    if floating and not value.is_floating_point():
        scale = (
            "; scale uint8 pixels with aigc_course.data.to_unit (to [0, 1])"
            if value.dtype == torch.uint8
            else ""
        )
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}{scale}")
    if nonempty and (value.numel() == 0 or (value.ndim and value.shape[0] == 0)):
        raise ValueError(f"{name} is empty (shape {tuple(value.shape)}); give at least one item")
    return value


def check_range(
    value: torch.Tensor, name: str, low: float, high: float, *, atol: float = 1e-4
) -> torch.Tensor:
    r"""Check that every value lies in ``[low, high]`` (NaN refused), with a scaling hint.

    One reduction over the tensor: call it at entry points, not in a training step.
    """
    if value.numel() == 0:
        return value
    v = value.detach()
    lo, hi = float(v.min()), float(v.max())
    if math.isnan(lo) or math.isnan(hi) or lo < low - atol or hi > high + atol:
        if math.isnan(lo) or math.isnan(hi):
            hint = "remove or replace the NaN values"
        elif hi > high + atol and hi <= 255 + atol and high <= 1:
            hint = f"it looks like 0..255 pixels: {_SCALE_HINT.get((low, high), 'rescale it')}"
        else:
            hint = _SCALE_HINT.get((low, high), "rescale it")
        raise ValueError(
            f"{name} must have values in [{low:g}, {high:g}], got [{lo:g}, {hi:g}]: {hint}"
        )
    return value


def check_unit_images(
    value: object, name: str, *, ndim: int | tuple[int, ...] | None = 4, shape_hint: str = ""
) -> torch.Tensor:
    r"""A non-empty floating-point tensor with values in ``[0, 1]``; say how to scale it if not."""
    x = check_tensor(value, name, ndim=ndim, floating=True, shape_hint=shape_hint)
    return check_range(x, name, 0.0, 1.0)


def check_module(value: object, name: str, *methods: str) -> torch.nn.Module:
    r"""Check that ``value`` is a torch.nn.Module with the given methods; return it."""
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {_kind(value)}")
    lacking = [m for m in methods if not callable(getattr(value, m, None))]
    if lacking:
        raise TypeError(
            f"{name} must have method(s) {', '.join(lacking)}; a {type(value).__name__} "
            "has not: pass the right model"
        )
    return value
