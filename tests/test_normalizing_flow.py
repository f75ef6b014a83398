"""Normalizing-flow layers and model against independent oracles: autograd Jacobians, exact
inverses, a Gaussian with a full covariance (torch.distributions) and a Monte-Carlo histogram."""

import math

import pytest
import torch
from torch import nn

from aigc_course.models import Generator
from aigc_course.models.normalizing_flow import (
    ActNorm,
    AffineCoupling,
    InvertibleConv1x1,
    LogitTransform,
    NormalizingFlow,
    NormalizingFlowConfig,
    Squeeze,
    alternating_mask,
    channel_mask,
    checkerboard_mask,
    standard_normal_log_prob,
)
from aigc_course.models.spline_coupling import SplineCoupling, rational_quadratic_spline

torch.set_num_threads(1)


def _randomise(module: nn.Module, seed: int = 0, std: float = 0.4) -> nn.Module:
    r"""Random float64 weights everywhere (couplings start as the identity otherwise)."""
    g = torch.Generator().manual_seed(seed)
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.add_(std * torch.randn(p.shape, generator=g, dtype=p.dtype))
    for m in module.modules():
        if isinstance(m, ActNorm):
            m.initialized.fill_(True)
    return module


def _layers():
    return {
        "coupling-vector": (AffineCoupling(alternating_mask(3, 1), 8), (3,)),
        "coupling-spline": (SplineCoupling(alternating_mask(3, 0), 8, bins=5, bound=2.0), (3,)),
        "coupling-checkerboard": (
            AffineCoupling(checkerboard_mask(3, 4, 0), 4, channels=2),
            (2, 3, 4),
        ),
        "coupling-channel": (AffineCoupling(channel_mask(4, 1), 4, channels=4), (4, 2, 2)),
        "actnorm-vector": (ActNorm(3), (3,)),
        "actnorm-image": (ActNorm(2), (2, 2, 3)),
        "conv1x1": (InvertibleConv1x1(3), (3, 2, 2)),
        "squeeze": (Squeeze(), (1, 4, 2)),
        "logit": (LogitTransform(0.05), (1, 2, 3)),
        "model-vector": (NormalizingFlow(NormalizingFlowConfig(data_shape=(3,), hidden=8)), (3,)),
        "model-spline": (
            NormalizingFlow(
                NormalizingFlowConfig(data_shape=(2,), hidden=8, coupling="spline", spline_bins=4)
            ),
            (2,),
        ),
        "model-image": (
            NormalizingFlow(
                NormalizingFlowConfig(
                    data_shape=(1, 4, 4), n_couplings=2, hidden=4, n_scales=2,
                    invertible_conv=True, logit_alpha=0.05,
                )
            ),
            (1, 4, 4),
        ),
    }  # fmt: skip


