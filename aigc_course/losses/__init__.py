r"""Weight-free loss functions: pure maths on tensors, no parameters, no training loop."""

from aigc_course.losses.diffusion import epsilon_loss, flow_matching_loss, flow_matching_path
from aigc_course.losses.divergence import grid_probabilities, js_divergence_1d
from aigc_course.losses.gan import (
    article_discriminator_loss,
    discriminator_loss,
    generator_loss_nonsaturating,
    generator_loss_saturating,
)
from aigc_course.losses.ssim import gaussian_window, ssim, ssim_map
from aigc_course.losses.vae import (
    NegativeELBO,
    bernoulli_nll,
    gaussian_kl,
    gaussian_nll,
    importance_weighted_bound,
    log_normal_diag,
    negative_elbo,
    reparameterize,
)

__all__ = [
    "article_discriminator_loss",
    "bernoulli_nll",
    "discriminator_loss",
    "epsilon_loss",
    "flow_matching_loss",
    "flow_matching_path",
    "gaussian_kl",
    "gaussian_nll",
    "gaussian_window",
    "generator_loss_nonsaturating",
    "generator_loss_saturating",
    "grid_probabilities",
    "importance_weighted_bound",
    "js_divergence_1d",
    "log_normal_diag",
    "negative_elbo",
    "NegativeELBO",
    "reparameterize",
    "ssim",
    "ssim_map",
]
