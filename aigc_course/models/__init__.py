r"""Networks: ``nn.Module`` classes built from one frozen config dataclass each."""

from aigc_course.models.autoregressive import (
    MADE,
    MADEConfig,
    MaskedConv2d,
    MaskedLinear,
    PixelCNN,
    PixelCNNConfig,
    made_masks,
    pixelcnn_mask,
)
from aigc_course.models.base import Generator, SamplingMixin, to_unit_range
from aigc_course.models.baselines import PCAGaussian, PixelBernoulli
from aigc_course.models.classifier import ClassifierConfig, LeNetClassifier
from aigc_course.models.conditional import (
    ConditionalDiscriminator,
    ConditionalGANConfig,
    ConditionalGenerator,
    ConditionalVAE,
    ConditionalVAEConfig,
)
from aigc_course.models.denoiser import MLPDenoiser, MLPDenoiserConfig
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
from aigc_course.models.latent import latent_path
from aigc_course.models.ngram import NGramModel
from aigc_course.models.normalizing_flow import (
    ActNorm,
    AffineCoupling,
    InvertibleConv1x1,
    LogitTransform,
    NormalizingFlow,
    NormalizingFlowConfig,
    Squeeze,
    alternating_mask,
    channel_mask,
    checkerboard_mask,
    standard_normal_log_prob,
)
from aigc_course.models.transformer import (
    CausalSelfAttention,
    CausalTransformer,
    KVCache,
    PixelTransformer,
    TransformerConfig,
)
from aigc_course.models.unet import UNet, UNetConfig
from aigc_course.models.vae import MLPVAE, ConvVAE, VAEConfig, VAEOutput

__all__ = [
    "CausalSelfAttention",
    "CausalTransformer",
    "KVCache",
    "MADE",
    "MADEConfig",
    "MaskedConv2d",
    "MaskedLinear",
    "NGramModel",
    "PixelCNN",
    "PixelCNNConfig",
    "PixelTransformer",
    "TransformerConfig",
    "made_masks",
    "pixelcnn_mask",
    "Generator",
    "SamplingMixin",
    "to_unit_range",
    "latent_path",
    "MLPDenoiser",
    "MLPDenoiserConfig",
    "UNet",
    "UNetConfig",
    "ClassifierConfig",
    "LeNetClassifier",
    "ConditionalDiscriminator",
    "ConditionalGANConfig",
    "ConditionalGenerator",
    "ConditionalVAE",
    "ConditionalVAEConfig",
    "ConvVAE",
    "dcgan_init_",
    "DCGANConfig",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGANConfig",
    "MLPGenerator",
    "MLPVAE",
    "PCAGaussian",
    "PixelBernoulli",
    "ToyDiscriminator",
    "ToyGANConfig",
    "ToyGenerator",
    "VAEConfig",
    "VAEOutput",
    "ActNorm",
    "AffineCoupling",
    "InvertibleConv1x1",
    "LogitTransform",
    "NormalizingFlow",
    "NormalizingFlowConfig",
    "Squeeze",
    "alternating_mask",
    "channel_mask",
    "checkerboard_mask",
    "standard_normal_log_prob",
]
