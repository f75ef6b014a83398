r"""Checkers for the case-study chapter: Fréchet distance, classifier score, unbiased MMD^2, k-NN precision."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from aigc_course.exercises.engine import Args, Edge, Exercise, Mistake, check, rand_int
from aigc_course.exercises.feedback import Feedback
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


def _spd(d: int, gen: torch.Generator) -> torch.Tensor:
    r"""A random covariance with eigenvalues spread over two orders of magnitude, random axes."""
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
    scales = torch.logspace(-1, 1, d, dtype=torch.float64)
    return (q * scales) @ q.T


def _sqrtm(c: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(c)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def _fid_inputs(gen: torch.Generator, case: int) -> Args:
    d = rand_int(gen, 3, 6)
    mu1, mu2 = (torch.randn(d, generator=gen, dtype=torch.float64) for _ in range(2))
    return mu1, _spd(d, gen), mu2, _spd(d, gen)


def _mean_term(mu1: torch.Tensor, mu2: torch.Tensor) -> float:
    return float(((mu1 - mu2) ** 2).sum())


def _traces(c1: torch.Tensor, c2: torch.Tensor) -> float:
    return float(torch.trace(c1) + torch.trace(c2))


def _tr_sqrt(c1: torch.Tensor, c2: torch.Tensor) -> float:
    r""":math:`\operatorname{tr}(\Sigma_1\Sigma_2)^{1/2}`: the sum of the square roots of its eigenvalues."""
    return float(torch.linalg.eigvals(c1 @ c2).real.clamp_min(0).sqrt().sum())


def _fid_without(
    m1: torch.Tensor,
    c1: torch.Tensor,
    m2: torch.Tensor,
    c2: torch.Tensor,
    *,
    mean: float = 1.0,
    cross: float = 2.0,
    tr: float | None = None,
    mean_root: bool = False,
) -> float:
    r"""The Fréchet distance with one part changed, as a mistake computes it."""
    mean_term = _mean_term(m1, m2)
    mean_term = math.sqrt(mean_term) if mean_root else mean * mean_term
    return mean_term + _traces(c1, c2) - cross * (_tr_sqrt(c1, c2) if tr is None else tr)


FRECHET = Exercise(
    name="check_frechet_distance",
    arg_names=("mu1", "cov1", "mu2", "cov2"),
    draw=_fid_inputs,
    reference=gaussian_frechet_distance,
    passed="mean term plus the trace term, with the matrix square root of cov1 @ cov2.",
    what="the Fréchet distance",
    hint="not yet right: ||mu1 - mu2||^2 + tr(cov1) + tr(cov2) - 2 tr[(cov1 cov2)^(1/2)], the last a matrix square root",
    mistakes=(
        Mistake(
            lambda *a: math.sqrt(max(gaussian_frechet_distance(*a), 0.0)),
            "you took the square root at the end: FID is the *squared* Fréchet distance, leave it squared",
        ),
        Mistake(
            lambda *a: _fid_without(*a, mean=0.0),
            "the term ||mu1 - mu2||^2 is missing: two Gaussians with equal covariances but different means differ",
        ),
        Mistake(
            lambda *a: _fid_without(*a, cross=1.0),
            "the cross term is -2 tr((cov1 cov2)^(1/2)): you left out the factor 2",
        ),
        Mistake(
            lambda m1, c1, m2, c2: _fid_without(
                m1, c1, m2, c2, tr=float((c1 * c2).clamp_min(0).sqrt().trace())
            ),
            "you took square roots element by element; (cov1 cov2)^(1/2) is a matrix square root (e.g. sum the square roots of the eigenvalues of cov1 @ cov2)",
        ),
        Mistake(
            lambda m1, c1, m2, c2: _fid_without(m1, c1, m2, c2, tr=float(torch.trace(c1 @ c2))),
            "you used tr(cov1 cov2) without the square root: take the matrix square root of cov1 @ cov2 first",
        ),
        Mistake(
            lambda m1, c1, m2, c2: _fid_without(
                m1, c1, m2, c2, tr=math.sqrt(float(torch.trace(c1 @ c2)))
            ),
            "you took the square root of the trace, sqrt(tr(cov1 cov2)); the term is the trace of the matrix square root, tr[(cov1 cov2)^(1/2)]: the sum of the square roots of the eigenvalues of cov1 @ cov2",
        ),
        Mistake(
            lambda m1, c1, m2, c2: _fid_without(
                m1, c1, m2, c2, tr=float(torch.trace(_sqrtm(c1) @ _sqrtm(c2)))
            ),
            "you used tr(cov1^(1/2) cov2^(1/2)); it equals tr[(cov1 cov2)^(1/2)] only when the covariances commute. Take the square root of the product cov1 @ cov2",
        ),
        Mistake(
            lambda *a: _fid_without(*a, mean_root=True),
            "the mean term is the squared norm ||mu1 - mu2||^2, not the norm",
        ),
    ),
)


def check_frechet_distance(fn: Callable[..., object]) -> Feedback:
    r"""Check ``fn(mu1, cov1, mu2, cov2)``: :math:`\lVert\mu_1-\mu_2\rVert^2 + \operatorname{tr}(\Sigma_1+\Sigma_2-2(\Sigma_1\Sigma_2)^{1/2})`.

    Tried on fresh random covariances with random axes (far from commuting), where taking square
    roots elementwise or of each covariance separately gives a different (wrong) number. Accepted:
    a float, a 0-d or one-element tensor, a NumPy scalar; eigenvalue or ``scipy.linalg.sqrtm`` forms.
    """
    return check(FRECHET, fn)


def _probs(gen: torch.Generator, n: int, k: int) -> torch.Tensor:
    return torch.softmax(torch.randn(n, k, generator=gen, dtype=torch.float64) * 2, dim=1)


def _one_hot_balanced(gen: torch.Generator) -> Args:
    labels = torch.arange(10) % 5
    return (torch.eye(5, dtype=torch.float64)[labels[torch.randperm(10, generator=gen)]],)


def _kl_rows(probs: torch.Tensor) -> torch.Tensor:
    marginal = probs.mean(0, keepdim=True)
    return (probs * (probs / marginal).log()).sum(1)


CLASSIFIER_SCORE = Exercise(
    name="check_classifier_score",
    arg_names=("probs",),
    draw=lambda gen, case: (_probs(gen, rand_int(gen, 8, 20), rand_int(gen, 3, 6)),),
    reference=classifier_score,
    passed="exp of the mean KL between each prediction and the marginal; 5 classes, one-hot and balanced, give 5.",
    what="the score",
    hint="not yet right: the score is exp(mean over images of KL(p(y|x) || p(y))), with p(y) the mean prediction",
    mistakes=(
        Mistake(
            lambda p: _kl_rows(p).mean(), "that is the mean KL itself; the score is its exponential"
        ),
        Mistake(
            lambda p: torch.exp(
                (p.mean(0, keepdim=True) * (p.mean(0, keepdim=True) / p).log()).sum(1).mean()
            ),
            "the KL is the wrong way round: KL(p(y|x) || p(y)), the prediction first, the marginal second",
        ),
        Mistake(
            lambda p: torch.exp(_kl_rows(p).sum()),
            "average the KL over the images (mean), do not sum it",
        ),
        Mistake(
            lambda p: torch.exp(-(p.mean(0) * p.mean(0).log()).sum()),
            "exp(H(p(y))) only rewards varied labels; subtract the mean entropy of p(y|x) too (the KL form does both)",
        ),
        Mistake(
            lambda p: torch.exp((_kl_rows(p) / math.log(2)).mean()),
            "your KL is in bits (log base 2) but you exponentiated with exp; use natural logs throughout",
        ),
    ),
    edges=(
        Edge(
            _one_hot_balanced,
            "right on soft predictions, but not on one-hot predictions spread evenly over 5 classes (the score is the number of classes): treat 0 * log 0 as 0 (torch.xlogy, or add a tiny epsilon inside the log)",
        ),
    ),
)


def check_classifier_score(fn: Callable[[torch.Tensor], object]) -> Feedback:
    r"""Check ``fn(probs)``: :math:`\exp(\frac1N\sum_n \operatorname{KL}(p(y\mid x_n) \Vert \hat p(y)))` for probs (N, K).

    Fresh random soft predictions, then a shuffled, balanced set of one-hot predictions over 5
    classes, where 0 log 0 must count as 0. Accepted: a float, a 0-d tensor, a NumPy scalar;
    ``torch.xlogy`` or epsilon (<= 1e-12) forms.
    """
    return check(CLASSIFIER_SCORE, fn)


def _mmd_inputs(gen: torch.Generator, case: int) -> Args:
    d, m = rand_int(gen, 2, 5), rand_int(gen, 6, 12)
    n = m + rand_int(gen, 1, 4)
    x = torch.randn(m, d, generator=gen, dtype=torch.float64)
    return x, torch.randn(n, d, generator=gen, dtype=torch.float64) + 0.3


def _offdiag_mean(k: torch.Tensor) -> torch.Tensor:
    s = k.shape[0]
    return (k.sum() - k.diagonal().sum()) / (s * (s - 1))


def _mmd_variant(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    cross: float = 2.0,
    kernel: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = polynomial_kernel,
    within: Callable[[torch.Tensor], torch.Tensor] = _offdiag_mean,
) -> float:
    r"""The unbiased MMD^2 with one part changed, as a mistake computes it."""
    return float(within(kernel(x, x)) + within(kernel(y, y)) - cross * kernel(x, y).mean())


MMD2 = Exercise(
    name="check_mmd2_unbiased",
    arg_names=("x", "y"),
    draw=_mmd_inputs,
    reference=mmd2_unbiased,
    passed="unbiased: the diagonal k(x_i, x_i) is left out of both within-set averages.",
    what="the MMD^2",
    hint="not yet right: mean of k over pairs i != j within x, plus the same within y, minus 2 times the mean of k(x_i, y_j)",
    mistakes=(
        Mistake(
            lambda x, y: _mmd_variant(x, y, within=torch.mean),
            "that is the biased estimate: leave out the diagonal terms k(x_i, x_i) and divide by m(m-1)",
        ),
        Mistake(
            lambda x, y: _mmd_variant(
                x, y, within=lambda k: (k.sum() - k.diagonal().sum()) / k.shape[0] ** 2
            ),
            "you dropped the diagonal but divided by m^2; there are m(m-1) off-diagonal pairs",
        ),
        Mistake(
            lambda x, y: _mmd_variant(x, y, cross=1.0),
            "the cross term has weight 2: ... - 2 mean k(x_i, y_j)",
        ),
        Mistake(
            lambda x, y: _mmd_variant(x, y, kernel=lambda a, b: (a @ b.T + 1) ** 3),
            "the kernel is (x.y / d + 1)^3 with d the feature dimension; you left out the / d",
        ),
    ),
)


def check_mmd2_unbiased(fn: Callable[[torch.Tensor, torch.Tensor], object]) -> Feedback:
    r"""Check ``fn(x, y)``: the unbiased MMD^2 with the kernel :math:`k(a, b) = (a^\top b / d + 1)^3`.

    Fresh random sets of different sizes. Accepted: a float, a 0-d tensor, a NumPy scalar.
    """
    return check(MMD2, fn)


def _pr_inputs(gen: torch.Generator, case: int) -> Args:
    real = torch.randn(rand_int(gen, 30, 50), 2, generator=gen, dtype=torch.float64)
    fake = torch.randn(rand_int(gen, 20, 40), 2, generator=gen, dtype=torch.float64) * 1.6 + 0.4
    return real, fake, rand_int(gen, 2, 5)


def _share_within(real: torch.Tensor, fake: torch.Tensor, kth: int) -> float:
    r"""Share of fakes within the ``kth`` smallest real-real distance (the point itself first) of a real point."""
    radius = torch.cdist(real, real).kthvalue(kth, dim=1).values
    return float((torch.cdist(fake, real) <= radius).any(1).double().mean())


PRECISION = Exercise(
    name="check_precision",
    arg_names=("real", "fake", "k"),
    draw=_pr_inputs,
    reference=lambda real, fake, k: precision_recall(real, fake, k=k).precision,
    passed="each real point's ball reaches its k-th nearest other real point; precision is the share of fakes inside some ball.",
    what="the precision",
    hint="not yet right: precision is the share of fakes within distance r_k(phi) of some real phi, r_k the distance to phi's k-th nearest other real point",
    rtol=1e-9,
    atol=1e-12,
    mistakes=(
        Mistake(
            lambda real, fake, k: precision_recall(real, fake, k=k).recall,
            "that is the recall (real points inside the fakes' balls); precision asks whether the fakes are inside the real points' balls",
        ),
        Mistake(
            lambda real, fake, k: _share_within(real, fake, k),
            "your radius is the distance to the (k-1)-th neighbour: each point is its own nearest neighbour at distance 0, so skip it (take the (k+1)-th smallest distance)",
        ),
        Mistake(
            lambda real, fake, k: _share_within(real, fake, k + 2),
            "your radius reaches the (k+1)-th neighbour; use the k-th (excluding the point itself)",
        ),
        Mistake(
            lambda real, fake, k: 1 - precision_recall(real, fake, k=k).precision,
            "you counted the fakes *outside* the real manifold; precision is the share inside",
        ),
        Mistake(
            lambda real, fake, k: 100 * precision_recall(real, fake, k=k).precision,
            "that is a percentage; return a share in [0, 1]",
        ),
    ),
)


def check_precision(fn: Callable[[torch.Tensor, torch.Tensor, int], object]) -> Feedback:
    r"""Check ``fn(real, fake, k)``: the share of fakes inside some real point's k-NN ball (Kynkäänniemi et al.).

    Fresh random 2-D point clouds and a random k in [2, 5]. Accepted: a float, a 0-d tensor, a
    NumPy scalar; ``torch.cdist`` + ``kthvalue(k + 1)`` or sorting forms.
    """
    return check(PRECISION, fn)
