"""Samplers and guidance: exact Gaussian oracles, DDIM/DDPM identities, determinism, bad input."""

import math

import pytest
import torch

from aigc_course.models.base import Generator
from aigc_course.models.denoiser import MLPDenoiser, MLPDenoiserConfig
from aigc_course.models.unet import UNet, UNetConfig
from aigc_course.sampling import (
    ClassifierFreeGuidance,
    DiffusionGenerator,
    GaussianEpsilon,
    GaussianVelocity,
    ddim_sample,
    ddim_sigma,
    ddim_step,
    ddpm_sample,
    ddpm_step,
    euler_step,
    flow_matching_sample,
    guided_prediction,
    heun_step,
    linear_schedule,
    q_posterior,
    sample,
    sampling_timesteps,
)

MEAN = torch.tensor([1.0, -0.5])
STD = torch.tensor([0.5, 0.8])
N = 10000


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def schedule():
    return linear_schedule(1000)


def assert_recovers_data(x, rel_bias=0.01, abs_bias=0.005):
    # Monte Carlo tolerance (4 standard errors) plus a small allowance for discretisation.
    se_mean = STD / math.sqrt(N)
    se_std = STD / math.sqrt(2 * N)
    assert torch.all((x.mean(0) - MEAN).abs() < 4 * se_mean + abs_bias), x.mean(0)
    assert torch.all((x.std(0) - STD).abs() < 4 * se_std + rel_bias * STD), x.std(0)


@pytest.mark.parametrize("variance", ["posterior", "beta"])
def test_ddpm_with_exact_epsilon_recovers_gaussian_data(schedule, variance):
    oracle = GaussianEpsilon(MEAN, STD, schedule)
    x = ddpm_sample(oracle, (N, 2), schedule, generator=gen(), variance=variance)
    assert x.shape == (N, 2)
    assert_recovers_data(x)


def test_ddim_with_exact_epsilon_recovers_gaussian_data(schedule):
    oracle = GaussianEpsilon(MEAN, STD, schedule)
    assert_recovers_data(ddim_sample(oracle, (N, 2), schedule, steps=500, generator=gen(1)))
    x = ddim_sample(oracle, (N, 2), schedule, steps=500, eta=0.5, generator=gen(2))
    assert_recovers_data(x)


@pytest.mark.parametrize("method,steps", [("euler", 200), ("heun", 20)])
def test_flow_ode_with_exact_velocity_recovers_gaussian_data(method, steps):
    x = flow_matching_sample(
        GaussianVelocity(MEAN, STD), (N, 2), steps=steps, method=method, generator=gen()
    )
    assert_recovers_data(x)


def test_too_few_steps_shrink_the_variance_measurably(schedule):
    # The oracle tests above can fail: at 5 Euler steps the exact velocity undershoots the spread.
    x = flow_matching_sample(GaussianVelocity(MEAN, STD), (N, 2), steps=5, generator=gen())
    with pytest.raises(AssertionError):
        assert_recovers_data(x)


def test_sampling_timesteps():
    assert sampling_timesteps(10) == list(range(10, -1, -1))
    for T, S in [(1000, 7), (1000, 999), (50, 50), (3, 1)]:
        ts = sampling_timesteps(T, S)
        assert len(ts) == S + 1 and ts[0] == T and ts[-1] == 0
        assert all(a > b for a, b in zip(ts[:-1], ts[1:], strict=True))
    with pytest.raises(ValueError, match="more sampling steps than the schedule's T=10"):
        sampling_timesteps(10, 11)


