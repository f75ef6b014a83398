r"""A local Sphinx extension for the book's API reference (sphinx-autoapi), named in _config.yml.

A package that re-exports a function under the name of one of its own submodules (the function
``aigc_course.losses.ssim`` and the module ``aigc_course.losses.ssim``) would be documented twice
under one name; such a re-export is skipped, and the object is documented in its module.
"""

from __future__ import annotations

import importlib.util
from typing import Any


def skip_shadowing_reexport(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any):
    r"""autoapi-skip-member handler: skip ``pkg.name`` when ``pkg.name`` is also a module."""
    if skip or what == "module" or not getattr(obj, "imported", False):
        return None
    try:
        is_module = importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        is_module = False
    return True if is_module else None


def setup(app: Any) -> dict[str, Any]:
    app.connect("autoapi-skip-member", skip_shadowing_reexport)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
