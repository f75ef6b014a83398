r"""Property-based tests of the sampling math (hypothesis): schedules, steps, the one loop.

Any schedule built from betas in (0, 1) is accepted; any edit that breaks what a schedule is
(alpha-bar outside (0, 1], not decreasing, lengths that differ, betas that do not give the
alpha-bars) is refused with a message naming the field. The step functions keep their
identities for random schedules and times.
"""

from __future__ import annotations

import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from aigc_course.sampling import (  # noqa: E402
    NoiseSchedule,
    ddim_step,
    ddpm_step,
    predict_x0,
    q_posterior,
    q_sample,
    sampling_timesteps,
)

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

BETAS = st.lists(st.floats(min_value=1e-5, max_value=0.5), min_size=1, max_size=300)


def _parts(betas: list[float]) -> dict[str, torch.Tensor]:
    s = NoiseSchedule.from_betas(torch.tensor(betas, dtype=torch.float64))
    return dict(betas=s.betas.clone(), alphas=s.alphas.clone(), alpha_bars=s.alpha_bars.clone())


@SETTINGS
@given(BETAS)
def test_random_valid_schedules_are_accepted(betas):
    s = NoiseSchedule(**_parts(betas))
    assert len(betas) == s.T
    assert float(s.alpha_bars[0]) == 1.0 and bool((s.alpha_bars > 0).all())
    assert len(betas) == NoiseSchedule(**{k: v.float() for k, v in _parts(betas).items()}).T


@SETTINGS
@given(BETAS, st.data())
def test_alpha_bar_above_one_or_not_positive_is_refused(betas, data):
    parts = _parts(betas)
    i = data.draw(st.integers(1, len(betas)))
    parts["alpha_bars"][i] = data.draw(
        st.one_of(st.floats(1.0 + 1e-6, 10.0), st.floats(-10.0, 0.0))
    )
    with pytest.raises(ValueError, match="alpha_bars"):
        NoiseSchedule(**parts)


@SETTINGS
@given(st.lists(st.floats(1e-3, 0.5), min_size=2, max_size=100), st.data())
def test_alpha_bars_that_do_not_decrease_are_refused(betas, data):
    parts = _parts(betas)
    i = data.draw(st.integers(1, len(betas) - 1))
    ab = parts["alpha_bars"]
    ab[i + 1] = ab[i] * data.draw(st.floats(1.0, 1.0 / float(ab[i])))  # not below alpha_bar_i
    with pytest.raises(ValueError, match="alpha_bars"):
        NoiseSchedule(**parts)


@SETTINGS
@given(BETAS, st.sampled_from(["betas", "alphas", "alpha_bars"]), st.integers(1, 5))
def test_lengths_that_differ_are_refused(betas, field, cut):
    parts = _parts(betas)
    parts[field] = torch.cat([parts[field], parts[field][-cut:]])
    with pytest.raises(ValueError, match="same length"):
        NoiseSchedule(**parts)


@SETTINGS
@given(BETAS, st.data())
def test_betas_inconsistent_with_alpha_bars_are_refused(betas, data):
    parts = _parts(betas)
    i = data.draw(st.integers(1, len(betas)))
    factor = data.draw(st.floats(1.05, 1.9))
    parts["betas"][i] = min(parts["betas"][i] * factor, 0.999)
    hypothesis.assume(float(parts["betas"][i]) > float(_parts(betas)["betas"][i]) * 1.01)
    with pytest.raises(ValueError, match="inconsistent"):
        NoiseSchedule(**parts)


@SETTINGS
@given(BETAS, st.data())
def test_predict_x0_inverts_q_sample(betas, data):
    s = NoiseSchedule.from_betas(torch.tensor(betas, dtype=torch.float64))
    t = data.draw(st.integers(0, s.T))
    gen = torch.Generator().manual_seed(data.draw(st.integers(0, 2**16)))
    x0 = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    eps = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    x_t = q_sample(x0, torch.full((4,), t), eps, s)
    torch.testing.assert_close(predict_x0(x_t, t, eps, s), x0, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(BETAS, st.data())
def test_steps_agree_with_the_posterior_for_random_times(betas, data):
    s = NoiseSchedule.from_betas(torch.tensor(betas, dtype=torch.float64))
    t = data.draw(st.integers(1, s.T))
    t_prev = data.draw(st.integers(0, t - 1))
    gen = torch.Generator().manual_seed(data.draw(st.integers(0, 2**16)))
    x, eps, z = (torch.randn(5, 2, generator=gen, dtype=torch.float64) for _ in range(3))
    mean, var = q_posterior(predict_x0(x, t, eps, s), x, t, s, t_prev)
    expected = mean if t_prev == 0 else mean + var.sqrt() * z
    ddpm = ddpm_step(x, eps, t, t_prev, schedule=s, noise=z)
    ddim = ddim_step(x, eps, t, t_prev, schedule=s, noise=z, eta=1.0)
    torch.testing.assert_close(ddpm, expected)
    torch.testing.assert_close(ddim, expected, rtol=1e-6, atol=1e-6)


@SETTINGS
@given(st.integers(1, 5000), st.data())
def test_sampling_timesteps_are_a_strictly_decreasing_walk_from_T_to_0(T, data):  # noqa: N802, N803
    steps = data.draw(st.integers(1, T))
    times = sampling_timesteps(T, steps)
    assert times[0] == T and times[-1] == 0 and len(times) == steps + 1
    assert all(a > b for a, b in zip(times, times[1:], strict=False))
