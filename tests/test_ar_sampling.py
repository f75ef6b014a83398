"""Temperature, top-k and top-p filters on exact small cases; seeded draws; bad arguments."""

import math

import pytest
import torch

from aigc_course.sampling.autoregressive import (
    filter_logits,
    sample_next_token,
    top_k_filter,
    top_p_filter,
)

INF = float("-inf")


def test_top_k_keeps_the_k_largest_and_ties():
    logits = torch.tensor([[1.0, 3.0, 2.0, 0.0], [5.0, 5.0, 1.0, 5.0]])
    out = top_k_filter(logits, 2)
    assert torch.equal(out[0], torch.tensor([INF, 3.0, 2.0, INF]))
    assert torch.equal(out[1], torch.tensor([5.0, 5.0, INF, 5.0]))  # ties with the 2nd kept
    assert torch.equal(top_k_filter(logits, 9), logits)


@pytest.mark.parametrize(
    ("p", "kept"),
    [(0.3, [0]), (0.5, [0]), (0.51, [0, 1]), (0.7, [0, 1]), (0.81, [0, 1, 2]), (1.0, [0, 1, 2, 3])],
)
def test_top_p_keeps_the_smallest_nucleus_with_mass_at_least_p(p, kept):
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    order = torch.tensor([2, 0, 3, 1])  # shuffled: the filter must not rely on sorted input
    logits = probs.log()[order][None]
    out = top_p_filter(logits, p)[0]
    kept_now = sorted(int(order[i]) for i in range(4) if out[i] > INF)
    assert kept_now == kept
    assert torch.equal(out[out > INF], logits[0][out > INF])


def test_temperature_divides_the_logits_before_the_filters():
    logits = torch.tensor([[2.0, 0.0, -2.0]])
    assert torch.equal(filter_logits(logits, temperature=2.0), logits / 2)
    # at temperature 0.5 the top token has 0.98 of the mass: top_p=0.9 keeps it alone
    out = filter_logits(logits, temperature=0.5, top_p=0.9)
    assert torch.equal(out, torch.tensor([[4.0, INF, INF]]))


def test_draws_follow_the_filtered_distribution_and_are_seeded():
    logits = torch.tensor([[0.0, math.log(3.0), INF, math.log(6.0)]]).expand(20000, 4)
    draws = sample_next_token(logits, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(draws, minlength=4).double() / len(draws)
    expected = torch.tensor([0.1, 0.3, 0.0, 0.6], dtype=torch.double)
    assert torch.all(
        (freq - expected).abs() < 4 * (expected * (1 - expected) / 20000).sqrt() + 1e-9
    )
    again = sample_next_token(logits, generator=torch.Generator().manual_seed(0))
    assert torch.equal(draws, again)
    top1 = sample_next_token(logits[:50], top_k=1, generator=torch.Generator().manual_seed(1))
    assert torch.all(top1 == 3)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"temperature": 0.0}, "temperature"),
        ({"temperature": -1.0}, "temperature"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": 1.5}, "top_k"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.2}, "top_p"),
        ({"top_p": float("nan")}, "top_p"),
    ],
)
def test_bad_sampling_arguments_name_the_argument(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        filter_logits(torch.zeros(1, 3), **kwargs)
