r"""Interactive figures for the static book: the data on disk (or inline) and the HTML that runs it.

A figure is a name, a kind (``latent_explorer`` or ``frame_player``), a JSON payload and a
static PNG. :func:`make_figure` returns an :class:`InteractiveFigure` whose MIME bundle holds
the HTML (with the plain-JavaScript runtime ``figures.js`` inlined) and the PNG, so the built
book shows the interactive figure, a PDF build the PNG, and a browser without JavaScript the
PNG with a note.

Where the payload goes:

* **Inside a Jupyter Book** (a folder above the working directory holds ``_config.yml`` and
  ``_toc.yml``): written atomically to ``<book>/_static/interactive/<name>-<hash>.mjs``, a
  classic script that stores the payload string in ``window.AIGC_ASSETS``; the file names
  the hash of its data, so a stored output always finds its own data, and the older files
  of the same figure are removed (commit the folder with the notebook). Sphinx copies ``_static``
  into the built HTML; a ``<script>`` tag (unlike ``fetch``) also loads from ``file://``. The
  extension is ``.mjs`` because Jupyter Book 1.x adds every ``_static/**/*.js`` to every page.
* **Elsewhere** (a copied notebook), **in Colab or VS Code** (their outputs cannot read the
  kernel's files), **in quick mode** (``AIGC_QUICK=1``: the CI's notebook run, whose outputs
  are never stored, leaves the book's files alone) or with ``inline=True``: inside the HTML.

The HTML carries the payload's length and 32-bit FNV-1a hash; the browser checks both before
use, and a missing or damaged file shows a message in the figure's place above the static PNG.
The assets of one page (one kernel) may total at most :data:`PAGE_LIMIT_BYTES`.

References
----------
Fowler, Noll & Vo, "FNV hash" (the 32-bit FNV-1a variant), IETF draft-eastlake-fnv.
"""

from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aigc_course.runtime import atomic_write, quick_mode

__all__ = [
    "ASSET_FOLDER",
    "PAGE_LIMIT_BYTES",
    "InteractiveFigure",
    "InteractiveFigureError",
    "b64_array",
    "find_book_root",
    "fnv1a32",
    "make_figure",
    "page_bytes",
    "png_base64",
    "reset_page",
]

PAGE_LIMIT_BYTES = 2_000_000
r"""Most bytes of interactive data (asset files and inline HTML) one page may carry (2 MB)."""
ASSET_FOLDER = Path("_static") / "interactive"
r"""Where a book's figure data lives, relative to the book's root folder."""
KINDS = ("latent_explorer", "frame_player")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_RUNTIME = Path(__file__).with_name("figures.js")
_page: dict[str, int] = {}  # figure name -> bytes it adds to this kernel's page
_shown: dict[str, int] = {}  # figure name -> how often this kernel made it (element ids)


class InteractiveFigureError(RuntimeError):
    r"""An interactive figure cannot be made: its data is over the page limit or cannot be written."""


def fnv1a32(text: str) -> int:
    r"""32-bit FNV-1a hash of an ASCII string, the checksum the browser recomputes.

    :math:`h_0 = 2166136261`, :math:`h_{i+1} = ((h_i \oplus c_i) \cdot 16777619) \bmod 2^{32}`
    over the characters' codes :math:`c_i` (Fowler-Noll-Vo).
    """
    h = 0x811C9DC5
    for byte in text.encode("ascii"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def b64_array(values: object, dtype: str) -> str:
    r"""Base64 of ``values`` as a little-endian C-ordered array of ``dtype`` (``"float32"``, ``"uint8"``)."""
    array = np.ascontiguousarray(np.asarray(values), dtype=np.dtype(dtype).newbyteorder("<"))
    return base64.b64encode(array.tobytes()).decode("ascii")


def png_base64(image: object) -> str:
    r"""Base64 PNG of an image: (H, W) grey or (H, W, 3) RGB, uint8 or floats in [0, 1]."""
    from PIL import Image  # matplotlib's own dependency

    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(f"expected an image (H, W) or (H, W, 3), got shape {array.shape}")
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def find_book_root(start: str | os.PathLike | None = None) -> Path | None:
    r"""The nearest folder at or above ``start`` (default: the working directory) holding ``_config.yml`` and ``_toc.yml``."""
    folder = Path(start if start is not None else Path.cwd()).resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / "_config.yml").is_file() and (candidate / "_toc.yml").is_file():
            return candidate
    return None


