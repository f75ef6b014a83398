r"""Interactive figures in the static book, run by plain JavaScript without a Python kernel.

:func:`latent_explorer` (a VAE's decoder, run in the browser) and :func:`frame_player`
(pre-computed frames with a slider) return an :class:`InteractiveFigure`; the last
expression of a notebook cell displays it. :mod:`aigc_course.interactive.assets` says where
the data goes (a file under the book's ``_static/interactive`` or inline), the 2 MB page limit
and how a missing or damaged file shows.
"""

from aigc_course.interactive.assets import (
    PAGE_LIMIT_BYTES,
    InteractiveFigure,
    InteractiveFigureError,
    make_figure,
    page_bytes,
    reset_page,
)
from aigc_course.interactive.figures import (
    decoder_layers,
    figure_frame,
    frame_player,
    latent_explorer,
)

__all__ = [
    "PAGE_LIMIT_BYTES",
    "InteractiveFigure",
    "InteractiveFigureError",
    "decoder_layers",
    "figure_frame",
    "frame_player",
    "latent_explorer",
    "make_figure",
    "page_bytes",
    "reset_page",
]
