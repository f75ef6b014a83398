r"""Checkers for the loss-math chapter: the optimal discriminator, the JSD, the Gaussian KL, the Gaussian NLL."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from aigc_course.exercises.engine import Args, Edge, Exercise, Mistake, check, rand_int
from aigc_course.exercises.feedback import Feedback

LN2 = math.log(2.0)
NAN = float("nan")


def _density_inputs(gen: torch.Generator, case: int) -> Args:
    n = rand_int(gen, 6, 10)
    p_data = torch.rand(n, generator=gen, dtype=torch.float64) * 0.5 + 1e-3
    p_g = torch.rand(n, generator=gen, dtype=torch.float64) * 0.5 + 1e-3
    p_data[0], p_g[1] = 0.0, 0.0  # only fakes live here, only data there
    order = torch.randperm(n, generator=gen)
    return p_data[order], p_g[order]


def _locate_d(args: Args, value: torch.Tensor, expected: torch.Tensor) -> str:
    p_data, p_g = args
    i = int((value - expected).abs().nan_to_num(math.inf).argmax())
    return (
        f"at p_data = {float(p_data[i]):.4g}, p_g = {float(p_g[i]):.4g} "
        f"your D* is {float(value[i]):.4g}"
    )


def _d_diagnose(fn: Callable[..., object], args: Args, value: torch.Tensor) -> str | None:
    finite = value[torch.isfinite(value)]
    if bool(((finite < 0) | (finite > 1)).any()):
        return "D* is a probability: all its values must lie in [0, 1]"
    return None


OPTIMAL_D = Exercise(
    name="check_optimal_discriminator",
    arg_names=("p_data", "p_g"),
    draw=_density_inputs,
    reference=lambda p_data, p_g: p_data / (p_data + p_g),
    passed="D* = p_data / (p_data + p_g): 1/2 where the densities agree, 1 where only data live, 0 where only fakes do.",
    what="one probability per point",
    hint="not yet p_data / (p_data + p_g)",
    nonfinite="your D* is not finite somewhere; where one density is 0 it should be 0 or 1",
    mistakes=(
        Mistake(
            lambda p_data, p_g: p_g / (p_data + p_g),
            "you swapped the densities: D is the probability of 'real', so p_data goes on top",
        ),
        Mistake(
            lambda p_data, p_g: torch.where(p_g > 0, p_data / p_g, NAN),
            "p_data / p_g is the density ratio, not a probability (it exceeds 1); divide by p_data + p_g",
        ),
        Mistake(
            lambda p_data, p_g: torch.full_like(p_data, 0.5),
            "D = 1/2 everywhere is optimal only once p_g = p_data; here the densities differ",
        ),
    ),
    diagnose=_d_diagnose,
    locate=_locate_d,
)


def check_optimal_discriminator(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(p_data, p_g)``: the optimal discriminator :math:`D^* = p_\text{data} / (p_\text{data} + p_g)`, elementwise.

    The inputs are two fresh random density values per point, shape (N,), including a point where
    only the data live and one where only the fakes do (there :math:`D^*` is 1 or 0). Accepted:
    the ratio, ``torch.sigmoid(log p_data - log p_g)``, or the ratio with a tiny epsilon
    (<= 1e-9) in the denominator.
    """
    return check(OPTIMAL_D, fn)


def _kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (torch.xlogy(a, a) - torch.xlogy(a, b)).sum()


