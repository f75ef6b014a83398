"""Private shim (no warning) for code inside the package: use aigc_course.sampling.guidance."""

from aigc_course.sampling.guidance import *  # noqa: F403
