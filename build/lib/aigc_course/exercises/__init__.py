r"""Checkers for the book's exercises: each runs the reader's function and explains what is wrong.

A checker never just says "wrong": it recognises the common mistakes (a flipped sign, log base 2,
a mean where a sum belongs, ...) and says which one it sees. It returns a :class:`Feedback`
whose text is what the notebook shows.
"""

from aigc_course.exercises.applications import (
    check_class_accuracy,
    check_interpolation,
    check_mean_pairwise_distance,
)
from aigc_course.exercises.concepts import (
    check_bernoulli_log_likelihood,
    check_bits_per_dim,
    check_to_signed,
)
from aigc_course.exercises.feedback import Feedback
from aigc_course.exercises.gan import (
    check_count_modes,
    check_discriminator_loss,
    check_gradient_prediction,
    check_nonsaturating_loss,
)
from aigc_course.exercises.lossmath import (
    check_gaussian_kl,
    check_gaussian_nll,
    check_js_divergence,
    check_optimal_discriminator,
)
from aigc_course.exercises.metrics import (
    check_classifier_score,
    check_frechet_distance,
    check_mmd2_unbiased,
    check_precision,
)
from aigc_course.exercises.vae import (
    check_beta_zero_prediction,
    check_iw_bound,
    check_negative_elbo,
    check_reparameterize,
)

__all__ = [
    "check_class_accuracy",
    "check_interpolation",
    "check_mean_pairwise_distance",
    "check_classifier_score",
    "check_frechet_distance",
    "check_mmd2_unbiased",
    "check_precision",
    "Feedback",
    "check_bernoulli_log_likelihood",
    "check_beta_zero_prediction",
    "check_bits_per_dim",
    "check_count_modes",
    "check_discriminator_loss",
    "check_gaussian_kl",
    "check_gaussian_nll",
    "check_gradient_prediction",
    "check_iw_bound",
    "check_js_divergence",
    "check_negative_elbo",
    "check_nonsaturating_loss",
    "check_optimal_discriminator",
    "check_reparameterize",
    "check_to_signed",
]
