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
"""

from __future__ import annotations

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


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("student_edition", False, "env")
    app.connect("autoapi-skip-member", skip_shadowing_reexport)
    app.add_transform(RemoveSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
