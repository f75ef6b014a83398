r"""Bad arguments to the sampling math: each case of the round-2 probe is a clear error.

The rows follow the reliability review's section 6 (obscure and silent outcomes of the
diffusion API) and section 7 (samplers, schedules, guidance). Every case changes one argument
of a valid call; the call must raise TypeError or ValueError whose message names the argument
(never an AttributeError, IndexError or a RuntimeError from inside torch, never a silent NaN).
``test_the_valid_calls_pass`` runs every valid call, so each case fails for its own reason.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from torch import nn

from aigc_course.losses import epsilon_loss, flow_matching_loss, flow_matching_path
from aigc_course.sampling import (
    ClassifierFreeGuidance,
    GaussianEpsilon,
    GaussianVelocity,
    NoiseSchedule,
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
    model_time,
    predict_x0,
    q_posterior,
    q_sample,
    sample,
    sampling_timesteps,
    score_from_epsilon,
)

S = linear_schedule(50)
B, D = 6, 2


def _x(seed: int = 0) -> torch.Tensor:
    return torch.randn(B, D, generator=torch.Generator().manual_seed(seed))


class Net(nn.Module):
    n_classes = 3
    null_label = 3

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(D, D)

    def forward(self, x, time, labels=None):
        return self.lin(x) * time[:, None]


NET = Net().eval()

# "bad value" builders for a tensor argument shaped like x (B, D)
TENSOR_FAULTS = {
    "None": lambda v: None,
    "numpy": lambda v: v.numpy(),
    "uint8": lambda v: (v.abs() * 50).to(torch.uint8),
    "int64": lambda v: v.round().long(),
    "extra leading axis": lambda v: v[None],
    "one axis missing": lambda v: v[:, 0],
    "empty batch": lambda v: v[:0],
}
LIKE_FAULTS = {k: TENSOR_FAULTS[k] for k in ("None", "extra leading axis", "one axis missing")}
LIKE_FAULTS["empty batch"] = TENSOR_FAULTS["empty batch"]
STEP_FAULTS = {"0": 0, "-1": -1, "2.5": 2.5, "None": None, "'8'": "8", "True": True, "51": 51}
PREV_FAULTS = {"-1": -1, "2.5": 2.5, "None": None, "'8'": "8", "True": True, "10": 10, "11": 11}
ETA_FAULTS = {"None": None, "'0.5'": "0.5", "-0.1": -0.1, "1.5": 1.5, "nan": math.nan, "True": True}
SCHEDULE_FAULTS = {"None": None, "str": "linear"}
TIME_FAULTS = {
    "None": lambda v: None,
    "numpy": lambda v: v.numpy(),
    "uint8": lambda v: (v * 255).to(torch.uint8),
    "[0, 255]": lambda v: v * 255,
    "negative": lambda v: v - 2,
    "one axis missing": lambda v: v[0],
    "empty batch": lambda v: v[:0],
}


def _valid():
    """One valid call per function: name -> (function, keyword arguments)."""
    x, eps, z = _x(0), _x(1), _x(2)
    time = torch.linspace(0.1, 0.9, B)
    return {
        "ddpm_step": (ddpm_step, dict(x_t=x, eps=eps, t=10, t_prev=9, schedule=S, noise=z)),
        "ddim_step": (
            ddim_step,
            dict(x_t=x, eps=eps, t=10, t_prev=5, schedule=S, noise=z, eta=0.5),
        ),
        "ddim_sigma": (ddim_sigma, dict(schedule=S, t=10, t_prev=5, eta=0.5)),
        "predict_x0": (predict_x0, dict(x_t=x, t=10, eps=eps, schedule=S)),
        "predict_x0[tensor t]": (
            predict_x0,
            dict(x_t=x, t=torch.full((B,), 10), eps=eps, schedule=S),
        ),
        "score_from_epsilon": (score_from_epsilon, dict(eps=eps, t=10, schedule=S)),
        "model_time": (model_time, dict(t=10, schedule=S)),
        "sampling_timesteps": (sampling_timesteps, dict(T=50, steps=5)),
        "flow_matching_path": (flow_matching_path, dict(x0=x, x1=z, t=time)),
        "euler_step": (euler_step, dict(x_t=x, v=eps, t=0.5, t_prev=0.25)),
        "heun_step": (
            heun_step,
            dict(x_t=x, v=eps, t=0.5, t_prev=0.25, predict=lambda y, s: y),
        ),
        "q_sample": (q_sample, dict(x0=x, t=torch.full((B,), 3), noise=z, schedule=S)),
        "q_posterior": (q_posterior, dict(x0=x, x_t=eps, t=10, schedule=S)),
        "epsilon_loss": (
            epsilon_loss,
            dict(model=NET, x0=x, t=torch.full((B,), 3), noise=z, schedule=S),
        ),
        "flow_matching_loss": (flow_matching_loss, dict(model=NET, x0=x, t=time, noise=z)),
        "guided_prediction": (guided_prediction, dict(cond=x, uncond=eps, weight=2.0)),
        "GaussianEpsilon": (GaussianEpsilon, dict(mean=1.0, std=0.5, schedule=S)),
        "GaussianVelocity": (GaussianVelocity, dict(mean=1.0, std=0.5)),
    }


def _case(fn_name, arg, label, bad):
    return pytest.param(fn_name, arg, bad, id=f"{fn_name}-{arg}-{label}")


def _step_cases():
    x = _x(0)
    out = []
    for fn in ("ddpm_step", "ddim_step"):
        for label, f in TENSOR_FAULTS.items():
            out.append(_case(fn, "x_t", label, f(x)))
        for label, f in LIKE_FAULTS.items():
            out.append(_case(fn, "eps", label, f(x)))
            if label != "None":
                out.append(_case(fn, "noise", label, f(x)))
        for label, v in STEP_FAULTS.items():
            out.append(_case(fn, "t", label, v))
        for label, v in PREV_FAULTS.items():
            out.append(_case(fn, "t_prev", label, v))
        for label, v in SCHEDULE_FAULTS.items():
            out.append(_case(fn, "schedule", label, v))
    for label, v in {"None": None, "str": "beta-ish", "int": 1}.items():
        out.append(_case("ddpm_step", "variance", label, v))
    for label, v in ETA_FAULTS.items():
        out.append(_case("ddim_step", "eta", label, v))
        out.append(_case("ddim_sigma", "eta", label, v))
    return out


def _integer_cases():
    out = []
    for label, v in STEP_FAULTS.items():
        out.append(_case("ddim_sigma", "t", label, v))
        out.append(_case("score_from_epsilon", "t", label, v))
        if label != "0":
            out.append(_case("predict_x0", "t", label, v))
            out.append(_case("model_time", "t", label, v))
    for label, v in PREV_FAULTS.items():
        out.append(_case("ddim_sigma", "t_prev", label, v))
    for fn in ("ddim_sigma", "predict_x0", "score_from_epsilon", "model_time"):
        for label, v in SCHEDULE_FAULTS.items():
            out.append(_case(fn, "schedule", label, v))
    return out


def _tensor_cases():
    x = _x(0)
    time = torch.linspace(0.1, 0.9, B)
    out = []
    for label, f in TENSOR_FAULTS.items():
        out.append(_case("predict_x0", "x_t", label, f(x)))
        out.append(_case("predict_x0[tensor t]", "x_t", label, f(x)))
        out.append(_case("flow_matching_path", "x0", label, f(x)))
        if label in ("None", "numpy", "uint8", "int64"):
            out.append(_case("score_from_epsilon", "eps", label, f(x)))
            out.append(_case("q_sample", "x0", label, f(x)))
            out.append(_case("q_posterior", "x_t", label, f(x)))
            out.append(_case("epsilon_loss", "x0", label, f(x)))
            out.append(_case("flow_matching_loss", "x0", label, f(x)))
            out.append(_case("guided_prediction", "cond", label, f(x)))
            out.append(_case("euler_step", "x_t", label, f(x)))
    for label, f in LIKE_FAULTS.items():
        out.append(_case("predict_x0", "eps", label, f(x)))
        out.append(_case("flow_matching_path", "x1", label, f(x)))
        out.append(_case("guided_prediction", "uncond", label, f(x)))
        out.append(_case("euler_step", "v", label, f(x)))
        out.append(_case("heun_step", "v", label, f(x)))
    for label, f in TIME_FAULTS.items():
        out.append(_case("flow_matching_path", "t", label, f(time)))
    return out


def _scalar_cases():
    out = []
    for label, v in {"None": None, "'0.5'": "0.5", "nan": math.nan, "inf": math.inf}.items():
        out.append(_case("guided_prediction", "weight", label, v))
    out.append(_case("guided_prediction", "weight", "True", True))
    for fn in ("euler_step", "heun_step"):
        for label, v in {"None": None, "'0.5'": "0.5", "1.5": 1.5, "nan": math.nan}.items():
            out.append(_case(fn, "t", label, v))
        out.append(_case(fn, "t_prev", "above t", 0.75))
    out.append(_case("heun_step", "predict", "None", None))
    for label, v in {"None": None, "'8'": "8", "0": 0, "True": True}.items():
        out.append(_case("sampling_timesteps", "T", label, v))
    for fn in ("epsilon_loss", "flow_matching_loss"):
        for label, v in {"None": None, "str": "unet", "two-argument": lambda x, t: x}.items():
            out.append(_case(fn, "model", label, v))
    for fn in ("GaussianEpsilon", "GaussianVelocity"):
        for label, v in {
            "None": None,
            "str": "1",
            "nan": math.nan,
            "2-D": torch.ones(2, 2),
        }.items():
            out.append(_case(fn, "mean", label, v))
        for label, v in {"None": None, "'0.5'": "0.5", "0": 0.0, "-1": -1.0}.items():
            out.append(_case(fn, "std", label, v))
    return out


def _cases():
    return _step_cases() + _integer_cases() + _tensor_cases() + _scalar_cases()


@pytest.mark.parametrize(("fn_name", "arg", "bad"), _cases())
def test_bad_argument_is_a_clear_error(fn_name, arg, bad):
    fn, kwargs = _valid()[fn_name]
    kwargs[arg] = bad
    with pytest.raises((TypeError, ValueError)) as info:
        fn(**kwargs)
    assert type(info.value) in (TypeError, ValueError), repr(info.value)
    assert arg in str(info.value), f"the message does not name {arg!r}: {info.value}"


def test_the_valid_calls_pass():
    for name, (fn, kwargs) in _valid().items():
        out = fn(**kwargs)
        assert out is not None, name


# ---- the Gaussian oracles' call arguments (model(x, time, labels)) ---------------------------

ORACLES = {
    "GaussianEpsilon": GaussianEpsilon(1.0, 0.5, S),
    "GaussianVelocity": GaussianVelocity(-1, 0.3),
}
ORACLES["GaussianEpsilon[D=2]"] = GaussianEpsilon(torch.zeros(D), torch.ones(D), S)
GUIDED = ClassifierFreeGuidance(NET, weight=2.0)


def _call_cases():
    x, time = _x(0), torch.linspace(0.1, 0.9, B)
    out = []
    for name in ORACLES:
        for label, f in TENSOR_FAULTS.items():
            if label == "one axis missing" and "D=2" not in name:
                continue  # (B,) is a valid batch of 1-D data for scalar mean and std
            out.append(pytest.param(name, "x", f(x), id=f"{name}-x-{label}"))
        for label, f in TIME_FAULTS.items():
            out.append(pytest.param(name, "time", f(time), id=f"{name}-time-{label}"))
    for label in ("None", "numpy", "uint8", "int64", "extra leading axis"):
        out.append(pytest.param("guided", "x", TENSOR_FAULTS[label](x), id=f"CFG-x-{label}"))
    for label in ("None", "numpy", "uint8", "one axis missing"):
        out.append(pytest.param("guided", "time", TIME_FAULTS[label](time), id=f"CFG-time-{label}"))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    for label, bad in {"numpy": y.numpy(), "one axis missing": y[0], "float": y.float()}.items():
        out.append(pytest.param("guided", "labels", bad, id=f"CFG-labels-{label}"))
    return out


@pytest.mark.parametrize(("name", "arg", "bad"), _call_cases())
def test_bad_call_argument_is_a_clear_error(name, arg, bad):
    model = GUIDED if name == "guided" else ORACLES[name]
    kwargs = dict(x=_x(0), time=torch.linspace(0.1, 0.9, B), labels=torch.tensor([0, 1, 2] * 2))
    model(**kwargs)  # the valid call passes
    kwargs[arg] = bad
    with pytest.raises((TypeError, ValueError)) as info:
        model(**kwargs)
    assert arg in str(info.value), f"the message does not name {arg!r}: {info.value}"


def test_guidance_weight_must_be_a_real_number():
    for bad in (True, None, "2", math.nan, math.inf):
        with pytest.raises((TypeError, ValueError), match="weight"):
            ClassifierFreeGuidance(NET, weight=bad)
    with pytest.raises(TypeError, match=r"model\(x, time, labels\)"):
        ClassifierFreeGuidance(lambda x, t: x, weight=1.0)


# ---- samplers (section 7) ---------------------------------------------------------------------

SAMPLERS = {
    "ddpm_sample": lambda model, **kw: ddpm_sample(model, kw.pop("shape", None), S, steps=5, **kw),
    "ddim_sample": lambda model, **kw: ddim_sample(model, kw.pop("shape", None), S, steps=5, **kw),
    "flow_matching_sample": lambda model, **kw: flow_matching_sample(
        model, kw.pop("shape", None), steps=5, **kw
    ),
    "heun": lambda model, **kw: sample(model, kw.pop("shape", None), method="heun", steps=3, **kw),
}


def _nan_start():
    x = _x(3)
    x[2, 1] = math.nan
    return x


def _inf_start():
    x = _x(3)
    x[0, 0] = math.inf
    return x


SAMPLER_FAULTS = {
    "x_init NaN": (dict(x_init=_nan_start()), ValueError, "x_init"),
    "x_init +inf": (dict(x_init=_inf_start()), ValueError, "x_init"),
    "x_init float64": (dict(x_init=_x(3).double()), TypeError, "x_init has dtype"),
    "x_init uint8": (dict(x_init=_x(3).abs().to(torch.uint8)), TypeError, "x_init"),
    "x_init int64": (dict(x_init=_x(3).long()), TypeError, "x_init"),
    "x_init vs shape": (dict(shape=(B, D), x_init=_x(3)[:5]), ValueError, "x_init"),
    "device meta": (dict(shape=(B, D), device="meta"), ValueError, "meta"),
    "generator class": (dict(shape=(B, D), generator=torch.Generator), TypeError, "generator"),
    "labels int": (dict(shape=(B, D), labels=3), TypeError, "labels"),
    "labels out of range": (dict(shape=(B, D), labels=torch.full((B,), 4)), ValueError, "labels"),
}


@pytest.mark.parametrize("fault", list(SAMPLER_FAULTS))
@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_sampler_bad_argument_is_a_clear_error(sampler, fault):
    kwargs, error, words = SAMPLER_FAULTS[fault]
    with pytest.raises(error, match=words):
        SAMPLERS[sampler](NET, **kwargs)


class _WrongOutput(nn.Module):
    n_classes = None

    def __init__(self, shape_fn) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.shape_fn = shape_fn
        self.calls = 0

    def forward(self, x, time, labels=None):
        self.calls += 1
        return self.shape_fn(x) * self.w


@pytest.mark.parametrize(
    "shape_fn",
    [lambda x: x[:, :1], lambda x: x[:, 0], lambda x: x[None]],
    ids=["(B, 1)", "(B,)", "(1, B, D)"],
)
@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_model_output_of_the_wrong_shape_is_caught_on_the_first_call(sampler, shape_fn):
    model = _WrongOutput(shape_fn)
    with pytest.raises(ValueError, match=r"must return a tensor shaped like x, \(6, 2\)"):
        SAMPLERS[sampler](model, shape=(B, D), generator=torch.Generator().manual_seed(0))
    assert model.calls == 1


@pytest.mark.parametrize("sampler", list(SAMPLERS))
def test_model_without_a_labels_argument_is_named(sampler):
    with pytest.raises(TypeError, match=r"model\(x, time, labels\)"):
        SAMPLERS[sampler](lambda x, t: x, shape=(B, D))


def test_sampler_options_and_method_are_checked():
    with pytest.raises(ValueError, match="method"):
        sample(NET, (B, D), method="dpm++")
    with pytest.raises(TypeError, match="eta"):
        sample(NET, (B, D), method="ddpm", schedule=S, eta=0.5)
    with pytest.raises(ValueError, match="schedule"):
        sample(NET, (B, D), method="ddim")
    with pytest.raises(ValueError, match="schedule"):
        sample(NET, (B, D), method="euler", schedule=S)
    with pytest.raises(TypeError, match="eta"):
        ddim_sample(NET, (B, D), S, eta=True)
    with pytest.raises(ValueError, match="variance"):
        ddpm_sample(NET, (B, D), S, variance="fixed")


def test_the_valid_sampler_calls_pass():
    for sampler in SAMPLERS.values():
        out = sampler(NET, shape=(B, D), generator=torch.Generator().manual_seed(0))
        assert out.shape == (B, D) and bool(torch.isfinite(out).all())


# ---- hand-built schedules ---------------------------------------------------------------------


def _parts():
    return dict(betas=S.betas.clone(), alphas=S.alphas.clone(), alpha_bars=S.alpha_bars.clone())


def _edit(**changes):
    parts = _parts()
    for key, fn in changes.items():
        parts[key] = fn(parts[key])
    return parts


SCHEDULE_CASES = {
    "alpha_bars > 1": (_edit(alpha_bars=lambda a: a * 1.5), "alpha_bars"),
    "alpha_bars > 1 after t = 0": (
        _edit(alpha_bars=lambda a: torch.cat([a[:1], a[1:] + 1])),
        "alpha_bars must lie in",
    ),
    "alpha_bar 0": (_edit(alpha_bars=lambda a: torch.cat([a[:-1], a.new_zeros(1)])), "(0, 1]"),
    "alpha_bar negative": (_edit(alpha_bars=lambda a: a - 0.5), "alpha_bars"),
    "not decreasing": (_edit(alpha_bars=lambda a: torch.cat([a[:1], a[1:].flip(0)])), "decrease"),
    "lengths differ": (_edit(betas=lambda b: b[:-1]), "same length"),
    "betas inconsistent": (
        _edit(betas=lambda b: b * 2, alphas=lambda a: 1 - 2 * (1 - a)),
        "inconsistent",
    ),
    "alphas inconsistent": (_edit(alphas=lambda a: a * 0.99), "inconsistent"),
    "t = 0 not the data": (_edit(betas=lambda b: b + 0.01), "betas[0] = 0"),
    "NaN": (_edit(alpha_bars=lambda a: torch.where(a > 0.5, a, math.nan)), "NaN"),
    "numpy": (dict(_parts(), betas=S.betas.numpy()), "betas"),
    "integer": (dict(_parts(), alphas=S.alphas.long()), "alphas"),
    "2-D": (dict(_parts(), alpha_bars=S.alpha_bars[None]), "alpha_bars"),
    "one entry": (
        dict(betas=torch.zeros(1), alphas=torch.ones(1), alpha_bars=torch.ones(1)),
        "T + 1 >= 2",
    ),
}


@pytest.mark.parametrize("case", list(SCHEDULE_CASES))
def test_hand_built_schedule_that_is_not_one_is_refused(case):
    parts, words = SCHEDULE_CASES[case]
    with pytest.raises((TypeError, ValueError), match=re.escape(words)):
        NoiseSchedule(**parts)


def test_hand_built_valid_schedule_is_accepted_and_moves_without_a_check():
    s = NoiseSchedule(**_parts())
    assert torch.equal(s.alpha_bars, S.alpha_bars)
    assert s.to("cpu") is s
    assert NoiseSchedule.from_betas(torch.linspace(1e-3, 0.02, 10)).T == 10
    float32 = NoiseSchedule(**{k: v.float() for k, v in _parts().items()})
    assert float32.T == S.T