def _keep_inline() -> bool:
    r"""Colab or VS Code (outputs cannot load the kernel's files), or quick mode (not stored)."""
    return "google.colab" in sys.modules or "VSCODE_PID" in os.environ or quick_mode()


def page_bytes() -> int:
    r"""Bytes of interactive data this kernel's page carries so far (one entry per figure name)."""
    return sum(_page.values())


def reset_page() -> None:
    r"""Forget the figures counted against this kernel's page (a new page, or a test)."""
    _page.clear()


@dataclass(frozen=True)
class InteractiveFigure:
    r"""What :func:`~aigc_course.interactive.assets.make_figure` returns; Jupyter displays its MIME bundle.

    Attributes
    ----------
    name : str
        The figure's name (unique on its page).
    html : str
        The figure's HTML: caption, static image, runtime and mount call.
    png : bytes
        The static image (PDF builds and browsers without JavaScript show it).
    asset : pathlib.Path or None
        The data file written, or ``None`` when the data is inline.
    n_bytes : int
        Bytes the figure adds to its page (data file or inline data, and the static image).
    """

    name: str
    html: str
    png: bytes
    asset: Path | None
    n_bytes: int

    def __repr__(self) -> str:  # also the text/plain output: short, not the HTML
        where = "inline" if self.asset is None else (ASSET_FOLDER / self.asset.name).as_posix()
        return f"InteractiveFigure({self.name!r}, data: {where}, {self.n_bytes:,} bytes)"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {
            "text/plain": repr(self),
            "text/html": self.html,
            "image/png": base64.b64encode(self.png).decode("ascii"),
        }


def _budget(name: str, n_bytes: int) -> None:
    total = sum(v for k, v in _page.items() if k != name) + n_bytes
    if total > PAGE_LIMIT_BYTES:
        raise InteractiveFigureError(
            f"interactive figure {name!r}: this page's interactive data would be {total:,} bytes, "
            f"over the limit of {PAGE_LIMIT_BYTES:,} (this figure: {n_bytes:,}); show fewer "
            "frames or points, or smaller images"
        )


def _write_asset(name: str, path: Path, text: str) -> None:
    script = (
        "/* aigc_course interactive figure data: written by aigc_course.interactive; "
        "regenerate by re-running the notebook cell */\n"
        f"(window.AIGC_ASSETS = window.AIGC_ASSETS || {{}})[{json.dumps(name)}] = "
        f"{json.dumps(text)};\n"
    )
    try:
        with atomic_write(path) as tmp:
            tmp.write_text(script, encoding="ascii")
    except OSError as exc:
        raise InteractiveFigureError(
            f"interactive figure {name!r}: cannot write its data to {path} ({exc}); make the "
            "folder writable, or pass inline=True to keep the data in the notebook"
        ) from exc


def _remove_older(name: str, keep: Path) -> None:
    pattern = re.compile(rf"^{re.escape(name)}-[0-9a-f]{{8}}\.mjs$")
    for old in keep.parent.iterdir():
        if old != keep and pattern.match(old.name):
            old.unlink(missing_ok=True)


def _asset_url(path: Path, page_dir: Path) -> str:
    return Path(os.path.relpath(path, page_dir)).as_posix()