def test_ddim_eta_one_has_the_ddpm_posterior_variance(schedule):
    s = linear_schedule(100)
    for t in (1, 2, 50, 100):
        _, var = q_posterior(torch.zeros(1).double(), torch.zeros(1).double(), t, s)
        beta_tilde = (1 - s.alpha_bars[t - 1]) / (1 - s.alpha_bars[t]) * s.betas[t]
        assert torch.allclose(ddim_sigma(s, t, t - 1, 1.0) ** 2, beta_tilde, rtol=1e-10)
        assert torch.allclose(ddim_sigma(s, t, t - 1, 1.0) ** 2, var, rtol=1e-10)
        assert ddim_sigma(s, t, t - 1, 0.0) == 0
    # Respaced steps: the variance of q(x_s | x_t, x_0) for any s < t.
    _, var = q_posterior(torch.zeros(1).double(), torch.zeros(1).double(), 80, s, t_prev=30)
    assert torch.allclose(ddim_sigma(s, 80, 30, 1.0) ** 2, var, rtol=1e-10)
    # With the same noise, a DDIM step with eta = 1 is the DDPM ancestral step.
    x = torch.randn(4, 3, generator=gen(), dtype=torch.float64)
    eps = torch.randn(4, 3, generator=gen(1), dtype=torch.float64)
    z = torch.randn(4, 3, generator=gen(2), dtype=torch.float64)
    for t, tp in [(50, 49), (80, 30), (5, 0)]:
        a = ddim_step(x, eps, t, tp, schedule=s, eta=1.0, noise=z)
        b = ddpm_step(x, eps, t, tp, schedule=s, noise=z)
        assert torch.allclose(a, b, rtol=1e-9, atol=1e-12)


def test_ddim_eta1_and_respaced_ddpm_samplers_agree():
    s = linear_schedule(100)
    oracle = GaussianEpsilon(MEAN, STD, s)
    a = ddim_sample(oracle, (50, 2), s, steps=10, eta=1.0, generator=gen(3))
    b = ddpm_sample(oracle, (50, 2), s, steps=10, generator=gen(3))
    assert torch.allclose(a, b, atol=1e-5)


def test_ddim_eta_zero_is_deterministic_given_x_T():
    s = linear_schedule(100)
    model = MLPDenoiser(MLPDenoiserConfig(hidden=16, depth=1)).eval()
    x_T = torch.randn(8, 2, generator=gen())
    a = ddim_sample(model, None, s, steps=20, x_init=x_T, generator=gen(1))
    b = ddim_sample(model, None, s, steps=20, x_init=x_T, generator=gen(2))
    assert torch.equal(a, b)
    c = ddim_sample(model, None, s, steps=20, eta=1.0, x_init=x_T, generator=gen(1))
    d = ddim_sample(model, None, s, steps=20, eta=1.0, x_init=x_T, generator=gen(2))
    assert not torch.equal(c, d)  # eta > 0 draws fresh noise


def test_seeded_samplers_are_bit_identical_and_trajectories_have_their_shape():
    s = linear_schedule(50)
    torch.manual_seed(0)
    model = MLPDenoiser(MLPDenoiserConfig(hidden=16, depth=1)).eval()
    for draw in (
        lambda g, **kw: ddpm_sample(model, (6, 2), s, generator=g, **kw),
        lambda g, **kw: ddim_sample(model, (6, 2), s, steps=10, eta=0.3, generator=g, **kw),
        lambda g, **kw: flow_matching_sample(
            model, (6, 2), steps=10, method="heun", generator=g, **kw
        ),
    ):
        a, b, c = draw(gen(5)), draw(gen(5)), draw(gen(6))
        assert torch.equal(a, b) and not torch.equal(a, c)
        x, path = draw(gen(5), return_trajectory=True)
        assert torch.equal(x, a) and torch.equal(path[-1], a) and path.shape[1:] == (6, 2)
    _, path = ddim_sample(model, (6, 2), s, steps=10, return_trajectory=True, generator=gen())
    assert path.shape == (11, 6, 2)
    _, path = flow_matching_sample(model, (6, 2), steps=7, return_trajectory=True, generator=gen())
    assert path.shape == (8, 6, 2)


def test_clip_x0_keeps_the_final_sample_in_range():
    s = linear_schedule(100)
    far = GaussianEpsilon(torch.tensor([5.0]), torch.tensor([0.1]), s)  # data far outside [-1, 1]
    x = ddim_sample(far, (100, 1), s, steps=10, clip_x0=1.0, generator=gen())
    assert x.abs().max() <= 1.0 + 1e-5
    x = ddpm_sample(far, (100, 1), s, steps=10, clip_x0=1.0, generator=gen())
    assert x.abs().max() <= 1.0 + 1e-5
    assert ddim_sample(far, (100, 1), s, steps=10, generator=gen()).mean() > 4


class Spy(torch.nn.Module):
    """Returns a label-dependent constant, and counts calls."""

    n_classes = 3
    null_label = 3

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x, t, labels=None):
        self.calls += 1
        labels = torch.full((x.shape[0],), 3) if labels is None else labels
        return x * 0 + labels.view(-1, 1).to(x.dtype)


