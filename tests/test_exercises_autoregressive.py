r"""Tests of the autoregressive chapter's checkers: right answers pass, each known mistake is
named, constant or detached answers fail, and each checker's reference equals an independent
oracle (torch's scaled_dot_product_attention, a loop over the vocabulary, a brute-force
enumeration of a tiny joint distribution)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch.nn import functional as F

from aigc_course.exercises import (
    EXERCISES,
    check_attention_head,
    check_causal_weights,
    check_chain_rule_nll,
    check_sampling_probs,
)
from aigc_course.exercises.engine import draw_cases

pytestmark = pytest.mark.usefixtures("one_thread")

AR_EXERCISES = (
    "check_causal_weights",
    "check_attention_head",
    "check_sampling_probs",
    "check_chain_rule_nll",
)


def _tril(T):  # noqa: N802, N803
    return torch.ones(T, T, dtype=torch.bool).tril()


# ------------------------------------------------------------------ causal weights


def _weights(s):
    T = s.shape[-1]  # noqa: N806
    return s.masked_fill(~_tril(T), float("-inf")).softmax(-1)


def _weights_by_loop(s):
    out = torch.zeros_like(s)
    for t in range(s.shape[-1]):
        out[..., t, : t + 1] = s[..., t, : t + 1].softmax(-1)
    return out


@pytest.mark.parametrize("fn", [_weights, _weights_by_loop])
def test_causal_weights_accepts_right_answers(fn):
    fb = check_causal_weights(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda s: s.softmax(-1), "no mask"),
        (lambda s: s.softmax(-1) * _tril(s.shape[-1]), "after* the softmax"),
        (
            lambda s: s.masked_fill(~_tril(s.shape[-1]).T, float("-inf")).softmax(-1),
            "transposed",
        ),
        (
            lambda s: s.masked_fill(
                ~torch.ones(s.shape[-1], s.shape[-1]).bool().tril(-1), -1e9
            ).softmax(-1),
            "diagonal is masked",
        ),
        (
            lambda s: s.masked_fill(~_tril(s.shape[-1]), float("-inf")).softmax(-2),
            "over the queries",
        ),
        (lambda s: _weights(s).detach(), "no gradient"),
        (lambda s: torch.zeros_like(s), "not yet right"),
    ],
)
def test_causal_weights_names_each_mistake(fn, message):
    fb = check_causal_weights(fn)
    assert not fb.passed and message in fb.message, fb.message


# ------------------------------------------------------------------ one head


def _head(x, wq, wk, wv):
    q, k, v = x @ wq, x @ wk, x @ wv
    att = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    return _weights(att) @ v


def _head_sdpa(x, wq, wk, wv):
    return F.scaled_dot_product_attention(x @ wq, x @ wk, x @ wv, is_causal=True)


@pytest.mark.parametrize("fn", [_head, _head_sdpa])
def test_attention_head_accepts_right_answers(fn):
    fb = check_attention_head(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda x, q, k, v: _weights((x @ q) @ (x @ k).transpose(-2, -1)) @ (x @ v), "not scaled"),
        (
            lambda x, q, k, v: _weights((x @ q) @ (x @ k).mT / q.shape[1]) @ (x @ v),
            "divided by d",
        ),
        (
            lambda x, q, k, v: _weights((x @ q) @ (x @ k).mT / math.sqrt(x.shape[2])) @ (x @ v),
            "model width C",
        ),
        (
            lambda x, q, k, v: F.scaled_dot_product_attention(x @ q, x @ k, x @ v),
            "no causal mask",
        ),
        (
            lambda x, q, k, v: _weights((x @ q) @ (x @ k).mT / math.sqrt(q.shape[1])) @ (x @ q),
            "queries",
        ),
        (lambda x, q, k, v: x @ v, "not yet right"),
    ],
)
def test_attention_head_names_each_mistake(fn, message):
    fb = check_attention_head(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_attention_head_reference_equals_sdpa():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 6, generator=gen, dtype=torch.float64)
    w = [torch.randn(6, 3, generator=gen, dtype=torch.float64) for _ in range(3)]
    ref = EXERCISES["check_attention_head"].reference(x, *w)
    assert torch.allclose(ref, _head_sdpa(x, *w), atol=1e-10)


# ------------------------------------------------------------------ temperature and top-p


def _probs_by_loop(logits, temperature, p):
    out = torch.zeros_like(logits)
    for b, row in enumerate((logits / temperature).softmax(-1)):
        mass = 0.0
        for v in sorted(range(row.shape[0]), key=lambda i: -float(row[i])):
            if mass >= p:
                break
            out[b, v] = row[v]
            mass += float(row[v])
    return out / out.sum(-1, keepdim=True)


def _probs(logits, temperature, p):
    probs = (logits / temperature).softmax(-1)
    s, order = probs.sort(-1, descending=True)
    keep = (s.cumsum(-1) - s) < p
    kept = torch.zeros_like(probs).scatter(-1, order, s * keep)
    return kept / kept.sum(-1, keepdim=True)


def test_sampling_probs_accepts_a_right_answer():
    fb = check_sampling_probs(_probs)
    assert fb.passed, fb.message


def test_sampling_probs_reference_equals_a_loop():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(4, 9, generator=gen, dtype=torch.float64)
    ref = EXERCISES["check_sampling_probs"].reference(logits, 0.7, 0.8)
    assert torch.allclose(ref, _probs_by_loop(logits, 0.7, 0.8), atol=1e-12)


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda lg, t, p: _probs(lg * t * t, t, p), "multiplied the logits"),
        (lambda lg, t, p: _probs(lg, t, p) * 0 + (lg / t).softmax(-1), "nothing was cut"),
        (
            lambda lg, t, p: (
                _probs(lg, t, p)
                * ((lg / t).softmax(-1) * _probs(lg, t, p) > 0)
                .double()
                .mul((lg / t).softmax(-1))
                .div(_probs(lg, t, p).clamp_min(1e-300))
                .nan_to_num()
            ),
            "not renormalised",
        ),
        (lambda lg, t, p: torch.full_like(lg, 1 / lg.shape[1]), "not yet right"),
    ],
)
def test_sampling_probs_names_each_mistake(fn, message):
    fb = check_sampling_probs(fn)
    assert not fb.passed and message in fb.message, fb.message


# ------------------------------------------------------------------ chain-rule NLL


def _nll(logits, tokens):
    return -logits.log_softmax(-1).gather(-1, tokens[..., None]).squeeze(-1).sum(1)


def test_chain_rule_nll_accepts_a_right_answer():
    fb = check_chain_rule_nll(_nll)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda lg, x: _nll(lg, x) / x.shape[1], "mean over positions"),
        (lambda lg, x: _nll(lg, x) / math.log(2), "bits"),
        (lambda lg, x: _nll(lg, x).sum(), "summed over the batch"),
        (lambda lg, x: -lg.gather(-1, x[..., None]).squeeze(-1).sum(1), "raw logits"),
        (lambda lg, x: -_nll(lg, x), "sign is flipped"),
        (lambda lg, x: _nll(lg, x).detach(), "no gradient"),
    ],
)
def test_chain_rule_nll_names_each_mistake(fn, message):
    fb = check_chain_rule_nll(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_chain_rule_nll_is_the_joint_by_enumeration():
    r"""The sum of the conditionals' NLLs equals -log of the joint computed by enumerating
    every sequence of a tiny model whose conditionals depend on the whole prefix."""
    V, T = 3, 3  # noqa: N806
    gen = torch.Generator().manual_seed(2)
    table = {
        prefix: torch.randn(V, generator=gen, dtype=torch.float64)
        for n in range(T)
        for prefix in itertools.product(range(V), repeat=n)
    }

    def joint(seq):
        p = 1.0
        for t in range(T):
            p *= float(table[tuple(seq[:t])].softmax(0)[seq[t]])
        return p

    seqs = list(itertools.product(range(V), repeat=T))
    assert math.isclose(sum(joint(s) for s in seqs), 1.0, rel_tol=1e-12)
    tokens = torch.tensor(seqs)
    logits = torch.stack([torch.stack([table[s[:t]] for t in range(T)]) for s in seqs])
    ref = EXERCISES["check_chain_rule_nll"].reference(logits, tokens)
    want = torch.tensor([-math.log(joint(s)) for s in seqs], dtype=torch.float64)
    assert torch.allclose(ref, want, atol=1e-12)


# ------------------------------------------------------------------ all of them


@pytest.mark.parametrize("name", AR_EXERCISES)
def test_every_mistake_is_distinguishable(name):
    exercise = EXERCISES[name]
    cases = draw_cases(exercise, torch.Generator().manual_seed(3))
    assert len(cases) == 2


@pytest.mark.parametrize("name", AR_EXERCISES)
def test_a_constant_answer_fails(name):
    from aigc_course import exercises

    fn = getattr(exercises, name)
    fb = fn(lambda *args: torch.zeros(()))
    assert not fb.passed
