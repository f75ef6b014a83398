r"""Checkers for the loss-math chapter: the optimal discriminator, the JSD, the Gaussian KL, the Gaussian NLL."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from aigc_course.exercises.feedback import Feedback, call_reader

LN2 = math.log(2.0)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=False))


def _as_tensor(
    out: object, shape: tuple[int, ...], what: str
) -> tuple[torch.Tensor | None, Feedback | None]:
    r"""The reader's output as a float64 tensor of the expected shape, or feedback saying why it is not."""
    if not isinstance(out, torch.Tensor):
        return None, Feedback(False, f"return a torch.Tensor, not {type(out).__name__}")
    if not out.is_floating_point():
        return None, Feedback(False, f"return a floating-point tensor, got dtype {out.dtype}")
    out = out.detach().to(torch.float64)
    if tuple(out.shape) != shape:
        return None, Feedback(False, f"expected {what} of shape {shape}, got {tuple(out.shape)}")
    return out, None


def check_optimal_discriminator(
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(p_data, p_g)``: the optimal discriminator :math:`D^* = p_\text{data} / (p_\text{data} + p_g)`, elementwise.

    The inputs are two density values per point, shape (N,); points where one density is 0 are included
    (there :math:`D^*` is 0 or 1).
    """
    p_data = torch.tensor([0.40, 0.05, 0.20, 0.0, 0.30, 1e-3], dtype=torch.float64)
    p_g = torch.tensor([0.10, 0.35, 0.20, 0.25, 0.0, 3e-3], dtype=torch.float64)
    expected = p_data / (p_data + p_g)
    out, fb = call_reader(fn, p_data.clone(), p_g.clone())
    if fb is not None:
        return fb
    value, fb = _as_tensor(out, (6,), "one probability per point")
    if fb is not None:
        return fb
    if _close(value, expected):
        return Feedback(
            True,
            "D* = p_data / (p_data + p_g): 1/2 where the densities agree, 1 where only data live, 0 where only fakes do.",
        )
    if _close(value, 1 - expected):
        return Feedback(
            False,
            "you swapped the densities: D is the probability of 'real', so p_data goes on top",
        )
    with torch.no_grad():
        ratio = p_data / p_g
    finite = torch.isfinite(ratio)
    if bool(finite.any()) and _close(value[finite], ratio[finite]):
        return Feedback(
            False,
            "p_data / p_g is the density ratio, not a probability (it exceeds 1); divide by p_data + p_g",
        )
    if _close(value, torch.full_like(expected, 0.5)):
        return Feedback(
            False, "D = 1/2 everywhere is optimal only once p_g = p_data; here the densities differ"
        )
    if not bool(torch.isfinite(value).all()):
        return Feedback(
            False, "your D* is not finite somewhere; where one density is 0 it should be 0 or 1"
        )
    if bool(((value < 0) | (value > 1)).any()):
        return Feedback(False, "D* is a probability: all its values must lie in [0, 1]")
    i = int((value - expected).abs().argmax())
    return Feedback(
        False,
        f"at p_data = {float(p_data[i]):g}, p_g = {float(p_g[i]):g} expected D* = {float(expected[i]):.4f}, "
        f"got {float(value[i]):.4f}",
    )


def _jsd(P: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    M = (P + Q) / 2
    return (
        0.5 * (torch.xlogy(P, P) - torch.xlogy(P, M)).sum()
        + 0.5 * (torch.xlogy(Q, Q) - torch.xlogy(Q, M)).sum()
    )


def check_js_divergence(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(P, Q)``: :math:`\mathrm{JSD}(P\|Q) = \frac12\mathrm{KL}(P\|M) + \frac12\mathrm{KL}(Q\|M)`, :math:`M = \frac{P+Q}{2}`, nats.

    ``P, Q`` are probability vectors of shape (K,). Tried on overlapping distributions, then on
    distributions with disjoint supports, where the answer is :math:`\log 2` and a careless
    :math:`0 \log 0` gives NaN.
    """
    P = torch.tensor([0.1, 0.4, 0.3, 0.2, 0.0], dtype=torch.float64)
    Q = torch.tensor([0.3, 0.1, 0.1, 0.3, 0.2], dtype=torch.float64)
    expected = _jsd(P, Q)
    out, fb = call_reader(fn, P.clone(), Q.clone())
    if fb is not None:
        return fb
    value, fb = _as_tensor(out, (), "one number (a scalar tensor)")
    if fb is not None:
        return fb
    if not _close(value, expected):
        M = (P + Q) / 2
        kl = lambda a, b: (torch.xlogy(a, a) - torch.xlogy(a, b)).sum()  # noqa: E731
        wrong = [
            (
                expected / LN2,
                "your value is in bits (log base 2); use the natural log, so that the maximum is log 2 nats",
            ),
            (2 * expected, "you left out the 1/2 in front of each KL term"),
            (expected - LN2, "M is the average (P + Q) / 2, not the sum P + Q"),
            (
                expected.sqrt(),
                "that is the Jensen-Shannon *distance* (scipy's jensenshannon), the square root of the divergence",
            ),
            (
                kl(P, M),
                "you kept only KL(P || M); the divergence averages KL(P || M) and KL(Q || M)",
            ),
            (
                kl(Q, M),
                "you kept only KL(Q || M); the divergence averages KL(P || M) and KL(Q || M)",
            ),
            (
                0.5 * kl(Q, P) + 0.5 * kl(Q, M),
                "compare each distribution with the mixture M, not with the other one",
            ),
            (-expected, "the sign is flipped: a divergence is >= 0"),
        ]
        for wrong_value, message in wrong:
            if _close(value, wrong_value):
                return Feedback(False, message)
        if bool(value.isnan()):
            return Feedback(
                False, "NaN where P has a zero: treat 0 log 0 as 0 (torch.xlogy(p, p) does)"
            )
        return Feedback(False, f"expected {float(expected):.5f} nats, got {float(value):.5f}")
    P2 = torch.tensor([0.5, 0.5, 0.0, 0.0], dtype=torch.float64)
    Q2 = torch.tensor([0.0, 0.0, 0.25, 0.75], dtype=torch.float64)
    out, fb = call_reader(fn, P2, Q2)
    if fb is not None:
        return fb
    value, fb = _as_tensor(out, (), "one number (a scalar tensor)")
    if fb is not None:
        return fb
    if bool(value.isnan()):
        return Feedback(
            False,
            "right on overlapping distributions, but NaN on disjoint ones: 0 log 0 must count as 0 "
            "(use torch.xlogy, or sum only where the probability is > 0)",
        )
    if not _close(value, torch.tensor(LN2, dtype=torch.float64)):
        return Feedback(
            False, f"for disjoint supports the JSD is log 2 = {LN2:.5f}, got {float(value):.5f}"
        )
    return Feedback(
        True,
        f"{float(expected):.4f} nats here, and log 2 = {LN2:.4f} for disjoint supports, however far apart they are.",
    )


def check_gaussian_kl(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(mu, logvar)``: :math:`\mathrm{KL}(\mathcal N(\mu, \operatorname{diag} e^{\text{logvar}}) \,\|\, \mathcal N(0, I))` per row, shape (B,).

    The oracle is ``torch.distributions.kl_divergence`` summed over the latent dimensions.
    """
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    logvar = 0.8 * torch.randn(4, 3, generator=gen, dtype=torch.float64)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    per_dim = torch.distributions.kl_divergence(q, p)
    expected = per_dim.sum(1)
    out, fb = call_reader(fn, mu.clone(), logvar.clone())
    if fb is not None:
        return fb
    if isinstance(out, torch.Tensor) and out.is_floating_point() and out.numel() == 1:
        scalar = out.detach().double().reshape(())
        if _close(scalar, expected.sum()):
            return Feedback(
                False, "you summed over the batch too: return one KL per example, shape (B,)"
            )
        if _close(scalar, expected.mean()):
            return Feedback(
                False, "you averaged over the batch: return one KL per example, shape (B,)"
            )
    value, fb = _as_tensor(out, (4,), "one KL per example")
    if fb is not None:
        if isinstance(out, torch.Tensor) and tuple(out.shape) == (4, 3):
            return Feedback(
                False,
                "expected shape (B,) = (4,), got (4, 3): sum the KL over the latent dimensions (dim=1)",
            )
        return fb
    if _close(value, expected):
        return Feedback(
            True,
            "1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1), per example, summed over latent dimensions.",
        )
    var = logvar.exp()
    wrong = [
        (-expected, "the sign is flipped: a KL divergence is >= 0"),
        (
            per_dim.mean(1),
            "you averaged over the latent dimensions; the KL of independent dimensions is their sum",
        ),
        (2 * expected, "you left out the factor 1/2"),
        (expected + 1.5, "you left out the -1 inside the sum (it contributes -d/2)"),
        (
            0.5 * (mu**2 + (2 * logvar).exp() - 2 * logvar - 1).sum(1),
            "you treated logvar as log(sigma); it is log(sigma^2), so sigma^2 = exp(logvar)",
        ),
        (
            0.5 * (logvar + (1 + mu**2) / var - 1).sum(1),
            "that is the reverse KL, KL(N(0, I) || q); the VAE's term is KL(q(z|x) || p(z))",
        ),
        (0.5 * (mu**2 + var - 1).sum(1), "you left out the -log sigma^2 term"),
    ]
    for wrong_value, message in wrong:
        if _close(value, wrong_value):
            return Feedback(False, message)
    return Feedback(
        False,
        f"for the first example expected {float(expected[0]):.5f} nats, got {float(value[0]):.5f}",
    )


def check_gaussian_nll(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> Feedback:
    r"""Check ``fn(x, mean, sigma)``: :math:`-\log \mathcal N(x; \text{mean}, \sigma^2 I)` per image, shape (B,).

    .. math::

        \frac{1}{2\sigma^2}\lVert x - \text{mean}\rVert^2 + \frac{D}{2}\log(2\pi\sigma^2)

    Images have shape (B, 1, 4, 4), so the sum runs over all non-batch axes; :math:`\sigma = 0.5`
    tells :math:`\sigma` and :math:`\sigma^2` apart.
    """
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, 1, 4, 4, generator=gen, dtype=torch.float64)
    mean = torch.rand(3, 1, 4, 4, generator=gen, dtype=torch.float64)
    sigma = 0.5
    expected = -torch.distributions.Normal(mean, sigma).log_prob(x).sum(dim=(1, 2, 3))
    out, fb = call_reader(fn, x.clone(), mean.clone(), sigma)
    if fb is not None:
        return fb
    if isinstance(out, torch.Tensor) and out.is_floating_point() and out.numel() == 1:
        if _close(out.detach().double().reshape(()), expected.sum()):
            return Feedback(
                False, "you summed over the batch too: return one value per image, shape (B,)"
            )
        if _close(out.detach().double().reshape(()), expected.mean()):
            return Feedback(
                False, "you averaged over the batch: return one value per image, shape (B,)"
            )
    value, fb = _as_tensor(out, (3,), "one value per image")
    if fb is not None:
        return fb
    if _close(value, expected):
        return Feedback(
            True,
            "squared error / (2 sigma^2) plus D/2 log(2 pi sigma^2): 'MSE' is this, up to a scale and a constant.",
        )
    sse = ((x - mean) ** 2).sum(dim=(1, 2, 3))
    D = x[0].numel()
    const = 0.5 * D * math.log(2 * math.pi * sigma**2)
    wrong = [
        (
            -expected,
            "the sign is flipped: you returned the log-likelihood; the NLL is its negative",
        ),
        (
            sse / (2 * sigma**2),
            "right data term, but you left out the constant D/2 log(2 pi sigma^2) (needed to compare models in nats)",
        ),
        (
            sse / (2 * sigma) + 0.5 * D * math.log(2 * math.pi * sigma**2),
            "divide the squared error by sigma^2, not sigma",
        ),
        (
            sse / (2 * sigma**2) + 0.5 * D * math.log(2 * math.pi * sigma),
            "the constant is D/2 log(2 pi sigma^2): sigma squared",
        ),
        (sse / sigma**2 + 2 * const, "you left out the factor 1/2"),
        (
            sse / sigma**2 + const,
            "the squared error needs the factor 1/2 too: ||x - mean||^2 / (2 sigma^2)",
        ),
        (expected / D, "you averaged over pixels; the NLL of an image is the sum over its pixels"),
        (
            sse / D,
            "that is the MSE; the NLL scales the squared error by 1/(2 sigma^2), sums it over pixels and adds a constant",
        ),
    ]
    for wrong_value, message in wrong:
        if _close(value, wrong_value):
            return Feedback(False, message)
    return Feedback(
        False,
        f"for the first image expected {float(expected[0]):.5f} nats, got {float(value[0]):.5f}",
    )