def test_guidance_weight_zero_equals_the_conditional_model():
    cond = torch.randn(5, 2, generator=gen())
    uncond = torch.randn(5, 2, generator=gen(1))
    assert torch.equal(guided_prediction(cond, uncond, 0.0), cond)
    assert torch.allclose(guided_prediction(cond, uncond, 3.0), 4 * cond - 3 * uncond)
    assert torch.allclose(guided_prediction(cond, uncond, -1.0), uncond)
    torch.manual_seed(0)
    net = MLPDenoiser(MLPDenoiserConfig(hidden=16, depth=2, n_classes=4)).eval()
    x, t, y = (
        torch.randn(5, 2, generator=gen()),
        torch.rand(5, generator=gen(1)),
        torch.arange(5) % 4,
    )
    with torch.no_grad():
        assert torch.equal(ClassifierFreeGuidance(net, 0.0)(x, t, y), net(x, t, y))
        expected = 3.5 * net(x, t, y) - 2.5 * net(x, t, torch.full_like(y, 4))
        assert torch.allclose(ClassifierFreeGuidance(net, 2.5)(x, t, y), expected, atol=1e-5)
    spy = Spy()
    out = ClassifierFreeGuidance(spy, 2.0)(x, t, torch.tensor([0, 1, 2, 0, 1]))
    assert spy.calls == 1  # one forward pass on the doubled batch
    assert torch.allclose(out[:, 0], 3 * torch.tensor([0.0, 1, 2, 0, 1]) - 2 * 3)
    samples = flow_matching_sample(
        ClassifierFreeGuidance(spy, 1.0), (5, 2), steps=3, labels=y % 3, generator=gen()
    )
    assert samples.shape == (5, 2)


def test_guided_unet_through_every_sampler():
    torch.manual_seed(0)
    net = UNet(UNetConfig(channels=(8, 8, 8), time_dim=16, n_classes=10)).eval()
    guided = ClassifierFreeGuidance(net, 2.0)
    s, y = linear_schedule(100), torch.tensor([3, 7])
    for out in (
        ddpm_sample(guided, (2, 1, 28, 28), s, steps=2, labels=y, generator=gen()),
        ddim_sample(guided, (2, 1, 28, 28), s, steps=2, labels=y, clip_x0=1.0, generator=gen()),
        flow_matching_sample(
            guided, (2, 1, 28, 28), steps=2, method="heun", labels=y, generator=gen()
        ),
    ):
        assert out.shape == (2, 1, 28, 28) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\]"):
        ddim_sample(guided, (2, 1, 28, 28), s, steps=2, labels=torch.tensor([3, 12]))


def test_bad_inputs_give_clear_errors():
    s = linear_schedule(100)
    net = MLPDenoiser(MLPDenoiserConfig(hidden=8, depth=1, n_classes=10))
    plain = MLPDenoiser(MLPDenoiserConfig(hidden=8, depth=1))
    with pytest.raises(ValueError, match="more sampling steps than the schedule's T=100"):
        ddim_sample(net, (4, 2), s, steps=101)
    with pytest.raises(ValueError, match="more sampling steps"):
        ddpm_sample(net, (4, 2), s, steps=1000)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\].*found 11"):
        ddpm_sample(net, (2, 2), s, labels=torch.tensor([3, 11]))
    with pytest.raises(ValueError, match="found -1"):
        flow_matching_sample(net, (2, 2), labels=torch.tensor([-1, 1]))
    with pytest.raises(ValueError, match="labels has 3 entries but the batch has 2"):
        flow_matching_sample(net, (2, 2), labels=torch.tensor([1, 1, 1]))
    with pytest.raises(TypeError, match="int64"):
        flow_matching_sample(net, (2, 2), labels=torch.tensor([1.0, 1.0]))
    with pytest.raises(ValueError, match="model is unconditional"):
        flow_matching_sample(plain, (2, 2), labels=torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="shape must be a tuple"):
        flow_matching_sample(net, (2,))
    with pytest.raises(ValueError, match="x_init has shape"):
        flow_matching_sample(net, (3, 2), x_init=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="eta must be in"):
        ddim_sample(net, (2, 2), s, eta=1.5)
    with pytest.raises(ValueError, match="method must be"):
        flow_matching_sample(net, (2, 2), method="rk4")
    with pytest.raises(ValueError, match="steps must be a positive int"):
        flow_matching_sample(net, (2, 2), steps=0)
    with pytest.raises(ValueError, match="variance must be"):
        ddpm_sample(net, (2, 2), s, variance="learned")
    with pytest.raises(ValueError, match="clip_x0"):
        ddpm_sample(net, (2, 2), s, clip_x0=-1)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        flow_matching_sample(net, (2, 2), generator=0)
    with pytest.raises(TypeError, match="NoiseSchedule"):
        ddpm_sample(net, (2, 2), 1000)
    with pytest.raises(TypeError, match="model must be callable"):
        flow_matching_sample("net", (2, 2))
    with pytest.raises(ValueError, match="null label"):
        ClassifierFreeGuidance(plain, 1.0)
    with pytest.raises(ValueError, match="finite"):
        ClassifierFreeGuidance(net, float("nan"))
    with pytest.raises(ValueError, match="needs labels"):
        flow_matching_sample(ClassifierFreeGuidance(net, 1.0), (2, 2))
    with pytest.raises(ValueError, match="must have the shape of cond"):
        guided_prediction(torch.zeros(2), torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="noise is required"):
        ddpm_step(torch.zeros(2), torch.zeros(2), 5, 4, schedule=s)
    with pytest.raises(ValueError, match="noise is required"):
        ddim_step(torch.zeros(2), torch.zeros(2), 5, 4, schedule=s, eta=0.5)


