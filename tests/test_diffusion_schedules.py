"""Noise schedules and the closed forms of the forward process, against independent oracles."""

import math

import pytest
import torch

from aigc_course.sampling import (
    GaussianEpsilon,
    NoiseSchedule,
    cosine_schedule,
    linear_schedule,
    model_time,
    predict_x0,
    q_posterior,
    q_sample,
    score_from_epsilon,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_linear_schedule_values_and_scaling():
    s = linear_schedule(1000)
    assert s.T == 1000 and s.betas.shape == (1001,) and s.betas.dtype == torch.float64
    assert s.betas[0] == 0 and s.alpha_bars[0] == 1
    assert math.isclose(s.betas[1].item(), 1e-4) and math.isclose(s.betas[-1].item(), 0.02)
    # alpha-bar is the running product of 1 - beta, written out as a Python loop.
    prod, ab = 1.0, []
    for b in s.betas.tolist():
        prod *= 1 - b
        ab.append(prod)
    assert torch.allclose(s.alpha_bars, torch.tensor(ab, dtype=torch.float64), rtol=1e-12)
    assert torch.equal(s.alphas, 1 - s.betas)
    assert s.alpha_bars[-1] < 1e-4
    # Scaled by 1000/T: T = 100 reaches the same end point of the noise.
    s100 = linear_schedule(100)
    assert math.isclose(s100.betas[-1].item(), 0.2)
    assert s100.alpha_bars[-1] < 1e-4
    custom = linear_schedule(10, beta_start=0.1, beta_end=0.3)
    assert torch.allclose(custom.betas[1:], torch.linspace(0.1, 0.3, 10, dtype=torch.float64))


def test_cosine_schedule_matches_its_formula():
    T, off = 200, 0.008
    s = cosine_schedule(T)
    f = [math.cos((t / T + off) / (1 + off) * math.pi / 2) ** 2 for t in range(T + 1)]
    expected = torch.tensor([v / f[0] for v in f], dtype=torch.float64)
    # Equal wherever the clip of beta at 0.999 has not acted (every step but the last here).
    assert torch.allclose(s.alpha_bars[:-1], expected[:-1], rtol=1e-10, atol=1e-14)
    assert s.betas[1:].max() <= 0.999 and s.betas[1:].min() > 0
    assert torch.all(s.alpha_bars[1:] < s.alpha_bars[:-1])


def test_q_sample_matches_monte_carlo_of_the_chain():
    s = linear_schedule(50)
    x0 = torch.tensor([1.5, -0.7], dtype=torch.float64).repeat(10000)  # (20000,)
    x = x0.clone()
    g = gen(1)
    checkpoints = {5: None, 20: None, 50: None}
    for t in range(1, s.T + 1):
        b = s.betas[t]
        x = (1 - b).sqrt() * x + b.sqrt() * torch.randn(x.shape, generator=g, dtype=torch.float64)
        if t in checkpoints:
            checkpoints[t] = x.clone()
    for t, xt in checkpoints.items():
        closed = q_sample(
            x0,
            torch.full((x0.numel(),), t),
            torch.randn(x0.shape, generator=gen(2), dtype=torch.float64),
            s,
        )
        ab = s.alpha_bars[t].item()
        for k, start in enumerate((1.5, -0.7)):
            chain, one = xt[k::2], closed[k::2]
            se_mean = math.sqrt((1 - ab) / chain.numel())
            assert abs(chain.mean().item() - math.sqrt(ab) * start) < 5 * se_mean
            assert abs(one.mean().item() - math.sqrt(ab) * start) < 5 * se_mean
            assert abs(chain.var().item() / (1 - ab) - 1) < 5 * math.sqrt(2 / chain.numel())
            assert abs(one.var().item() / (1 - ab) - 1) < 5 * math.sqrt(2 / chain.numel())


def test_q_sample_edge_times_and_predict_x0_inverts_it():
    s = cosine_schedule(100)
    x0 = torch.randn(6, 3, generator=gen())
    noise = torch.randn(6, 3, generator=gen(1))
    assert torch.equal(q_sample(x0, torch.zeros(6, dtype=torch.long), noise, s), x0)
    t = torch.tensor([0, 1, 10, 50, 99, 100])
    xt = q_sample(x0, t, noise, s)
    assert torch.allclose(predict_x0(xt, t, noise, s)[:5], x0[:5], atol=1e-4)
    assert torch.allclose(predict_x0(xt[2:3], 10, noise[2:3], s), x0[2:3], atol=1e-5)


@pytest.mark.parametrize("t,t_prev", [(1, None), (7, None), (40, None), (40, 30), (40, 0), (10, 3)])
def test_q_posterior_equals_gaussian_conditioning(t, t_prev):
    s = linear_schedule(40)
    x0 = torch.randn(5, 2, generator=gen(), dtype=torch.float64)
    xt = torch.randn(5, 2, generator=gen(1), dtype=torch.float64)
    mean, var = q_posterior(x0, xt, t, s, t_prev=t_prev)
    sp = t - 1 if t_prev is None else t_prev
    # Independent oracle: x_s | x0 ~ N(sqrt(ab_s) x0, 1 - ab_s), x_t | x_s ~ N(sqrt(a) x_s, 1 - a)
    # with a = ab_t / ab_s; the posterior of x_s is the normalised product of the two Gaussians.
    ab_s, ab_t = s.alpha_bars[sp].item(), s.alpha_bars[t].item()
    a = ab_t / ab_s
    if sp == 0:
        assert torch.allclose(mean, x0) and var.item() == 0
        return
    precision = 1 / (1 - ab_s) + a / (1 - a)
    exp_var = 1 / precision
    exp_mean = exp_var * (math.sqrt(ab_s) * x0 / (1 - ab_s) + math.sqrt(a) * xt / (1 - a))
    assert math.isclose(var.item(), exp_var, rel_tol=1e-9)
    assert torch.allclose(mean, exp_mean, rtol=1e-9, atol=1e-12)
    if t_prev is None:
        beta_tilde = (1 - ab_s) / (1 - ab_t) * s.betas[t].item()
        assert math.isclose(var.item(), beta_tilde, rel_tol=1e-9)


def test_epsilon_is_a_scaled_score_on_gaussian_data():
    s = linear_schedule(100)
    m, std = torch.tensor([0.7, -1.0]), torch.tensor([0.3, 1.5])
    oracle = GaussianEpsilon(m, std, s)
    for t in (1, 10, 60, 100):
        ab = s.alpha_bars[t]
        marginal = torch.distributions.Normal(
            ab.sqrt() * m.double(), (ab * std.double() ** 2 + 1 - ab).sqrt()
        )
        x = torch.randn(7, 2, generator=gen(t), dtype=torch.float64).requires_grad_(True)
        (score,) = torch.autograd.grad(marginal.log_prob(x).sum(), x)
        eps = oracle(x.detach(), torch.full((7,), t / s.T, dtype=torch.float64))
        assert torch.allclose(score_from_epsilon(eps, t, s), score, rtol=1e-9)
        tt = torch.full((7,), t)
        assert torch.allclose(score_from_epsilon(eps, tt, s), score, rtol=1e-9)


def test_model_time():
    s = linear_schedule(200)
    assert model_time(50, s) == 0.25
    out = model_time(torch.tensor([0, 100, 200]), s)
    assert out.dtype == torch.float32 and out.tolist() == [0.0, 0.5, 1.0]


def test_schedule_to_device_and_from_betas():
    s = NoiseSchedule.from_betas(torch.tensor([0.1, 0.2], dtype=torch.float64))
    assert s.T == 2 and s.to("cpu") is s and s.device == torch.device("cpu")
    assert math.isclose(s.alpha_bars[2].item(), 0.9 * 0.8)


def test_bad_inputs_give_clear_errors():
    s = linear_schedule(10, beta_start=1e-3, beta_end=0.2)
    x0 = torch.zeros(4, 2)
    noise = torch.zeros(4, 2)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 10\].*found 11"):
        q_sample(x0, torch.tensor([0, 1, 2, 11]), noise, s)
    with pytest.raises(ValueError, match="found -1"):
        q_sample(x0, torch.tensor([0, -1, 2, 1]), noise, s)
    with pytest.raises(TypeError, match="int64 timesteps"):
        q_sample(x0, torch.rand(4), noise, s)
    with pytest.raises(TypeError, match="torch.Tensor of int64"):
        q_sample(x0, 3, noise, s)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        q_sample(x0, torch.zeros(3, dtype=torch.long), noise, s)
    with pytest.raises(ValueError, match="noise must have the shape of x0"):
        q_sample(x0, torch.zeros(4, dtype=torch.long), torch.zeros(4, 3), s)
    with pytest.raises(TypeError, match="NoiseSchedule"):
        q_sample(x0, torch.zeros(4, dtype=torch.long), noise, "linear")
    with pytest.raises(ValueError, match=r"t must be an int in \[1, 10\]"):
        q_posterior(x0, x0, 0, s)
    with pytest.raises(ValueError, match=r"t must be an int in \[1, 10\]"):
        q_posterior(x0, x0, 11, s)
    with pytest.raises(ValueError, match=r"t_prev must be an int in \[0, 4\]"):
        q_posterior(x0, x0, 5, s, t_prev=5)
    with pytest.raises(ValueError, match="T .* positive int"):
        linear_schedule(0)
    with pytest.raises(ValueError, match="beta_end must be in"):
        linear_schedule(10)  # 0.02 * 1000 / 10 = 2 is not a probability
    with pytest.raises(ValueError, match="beta must lie in"):
        NoiseSchedule.from_betas(torch.tensor([0.1, 1.0]))
    with pytest.raises(ValueError, match="1-D tensor"):
        NoiseSchedule.from_betas(torch.zeros(2, 2))
    with pytest.raises(ValueError, match="s must be"):
        cosine_schedule(10, s=-1)
    with pytest.raises(ValueError, match="max_beta"):
        cosine_schedule(10, max_beta=1.0)


