"""The chapters' shared helpers in the package: settings, parameter counts, mean ± std over seeds
and 8-bit rounding.

Each helper replaced a function that chapters defined locally; the old function is copied here as
the reference, and the package function must reproduce it exactly (the chapters' printed outputs
stay the same). Each formula also has an independent oracle (statistics, NumPy, PIL).
"""

import io
import statistics
import textwrap
from contextlib import redirect_stdout
from dataclasses import dataclass, fields, is_dataclass

import numpy as np
import pytest
import torch
from torch import nn

from aigc_course.data import to_uint8, to_unit
from aigc_course.data.quantize import quantize_8bit
from aigc_course.notebook import count_parameters, mean_std, settings_lines, show_settings


def printed(fn, *args, **kwargs):
    buf = io.StringIO()
    with redirect_stdout(buf):
        fn(*args, **kwargs)
    return buf.getvalue()


# ------------------------------------------------------------------ the chapters' old functions


def old_show_settings(cfg):  # book/gan.py and book/diffusion.py, before the move
    """Print a config one field per line; nested configs show non-default fields."""
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        if is_dataclass(value):
            value = ", ".join(
                f"{g.name}={getattr(value, g.name)}"
                for g in fields(value)
                if getattr(value, g.name) != g.default
            )
        print(textwrap.fill(f"{f.name:15s} {value}", 80, subsequent_indent=" " * 16))


def old_settings_right(cfg, width):  # applications (19), case_study (12), vae (15)
    for name, value in vars(cfg).items():
        if is_dataclass(value):  # a nested config: only the settings that differ
            value = ", ".join(
                f"{f.name}={getattr(value, f.name)!r}"
                for f in fields(value)
                if getattr(value, f.name) != f.default
            )
        print(f"{name:>{width}}: {value}")


def old_settings_plain(cfg):  # concepts, loss_math
    for f in fields(cfg):
        print(f"{f.name:12s} {getattr(cfg, f.name)}")


def old_mean_std_applications(values):  # also case_study's spread
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(t) > 1 else 0.0


def old_mean_std_vae(values):
    values = torch.tensor(values, dtype=torch.float64)
    return float(values.mean()), float(values.std()) if len(values) > 1 else 0.0


def old_mean_std_diffusion(values):
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def old_n_params(*modules):  # applications, case_study
    return sum(p.numel() for m in modules for p in m.parameters())


def old_as_8bit(images):  # applications, diffusion
    return to_unit(to_uint8(images))


# ------------------------------------------------------------------ settings


@dataclass(frozen=True)
class Inner:
    steps: int = 100
    lr: float = 1e-3
    betas: tuple[float, float] = (0.5, 0.9)
    progress: bool = True
    max_seconds: float | None = None


@dataclass(frozen=True)
class Outer:
    seeds: tuple[int, ...] = (0, 1, 2)
    n_eval: int = 2000
    train: Inner = Inner()
    other: Inner = Inner()
    a_rather_long_field_name: float = 0.5
    sweep: tuple[int, ...] = (0, 8, 32, 128, 256, 400, 512, 600, 700)


def random_configs(n=40):
    g = np.random.default_rng(0)
    for _ in range(n):
        inner = Inner(
            steps=int(g.integers(1, 10**7)),
            lr=float(g.choice([1e-3, 2e-4, 0.05])),
            betas=(float(g.uniform()), 0.9) if g.uniform() < 0.5 else (0.5, 0.9),
            progress=bool(g.uniform() < 0.5),
            max_seconds=None if g.uniform() < 0.5 else float(g.integers(1, 100)),
        )
        yield Outer(
            seeds=tuple(range(int(g.integers(1, 30)))),
            n_eval=int(g.integers(1, 10**6)),
            train=inner,
            other=Inner() if g.uniform() < 0.5 else inner,
            sweep=tuple(int(v) for v in g.integers(0, 10**4, int(g.integers(0, 25)))),
        )


@pytest.mark.parametrize("cfg", list(random_configs()))
def test_show_settings_reproduces_the_chapters_three_old_formats(cfg):
    assert printed(show_settings, cfg) == printed(old_show_settings, cfg)
    for width in (12, 15, 19):
        assert printed(show_settings, cfg, width=width, align=">", sep=": ", wrap=None) == (
            printed(old_settings_right, cfg, width)
        )
    assert printed(show_settings, cfg, width=12, wrap=None, changed_only=False) == (
        printed(old_settings_plain, cfg)
    )


def test_settings_lines_by_hand():
    cfg = Outer(train=Inner(steps=5, progress=False))
    lines = settings_lines(cfg, width=6, sep=": ", wrap=None)
    assert lines[0] == "seeds : (0, 1, 2)"
    assert lines[2] == "train : steps=5, progress=False"
    assert lines[3] == "other : "
    assert settings_lines(cfg, width=3, align=">", wrap=None)[1] == "n_eval 2000"
    full = settings_lines(cfg, wrap=None, changed_only=False)[2]
    assert full == f"{'train':15s} {Inner(steps=5, progress=False)!r}"
    wrapped = settings_lines(Outer(sweep=tuple(range(40))), wrap=40)[-1].split("\n")
    assert all(len(line) <= 40 for line in wrapped) and len(wrapped) > 3
    assert all(line.startswith(" " * 16) for line in wrapped[1:])


