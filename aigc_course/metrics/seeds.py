r"""Numbers measured over several seeds: mean and spread, and whether two settings really differ.

A chapter that trains each model with three seeds and compares two of them must read the spread
before it calls a difference a difference. :func:`mean_std` summarises one setting;
:func:`seed_difference` gives the difference of two settings with its Student-t confidence interval
(Welch's for independent runs, the paired t for runs that share a seed), and calls it a difference
only when the interval excludes zero. :func:`aigc_course.notebook.compare_over_seeds` prints it.

References
----------
Welch, B. L. (1947). The generalization of "Student's" problem when several different population
variances are involved. *Biometrika* 34, 28-35.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import torch

from aigc_course._check import check_real

__all__ = ["SeedDifference", "mean_std", "seed_difference", "t_quantile"]


def _values(values: object, name: str, *, minimum: int) -> torch.Tensor:
    """``values`` as a finite float64 vector of at least ``minimum`` numbers."""
    array_like = isinstance(values, (Sequence, torch.Tensor)) or hasattr(values, "__array__")
    if isinstance(values, (str, bytes)) or not array_like:
        raise TypeError(
            f"{name} must be a sequence of numbers (one per seed), got {type(values).__name__}"
        )
    try:
        t = torch.as_tensor(values, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a sequence of numbers (one per seed): {err}") from None
    if t.ndim != 1:
        raise ValueError(f"{name} must be flat, one number per seed, got shape {tuple(t.shape)}")
    if len(t) < minimum:
        raise ValueError(f"{name} needs at least {minimum} value(s), one per seed, got {len(t)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite, got {t.tolist()}")
    return t


def mean_std(values: Sequence[float] | torch.Tensor) -> tuple[float, float]:
    r"""Mean and sample standard deviation of one measurement over seeds.

    .. math:: \bar x = \frac1n \sum_i x_i, \qquad
              s = \sqrt{\frac{1}{n-1} \sum_i (x_i - \bar x)^2}

    Parameters
    ----------
    values : sequence of float, array or tensor (n,)
        One number per seed, n >= 1.

    Returns
    -------
    (float, float)
        :math:`\bar x` and :math:`s` (Bessel-corrected, ``ddof=1``), computed in float64;
        ``s = 0.0`` for a single value.
    """
    t = _values(values, "values", minimum=1)
    return float(t.mean()), float(t.std()) if len(t) > 1 else 0.0


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for num in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    r"""Regularised incomplete beta :math:`I_x(a, b)` (Numerical Recipes, 3rd ed., sec. 6.4)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _t_cdf(t: float, df: float) -> float:
    r"""Student-t CDF: :math:`1 - \tfrac12 I_{\nu/(\nu+t^2)}(\nu/2, 1/2)` for :math:`t \ge 0`."""
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    r"""Quantile of Student's t distribution with ``df`` degrees of freedom (any real ``df > 0``).

    Solves :math:`F_\nu(t) = p` by bisection on the CDF
    :math:`F_\nu(t) = 1 - \tfrac12 I_{\nu/(\nu+t^2)}(\nu/2, \tfrac12)` for :math:`t \ge 0`
    (symmetric for :math:`t < 0`), with the regularised incomplete beta function by its continued
    fraction; relative error below 1e-8. SciPy's ``scipy.stats.t.ppf`` gives the same numbers; the
    package does not depend on SciPy.

    Parameters
    ----------
    p : float in (0, 1)
    df : float > 0
        Non-integer for Welch's interval.

    Returns
    -------
    float
    """
    p = check_real(p, "p", low=0.0, high=1.0, low_open=True, high_open=True)
    df = check_real(df, "df", low=0.0, low_open=True)
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while _t_cdf(hi, df) < p:
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if _t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SeedDifference:
    r"""Difference of two settings over seeds, ``mean(a) - mean(b)``, with its t-interval.

    Attributes
    ----------
    mean_a, std_a, mean_b, std_b : float
        Mean and sample standard deviation of each setting over its seeds.
    n_a, n_b : int
        Number of seeds of each setting.
    difference : float
        ``mean(a) - mean(b)`` (paired: the mean of the per-seed differences, the same number).
    low, high : float
        The ``level`` confidence interval of the difference.
    df : float
        Degrees of freedom of the t quantile (``inf`` when both settings have zero spread).
    level : float
        Confidence level, e.g. 0.95.
    method : str
        ``"Welch t"`` or ``"paired t"``.
    """

    mean_a: float
    std_a: float
    n_a: int
    mean_b: float
    std_b: float
    n_b: int
    difference: float
    low: float
    high: float
    df: float
    level: float
    method: str

    @property
    def clear(self) -> bool:
        """Whether the interval excludes zero (only then is it called a difference)."""
        return self.low > 0.0 or self.high < 0.0