def _jsd(P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    M = (P + Q) / 2
    return 0.5 * _kl(P, M) + 0.5 * _kl(Q, M)


def _simplex(gen: torch.Generator, k: int) -> torch.Tensor:
    w = torch.rand(k, generator=gen, dtype=torch.float64) + 0.05
    return w / w.sum()


def _jsd_inputs(gen: torch.Generator, case: int) -> Args:
    k = rand_int(gen, 4, 8)
    P, Q = _simplex(gen, k), _simplex(gen, k)
    P[int(torch.randint(k, (), generator=gen))] = 0.0  # P has a zero: 0 log 0 must count as 0
    return P / P.sum(), Q


def _disjoint(gen: torch.Generator) -> Args:
    a, b = rand_int(gen, 2, 4), rand_int(gen, 2, 4)
    P = torch.cat([_simplex(gen, a), torch.zeros(b, dtype=torch.float64)])
    Q = torch.cat([torch.zeros(a, dtype=torch.float64), _simplex(gen, b)])
    return P, Q


JS_DIVERGENCE = Exercise(
    name="check_js_divergence",
    arg_names=("P", "Q"),
    draw=_jsd_inputs,
    reference=_jsd,
    passed="JSD = 1/2 KL(P || M) + 1/2 KL(Q || M) in nats, at most log 2, and exactly log 2 for disjoint supports, however far apart they are.",
    what="the JSD",
    hint="not yet right: JSD = 1/2 KL(P || M) + 1/2 KL(Q || M) with M = (P + Q) / 2, natural logs",
    nonfinite="NaN where P has a zero: treat 0 log 0 as 0 (torch.xlogy(p, p) does)",
    mistakes=(
        Mistake(
            lambda P, Q: _jsd(P, Q) / LN2,
            "your value is in bits (log base 2); use the natural log, so that the maximum is log 2 nats",
        ),
        Mistake(lambda P, Q: 2 * _jsd(P, Q), "you left out the 1/2 in front of each KL term"),
        Mistake(lambda P, Q: _jsd(P, Q) - LN2, "M is the average (P + Q) / 2, not the sum P + Q"),
        Mistake(
            lambda P, Q: _jsd(P, Q).sqrt(),
            "that is the Jensen-Shannon *distance* (scipy's jensenshannon), the square root of the divergence",
        ),
        Mistake(
            lambda P, Q: _kl(P, (P + Q) / 2),
            "you kept only KL(P || M); the divergence averages KL(P || M) and KL(Q || M)",
        ),
        Mistake(
            lambda P, Q: _kl(Q, (P + Q) / 2),
            "you kept only KL(Q || M); the divergence averages KL(P || M) and KL(Q || M)",
        ),
        Mistake(
            lambda P, Q: 0.5 * _kl(Q, P) + 0.5 * _kl(Q, (P + Q) / 2),
            "compare each distribution with the mixture M, not with the other one",
        ),
        Mistake(lambda P, Q: -_jsd(P, Q), "the sign is flipped: a divergence is >= 0"),
    ),
    edges=(
        Edge(
            _disjoint,
            "right on overlapping distributions, but not on disjoint ones (where the JSD is log 2): 0 log 0 must count as 0 (use torch.xlogy, or sum only where the probability is > 0)",
        ),
    ),
)


def check_js_divergence(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(P, Q)``: :math:`\mathrm{JSD}(P\|Q) = \frac12\mathrm{KL}(P\|M) + \frac12\mathrm{KL}(Q\|M)`, :math:`M = \frac{P+Q}{2}`, nats.

    ``P, Q`` are fresh random probability vectors of shape (K,), P with a zero entry; then
    distributions with disjoint supports, where the answer is :math:`\log 2` and a careless
    :math:`0 \log 0` gives NaN. Accepted: a scalar tensor, a one-element tensor or a Python float;
    ``torch.xlogy``, masked sums and ``F.kl_div`` forms.
    """
    return check(JS_DIVERGENCE, fn)


def _gauss_inputs(gen: torch.Generator, case: int) -> Args:
    b, d = rand_int(gen, 3, 6), rand_int(gen, 2, 5)
    mu = torch.randn(b, d, generator=gen, dtype=torch.float64)
    logvar = 0.8 * torch.randn(b, d, generator=gen, dtype=torch.float64)
    return mu, logvar


def _kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu**2 + logvar.exp() - logvar - 1)


def _gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(1)


GAUSSIAN_KL = Exercise(
    name="check_gaussian_kl",
    arg_names=("mu", "logvar"),
    draw=_gauss_inputs,
    reference=_gaussian_kl,
    passed="1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1), per example, summed over latent dimensions.",
    what="one KL per example",
    hint="not yet right: KL = 1/2 sum over latent dimensions of (mu^2 + exp(logvar) - logvar - 1)",
    grad=(0, 1),
    mistakes=(
        Mistake(
            lambda mu, lv: _gaussian_kl(mu, lv).sum(),
            "you summed over the batch too: return one KL per example, shape (B,)",
        ),
        Mistake(
            lambda mu, lv: _gaussian_kl(mu, lv).mean(),
            "you averaged over the batch: return one KL per example, shape (B,)",
        ),
        Mistake(
            _kl_per_dim,
            "you returned one KL per latent dimension: sum the KL over the latent dimensions (dim=1), shape (B,)",
        ),
        Mistake(
            lambda mu, lv: -_gaussian_kl(mu, lv), "the sign is flipped: a KL divergence is >= 0"
        ),
        Mistake(
            lambda mu, lv: _kl_per_dim(mu, lv).mean(1),
            "you averaged over the latent dimensions; the KL of independent dimensions is their sum",
        ),
        Mistake(lambda mu, lv: 2 * _gaussian_kl(mu, lv), "you left out the factor 1/2"),
        Mistake(
            lambda mu, lv: _gaussian_kl(mu, lv) + mu.shape[1] / 2,
            "you left out the -1 inside the sum (it contributes -d/2)",
        ),
        Mistake(
            lambda mu, lv: 0.5 * (mu**2 + (2 * lv).exp() - 2 * lv - 1).sum(1),
            "you treated logvar as log(sigma); it is log(sigma^2), so sigma^2 = exp(logvar)",
        ),
        Mistake(
            lambda mu, lv: 0.5 * (lv + (1 + mu**2) / lv.exp() - 1).sum(1),
            "that is the reverse KL, KL(N(0, I) || q); the VAE's term is KL(q(z|x) || p(z))",
        ),
        Mistake(
            lambda mu, lv: 0.5 * (mu**2 + lv.exp() - 1).sum(1), "you left out the -log sigma^2 term"
        ),
    ),
)


def check_gaussian_kl(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(mu, logvar)``: :math:`\mathrm{KL}(\mathcal N(\mu, \operatorname{diag} e^{\text{logvar}}) \,\|\, \mathcal N(0, I))` per row, shape (B,).

    The oracle is ``torch.distributions.kl_divergence`` summed over the latent dimensions, on fresh
    random (B, d) inputs; the gradient with respect to mu and logvar must match too. Accepted: the
    closed form, ``torch.distributions`` forms, any float dtype.
    """
    return check(GAUSSIAN_KL, fn)


def _nll_inputs(gen: torch.Generator, case: int) -> Args:
    shape = (rand_int(gen, 2, 4), 1, rand_int(gen, 3, 5), rand_int(gen, 3, 5))
    x = torch.rand(shape, generator=gen, dtype=torch.float64)
    mean = torch.rand(shape, generator=gen, dtype=torch.float64)
    sigma = round(float(torch.empty(()).uniform_(0.2, 0.8, generator=gen)), 3)
    return x, mean, sigma


def _sse(x: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
    return ((x - mean) ** 2).flatten(1).sum(1)


def _nll(x: torch.Tensor, mean: torch.Tensor, sigma: float) -> torch.Tensor:
    return -torch.distributions.Normal(mean, sigma).log_prob(x).flatten(1).sum(1)


def _const(x: torch.Tensor, scale: float) -> float:
    r""":math:`\frac D2 \log(2\pi \cdot \text{scale})` for the images in ``x``."""
    return 0.5 * x[0].numel() * math.log(2 * math.pi * scale)


_FULL = "F.gaussian_nll_loss drops the D/2 log(2 pi) term unless you pass full=True"

GAUSSIAN_NLL = Exercise(
    name="check_gaussian_nll",
    arg_names=("x", "mean", "sigma"),
    draw=_nll_inputs,
    reference=_nll,
    passed="squared error / (2 sigma^2) plus D/2 log(2 pi sigma^2): 'MSE' is this, up to a scale and a constant.",
    what="one value per image",
    hint="not yet right: NLL = ||x - mean||^2 / (2 sigma^2) + D/2 log(2 pi sigma^2), summed over the pixels of each image",
    grad=(1,),
    mistakes=(
        Mistake(
            lambda x, m, s: _nll(x, m, s).sum(),
            "you summed over the batch too: return one value per image, shape (B,)",
        ),
        Mistake(
            lambda x, m, s: _nll(x, m, s).mean(),
            "you averaged over the batch: return one value per image, shape (B,)",
        ),
        Mistake(
            lambda x, m, s: -_nll(x, m, s),
            "the sign is flipped: you returned the log-likelihood; the NLL is its negative",
        ),
        Mistake(
            lambda x, m, s: _sse(x, m) / (2 * s**2),
            "right data term, but you left out the constant D/2 log(2 pi sigma^2) (needed to compare models in nats)",
        ),
        Mistake(
            lambda x, m, s: _sse(x, m) / (2 * s**2) + 0.5 * x[0].numel() * math.log(s**2),
            "you left out the D/2 log(2 pi) part of the constant: " + _FULL,
        ),
        Mistake(
            lambda x, m, s: (
                (_sse(x, m) / (2 * s**2) + 0.5 * x[0].numel() * math.log(s**2)).sum() / x.numel()
            ),
            "that is F.gaussian_nll_loss with its defaults: reduction='mean' averages over images and pixels (use reduction='none' and sum over the pixels of each image), and "
            + _FULL,
        ),
        Mistake(
            lambda x, m, s: _sse(x, m) / (2 * s) + _const(x, s**2),
            "divide the squared error by sigma^2, not sigma",
        ),
        Mistake(
            lambda x, m, s: _sse(x, m) / (2 * s**2) + _const(x, s),
            "the constant is D/2 log(2 pi sigma^2): sigma squared",
        ),
        Mistake(
            lambda x, m, s: _sse(x, m) / s**2 + 2 * _const(x, s**2), "you left out the factor 1/2"
        ),
        Mistake(
            lambda x, m, s: _sse(x, m) / s**2 + _const(x, s**2),
            "the squared error needs the factor 1/2 too: ||x - mean||^2 / (2 sigma^2)",
        ),
        Mistake(
            lambda x, m, s: _nll(x, m, s) / x[0].numel(),
            "you averaged over pixels; the NLL of an image is the sum over its pixels",
        ),
        Mistake(
            lambda x, m, s: _sse(x, m) / x[0].numel(),
            "that is the MSE; the NLL scales the squared error by 1/(2 sigma^2), sums it over pixels and adds a constant",
        ),
    ),
)


def check_gaussian_nll(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> Feedback:
    r"""Check ``fn(x, mean, sigma)``: :math:`-\log \mathcal N(x; \text{mean}, \sigma^2 I)` per image, shape (B,).

    .. math::

        \frac{1}{2\sigma^2}\lVert x - \text{mean}\rVert^2 + \frac{D}{2}\log(2\pi\sigma^2)

    Fresh random images of shape (B, 1, H, W), so the sum runs over all non-batch axes, and a random
    :math:`\sigma` in [0.2, 0.8], which tells :math:`\sigma` and :math:`\sigma^2` apart. The gradient
    with respect to ``mean`` must match too. Accepted: the formula, ``torch.distributions.Normal``,
    ``F.gaussian_nll_loss(..., full=True, reduction="none")`` summed per image.
    """
    return check(GAUSSIAN_NLL, fn)
