r"""Count-based n-gram models of token sequences, with add-k smoothing: the honest text baselines.

An n-gram model keeps only the last n - 1 tokens of the context,

.. math:: p(x_t \mid x_{<t}) \approx p(x_t \mid x_{t-n+1:t-1})
          = \frac{c(x_{t-n+1:t}) + k}{c(x_{t-n+1:t-1}) + kV},

with :math:`c(\cdot)` the counts in the training sequences, V the vocabulary size and k the
add-k pseudo-count (k = 1: Laplace). n = 1 is the unigram model,
:math:`(c(x_t) + k) / (N + kV)`. Every sequence starts with a given token (a start token) that
is not scored; contexts reaching before it are padded with that token.

References
----------
Jurafsky & Martin, *Speech and Language Processing* (3rd ed. draft), ch. 3, "N-gram language
models" (eq. 3.23-3.25, add-k smoothing).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence

from aigc_course._check import check_count, check_real

__all__ = ["NGramModel"]


def _check_sequences(sequences: object, vocab_size: int) -> list[list[int]]:
    if isinstance(sequences, (str, bytes)) or not isinstance(sequences, Iterable):
        raise TypeError(
            "sequences must be a list of token-id sequences (lists of int), got "
            f"{type(sequences).__name__}: encode the text with a tokenizer first"
        )
    out = []
    for i, seq in enumerate(sequences):
        ids = [int(t) for t in seq]
        if len(ids) < 2:
            raise ValueError(
                f"sequences[{i}] has {len(ids)} token(s): each needs a start token and at "
                "least one token to score"
            )
        if min(ids) < 0 or max(ids) >= vocab_size:
            raise ValueError(
                f"sequences[{i}] holds a token id outside [0, {vocab_size - 1}] "
                f"(vocab_size={vocab_size}): encode with the same tokenizer"
            )
        out.append(ids)
    if not out:
        raise ValueError("sequences is empty: give at least one sequence")
    return out


def _grams(ids: Sequence[int], n: int) -> Iterable[tuple[int, ...]]:
    padded = [ids[0]] * (n - 1) + list(ids)
    for t in range(1, len(ids)):
        yield tuple(padded[t : t + n])  # context (n - 1 tokens) then the token t


class NGramModel:
    r"""An add-k smoothed n-gram model over token ids 0..V-1.

    Parameters
    ----------
    order : int
        n: 1 unigram, 2 bigram, 3 trigram, ...
    vocab_size : int
        V.
    k : float
        Add-k pseudo-count, > 0 (so every token has non-zero probability).

    Examples
    --------
    >>> m = NGramModel(2, vocab_size=3, k=1.0).fit([[0, 1, 2, 1]])
    >>> round(m.prob([0], 1), 4)   # (c(0,1) + 1) / (c(0) + 3) = 2 / 4
    0.5
    """

    def __init__(self, order: int, vocab_size: int, k: float = 1.0) -> None:
        self.order = check_count(order, "order")
        self.vocab_size = check_count(vocab_size, "vocab_size")
        self.k = check_real(k, "k", low=0.0, low_open=True)
        self.counts: Counter[tuple[int, ...]] = Counter()
        self.context_counts: Counter[tuple[int, ...]] = Counter()

    def fit(self, sequences: Iterable[Sequence[int]]) -> NGramModel:
        r"""Count the n-grams of ``sequences`` (lists of token ids, each starting with its start
        token); returns ``self``."""
        for ids in _check_sequences(sequences, self.vocab_size):
            for gram in _grams(ids, self.order):
                self.counts[gram] += 1
                self.context_counts[gram[:-1]] += 1
        return self

    def prob(self, context: Sequence[int], token: int) -> float:
        r""":math:`p(\text{token} \mid \text{last } n-1 \text{ tokens of context})`, add-k smoothed."""
        ctx = tuple(int(t) for t in context)
        ctx = ctx[len(ctx) - self.order + 1 :] if self.order > 1 else ()
        if len(ctx) != self.order - 1:
            raise ValueError(
                f"context must hold at least {self.order - 1} tokens for order {self.order}, "
                f"got {len(context)}"
            )
        num = self.counts[(*ctx, int(token))] + self.k
        return num / (self.context_counts[ctx] + self.k * self.vocab_size)

    def log_prob(self, sequences: Iterable[Sequence[int]]) -> tuple[float, int]:
        r"""Total :math:`\sum \log p(x_t \mid \text{context})` in nats over all scored tokens of
        ``sequences`` (each token after the first of every sequence), and their number."""
        total, count = 0.0, 0
        k, kv = self.k, self.k * self.vocab_size
        for ids in _check_sequences(sequences, self.vocab_size):
            for gram in _grams(ids, self.order):
                num = self.counts[gram] + k
                total += math.log(num / (self.context_counts[gram[:-1]] + kv))
                count += 1
        return total, count

    def nats_per_token(self, sequences: Iterable[Sequence[int]]) -> float:
        r"""Held-out cross-entropy: :math:`-\frac1N \sum \log p(x_t \mid \cdot)`, nats per token."""
        total, count = self.log_prob(sequences)
        return -total / count
