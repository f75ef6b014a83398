"""Private shim (no warning) for code inside the package: use aigc_course.losses.diffusion."""

from aigc_course.losses.diffusion import *  # noqa: F403
from aigc_course.losses.diffusion import epsilon_loss, flow_matching_loss


def _epsilon_loss(model, x0, t, noise, schedule, labels):
    return epsilon_loss(model, x0, t, noise, schedule, labels, validate=False)


def _flow_loss(model, x0, t, noise, labels):
    return flow_matching_loss(model, x0, t, noise, labels, validate=False)
