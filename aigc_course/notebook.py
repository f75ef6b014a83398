r"""Helpers for the book's notebooks: settings, model sizes, comparisons over seeds, glue.

:func:`show_settings` prints a chapter's configuration; :func:`count_parameters` sizes its models;
:func:`compare_over_seeds` states a difference between two settings measured over seeds the same
way in every chapter (mean ± std of each, the difference with its t-interval, and a verdict only
when the interval excludes zero).

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
from aigc_course.metrics.seeds import SeedDifference, seed_difference

__all__ = ["compare_over_seeds", "count_parameters", "glue", "settings_lines", "show_settings"]


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
) -> list[str]:
    r"""The lines :func:`show_settings` prints: one per field of the dataclass ``cfg``.

    Each line is ``f"{name:{align}{width}}{sep}{value}"``. A field that is itself a dataclass (a
    nested training config) shows only its fields that differ from their defaults, as
    ``name=value, ...`` (with ``changed_only=False``, its full ``repr``). With ``wrap``, a line
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
            )
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
) -> None:
    r"""Print a chapter's config, one field per line; nested configs show their non-default fields.

    Parameters
    ----------
    cfg : dataclass instance
    width, align, sep, wrap, changed_only
        The layout, as in :func:`settings_lines` (whose lines this prints).
    """
    lines = settings_lines(
        cfg, width=width, align=align, sep=sep, wrap=wrap, changed_only=changed_only
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


def compare_over_seeds(
    a: Sequence[float] | torch.Tensor,
    b: Sequence[float] | torch.Tensor,
    *,
    names: tuple[str, str],
    unit: str = "",
    paired: bool = False,
    level: float = 0.95,
    fmt: str = ".2f",
) -> SeedDifference:
    r"""Print two settings measured over seeds, their difference with its t-interval, a verdict.

    Three lines: each setting's mean ± standard deviation over its seeds, then the difference
    ``mean(a) - mean(b)`` with its ``level`` Student-t confidence interval (Welch's, or the paired
    t when ``paired``; see :func:`aigc_course.metrics.seeds.seed_difference`) and the verdict:
    ``"A lower than B"`` or ``"A higher than B"`` only when the interval excludes zero, otherwise
    ``"no clear difference"``. Example::

        >>> compare_over_seeds([31.1, 30.2, 32.4], [52.1, 50.3, 54.8], names=("DCGAN", "VAE"))
        mean ± std over seeds: DCGAN 31.23 ± 1.11 (n=3), VAE 52.40 ± 2.26 (n=3)
        DCGAN - VAE: -21.17, 95% Welch t-interval [-25.89, -16.45]
        verdict: DCGAN lower than VAE

    Parameters
    ----------
    a, b : sequence of float or tensor (n,)
        One number per seed, at least 2 each; paired: the same seeds in the same order.
    names : (str, str)
        What ``a`` and ``b`` are, e.g. ``("raw weights", "EMA weights")``.
    unit : str
        Printed after every number (e.g. ``"s"``, ``"%"``); empty for none.
    paired, level
        As in :func:`~aigc_course.metrics.seeds.seed_difference`.
    fmt : str
        Format of the numbers (default ``".2f"``).

    Returns
    -------
    SeedDifference
        The numbers printed, for ``glue``.
    """
    if (
        not isinstance(names, (tuple, list))
        or len(names) != 2
        or not all(isinstance(n, str) and n for n in names)
    ):
        raise TypeError(f"names must be two non-empty strings (what a and b are), got {names!r}")
    if not isinstance(unit, str):
        raise TypeError(f"unit must be a string such as 's' or '%', got {unit!r}")
    format(0.0, fmt)  # a bad format fails here, before any output
    d = seed_difference(a, b, paired=paired, level=level)
    u = f" {unit}" if unit and unit != "%" else unit

    def num(x: float) -> str:
        return f"{x:{fmt}}{u}"

    if d.clear:
        verdict = f"{names[0]} {'lower' if d.high < 0 else 'higher'} than {names[1]}"
    else:
        verdict = "no clear difference (the interval contains 0)"
    print(
        f"mean ± std over seeds: {names[0]} {num(d.mean_a)} ± {num(d.std_a)} (n={d.n_a}), "
        f"{names[1]} {num(d.mean_b)} ± {num(d.std_b)} (n={d.n_b})"
    )
    print(
        f"{names[0]} - {names[1]}: {num(d.difference)}, {100 * d.level:g}% {d.method}-interval "
        f"[{num(d.low)}, {num(d.high)}]"
    )
    print(f"verdict: {verdict}")
    return d
