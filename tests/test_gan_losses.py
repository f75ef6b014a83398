"""Each GAN loss against its textbook formula and against binary_cross_entropy_with_logits."""

import math

import pytest
import torch
import torch.nn.functional as F

from aigc_course.losses.gan import (
    article_discriminator_loss,
    discriminator_loss,
    generator_loss_nonsaturating,
    generator_loss_saturating,
)

ATOL = 1e-6


@pytest.fixture
def logits():
    g = torch.Generator().manual_seed(0)
    real = 4 * torch.randn(257, generator=g, dtype=torch.float64)
    fake = 4 * torch.randn(131, generator=g, dtype=torch.float64)
    return real, fake


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def test_discriminator_loss(logits):
    real, fake = logits
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    formula = -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()
    loss = discriminator_loss(real, fake)
    assert torch.allclose(loss, formula, atol=ATOL)
    assert torch.allclose(loss, bce(real, 1.0) + bce(fake, 0.0), atol=ATOL)


def test_discriminator_loss_one_sided_label_smoothing(logits):
    real, fake = logits
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    formula = (
        -(0.9 * torch.log(d_real) + 0.1 * torch.log(1 - d_real)).mean()
        - torch.log(1 - d_fake).mean()
    )
    loss = discriminator_loss(real, fake, real_label=0.9)
    assert torch.allclose(loss, formula, atol=ATOL)
    assert torch.allclose(loss, bce(real, 0.9) + bce(fake, 0.0), atol=ATOL)


def test_generator_losses(logits):
    _, fake = logits
    d_fake = torch.sigmoid(fake)
    sat = generator_loss_saturating(fake)
    assert torch.allclose(sat, torch.log(1 - d_fake).mean(), atol=ATOL)
    assert torch.allclose(sat, -bce(fake, 0.0), atol=ATOL)
    ns = generator_loss_nonsaturating(fake)
    assert torch.allclose(ns, -torch.log(d_fake).mean(), atol=ATOL)
    assert torch.allclose(ns, bce(fake, 1.0), atol=ATOL)


def test_article_discriminator_loss(logits):
    real, fake = logits
    formula = -torch.log(torch.sigmoid(real)).mean() - torch.log(torch.sigmoid(fake)).mean()
    loss = article_discriminator_loss(real, fake)
    assert torch.allclose(loss, formula, atol=ATOL)
    assert torch.allclose(loss, bce(real, 1.0) + bce(fake, 1.0), atol=ATOL)


def test_article_loss_rewards_calling_fakes_real():
    fake = torch.zeros(4, requires_grad=True)
    article_discriminator_loss(torch.zeros(4), fake).backward()
    assert torch.all(fake.grad < 0)  # gradient descent raises the fake logits: "fakes are real"
    fake.grad = None
    discriminator_loss(torch.zeros(4), fake).backward()
    assert torch.all(fake.grad > 0)  # the correct loss lowers them
    # the article's loss is minimised by calling everything real
    assert article_discriminator_loss(torch.full((4,), 30.0), torch.full((4,), 30.0)) < 1e-12


def test_equilibrium_value():
    zeros = torch.zeros(8)
    assert math.isclose(discriminator_loss(zeros, zeros).item(), 2 * math.log(2), rel_tol=1e-6)


def test_saturating_gradient_vanishes_nonsaturating_does_not():
    fake = torch.tensor([-10.0], requires_grad=True)  # D confidently rejects the fake
    generator_loss_saturating(fake).backward()
    sat_grad = fake.grad.item()
    fake.grad = None
    generator_loss_nonsaturating(fake).backward()
    ns_grad = fake.grad.item()
    assert abs(sat_grad) < 1e-4  # = -sigmoid(-10) ~ -4.5e-5
    assert math.isclose(sat_grad, -torch.sigmoid(torch.tensor(-10.0)).item(), rel_tol=1e-4)
    assert math.isclose(ns_grad, -1.0, abs_tol=1e-4)  # = -(1 - sigmoid(-10))


def test_losses_are_finite_for_extreme_logits():
    big = torch.tensor([-200.0, 200.0])
    assert torch.isinf(torch.log(torch.sigmoid(big))).any()  # the naive formula breaks ...
    for value in (
        discriminator_loss(big, big),
        discriminator_loss(big, big, real_label=0.9),
        generator_loss_saturating(big),
        generator_loss_nonsaturating(big),
        article_discriminator_loss(big, big),
    ):
        assert torch.isfinite(value)  # ... the logit form does not


def test_bad_inputs_are_clear_errors():
    ok = torch.zeros(4)
    with pytest.raises(
        ValueError, match=r"expected real_logits of shape \(B,\).*\(4, 1\).*view\(-1\)"
    ):
        discriminator_loss(torch.zeros(4, 1), ok)
    with pytest.raises(ValueError, match="fake_logits"):
        generator_loss_nonsaturating(torch.zeros(0))
    with pytest.raises(TypeError, match="floating-point"):
        generator_loss_saturating(torch.zeros(4, dtype=torch.long))
    with pytest.raises(TypeError, match="torch.Tensor"):
        article_discriminator_loss([0.0], ok)
    for bad in (0.0, 1.5, -1.0):
        with pytest.raises(ValueError, match="real_label"):
            discriminator_loss(ok, ok, real_label=bad)
