r"""Networks: ``nn.Module`` classes built from one frozen config dataclass each."""
from aigc_course.models.baselines import PCAGaussian, PixelBernoulli
from aigc_course.models.gan import (
    DCGANConfig,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGANConfig,
    MLPGenerator,
    ToyDiscriminator,
    ToyGANConfig,
    ToyGenerator,
    dcgan_init_,
)

__all__ = [
    "DCGANConfig",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGANConfig",
    "MLPGenerator",
    "PCAGaussian",
    "PixelBernoulli",
    "ToyDiscriminator",
    "ToyGANConfig",
    "ToyGenerator",
    "dcgan_init_",
]
