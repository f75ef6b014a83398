r"""Checkers for the book's exercises: each runs the reader's function and explains what is wrong.

A checker never just says "wrong": it recognises the common mistakes (a flipped sign, log base 2,
a mean where a sum belongs, ...) and says which one it sees. It returns a :class:`Feedback`
whose text is what the notebook shows, and whose machine-readable record (exercise, passed,
message) Jupyter stores beside it.

Every checker of a function is one declarative :class:`~aigc_course.exercises.engine.Exercise`
(the reference, the accepted conventions, a table of known mistakes, edge cases) run by one engine,
:func:`~aigc_course.exercises.engine.check`, on fresh random inputs at every call. ``EXERCISES``
maps each such checker's name to its declaration; ``ANSWER_CHECKERS`` lists the two checkers of a
typed-in prediction.
"""

from aigc_course.exercises import (
    applications,
    concepts,
    diffusion,
    gan,
    lossmath,
    metrics,
    vae,
)
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
from aigc_course.exercises.diffusion import (
    check_ddim_step,
    check_flow_loss,
    check_predict_x0,
    check_q_sample,
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

EXERCISES = {
    ex.name: ex
    for ex in (
        concepts.TO_SIGNED,
        concepts.BERNOULLI,
        concepts.BITS_PER_DIM,
        gan.NONSATURATING,
        gan.DISCRIMINATOR,
        gan.COUNT_MODES,
        lossmath.OPTIMAL_D,
        lossmath.JS_DIVERGENCE,
        lossmath.GAUSSIAN_KL,
        lossmath.GAUSSIAN_NLL,
        vae.REPARAMETERIZE,
        vae.NEGATIVE_ELBO,
        vae.IW_BOUND,
        metrics.FRECHET,
        metrics.CLASSIFIER_SCORE,
        metrics.MMD2,
        metrics.PRECISION,
        applications.CLASS_ACCURACY,
        applications.INTERPOLATION,
        applications.MEAN_PAIRWISE,
        diffusion.Q_SAMPLE,
        diffusion.PREDICT_X0,
        diffusion.DDIM_STEP,
        diffusion.FLOW_LOSS,
    )
}
ANSWER_CHECKERS = ("check_gradient_prediction", "check_beta_zero_prediction")

__all__ = [
    "ANSWER_CHECKERS",
    "EXERCISES",
    "check_class_accuracy",
    "check_interpolation",
    "check_mean_pairwise_distance",
    "check_classifier_score",
    "check_ddim_step",
    "check_flow_loss",
    "check_predict_x0",
    "check_q_sample",
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
