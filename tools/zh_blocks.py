"""The Chinese edition's text layer: English source blocks, their hashes, and zh/ block files.

A *block* is one unit of English prose that one Chinese text replaces:

- in a notebook page (``book/<page>.ipynb``), a markdown cell, keyed by its cell id;
- in a Markdown page (``book/<page>.md``), a section that starts at a heading line (``#`` ...
  outside fenced code and directives), keyed ``sec-<slug of the heading>`` (``sec-<slug>-2`` for a
  repeated heading, ``sec-preamble`` for text before the first heading).

The Chinese text of a page lives in ``zh/<page>.md``::

    <!-- zh-page: book/gan.ipynb -->

    <!-- zh-block id=9f2c6e1a en-sha=0123456789ab state=draft -->
    中文 Markdown ...

``en-sha`` is the first 12 hex digits of the SHA-256 of the English block's source (UTF-8) that the
translation was made against; ``state`` is ``draft`` or ``reviewed``. Status is derived, never
stored: current (hash equal), stale (hash differs), missing (no block), orphan (id gone).

    python tools/zh_blocks.py english book/gan.ipynb     print every English block with id and hash
    python tools/zh_blocks.py skeleton book/gan.ipynb    write zh/gan.md with empty blocks (never overwrites)
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZH = ROOT / "zh"
STATES = ("draft", "reviewed")
HEADER = re.compile(
    r"^<!-- zh-block id=(?P<id>\S+) en-sha=(?P<sha>[0-9a-f]{12}) state=(?P<state>\w+) -->$"
)
PAGE = re.compile(r"^<!-- zh-page: (?P<page>\S+) -->$")


@dataclass(frozen=True)
class Block:
    """One English block: its key, the hash of its source and the source itself."""

    id: str
    sha: str
    text: str


def sha12(text: str) -> str:
    """First 12 hex digits of the SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _slug(heading: str) -> str:
    words = re.sub(r"[^0-9a-z\u4e00-\u9fff]+", "-", heading.lower()).strip("-")
    return words or "untitled"


def _sections(text: str) -> list[tuple[str, str]]:
    """Split Markdown at heading lines outside fences; [(heading or '', section source)]."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    fence = None
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        mark = re.match(r"(`{3,}|~{3,}|:{3,})", stripped)
        if fence is None and mark:
            fence = mark.group(1)
        elif fence is not None and stripped.rstrip() == fence:
            fence = None
        elif fence is None and re.match(r"#{1,6} ", line):
            sections.append((line.lstrip("#").strip(), []))
        sections[-1][1].append(line)
    return [(h, "".join(lines)) for h, lines in sections if "".join(lines).strip()]


def english_blocks(page: Path) -> list[Block]:
    """The English blocks of one page (a notebook or a Markdown file), in page order."""
    page = Path(page)
    if page.suffix == ".ipynb":
        nb = json.loads(page.read_text(encoding="utf-8"))
        return [
            Block(cell["id"], sha12(src), src)
            for cell in nb["cells"]
            if cell["cell_type"] == "markdown"
            for src in ["".join(cell["source"])]
        ]
    blocks, seen = [], {}
    for heading, src in _sections(page.read_text(encoding="utf-8")):
        key = "sec-" + (_slug(heading) if heading else "preamble")
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key += f"-{seen[key]}"
        blocks.append(Block(key, sha12(src), src))
    return blocks


def zh_path(page: Path) -> Path:
    """Where the Chinese blocks of ``book/<page>.<ext>`` live: ``zh/<page>.md``."""
    return ZH / (Path(page).stem + ".md")


def skeleton(page: Path) -> str:
    """A zh file for ``page`` with one empty draft block per English block."""
    rel = Path(page).resolve().relative_to(ROOT).as_posix()
    parts = [f"<!-- zh-page: {rel} -->\n"]
    for b in english_blocks(page):
        parts.append(f"\n<!-- zh-block id={b.id} en-sha={b.sha} state=draft -->\n\n")
    return "".join(parts)


class ZhFormatError(ValueError):
    """A zh file the tool refuses; the message names the file, the block and the line."""


@dataclass(frozen=True)
class ZhBlock:
    """One Chinese block of a zh file: the English block it translates and its text."""

    id: str
    sha: str
    state: str
    text: str
    line: int


@dataclass(frozen=True)
class ZhPage:
    """A parsed ``zh/<page>.md``: the English page it translates and its blocks, in file order."""

    path: Path
    page: str
    blocks: tuple[ZhBlock, ...]


LOOSE_HEADER = re.compile(r"^\s*<!--\s*zh-block\b")


def _header(path: Path, number: int, line: str, seen: set[str]) -> tuple[str, str, str]:
    """The (id, sha, state) of a header line; ZhFormatError for a malformed or repeated one."""
    match = HEADER.match(line.rstrip("\n"))
    if match is None:
        raise ZhFormatError(
            f"{path}:{number}: malformed block header {line.strip()!r} (expected "
            "'<!-- zh-block id=ID en-sha=12 hex digits state=draft|reviewed -->')"
        )
    block_id, sha, state = match.group("id", "sha", "state")
    if state not in STATES:
        raise ZhFormatError(
            f"{path}:{number}: block {block_id}: bad state {state!r} (draft or reviewed)"
        )
    if block_id in seen:
        raise ZhFormatError(f"{path}:{number}: block {block_id}: a second block for this id")
    seen.add(block_id)
    return block_id, sha, state


def parse_zh(path: Path) -> ZhPage:
    """Read and check a zh file; raise :class:`ZhFormatError` naming the file, block and line.

    Refused: no ``zh-page`` line first, text outside a block, a malformed header, a bad state,
    two blocks for one id. A block's text is what follows its header up to the next header,
    without the blank lines around it.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    page = PAGE.match(lines[first].strip()) if first is not None else None
    if page is None:
        raise ZhFormatError(f"{path}:1: the first line must be '<!-- zh-page: book/<page> -->'")
    blocks: list[ZhBlock] = []
    seen: set[str] = set()
    current: list | None = None  # [id, sha, state, line number, text lines]
    for number, line in enumerate(lines[first + 1 :], start=first + 2):
        if LOOSE_HEADER.match(line):
            if current is not None:
                blocks.append(_block(current))
            current = [*_header(path, number, line, seen), number, []]
        elif current is not None:
            current[4].append(line)
        elif line.strip():
            raise ZhFormatError(f"{path}:{number}: text outside a block (before the first header)")
    if current is not None:
        blocks.append(_block(current))
    return ZhPage(path, page.group("page"), tuple(blocks))


def _block(current: list) -> ZhBlock:
    block_id, sha, state, number, text = current
    return ZhBlock(block_id, sha, state, "".join(text).strip("\n").rstrip(), number)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("english", "skeleton"):
        print(__doc__)
        return 2
    page = Path(argv[1])
    if argv[0] == "english":
        for b in english_blocks(page):
            print(f"===== id={b.id} en-sha={b.sha}\n{b.text}\n")
        return 0
    out = zh_path(page)
    if out.exists():
        print(f"{out.relative_to(ROOT)} exists; not overwritten")
        return 1
    out.parent.mkdir(exist_ok=True)
    out.write_text(skeleton(page), encoding="utf-8")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
