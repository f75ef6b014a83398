r"""Figures used across the book: image grids, loss curves and flow diagrams.

Every function draws on a Matplotlib ``Axes`` (a new figure when none is given) and returns
the figure, so notebooks decide whether to show, save or close it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from aigc_course._check import check_count


def _as_unit_images(images: torch.Tensor | np.ndarray) -> np.ndarray:
    r"""Return images as a float array (B, H, W) in [0, 1], accepting [0, 1] or [-1, 1] input.

    Inputs with any value below 0 are treated as [-1, 1] images and mapped by
    :math:`x \mapsto (x + 1) / 2`; uint8 inputs are divided by 255.
    """
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if arr.ndim == 4:
        if arr.shape[1] != 1:
            raise ValueError(
                f"expected grayscale images of shape (B, 1, H, W), got {tuple(arr.shape)}; "
                "select one channel first"
            )
        arr = arr[:, 0]
    elif arr.ndim == 2:
        side = int(round(np.sqrt(arr.shape[1])))
        if side * side != arr.shape[1]:
            raise ValueError(
                f"flat images of width {arr.shape[1]} are not square; reshape to (B, 1, H, W)"
            )
        arr = arr.reshape(-1, side, side)
    elif arr.ndim != 3:
        raise ValueError(
            f"expected images of shape (B, 1, H, W), (B, H, W) or (B, H*W), got {tuple(arr.shape)}"
        )
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise ValueError("images contain NaN or Inf; check the model output before plotting")
    lo, hi = float(arr.min(initial=0.0)), float(arr.max(initial=0.0))
    if lo < -1.0 - 1e-4 or hi > 1.0 + 1e-4:
        raise ValueError(f"image values span [{lo:.3g}, {hi:.3g}]; expected [0, 1] or [-1, 1]")
    if lo < 0.0:
        arr = (arr + 1.0) / 2.0
    return np.clip(arr, 0.0, 1.0)


def image_grid(images: torch.Tensor | np.ndarray, nrow: int = 8, pad: int = 2) -> np.ndarray:
    r"""Tile images into one array for display.

    Parameters
    ----------
    images : tensor or array, shape (B, 1, H, W), (B, H, W) or (B, H*W)
        Values in [0, 1] or [-1, 1] (uint8 in [0, 255] also accepted).
    nrow : int
        Images per row.
    pad : int
        Width in pixels of the light frame between images.

    Returns
    -------
    numpy.ndarray, shape (rows*(H+pad)+pad, nrow*(W+pad)+pad), values in [0, 1]
    """
    nrow = check_count(nrow, "nrow")
    pad = check_count(pad, "pad", minimum=0)
    arr = _as_unit_images(images)
    b, h, w = arr.shape
    if b == 0:
        raise ValueError("no images to show: the batch is empty")
    ncol = min(nrow, b)
    rows = int(np.ceil(b / ncol))
    # Padding at 0.15 shows as a light grey frame once the grid is drawn as dark ink on white.
    grid = np.full((rows * (h + pad) + pad, ncol * (w + pad) + pad), 0.15, dtype=np.float32)
    for i in range(b):
        r, c = divmod(i, ncol)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        grid[y : y + h, x : x + w] = arr[i]
    return grid


def show_images(
    images: torch.Tensor | np.ndarray,
    title: str | None = None,
    nrow: int = 8,
    ax: Axes | None = None,
    scale: float = 0.45,
) -> Figure:
    r"""Show a batch of grayscale images as one grid (dark strokes on white, like ink on paper).

    Parameters
    ----------
    images : tensor or array, shape (B, 1, H, W)
        Values in [0, 1] or [-1, 1].
    title : str, optional
        Axes title.
    nrow : int
        Images per row.
    """
    grid = image_grid(images, nrow=nrow)
    if ax is None:
        h, w = grid.shape
        _, ax = plt.subplots(figsize=(max(2.0, scale * w / 30), max(1.0, scale * h / 30)))
    ax.imshow(1.0 - grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax.figure


def show_image_rows(
    rows: Mapping[str, torch.Tensor | np.ndarray], nrow: int = 10, width: float = 9.0
) -> Figure:
    r"""Show several labelled batches one above the other (for example data vs. model samples)."""
    if not rows:
        raise ValueError("rows is empty: pass a mapping like {'data': x, 'samples': s}")
    grids = {name: image_grid(x, nrow=nrow) for name, x in rows.items()}
    heights = [g.shape[0] / g.shape[1] * width for g in grids.values()]
    fig, axes = plt.subplots(
        len(grids), 1, figsize=(width, sum(heights) + 0.4 * len(grids)), squeeze=False
    )
    for ax, (name, grid) in zip(axes[:, 0], grids.items(), strict=False):
        ax.imshow(1.0 - grid, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(name, loc="left", fontsize=10)
    fig.tight_layout()
    return fig


def plot_curves(
    curves: Mapping[str, Sequence[float] | np.ndarray | torch.Tensor],
    xlabel: str = "step",
    ylabel: str = "loss",
    title: str | None = None,
    smooth: int = 1,
    ax: Axes | None = None,
    logy: bool = False,
) -> Figure:
    r"""Plot named curves (losses, D(x), ...) against their index, optionally smoothed.

    Parameters
    ----------
    curves : mapping name -> 1-D sequence
        Each curve is plotted against ``0..len-1``.
    smooth : int
        Width of a trailing moving average (1 means raw values).
    """
    if smooth < 1:
        raise ValueError(f"smooth must be >= 1, got {smooth}")
    if not curves:
        raise ValueError("no curves to plot")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.2))
    for name, values in curves.items():
        y = np.asarray(
            values.detach().cpu() if isinstance(values, torch.Tensor) else values, dtype=float
        )
        if y.ndim != 1:
            raise ValueError(f"curve {name!r} must be 1-D, got shape {y.shape}")
        x = np.arange(len(y))
        if smooth > 1 and len(y) >= smooth:
            y = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
            x = x[smooth - 1 :]
        ax.plot(x, y, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return ax.figure


def flow_diagram(
    nodes: Mapping[str, tuple[float, float]],
    edges: Sequence[tuple[str, str]],
    highlight: Sequence[str] = (),
    figsize: tuple[float, float] = (9.0, 4.0),
    dashed: Sequence[tuple[str, str]] = (),
) -> Figure:
    r"""Draw a box-and-arrow diagram with Matplotlib (renders anywhere, no JavaScript needed).

    Parameters
    ----------
    nodes : mapping label -> (x, y)
        Box centres in axes coordinates, both in [0, 1]. Labels may contain newlines.
    edges : sequence of (source, target)
        Solid arrows between node labels.
    highlight : sequence of labels
        Boxes to fill with the accent colour.
    dashed : sequence of (source, target)
        Dashed arrows (feedback paths).
    """
    for a, b in list(edges) + list(dashed):
        for end in (a, b):
            if end not in nodes:
                raise KeyError(
                    f"edge ({a!r}, {b!r}) names {end!r}, which is not a node; known: {sorted(nodes)}"
                )
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    boxes = {}
    for label, (x, y) in nodes.items():
        colour = "#f6c177" if label in highlight else "#dbe9f6"
        text = ax.text(
            x,
            y,
            label,
            ha="center",
            va="center",
            fontsize=9,
            zorder=3,
            bbox=dict(boxstyle="round,pad=0.5", fc=colour, ec="#34495e", lw=1.0),
        )
        boxes[label] = text
    fig.canvas.draw()  # resolve text extents so arrows stop at box edges
    for style, pairs in (("-", edges), ("--", dashed)):
        for a, b in pairs:
            arrow = FancyArrowPatch(
                posA=nodes[a],
                posB=nodes[b],
                arrowstyle="-|>",
                mutation_scale=12,
                linestyle=style,
                color="#34495e",
                lw=1.1,
                zorder=4,
                shrinkA=2,
                shrinkB=2,
                patchA=boxes[a].get_bbox_patch(),
                patchB=boxes[b].get_bbox_patch(),
                connectionstyle="arc3,rad=0.0" if style == "-" else "arc3,rad=-0.25",
            )
            ax.add_patch(arrow)
    return fig


__all__ = [
    "image_grid",
    "show_images",
    "show_image_rows",
    "plot_curves",
    "flow_diagram",
    "plot_toy_2d",
]


def plot_toy_2d(
    data: torch.Tensor,
    samples: torch.Tensor,
    discriminator: torch.nn.Module | None = None,
    ax: Axes | None = None,
    extent: float = 3.0,
    title: str | None = None,
    resolution: int = 120,
) -> Figure:
    r"""Scatter 2-D real data and generated samples, over the discriminator's belief :math:`D(x)=\sigma(\ell(x))`.

    Parameters
    ----------
    data, samples : tensor (N, 2)
        Real points (grey) and generated points (orange).
    discriminator : nn.Module, optional
        Maps (B, 2) points to logits (B,); its probability "real" is drawn as a background in [0, 1].
    extent : float
        The plot covers :math:`[-\text{extent}, \text{extent}]^2`.
    """
    for name, pts in (("data", data), ("samples", samples)):
        if pts.ndim != 2 or pts.shape[1] != 2:
            raise ValueError(f"{name} must have shape (N, 2), got {tuple(pts.shape)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2))
    if discriminator is not None:
        axis = torch.linspace(-extent, extent, resolution)
        gx, gy = torch.meshgrid(axis, axis, indexing="xy")
        grid = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)
        device = next(discriminator.parameters()).device
        was_training = discriminator.training
        discriminator.eval()
        with torch.no_grad():
            prob = (
                torch.sigmoid(discriminator(grid.to(device))).cpu().reshape(resolution, resolution)
            )
        discriminator.train(was_training)
        ax.imshow(
            prob.numpy(),
            extent=(-extent, extent, -extent, extent),
            origin="lower",
            cmap="RdBu",
            vmin=0.0,
            vmax=1.0,
            alpha=0.55,
        )
    d, s = data.detach().cpu(), samples.detach().cpu()
    ax.scatter(d[:, 0], d[:, 1], s=2, c="#444444", alpha=0.3, label="data")
    ax.scatter(s[:, 0], s[:, 1], s=2, c="#e67e22", alpha=0.6, label="samples")
    ax.set_xlim(-extent, extent)
    ax.set_ylim(-extent, extent)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax.figure
