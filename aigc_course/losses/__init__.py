r"""Weight-free loss functions: pure maths on tensors, no parameters, no training loop."""
from aigc_course.losses.gan import (
    article_discriminator_loss,
    discriminator_loss,
    generator_loss_nonsaturating,
    generator_loss_saturating,
)

__all__ = [
    "article_discriminator_loss",
    "discriminator_loss",
    "generator_loss_nonsaturating",
    "generator_loss_saturating",
]
