r"""Weight-free sampling math of autoregressive models: temperature, top-k, top-p, one draw.

An autoregressive model gives, for the next token, logits :math:`\ell \in \mathbb R^V`; the
next token is drawn from :math:`\mathrm{softmax}(\ell / \tau)` restricted to a set of likely
tokens. These functions work on logits of shape (B, V) and know nothing about the network:
the model's ``generate`` (:meth:`aigc_course.models.transformer.CausalTransformer.generate`)
calls :func:`sample_next_token` once per position.

References
----------
Holtzman, Buys, Du, Forbes & Choi, "The curious case of neural text degeneration", ICLR 2020
(top-p, nucleus sampling). Fan, Lewis & Dauphin, "Hierarchical neural story generation", ACL
2018 (top-k).
"""

from __future__ import annotations

import torch

from aigc_course._check import check_sampling, check_tensor

__all__ = ["filter_logits", "sample_next_token", "top_k_filter", "top_p_filter"]


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    r"""Keep the ``k`` largest logits of each row, set the others to :math:`-\infty`.

    .. math:: \tilde\ell_v = \ell_v \text{ if } \ell_v \ge \ell_{(k)} \text{ else } -\infty

    where :math:`\ell_{(k)}` is the k-th largest logit of the row; ties with it are kept, so
    a row may keep more than ``k`` entries. ``k`` >= V keeps everything.

    Parameters
    ----------
    logits : tensor (B, V)
    k : int >= 1

    Returns
    -------
    tensor (B, V), a new tensor.
    """
    _, k, _ = check_sampling(1.0, k, None)
    if k >= logits.shape[-1]:
        return logits.clone()
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    r"""Nucleus filter: keep the smallest set of most likely tokens whose probability is >= ``p``.

    Sort the probabilities :math:`\pi = \mathrm{softmax}(\ell)` in decreasing order; token
    :math:`v_j` (the j-th most likely) is kept when the mass before it is below ``p``:

    .. math:: \sum_{i < j} \pi_{v_i} < p

    so the most likely token is always kept and ``p = 1`` keeps every token (Holtzman et al.,
    2020, eq. 2-3). The others get :math:`-\infty`.

    Parameters
    ----------
    logits : tensor (B, V)
    p : float in (0, 1]

    Returns
    -------
    tensor (B, V), a new tensor.
    """
    _, _, p = check_sampling(1.0, None, p)
    if p >= 1.0:
        return logits.clone()
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = sorted_logits.softmax(dim=-1)
    mass_before = probs.cumsum(dim=-1) - probs
    drop_sorted = mass_before >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, float("-inf"))


def filter_logits(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> torch.Tensor:
    r"""Logits of the sampling distribution: divide by ``temperature``, then top-k, then top-p.

    .. math:: p(v) \propto \exp(\ell_v / \tau) \text{ on the kept tokens, } 0 \text{ elsewhere}

    :math:`\tau < 1` sharpens the distribution, :math:`\tau > 1` flattens it; ``None`` skips a
    filter.

    Parameters
    ----------
    logits : tensor (B, V)
    temperature : float > 0
    top_k : int >= 1 or None
    top_p : float in (0, 1] or None

    Returns
    -------
    tensor (B, V): scaled logits, :math:`-\infty` where filtered out.
    """
    temperature, top_k, top_p = check_sampling(temperature, top_k, top_p)
    check_tensor(logits, "logits", ndim=2, floating=True, shape_hint="(B, V)")
    scaled = logits / temperature
    if top_k is not None:
        scaled = top_k_filter(scaled, top_k)
    if top_p is not None:
        scaled = top_p_filter(scaled, top_p)
    return scaled


def sample_next_token(
    logits: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Draw one token per row from :func:`filter_logits`' distribution (ancestral sampling step).

    The draw is made on ``generator``'s device (the CPU for ``torch.Generator()``), so a seeded
    generator gives the same tokens on every device.

    Parameters
    ----------
    logits : tensor (B, V)
    temperature, top_k, top_p
        See :func:`filter_logits`.
    generator : torch.Generator, optional

    Returns
    -------
    tensor (B,) int64 on ``logits``' device.
    """
    filtered = filter_logits(logits, temperature=temperature, top_k=top_k, top_p=top_p)
    probs = filtered.float().softmax(dim=-1)
    where = generator.device if generator is not None else probs.device
    token = torch.multinomial(probs.to(where), 1, generator=generator)
    return token.squeeze(1).to(logits.device)
