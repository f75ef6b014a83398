"""Private shim (no warning) for code inside the package: use aigc_course.sampling.diffusion."""

from aigc_course.sampling.diffusion import *  # noqa: F403
