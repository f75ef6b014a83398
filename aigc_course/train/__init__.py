r"""Training loops and checkpoints: the loop takes models, data and a config, and owns nothing else."""
from aigc_course.train.likelihood import LikelihoodTrainConfig, train_likelihood
from aigc_course.train.checkpoint import load_checkpoint, save_checkpoint
from aigc_course.train.gan import (
    HISTORY_KEYS,
    GANResult,
    GANTrainConfig,
    NoiseSampler,
    TrainingDiverged,
    standard_normal_noise,
    train_gan,
)

__all__ = [
    "HISTORY_KEYS",
    "GANResult",
    "GANTrainConfig",
    "LikelihoodTrainConfig",
    "NoiseSampler",
    "TrainingDiverged",
    "load_checkpoint",
    "save_checkpoint",
    "standard_normal_noise",
    "train_gan",
    "train_likelihood",
]
