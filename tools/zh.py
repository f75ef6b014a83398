r"""The Chinese edition (中文版): status, check, build and diff of the zh/ text layer.

The English book (``book/``) is the source of truth; ``zh/<page>.md`` holds the Chinese blocks of
one page in the format of ``tools/zh_blocks.py`` (keyed by cell id or section, with the hash of the
English source they translate). Status is derived from the hashes, never stored::

    python tools/zh.py status              per page: current / stale / missing / orphan / draft / reviewed
    python tools/zh.py check [--strict]    the CI gate (below); --strict also fails on warnings
    python tools/zh.py build [--out DIR]   the Chinese Jupyter Book project (default _build/zh-src)
    python tools/zh.py diff PAGE [ID]      what changed in English since each stale block's hash

``check`` fails (exit 1) on a zh file that is malformed (header, state, a second block for one
id, text outside a block), on an orphan block (its id is gone from the English page), on a
current block that drops or changes what must survive translation (glue roles and figures,
``(label)=`` lines, heading levels, ref/numref/doc/eq targets, cite keys, glossary term
targets, ``$$`` and ``\begin`` math, directive names, exercise/solution markers,
literalinclude lines) or has bold/italic markers that will not render, on a term to avoid (``zh/terminology.yml``), and when a built Chinese
notebook's code cells or outputs differ from the English ones (it builds them in memory). Stale
and missing blocks and terminology mismatches are warnings. ``build`` refuses a page with any of
these errors but the terms, naming the file and the block, and then writes nothing.

The build writes deep copies of the English notebooks in which only markdown sources are
replaced (code cells, outputs, ids, tags, metadata and widget state untouched; the jupytext
pairing dropped), Markdown pages section by section, the config (``language: zh_CN``) and the
toc generated from ``_config.yml`` and ``_toc.yml``. A stale or missing block shows the English
text, and its page gets a note at the top. Files are written atomically, and only when changed.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import zh_blocks as zb  # noqa: E402

ROOT = zb.ROOT
NOTE = "本页有 {n} 段尚未随英文版更新，暂以英文显示。"
NOTE_ID = "zh-stale-note"
TITLE = "从零开始：图像生成式人工智能"
CAPTIONS = {"Chapters": "章节", "Reference": "参考"}
API_PAGE = "api/aigc_course/index"
ZH_BRANCH = "zh-notebooks"

# What must survive translation: (kind, pattern, group whose text is compared).
INVARIANTS = [
    ("glue role", re.compile(r"\{glue(?::\w+)?\}`[^`]*`"), 0),
    ("heading level", re.compile(r"^(#{1,6}) ", re.M), 1),
    ("label", re.compile(r"^[ \t]*\(([^()\s]+)\)=[ \t]*$", re.M), 1),
    ("reference", re.compile(r"\{(?:ref|numref|doc|eq)\}`(?:[^`<]*<)?([^`<>]+)>?`"), 1),
    ("glossary term", re.compile(r"\{term\}`(?:[^`<]*<)?([^`<>]+)>?`"), 1),
    ("math block", re.compile(r"\$\$(.+?)\$\$", re.S), 1),
    ("math environment", re.compile(r"\\begin\{([^}]+)\}"), 1),
    ("directive", re.compile(r"^[ \t]*(?:`{3,}|~{3,}|:{3,})\{([\w:-]+)\}", re.M), 1),
    (
        "exercise/solution marker",
        re.compile(r"^[ \t]*`{3,}(\{(?:exercise|solution)-(?:start|end)\}.*)$", re.M),
        1,
    ),
    ("literalinclude", re.compile(r"^[ \t]*`{3,}(\{literalinclude\}.*(?:\n[ \t]*:.*)*)", re.M), 1),
]
CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]*)`")


@dataclass
class PageStatus:
    """The derived status of one page's Chinese blocks."""

    page: Path
    current: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    orphan: list[str] = field(default_factory=list)
    states: Counter = field(default_factory=Counter)