def _inputs(name: str, shape: tuple[int, ...], n: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    if name in ("logit", "model-image"):
        return torch.rand(n, *shape, generator=g, dtype=torch.float64)
    return torch.randn(n, *shape, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("name", list(_layers()))
def test_log_det_matches_the_autograd_jacobian(name):
    layer, shape = _layers()[name]
    layer = _randomise(layer)
    x = _inputs(name, shape)
    with torch.no_grad():
        y, log_det = layer(x)
    assert log_det.shape == (x.shape[0],)
    for b in range(x.shape[0]):

        def f(v, b=b):
            return layer(v.view(1, *shape))[0].flatten()

        jac = torch.autograd.functional.jacobian(f, x[b].flatten())
        sign, logabs = torch.linalg.slogdet(jac)
        assert sign != 0
        assert float(log_det[b]) == pytest.approx(float(logabs), abs=1e-8)


@pytest.mark.parametrize("name", list(_layers()))
def test_inverse_undoes_forward(name):
    layer, shape = _layers()[name]
    layer = _randomise(layer, seed=3)
    x = _inputs(name, shape, n=5)
    y, _ = layer(x)
    assert torch.allclose(layer.inverse(y), x, atol=1e-10)
    # and the other way round, from the base side
    assert torch.allclose(layer(layer.inverse(y))[0], y, atol=1e-10)


def test_float32_round_trip_of_a_default_image_flow():
    torch.manual_seed(0)
    model = NormalizingFlow(
        NormalizingFlowConfig(data_shape=(1, 8, 8), n_couplings=2, hidden=8, n_scales=2)
    )
    _randomise(model, std=0.1).float()
    x = torch.rand(4, 1, 8, 8)
    z, _ = model(x)
    assert torch.allclose(model.inverse(z), x, atol=1e-4)


def test_masks_are_what_realnvp_draws():
    assert alternating_mask(4, 0).tolist() == [1, 0, 1, 0]
    assert alternating_mask(4, 1).tolist() == [0, 1, 0, 1]
    board = checkerboard_mask(2, 3, 0)
    assert board.shape == (1, 2, 3) and board[0].tolist() == [[1, 0, 1], [0, 1, 0]]
    assert (checkerboard_mask(2, 3, 1) == 1 - board).all()
    ch = channel_mask(4, 0)
    assert ch.shape == (4, 1, 1) and ch.flatten().tolist() == [1, 1, 0, 0]


def test_a_coupling_keeps_the_masked_part_and_starts_as_the_identity():
    layer = AffineCoupling(alternating_mask(4, 0), 8)
    x = torch.randn(6, 4)
    y, log_det = layer(x)
    assert torch.equal(y, x) and torch.equal(log_det, torch.zeros(6))
    layer = _randomise(layer)
    y, _ = layer(x.double())
    assert torch.equal(y[:, ::2], x.double()[:, ::2])
    assert not torch.allclose(y[:, 1::2], x.double()[:, 1::2])


def test_squeeze_moves_each_two_by_two_patch_into_channels():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    y, _ = Squeeze()(x)
    assert y.shape == (1, 4, 2, 2)
    # channel (di, dj) holds pixel (2i + di, 2j + dj)
    for di in range(2):
        for dj in range(2):
            assert torch.equal(y[0, 2 * di + dj], x[0, 0, di::2, dj::2])


def test_actnorm_initialises_from_the_first_batch_once():
    layer = ActNorm(3)
    x = 5.0 + 2.0 * torch.randn(500, 3, 4, 4)
    y, _ = layer(x)
    assert y.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    assert (y.std(dim=(0, 2, 3)) - 1).abs().max() < 1e-3
    before = layer.bias.detach().clone()
    layer(x + 10.0)
    assert torch.equal(layer.bias.detach(), before)
    # a fresh layer loading a trained one's state does not re-initialise
    fresh = ActNorm(3)
    fresh.load_state_dict(layer.state_dict())
    fresh(x + 10.0)
    assert torch.equal(fresh.bias.detach(), before)


def test_log_prob_of_an_affine_flow_is_the_gaussian_density():
    r"""ActNorm then a 1x1 convolution is z = A x + c: x ~ N(-A^{-1} c, A^{-1} A^{-T})."""
    model = NormalizingFlow(NormalizingFlowConfig(data_shape=(3, 1, 1), n_couplings=1))
    act, conv = ActNorm(3), InvertibleConv1x1(3)
    model.layers = nn.ModuleList([act, conv])
    _randomise(model, seed=5, std=0.5)
    scale = torch.diag(act.log_scale.detach().exp())
    a = conv.weight.detach() @ scale
    c = a @ act.bias.detach()
    a_inv = torch.linalg.inv(a)
    oracle = torch.distributions.MultivariateNormal(-a_inv @ c, a_inv @ a_inv.T)
    x = oracle.sample((50,))
    got = model.log_prob(x.view(50, 3, 1, 1))
    assert torch.allclose(got, oracle.log_prob(x), atol=1e-9)


def test_standard_normal_log_prob_matches_torch_distributions():
    z = torch.randn(4, 2, 3, dtype=torch.float64)
    want = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(dim=(1, 2))
    assert torch.allclose(standard_normal_log_prob(z), want)


def test_the_density_of_a_random_2d_flow_matches_a_histogram_of_its_samples():
    torch.manual_seed(0)
    model = _randomise(
        NormalizingFlow(NormalizingFlowConfig(data_shape=(2,), n_couplings=4, hidden=16)),
        seed=2,
        std=0.3,
    )
    n = 200_000
    x = model.sample(n, generator=torch.Generator().manual_seed(0))
    assert x.shape == (n, 2) and x.dtype == torch.float64
    lo, hi = x.quantile(0.02, dim=0), x.quantile(0.98, dim=0)
    bins = 12
    width = (hi - lo) / bins
    idx = ((x - lo) / width).floor().long()
    inside = ((idx >= 0) & (idx < bins)).all(dim=1)
    counts = torch.zeros(bins, bins, dtype=torch.float64)
    counts.index_put_(
        (idx[inside, 0], idx[inside, 1]),
        torch.ones(int(inside.sum()), dtype=torch.float64),
        accumulate=True,
    )
    # expected mass per cell: density integrated by a 6 x 6 midpoint rule
    k = 6
    offs = (torch.arange(k, dtype=torch.float64) + 0.5) / k
    cells = torch.stack(torch.meshgrid(torch.arange(bins), torch.arange(bins), indexing="ij"), -1)
    sub = torch.stack(torch.meshgrid(offs, offs, indexing="ij"), -1).view(-1, 2)
    points = lo + (cells.view(-1, 1, 2).double() + sub) * width
    with torch.no_grad():
        dens = model.log_prob(points.view(-1, 2)).exp().view(bins * bins, -1).mean(1)
    expected = (n * dens * width.prod()).view(bins, bins)
    enough = expected > 200
    assert int(enough.sum()) > 30
    z = (counts - expected)[enough] / expected[enough].sqrt()
    assert z.abs().max() < 5.0


def test_sampling_is_one_pass_seeded_and_follows_the_generator_protocol():
    model = NormalizingFlow(
        NormalizingFlowConfig(data_shape=(1, 4, 4), n_couplings=2, hidden=4, logit_alpha=0.05)
    )
    assert isinstance(model, Generator) and model.data_range == (0.0, 1.0)
    a = model.sample(3, generator=torch.Generator().manual_seed(7))
    b = model.sample(3, generator=torch.Generator().manual_seed(7))
    assert a.shape == (3, 1, 4, 4) and torch.equal(a, b)
    assert model.training  # mode restored
    assert model.sample(0).shape == (0, 1, 4, 4)
    toy = NormalizingFlow()
    assert toy.data_range == (-math.inf, math.inf) and toy.sample(2).shape == (2, 2)


def _spline_params(seed, shape=(40,), k=6):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, n, generator=g, dtype=torch.float64) for n in (k, k, k - 1)]


