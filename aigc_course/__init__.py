r"""aigc_course: the small, tested PyTorch package behind "Generative AI for images, from scratch"."""

from aigc_course.runtime import atomic_write, get_device, quick_mode, seed_everything

__version__ = "0.1.0"
__all__ = ["atomic_write", "get_device", "quick_mode", "seed_everything", "__version__"]
