"""Every generative model implements the Generator protocol and keeps its samples in data_range."""

from __future__ import annotations

import math

import pytest
import torch

from aigc_course.models import (
    MADE,
    MLPVAE,
    ConditionalGANConfig,
    ConditionalGenerator,
    ConditionalVAE,
    ConditionalVAEConfig,
    ConvVAE,
    DCGANConfig,
    DCGANDiscriminator,
    DCGANGenerator,
    Generator,
    MADEConfig,
    MLPGANConfig,
    MLPGenerator,
    NormalizingFlow,
    NormalizingFlowConfig,
    PCAGaussian,
    PixelBernoulli,
    PixelCNN,
    PixelCNNConfig,
    PixelTransformer,
    ToyGANConfig,
    ToyGenerator,
    TransformerConfig,
    to_unit_range,
)
from aigc_course.models.conditional import generate


def _images(n: int = 16, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


MODELS = {
    "MLPGenerator": lambda: MLPGenerator(MLPGANConfig()),
    "DCGANGenerator": lambda: DCGANGenerator(DCGANConfig()),
    "ToyGenerator": lambda: ToyGenerator(ToyGANConfig()),
    "ConditionalGenerator": lambda: ConditionalGenerator(ConditionalGANConfig()),
    "MLPVAE": lambda: MLPVAE(),
    "ConvVAE": lambda: ConvVAE(),
    "ConditionalVAE": lambda: ConditionalVAE(ConditionalVAEConfig()),
    "PixelBernoulli": lambda: PixelBernoulli.fit(_images()),
    "PCAGaussian": lambda: PCAGaussian.fit(torch.rand(32, 1, 28, 28), k=3),
    # the autoregressive models, on small images (one network pass per pixel)
    "MADE": lambda: MADE(MADEConfig(image_shape=(1, 6, 6), hidden=(16,))),
    "PixelCNN": lambda: PixelCNN(PixelCNNConfig(image_shape=(1, 6, 6), channels=4, n_layers=1)),
    "PixelTransformer": lambda: PixelTransformer(
        TransformerConfig(vocab_size=3, block_size=36, n_layer=1, n_head=2, n_embd=8), (1, 6, 6)
    ),
    "NormalizingFlow": lambda: NormalizingFlow(
        NormalizingFlowConfig(data_shape=(1, 28, 28), n_couplings=1, hidden=4, logit_alpha=0.05)
    ),
    "NormalizingFlow2D": lambda: NormalizingFlow(),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_generator_follows_the_protocol(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    assert isinstance(model, Generator), name
    low, high = model.data_range
    assert low < high
    x = model.sample(5, generator=torch.Generator().manual_seed(1))
    assert x.shape[0] == 5
    if name == "PCAGaussian":  # an unbounded density fit to [0, 1] images: only its mean is inside
        assert low <= float(x.mean()) <= high
    else:
        assert float(x.min()) >= low and float(x.max()) <= high, (name, x.min(), x.max())


def test_a_discriminator_is_not_a_generator():
    assert not isinstance(DCGANDiscriminator(DCGANConfig()), Generator)


def test_to_unit_range_matches_the_affine_map_and_clamps():
    x = torch.linspace(-3, 3, 61)
    expected = torch.clamp((x + 1) / 2, 0, 1)  # the GAN convention written out by hand
    assert torch.equal(to_unit_range(x, (-1.0, 1.0)), expected)
    assert torch.equal(to_unit_range(x.clamp(0, 1), (0.0, 1.0)), x.clamp(0, 1))


@pytest.mark.parametrize("bad", [(1.0, 1.0), (1.0, 0.0), (-math.inf, math.inf), (0.0, math.nan)])
def test_to_unit_range_refuses_an_unusable_range(bad):
    with pytest.raises(ValueError, match="data_range"):
        to_unit_range(torch.zeros(3), bad)


def test_generate_maps_gan_samples_exactly_as_before():
    torch.manual_seed(0)
    model = ConditionalGenerator(ConditionalGANConfig()).eval()
    got = generate(model, 6, 3, generator=torch.Generator().manual_seed(5))
    raw = model.sample(6, labels=torch.full((6,), 3), generator=torch.Generator().manual_seed(5))
    assert torch.equal(got, ((raw + 1) / 2).clamp(0, 1))


def test_generate_leaves_vae_means_unchanged():
    torch.manual_seed(0)
    model = ConditionalVAE(ConditionalVAEConfig()).eval()
    got = generate(model, 4, 7, generator=torch.Generator().manual_seed(2))
    raw = model.sample(4, labels=torch.full((4,), 7), generator=torch.Generator().manual_seed(2))
    assert torch.equal(got, raw)


def test_generate_refuses_an_unconditional_or_non_generator_model():
    with pytest.raises(TypeError, match="conditional generator"):
        generate(MLPVAE(), 2, 1)
    with pytest.raises(TypeError, match="discriminator"):
        generate(DCGANDiscriminator(DCGANConfig()), 2, 1)


@pytest.mark.parametrize("name", ["PixelBernoulli", "PCAGaussian"])
def test_unconditional_baselines_refuse_labels(name):
    with pytest.raises(ValueError, match="unconditional"):
        MODELS[name]().sample(2, labels=torch.zeros(2, dtype=torch.long))
