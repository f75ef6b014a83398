r"""Training loops and checkpoints: the loop takes models, data and a config, and owns nothing else."""

from aigc_course.train.checkpoint import load_checkpoint, save_checkpoint
from aigc_course.train.classifier import (
    ClassifierResult,
    ClassifierTrainConfig,
    classifier_accuracy,
    train_classifier,
)
from aigc_course.train.gan import (
    HISTORY_KEYS,
    GANResult,
    GANTrainConfig,
    NoiseSampler,
    TrainingDiverged,
    standard_normal_noise,
    train_gan,
)
from aigc_course.train.likelihood import LikelihoodTrainConfig, train_likelihood
from aigc_course.train.vae import (
    VAE_HISTORY_KEYS,
    VAEEvaluation,
    VAEResult,
    VAETrainConfig,
    evaluate_vae,
    train_vae,
)

__all__ = [
    "classifier_accuracy",
    "ClassifierResult",
    "ClassifierTrainConfig",
    "train_classifier",
    "evaluate_vae",
    "GANResult",
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
]
