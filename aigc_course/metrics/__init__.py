r"""Evaluation metrics that need no downloaded network: likelihoods, nearest neighbours.

``from aigc_course.metrics import bits_per_dim, discrete_nll_from_density, nearest_neighbours``
keeps working as before the package was split into modules.
"""
from aigc_course.metrics.likelihood import bits_per_dim, discrete_nll_from_density
from aigc_course.metrics.neighbours import nearest_neighbours

__all__ = [
    "bits_per_dim",
    "discrete_nll_from_density",
    "nearest_neighbours",
]