def _page_html(uid: str, spec: dict, caption: str, png_b64: str, alt: str) -> str:
    runtime = _RUNTIME.read_text(encoding="utf-8")
    spec_json = json.dumps(spec).replace("</", "<\\/")
    return (
        f'<div class="aigc-figure" id="{uid}" data-figure="{html.escape(spec["name"])}" '
        'data-state="loading" style="margin:0.5em 0 1em 0">\n'
        f'<div class="aigc-caption" style="font-size:0.9em;margin-bottom:0.4em">'
        f"{html.escape(caption)}</div>\n"
        '<div class="aigc-body"></div>\n'
        '<div class="aigc-message" role="alert" style="display:none;border:1px solid #d62728;'
        'padding:0.4em;margin:0.4em 0;font-size:0.9em"></div>\n'
        f'<img class="aigc-fallback" alt="{html.escape(alt)}" style="max-width:100%" '
        f'src="data:image/png;base64,{png_b64}">\n'
        "<noscript><div>This figure is interactive in a browser with JavaScript; "
        "the image above is its static version.</div></noscript>\n"
        f"</div>\n<script>\n{runtime}\nwindow.AIGC_INTERACTIVE.mount({json.dumps(uid)}, "
        f"{spec_json});\n</script>\n"
    )


def make_figure(
    name: str,
    kind: str,
    payload: dict,
    png: bytes,
    *,
    caption: str,
    alt: str = "",
    inline: bool | None = None,
    book_root: str | os.PathLike | None = None,
    page_dir: str | os.PathLike | None = None,
) -> InteractiveFigure:
    r"""Write a figure's data (or inline it) and build its HTML.

    Parameters
    ----------
    name : str
        Lower-case letters, digits and dashes (at most 64): the data file's name and the key
        under which the browser exposes the figure (``window.AIGC_FIGURES[name]``).
    kind : str
        ``"latent_explorer"`` or ``"frame_player"``.
    payload : dict
        JSON-serialisable data the kind's JavaScript reads.
    png : bytes
        The static image.
    caption : str
        One line: what the reader sees, and where the numbers come from.
    alt : str
        Alternative text of the static image (default: the caption).
    inline : bool or None
        ``True``: data inside the HTML; ``False``: in a data file of the book; ``None``: a
        data file when a book root is found (and neither Colab, VS Code nor quick mode is
        on), else inline.
    book_root, page_dir : path-like or None
        The book's root folder (default:
        :func:`~aigc_course.interactive.assets.find_book_root`) and the folder of the page's
        notebook (default: the working directory, where Jupyter runs a notebook).

    Raises
    ------
    InteractiveFigureError
        If the page's data would exceed
        :data:`~aigc_course.interactive.assets.PAGE_LIMIT_BYTES`, or the data file cannot be
        written; the message names the figure.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"name must be lower-case letters, digits and dashes (at most 64), got {name!r}"
        )
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    text = json.dumps(payload, separators=(",", ":"))
    root = Path(book_root) if book_root is not None else find_book_root(page_dir)
    if inline is False and root is None:
        raise InteractiveFigureError(
            f"interactive figure {name!r}: inline=False needs a Jupyter Book root "
            "(_config.yml and _toc.yml) at or above the working directory, or book_root=..."
        )
    reachable = root is not None and not _keep_inline()
    use_file = reachable if inline is None else not inline
    png_b64 = base64.b64encode(png).decode("ascii")
    n_bytes = len(text) + len(png_b64)
    _budget(name, n_bytes)
    spec = {"name": name, "kind": kind, "length": len(text), "hash": fnv1a32(text)}
    asset = None
    if use_file:
        asset = root / ASSET_FOLDER / f"{name}-{spec['hash']:08x}.mjs"
        _write_asset(name, asset, text)
        _remove_older(name, asset)
        spec["src"] = _asset_url(asset, Path(page_dir) if page_dir is not None else Path.cwd())
    else:
        spec["inline"] = text
    _shown[name] = _shown.get(name, 0) + 1  # the same data twice on a page: distinct ids
    uid = f"aigc-{name}-{spec['hash']:08x}-{_shown[name]}"
    page = _page_html(uid, spec, caption, png_b64, alt or caption)
    _page[name] = n_bytes
    return InteractiveFigure(name, page, png, asset, n_bytes)
