"""Stored chapter outputs name no absolute path of the machine that ran them.

A chapter executed on one machine must not print that machine's folders (``/home/alice/...``,
``/tmp/...``, ``C:\\Users\\...``): they mean nothing to a reader, leak who ran it, and change on every
run. Names relative to a documented root (``$AIGC_DATA_DIR/mnist``, ``~/.cache/aigc_course``) and
URLs are fine. This test reads every ``book/*.ipynb`` and scans the text of every stored output:
streams, ``text/*`` and glued text representations, and error messages and tracebacks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))

# A POSIX absolute path with at least one folder: "/" + name + "/" + name. The slash must not
# follow a letter, digit, ".", ":", "/", "~", "$", "}" or ")" so that URLs (https://host/a/b),
# relative paths (data/mnist/x), home-relative (~/.cache/x), variables ($AIGC_DATA_DIR/mnist) and
# ratios such as "bits/dim/s" or "(x + u)/256" are not taken for paths.
_POSIX = re.compile(r"(?<![\w.:/~$})\\])/[\w.@+-]+(?:/[\w.@+-]*)+")
# A Windows absolute path: a drive letter, ":" and a backslash or slash, then a folder name.
_WINDOWS = re.compile(r"(?<![\w/])[A-Za-z]:[\\/]+[\w .@+-]+[\\/]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def absolute_paths(text: str) -> list[str]:
    """The absolute file paths in ``text`` (POSIX or Windows), in order of appearance."""
    text = _ANSI.sub("", text)
    found = [(m.start(), m.group()) for m in _POSIX.finditer(text)]
    found += [(m.start(), m.group()) for m in _WINDOWS.finditer(text)]
    return [path for _, path in sorted(found)]


def _as_text(value: object) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value)


# What an HTML output does not show as text: its scripts (the interactive figures' runtime and
# data) and base64 data URLs (their static images), whose "/" characters look like paths.
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)
_DATA_URL = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]*")


def _shown_html(text: str) -> str:
    return _DATA_URL.sub("", _SCRIPT.sub("", text))


def output_texts(output: dict) -> list[str]:
    """Every piece of text a stored output shows: stream text, text MIME types, errors."""
    kind = output.get("output_type")
    if kind == "stream":
        return [_as_text(output.get("text", ""))]
    if kind == "error":
        return [
            _as_text(output.get("ename", "")),
            _as_text(output.get("evalue", "")),
            "\n".join(_as_text(line) for line in output.get("traceback", [])),
        ]
    data = output.get("data", {})
    return [
        _shown_html(_as_text(value)) if mime == "text/html" else _as_text(value)
        for mime, value in data.items()
        if mime.startswith("text/") or mime.endswith("/text/plain")
    ]


def path_leaks(notebook: Path) -> list[str]:
    """One line per absolute path found in the notebook's stored outputs."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    leaks = []
    for index, cell in enumerate(nb.get("cells", [])):
        for output in cell.get("outputs", []):
            for text in output_texts(output):
                for path in absolute_paths(text):
                    cell_id = cell.get("id", "?")
                    leaks.append(f"{notebook.name} cell {index} (id {cell_id}): {path}")
    return leaks


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "MNIST test: 10,000 images from /work/shared/data/mnist (AIGC_DATA_DIR)",
            ["/work/shared/data/mnist"],
        ),
        ("saved to /tmp/x.pt", ["/tmp/x.pt"]),
        (
            "cache /root/.cache/aigc_course/mnist, download failed",
            ["/root/.cache/aigc_course/mnist"],
        ),
        (
            'File "/usr/lib/python3.11/json/__init__.py", line 3',
            ["/usr/lib/python3.11/json/__init__.py"],
        ),
        ("\x1b[0;32m/home/alice/aigc/book/gan.py\x1b[0m", ["/home/alice/aigc/book/gan.py"]),
        (r"written to C:\Users\alice\aigc\run.pt", ["C:\\Users\\"]),
        ("written to D:/data/mnist/", ["D:/data/"]),
        ("from $AIGC_DATA_DIR/mnist (AIGC_DATA_DIR)", []),
        ("cache ~/.cache/aigc_course/mnist", []),
        ("see https://github.com/aigc-course/aigc-course/blob/main/README.md", []),
        ("relative: book/_build/html and data/mnist/t10k", []),
        ("0.379 bits/dim, 206.2 nats/image, 1/2, (x + u)/256, and/or", []),
        ("<table><tr><td>1</td></tr></table>", []),
        ("dates like 2026/11/29 and ratios 3/8", []),
    ],
)
def test_absolute_path_detector(text: str, expected: list[str]) -> None:
    assert absolute_paths(text) == expected


def test_leaks_name_notebook_cell_and_path(tmp_path: Path) -> None:
    nb = {
        "cells": [
            {"cell_type": "markdown", "id": "m", "source": "/not/an/output"},
            {
                "cell_type": "code",
                "id": "c1",
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": ["ok\n"]},
                    {
                        "output_type": "execute_result",
                        "data": {"text/plain": ["'/home/bob/x/y'"], "image/png": "iVBOR/x/y"},
                    },
                    {
                        "output_type": "display_data",
                        "data": {
                            "text/html": [
                                '<img src="data:image/png;base64,iVB+/x/y/z=">',
                                "<script>var u = '/files/' + '/a/b';</script>",
                                "<p>saved to /srv/out/x</p>",
                            ]
                        },
                    },
                    {
                        "output_type": "error",
                        "ename": "E",
                        "evalue": "",
                        "traceback": ["/opt/a/b.py"],
                    },
                ],
            },
        ]
    }
    path = tmp_path / "demo.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert path_leaks(path) == [
        "demo.ipynb cell 1 (id c1): /home/bob/x/y",
        "demo.ipynb cell 1 (id c1): /srv/out/x",
        "demo.ipynb cell 1 (id c1): /opt/a/b.py",
    ]


def test_there_are_chapters_to_scan() -> None:
    assert len(NOTEBOOKS) >= 6, NOTEBOOKS


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_stored_outputs_name_no_absolute_path(notebook: Path) -> None:
    leaks = path_leaks(notebook)
    assert not leaks, (
        "stored outputs contain absolute paths of the machine that ran them; print paths "
        "relative to a documented root ($AIGC_DATA_DIR, ~/.cache/aigc_course) and re-execute:\n"
        + "\n".join(leaks)
    )
