r"""Chinese search: Sphinx segments Chinese text only when jieba is importable (it silently indexes
no Chinese word otherwise), and finds a term only when the segmenter keeps it whole, which the zh
build's user dictionary (``search-dict.txt``, from ``zh/terminology.yml``) ensures.

The first test builds a two-page Sphinx project with the zh build's search settings (seconds);
the second reads the built book's index, after ``bash tools/build-book.sh`` (skipped before).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILT = ROOT / "_build" / "html" / "zh" / "searchindex.js"


def _zh():
    sys.path.insert(0, str(ROOT / "tools"))
    spec = importlib.util.spec_from_file_location("zh", ROOT / "tools" / "zh.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def read_index(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    return json.loads(text[text.index("(") + 1 : text.rindex(")")])


def pages_for(index: dict, query: str) -> set[str]:
    r"""The pages the browser's search finds for ``query`` (whole term or a term containing it)."""
    found: set[str] = set()
    for table in (index["terms"], index["titleterms"]):
        for term, docs in table.items():
            if query == term or (len(query) > 2 and query in term):
                found |= {index["docnames"][d] for d in ([docs] if isinstance(docs, int) else docs)}
    return found


def test_jieba_is_a_book_build_dependency():
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"jieba>=' in pyproject and "jieba>=" in (ROOT / "environment.yml").read_text("utf-8")


def test_a_zh_build_indexes_whole_chinese_terms(tmp_path):
    pytest.importorskip("jieba", reason="jieba (a book-build dependency) is not installed")
    from sphinx.application import Sphinx

    src = tmp_path / "src"
    src.mkdir()
    (src / "search-dict.txt").write_text(
        _zh().search_dictionary(ROOT / "zh" / "terminology.yml"), encoding="utf-8"
    )
    (src / "conf.py").write_text(
        "language = 'zh_CN'\nhtml_search_language = 'zh'\n"
        f"html_search_options = {{'dict': {str(src / 'search-dict.txt')!r}}}\n",
        encoding="utf-8",
    )
    (src / "index.rst").write_text(
        "首页\n====\n\n.. toctree::\n\n   gan\n   diffusion\n", encoding="utf-8"
    )
    (src / "gan.rst").write_text(
        "生成对抗网络\n============\n\n生成对抗网络由生成器和判别器组成。\n", encoding="utf-8"
    )
    (src / "diffusion.rst").write_text(
        "扩散\n====\n\n扩散模型逐步去噪，从噪声得到图像。\n", encoding="utf-8"
    )
    app = Sphinx(src, src, tmp_path / "html", tmp_path / "doctrees", "html", status=None)
    app.build()
    index = read_index(tmp_path / "html" / "searchindex.js")
    # (The index page lists the other pages' titles in its toctree.)
    assert pages_for(index, "扩散模型") - {"index"} == {"diffusion"}
    assert pages_for(index, "生成对抗网络") - {"index"} == {"gan"}
    assert pages_for(index, "判别器") == {"gan"}


@pytest.mark.skipif(not BUILT.exists(), reason="the zh book is not built (tools/build-book.sh)")
@pytest.mark.parametrize(
    ("query", "page"),
    [
        ("扩散模型", "book/diffusion"),
        ("生成对抗网络", "book/gan"),
        ("生成对抗网络", "book/glossary"),
    ],
)
def test_the_built_zh_book_finds_the_chapters(query, page):
    # A page shows English until its zh/<page>.md exists (the glossary has the Chinese terms).
    zh_file = ROOT / "zh" / (page.split("/")[1] + ".md")
    if page != "book/glossary" and not zh_file.exists():
        pytest.skip(f"{zh_file.name} is not translated yet")
    assert page in pages_for(read_index(BUILT), query)
