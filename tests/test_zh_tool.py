r"""tools/zh.py on a two-page fixture book (tests/fixtures/zh_book): parsing, status, refusals,
check, build (code cells and outputs byte-identical, stale text shown in English with a note,
Markdown pages by section), atomic writes, diff, the generated config and toc."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "zh_book"


def _load(name: str):
    sys.path.insert(0, str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


zh = _load("zh")
zb = zh.zb


@pytest.fixture
def book(tmp_path: Path) -> Path:
    r"""A writable copy of the fixture book."""
    root = tmp_path / "book_root"
    shutil.copytree(FIXTURE, root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def set_md_source(root: Path, cell_id: str, source: str) -> None:
    path = root / "book" / "mini.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    next(c for c in nb["cells"] if c["id"] == cell_id)["source"] = source
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def errors_of(root: Path) -> list[str]:
    return zh.check(root, root / "zh")[0]


# --- parsing and status -------------------------------------------------------------------


def test_parse_reads_page_blocks_states_and_text():
    page = zb.parse_zh(FIXTURE / "zh" / "mini.md")
    assert page.page == "book/mini.ipynb"
    assert [b.id for b in page.blocks] == ["title", "ex", "sol-start", "sol-end", "after"]
    assert {b.state for b in page.blocks} == {"draft"}
    assert page.blocks[-1].text == (
        "## 下一步\n\n随机种子是固定的；见{numref}`fig-mini`和{cite:p}`goodfellow2014`。"
    )


def test_markdown_sections_are_keyed_by_heading_outside_fences():
    ids = [b.id for b in zb.english_blocks(FIXTURE / "book" / "notes.md")]
    assert ids == ["sec-preamble", "sec-notes", "sec-details", "sec-details-2"]


def test_status_counts_current_stale_missing_orphan_and_states(book):
    set_md_source(book, "after", "## What next\n\nChanged English.")
    edit(
        book / "zh" / "mini.md",
        "state=draft -->\n\n`````{exercise-start}",
        "state=reviewed -->\n\n`````{exercise-start}",
    )
    # An empty block (a skeleton's) counts as missing.
    text = (book / "zh" / "mini.md").read_text(encoding="utf-8")
    start = text.index("<!-- zh-block id=sol-end")
    end = text.index("<!-- zh-block id=after")
    header = text[start : text.index("\n", start) + 1]
    (book / "zh" / "mini.md").write_text(
        text[:start] + header + "\n" + text[end:], encoding="utf-8"
    )
    st = zh.status(book / "book" / "mini.ipynb", zb.parse_zh(book / "zh" / "mini.md"))
    assert st.current == ["title", "ex", "sol-start"]
    assert st.stale == ["after"]
    assert st.missing == ["sol-end"]
    assert st.orphan == []
    assert st.states == {"draft": 3, "reviewed": 1}
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "zh.py"), "--root", str(book), "status"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.splitlines()[2].split() == ["book/mini", "3", "1", "1", "0", "3", "1"]


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("id=title en-sha=", "id=nosuchcell en-sha=", "block nosuchcell: unknown id"),
        ("<!-- zh-block id=ex en-sha=", "<!-- zh-block id=ex sha=", "malformed block header"),
        ("id=after en-sha", "id=title en-sha", "block title: a second block for this id"),
        ("state=draft -->\n\n## 下一步", "state=final -->\n\n## 下一步", "bad state 'final'"),
        ("<!-- zh-page: book/mini.ipynb -->", "stray text", "the first line must be"),
    ],
)
def test_build_refuses_a_bad_zh_file_naming_file_and_block(book, old, new, message):
    edit(book / "zh" / "mini.md", old, new)
    with pytest.raises(zb.ZhFormatError, match=message) as info:
        zh.build_project(book, book / "zh", book / "_build" / "zh-src")
    assert "mini.md" in str(info.value)
    assert not (book / "_build" / "zh-src").exists(), "nothing is written when a page is refused"
    assert any(message in e for e in errors_of(book))
    assert zh.main(["--root", str(book), "check"]) == 1


# --- check --------------------------------------------------------------------------------


def test_check_passes_on_the_fixture():
    assert zh.check(FIXTURE, FIXTURE / "zh") == ([], [])


def test_check_passes_partial_translations_of_the_real_book():
    pages = ROOT / "tests" / "fixtures" / "zh_pages"  # two blocks each of gan and diffusion
    errors, warnings = zh.check(ROOT, pages)
    assert errors == []
    assert "tests/fixtures/zh_pages/gan.md: block 76c8a45b: missing" in warnings


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("{glue:text}`mini_loss:.3f`", "0.123", "drops glue role '{glue:text}`mini_loss:.3f`'"),
        ("{glue:text}`mini_loss:.3f`", "{glue:text}`mini_loss:.2f`", "drops glue role"),
        ("(sec-mini)=\n# 迷你", "# 迷你", "drops label 'sec-mini'"),
        ("{numref}`fig-mini`", "{numref}`fig-other`", "drops reference 'fig-mini'"),
        ("{cite:p}`goodfellow2014`。", "。", "drops cite key 'goodfellow2014'"),
        ("$$\nx = 2y - 1\n$$", "$x$", "drops math block 'x = 2y - 1'"),
        ("`````{exercise-end}\n`````", "", "drops exercise/solution marker '{exercise-end}'"),
        ("{solution-start} ex-mini-signed", "{solution-start} ex-other", "drops exercise/solution"),
        ("<GAN>", "<生成对抗网络>", "drops glossary term 'GAN'"),
        ("## 下一步", "### 下一步", "drops heading level '##'"),
        ("扩散模型把", "正则化流把", "uses '正则化流'"),
    ],
)
def test_check_catches_what_a_translation_drops_or_changes(book, old, new, problem):
    edit(book / "zh" / "mini.md", old, new)
    errors = errors_of(book)
    assert any(problem in e and "block " in e and "mini.md:" in e for e in errors), errors
    if "uses" not in problem:  # build refuses the page too (terms are check's alone)
        with pytest.raises(zb.ZhFormatError, match="mini.md:[0-9]+: block "):
            zh.build_project(book, book / "zh", book / "out")


def test_check_finds_orphans_and_warns_on_stale_missing_and_terms(book):
    edit(book / "zh" / "notes.md", "扩散模型{cite:p}", "扩散{cite:p}")  # 扩散模型 not used
    set_md_source(book, "after", "## What next\n\nNew English.")
    (book / "zh" / "extra.md").write_text("<!-- zh-page: book/extra.md -->\n", encoding="utf-8")
    errors, warnings = zh.check(book, book / "zh")
    assert errors == ["zh/extra.md: orphan file (no page extra in _toc.yml)"]
    assert any("block after: stale" in w for w in warnings)
    assert any("terminology" in w and "'diffusion model'" in w for w in warnings), warnings
    assert zh.main(["--root", str(book), "check", "--strict"]) == 1


def test_check_fails_when_a_built_notebook_changes_a_code_cell(book, monkeypatch):
    real = zh.build_notebook

    def tampered(source, page):
        nb = real(source, page)
        nb["cells"][2]["outputs"][0]["text"] = ["hello\n"]
        return nb

    monkeypatch.setattr(zh, "build_notebook", tampered)
    assert errors_of(book) == ["zh/mini.md: built notebook: code cell plot differs"]


# --- build --------------------------------------------------------------------------------


def test_build_replaces_only_markdown_and_keeps_code_cells_byte_identical(book):
    project = book / "_build" / "zh-src"
    assert zh.build_project(book, book / "zh", project) == 0
    en = json.loads((book / "book" / "mini.ipynb").read_text(encoding="utf-8"))
    built = json.loads((project / "book" / "mini.ipynb").read_text(encoding="utf-8"))
    assert [c["id"] for c in built["cells"]] == [c["id"] for c in en["cells"]]
    for a, b in zip(en["cells"], built["cells"], strict=True):
        if a["cell_type"] == "code":
            assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
        else:
            assert a["metadata"] == b["metadata"]
            assert a["source"] != b["source"] or "solution-" in "".join(a["source"])
    assert "jupytext" not in built["metadata"]
    assert built["metadata"]["widgets"] == en["metadata"]["widgets"]
    assert "".join(built["cells"][0]["source"]).startswith("(sec-mini)=\n# 迷你章节\n")
    assert "本页" not in (project / "book" / "mini.ipynb").read_text(encoding="utf-8")
    # The file is the notebook as nbformat writes it: a reader gets the same cells.
    import nbformat

    assert nbformat.read(project / "book" / "mini.ipynb", as_version=4).cells[2].outputs[0].text
    notes = (project / "book" / "notes.md").read_text(encoding="utf-8")
    assert notes.startswith("(notes)=\n# 笔记\n\n标准化流是精确的")
    assert "## 细节\n\n同名的第二节。\n" in notes and "# not a heading: inside a fence" in notes


def test_stale_and_missing_blocks_show_english_and_the_page_note(book):
    set_md_source(book, "after", "## What next\n\nChanged English.")
    notes_zh = book / "zh" / "notes.md"  # its last section's block removed: missing
    text = notes_zh.read_text(encoding="utf-8")
    notes_zh.write_text(
        text.split("\n\n<!-- zh-block id=sec-details-2")[0] + "\n", encoding="utf-8"
    )
    project = book / "_build" / "zh-src"
    assert zh.build_project(book, book / "zh", project) == 2
    nb = json.loads((project / "book" / "mini.ipynb").read_text(encoding="utf-8"))
    first = "".join(nb["cells"][0]["source"])
    assert first.startswith(
        "(sec-mini)=\n# 迷你章节\n\n:::{note}\n本页有 1 段尚未随英文版更新，暂以英文显示。"
    )
    assert "".join(nb["cells"][-1]["source"]) == "## What next\n\nChanged English."
    notes = (project / "book" / "notes.md").read_text(encoding="utf-8")
    assert "本页有 1 段尚未随英文版更新" in notes
    assert notes.endswith("## Details\n\nThe second section with this heading.\n")


def test_build_writes_atomically_and_only_changed_files(book, monkeypatch):
    project = book / "_build" / "zh-src"
    zh.build_project(book, book / "zh", project)
    target = project / "book" / "mini.ipynb"
    before, mtime = target.read_bytes(), target.stat().st_mtime_ns
    zh.build_project(book, book / "zh", project)
    assert target.stat().st_mtime_ns == mtime, "an unchanged page is not rewritten"

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(zh.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        zh.write_atomic(target, before.decode("utf-8").replace("迷你章节", "新标题"))
    assert target.read_bytes() == before, "a failed write leaves the old file whole"
    assert not list(target.parent.glob(".*.tmp")), "no temporary file left behind"


def test_generated_config_and_toc(book):
    project = book / "_build" / "zh-src"
    zh.build_project(book, book / "zh", project)
    config = yaml.safe_load((project / "_config.yml").read_text(encoding="utf-8"))
    conf = config["sphinx"]["config"]
    assert conf["language"] == "zh_CN" and conf["html_search_language"] == "zh"
    assert conf["aigc_language_switch"] == {"label": "English", "prefix": "../"}
    assert config["repository"]["branch"] == zh.ZH_BRANCH
    assert "autoapi.extension" not in config["sphinx"]["extra_extensions"]
    assert not any(k.startswith("autoapi_") for k in conf)
    assert Path(config["sphinx"]["local_extensions"]["sphinx_book"]).is_absolute()
    assert (project / "book" / "references.bib").read_bytes() == (
        book / "book" / "references.bib"
    ).read_bytes()
    assert "../../../api/aigc_course/index.html" in (project / zh.API_PAGE).with_suffix(
        ".md"
    ).read_text(encoding="utf-8")
    assert "扩散模型 100000 n" in (project / "search-dict.txt").read_text(encoding="utf-8")


def _toc_files(toc: dict) -> list[str]:
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c.get("file") for c in part["chapters"]]
    return files


@pytest.mark.parametrize("root", [FIXTURE, ROOT], ids=["fixture", "book"])
def test_the_zh_toc_has_the_english_pages_in_the_same_order(root):
    en = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    ours = zh.zh_toc(root)
    assert _toc_files(ours) == _toc_files(en)
    assert [p["caption"] for p in ours["parts"]] == ["章节", "参考"]
    assert [f for f in _toc_files(en) if not f.startswith("api/")] == zh.toc_pages(root)


# --- diff ---------------------------------------------------------------------------------


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_diff_shows_what_changed_since_the_translation(book):
    _git(book, "init", "-q")
    _git(book, "-c", "user.name=t", "-c", "user.email=t@t", "add", ".")
    _git(book, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    set_md_source(book, "after", "## What next\n\nThe seed is fixed; see the figure.")
    _git(book, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "two")
    out = zh.diff(book, book / "zh", "book/mini")
    assert "-The seed is fixed; see {numref}`fig-mini`" in out
    assert "+The seed is fixed; see the figure." in out
    # A hash that no version of the page had:
    path = book / "zh" / "mini.md"
    path.write_text(
        re.sub(r"id=after en-sha=[0-9a-f]{12}", "id=after en-sha=" + "0" * 12, path.read_text()),
        encoding="utf-8",
    )
    assert zh.diff(book, book / "zh", "book/mini") == (
        "block after: old English text not found in git history\n"
    )


# --- language switch ----------------------------------------------------------------------


def test_every_page_links_to_its_twin_in_the_other_edition():
    book_ext = _load("sphinx_book")
    assert book_ext.twin_href("book/gan", "zh/") == "../zh/book/gan.html"
    assert book_ext.twin_href("book/gan", "../") == "../../book/gan.html"
    assert book_ext.twin_href("index", "zh/") == "zh/index.html"
    # API pages exist only in English: they link to the Chinese API page.
    api = "api/aigc_course/metrics/index"
    assert book_ext.twin_href(api, "zh/") == "../../../zh/api/aigc_course/index.html"
    en = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert en["sphinx"]["config"]["aigc_language_switch"] == {"label": "中文", "prefix": "zh/"}

    class App:
        class config:  # noqa: N801
            aigc_language_switch = {"label": "English", "prefix": "../"}

    context = {"body": "<h1>生成对抗网络</h1>", "metatags": ""}
    book_ext.add_language_switch(App, "book/gan", "page.html", context, None)
    assert context["body"].startswith('<p class="aigc-language-switch"')
    assert 'href="../../book/gan.html" hreflang="en"' in context["body"]
    assert context["body"].endswith("<h1>生成对抗网络</h1>")


def test_check_names_emphasis_that_commonmark_would_print_as_asterisks():
    # CommonMark: "**" after a CJK character and before "{" is not left-flanking, so the
    # reader would see the asterisks; a space before it (or plain text inside) renders.
    bad = "微缩版的**{term}`潜在扩散 <Latent diffusion>`**（latent diffusion）"
    assert zh.emphasis_errors(bad) and "unrendered emphasis" in zh.emphasis_errors(bad)[0]
    assert (
        zh.emphasis_errors("微缩版的 **{term}`潜在扩散 <Latent diffusion>`**（latent diffusion）")
        == []
    )
    assert zh.emphasis_errors("这是**加粗**的字，*斜体*也行；$a * b$ 和 `x**2` 不算。") == []
    assert zh.emphasis_errors("- 列表项\n* 另一项\n") == []
