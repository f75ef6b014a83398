"""compare_seeds against scipy.stats: the t quantile, the paired and the Welch intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from aigc_course.metrics.seeds import compare_seeds, student_t_quantile


@pytest.mark.parametrize("df", [1, 2, 2.5, 4, 7.3, 30, 200])
@pytest.mark.parametrize("p", [0.6, 0.9, 0.975, 0.995, 0.025])
def test_t_quantile_matches_scipy(p, df):
    assert student_t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_paired_interval_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(100, 3, size=3 + seed)
    b = a + rng.normal(1.0, 0.5, size=a.size)
    got = compare_seeds(a.tolist(), b.tolist(), paired=True, level=0.9)
    ci = stats.ttest_rel(a, b).confidence_interval(0.9)
    assert (got.low, got.high) == pytest.approx((ci.low, ci.high), rel=1e-9)
    assert got.diff == pytest.approx(float(np.mean(a - b)))
    assert got.std_a == pytest.approx(float(np.std(a, ddof=1)))


@pytest.mark.parametrize("seed", range(5))
def test_welch_interval_matches_scipy(seed):
    rng = np.random.default_rng(seed + 10)
    a, b = rng.normal(5, 1, size=4), rng.normal(6, 3, size=3 + seed)
    got = compare_seeds(a, b, paired=False)
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (got.low, got.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_verdict_follows_the_interval_not_the_means():
    clear = compare_seeds([10.0, 10.1, 9.9], [12.0, 12.2, 11.9], names=("VAE", "GAN"))
    assert clear.high < 0 and clear.verdict == "VAE lower than GAN"
    assert compare_seeds([3.0, 3.1, 2.9], [1.0, 1.2, 0.9]).verdict == "A higher than B"
    # A mean gap of about one standard deviation over three seeds is no ordering.
    noisy = compare_seeds([185.8, 160.2, 211.4], [193.8, 188.3, 199.3], paired=False)
    assert noisy.low < 0 < noisy.high and noisy.verdict == "no clear difference"
    text = str(clear)
    assert "95% paired t interval" in text and "over 3 seeds: VAE lower than GAN" in text


@pytest.mark.parametrize(
    "a, b, kwargs, error, match",
    [
        ([1.0], [2.0], {}, ValueError, "at least 2 seeds"),
        ([1.0, 2.0], [1.0, 2.0, 3.0], {}, ValueError, "paired=False"),
        ("12", [1.0, 2.0], {}, TypeError, "sequence of numbers"),
        ([1.0, float("nan")], [1.0, 2.0], {}, ValueError, "finite"),
        ([1.0, True], [1.0, 2.0], {}, TypeError, "real number"),
        ([1.0, 2.0], [1.0, 2.0], {"level": 1.0}, ValueError, "level"),
    ],
)
def test_bad_arguments_are_named(a, b, kwargs, error, match):
    with pytest.raises(error, match=match):
        compare_seeds(a, b, **kwargs)
