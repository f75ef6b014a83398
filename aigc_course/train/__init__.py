r"""Training loops and checkpoints: the loop takes models, data and a config, and owns nothing else.

``evaluate_vae``/``VAEEvaluation`` (home: :mod:`aigc_course.metrics.likelihood`) and
``classifier_accuracy`` (home: :mod:`aigc_course.metrics.classifier`) are re-exported here
because the chapters import them from ``aigc_course.train``.
"""

from aigc_course.metrics.likelihood import VAEEvaluation, evaluate_vae
from aigc_course.train.autoregressive import (
    AR_HISTORY_KEYS,
    MADE_RECIPE,
    PIXELCNN_RECIPE,
    AutoregressiveResult,
    AutoregressiveTrainConfig,
    BinarizedMNISTRecipe,
    autoregressive_step,
    train_autoregressive,
)
from aigc_course.train.checkpoint import (
    check_resumable,
    load_checkpoint,
    save_checkpoint,
)
from aigc_course.train.classifier import (
    ClassifierResult,
    ClassifierTrainConfig,
    classifier_accuracy,
    classifier_step,
    train_classifier,
)
from aigc_course.train.config import RunConfig, TrainResult
from aigc_course.train.core import Loop, TrainState
from aigc_course.train.diffusion import (
    DiffusionResult,
    DiffusionTrainConfig,
    diffusion_step,
    train_diffusion,
)
from aigc_course.train.ema import ema_copy, ema_update_, warmed_up_decay
from aigc_course.train.errors import CheckpointError
from aigc_course.train.gan import (
    DCGAN_RECIPE,
    HISTORY_KEYS,
    GANResult,
    GANTrainConfig,
    NoiseSampler,
    TrainingDiverged,
    discriminator_step,
    gan_step,
    generator_step,
    standard_normal_noise,
    train_gan,
)
from aigc_course.train.judge import classifier_cache_key, trained_classifier
from aigc_course.train.likelihood import (
    LikelihoodHistory,
    LikelihoodTrainConfig,
    likelihood_step,
    train_likelihood,
)
from aigc_course.train.normalizing_flow import (
    NORMALIZING_FLOW_HISTORY_KEYS,
    NormalizingFlowResult,
    NormalizingFlowTrainConfig,
    normalizing_flow_step,
    train_normalizing_flow,
)
from aigc_course.train.schedules import cosine_factor
from aigc_course.train.vae import (
    VAE_HISTORY_KEYS,
    VAEResult,
    VAETrainConfig,
    train_vae,
    vae_step,
)

__all__ = [
    "AR_HISTORY_KEYS",
    "AutoregressiveResult",
    "AutoregressiveTrainConfig",
    "MADE_RECIPE",
    "PIXELCNN_RECIPE",
    "BinarizedMNISTRecipe",
    "autoregressive_step",
    "train_autoregressive",
    "DiffusionResult",
    "DiffusionTrainConfig",
    "diffusion_step",
    "train_diffusion",
    "check_resumable",
    "CheckpointError",
    "classifier_cache_key",
    "classifier_step",
    "discriminator_step",
    "ema_copy",
    "ema_update_",
    "gan_step",
    "generator_step",
    "likelihood_step",
    "LikelihoodHistory",
    "Loop",
    "RunConfig",
    "TrainResult",
    "cosine_factor",
    "warmed_up_decay",
    "trained_classifier",
    "TrainState",
    "vae_step",
    "classifier_accuracy",
    "ClassifierResult",
    "ClassifierTrainConfig",
    "train_classifier",
    "evaluate_vae",
    "GANResult",
    "DCGAN_RECIPE",
    "GANTrainConfig",
    "HISTORY_KEYS",
    "LikelihoodTrainConfig",
    "load_checkpoint",
    "NoiseSampler",
    "save_checkpoint",
    "standard_normal_noise",
    "train_gan",
    "train_likelihood",
    "train_vae",
    "TrainingDiverged",
    "VAE_HISTORY_KEYS",
    "VAEEvaluation",
    "VAEResult",
    "VAETrainConfig",
    "NORMALIZING_FLOW_HISTORY_KEYS",
    "NormalizingFlowResult",
    "NormalizingFlowTrainConfig",
    "normalizing_flow_step",
    "train_normalizing_flow",
]
