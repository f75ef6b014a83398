"""MADE and PixelCNN against independent oracles: hand-written masks, autograd, enumeration."""

import itertools
import math

import pytest
import torch

from aigc_course.metrics.likelihood import bits_per_dim
from aigc_course.models.autoregressive import (
    MADE,
    MADEConfig,
    MaskedLinear,
    PixelCNN,
    PixelCNNConfig,
    made_masks,
    pixelcnn_mask,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

SHAPE = (1, 3, 3)


def _made(seed=0, hidden=(16, 16)):
    torch.manual_seed(seed)
    return MADE(MADEConfig(image_shape=SHAPE, hidden=hidden, mask_seed=seed))


def _pixelcnn(seed=0):
    torch.manual_seed(seed)
    return PixelCNN(PixelCNNConfig(image_shape=SHAPE, channels=8, n_layers=2, first_kernel=3))


MODELS = {"made": _made, "pixelcnn": _pixelcnn}


def test_pixelcnn_masks_by_hand():
    a = torch.tensor([[1.0, 1, 1], [1, 0, 0], [0, 0, 0]])
    b = torch.tensor([[1.0, 1, 1], [1, 1, 0], [0, 0, 0]])
    assert torch.equal(pixelcnn_mask(3, "A"), a) and torch.equal(pixelcnn_mask(3, "B"), b)


def test_made_masks_connect_output_d_to_inputs_before_d_only():
    """The product of the masks counts paths from input j to output d (matrix oracle)."""
    D = 9
    masks = made_masks(D, (20, 20), generator=torch.Generator().manual_seed(0))
    paths = masks[-1]
    for mask in reversed(masks[:-1]):
        paths = paths @ mask
    assert paths.shape == (D, D)
    assert torch.all(paths.triu() == 0)  # no path from input j >= d to output d
    assert torch.all(paths[1:].sum(dim=1) > 0)  # every output after the first sees something


@pytest.mark.parametrize("name", MODELS)
def test_autoregressive_property_by_autograd_jacobian(name):
    # MADE: wide layers, so that each degree 1..D-1 has hidden units (with few units an
    # output may have no path at all, which is allowed but not what this test checks)
    model = _made(hidden=(64, 64)) if name == "made" else MODELS[name]()
    D = math.prod(SHAPE)
    x = torch.rand(1, *SHAPE)
    jac = torch.autograd.functional.jacobian(lambda v: model.logits(v)[0], x).reshape(D, D)
    assert torch.all(jac.triu() == 0), "an output depends on its own or a later pixel"
    assert torch.all(jac[1:].abs().sum(dim=1) > 0)


def _all_images(D):
    return torch.tensor(list(itertools.product((0.0, 1.0), repeat=D))).view(-1, *SHAPE)


@pytest.mark.parametrize("name", MODELS)
def test_exact_likelihood_against_brute_force_chain_rule(name):
    """Enumerate all 2^D images: the joint sums to 1, and each conditional term equals the
    ratio of brute-force marginals p(x_<=d) / p(x_<d)."""
    model = MODELS[name]()
    D = math.prod(SHAPE)
    xs = _all_images(D)
    with torch.no_grad():
        log_joint = model.log_prob(xs).double()
        terms = model.conditional_log_probs(xs).double()
    assert abs(float(torch.logsumexp(log_joint, 0))) < 1e-5
    flat = xs.flatten(1)
    joint = log_joint.exp()
    for i in (0, 5, 77, 200, 511):
        for d in range(D):
            same_prefix = (flat[:, :d] == flat[i, :d]).all(dim=1)
            same_upto = same_prefix & (flat[:, d] == flat[i, d])
            expected = math.log(joint[same_upto].sum() / joint[same_prefix].sum())
            assert abs(float(terms[i, d]) - expected) < 1e-5


def test_nats_and_bits_per_dimension():
    model = _made()
    x = _all_images(9)[:4]
    with torch.no_grad():
        nll = -model.log_prob(x)
        probs = torch.sigmoid(model.logits(x))
    flat = x.flatten(1)
    by_hand = -(flat * probs.log() + (1 - flat) * (1 - probs).log()).sum(1)
    torch.testing.assert_close(nll, by_hand, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(
        bits_per_dim(nll, 9), by_hand / (9 * math.log(2)), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize("name", MODELS)
def test_samples_are_binary_seeded_and_follow_the_model(name):
    model = MODELS[name]()
    a = model.sample(3, generator=torch.Generator().manual_seed(0))
    b = model.sample(3, generator=torch.Generator().manual_seed(0))
    assert a.shape == (3, *SHAPE) and torch.equal(a, b)
    assert torch.all((a == 0) | (a == 1)) and model.training
    # Monte Carlo oracle: the frequency of the first pixel matches p(x_1 = 1)
    many = model.sample(4000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        p1 = float(torch.sigmoid(model.logits(torch.zeros(1, *SHAPE))[0, 0]))
    assert abs(float(many[:, 0, 0, 0].mean()) - p1) < 4 * math.sqrt(p1 * (1 - p1) / 4000) + 1e-3


def test_masked_linear_refuses_a_mask_of_the_wrong_shape():
    layer = MaskedLinear(4, 3)
    with pytest.raises(ValueError, match=r"mask must have the weight's shape \(3, 4\)"):
        layer.set_mask(torch.ones(4, 3))


def test_evaluate_autoregressive_matches_the_summed_terms():
    from aigc_course.metrics.likelihood import evaluate_autoregressive

    model = _made().train()
    x = _all_images(9)[::7]
    ev = evaluate_autoregressive(model, x, batch_size=5)
    with torch.no_grad():
        nll = -model.log_prob(x.clone()).double()
    assert ev.n == len(x) and ev.dims == 9 and model.training
    assert ev.nats_per_example == pytest.approx(float(nll.mean()), rel=1e-6)
    assert ev.nats_per_dim == pytest.approx(float(nll.mean()) / 9, rel=1e-6)
    assert ev.bits_per_dim == pytest.approx(float(nll.mean()) / (9 * math.log(2)), rel=1e-6)
    with pytest.raises(ValueError, match="binary"):
        evaluate_autoregressive(model, torch.rand(4, *SHAPE))