def invariants(text: str) -> Counter:
    """The multiset of (kind, text) that a translation must keep from its English block."""
    found: Counter = Counter()
    for kind, pattern, group in INVARIANTS:
        for match in pattern.finditer(text):
            found[(kind, " ".join(match.group(group).split()))] += 1
    for match in CITE.finditer(text):
        for key in match.group(1).split(","):
            found[("cite key", key.strip())] += 1
    return found


def invariant_errors(english: str, chinese: str) -> list[str]:
    """What the Chinese text drops from, or adds to, the English block's invariants."""
    en, zh = invariants(english), invariants(chinese)
    dropped = [f"drops {kind} {text!r}" for (kind, text), n in (en - zh).items() for _ in range(n)]
    added = [f"adds {kind} {text!r}" for (kind, text), n in (zh - en).items() for _ in range(n)]
    return dropped + added


_MATH_OR_CODE = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$|`+[^`]*`+|```.*?```", re.S)


def emphasis_errors(chinese: str) -> list[str]:
    """Bold/italic markers that CommonMark leaves as literal asterisks.

    Next to CJK text, ``**`` before a punctuation mark (a role's ``{``, a full-width bracket) is
    not left-flanking unless a space or punctuation precedes it, so ``的**{term}`x`**`` renders
    the asterisks; the fix is a space before the opening marker.
    """
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(_MATH_OR_CODE.sub("M", chinese))
    found = []
    for token in (t for t in tokens if t.type == "inline"):
        for child in token.children or []:
            text = child.content if child.type == "text" else ""
            at = text.find("*")
            if at >= 0 and not text[at + 1 : at + 2].isspace():
                found.append(f"unrendered emphasis marker near {text[max(0, at - 8) : at + 10]!r}")
    return found


def toc_pages(root: Path = ROOT) -> list[str]:
    """The book's pages in toc order (``book/intro`` ...), without the generated API pages."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [c["file"] for c in part.get("chapters", []) if "file" in c]
    return [p for p in pages if not p.startswith("api/")]


def page_source(root: Path, page: str) -> Path:
    """The English source of a toc page: ``<page>.ipynb`` or ``<page>.md``."""
    for ext in (".ipynb", ".md"):
        if (root / (page + ext)).exists():
            return root / (page + ext)
    raise FileNotFoundError(f"no {page}.ipynb or {page}.md under {root}")


def zh_file(zh_dir: Path, source: Path) -> Path:
    return zh_dir / (source.stem + ".md")


def load(zh_dir: Path, source: Path) -> zb.ZhPage | None:
    """The parsed zh file of ``source``, or None when there is none yet."""
    path = zh_file(zh_dir, source)
    return zb.parse_zh(path) if path.exists() else None


def status(source: Path, zh: zb.ZhPage | None) -> PageStatus:
    """Classify every block: current, stale, missing (absent or empty), orphan."""
    result = PageStatus(source)
    english = {b.id: b for b in zb.english_blocks(source)}
    ours = {b.id: b for b in zh.blocks} if zh else {}
    for block_id, block in english.items():
        mine = ours.get(block_id)
        if mine is None or not mine.text.strip():
            result.missing.append(block_id)
        elif mine.sha == block.sha:
            result.current.append(block_id)
        else:
            result.stale.append(block_id)
        if mine is not None and mine.text.strip():
            result.states[mine.state] += 1
    result.orphan = [b for b in ours if b not in english]
    return result


def translations(source: Path, zh: zb.ZhPage | None) -> tuple[dict[str, str], int]:
    """The current Chinese texts by id, and how many English blocks show in English."""
    st = status(source, zh)
    if st.orphan:
        raise zb.ZhFormatError(
            f"{zh.path}: block {st.orphan[0]}: unknown id (no such cell or section in {source})"
        )
    texts = {b.id: b.text for b in zh.blocks if b.id in st.current} if zh else {}
    english = {b.id: b.text for b in zb.english_blocks(source)} if texts else {}
    for block in (b for b in zh.blocks if b.id in texts) if zh else ():
        problems = invariant_errors(english[block.id], block.text)
        if problems:
            raise zb.ZhFormatError(f"{zh.path}:{block.line}: block {block.id}: {problems[0]}")
    return texts, len(st.stale) + len(st.missing)


def _note_markup(n: int) -> str:
    return f":::{{note}}\n{NOTE.format(n=n)}\n:::\n"


def _with_note(text: str, n: int) -> str:
    """``text`` with the note after its first ``#`` heading (or at its start)."""
    match = re.search(r"^# .*$", text, re.M)
    at = match.end() + 1 if match else 0
    return text[:at].rstrip("\n") + ("\n\n" if at else "") + _note_markup(n) + "\n" + text[at:]


def build_notebook(source: Path, zh: zb.ZhPage | None) -> dict:
    """The Chinese notebook: a deep copy of the English one with markdown sources replaced."""
    english = json.loads(source.read_text(encoding="utf-8"))
    texts, untranslated = translations(source, zh)
    nb = copy.deepcopy(english)
    nb.get("metadata", {}).pop("jupytext", None)
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and cell.get("id") in texts:
            cell["source"] = texts[cell["id"]].splitlines(keepends=True)
    if untranslated:
        markdown = [c for c in nb["cells"] if c["cell_type"] == "markdown"]
        target = next((c for c in markdown if re.search(r"^# ", "".join(c["source"]), re.M)), None)
        if target is None:
            target = {"cell_type": "markdown", "id": NOTE_ID, "metadata": {}, "source": []}
            nb["cells"].insert(0, target)
        target["source"] = _with_note("".join(target["source"]), untranslated).splitlines(True)
    return nb


def build_markdown(source: Path, zh: zb.ZhPage | None) -> str:
    """The Chinese Markdown page: every section replaced by its current translation."""
    texts, untranslated = translations(source, zh)
    parts = []
    for block in zb.english_blocks(source):
        text = block.text
        if block.id in texts:
            tail = text[len(text.rstrip("\n")) :] or "\n"
            text = texts[block.id].rstrip("\n") + tail
        parts.append(text)
    page = "".join(parts)
    return _with_note(page, untranslated) if untranslated else page


def notebook_text(nb: dict) -> str:
    """A notebook as nbformat writes it (sorted keys, one-space indent, UTF-8 kept)."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_atomic(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically (temp file, fsync, rename); False if unchanged."""
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def build_page(source: Path, zh: zb.ZhPage | None) -> str:
    """The text of the Chinese version of one page (notebook JSON or Markdown)."""
    if source.suffix == ".ipynb":
        return notebook_text(build_notebook(source, zh))
    return build_markdown(source, zh)


def code_differences(english: dict, chinese: dict) -> list[str]:
    """Where the Chinese notebook's code cells (source, outputs, metadata) differ from English."""

    def code(nb: dict) -> list[str]:
        return [json.dumps(c, sort_keys=True) for c in nb["cells"] if c["cell_type"] == "code"]

    en, zh = code(english), code(chinese)
    if len(en) != len(zh):
        return [f"{len(zh)} code cells, the English notebook has {len(en)}"]
    ids = [c.get("id") for c in english["cells"] if c["cell_type"] == "code"]
    return [f"code cell {i} differs" for i, a, b in zip(ids, en, zh, strict=True) if a != b]


# --- terminology --------------------------------------------------------------------------

QUOTED = re.compile(r"“[^”]*”|「[^」]*」|‘[^’]*’")
MARKUP = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$\n]*\$|<[^>]+>|\{[\w:-]+\}", re.S)


def load_terminology(path: Path) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``zh/terminology.yml``: {English term: [Chinese terms]}, {term to avoid: why}."""
    if not path.exists():
        return {}, {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    terms = {}
    for en, zh in (data.get("terms") or {}).items():
        terms[en] = [zh] if isinstance(zh, str) else list(zh)
    return terms, dict(data.get("avoid") or {})


def term_problems(english: str, chinese: str, terminology: tuple) -> tuple[list[str], list[str]]:
    """(errors: terms to avoid in the Chinese text, warnings: listed translations not used)."""
    terms, avoid = terminology
    # An avoided term may be quoted (the source article's wording, in quotation marks) and may
    # stand where the English block itself has it (the glossary lists the article's terms).
    unquoted = QUOTED.sub(" ", chinese)
    errors = [
        f"uses {bad!r} ({why})"
        for bad, why in avoid.items()
        if bad in unquoted and bad not in english
    ]
    prose = MARKUP.sub(" ", english)
    warnings = [
        f"the English has {en!r}, the Chinese none of {zh}"
        for en, zh in terms.items()
        if re.search(rf"(?<![\w-]){re.escape(en)}(?:s|es)?(?![\w-])", prose, re.I)
        and not any(z in chinese for z in zh)
    ]
    return errors, warnings


# --- check --------------------------------------------------------------------------------


def _rel(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def check_page(root: Path, zh_dir: Path, page: str, terminology: tuple) -> tuple[list, list]:
    """(errors, warnings) of one toc page's zh file."""
    source = page_source(root, page)
    name = _rel(zh_file(zh_dir, source), root)
    try:
        zh = load(zh_dir, source)
    except zb.ZhFormatError as exc:
        return [str(exc)], []
    if zh is None:
        return [], [f"{name}: no translation yet"]
    errors, warnings = [], []
    if zh.page != _rel(source, root):
        errors.append(f"{name}: its zh-page line names {zh.page}, not {_rel(source, root)}")
    st = status(source, zh)
    errors += [f"{name}: block {b}: unknown id, an orphan (not in {page})" for b in st.orphan]
    warnings += [f"{name}: block {b}: stale (the English changed: zh.py diff)" for b in st.stale]
    warnings += [f"{name}: block {b}: missing" for b in st.missing]
    english = {b.id: b.text for b in zb.english_blocks(source)}
    for block in (b for b in zh.blocks if b.id in st.current):
        where = f"{name}:{block.line}: block {block.id}"
        errors += [f"{where}: {e}" for e in invariant_errors(english[block.id], block.text)]
        errors += [f"{where}: {e}" for e in emphasis_errors(block.text)]
        bad, loose = term_problems(english[block.id], block.text, terminology)
        errors += [f"{where}: {e}" for e in bad]
        warnings += [f"{where}: terminology: {w}" for w in loose]
    if source.suffix == ".ipynb" and not errors:
        built = build_notebook(source, zh)
        original = json.loads(source.read_text(encoding="utf-8"))
        errors += [f"{name}: built notebook: {d}" for d in code_differences(original, built)]
    return errors, warnings


def check(root: Path, zh_dir: Path) -> tuple[list[str], list[str]]:
    """(errors, warnings) of every zh file; a zh file for no toc page is an error."""
    terminology = load_terminology(terminology_file(root, zh_dir))
    errors, warnings = [], []
    pages = toc_pages(root)
    for page in pages:
        e, w = check_page(root, zh_dir, page, terminology)
        errors += e
        warnings += w
    known = {page_source(root, p).stem + ".md" for p in pages} | NOT_PAGES
    for path in sorted(zh_dir.glob("*.md")) if zh_dir.is_dir() else []:
        if path.name not in known:
            errors.append(f"{_rel(path, root)}: orphan file (no page {path.stem} in _toc.yml)")
    return errors, warnings


NOT_PAGES = {"STYLE.md", "README.md"}


# --- the zh Jupyter Book project ----------------------------------------------------------


def zh_toc(root: Path) -> dict:
    """_toc.yml for the zh edition: the same pages; captions in Chinese."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc.get("parts", []):
        part["caption"] = CAPTIONS.get(part.get("caption"), part.get("caption"))
        for chapter in part.get("chapters", []):
            if chapter.get("file") == API_PAGE:
                chapter["title"] = "API 参考（英文）"
    return toc


def zh_config(root: Path, project: Path) -> dict:
    """_config.yml for the zh edition, from the English one (see the module docstring)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = TITLE
    # Launch buttons open the Chinese notebooks: the Pages workflow publishes them on this branch.
    config.setdefault("repository", {})["branch"] = ZH_BRANCH
    sphinx = config.setdefault("sphinx", {})
    sphinx["local_extensions"] = {
        name: str((root / path).resolve())
        for name, path in (sphinx.get("local_extensions") or {}).items()
    }
    # The API reference is not rebuilt (it is English, and half of the build's time): the zh
    # edition's API page links to the English one.
    sphinx["extra_extensions"] = [
        e for e in sphinx.get("extra_extensions", []) if "autoapi" not in e
    ]
    conf = sphinx.setdefault("config", {})
    for key in [k for k in conf if k.startswith("autoapi_")]:
        del conf[key]
    conf.update(
        {
            "language": "zh_CN",
            "html_search_language": "zh",
            "html_search_options": {"dict": str((project / "search-dict.txt").resolve())},
            "togglebutton_hint": "点击显示",
            "togglebutton_hint_hide": "点击隐藏",
            "nb_code_prompt_show": "显示代码单元",
            "nb_code_prompt_hide": "隐藏代码单元",
            "aigc_language_switch": {"label": "English", "prefix": "../"},
        }
    )
    return config


API_STUB = """\
# API 参考

API 参考由课程包 `aigc_course` 的文档字符串生成，只有英文版：
<a href="{href}">English API reference</a>。
"""


def terminology_file(root: Path, zh_dir: Path) -> Path:
    """``<zh>/terminology.yml``, or the book's ``zh/terminology.yml`` when that folder has none."""
    path = zh_dir / "terminology.yml"
    return path if path.exists() else root / "zh" / "terminology.yml"


def search_dictionary(path: Path) -> str:
    """A jieba user dictionary: the terminology's Chinese terms, so that search finds them."""
    terms, _ = load_terminology(path)
    words = sorted({z for zh in terms.values() for z in zh if not re.search(r"[\s（(]", z)})
    return "".join(f"{w} 100000 n\n" for w in words)


def project_files(root: Path, zh_dir: Path, project: Path) -> dict[Path, str]:
    """Every generated text file of the zh project; raises ZhFormatError before any is written."""
    files: dict[Path, str] = {}
    for page in toc_pages(root):
        source = page_source(root, page)
        files[project / _rel(source, root)] = build_page(source, load(zh_dir, source))
    dump = dict(sort_keys=False, allow_unicode=True)
    files[project / "_config.yml"] = yaml.safe_dump(zh_config(root, project), **dump)
    files[project / "_toc.yml"] = yaml.safe_dump(zh_toc(root), **dump)
    files[project / (API_PAGE + ".md")] = API_STUB.format(
        href="../../../api/aigc_course/index.html"
    )
    files[project / "search-dict.txt"] = search_dictionary(terminology_file(root, zh_dir))
    return files


def build_project(root: Path, zh_dir: Path, project: Path) -> int:
    """Write the zh project into ``project``; return the number of blocks shown in English."""
    files = project_files(root, zh_dir, project)
    for path, text in files.items():
        write_atomic(path, text)
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    for bib in config.get("bibtex_bibfiles", []):
        write_atomic(project / bib, (root / bib).read_text(encoding="utf-8"))
    if (root / "_static").is_dir():
        shutil.copytree(root / "_static", project / "_static", dirs_exist_ok=True)
    link = project / "aigc_course"  # literalinclude ../aigc_course/... from book/
    if not os.path.lexists(link):
        link.symlink_to(os.path.relpath(root / "aigc_course", project))
    untranslated = 0
    for page in toc_pages(root):
        source = page_source(root, page)
        untranslated += translations(source, load(zh_dir, source))[1]
    return untranslated


# --- diff ---------------------------------------------------------------------------------


def old_english(root: Path, source: Path, sha: str, limit: int = 300) -> str | None:
    """The English block text whose hash is ``sha``, from the history of ``source``."""
    rel = _rel(source, root)
    log = subprocess.run(
        ["git", "-C", str(root), "log", f"-{limit}", "--format=%H", "--", rel],
        capture_output=True,
        text=True,
        check=False,
    )
    for commit in log.stdout.split():
        shown = subprocess.run(
            ["git", "-C", str(root), "show", f"{commit}:{rel}"], capture_output=True, check=False
        )
        if shown.returncode:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            old = Path(tmp) / source.name
            old.write_bytes(shown.stdout)
            try:
                blocks = zb.english_blocks(old)
            except (ValueError, KeyError):
                continue
        for block in blocks:
            if block.sha == sha:
                return block.text
    return None


def diff(root: Path, zh_dir: Path, page: str, only: str | None = None) -> str:
    """Unified diffs of the English of each stale block since its translation's hash."""
    source = page_source(root, page)
    zh = load(zh_dir, source)
    st = status(source, zh)
    english = {b.id: b.text for b in zb.english_blocks(source)}
    out = []
    for block in zh.blocks if zh else ():
        if block.id not in st.stale or (only and block.id != only):
            continue
        old = old_english(root, source, block.sha)
        if old is None:
            out.append(f"block {block.id}: old English text not found in git history\n")
            continue
        lines = difflib.unified_diff(
            old.splitlines(True),
            english[block.id].splitlines(True),
            f"{block.id} en-sha={block.sha}",
            f"{block.id} en-sha={zb.sha12(english[block.id])}",
        )
        out.append("".join(lines) + "\n")
    return "".join(out) or "no stale block\n"


# --- command line -------------------------------------------------------------------------


def print_status(root: Path, zh_dir: Path) -> int:
    cols = ("current", "stale", "missing", "orphan", "draft", "reviewed")
    print(f"{'page':28}" + "".join(f"{c:>9}" for c in cols))
    for page in toc_pages(root):
        source = page_source(root, page)
        try:
            st = status(source, load(zh_dir, source))
        except zb.ZhFormatError as exc:
            print(f"{page:28} refused: {exc}")
            continue
        counts = [len(st.current), len(st.stale), len(st.missing), len(st.orphan)]
        counts += [st.states["draft"], st.states["reviewed"]]
        print(f"{page:28}" + "".join(f"{n:>9}" for n in counts))
    return 0


def run_check(root: Path, zh_dir: Path, strict: bool) -> int:
    errors, warnings = check(root, zh_dir)
    for w in warnings:
        print(f"warning: {w}")
    for e in errors:
        print(f"error: {e}")
    failed = bool(errors) or (strict and bool(warnings))
    print(f"zh check: {len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the English book's project")
    parser.add_argument("--zh", type=Path, default=None, help="the zh folder (ROOT/zh)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status")
    sub.add_parser("check").add_argument("--strict", action="store_true")
    sub.add_parser("build").add_argument("--out", type=Path, default=ROOT / "_build" / "zh-src")
    d = sub.add_parser("diff")
    d.add_argument("page", help="a page: book/gan, gan or book/gan.ipynb")
    d.add_argument("id", nargs="?")
    args = parser.parse_args(argv)
    root, zh_dir = args.root, args.zh or args.root / "zh"
    try:
        if args.command == "status":
            return print_status(root, zh_dir)
        if args.command == "check":
            return run_check(root, zh_dir, args.strict)
        if args.command == "build":
            n = build_project(root, zh_dir, args.out)
            print(f"wrote the zh project to {args.out} ({n} block(s) shown in English)")
            return 0
        page = "book/" + Path(args.page).with_suffix("").name
        print(diff(root, zh_dir, page, args.id), end="")
        return 0
    except (zb.ZhFormatError, FileNotFoundError) as exc:
        print(f"zh.py {args.command}: refused: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