# ---- Euler vs Heun against the exact Gaussian velocity ---------------------------------------


def _flow_error(method: str, steps: int) -> float:
    # Data N(2, 0.5^2), noise N(0, 1): the exact flow map is x0 = 2 + 0.5 * x1 (monotone transport)
    x1 = torch.randn(4000, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    truth = 2.0 + 0.5 * x1
    out = flow_matching_sample(
        GaussianVelocity(2.0, 0.5), None, steps=steps, method=method, x_init=x1
    )
    return float((out.mean() - truth.mean()).abs() + (out.std() - truth.std()).abs())


def _slope(method: str) -> float:
    steps = [16, 32, 64, 128]  # past Heun's pre-asymptotic first doubling
    errors = [_flow_error(method, s) for s in steps]
    assert all(a > b for a, b in zip(errors, errors[1:], strict=False)), errors
    x = torch.tensor(steps, dtype=torch.float64).log()
    y = torch.tensor(errors, dtype=torch.float64).log()
    x = x - x.mean()
    return float(-(x * (y - y.mean())).sum() / (x * x).sum())


def test_euler_is_first_order_and_heun_second_order_on_the_gaussian_oracle():
    euler, heun = _slope("euler"), _slope("heun")
    assert 0.9 < euler < 1.1, euler
    assert 1.8 < heun < 2.2, heun
    for steps in (4, 16, 64):
        assert _flow_error("heun", steps) < _flow_error("euler", steps) / 3


def test_sample_dispatches_to_each_method_like_its_wrapper():
    sched = linear_schedule(50)
    net = GaussianEpsilon(MEAN, STD, sched)
    x_init = torch.randn(8, 2, generator=torch.Generator().manual_seed(4))
    for method, wrapper in (("ddpm", ddpm_sample), ("ddim", ddim_sample)):
        a = sample(net, None, method=method, schedule=sched, steps=10, x_init=x_init,
                   generator=torch.Generator().manual_seed(1))  # fmt: skip
        b = wrapper(net, None, sched, steps=10, x_init=x_init,
                    generator=torch.Generator().manual_seed(1))  # fmt: skip
        assert torch.equal(a, b)
    vel = GaussianVelocity(MEAN, STD)
    for method in ("euler", "heun"):
        a = sample(vel, None, method=method, steps=6, x_init=x_init)
        assert torch.equal(
            a, flow_matching_sample(vel, None, steps=6, method=method, x_init=x_init)
        )


def test_heun_step_is_the_trapezoid_and_falls_back_to_euler_only_when_asked():
    x, v = torch.ones(3, 2), torch.full((3, 2), 2.0)
    calls = []

    def predict(y, s):
        calls.append(s)
        return -y

    assert torch.equal(euler_step(x, v, 0.5, 0.25), x - 0.25 * v)
    guess = x - 0.25 * v
    assert torch.allclose(heun_step(x, v, 0.5, 0.25, predict=predict), x - 0.125 * (v - guess))
    assert calls == [0.25]
    assert torch.equal(
        heun_step(x, v, 0.25, 0.0, predict=predict, euler_at_zero=True), x - 0.25 * v
    )
    assert calls == [0.25]
    heun_step(x, v, 0.25, 0.0, predict=predict)
    assert calls == [0.25, 0.0]


def test_step_options_are_keyword_only():
    s = linear_schedule(50)
    x = torch.zeros(2, 2)
    with pytest.raises(TypeError):
        ddpm_step(x, x, 5, 4, s, x)  # the old positional (schedule, noise)
    with pytest.raises(TypeError):
        ddim_step(x, x, 5, 4, s, 0.5)  # the old positional (schedule, eta): the trap


# ---- DiffusionGenerator: the generator protocol for a denoiser -------------------------------


def test_diffusion_generator_samples_like_the_sampler_and_keeps_the_mode():
    torch.manual_seed(0)
    net = UNet(UNetConfig(channels=(8, 8, 8), time_dim=16, n_classes=10, groups=4))
    s = linear_schedule(50)
    g = DiffusionGenerator(net, s, method="ddim", steps=3, clip_x0=1.0)
    assert g.data_range == (-1.0, 1.0) and g.sample_shape == (1, 28, 28)
    assert isinstance(g, Generator)  # the package's generator protocol
    net.train()
    x = g.sample(4, labels=7, generator=gen(3))
    assert net.training  # the mode is restored
    net.eval()
    y = torch.full((4,), 7)
    ref = ddim_sample(net, (4, 1, 28, 28), s, steps=3, labels=y, clip_x0=1.0, generator=gen(3))
    assert torch.equal(x, ref.clamp(-1, 1))
    assert g.sample(0).shape == (0, 1, 28, 28)
    # labels None: the classes in turn, like every generator here
    a = g.sample(3, generator=gen(1))
    b = ddim_sample(net, (3, 1, 28, 28), s, steps=3, labels=torch.arange(3), clip_x0=1.0,
                    generator=gen(1))  # fmt: skip
    assert torch.equal(a, b.clamp(-1, 1))


def test_diffusion_generator_with_guidance_and_flow_matching():
    torch.manual_seed(0)
    net = MLPDenoiser(MLPDenoiserConfig(dim=2, hidden=16, depth=1, n_classes=3)).eval()
    g = DiffusionGenerator(
        net, method="heun", steps=4, guidance=2.0, data_range=(-math.inf, math.inf)
    )
    x = g.sample(5, labels=torch.tensor([0, 1, 2, 0, 1]), generator=gen(2))
    guided = ClassifierFreeGuidance(net, 2.0)
    ref = flow_matching_sample(guided, (5, 2), steps=4, method="heun",
                               labels=torch.tensor([0, 1, 2, 0, 1]), generator=gen(2))  # fmt: skip
    assert torch.equal(x, ref)
    assert "heun" in repr(g)


def test_diffusion_generator_checks_its_arguments_once():
    net = MLPDenoiser(MLPDenoiserConfig(dim=2, hidden=8, depth=1))
    s = linear_schedule(50)
    with pytest.raises(ValueError, match="needs the schedule"):
        DiffusionGenerator(net, method="ddpm", steps=10)
    with pytest.raises(ValueError, match="takes no schedule"):
        DiffusionGenerator(net, s, method="euler", steps=10)
    with pytest.raises(ValueError, match="steps=100"):
        DiffusionGenerator(net, s, method="ddim", steps=100)
    with pytest.raises(ValueError, match="method"):
        DiffusionGenerator(net, s, method="dpm", steps=10)
    with pytest.raises(ValueError, match="guidance needs a class-conditional"):
        DiffusionGenerator(net, s, method="ddim", steps=10, guidance=1.0)
    with pytest.raises(ValueError, match="data_range"):
        DiffusionGenerator(net, s, method="ddim", steps=10, data_range=(1.0, -1.0))
    with pytest.raises(TypeError, match="denoiser"):
        DiffusionGenerator(lambda x, t, y: x, s, method="ddim", steps=10)
    with pytest.raises(TypeError, match="takes no labels"):
        DiffusionGenerator(net, s, method="ddim", steps=2).sample(2, labels=1)
