r"""The book's interactive figures: a latent-space explorer and a frame player.

:func:`latent_explorer` ships a fully connected decoder's weights (float32) and the codes of
test images to the browser, which decodes the point under the pointer with the same layers:
:math:`\ell = W_L \phi(\cdots \phi(W_1 z + b_1) \cdots) + b_L`, image :math:`\sigma(\ell)`.
:func:`frame_player` shows pre-computed frames (a sampler's steps, a guidance sweep, a training
replay) with a slider, a play button and a caption per frame. Both return an
:class:`~aigc_course.interactive.assets.InteractiveFigure` (see that module for where the data
goes and how failures show).

References
----------
Kingma & Welling (2014), "Auto-Encoding Variational Bayes", ICLR (the 2-D latent maps).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from aigc_course import _check
from aigc_course.interactive.assets import (
    InteractiveFigure,
    b64_array,
    make_figure,
    png_base64,
)

__all__ = ["decoder_layers", "figure_frame", "frame_player", "latent_explorer"]

_ACTS = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid", nn.LeakyReLU: "leaky_relu"}
_OUTPUTS = ("sigmoid", "identity")
_TAB10 = "tab10"


def decoder_layers(decoder: nn.Module) -> list[dict]:
    r"""The layers of a fully connected decoder as the browser runs them.

    ``decoder`` is an ``nn.Sequential`` of ``nn.Linear`` layers, each optionally followed by
    ReLU, LeakyReLU, Tanh or Sigmoid (a VAE's ``.decoder``). Returns one dict per linear layer:
    ``w`` (rows x cols float32, base64), ``b``, ``rows``, ``cols``, ``act`` and ``slope``.

    Raises
    ------
    TypeError
        For any other layer (a convolution cannot run in the browser runtime).
    """
    if not isinstance(decoder, nn.Sequential):
        raise TypeError(
            f"decoder must be an nn.Sequential of Linear layers and activations, got "
            f"{type(decoder).__name__}"
        )
    layers: list[dict] = []
    for module in decoder:
        if isinstance(module, nn.Linear):
            w = module.weight.detach().cpu().float()
            b = module.bias.detach().cpu().float() if module.bias is not None else None
            layers.append(
                {
                    "w": b64_array(w.numpy(), "float32"),
                    "b": b64_array(np.zeros(w.shape[0]) if b is None else b.numpy(), "float32"),
                    "rows": int(w.shape[0]),
                    "cols": int(w.shape[1]),
                    "act": "none",
                    "slope": 0.0,
                }
            )
        elif type(module) in _ACTS and layers and layers[-1]["act"] == "none":
            layers[-1]["act"] = _ACTS[type(module)]
            layers[-1]["slope"] = float(getattr(module, "negative_slope", 0.0))
        else:
            raise TypeError(
                f"the browser runs Linear layers, each followed by at most one of ReLU, "
                f"LeakyReLU, Tanh, Sigmoid; got {type(module).__name__} after {len(layers)} "
                "Linear layer(s)"
            )
    if not layers:
        raise TypeError("decoder has no Linear layer")
    return layers


def _unwrap(decoder: nn.Module, image_shape: Sequence[int] | None) -> tuple[nn.Sequential, tuple]:
    net = (
        decoder.decoder if isinstance(getattr(decoder, "decoder", None), nn.Sequential) else decoder
    )
    shape = image_shape if image_shape is not None else getattr(decoder, "image_shape", None)
    if shape is None:
        raise ValueError("image_shape=(1, H, W) is needed for a bare nn.Sequential decoder")
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or shape[0] != 1:
        raise ValueError(f"image_shape must be (1, H, W) (grey images), got {shape}")
    return net, shape


def _extent(points: np.ndarray) -> list[float]:
    lo = np.quantile(points, 0.005, axis=0)
    hi = np.quantile(points, 0.995, axis=0)
    pad = 0.05 * (hi - lo) + 1e-6
    return [
        float(lo[0] - pad[0]),
        float(hi[0] + pad[0]),
        float(lo[1] - pad[1]),
        float(hi[1] + pad[1]),
    ]


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72, bbox_inches="tight")
    return buffer.getvalue()


def _explorer_png(points, labels, image, names, start) -> bytes:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 3.2))
    ax_codes, ax_image = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    colors = {} if labels is None else {"c": labels, "cmap": _TAB10, "vmin": 0, "vmax": 9}
    ax_codes.scatter(points[:, 0], points[:, 1], s=3, alpha=0.6, **colors)
    ax_codes.plot(*start, "ko", mfc="none", ms=9)
    ax_codes.set(xlabel=names[0], ylabel=names[1], title="codes of test images")
    ax_image.imshow(image, cmap="gray", vmin=0, vmax=1)
    ax_image.set(title=f"decoded at ({start[0]:.2f}, {start[1]:.2f})")
    ax_image.axis("off")
    return _png(fig)


def latent_explorer(
    decoder: nn.Module,
    codes: torch.Tensor,
    labels: torch.Tensor | None = None,
    *,
    name: str = "latent-explorer",
    caption: str = "",
    dims: tuple[int, int] = (0, 1),
    base: torch.Tensor | None = None,
    output: str = "sigmoid",
    image_shape: Sequence[int] | None = None,
    max_points: int = 5000,
    inline: bool | None = None,
    book_root: str | os.PathLike | None = None,
    page_dir: str | os.PathLike | None = None,
) -> InteractiveFigure:
    r"""A latent plane to click or drag on, decoded live in the browser by ``decoder``.

    The browser computes :math:`x = \sigma(f_\theta(z))` (``output="sigmoid"``, a VAE's
    logits) or :math:`f_\theta(z)` clipped to [0, 1] (``"identity"``) with the decoder's own
    float32 weights, for :math:`z` equal to ``base`` except coordinates ``dims``, which follow
    the pointer over a scatter of ``codes`` coloured by ``labels``.

    Parameters
    ----------
    decoder : nn.Module
        A VAE with a fully connected ``.decoder`` (``MLPVAE``) or such an ``nn.Sequential``.
    codes : tensor or array (N, d)
        Codes to plot, e.g. the means :math:`\mu_\phi(x)` of test images; the first
        ``max_points`` are used.
    labels : tensor or array (N,) int, or None
        Classes colouring the points (ten colours, repeated after 9).
    name, caption : str
        The figure's name and its one-line caption.
    dims : (int, int)
        The two coordinates the plane spans (a 2-D slice of a larger latent space).
    base : tensor (d,) or None
        The other coordinates (default zeros, the prior's mean); also the starting point.
    output : str
        ``"sigmoid"`` or ``"identity"``.
    image_shape : (1, H, W) or None
        Needed only for a bare ``nn.Sequential``.
    max_points : int
        Most codes sent to the page.
    inline, book_root, page_dir
        Where the data goes: see :func:`~aigc_course.interactive.assets.make_figure`.

    Returns
    -------
    InteractiveFigure
        Display it (the last expression of a cell) to show the figure.
    """
    net, shape = _unwrap(decoder, image_shape)
    codes = torch.as_tensor(codes)  # a NumPy array works too
    layers = decoder_layers(net)
    d = layers[0]["cols"]
    _check.check_tensor(codes, "codes", ndim=2)
    if codes.shape[1] != d:
        raise ValueError(f"codes must be (N, {d}) for this decoder, got {tuple(codes.shape)}")
    if layers[-1]["rows"] != shape[1] * shape[2]:
        raise ValueError(
            f"the decoder makes {layers[-1]['rows']} values, not an image {shape} "
            f"({shape[1] * shape[2]} pixels)"
        )
    _check.check_choice(output, "output", _OUTPUTS)
    i, j = (_check.check_count(k, "dims", minimum=0) for k in dims)
    if i == j or max(i, j) >= d:
        raise ValueError(f"dims must be two different coordinates below {d}, got {dims}")
    n = _check.check_count(max_points, "max_points")
    z0 = torch.zeros(d) if base is None else base.detach().cpu().float().reshape(d)
    points = codes[:n].detach().cpu().float()[:, [i, j]].numpy()
    lab = None if labels is None else np.asarray(torch.as_tensor(labels)[:n].cpu())
    if lab is not None and (lab.shape != (len(points),) or lab.min() < 0 or lab.max() > 255):
        raise ValueError(f"labels must be (N,) class numbers 0-255 beside codes (N, {d})")
    lab = None if lab is None else lab.astype(np.uint8)
    names = [f"z{i + 1}", f"z{j + 1}"]
    start = [float(z0[i]), float(z0[j])]
    with torch.no_grad():
        p = next(net.parameters())
        logits = net(z0[None].to(p.device, p.dtype)).float().cpu()
    image = torch.sigmoid(logits) if output == "sigmoid" else logits.clamp(0, 1)
    png = _explorer_png(points, lab, image.reshape(shape[1:]).numpy(), names, start)
    payload = {
        "layers": layers,
        "out": output,
        "image": list(shape[1:]),
        "dims": [i, j],
        "base": [float(v) for v in z0],
        "start": start,
        "codes": b64_array(points, "float32"),
        "n_codes": int(len(points)),
        "labels": None if lab is None else b64_array(lab, "uint8"),
        "extent": _extent(points),
        "axis_names": names,
    }
    return make_figure(
        name,
        "latent_explorer",
        payload,
        png,
        caption=caption,
        inline=inline,
        book_root=book_root,
        page_dir=page_dir,
    )


def _frames_uint8(frames: object) -> np.ndarray:
    array = (
        frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    )
    if array.ndim == 4 and array.shape[1] in (1, 3):  # (N, C, H, W) -> (N, H, W, C)
        array = np.moveaxis(array, 1, -1)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (3, 4) or (array.ndim == 4 and array.shape[-1] != 3):
        raise ValueError(
            f"frames must be (N, H, W), (N, 1|3, H, W) or (N, H, W, 3), got {array.shape}"
        )
    if array.dtype != np.uint8:
        array = np.clip(np.rint(array.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    return array


def figure_frame(fig, *, dpi: int = 72) -> np.ndarray:
    r"""A matplotlib figure as an RGB image (H, W, 3) uint8: a frame for :func:`~aigc_course.interactive.figures.frame_player`.

    Render each snapshot (e.g. the generator's samples over the discriminator's heat map) to
    a small figure, convert it with this, and stack the frames; close the figure afterwards.
    All frames of one player must have the same size (same ``figsize`` and ``dpi``, no
    ``bbox_inches="tight"``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    fig.set_dpi(_check.check_count(dpi, "dpi"))
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _strip_png(frames: np.ndarray, captions: Sequence[str]) -> bytes:
    from matplotlib.figure import Figure

    picks = np.unique(np.linspace(0, len(frames) - 1, min(5, len(frames))).round().astype(int))
    fig = Figure(figsize=(2.2 * len(picks), 2.6))
    axes = np.atleast_1d(fig.subplots(1, len(picks)))
    for ax, k in zip(axes, picks, strict=True):
        ax.imshow(frames[k], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(captions[k], fontsize=7, wrap=True)
        ax.axis("off")
    return _png(fig)


def frame_player(
    frames: object,
    captions: Sequence[str],
    *,
    name: str,
    caption: str,
    scale: int = 4,
    interval_ms: int = 200,
    loop: bool = False,
    inline: bool | None = None,
    book_root: str | os.PathLike | None = None,
    page_dir: str | os.PathLike | None = None,
) -> InteractiveFigure:
    r"""A slider and a play button over pre-computed frames, with one caption per frame.

    Parameters
    ----------
    frames : tensor or array (N, H, W), (N, 1 or 3, H, W) or (N, H, W, 3)
        Floats in [0, 1] or uint8; compose panels (e.g. :math:`x_t` beside the predicted
        :math:`\hat x_0`) into one image per frame. Each frame is sent as a PNG.
    captions : sequence of str
        One line per frame (the step, the guidance weight and its FID, ...).
    name, caption : str
        The figure's name and its one-line caption.
    scale : int
        Screen pixels per image pixel (nearest-neighbour).
    interval_ms : int
        Time between frames while playing.
    loop : bool
        Start again after the last frame instead of stopping.
    inline, book_root, page_dir
        Where the data goes: see :func:`~aigc_course.interactive.assets.make_figure`.
    """
    array = _frames_uint8(frames)
    captions = [str(c) for c in captions]
    if len(captions) != len(array):
        raise ValueError(
            f"got {len(array)} frames but {len(captions)} captions: give one per frame"
        )
    if len(array) == 0:
        raise ValueError("frames is empty: give at least one frame")
    payload = {
        "frames": [png_base64(frame) for frame in array],
        "captions": captions,
        "width": int(array.shape[2]),
        "height": int(array.shape[1]),
        "scale": _check.check_count(scale, "scale"),
        "interval_ms": _check.check_count(interval_ms, "interval_ms"),
        "loop": _check.check_bool(loop, "loop"),
    }
    return make_figure(
        name,
        "frame_player",
        payload,
        _strip_png(array, captions),
        caption=caption,
        inline=inline,
        book_root=book_root,
        page_dir=page_dir,
    )
