"""Private shim (no warning) for code inside the package: use aigc_course.sampling.schedules."""

from aigc_course.sampling.schedules import *  # noqa: F403
from aigc_course.sampling.schedules import (  # noqa: F401
    NoiseSchedule,
    _check_schedule,
    check_timesteps,
    cosine_schedule,
    linear_schedule,
)
