r"""Classifier-free guidance: push a conditional prediction away from the unconditional one.

Convention for the guidance weight :math:`w` (Ho & Salimans, 2022, Eq. (6)):

.. math::

    \tilde\epsilon(x, t, y) = (1 + w)\, \epsilon(x, t, y) - w\, \epsilon(x, t, \varnothing)
    = \epsilon(x, t, y) + w\, \bigl(\epsilon(x, t, y) - \epsilon(x, t, \varnothing)\bigr)

so **w = 0 is the plain conditional model**, w > 0 strengthens the condition, and w = -1 is the
unconditional model. (Diffusers' ``guidance_scale`` is :math:`1 + w`.) The same combination
applies to a flow-matching velocity. One network plays both roles: it is trained with the label
replaced by a "null" class :math:`\varnothing` with probability ``p_uncond`` (about 0.1), see
:func:`aigc_course.train.diffusion.diffusion_step`.

References
----------
Ho & Salimans (2022), "Classifier-Free Diffusion Guidance", NeurIPS Workshop, arXiv:2207.12598,
Eq. (6) and Algorithms 1-2.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from aigc_course import _check

__all__ = ["ClassifierFreeGuidance", "guided_prediction"]


def guided_prediction(
    cond: torch.Tensor, uncond: torch.Tensor, weight: float | torch.Tensor
) -> torch.Tensor:
    r"""Combine a conditional and an unconditional prediction with guidance weight ``weight``.

    .. math:: \tilde\epsilon = \epsilon_{\text{cond}} + w\,(\epsilon_{\text{cond}} - \epsilon_{\text{uncond}})

    Parameters
    ----------
    cond, uncond : torch.Tensor
        (B, ...) predictions (noise or velocity) with and without the label.
    weight : float or torch.Tensor
        w >= 0 in practice; 0 returns ``cond`` exactly. A tensor broadcasts (e.g. (B, 1, 1, 1)).

    Returns
    -------
    torch.Tensor
        Shape of ``cond``.

    References
    ----------
    Ho & Salimans (2022), Eq. (6).
    """
    _check.check_tensor(cond, "cond", floating=True, shape_hint="(B, ...)")
    _check.check_same_shape(uncond, "uncond", cond, "cond")
    if not isinstance(weight, torch.Tensor):
        weight = _check.check_real(weight, "weight")
    return cond + weight * (cond - uncond)


class ClassifierFreeGuidance:
    r"""Wrap a label-conditioned model so that every call returns the guided prediction.

    ``ClassifierFreeGuidance(model, weight=3.0)`` is itself a ``model(x, time, labels)`` callable,
    so every sampler in :mod:`aigc_course.sampling.diffusion` takes it unchanged. Each call runs
    the network once on a doubled batch, ``[x, x]`` with labels ``[y, null]``; with ``weight == 0``
    it calls the network once on the labels only.

    Parameters
    ----------
    model : callable
        ``model(x, time, labels)`` trained with label dropout; ``labels`` may hold the null label.
    weight : float
        w, finite; 0 gives the conditional model (see the module docstring).
    null_label : int, optional
        The label that means "no class"; default ``model.null_label``.

    Attributes
    ----------
    n_classes, null_label : int
        Taken from ``model`` so that samplers can check requested labels.

    References
    ----------
    Ho & Salimans (2022), Algorithm 2.
    """

    def __init__(
        self, model: Callable[..., torch.Tensor], weight: float, null_label: int | None = None
    ) -> None:
        _check.check_model_call(model, "model")
        weight = _check.check_real(weight, "weight (guidance weight w)")
        null_label = getattr(model, "null_label", None) if null_label is None else null_label
        if not _check.is_int(null_label):
            raise ValueError(
                "classifier-free guidance needs the model's null label: build the network with "
                "n_classes=K (its null label is K) or pass null_label=..."
            )
        self.model = model
        self.weight = float(weight)
        self.null_label = null_label
        self.n_classes = getattr(model, "n_classes", None)

    def __call__(
        self, x: torch.Tensor, time: torch.Tensor, labels: torch.Tensor | None
    ) -> torch.Tensor:
        if labels is None:
            raise ValueError(
                "classifier-free guidance needs labels: pass labels=torch.full((n,), digit)"
            )
        # shapes and dtypes only (called once per sampling step: no device sync)
        x = _check.check_tensor(x, "x", floating=True, shape_hint="(B, ...)")
        n = x.shape[0]
        if not isinstance(time, torch.Tensor) or not time.is_floating_point() or time.shape != (n,):
            raise TypeError(
                f"time must be a float tensor of shape ({n},) in [0, 1], one per row of x "
                f"{tuple(x.shape)}, got {_check._kind(time)}"
            )
        _check.check_labels(labels, "labels", 1, batch=n, check_range=False)
        if self.weight == 0:
            return self.model(x, time, labels)
        null = torch.full_like(labels, self.null_label)
        both = self.model(torch.cat([x, x]), torch.cat([time, time]), torch.cat([labels, null]))
        cond, uncond = both.chunk(2)
        return guided_prediction(cond, uncond, self.weight)

    def __repr__(self) -> str:
        return f"ClassifierFreeGuidance(weight={self.weight}, null_label={self.null_label})"
