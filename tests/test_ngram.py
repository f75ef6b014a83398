"""n-gram baselines against hand counts."""

import math

import pytest

from aigc_course.models.ngram import NGramModel

# token 0 is the start token; V = 4
TRAIN = [[0, 1, 2, 1, 3], [0, 1, 1, 3]]
TEST = [[0, 2, 1, 3]]


def test_unigram_by_hand():
    m = NGramModel(1, vocab_size=4, k=1.0).fit(TRAIN)
    # scored tokens: 1 2 1 3 1 1 3 -> c(1)=4, c(2)=1, c(3)=2, N=7
    assert m.prob([], 1) == pytest.approx((4 + 1) / (7 + 4))
    assert m.prob([], 0) == pytest.approx(1 / 11)
    expected = -(math.log(2 / 11) + math.log(5 / 11) + math.log(3 / 11)) / 3
    assert m.nats_per_token(TEST) == pytest.approx(expected)


def test_bigram_by_hand():
    m = NGramModel(2, vocab_size=4, k=0.5).fit(TRAIN)
    # pairs: (0,1)x2 (1,2) (2,1) (1,3)x2 (1,1)  -> c(1 as context)=4
    assert m.prob([0], 1) == pytest.approx((2 + 0.5) / (2 + 2))
    assert m.prob([2, 1], 3) == pytest.approx((2 + 0.5) / (4 + 2))
    test = [(0, 2, 0.5 / 4), (2, 1, 1.5 / 3), (1, 3, 2.5 / 6)]
    expected = -sum(math.log(p) for *_, p in test) / 3
    total, count = m.log_prob(TEST)
    assert count == 3 and -total / count == pytest.approx(expected)


def test_trigram_pads_the_context_with_the_start_token():
    m = NGramModel(3, vocab_size=4, k=1.0).fit(TRAIN)
    # first scored token of each sequence has context (0, 0): (0,0,1) twice
    assert m.prob([0, 0], 1) == pytest.approx((2 + 1) / (2 + 4))
    # (1,2,1) once, context (1,2) once
    assert m.prob([1, 2], 1) == pytest.approx((1 + 1) / (1 + 4))
    # an unseen context gives the uniform distribution
    assert m.prob([3, 3], 2) == pytest.approx(1 / 4)


def test_each_conditional_distribution_sums_to_one():
    m = NGramModel(2, vocab_size=4, k=0.1).fit(TRAIN)
    for ctx in range(4):
        assert sum(m.prob([ctx], t) for t in range(4)) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("args", "fit", "match"),
    [
        ((0, 4), TRAIN, "order"),
        ((2, 4, 0.0), TRAIN, "k must be > 0"),
        ((2, 4), "abc", "sequences must be a list"),
        ((2, 4), [[0]], "start token and at least one"),
        ((2, 4), [[0, 9]], "outside"),
        ((2, 4), [], "empty"),
    ],
)
def test_bad_arguments(args, fit, match):
    with pytest.raises((TypeError, ValueError), match=match):
        NGramModel(*args).fit(fit)
