"""Private shim (no warning) for code inside the package: use aigc_course.sampling.analytic."""

from aigc_course.sampling.analytic import *  # noqa: F403
