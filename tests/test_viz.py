r"""Tests of aigc_course.viz: image grids, image figures, curves and flow diagrams (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg", force=True)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from aigc_course.viz import flow_diagram, image_grid, plot_curves, show_image_rows, show_images  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _images(b=5, h=4, w=3, seed=0):
    return torch.rand(b, 1, h, w, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------ image_grid


@pytest.mark.parametrize("b,nrow,pad", [(5, 2, 2), (5, 8, 2), (6, 3, 0), (1, 1, 1), (7, 7, 3)])
def test_image_grid_shape_and_tiles(b, nrow, pad):
    x = _images(b)
    h, w = x.shape[-2:]
    grid = image_grid(x, nrow=nrow, pad=pad)
    ncol = min(nrow, b)
    rows = -(-b // ncol)
    assert grid.shape == (rows * (h + pad) + pad, ncol * (w + pad) + pad)
    assert grid.dtype == np.float32
    mask = np.zeros(grid.shape, dtype=bool)
    for i in range(b):
        r, c = divmod(i, ncol)
        y, xx = pad + r * (h + pad), pad + c * (w + pad)
        np.testing.assert_allclose(grid[y : y + h, xx : xx + w], x[i, 0].numpy(), rtol=0, atol=1e-7)
        mask[y : y + h, xx : xx + w] = True
    # Everything that is not an image (padding and empty cells) is one constant frame value in [0, 1].
    if (~mask).any():
        frame = grid[~mask]
        assert np.all(frame == frame[0])
        assert 0.0 <= frame[0] <= 1.0


def test_image_grid_default_pad_is_two_and_row_major_order():
    x = torch.zeros(3, 1, 2, 2)
    x[1] = 0.5
    x[2] = 0.25
    grid = image_grid(x, nrow=2)
    assert grid.shape == (2 * 4 + 2, 2 * 4 + 2)
    assert grid[2, 2] == 0.0  # image 0 top-left
    assert grid[2, 6] == 0.5  # image 1 to its right
    assert grid[6, 2] == 0.25  # image 2 on the next row
    assert grid[6, 6] == grid[0, 0] == grid[4, 4]  # empty cell is filled like the frame
    assert grid[0, 0] not in (0.0, 0.25, 0.5)


def test_image_grid_signed_input_mapped_to_unit_interval():
    x = _images() * 2 - 1  # in [-1, 1], with negative values
    assert x.min() < 0
    g_signed = image_grid(x, pad=0)
    g_unit = image_grid((x + 1) / 2, pad=0)
    np.testing.assert_allclose(g_signed, g_unit, atol=1e-6)
    assert g_signed.min() >= 0 and g_signed.max() <= 1
    # Exact endpoints: -1 -> 0, 0 -> 0.5, 1 -> 1.
    g = image_grid(torch.tensor([[[-1.0, 0.0, 1.0]]]), pad=0)
    np.testing.assert_array_equal(g, [[0.0, 0.5, 1.0]])


def test_image_grid_unit_input_left_alone():
    x = _images()
    np.testing.assert_allclose(
        image_grid(x, pad=0, nrow=5), np.concatenate(list(x[:, 0].numpy()), axis=1)
    )


def test_image_grid_tiny_overshoot_clipped():
    x = torch.tensor([[[1.0 + 5e-5, 0.5]]])
    g = image_grid(x, pad=0)
    np.testing.assert_array_equal(g, np.array([[1.0, 0.5]], dtype=np.float32))


def test_image_grid_uint8_input_divided_by_255():
    x = np.array([[[0, 51, 255]], [[255, 102, 0]]], dtype=np.uint8)  # (2, 1, 3) as (B, H, W)
    g = image_grid(x, nrow=2, pad=0)
    np.testing.assert_allclose(g, [[0.0, 0.2, 1.0, 1.0, 0.4, 0.0]], atol=1e-7)


def test_image_grid_flat_input_reshaped_to_square():
    x = torch.rand(3, 784, generator=torch.Generator().manual_seed(1))
    g_flat = image_grid(x, nrow=3)
    g_img = image_grid(x.reshape(3, 1, 28, 28), nrow=3)
    np.testing.assert_array_equal(g_flat, g_img)
    assert g_flat.shape == (28 + 4, 3 * 30 + 2)


def test_image_grid_three_dim_and_numpy_input():
    x = _images()
    np.testing.assert_array_equal(image_grid(x[:, 0]), image_grid(x))
    np.testing.assert_array_equal(image_grid(x.numpy()), image_grid(x))


def test_image_grid_tensor_requiring_grad_accepted():
    x = _images().requires_grad_()
    assert image_grid(x).shape[0] > 0


def test_image_grid_errors():
    with pytest.raises(
        ValueError, match=r"grayscale images of shape \(B, 1, H, W\), got \(2, 3, 4, 4\)"
    ):
        image_grid(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="flat images of width 10 are not square"):
        image_grid(torch.rand(2, 10))
    with pytest.raises(ValueError, match=r"expected images of shape .* got \(4,\)"):
        image_grid(torch.rand(4))
    with pytest.raises(ValueError, match="got \\(1, 1, 1, 2, 2\\)"):
        image_grid(torch.rand(1, 1, 1, 2, 2))
    nan = torch.rand(2, 1, 3, 3)
    nan[1, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN or Inf"):
        image_grid(nan)
    inf = torch.rand(2, 1, 3, 3)
    inf[0, 0, 0, 0] = float("inf")
    with pytest.raises(ValueError, match="NaN or Inf"):
        image_grid(inf)
    with pytest.raises(ValueError, match=r"span \[0, 2\]; expected \[0, 1\] or \[-1, 1\]"):
        image_grid(torch.tensor([[[0.0, 2.0]]]))
    with pytest.raises(ValueError, match=r"span \[-1.5, 0.5\]"):
        image_grid(torch.tensor([[[-1.5, 0.5]]]))
    with pytest.raises(ValueError, match="batch is empty"):
        image_grid(torch.zeros(0, 1, 4, 4))
    for nrow in (0, -3):
        with pytest.raises(ValueError, match=f"nrow must be an int >= 1, got {nrow}"):
            image_grid(_images(), nrow=nrow)


# ------------------------------------------------------------------ show_images / show_image_rows


def test_show_images_new_figure_inverted_grid_and_title():
    x = _images(4)
    fig = show_images(x, title="samples", nrow=2)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_title() == "samples"
    assert not ax.axison
    (im,) = ax.get_images()
    # Ink on paper: the displayed array is 1 - grid.
    np.testing.assert_allclose(im.get_array(), 1.0 - image_grid(x, nrow=2), atol=1e-7)
    assert im.get_clim() == (0.0, 1.0)


def test_show_images_on_given_axes_without_title():
    fig, (a1, a2) = plt.subplots(1, 2)
    out = show_images(_images(2), ax=a2)
    assert out is fig
    assert len(a2.get_images()) == 1 and len(a1.get_images()) == 0
    assert a2.get_title() == ""


def test_show_images_rejects_bad_input():
    with pytest.raises(ValueError, match="batch is empty"):
        show_images(torch.zeros(0, 1, 2, 2))


def test_show_image_rows_one_axes_per_row_with_labels():
    rows = {"data": _images(6), "samples": _images(3, seed=1) * 2 - 1}
    fig = show_image_rows(rows, nrow=3)
    assert isinstance(fig, Figure)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["data", "samples"]
    for ax, x in zip(fig.axes, rows.values(), strict=False):
        (im,) = ax.get_images()
        np.testing.assert_allclose(im.get_array(), 1.0 - image_grid(x, nrow=3), atol=1e-6)
    assert fig.get_size_inches()[0] == pytest.approx(9.0)


def test_show_image_rows_single_row():
    fig = show_image_rows({"only": _images(2)}, width=4.0)
    assert len(fig.axes) == 1
    assert fig.get_size_inches()[0] == pytest.approx(4.0)


def test_show_image_rows_errors():
    with pytest.raises(ValueError, match="rows is empty"):
        show_image_rows({})
    with pytest.raises(ValueError, match="NaN or Inf"):
        show_image_rows({"bad": torch.full((1, 1, 2, 2), float("nan"))})


# ------------------------------------------------------------------ plot_curves


def test_plot_curves_raw_values_and_labels():
    curves = {
        "d": [3.0, 1.0, 2.0],
        "g": np.array([0.5, 0.25]),
        "t": torch.tensor([1.0, 2.0, 4.0, 8.0]),
    }
    fig = plot_curves(curves, xlabel="it", ylabel="L", title="losses")
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["d", "g", "t"]
    np.testing.assert_array_equal(lines[0].get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(lines[0].get_ydata(), [3.0, 1.0, 2.0])
    np.testing.assert_array_equal(lines[2].get_ydata(), [1.0, 2.0, 4.0, 8.0])
    assert ax.get_xlabel() == "it" and ax.get_ylabel() == "L" and ax.get_title() == "losses"
    assert ax.get_yscale() == "linear"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["d", "g", "t"]


def test_plot_curves_trailing_moving_average():
    y = np.array([1.0, 2.0, 6.0, 3.0, 8.0, 0.0])
    smooth = 3
    fig = plot_curves({"y": y}, smooth=smooth)
    (line,) = fig.axes[0].get_lines()
    # Oracle: plain-Python trailing mean over windows ending at index i.
    expected = [sum(y[i - smooth + 1 : i + 1]) / smooth for i in range(smooth - 1, len(y))]
    assert len(line.get_ydata()) == len(y) - smooth + 1
    np.testing.assert_allclose(line.get_ydata(), expected)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(smooth - 1, len(y)))


def test_plot_curves_short_curve_not_smoothed():
    fig = plot_curves({"short": [1.0, 5.0]}, smooth=3)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_array_equal(line.get_ydata(), [1.0, 5.0])


def test_plot_curves_logy_and_given_axes():
    fig, ax = plt.subplots()
    out = plot_curves({"a": [1.0, 10.0, 100.0]}, ax=ax, logy=True)
    assert out is fig
    assert ax.get_yscale() == "log"
    assert ax.get_title() == ""


def test_plot_curves_errors():
    with pytest.raises(ValueError, match="smooth must be >= 1, got 0"):
        plot_curves({"a": [1.0]}, smooth=0)
    with pytest.raises(ValueError, match="no curves to plot"):
        plot_curves({})
    with pytest.raises(ValueError, match=r"curve 'm' must be 1-D, got shape \(2, 2\)"):
        plot_curves({"m": [[1.0, 2.0], [3.0, 4.0]]})


# ------------------------------------------------------------------ flow_diagram


def _arrows(fig):
    return [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]


def test_flow_diagram_counts_texts_and_arrows():
    nodes = {"z": (0.1, 0.5), "G": (0.4, 0.5), "D": (0.7, 0.5), "loss\n(BCE)": (0.9, 0.5)}
    edges = [("z", "G"), ("G", "D"), ("D", "loss\n(BCE)")]
    dashed = [("loss\n(BCE)", "G")]
    fig = flow_diagram(nodes, edges, highlight=["G"], dashed=dashed, figsize=(5.0, 2.0))
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    texts = ax.texts
    assert [t.get_text() for t in texts] == list(nodes)
    for t, (x, y) in zip(texts, nodes.values(), strict=False):
        assert t.get_position() == (x, y)
    arrows = _arrows(fig)
    assert len(arrows) == len(edges) + len(dashed)
    assert [a.get_linestyle() for a in arrows] == ["-"] * 3 + ["--"]
    # Highlighted box has the accent colour, the others the default one.
    colours = {
        t.get_text(): matplotlib.colors.to_hex(t.get_bbox_patch().get_facecolor()) for t in texts
    }
    assert colours["G"] == "#f6c177"
    assert colours["z"] == colours["D"] == "#dbe9f6"
    assert tuple(fig.get_size_inches()) == (5.0, 2.0)


def test_flow_diagram_no_edges():
    fig = flow_diagram({"a": (0.5, 0.5)}, [])
    assert len(fig.axes[0].texts) == 1
    assert _arrows(fig) == []


@pytest.mark.parametrize(
    "edges,dashed,missing",
    [([("a", "zz")], [], "zz"), ([("qq", "a")], [], "qq"), ([], [("a", "ghost")], "ghost")],
)
def test_flow_diagram_unknown_node_raises_keyerror_naming_it(edges, dashed, missing):
    before = plt.get_fignums()
    with pytest.raises(
        KeyError, match=rf"names '{missing}', which is not a node; known: \['a', 'b'\]"
    ):
        flow_diagram({"a": (0.2, 0.5), "b": (0.8, 0.5)}, edges, dashed=dashed)
    assert plt.get_fignums() == before  # checked before a figure is created


def test_plot_toy_2d_draws_points_and_discriminator_background():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from aigc_course.models import ToyDiscriminator, ToyGANConfig
    from aigc_course.viz import plot_toy_2d

    data, samples = torch.randn(50, 2), torch.randn(30, 2)
    D = ToyDiscriminator(ToyGANConfig())
    D.train()
    fig = plot_toy_2d(data, samples, D, title="t", resolution=16)
    ax = fig.axes[0]
    assert len(ax.collections) == 2 and len(ax.images) == 1
    probs = ax.images[0].get_array()
    assert probs.shape == (16, 16) and float(probs.min()) >= 0.0 and float(probs.max()) <= 1.0
    assert D.training, "plot_toy_2d must restore the discriminator's training mode"
    assert ax.get_title() == "t"
    plt.close(fig)
    fig = plot_toy_2d(data, samples)  # no discriminator: no background
    assert len(fig.axes[0].images) == 0
    plt.close(fig)


def test_plot_toy_2d_rejects_non_2d_points():
    from aigc_course.viz import plot_toy_2d

    with pytest.raises(ValueError, match=r"samples must have shape \(N, 2\)"):
        plot_toy_2d(torch.randn(5, 2), torch.randn(5, 3))
