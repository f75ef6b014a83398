r"""Compare two settings over seeds, and say "different" only when the interval excludes zero.

A chapter that trains each setting on a few seeds must not read a difference of means as an
ordering: with three seeds a gap of one standard deviation is noise. :func:`compare_seeds`
computes the mean difference with a Student-t confidence interval (paired when both settings ran
on the same seeds, Welch's otherwise) and words the verdict the same way in every chapter:
"A lower than B" only when the whole interval lies below zero, "no clear difference" when it
contains zero.

References
----------
Student (1908), "The probable error of a mean", Biometrika 6.
Welch (1947), "The generalization of 'Student's' problem when several different population
variances are involved", Biometrika 34.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from aigc_course._check import check_real

__all__ = ["SeedComparison", "compare_seeds", "student_t_quantile"]


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (modified Lentz)."""
    tiny, qab, qap, qam = 1e-300, a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                    -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):  # fmt: skip
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + num / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    r"""Regularised incomplete beta :math:`I_x(a, b)` for x in [0, 1]."""
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


def _student_t_cdf(t: float, df: float) -> float:
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def student_t_quantile(p: float, df: float) -> float:
    r"""The quantile :math:`t_{p,\nu}` of Student's t distribution with ``df`` degrees of freedom.

    Solves :math:`F_\nu(t) = p` by bisection on the CDF
    :math:`F_\nu(t) = 1 - \tfrac12 I_{\nu/(\nu+t^2)}(\nu/2, 1/2)` for :math:`t \ge 0`.

    Parameters
    ----------
    p : float
        Probability in (0, 1).
    df : float
        Degrees of freedom, > 0 (need not be an integer: Welch's interval uses a fractional one).
    """
    p = check_real(p, "p", low=0.0, high=1.0, low_open=True, high_open=True)
    df = check_real(df, "df", low=0.0, low_open=True)
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    low, high = 0.0, 1.0
    while _student_t_cdf(high, df) < p:
        high *= 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if _student_t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, high):
            break
    return 0.5 * (low + high)


def _mean_std(x: Sequence[float]) -> tuple[float, float]:
    m = sum(x) / len(x)
    return m, math.sqrt(sum((v - m) ** 2 for v in x) / (len(x) - 1))


@dataclass(frozen=True)
class SeedComparison:
    r"""The result of :func:`compare_seeds`; ``str()`` gives the sentence a chapter prints.

    Attributes
    ----------
    names : tuple of str
        (A, B).
    mean_a, std_a, mean_b, std_b : float
        Mean and sample standard deviation of each setting over its seeds.
    diff : float
        Mean of A - B (paired) or difference of the means (Welch).
    low, high : float
        The confidence interval of ``diff``.
    interval : str
        Which interval: ``"paired t"`` or ``"Welch t"``, with its level.
    n : int
        Number of seeds (pairs, or the smaller group).
    unit : str
        Appended to the numbers, e.g. ``" nats"``.
    """

    names: tuple[str, str]
    mean_a: float
    std_a: float
    mean_b: float
    std_b: float
    diff: float
    low: float
    high: float
    interval: str
    n: int
    unit: str = ""

    @property
    def verdict(self) -> str:
        """'A lower than B', 'A higher than B', or 'no clear difference' (interval contains 0)."""
        a, b = self.names
        if self.high < 0:
            return f"{a} lower than {b}"
        if self.low > 0:
            return f"{a} higher than {b}"
        return "no clear difference"

    def __str__(self) -> str:
        a, b = self.names
        u = self.unit
        return (
            f"{a} {self.mean_a:.2f} ± {self.std_a:.2f}{u} vs {b} {self.mean_b:.2f} ± "
            f"{self.std_b:.2f}{u}; difference {self.diff:+.2f}{u}, {self.interval} interval "
            f"[{self.low:+.2f}, {self.high:+.2f}] over {self.n} seeds: {self.verdict}"
        )


def _values(x: object, name: str) -> list[float]:
    if isinstance(x, (str, bytes)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{name} must be a sequence of numbers (one per seed), got {x!r}")
    values = [check_real(v, f"{name}[i]") for v in x]
    if len(values) < 2:
        raise ValueError(f"{name} needs at least 2 seeds to have a spread, got {len(values)}")
    return values


def compare_seeds(
    a: Sequence[float],
    b: Sequence[float],
    *,
    names: tuple[str, str] = ("A", "B"),
    paired: bool = True,
    level: float = 0.95,
    unit: str = "",
) -> SeedComparison:
    r"""Mean difference of A and B over seeds, with a t-interval and a worded verdict.

    Paired (A and B ran on the same seeds, listed in the same order), with
    :math:`d_i = a_i - b_i`:

    .. math::

        \bar d \pm t_{(1+\ell)/2,\,n-1}\, s_d / \sqrt n

    Welch (independent seeds):

    .. math::

        \bar a - \bar b \pm t_{(1+\ell)/2,\,\nu}\sqrt{s_a^2/n_a + s_b^2/n_b}, \qquad
        \nu = \frac{(s_a^2/n_a + s_b^2/n_b)^2}
                   {(s_a^2/n_a)^2/(n_a-1) + (s_b^2/n_b)^2/(n_b-1)}

    Parameters
    ----------
    a, b : sequence of float
        One score per seed for each setting, at least 2 each (same length when ``paired``).
    names : tuple of str
        How the sentence names A and B.
    paired : bool
        Seeds matched one to one (the usual case in the book: the same seeds for both settings).
    level : float
        Confidence level in (0, 1).
    unit : str
        Appended to every number, e.g. ``" nats"``.

    Returns
    -------
    SeedComparison
        Print it, or read ``diff``, ``low``, ``high`` and ``verdict``.

    References
    ----------
    Student (1908); Welch (1947).
    """
    xa, xb = _values(a, "a"), _values(b, "b")
    level = check_real(level, "level", low=0.0, high=1.0, low_open=True, high_open=True)
    q = (1.0 + level) / 2.0
    (ma, sa), (mb, sb) = _mean_std(xa), _mean_std(xb)
    if paired:
        if len(xa) != len(xb):
            raise ValueError(
                f"paired comparison needs one b per a (same seeds), got {len(xa)} and {len(xb)}: "
                "pass paired=False for independent seeds"
            )
        diff, sd = _mean_std([u - v for u, v in zip(xa, xb, strict=True)])
        n = len(xa)
        half = student_t_quantile(q, n - 1) * sd / math.sqrt(n)
        how = "paired t"
    else:
        va, vb = sa**2 / len(xa), sb**2 / len(xb)
        diff, n = ma - mb, min(len(xa), len(xb))
        se = math.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(xa) - 1) + vb**2 / (len(xb) - 1)) if se else 1.0
        half = student_t_quantile(q, df) * se
        how = "Welch t"
    return SeedComparison(
        names=(str(names[0]), str(names[1])),
        mean_a=ma,
        std_a=sa,
        mean_b=mb,
        std_b=sb,
        diff=diff,
        low=diff - half,
        high=diff + half,
        interval=f"{round(level * 100):d}% {how}",
        n=n,
        unit=unit,
    )
