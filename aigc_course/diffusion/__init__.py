r"""Deprecated: the diffusion math moved to :mod:`aigc_course.sampling` and :mod:`aigc_course.losses`.

``from aigc_course.diffusion import X`` still works for one release and warns (FutureWarning)
naming the new home: schedules, samplers, guidance and the Gaussian oracles are in
:mod:`aigc_course.sampling`; ``epsilon_loss``, ``flow_matching_loss`` and
``flow_matching_path`` in :mod:`aigc_course.losses`. ``flow_sample`` is now
``flow_matching_sample`` and ``flow_path`` is ``flow_matching_path``.
"""

from __future__ import annotations

import importlib
import warnings

# old public name -> (new module, new name)
_MOVED = {
    name: ("aigc_course.sampling", name)
    for name in (
        "ClassifierFreeGuidance",
        "cosine_schedule",
        "ddim_sample",
        "ddim_sigma",
        "ddim_step",
        "ddpm_sample",
        "ddpm_step",
        "GaussianEpsilon",
        "GaussianVelocity",
        "guided_prediction",
        "linear_schedule",
        "model_time",
        "NoiseSchedule",
        "predict_x0",
        "q_posterior",
        "q_sample",
        "sampling_timesteps",
        "score_from_epsilon",
    )
}
_MOVED.update(
    {
        "epsilon_loss": ("aigc_course.losses", "epsilon_loss"),
        "flow_matching_loss": ("aigc_course.losses", "flow_matching_loss"),
        "flow_path": ("aigc_course.losses", "flow_matching_path"),
        "flow_sample": ("aigc_course.sampling", "flow_matching_sample"),
    }
)

__all__ = sorted(_MOVED)


def __getattr__(name: str):
    if name not in _MOVED:
        raise AttributeError(f"module 'aigc_course.diffusion' has no attribute {name!r}")
    module, new = _MOVED[name]
    warnings.warn(
        f"aigc_course.diffusion.{name} moved to {module}.{new}; aigc_course.diffusion will be "
        f"removed in the next release: import it from {module} (e.g. "
        f"from aigc_course.sampling import sample)",
        FutureWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), new)