@pytest.mark.parametrize(
    ("cfg", "kw", "exc", "match"),
    [
        (Outer, {}, TypeError, "dataclass instance"),
        ({"a": 1}, {}, TypeError, "dataclass instance"),
        (Outer(), {"align": "^"}, ValueError, "align"),
        (Outer(), {"width": -1}, ValueError, "width"),
        (Outer(), {"wrap": 0}, ValueError, "wrap"),
    ],
)
def test_settings_lines_rejects_bad_arguments(cfg, kw, exc, match):
    with pytest.raises(exc, match=match):
        settings_lines(cfg, **kw)


# ------------------------------------------------------------------ parameter counts


def test_count_parameters_against_a_hand_count_and_the_old_helper():
    lin = nn.Linear(7, 3)  # 7 * 3 + 3
    conv = nn.Conv2d(2, 4, 3)  # 4 * 2 * 3 * 3 + 4
    bn = nn.BatchNorm2d(4)  # weight and bias; running statistics are buffers
    assert count_parameters(lin) == 24
    assert count_parameters(lin, conv, bn) == 24 + 76 + 8
    torch.manual_seed(0)
    for _ in range(20):
        dims = torch.randint(1, 30, (4,)).tolist()
        mods = [nn.Sequential(nn.Linear(dims[0], dims[1]), nn.ReLU(), nn.Linear(dims[1], dims[2]))]
        mods.append(nn.Conv2d(dims[2], dims[3], 3, bias=bool(dims[3] % 2)))
        assert count_parameters(*mods) == old_n_params(*mods)


def test_count_parameters_counts_a_shared_tensor_once():
    a, b = nn.Linear(4, 4), nn.Linear(4, 4)
    b.weight = a.weight  # tied weights
    assert count_parameters(a, b) == 16 + 4 + 4
    assert count_parameters(a, a) == count_parameters(a) == 20


@pytest.mark.parametrize("bad", [(), ("not a module",), (nn.Linear(2, 2), 3)])
def test_count_parameters_rejects_non_modules(bad):
    with pytest.raises(TypeError, match="module"):
        count_parameters(*bad)


# ------------------------------------------------------------------ mean ± std


@pytest.mark.parametrize("n", [1, 2, 3, 5, 17])
def test_mean_std_matches_statistics_and_the_old_helpers(n):
    g = np.random.default_rng(n)
    for _ in range(25):
        values = (g.normal(size=n) * 10 ** g.uniform(-3, 3) + g.uniform(-100, 100)).tolist()
        m, s = mean_std(values)
        assert m == pytest.approx(statistics.fmean(values), rel=1e-12, abs=1e-12)
        expected = statistics.stdev(values) if n > 1 else 0.0
        assert s == pytest.approx(expected, rel=1e-9, abs=1e-12)
        for old in (old_mean_std_applications, old_mean_std_vae, old_mean_std_diffusion):
            assert (m, s) == old(values)  # bit for bit: the chapters print the same digits
        assert mean_std(torch.tensor(values, dtype=torch.float64)) == (m, s)
        assert mean_std(np.array(values)) == (m, s)


@pytest.mark.parametrize(
    ("values", "exc", "match"),
    [
        ([], ValueError, "at least 1"),
        ("123", TypeError, "sequence"),
        (3.0, TypeError, "sequence"),
        (None, TypeError, "sequence"),
        ([1.0, "a"], TypeError, "sequence"),
        ([1.0, float("nan")], ValueError, "finite"),
        ([[1.0, 2.0]], ValueError, "flat"),
    ],
)
def test_mean_std_rejects_what_is_not_one_number_per_seed(values, exc, match):
    with pytest.raises(exc, match=match):
        mean_std(values)


# ------------------------------------------------------------------ 8-bit rounding


def test_quantize_8bit_is_a_png_round_trip_and_the_old_helper():
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 9, 11, generator=g) * 1.4 - 0.2  # overshoot, as samples do
    q = quantize_8bit(x)
    assert q.dtype == torch.float32 and q.shape == x.shape
    assert torch.equal(q, old_as_8bit(x))
    for img, qi in zip(x, q, strict=True):
        pixels = np.clip(np.rint(img[0].double().numpy() * 255), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels, mode="L").save(buf, format="PNG")
        back = np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float32) / 255
        np.testing.assert_array_equal(qi[0].numpy(), back)
    assert torch.equal(quantize_8bit(q), q)  # idempotent
    real = to_unit(torch.randint(0, 256, (50, 28, 28), dtype=torch.uint8, generator=g))
    assert torch.equal(quantize_8bit(real), real)  # images from files pass unchanged


def test_settings_lines_names_a_nested_config_left_at_its_defaults():
    from dataclasses import dataclass, field

    @dataclass(frozen=True)
    class Inner:
        a: int = 1

    @dataclass(frozen=True)
    class Outer:
        inner: Inner = field(default_factory=Inner)
        changed: Inner = field(default_factory=lambda: Inner(a=2))

    assert settings_lines(Outer(), width=8, wrap=None) == ["inner    ", "changed  a=2"]
    lines = settings_lines(Outer(), width=8, wrap=None, unchanged="{name}() (all defaults)")
    assert lines == ["inner    Inner() (all defaults)", "changed  a=2"]
