r"""A local Sphinx extension for the book, named in _config.yml (``local_extensions``).

1. API reference (sphinx-autoapi): a package that re-exports a function under the name of one of
   its own submodules (the function ``aigc_course.losses.ssim`` and the module
   ``aigc_course.losses.ssim``) would be documented twice under one name; such a re-export is
   skipped, and the object is documented in its module.
2. Student edition (config value ``student_edition``, set by ``tools/build-book.sh --student``):
   every solution is removed from the pages. sphinx-exercise's own ``hide_solutions`` cannot be
   used: in sphinx-exercise 1.2.1 it drops only the ``solution-start`` marker of a gated solution,
   which leaves the solution's cells on the page and an orphan ``solution-end`` node that the HTML
   writer rejects ("unknown node type: solution_end_node"). This transform runs after
   sphinx-exercise has merged each gated solution into one node, and removes that node.
3. Language switch (config value ``aigc_language_switch``: ``{"label": ..., "prefix": ...}``):
   every page gets a link to its twin in the other edition, at the same page name under
   ``prefix`` (relative to the site root of this edition): the English book links to ``zh/``,
   the Chinese one (``tools/zh.py build``) back with ``../``. The API reference exists only in
   English: its pages link to the Chinese edition's API page.
"""

from __future__ import annotations

import html
import importlib.util
from typing import Any

from sphinx.transforms import SphinxTransform


def skip_shadowing_reexport(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any):
    r"""autoapi-skip-member handler: skip ``pkg.name`` when ``pkg.name`` is also a module."""
    if skip or what == "module" or not getattr(obj, "imported", False):
        return None
    try:
        is_module = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        is_module = False
    return True if is_module else None


class RemoveSolutions(SphinxTransform):
    r"""Remove every solution (plain or gated) from the doctree in the student edition."""

    default_priority = 20  # after sphinx-exercise's MergeGatedSolutions (priority 10)

    def apply(self, **kwargs: Any) -> None:
        if not self.config.student_edition:
            return
        from sphinx_exercise.nodes import solution_end_node, solution_node, solution_start_node

        kinds = (solution_node, solution_start_node, solution_end_node)
        for node in list(self.document.findall(lambda n: isinstance(n, kinds))):
            node.parent.remove(node)


API_INDEX = "api/aigc_course/index"


def twin_href(pagename: str, prefix: str) -> str:
    r"""The relative link from page ``pagename`` to its twin in the other edition."""
    up = "../" * pagename.count("/")
    twin = API_INDEX if pagename.startswith("api/") else pagename
    return f"{up}{prefix}{twin}.html"


def add_language_switch(app: Any, pagename: str, templatename: str, context: dict, doctree):
    r"""html-page-context handler: put the link to the other edition above the page's body."""
    switch = app.config.aigc_language_switch
    if not switch or "body" not in context:
        return
    href = html.escape(twin_href(pagename, switch["prefix"]), quote=True)
    lang = "en" if switch["label"] == "English" else "zh-CN"
    link = (
        f'<p class="aigc-language-switch" style="text-align:right;margin:0">'
        f'<a href="{href}" hreflang="{lang}" lang="{lang}">{html.escape(switch["label"])}</a></p>\n'
    )
    context["body"] = link + context["body"]
    context["metatags"] = context.get("metatags", "") + (
        f'<link rel="alternate" hreflang="{lang}" href="{href}" />\n'
    )


def drop_duplicate_scripts(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Keep the first of identical <script> entries on a page.

    sphinx-thebe and sphinx-togglebutton add their inline configuration on an event that Jupyter
    Book's build emits twice, so every page declared ``const THEBE_JS_URL`` twice: a
    SyntaxError in the browser console (found by tests/test_built_book_browser.py).
    """
    seen, kept = set(), []
    for script in context.get("script_files", []):
        name = getattr(script, "filename", script) or ""  # None and "" both mean inline
        key = (str(name), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"][:] = kept


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("student_edition", False, "env")
    app.add_config_value("aigc_language_switch", {}, "html")
    app.connect("html-page-context", add_language_switch)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)  # after the rest
    # The Chinese edition builds no API reference (tools/zh.py): no autoapi there.
    if "autoapi.extension" in app.config.extensions:
        app.setup_extension("autoapi.extension")
        app.connect("autoapi-skip-member", skip_shadowing_reexport)
    app.add_transform(RemoveSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
