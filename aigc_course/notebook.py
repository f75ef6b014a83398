r"""Helpers for the book's notebooks: settings, model sizes, mean ± std over seeds, glue.

:func:`show_settings` prints a chapter's configuration; :func:`count_parameters` sizes its models;
:func:`mean_std` summarises one measurement repeated over seeds (to compare two settings over
seeds, with a t-interval and a worded verdict, use :func:`aigc_course.metrics.seeds.compare_seeds`).

A chapter that says "the DCGAN reaches an FID of 131.6" must print that number from the run beside
it. :func:`glue` stores a value in the cell's output under a name; the chapter's prose then cites it
with ``{glue:text}`name:.1f``` and the rendered book shows the stored value, so prose and output
cannot disagree. Where MyST-NB is not installed (Colab, a bare Jupyter), it does nothing.

References
----------
MyST-NB documentation, "Embedding outputs as variables" (``myst_nb.glue``).
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from aigc_course._check import check_count, check_module

__all__ = ["count_parameters", "glue", "mean_std", "settings_lines", "show_settings"]


def glue(name: str, value: Any, *, display: bool = False) -> None:
    r"""Store ``value`` under ``name`` for ``{glue:text}`` / ``{glue}`` roles in the chapter's prose.

    Parameters
    ----------
    name : str
        Key the prose cites, unique within the book; letters, digits, ``_`` and ``-``.
    value : Any
        A number, string, figure or DataFrame, stored as the cell's output.
    display : bool
        Also show the value in the cell's output (default: store it only).
    """
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ValueError(f"glue name must be letters, digits, '_' or '-', got {name!r}")
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:  # Colab or a bare Jupyter: nothing renders the prose there.
        return
    _myst_glue(name, value, display=display)


def settings_lines(
    cfg: Any,
    *,
    width: int = 15,
    align: str = "<",
    sep: str = " ",
    wrap: int | None = 80,
    changed_only: bool = True,
    unchanged: str = "",
) -> list[str]:
    r"""The lines :func:`show_settings` prints: one per field of the dataclass ``cfg``.

    Each line is ``f"{name:{align}{width}}{sep}{value}"``. A field that is itself a dataclass (a
    nested training config) shows only its fields that differ from their defaults, as
    ``name=value, ...``, or ``unchanged`` when none differs (with ``changed_only=False``, its
    full ``repr``). With ``wrap``, a line
    longer than ``wrap`` columns continues on lines indented by ``width + len(sep)``.

    Parameters
    ----------
    cfg : dataclass instance
    width : int
        Column width of the field names.
    align : {"<", ">"}
        Names left- or right-aligned in their column.
    sep : str
        Between name and value (e.g. ``" "`` or ``": "``).
    wrap : int or None
        Wrap long lines at this many columns; ``None`` leaves them whole.
    changed_only : bool
        Nested dataclasses: only the fields that differ from their defaults.
    unchanged : str
        What a nested dataclass with no changed field shows; ``{name}`` is its class name, e.g.
        ``"{name}() (all defaults)"``. Default: nothing.

    Returns
    -------
    list of str
    """
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"cfg must be a dataclass instance (a config), got {type(cfg).__name__}")
    width = check_count(width, "width", minimum=0)
    if align not in ("<", ">"):
        raise ValueError(f"align must be '<' (left) or '>' (right), got {align!r}")
    if wrap is not None:
        wrap = check_count(wrap, "wrap")
    lines = []
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if changed_only and dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = ", ".join(
                f"{g.name}={getattr(value, g.name)}"
                for g in dataclasses.fields(value)
                if getattr(value, g.name) != g.default
            ) or unchanged.format(name=type(value).__name__)
        line = f"{f.name:{align}{width}}{sep}{value}"
        if wrap is None:
            lines.append(line)
        else:
            indent = " " * (width + len(sep))
            lines.append(textwrap.fill(line, wrap, subsequent_indent=indent))
    return lines


def show_settings(
    cfg: Any,
    *,
    width: int = 15,
    align: str = "<",
    sep: str = " ",
    wrap: int | None = 80,
    changed_only: bool = True,
    unchanged: str = "",
) -> None:
    r"""Print a chapter's config, one field per line; nested configs show their non-default fields.

    Parameters
    ----------
    cfg : dataclass instance
    width, align, sep, wrap, changed_only, unchanged
        The layout, as in :func:`settings_lines` (whose lines this prints).
    """
    lines = settings_lines(
        cfg,
        width=width,
        align=align,
        sep=sep,
        wrap=wrap,
        changed_only=changed_only,
        unchanged=unchanged,
    )
    for line in lines:
        print(line)


def count_parameters(*modules: nn.Module) -> int:
    r"""Number of parameters of one or more modules, each tensor counted once.

    .. math:: \sum_{p \in \bigcup_m \text{params}(m)} \operatorname{numel}(p)

    A tensor shared by two of the modules (tied weights) counts once, as
    ``module.parameters()`` already does within one module.

    Parameters
    ----------
    *modules : torch.nn.Module
        At least one.

    Returns
    -------
    int
    """
    if not modules:
        raise TypeError("count_parameters needs at least one module, e.g. count_parameters(G, D)")
    seen: dict[int, int] = {}
    for i, m in enumerate(modules):
        check_module(m, f"modules[{i}]")
        for p in m.parameters():
            seen[id(p)] = p.numel()
    return sum(seen.values())


def mean_std(values: Sequence[float] | torch.Tensor) -> tuple[float, float]:
    r"""Mean and sample standard deviation of one measurement over seeds.

    .. math:: \bar x = \frac1n \sum_i x_i, \qquad
              s = \sqrt{\frac{1}{n-1} \sum_i (x_i - \bar x)^2}

    Computed in float64 with torch (the chapters printed these digits before the helper moved
    here, and still do).

    Parameters
    ----------
    values : sequence of float, array or tensor (n,)
        One number per seed, n >= 1.

    Returns
    -------
    (float, float)
        :math:`\bar x` and :math:`s` (Bessel-corrected, ``ddof=1``); ``s = 0.0`` for one value.
    """
    array_like = isinstance(values, (Sequence, torch.Tensor)) or hasattr(values, "__array__")
    if isinstance(values, (str, bytes)) or not array_like:
        raise TypeError(
            f"values must be a sequence of numbers (one per seed), got {type(values).__name__}"
        )
    try:
        t = torch.as_tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"values must be a sequence of numbers (one per seed): {err}") from None
    if t.ndim != 1:
        raise ValueError(f"values must be flat, one number per seed, got shape {tuple(t.shape)}")
    if len(t) < 1:
        raise ValueError("values needs at least 1 value(s), one per seed, got 0")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"values must be finite, got {t.tolist()}")
    return float(t.mean()), float(t.std()) if len(t) > 1 else 0.0
