r"""Tests of suppress_background, contrast_stretch (against scikit-image) and vae_project."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage import exposure

from aigc_course.models import MLPVAE, VAEConfig
from aigc_course.postprocess import contrast_stretch, suppress_background, vae_project


def test_suppress_background_keeps_strokes_and_zeroes_haze():
    x = torch.tensor([[[[0.0, 0.1, 0.25, 0.26, 0.9, 1.0]]]])
    out = suppress_background(x, 0.25)
    torch.testing.assert_close(out, torch.tensor([[[[0.0, 0.0, 0.0, 0.26, 0.9, 1.0]]]]))
    # Oracle: numpy's where; threshold 0 only removes exact zeros (a no-op).
    rng = np.random.default_rng(0)
    a = rng.random((3, 1, 5, 5))
    np.testing.assert_array_equal(
        suppress_background(torch.tensor(a), 0.4).numpy(), np.where(a > 0.4, a, 0.0)
    )
    assert torch.equal(suppress_background(torch.tensor(a), 0.0), torch.tensor(a))


@pytest.mark.parametrize("low,high", [(0.0, 1.0), (0.02, 0.98), (0.1, 0.5)])
def test_contrast_stretch_matches_skimage_rescale_intensity(low, high):
    rng = np.random.default_rng(1)
    a = rng.random((4, 1, 7, 9)) * 0.6 + 0.1
    out = contrast_stretch(torch.tensor(a), low, high).numpy()
    for i in range(4):
        lo, hi = np.percentile(a[i], [100 * low, 100 * high])
        expected = exposure.rescale_intensity(a[i], in_range=(lo, hi), out_range=(0.0, 1.0))
        np.testing.assert_allclose(out[i], expected, rtol=1e-10, atol=1e-12)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_contrast_stretch_flat_image_unchanged_and_dtype_kept():
    x = torch.cat(
        [
            torch.full((1, 1, 4, 4), 0.3),
            torch.rand(1, 1, 4, 4, generator=torch.Generator().manual_seed(0)),
        ]
    )
    out = contrast_stretch(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out[0], x[0])
    assert float(out[1].max()) == pytest.approx(1.0) and float(out[1].min()) == pytest.approx(0.0)


def test_cleanup_errors():
    x = torch.rand(2, 1, 4, 4)
    with pytest.raises(ValueError, match="threshold must be in \\[0, 1\\), got 1.5"):
        suppress_background(x, 1.5)
    with pytest.raises(ValueError, match="need 0 <= low < high <= 1, got low=0.6, high=0.4"):
        contrast_stretch(x, 0.6, 0.4)
    with pytest.raises(
        TypeError,
        match="contrast_stretch expects float images in \\[0, 1\\], got a torch.uint8 tensor",
    ):
        contrast_stretch(torch.zeros(1, 1, 3, 3, dtype=torch.uint8))
    with pytest.raises(
        ValueError, match=r"suppress_background expects images of shape \(B, C, H, W\)"
    ):
        suppress_background(torch.rand(4, 4))
    with pytest.raises(TypeError, match="vae must have encode\\(x\\) and decode\\(z\\)"):
        vae_project(torch.rand(2, 1, 28, 28), torch.nn.Linear(2, 2))


def test_vae_project_decodes_the_posterior_mean():
    torch.manual_seed(0)
    vae = MLPVAE(VAEConfig(latent_dim=3, hidden=16)).train()
    x = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    out = vae_project(x, vae, batch_size=3)
    assert vae.training  # mode restored
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    with torch.no_grad():
        vae.eval()
        mu, _ = vae.encode(x)
        torch.testing.assert_close(out, torch.sigmoid(vae.decode(mu)))
        # Deterministic: no sampling of z, so projecting twice gives the same images.
        torch.testing.assert_close(vae_project(x, vae), out)
    assert vae_project(torch.zeros(0, 1, 28, 28), vae).shape == (0, 1, 28, 28)
