r"""Checkers for the autoregressive chapter: causal attention weights, one attention head,
temperature and top-p sampling probabilities, the chain-rule NLL of a sequence.

Every checker runs on fresh random inputs at every call (random batch, length, width,
vocabulary, temperature and nucleus mass), compares with the package's own implementation
(:class:`~aigc_course.models.transformer.CausalSelfAttention`'s formula,
:func:`~aigc_course.sampling.autoregressive.filter_logits`, ``F.cross_entropy``), names the
usual mistakes, and checks the gradients where the computation is differentiable.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.nn import functional as F

from aigc_course.exercises.engine import Args, Exercise, Mistake, check, rand_int
from aigc_course.exercises.feedback import Feedback
from aigc_course.sampling.autoregressive import filter_logits

# ------------------------------------------------------------------ causal attention weights


def _allowed(T: int, *, diagonal: int = 0) -> torch.Tensor:  # noqa: N803
    return torch.ones(T, T, dtype=torch.bool).tril(diagonal=diagonal)


def _masked_softmax(scores: torch.Tensor, allowed: torch.Tensor, dim: int = -1):
    return scores.masked_fill(~allowed, float("-inf")).softmax(dim=dim)


def _causal_weights(scores: torch.Tensor) -> torch.Tensor:
    return _masked_softmax(scores, _allowed(scores.shape[-1]))


def _weights_inputs(gen: torch.Generator, case: int) -> Args:
    T = rand_int(gen, 4, 7)  # noqa: N806
    shape = (rand_int(gen, 2, 3), T, T)
    return (2.0 * torch.randn(shape, generator=gen, dtype=torch.float64),)


def _strict(scores: torch.Tensor) -> torch.Tensor:
    T = scores.shape[-1]  # noqa: N806
    w = _masked_softmax(scores, _allowed(T, diagonal=-1))
    w[..., 0, :] = float("nan")  # the first row has no allowed key: any answer there
    return w


CAUSAL_WEIGHTS = Exercise(
    name="check_causal_weights",
    arg_names=("scores",),
    draw=_weights_inputs,
    reference=_causal_weights,
    passed=(
        "each row t is a softmax over the keys 0..t only: the weights on later keys are "
        "exactly 0 and each row sums to 1, so position t cannot look at its future."
    ),
    what="the attention weights (the shape of scores)",
    hint=(
        "not yet right: row t must be the softmax of scores[..., t, :t+1] (keys up to and "
        "including t), with exactly 0 on the keys after t"
    ),
    grad=(0,),
    mistakes=(
        Mistake(
            lambda s: s.softmax(-1),
            "no mask: every position also attends to later positions (its future)",
        ),
        Mistake(
            lambda s: s.softmax(-1) * _allowed(s.shape[-1]),
            "you masked *after* the softmax: the kept weights no longer sum to 1; "
            "set the scores of later keys to -inf before the softmax",
        ),
        Mistake(
            lambda s: _masked_softmax(s, _allowed(s.shape[-1]).T),
            "the mask is transposed: position t attends to keys t..T-1 (the future) "
            "instead of 0..t",
        ),
        Mistake(
            _strict,
            "the diagonal is masked too: position t may attend to itself (key t); only "
            "the keys after t are hidden",
        ),
        Mistake(
            lambda s: _masked_softmax(s, _allowed(s.shape[-1]), dim=-2),
            "the softmax runs over the queries (dim -2); it must run over the keys, "
            "the last dimension, so that each query's weights sum to 1",
        ),
    ),
)


def check_causal_weights(fn: Callable[..., torch.Tensor]) -> Feedback:
    r"""Check ``fn(scores)``: causal attention weights from raw scores (..., T, T).

    .. math:: A_{ts} = \frac{\exp(S_{ts})\,[s \le t]}{\sum_{s' \le t} \exp(S_{ts'})}

    Vaswani et al. (2017), sec. 3.2.3 (masking in the decoder).
    """
    return check(CAUSAL_WEIGHTS, fn)


# ------------------------------------------------------------------ one causal attention head


def _head_inputs(gen: torch.Generator, case: int) -> Args:
    B, T = rand_int(gen, 2, 3), rand_int(gen, 4, 6)  # noqa: N806
    C, d = rand_int(gen, 5, 7), rand_int(gen, 2, 4)  # noqa: N806  (C != d)
    x = torch.randn(B, T, C, generator=gen, dtype=torch.float64)
    w = [torch.randn(C, d, generator=gen, dtype=torch.float64) for _ in range(3)]
    return (x, *w)


def _head(x, w_q, w_k, w_v, *, scale=None, allowed=None, dim=-1):
    q, k, v = x @ w_q, x @ w_k, x @ w_v
    T, d = x.shape[1], w_q.shape[1]  # noqa: N806
    scores = q @ k.transpose(-2, -1) / (math.sqrt(d) if scale is None else scale)
    mask = _allowed(T) if allowed is None else allowed
    return _masked_softmax(scores, mask, dim=dim) @ v


ATTENTION_HEAD = Exercise(
    name="check_attention_head",
    arg_names=("x", "w_q", "w_k", "w_v"),
    draw=_head_inputs,
    reference=_head,
    passed=(
        "softmax(Q K^T / sqrt(d) + causal mask) V: each position's output is a weighted "
        "average of the values of the positions up to it, the weights a soft lookup of its "
        "query among the keys."
    ),
    what="the head's output (B, T, d)",
    hint=(
        "not yet right: compute Q = x w_q, K = x w_k, V = x w_v, the scores Q K^T / "
        "sqrt(d) with d the head's width (w_q.shape[1]), the causal softmax over the keys, "
        "then the weighted sum of the values"
    ),
    grad=(0, 1, 2, 3),
    mistakes=(
        Mistake(
            lambda x, q, k, v: _head(x, q, k, v, scale=1.0),
            "the scores are not scaled: divide Q K^T by sqrt(d), or the softmax saturates "
            "as d grows",
        ),
        Mistake(
            lambda x, q, k, v: _head(x, q, k, v, scale=q.shape[1]),
            "you divided by d; the scale is sqrt(d)",
        ),
        Mistake(
            lambda x, q, k, v: _head(x, q, k, v, scale=math.sqrt(x.shape[2])),
            "you scaled by the square root of the model width C (x.shape[-1]); the scale "
            "is the square root of the head's width d (w_q.shape[1])",
        ),
        Mistake(
            lambda x, q, k, v: _head(x, q, k, v, allowed=torch.ones(x.shape[1], x.shape[1]).bool()),
            "no causal mask: each position attends to later positions too",
        ),
        Mistake(
            lambda x, q, k, v: _head(x, q, k, v, allowed=_allowed(x.shape[1]).T),
            "the mask is transposed: each position attends to itself and the *later* ones",
        ),
        Mistake(
            lambda x, q, k, v: _head(x, q, k, v, dim=-2),
            "the softmax runs over the queries (dim -2); run it over the keys (dim -1)",
        ),
        Mistake(
            lambda x, q, k, v: (
                _causal_weights((x @ q) @ (x @ k).transpose(-2, -1) / math.sqrt(q.shape[1])) @ x @ q
            ),
            "the weights average the queries (x w_q); they must average the values (x w_v)",
        ),
    ),
)


def check_attention_head(fn: Callable[..., torch.Tensor]) -> Feedback:
    r"""Check ``fn(x, w_q, w_k, w_v)``: one causal self-attention head, (B, T, C) -> (B, T, d).

    .. math:: \mathrm{head}(x) = \mathrm{softmax}\Big(\frac{(xW_q)(xW_k)^\top}{\sqrt d}
              + M\Big)\, xW_v, \qquad M_{ts} = 0 \text{ if } s \le t \text{ else } -\infty

    with :math:`W_q, W_k, W_v` of shape (C, d). Vaswani et al. (2017), eq. 1.
    """
    return check(ATTENTION_HEAD, fn)


# ------------------------------------------------------------------ temperature and top-p


def _sampling_inputs(gen: torch.Generator, case: int) -> Args:
    B, V = rand_int(gen, 2, 4), rand_int(gen, 7, 11)  # noqa: N806
    logits = 2.0 * torch.randn(B, V, generator=gen, dtype=torch.float64)
    temperature = [0.5, 2.0][case] * (0.8 + 0.4 * float(torch.rand((), generator=gen)))
    p = 0.5 + 0.4 * float(torch.rand((), generator=gen))
    return logits, temperature, p


def _probs(logits, temperature, p):
    return filter_logits(logits, temperature=temperature, top_p=p).softmax(dim=-1)


def _nucleus_keep(probs: torch.Tensor, p: float, *, inclusive: bool = False) -> torch.Tensor:
    sorted_p, order = probs.sort(dim=-1, descending=True)
    before = sorted_p.cumsum(-1) - sorted_p
    keep_sorted = (before + sorted_p < p) if inclusive else (before < p)
    return keep_sorted.scatter(-1, order, keep_sorted)


def _renorm(probs: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    kept = probs * keep
    return kept / kept.sum(-1, keepdim=True)


def _unsorted(logits, temperature, p):
    probs = (logits / temperature).softmax(-1)
    keep = (probs.cumsum(-1) - probs) < p  # cumulative mass in vocabulary order
    return _renorm(probs, keep)


SAMPLING_PROBS = Exercise(
    name="check_sampling_probs",
    arg_names=("logits", "temperature", "p"),
    draw=_sampling_inputs,
    reference=_probs,
    passed=(
        "softmax(logits / temperature), cut to the nucleus (the most likely tokens until "
        "their mass reaches p, the one that crosses p included) and renormalised."
    ),
    what="the sampling probabilities (B, V)",
    hint=(
        "not yet right: divide the logits by the temperature, take the softmax, sort each "
        "row's probabilities in decreasing order, keep a token while the mass *before* it "
        "is below p, set the others to 0 and renormalise the row"
    ),
    grad=(0,),
    mistakes=(
        Mistake(
            lambda lg, t, p: _probs(lg * t * t, t, p),
            "you multiplied the logits by the temperature; divide by it (a temperature "
            "below 1 must sharpen the distribution)",
        ),
        Mistake(
            lambda lg, t, p: (lg / t).softmax(-1) * _nucleus_keep((lg / t).softmax(-1), p),
            "the kept probabilities are not renormalised: each row must sum to 1",
        ),
        Mistake(
            lambda lg, t, p: _renorm(
                (lg / t).softmax(-1), _nucleus_keep((lg / t).softmax(-1), p, inclusive=True)
            ),
            "you dropped the token that crosses p: keep a token while the mass *before* it "
            "is below p, so the kept tokens hold at least p",
        ),
        Mistake(
            lambda lg, t, p: _renorm((lg / t).softmax(-1), _nucleus_keep(lg.softmax(-1), p)),
            "the nucleus was chosen from the probabilities *before* the temperature; apply "
            "the temperature first, then cut",
        ),
        Mistake(
            _unsorted,
            "the cumulative mass was summed in vocabulary order; sort the probabilities in "
            "decreasing order first",
        ),
        Mistake(
            lambda lg, t, p: (lg / t).softmax(-1),
            "the temperature is right, but nothing was cut: set the tokens outside the "
            "nucleus to probability 0",
        ),
    ),
)


def check_sampling_probs(fn: Callable[..., torch.Tensor]) -> Feedback:
    r"""Check ``fn(logits, temperature, p)``: the probabilities that temperature + top-p sample from.

    .. math:: \pi = \mathrm{softmax}(\ell / \tau), \qquad
              q_v \propto \pi_v\,\Big[\textstyle\sum_{u:\ \pi_u > \pi_v} \pi_u < p\Big]

    Holtzman et al. (2020), eq. 2-3.
    """
    return check(SAMPLING_PROBS, fn)


# ------------------------------------------------------------------ the chain-rule NLL


def _nll_inputs(gen: torch.Generator, case: int) -> Args:
    B, T, V = rand_int(gen, 2, 4), rand_int(gen, 4, 7), rand_int(gen, 5, 8)  # noqa: N806
    logits = 1.5 * torch.randn(B, T, V, generator=gen, dtype=torch.float64)
    tokens = torch.randint(0, V, (B, T), generator=gen)
    return logits, tokens


def _nll(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    terms = F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none")
    return terms.sum(dim=1)


def _picked(values: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    return values.gather(-1, tokens[..., None]).squeeze(-1)


CHAIN_RULE_NLL = Exercise(
    name="check_chain_rule_nll",
    arg_names=("logits", "tokens"),
    draw=_nll_inputs,
    reference=_nll,
    passed=(
        "-log p(x_1..x_T) = -sum_t log softmax(logits_t)[x_t]: one exact number per "
        "sequence, in nats."
    ),
    what="one negative log-likelihood per sequence, shape (B,)",
    hint=(
        "not yet right: for each sequence b, sum over t of -log softmax(logits[b, t])"
        "[tokens[b, t]] (natural log)"
    ),
    grad=(0,),
    mistakes=(
        Mistake(
            lambda lg, x: _nll(lg, x) / x.shape[1],
            "you took the mean over positions "
            "(nats per token); the likelihood of the sequence is the sum",
        ),
        Mistake(
            lambda lg, x: _nll(lg, x) / math.log(2),
            "that is in bits (log base 2); use the natural log, nats",
        ),
        Mistake(
            lambda lg, x: _nll(lg, x).sum(),
            "you summed over the batch too: return one number per sequence",
        ),
        Mistake(
            lambda lg, x: _nll(lg, x).mean(),
            "you averaged over the batch: return one number per sequence",
        ),
        Mistake(
            lambda lg, x: -_picked(lg, x).sum(1),
            "you used the raw logits as log "
            "probabilities: take log_softmax over the vocabulary first",
        ),
        Mistake(
            lambda lg, x: -_picked(lg.softmax(-1), x).sum(1),
            "you summed probabilities, not log probabilities",
        ),
        Mistake(
            lambda lg, x: -_picked(lg.log_softmax(1), x).sum(1),
            "the log_softmax runs over the positions (dim 1); run it over the vocabulary (dim -1)",
        ),
        Mistake(
            lambda lg, x: _nll(lg[:, :-1], x[:, 1:]),
            "the logits were shifted by one: here logits[:, t] already scores tokens[:, t]",
        ),
        Mistake(
            lambda lg, x: -_nll(lg, x),
            "the sign is flipped: return the *negative* log-likelihood, a positive number",
        ),
    ),
)


def check_chain_rule_nll(fn: Callable[..., torch.Tensor]) -> Feedback:
    r"""Check ``fn(logits, tokens)``: the exact NLL of each sequence from its conditionals.

    ``logits`` (B, T, V): row t holds the logits of :math:`p(x_t \mid x_{<t})`; ``tokens``
    (B, T) int64. Returns (B,):

    .. math:: -\log p(x_{1:T}) = -\sum_{t=1}^{T} \log \mathrm{softmax}(\ell_t)_{x_t}

    The chain rule of probability; Bengio et al. (2003), eq. 1.
    """
    return check(CHAIN_RULE_NLL, fn)
