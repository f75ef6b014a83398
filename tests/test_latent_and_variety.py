"""latent_path against torch.lerp; mean_pairwise_distance against scipy's pdist."""

import pytest
import torch
from scipy.spatial.distance import pdist

from aigc_course.metrics import mean_pairwise_distance
from aigc_course.models import latent_path


def test_latent_path_matches_lerp_and_includes_both_ends():
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(2, 5, generator=g)
    path = latent_path(z0, z1, 7)
    expected = torch.stack([torch.lerp(z0, z1, i / 6) for i in range(7)])
    assert path.shape == (7, 5)
    torch.testing.assert_close(path, expected)
    assert torch.equal(path[0], z0) and torch.allclose(path[-1], z1)


@pytest.mark.parametrize(
    ("z0", "z1", "steps", "match"),
    [
        (torch.zeros(3), torch.zeros(4), 5, "same shape"),
        (torch.zeros(3), torch.zeros(3), 1, "steps"),
        (torch.zeros(3, dtype=torch.long), torch.zeros(3, dtype=torch.long), 3, "z0"),
    ],
)
def test_latent_path_bad_input_names_the_argument(z0, z1, steps, match):
    with pytest.raises((ValueError, TypeError), match=match):
        latent_path(z0, z1, steps)


def test_mean_pairwise_distance_matches_scipy():
    f = torch.randn(40, 6, generator=torch.Generator().manual_seed(1))
    assert mean_pairwise_distance(f) == pytest.approx(pdist(f.numpy()).mean(), rel=1e-6)
    # Exact small case: three points at 0, 3 and 4 on a line: distances 3, 4, 1.
    line = torch.tensor([[0.0], [3.0], [4.0]])
    assert mean_pairwise_distance(line) == pytest.approx(8 / 3)


def test_mean_pairwise_distance_needs_a_pair():
    with pytest.raises(ValueError, match="at least 2 rows"):
        mean_pairwise_distance(torch.zeros(1, 3))