def seed_difference(
    a: Sequence[float] | torch.Tensor,
    b: Sequence[float] | torch.Tensor,
    *,
    paired: bool = False,
    level: float = 0.95,
) -> SeedDifference:
    r"""Difference of the means of two settings measured over seeds, with a Student-t interval.

    Welch (independent runs, ``paired=False``):

    .. math:: \bar a - \bar b \pm t_{\nu,\,(1+\ell)/2}\,\sqrt{s_a^2/n_a + s_b^2/n_b}, \qquad
              \nu = \frac{(s_a^2/n_a + s_b^2/n_b)^2}
                        {\frac{(s_a^2/n_a)^2}{n_a-1} + \frac{(s_b^2/n_b)^2}{n_b-1}}

    Paired (``paired=True``, ``a[i]`` and ``b[i]`` share seed ``i``), with :math:`d_i = a_i - b_i`:

    .. math:: \bar d \pm t_{n-1,\,(1+\ell)/2}\, s_d / \sqrt n

    Pair runs only when they share something that moves both results (the same seed for data
    order and initialisation, the same evaluation images); otherwise use Welch.

    Parameters
    ----------
    a, b : sequence of float or tensor (n,)
        One number per seed, at least 2 each; the same length when ``paired``.
    paired : bool
        Paired t on the per-seed differences instead of Welch's t.
    level : float in (0, 1)
        Confidence level (default 0.95).

    Returns
    -------
    SeedDifference
        ``low == high == difference`` when every spread is zero (identical runs: nothing to
        estimate an interval from).

    References
    ----------
    Welch (1947), *Biometrika* 34, 28-35; the intervals match ``scipy.stats.ttest_ind(a, b,
    equal_var=False).confidence_interval(level)`` and ``scipy.stats.ttest_rel(a, b)``'s.
    """
    ta, tb = _values(a, "a", minimum=2), _values(b, "b", minimum=2)
    level = check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    if not isinstance(paired, bool):
        raise TypeError(f"paired must be True or False, got {paired!r}")
    (mean_a, std_a), (mean_b, std_b) = mean_std(ta), mean_std(tb)
    if paired:
        if len(ta) != len(tb):
            raise ValueError(
                f"paired comparison needs one b per a (the same seeds), got {len(ta)} and {len(tb)}"
            )
        diff, std_d = mean_std(ta - tb)
        se, df = std_d / math.sqrt(len(ta)), float(len(ta) - 1)
    else:
        diff = mean_a - mean_b
        va, vb = std_a**2 / len(ta), std_b**2 / len(tb)
        se = math.sqrt(va + vb)
        denom = va**2 / (len(ta) - 1) + vb**2 / (len(tb) - 1)
        df = (va + vb) ** 2 / denom if denom > 0 else math.inf
    half = 0.0 if se == 0.0 else t_quantile(0.5 + level / 2.0, df) * se
    return SeedDifference(
        mean_a=mean_a,
        std_a=std_a,
        n_a=len(ta),
        mean_b=mean_b,
        std_b=std_b,
        n_b=len(tb),
        difference=diff,
        low=diff - half,
        high=diff + half,
        df=df if se > 0.0 else math.inf,
        level=level,
        method="paired t" if paired else "Welch t",
    )
