r"""Helpers for the book's notebooks: put a computed number into the prose.

A chapter that says "the DCGAN reaches an FID of 131.6" must print that number from the run beside
it. :func:`glue` stores a value in the cell's output under a name; the chapter's prose then cites it
with ``{glue:text}`name:.1f``` and the rendered book shows the stored value, so prose and output
cannot disagree. Where MyST-NB is not installed (Colab, a bare Jupyter), it does nothing.

References
----------
MyST-NB documentation, "Embedding outputs as variables" (``myst_nb.glue``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["glue"]


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