def test_the_spline_passes_through_its_knots_with_its_knot_derivatives():
    # The defining properties of the interpolant (Gregory & Delbourgo 1982): g(x_k) = y_k and
    # g'(x_k) = d_k, with the knots rebuilt here from the softmax/softplus parametrisation.
    bound, k = 2.5, 6
    w, h, d = _spline_params(0, shape=(1,), k=k)
    min_bin, min_d = 1e-3, 1e-3
    xs = torch.cat(
        [torch.zeros(1), torch.cumsum((min_bin + (1 - min_bin * k) * w.softmax(-1)), -1)[0]]
    )
    ys = torch.cat(
        [torch.zeros(1), torch.cumsum((min_bin + (1 - min_bin * k) * h.softmax(-1)), -1)[0]]
    )
    xs, ys = xs * 2 * bound - bound, ys * 2 * bound - bound
    inner = min_d + torch.nn.functional.softplus(d[0] + math.log(math.expm1(1 - min_d)))
    derivs = torch.cat([torch.ones(1), inner, torch.ones(1)])
    for i in range(1, k):  # inner knots (the ends are -B and B by construction)
        for side in (-1e-10, 1e-10):  # both neighbouring bins meet there
            x = (xs[i] + side).view(1).requires_grad_()
            y, log_d = rational_quadratic_spline(x, w, h, d, bound=bound)
            (grad,) = torch.autograd.grad(y.sum(), x)
            assert float(y) == pytest.approx(float(ys[i]), abs=1e-6)
            assert float(grad) == pytest.approx(float(derivs[i]), rel=1e-5)
            assert float(log_d.exp()) == pytest.approx(float(grad), rel=1e-9)


def test_the_spline_is_monotone_and_the_identity_outside_its_interval():
    w, h, d = _spline_params(1, shape=(2001,))
    x = torch.linspace(-4, 4, 2001, dtype=torch.float64)
    y, log_d = rational_quadratic_spline(x, w[:1].expand(2001, -1), h[:1].expand(2001, -1),
                                         d[:1].expand(2001, -1), bound=3.0)  # fmt: skip
    assert bool((y.diff() > 0).all())
    outside = x.abs() > 3.0
    assert torch.equal(y[outside], x[outside]) and bool((log_d[outside] == 0).all())
    assert float(y[x == 3.0]) == pytest.approx(3.0) and float(y[x == -3.0]) == pytest.approx(-3.0)
    zero = [torch.zeros(2001, n, dtype=torch.float64) for n in (6, 6, 5)]
    y0, l0 = rational_quadratic_spline(x, *zero, bound=3.0)
    assert torch.allclose(y0, x, atol=1e-12) and float(l0.abs().max()) < 1e-12


def test_spline_couplings_are_for_vectors_and_validate_their_settings():
    with pytest.raises(ValueError, match="coupling='affine'"):
        NormalizingFlowConfig(data_shape=(1, 4, 4), coupling="spline")
    with pytest.raises(ValueError, match="coupling"):
        NormalizingFlowConfig(coupling="cubic")
    with pytest.raises(ValueError, match="spline_bins"):
        NormalizingFlowConfig(coupling="spline", spline_bins=1)
    with pytest.raises(ValueError, match="mask"):
        SplineCoupling(torch.ones(2), 8)
    flow = NormalizingFlow(NormalizingFlowConfig(coupling="spline", n_couplings=2, hidden=8))
    x = torch.randn(5, 2)
    z, log_det = flow(x)  # a new flow is the identity after ActNorm's data-dependent start
    assert torch.isfinite(log_det).all() and z.shape == (5, 2)
