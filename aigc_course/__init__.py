r"""aigc_course: the small, tested PyTorch package behind "Generative AI for images, from scratch"."""

from aigc_course.runtime import atomic_write, get_device, quick_mode, seed_everything

# The one source of the version: pyproject.toml reads it, the chapters' Colab cell pins the tag
# v{__version__}, and tests/test_colab_cell.py checks that they agree.
__version__ = "0.2.0"
__all__ = ["atomic_write", "get_device", "quick_mode", "seed_everything", "__version__"]
