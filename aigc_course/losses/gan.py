r"""GAN losses, computed from discriminator logits (never from probabilities).

Every loss here takes raw logits :math:`\ell = D_{\text{logit}}(x)`, with
:math:`D(x) = \sigma(\ell)`, and uses the identities

.. math::

    -\log \sigma(\ell) = \operatorname{softplus}(-\ell), \qquad
    -\log\bigl(1 - \sigma(\ell)\bigr) = \operatorname{softplus}(\ell),

which stay finite for any finite logit, where ``torch.log(torch.sigmoid(l))`` underflows
to ``-inf`` once :math:`\ell \lesssim -104` in float32.

References
----------
Goodfellow et al. (2014), "Generative Adversarial Nets", NeurIPS.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from aigc_course._check import check_real

__all__ = [
    "article_discriminator_loss",
    "discriminator_loss",
    "generator_loss_nonsaturating",
    "generator_loss_saturating",
]


def _check_logits(name: str, logits: torch.Tensor) -> None:
    if not isinstance(logits, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of logits, got {type(logits).__name__}")
    if logits.ndim != 1 or logits.shape[0] == 0:
        raise ValueError(
            f"expected {name} of shape (B,) with B >= 1, got {tuple(logits.shape)}: "
            "the discriminator should return one logit per example (use logits.view(-1))"
        )
    if not logits.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {logits.dtype}")


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0
) -> torch.Tensor:
    r"""Discriminator loss of the GAN minimax game, from logits.

    .. math::

        L_D = -\mathbb{E}_{x \sim p_\text{data}}\bigl[\log D(x)\bigr]
              -\mathbb{E}_{z \sim p_z}\bigl[\log\bigl(1 - D(G(z))\bigr)\bigr]

    i.e. binary cross-entropy with target 1 for real and 0 for generated examples, summed over
    the two halves. Minimising it maximises the value function :math:`V(D, G)` of Goodfellow et
    al. (2014), Eq. (1). With ``real_label = s < 1`` (one-sided label smoothing, Salimans et al.
    2016) the real term becomes
    :math:`-\mathbb{E}[s \log D(x) + (1 - s)\log(1 - D(x))]`; the fake target stays 0.

    Parameters
    ----------
    real_logits : torch.Tensor
        Shape (B,), any real value: discriminator logits on real data.
    fake_logits : torch.Tensor
        Shape (B',), any real value: discriminator logits on generated data.
    real_label : float
        Target for real data, in (0, 1]; 1.0 is the standard loss, 0.9 a common smoothing.

    Returns
    -------
    torch.Tensor
        Scalar, :math:`\geq 0`; at the game's equilibrium (D = 1/2 everywhere) it is
        :math:`2 \log 2 \approx 1.386`.

    References
    ----------
    Goodfellow et al. (2014), "Generative Adversarial Nets", Algorithm 1.
    Salimans et al. (2016), "Improved Techniques for Training GANs", Sec. 3.4.
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    real_label = check_real(real_label, "real_label")
    if not 0.0 < real_label <= 1.0:
        raise ValueError(
            f"real_label must be in (0, 1], got {real_label}: use 1.0 for the standard loss "
            "or e.g. 0.9 for one-sided label smoothing"
        )
    real_term = F.softplus(-real_logits)  # -log D(x)
    if real_label != 1.0:
        real_term = real_label * real_term + (1.0 - real_label) * F.softplus(real_logits)
    return real_term.mean() + F.softplus(fake_logits).mean()  # + -log(1 - D(G(z)))


def generator_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Minimax ("saturating") generator loss, to be minimised by G.

    .. math::

        L_G^\text{minimax} = \mathbb{E}_{z \sim p_z}\bigl[\log\bigl(1 - D(G(z))\bigr)\bigr]
                           = -\mathbb{E}\bigl[\operatorname{softplus}(\ell)\bigr]

    Its gradient with respect to a fake logit is :math:`-\sigma(\ell)/B`, which vanishes when
    the discriminator confidently rejects the fakes (:math:`\ell \ll 0`), exactly when G most
    needs a signal: this is why Goodfellow et al. recommend the non-saturating loss in practice.

    Parameters
    ----------
    fake_logits : torch.Tensor
        Shape (B,), any real value: discriminator logits on generated data.

    Returns
    -------
    torch.Tensor
        Scalar, :math:`\leq 0`.

    References
    ----------
    Goodfellow et al. (2014), "Generative Adversarial Nets", Eq. (1) and Sec. 3.
    """
    _check_logits("fake_logits", fake_logits)
    return -F.softplus(fake_logits).mean()


def generator_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""Non-saturating generator loss: G maximises :math:`\log D(G(z))` instead.

    .. math::

        L_G^\text{NS} = -\mathbb{E}_{z \sim p_z}\bigl[\log D(G(z))\bigr]
                      = \mathbb{E}\bigl[\operatorname{softplus}(-\ell)\bigr]

    It has the same fixed point as the minimax loss but its gradient with respect to a fake
    logit, :math:`-(1 - \sigma(\ell))/B`, stays near :math:`-1/B` when D confidently rejects
    the fakes, so G keeps learning early in training. It equals binary cross-entropy of the
    fake logits against the *real* label 1.

    Parameters
    ----------
    fake_logits : torch.Tensor
        Shape (B,), any real value: discriminator logits on generated data.

    Returns
    -------
    torch.Tensor
        Scalar, :math:`\geq 0`.

    References
    ----------
    Goodfellow et al. (2014), "Generative Adversarial Nets", Sec. 3.
    """
    _check_logits("fake_logits", fake_logits)
    return F.softplus(-fake_logits).mean()


def article_discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> torch.Tensor:
    r"""WRONG discriminator loss from the source article, kept to show what goes wrong.

    .. math::

        L_D^\text{article} = -\mathbb{E}_{x \sim p_\text{data}}\bigl[\log D(x)\bigr]
                             -\mathbb{E}_{z \sim p_z}\bigl[\log D(G(z))\bigr]

    The error is the *target*, not a sign: the fake term uses label 1 ("real"),
    :math:`-\log D(G(z))`, where binary cross-entropy with label 0 gives
    :math:`-\log(1 - D(G(z)))` (see :func:`discriminator_loss`). As written, minimising it
    pushes :math:`D(G(z)) \to 1`: the discriminator is *rewarded for calling generated images
    real*, so it never learns to tell them apart and the generator receives no useful signal. Do not use it to train a GAN; the chapter uses it as a
    "common mistake" demonstration.

    Parameters
    ----------
    real_logits : torch.Tensor
        Shape (B,), any real value: discriminator logits on real data.
    fake_logits : torch.Tensor
        Shape (B',), any real value: discriminator logits on generated data.

    Returns
    -------
    torch.Tensor
        Scalar, :math:`\geq 0`, reaching 0 when D outputs 1 ("real") for *everything*.

    References
    ----------
    Goodfellow et al. (2014), "Generative Adversarial Nets", Eq. (1), for the correct target.
    """
    _check_logits("real_logits", real_logits)
    _check_logits("fake_logits", fake_logits)
    return F.softplus(-real_logits).mean() + F.softplus(-fake_logits).mean()
