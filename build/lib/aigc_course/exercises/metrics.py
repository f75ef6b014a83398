r"""Checkers for the case-study chapter: Fréchet distance, classifier score, unbiased MMD^2, k-NN precision."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from aigc_course.exercises.feedback import Feedback, call_reader
from aigc_course.metrics.frechet import gaussian_frechet_distance
from aigc_course.metrics.kid import mmd2_unbiased, polynomial_kernel
from aigc_course.metrics.labels import classifier_score
from aigc_course.metrics.precision_recall import precision_recall

__all__ = [
    "check_classifier_score",
    "check_frechet_distance",
    "check_mmd2_unbiased",
    "check_precision",
]


def _number(out: object) -> tuple[float | None, Feedback | None]:
    if isinstance(out, torch.Tensor):
        if out.numel() != 1:
            return None, Feedback(
                False, f"return one number, got a tensor of shape {tuple(out.shape)}"
            )
        out = out.item()
    if isinstance(out, bool) or not isinstance(out, (int, float)):
        try:
            import numpy as np

            if isinstance(out, np.generic):
                return float(out), None
        except ImportError:  # pragma: no cover - numpy is a dependency
            pass
        return None, Feedback(
            False, f"return one number (a float or a 0-d tensor), not {type(out).__name__}"
        )
    return float(out), None


def _close(a: float, b: float, rel: float = 1e-5) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-8)


def _spd(d: int, gen: torch.Generator, shift: float = 0.0) -> torch.Tensor:
    a = torch.randn(d, d, generator=gen, dtype=torch.float64)
    return a @ a.T / d + (0.2 + shift) * torch.eye(d, dtype=torch.float64)


def check_frechet_distance(fn: Callable[..., object]) -> Feedback:
    r"""Check ``fn(mu1, cov1, mu2, cov2)``: :math:`\lVert\mu_1-\mu_2\rVert^2 + \operatorname{tr}(\Sigma_1+\Sigma_2-2(\Sigma_1\Sigma_2)^{1/2})`.

    Tried on non-diagonal covariances, where taking square roots elementwise gives a different (wrong) number.
    """
    gen = torch.Generator().manual_seed(0)
    d = 4
    mu1, mu2 = (
        torch.randn(d, generator=gen, dtype=torch.float64),
        torch.randn(d, generator=gen, dtype=torch.float64),
    )
    c1, c2 = _spd(d, gen), _spd(d, gen, 0.5)
    expected = gaussian_frechet_distance(mu1, c1, mu2, c2)
    out, fb = call_reader(fn, mu1.clone(), c1.clone(), mu2.clone(), c2.clone())
    if fb is not None:
        return fb
    value, fb = _number(out)
    if fb is not None:
        return fb
    if _close(value, expected):
        return Feedback(
            True, "mean term plus the trace term, with the matrix square root of cov1 @ cov2."
        )
    mean_term = float(((mu1 - mu2) ** 2).sum())
    tr_sqrt = (mean_term + float(torch.trace(c1) + torch.trace(c2)) - expected) / 2
    tr1, tr2 = float(torch.trace(c1)), float(torch.trace(c2))
    mistakes = [  # (what that mistake computes, what to tell the reader), tried in this order
        (
            math.sqrt(max(expected, 0.0)),
            "you took the square root at the end: FID is the *squared* Fréchet distance, leave it squared",
        ),
        (
            expected - mean_term,
            "the term ||mu1 - mu2||^2 is missing: two Gaussians with equal covariances but different means differ",
        ),
        (
            mean_term + tr1 + tr2 - tr_sqrt,
            "the cross term is -2 tr((cov1 cov2)^(1/2)): you left out the factor 2",
        ),
        (
            mean_term + tr1 + tr2 - 2 * float((c1 * c2).clamp_min(0).sqrt().trace()),
            "you took square roots element by element; (cov1 cov2)^(1/2) is a matrix square root "
            "(e.g. sum the square roots of the eigenvalues of cov1 @ cov2)",
        ),
        (
            mean_term + tr1 + tr2 - 2 * float(torch.trace(c1 @ c2)),
            "you used tr(cov1 cov2) without the square root: take the matrix square root of cov1 @ cov2 first",
        ),
        (
            math.sqrt(mean_term) + tr1 + tr2 - 2 * tr_sqrt,
            "the mean term is the squared norm ||mu1 - mu2||^2, not the norm",
        ),
    ]
    for wrong_value, message in mistakes:
        if _close(value, wrong_value):
            return Feedback(False, message)
    return Feedback(False, f"expected {expected:.5f}, got {value:.5f}")


def check_classifier_score(fn: Callable[[torch.Tensor], object]) -> Feedback:
    r"""Check ``fn(probs)``: :math:`\exp(\frac1N\sum_n \operatorname{KL}(p(y\mid x_n) \Vert \hat p(y)))` for probs (N, K)."""
    gen = torch.Generator().manual_seed(1)
    probs = (torch.randn(12, 5, generator=gen, dtype=torch.float64) * 2).softmax(1)
    expected = classifier_score(probs)
    out, fb = call_reader(fn, probs.clone())
    if fb is not None:
        return fb
    value, fb = _number(out)
    if fb is not None:
        return fb
    if _close(value, expected):
        # A set of one-hot predictions, where 0 log 0 must count as 0.
        one_hot = torch.eye(5, dtype=torch.float64)[[0, 1, 2, 3, 4, 0, 1, 2, 3, 4]]
        out, fb = call_reader(fn, one_hot.clone())
        if fb is not None:
            return fb
        value, fb = _number(out)
        if fb is not None:
            return fb
        if not math.isfinite(value) or not _close(value, 5.0):
            return Feedback(
                False,
                f"for one-hot predictions spread over 5 classes the score is 5, got {value}: treat 0 * log 0 "
                "as 0 (torch.xlogy, or add a tiny epsilon inside the log)",
            )
        return Feedback(
            True,
            "exp of the mean KL between each prediction and the marginal; 5 classes, one-hot and balanced, give 5.",
        )
    marginal = probs.mean(0, keepdim=True)
    kl = (probs * (probs / marginal).log()).sum(1)
    reverse = (marginal * (marginal / probs).log()).sum(1)
    mistakes = [  # (what that mistake computes, what to tell the reader), tried in this order
        (float(kl.mean()), "that is the mean KL itself; the score is its exponential"),
        (
            math.exp(float(reverse.mean())),
            "the KL is the wrong way round: KL(p(y|x) || p(y)), the prediction first, the marginal second",
        ),
        (math.exp(float(kl.sum())), "average the KL over the images (mean), do not sum it"),
        (
            math.exp(float(-(marginal * marginal.log()).sum())),
            "exp(H(p(y))) only rewards varied labels; subtract the mean entropy of p(y|x) too (the KL form does both)",
        ),
        (
            math.exp(float((kl / math.log(2)).mean())),
            "your KL is in bits (log base 2) but you exponentiated with exp; use natural logs throughout",
        ),
    ]
    for wrong_value, message in mistakes:
        if _close(value, wrong_value):
            return Feedback(False, message)
    return Feedback(False, f"expected {expected:.5f}, got {value:.5f}")


def check_mmd2_unbiased(fn: Callable[[torch.Tensor, torch.Tensor], object]) -> Feedback:
    r"""Check ``fn(x, y)``: the unbiased MMD^2 with the kernel :math:`k(a, b) = (a^\top b / d + 1)^3`."""
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(9, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(7, 3, generator=gen, dtype=torch.float64) + 0.3
    expected = mmd2_unbiased(x, y)
    out, fb = call_reader(fn, x.clone(), y.clone())
    if fb is not None:
        return fb
    value, fb = _number(out)
    if fb is not None:
        return fb
    if _close(value, expected):
        return Feedback(
            True, "unbiased: the diagonal k(x_i, x_i) is left out of both within-set averages."
        )
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    biased = float(kxx.mean() + kyy.mean() - 2 * kxy.mean())
    m, n = len(x), len(y)
    offdiag = lambda k, s: (k.sum() - k.diagonal().sum()) / (s * (s - 1))  # noqa: E731
    no_two = float(offdiag(kxx, m) + offdiag(kyy, n) - kxy.mean())
    raw = lambda a, b: (a @ b.T + 1) ** 3  # noqa: E731
    no_scale = float(offdiag(raw(x, x), m) + offdiag(raw(y, y), n) - 2 * raw(x, y).mean())
    wrong_norm = float(
        (kxx.sum() - kxx.diagonal().sum()) / m**2
        + (kyy.sum() - kyy.diagonal().sum()) / n**2
        - 2 * kxy.mean()
    )
    if _close(value, biased):
        return Feedback(
            False,
            "that is the biased estimate: leave out the diagonal terms k(x_i, x_i) and divide by m(m-1)",
        )
    if _close(value, wrong_norm):
        return Feedback(
            False,
            "you dropped the diagonal but divided by m^2; there are m(m-1) off-diagonal pairs",
        )
    if _close(value, no_two):
        return Feedback(False, "the cross term has weight 2: ... - 2 mean k(x_i, y_j)")
    if _close(value, no_scale):
        return Feedback(
            False,
            "the kernel is (x.y / d + 1)^3 with d the feature dimension; you left out the / d",
        )
    return Feedback(False, f"expected {expected:.6f}, got {value:.6f}")


def check_precision(fn: Callable[[torch.Tensor, torch.Tensor, int], object]) -> Feedback:
    r"""Check ``fn(real, fake, k)``: the share of fakes inside some real point's k-NN ball (Kynkäänniemi et al.)."""
    gen = torch.Generator().manual_seed(3)
    real = torch.randn(40, 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(30, 2, generator=gen, dtype=torch.float64) * 1.6 + 0.4
    k = 3
    expected = precision_recall(real, fake, k=k)
    out, fb = call_reader(fn, real.clone(), fake.clone(), k)
    if fb is not None:
        return fb
    value, fb = _number(out)
    if fb is not None:
        return fb
    if _close(value, expected.precision, rel=1e-9):
        return Feedback(
            True,
            f"precision {expected.precision:.3f}: each real point's ball reaches its k-th nearest real neighbour (k = {k}).",
        )
    if _close(value, expected.recall, rel=1e-9):
        return Feedback(
            False,
            "that is the recall (real points inside the fakes' balls); precision asks whether the fakes are "
            "inside the real points' balls",
        )
    d_rr = torch.cdist(real, real)
    self_radius = d_rr.kthvalue(k, dim=1).values  # counts the point itself as its first neighbour
    d_fr = torch.cdist(fake, real)
    if _close(value, float((d_fr <= self_radius).any(1).double().mean()), rel=1e-9):
        return Feedback(
            False,
            "your radius is the distance to the (k-1)-th neighbour: each point is its own nearest "
            "neighbour at distance 0, so skip it (take the (k+1)-th smallest distance)",
        )
    radius_k1 = d_rr.kthvalue(k + 2, dim=1).values
    if _close(value, float((d_fr <= radius_k1).any(1).double().mean()), rel=1e-9):
        return Feedback(
            False,
            "your radius reaches the (k+1)-th neighbour; use the k-th (excluding the point itself)",
        )
    if _close(value, 1 - expected.precision, rel=1e-9):
        return Feedback(
            False,
            "you counted the fakes *outside* the real manifold; precision is the share inside",
        )
    return Feedback(False, f"expected {expected.precision:.4f}, got {value:.4f}")
