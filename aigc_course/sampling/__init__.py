r"""Sampling from diffusion and flow-matching models (schedules, samplers, guidance, oracles) and the
token filters of autoregressive models (temperature, top-k, top-p).

Weight-free math. Networks live in :mod:`aigc_course.models.unet` and
:mod:`aigc_course.models.denoiser`, the losses in :mod:`aigc_course.losses.diffusion`, the
training step in :mod:`aigc_course.train.diffusion`. Conventions (see each module): integer
diffusion steps t in {0, ..., T} with x_0 the data; networks see the float time t/T in [0, 1];
flow matching puts the data at time 0 and the noise at time 1; the guidance weight w = 0 is the
plain conditional model.
"""

from aigc_course.sampling.analytic import GaussianEpsilon, GaussianVelocity
from aigc_course.sampling.autoregressive import (
    filter_logits,
    sample_next_token,
    top_k_filter,
    top_p_filter,
)
from aigc_course.sampling.diffusion import (
    ddim_sample,
    ddim_sigma,
    ddim_step,
    ddpm_sample,
    ddpm_step,
    euler_step,
    flow_matching_sample,
    heun_step,
    sample,
    sampling_timesteps,
)
from aigc_course.sampling.generator import DiffusionGenerator
from aigc_course.sampling.guidance import ClassifierFreeGuidance, guided_prediction
from aigc_course.sampling.schedules import (
    NoiseSchedule,
    cosine_schedule,
    linear_schedule,
    log_snr,
    model_time,
    predict_x0,
    q_posterior,
    q_sample,
    score_from_epsilon,
)

__all__ = [
    "filter_logits",
    "sample_next_token",
    "top_k_filter",
    "top_p_filter",
    "ClassifierFreeGuidance",
    "cosine_schedule",
    "ddim_sample",
    "ddim_sigma",
    "ddim_step",
    "ddpm_sample",
    "ddpm_step",
    "DiffusionGenerator",
    "euler_step",
    "flow_matching_sample",
    "GaussianEpsilon",
    "GaussianVelocity",
    "guided_prediction",
    "heun_step",
    "linear_schedule",
    "log_snr",
    "model_time",
    "NoiseSchedule",
    "predict_x0",
    "q_posterior",
    "q_sample",
    "sample",
    "sampling_timesteps",
    "score_from_epsilon",
]