def test_old_package_path_warns_and_names_the_new_home():
    import importlib
    import warnings

    import aigc_course.losses as losses
    import aigc_course.sampling as sampling

    old = importlib.import_module("aigc_course.diffusion")
    for name, new in [
        ("ddpm_sample", sampling.ddpm_sample),
        ("NoiseSchedule", sampling.NoiseSchedule),
        ("flow_sample", sampling.flow_matching_sample),
        ("flow_path", losses.flow_matching_path),
        ("epsilon_loss", losses.epsilon_loss),
    ]:
        with pytest.warns(FutureWarning, match=r"aigc_course\.(sampling|losses)"):
            assert getattr(old, name) is new
    with pytest.raises(AttributeError):
        old.no_such_name  # noqa: B018
    # the private module paths the training code imports stay quiet for one release
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from aigc_course.diffusion.losses import _epsilon_loss, _flow_loss  # noqa: F401
        from aigc_course.diffusion.schedules import (  # noqa: F401
            NoiseSchedule,
            _check_schedule,
            cosine_schedule,
            linear_schedule,
        )


@pytest.mark.parametrize("make", [linear_schedule, cosine_schedule])
def test_log_snr_is_log_of_signal_over_noise_variance(make):
    from aigc_course.sampling import log_snr

    sched = make(200)
    lam = log_snr(sched)
    assert lam.shape == (201,) and lam.dtype == torch.float64
    assert math.isinf(float(lam[0])) and float(lam[0]) > 0
    # oracle: the variances of x_t = sqrt(ab) x0 + sqrt(1 - ab) eps, by Monte Carlo on x0 = 1
    gen = torch.Generator().manual_seed(0)
    for t in (20, 100, 180):
        ab = float(sched.alpha_bars[t])
        signal = ab  # (sqrt(ab) * 1) ** 2
        noise = (1 - ab) ** 0.5 * torch.randn(200_000, generator=gen, dtype=torch.float64)
        assert float(lam[t]) == pytest.approx(math.log(signal / float(noise.var())), abs=0.02)
    assert bool((lam[1:].diff() < 0).all())  # decreasing: more noise at every step


def test_log_snr_refuses_what_is_not_a_schedule():
    from aigc_course.sampling import log_snr

    with pytest.raises((TypeError, ValueError), match="schedule"):
        log_snr(torch.ones(3))
