r"""The one exception type of :mod:`aigc_course.data`."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(RuntimeError):
    r"""A data set is missing, damaged or not what it claims to be.

    The message always names the file or folder involved and says how to fix the problem
    (delete a damaged file, where to put correct files, how to re-download).
    """
