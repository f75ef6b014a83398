r"""Tests of the diffusion chapter's checkers: right answers pass, each known mistake is named,
constant or cached answers fail, and each checker's reference equals the package's own
implementation, which is checked against an independent oracle here too."""

from __future__ import annotations

import pytest
import torch

from aigc_course.exercises import (
    EXERCISES,
    check_ddim_sample,
    check_flow_loss,
    check_posterior,
    check_q_sample,
    check_spread_prediction,
)
from aigc_course.exercises import diffusion as dx
from aigc_course.exercises.engine import draw_cases
from aigc_course.losses import flow_matching_loss
from aigc_course.sampling import (
    GaussianEpsilon,
    NoiseSchedule,
    ddim_sample,
    ddim_step,
    linear_schedule,
    q_posterior,
    q_sample,
)

pytestmark = pytest.mark.usefixtures("one_thread")


def _col(a):
    return a[:, None]


# ------------------------------------------------------------------ q_sample


@pytest.mark.parametrize(
    "fn",
    [
        lambda x0, ab, n: _col(ab).sqrt() * x0 + (1 - _col(ab)).sqrt() * n,
        lambda x0, ab, n: torch.sqrt(ab).unsqueeze(1) * x0 + torch.sqrt(1 - ab).unsqueeze(1) * n,
        lambda x0, ab, n: (x0.T * ab.sqrt() + n.T * (1 - ab).sqrt()).T,
    ],
)
def test_q_sample_accepts_right_answers(fn):
    fb = check_q_sample(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda x0, ab, n: _col(ab) * x0 + (1 - _col(ab)) * n, "their square roots"),
        (lambda x0, ab, n: _col(ab).sqrt() * x0 + (1 - _col(ab)) * n, "its variance"),
        (lambda x0, ab, n: (1 - _col(ab)).sqrt() * x0 + _col(ab).sqrt() * n, "swapped"),
        (lambda x0, ab, n: _col(ab).sqrt() * x0 + n, "keeps unit variance"),
        (lambda x0, ab, n: _col(ab).sqrt() * (x0 + n), "multiplies only x0"),
        (lambda x0, ab, n: ab.sqrt() * x0 + (1 - ab).sqrt() * n, "must match the size"),
        (lambda x0, ab, n: x0, "not yet right"),
        (lambda x0, ab, n: torch.zeros_like(x0), "not yet right"),
    ],
)
def test_q_sample_names_each_mistake(fn, message):
    fb = check_q_sample(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_q_sample_reference_equals_the_package():
    sched = linear_schedule(100)
    gen = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(6, 3, generator=gen), torch.randn(6, 3, generator=gen)
    t = torch.randint(0, 101, (6,), generator=gen)
    ab = sched.alpha_bars[t]
    ref = EXERCISES["check_q_sample"].reference(x0.double(), ab, noise.double())
    assert torch.allclose(ref.float(), q_sample(x0, t, noise, sched), atol=1e-6)


# ------------------------------------------------------------------ flow loss


@pytest.mark.parametrize(
    "fn",
    [
        lambda v, x0, x1: ((v - (x1 - x0)) ** 2).mean(),
        lambda v, x0, x1: torch.nn.functional.mse_loss(v, x1 - x0),
        lambda v, x0, x1: ((v + x0 - x1) ** 2).mean(),
    ],
)
def test_flow_loss_accepts_right_answers(fn):
    fb = check_flow_loss(fn)
    assert fb.passed, fb.message


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda v, x0, x1: ((v - (x0 - x1)) ** 2).mean(), "points the wrong way"),
        (lambda v, x0, x1: ((v - x1) ** 2).mean(), "as in DDPM"),
        (lambda v, x0, x1: ((v - x0) ** 2).mean(), "that target is the data"),
        (lambda v, x0, x1: ((v - (x1 - x0)) ** 2).sum(), "you summed"),
        (lambda v, x0, x1: (v - (x1 - x0)).abs().mean(), "absolute error"),
        (lambda v, x0, x1: (v - (x1 - x0)).mean() ** 2, "squared the mean"),
        (lambda v, x0, x1: torch.tensor(1.0), "not yet right"),
    ],
)
def test_flow_loss_names_each_mistake(fn, message):
    fb = check_flow_loss(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_flow_reference_equals_the_package_loss():
    gen = torch.Generator().manual_seed(3)
    x0, x1, v = (torch.randn(5, 2, generator=gen) for _ in range(3))
    t = torch.rand(5, generator=gen)
    ref = EXERCISES["check_flow_loss"].reference(v.double(), x0.double(), x1.double())
    pkg = flow_matching_loss(lambda x, tt, y: v, x0, t, x1)
    assert abs(float(ref) - float(pkg)) < 1e-6


# ------------------------------------------------------------------ posterior


def _post_parts(x0, xt, t, s):
    ab, abp, a, b = s.alpha_bars[t], s.alpha_bars[t - 1], s.alphas[t], s.betas[t]
    c0 = abp.sqrt() * b / (1 - ab)
    ct = a.sqrt() * (1 - abp) / (1 - ab)
    return c0, ct, (1 - abp) / (1 - ab) * b


def _post(x0, xt, t, s):
    c0, ct, var = _post_parts(x0, xt, t, s)
    return c0 * x0 + ct * xt, var


def _post_with(x0, xt, t, s, *, c0=None, ct=None, var=None):
    r0, rt, rv = _post_parts(x0, xt, t, s)
    c0 = r0 if c0 is None else c0
    ct = rt if ct is None else ct
    return c0 * x0 + ct * xt, rv if var is None else var


@pytest.mark.parametrize(
    "fn",
    [
        _post,
        lambda x0, xt, t, s: q_posterior(x0, xt, t, s),
        lambda x0, xt, t, s: (_post(x0, xt, t, s)[0], float(_post(x0, xt, t, s)[1])),
        lambda x0, xt, t, s: [_post(x0, xt, t, s)[0], _post(x0, xt, t, s)[1].reshape(1, 1)],
        lambda x0, xt, t, s: (
            _post(x0, xt, t, s)[0].float(),
            _post(x0, xt, t, s)[1].expand(x0.shape).float(),
        ),
        # 1 - alpha_bar_t / alpha_bar_{t-1} for beta_t: the same number
        lambda x0, xt, t, s: _post_with(
            x0,
            xt,
            t,
            s,
            var=(1 - s.alpha_bars[t - 1])
            / (1 - s.alpha_bars[t])
            * (1 - s.alpha_bars[t] / s.alpha_bars[t - 1]),
        ),
    ],
    ids=["formula", "package", "float_variance", "list", "float32", "beta_from_ratio"],
)
def test_posterior_accepts_right_answers(fn):
    fb = check_posterior(fn)
    assert fb.passed, fb.message
    assert fb.exercise == "check_posterior"


def _ab_in_ct(x0, xt, t, s):
    ab, abp = s.alpha_bars[t], s.alpha_bars[t - 1]
    return _post_with(x0, xt, t, s, ct=ab.sqrt() * (1 - abp) / (1 - ab))


def _ab_in_c0(x0, xt, t, s):
    ab, b = s.alpha_bars[t], s.betas[t]
    return _post_with(x0, xt, t, s, c0=ab.sqrt() * b / (1 - ab))


def _a_in_c0(x0, xt, t, s):
    ab, a, b = s.alpha_bars[t], s.alphas[t], s.betas[t]
    return _post_with(x0, xt, t, s, c0=a.sqrt() * b / (1 - ab))


def _swapped(x0, xt, t, s):
    c0, ct, _ = _post_parts(x0, xt, t, s)
    return _post_with(x0, xt, t, s, c0=ct, ct=c0)


def _no_sqrt(x0, xt, t, s):
    ab, abp, a, b = s.alpha_bars[t], s.alpha_bars[t - 1], s.alphas[t], s.betas[t]
    return _post_with(x0, xt, t, s, c0=abp * b / (1 - ab), ct=a * (1 - abp) / (1 - ab))


def _zero_based(x0, xt, t, s):
    return _post(x0, xt, t - 1, s)


def _detached(x0, xt, t, s):
    mean, var = _post(x0, xt.detach(), t, s)
    return mean, var


@pytest.mark.parametrize(
    "fn, message",
    [
        (_ab_in_ct, "you used alpha_bar_t where alpha_t belongs"),
        (_ab_in_c0, "you used alpha_bar_t where alpha_bar_{t-1} belongs"),
        (_a_in_c0, "you used alpha_t where alpha_bar_{t-1} belongs"),
        (_swapped, "swapped"),
        (_no_sqrt, "lack their square roots"),
        (lambda x0, xt, t, s: _post_with(x0, xt, t, s, var=s.betas[t]), "that variance is beta_t"),
        (
            lambda x0, xt, t, s: _post_with(x0, xt, t, s, var=_post(x0, xt, t, s)[1].sqrt()),
            "standard deviation",
        ),
        (
            lambda x0, xt, t, s: _post_with(
                x0, xt, t, s, var=(1 - s.alpha_bars[t]) / (1 - s.alpha_bars[t - 1]) * s.betas[t]
            ),
            "upside down",
        ),
        (_zero_based, "one step early"),
        # two mistakes at once: the checker still says which half is wrong
        (lambda x0, xt, t, s: (_ab_in_ct(x0, xt, t, s)[0], 2.0), "not yet right"),
        (lambda x0, xt, t, s: (_post(x0, xt, t, s)[0], 0.5), "the mean is right, the variance"),
        (
            lambda x0, xt, t, s: (_post(x0, xt, t, s)[0] + 1, _post(x0, xt, t, s)[1]),
            "the variance is right, the mean is not",
        ),
        (_detached, "the gradient with respect to x_t is wrong"),
        (lambda x0, xt, t, s: _post(x0, xt, t, s)[0], "return the pair (mean, variance)"),
        (lambda x0, xt, t, s: (*_post(x0, xt, t, s), 0), "of length 3"),
        (
            lambda x0, xt, t, s: (_post(x0, xt, t, s)[0], torch.ones(len(x0))),
            "does not broadcast",
        ),
        (lambda x0, xt, t, s: (xt, _post(x0, xt, t, s)[1]), "the variance is right"),
        (lambda x0, xt, t, s: (torch.zeros_like(xt), 0.0), "not yet right"),
    ],
)
def test_posterior_names_each_mistake(fn, message):
    fb = check_posterior(fn)
    assert not fb.passed and message in fb.message, fb.message
    assert "your function raised _AnswerForm" not in fb.message


def test_posterior_rejects_a_cached_answer_and_a_changed_schedule_is_harmless():
    cache = {}

    def cached(x0, xt, t, s):
        if "answer" not in cache:
            cache["answer"] = tuple(v.detach().clone() for v in _post(x0, xt, t, s))
        return cache["answer"]

    assert not check_posterior(cached).passed

    def scribbles_on_the_schedule(x0, xt, t, s):
        out = _post(x0, xt, t, s)
        s.alpha_bars.fill_(0.5)  # a copy: the checker's own schedule is untouched
        return out

    assert check_posterior(scribbles_on_the_schedule).passed


def test_posterior_draws_fresh_schedules():
    seen = []

    def spy(x0, xt, t, s):
        seen.append((t, s.betas.clone()))
        return _post(x0, xt, t, s)

    assert check_posterior(spy).passed and check_posterior(spy).passed
    betas = [b for _, b in seen]
    assert all(
        a.shape != b.shape or not torch.equal(a, b)
        for i, a in enumerate(betas)
        for b in betas[i + 1 :]
    )


def test_posterior_reference_equals_the_package_and_bayes_rule():
    # Independent oracle: the product of the Gaussians q(x_{t-1} | x0) and q(x_t | x_{t-1}),
    # normalised over x_{t-1}: precision 1/(1 - ab_{t-1}) + alpha_t / beta_t.
    ex = EXERCISES["check_posterior"]
    for seed in range(3):
        for x0, xt, t, s in draw_cases(ex, torch.Generator().manual_seed(seed)):
            abp, a, b = s.alpha_bars[t - 1], s.alphas[t], s.betas[t]
            precision = 1 / (1 - abp) + a / b
            var = 1 / precision
            mean = var * (abp.sqrt() * x0 / (1 - abp) + a.sqrt() * xt / b)
            ref = ex.reference(x0, xt, t, s)
            torch.testing.assert_close(ref[0], mean)
            torch.testing.assert_close(ref[1], var.expand_as(mean))
            pkg_mean, pkg_var = q_posterior(x0, xt, t, s)
            torch.testing.assert_close(ref[0], pkg_mean)


def test_posterior_schedules_are_valid_and_random():
    gen = torch.Generator().manual_seed(0)
    a, b = dx._random_schedule(gen), dx._random_schedule(gen)
    assert isinstance(a, NoiseSchedule) and 6 <= a.T <= 40
    assert a.T != b.T or not torch.equal(a.betas, b.betas)


# ------------------------------------------------------------------ a DDIM sampling loop


def _loop(x, model, s, ts):
    T = s.T
    for t, tp in zip(ts[:-1], ts[1:], strict=True):
        eps = model(x, torch.full((len(x),), t / T))
        ab, abp = s.alpha_bars[t], s.alpha_bars[tp]
        x0 = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
        x = abp.sqrt() * x0 + (1 - abp).sqrt() * eps
    return x


def _loop_package_step(x, model, s, ts):
    for t, tp in zip(ts[:-1], ts[1:], strict=True):
        x = ddim_step(x, model(x, t / s.T), t, tp, schedule=s)  # a float time is accepted
    return x


def _loop_indices(x, model, s, ts):
    for i in range(len(ts) - 1):
        t, tp = ts[i], ts[i + 1]
        ab, abp = float(s.alpha_bars[t]), float(s.alpha_bars[tp])
        eps = model(x, torch.tensor(t / s.T))  # a 0-d time is accepted
        x = (abp / ab) ** 0.5 * x + ((1 - abp) ** 0.5 - (abp * (1 - ab) / ab) ** 0.5) * eps
    return x


@pytest.mark.parametrize("fn", [_loop, _loop_package_step, _loop_indices])
def test_ddim_sample_accepts_right_answers(fn):
    fb = check_ddim_sample(fn)
    assert fb.passed, fb.message


def _loop_with(x, model, s, ts, *, when=None, to=None, step=None, once=False, time=None):
    T = s.T
    eps = None
    for t, tp in zip(ts[:-1], ts[1:], strict=True):
        if eps is None or not once:
            seen = t if when is None else when(t, tp)
            tt = seen / T if time is None else time(seen, T)
            eps = model(x, torch.full((len(x),), float(tt)))
        tp = tp if to is None else to(t, tp)
        ab, abp = s.alpha_bars[t], s.alpha_bars[tp]
        x0 = (x - (1 - ab).sqrt() * eps) / ab.sqrt()
        x = (step or (lambda x0, e, ab, abp: abp.sqrt() * x0 + (1 - abp).sqrt() * e))(
            x0, eps, ab, abp
        )
    return x


@pytest.mark.parametrize(
    "fn, message",
    [
        (lambda x, m, s, ts: x, "returned x_T unchanged"),
        (lambda x, m, s, ts: _loop_with(x, m, s, ts, to=lambda t, tp: t - 1), "goes to t - 1"),
        (lambda x, m, s, ts: _loop_with(x, m, s, ts, when=lambda t, tp: tp), "going to, t'"),
        (lambda x, m, s, ts: _loop_with(x, m, s, ts, time=lambda t, T: 1 - t / T), "backwards"),
        (lambda x, m, s, ts: _loop(x, m, s, ts[:-1]), "one step short"),
        (lambda x, m, s, ts: _loop(x, m, s, (ts[0], ts[-1])), "first noise prediction"),
        (lambda x, m, s, ts: _loop_with(x, m, s, ts, once=True), "first noise prediction"),
        (
            lambda x, m, s, ts: _loop_with(
                x, m, s, ts, step=lambda x0, e, ab, abp: abp.sqrt() * x0
            ),
            "drops the noise direction",
        ),
        (
            lambda x, m, s, ts: _loop_with(x, m, s, ts, time=lambda t, T: t),
            "divide the step number",
        ),
        (lambda x, m, s, ts: _loop(x, m, s, ts) + 0.01, "not yet right"),
        (lambda x, m, s, ts: torch.zeros_like(x), "not yet right"),
        (lambda x, m, s, ts: _loop(x, m, s, ts)[:, 0], "expected the samples"),
    ],
)
def test_ddim_sample_names_each_mistake(fn, message):
    fb = check_ddim_sample(fn)
    assert not fb.passed and message in fb.message, fb.message


def test_ddim_sample_a_changed_schedule_is_harmless():
    def scribbles_on_the_schedule(x, m, s, ts):
        out = _loop(x, m, s, ts)
        s.alpha_bars.fill_(0.5)  # a copy: the checker's schedule and model are untouched
        return out

    assert check_ddim_sample(scribbles_on_the_schedule).passed


def test_ddim_sample_rejects_a_cached_answer():
    cache = {}

    def cached(x, m, s, ts):
        cache.setdefault("x", _loop(x, m, s, ts).clone())
        return cache["x"]

    assert not check_ddim_sample(cached).passed


def test_ddim_sample_reference_equals_the_package_sampler_and_reaches_the_data():
    ex = EXERCISES["check_ddim_sample"]
    sched = linear_schedule(1000)
    m = torch.tensor([0.5, -1.0], dtype=torch.float64)
    s = torch.tensor([0.3, 0.7], dtype=torch.float64)
    model = dx._Oracle(m, s, sched)
    gen = torch.Generator().manual_seed(0)
    x_T = torch.randn(20_000, 2, generator=gen, dtype=torch.float64)
    ts = tuple(int(t) for t in torch.linspace(1000, 0, 51).round().long())
    ref = ex.reference(x_T, model, sched, ts)
    pkg = ddim_sample(GaussianEpsilon(m, s, sched), None, sched, steps=50, x_init=x_T)
    torch.testing.assert_close(ref, pkg)
    # the exact target distribution, N(m, s^2), within sampling and discretisation error
    torch.testing.assert_close(ref.mean(0), m, atol=0.03, rtol=0)
    torch.testing.assert_close(ref.std(0), s, atol=0.03, rtol=0)


def test_ddim_sample_model_names_a_time_outside_0_1():
    model = dx._Oracle(torch.zeros(2), torch.ones(2), linear_schedule(100))
    with pytest.raises(ValueError, match="divide the step number by T"):
        model(torch.zeros(3, 2), torch.full((3,), 50.0))
    with pytest.raises(ValueError, match="one per row"):
        model(torch.zeros(3, 2), torch.zeros(2))


# ------------------------------------------------------------------ predict, then run


def test_spread_prediction_accepts_the_measured_directions():
    fb = check_spread_prediction("smaller", "smaller")
    assert fb.passed and fb.exercise == "check_spread_prediction", fb.message
    assert "measured on fresh data" in fb.message
    assert check_spread_prediction(" Smaller", "SMALLER ").passed


@pytest.mark.parametrize(
    "steps, guidance, says",
    [
        ("larger", "smaller", ["1 step"]),
        ("same", "smaller", ["1 step"]),
        ("smaller", "larger", ["w = 4"]),
        ("smaller", "same", ["w = 4"]),
        ("larger", "larger", ["1 step", "w = 4"]),
    ],
)
def test_spread_prediction_names_the_wrong_prediction_without_the_answer(steps, guidance, says):
    fb = check_spread_prediction(steps, guidance)
    assert not fb.passed
    for part in says:
        assert part in fb.message
    for word in ("smaller", "larger", "same"):
        assert word not in fb.message, fb.message


@pytest.mark.parametrize("bad", ["?", "", None, 3, "down"])
def test_spread_prediction_asks_for_one_of_three_words(bad):
    fb = check_spread_prediction(bad, "smaller")
    assert not fb.passed and "answer steps= with one of" in fb.message
    fb = check_spread_prediction("smaller", bad)
    assert not fb.passed and "answer guidance= with one of" in fb.message


def test_spread_measurements_are_fresh_and_their_directions_stable():
    runs = [dx.measure_spreads(seed=seed, n=500) for seed in range(6)]
    for r in runs:
        assert r["steps_1"] < 0.2 * r["steps_50"], r
        assert r["w_4"] < 0.8 * r["w_0"], r
    assert dx.measure_spreads()["steps_50"] != dx.measure_spreads()["steps_50"]


def test_the_labelled_oracle_is_the_mixture_and_each_class():
    sched = linear_schedule(100)
    means = torch.tensor([[2.0, 0.0], [-1.0, 1.5], [-1.0, -1.5]], dtype=torch.float64)
    model = dx._LabelledGaussians(means, 0.4, sched)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 2, generator=gen, dtype=torch.float64)
    time = torch.full((5,), 0.3, dtype=torch.float64)
    for k in range(3):
        one = GaussianEpsilon(means[k], 0.4, sched)(x, time)
        torch.testing.assert_close(model(x, time, torch.full((5,), k)), one)
    # the unconditional prediction is -sqrt(1 - ab) times the mixture's score (autograd)
    ab = sched.alpha_bars[30]
    comp = torch.distributions.Independent(
        torch.distributions.Normal(ab.sqrt() * means, (ab * 0.16 + 1 - ab).sqrt()), 1
    )
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(torch.ones(3, dtype=torch.float64)), comp
    )
    xg = x.clone().requires_grad_(True)
    (score,) = torch.autograd.grad(mix.log_prob(xg).sum(), xg)
    torch.testing.assert_close(model(x, time, torch.full((5,), 3)), -(1 - ab).sqrt() * score)


def test_checkers_are_exported_from_the_diffusion_module():
    import aigc_course.exercises as exercises

    for name in (
        "check_q_sample",
        "check_posterior",
        "check_flow_loss",
        "check_ddim_sample",
        "check_spread_prediction",
    ):
        assert getattr(exercises, name).__module__ == "aigc_course.exercises.diffusion"
    for gone in ("check_predict_x0", "check_ddim_step"):
        assert not hasattr(exercises, gone)
