r"""The one validation layer: argument checks shared by the package's entry points (private).

One dialect: the value first, then the name the message uses (``check_count(cfg.steps,
"GANTrainConfig.steps")``), returning the value. Whole numbers (:func:`check_count`,
:func:`is_int`), finite numbers in an interval (:func:`check_real`), choices, booleans, tensors
(type, rank, dtype: :func:`check_tensor`, :func:`check_image_batch`), value ranges
(:func:`check_range`, :func:`check_finite`), class labels (:func:`check_labels`, the one label
checker), output paths of the instructor tools, and the sampling math's steps, times and model
contract. Every message names the argument and says how to fix it; no other module writes its own
``isinstance(..., bool)`` test (``tests/test_check_guard.py``).

Checks that read tensor *values* (:func:`check_range`, :func:`check_finite`, the range part of
:func:`check_labels`) move data to the host; call them once at an entry point (the start of
training, a public function), never once per step. Type and shape checks cost nothing.
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch

__all__ = [
    "is_int",
    "is_real_number",
    "check_choice",
    "check_count",
    "check_finite",
    "check_image_batch",
    "check_labels",
    "check_sample_count",
    "check_real",
    "check_tensor",
    "check_range",
    "check_unit_images",
    "check_module",
    "check_binary",
    "check_tokens",
    "check_sampling",
    "sample_labels",
]


def is_int(value: object) -> bool:
    r"""True for a Python or NumPy integer, False for a ``bool`` (which Python counts as an int)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real_number(value: object) -> bool:
    r"""True for a real number (int, float, NumPy scalar), False for a ``bool``."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def sample_labels(
    model: torch.nn.Module, n: int, given: torch.Tensor | int | None, device: torch.device
) -> torch.Tensor | None:
    r"""Labels for ``model.sample(n, labels=...)``: ``None`` for an unconditional model."""
    n_classes = getattr(model, "n_classes", None)
    if n_classes is None:
        if given is not None:
            raise TypeError(
                f"{type(model).__name__} is not conditional, so it takes no labels: "
                "call model.sample(n, generator=...)"
            )
        return None
    if given is None:
        return torch.arange(n, device=device) % n_classes
    if isinstance(given, int) and not isinstance(given, bool):
        if not 0 <= given < n_classes:
            raise ValueError(
                f"labels must lie in [0, {n_classes - 1}] (the model has n_classes={n_classes}), "
                f"got {given}"
            )
        return torch.full((n,), given, dtype=torch.long, device=device)
    return check_labels(given, "labels", n_classes, batch=n).to(device)


# Checks of public functions' arguments (value, name, ...): the argument's name leads the message.

_SCALE_HINT = {
    (0.0, 1.0): "divide 0..255 pixels by 255 (aigc_course.data.to_unit does it for uint8 images)",
    (-1.0, 1.0): "map 0..255 pixels with aigc_course.data.to_signed, or [0, 1] ones with 2 * x - 1",
}


def _kind(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"[:80]


def check_count(value: object, name: str, *, minimum: int = 1) -> int:
    r"""Return ``value`` as an int if it is a whole number >= ``minimum`` (bools refused).

    Batch sizes, chunk sizes, sample counts, window sizes: ``0``, negatives, floats,
    strings, ``None`` and ``True`` are errors naming ``name``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {_kind(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def check_real(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    r"""Return ``value`` as a finite float in the given interval (bools and strings refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
            value = float(value)
        else:
            raise TypeError(f"{name} must be a real number, got {_kind(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and (value >= high if high_open else value > high)
    if (below or above) and high is None:
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {value:g}")
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value:g}")
    return value


def check_tensor(
    value: object,
    name: str,
    *,
    ndim: int | tuple[int, ...] | None = None,
    floating: bool = False,
    nonempty: bool = True,
    shape_hint: str = "",
) -> torch.Tensor:
    r"""Check that ``value`` is a torch.Tensor of the right rank and kind; return it.

    Parameters
    ----------
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    floating : bool
        Require a floating-point dtype (integer pixels must be scaled first).
    nonempty : bool
        Require at least one element and a non-zero first dimension.
    shape_hint : str
        The documented shape, e.g. ``"(N, 1, 28, 28)"``, for the messages.
    """
    hint = f" {shape_hint}" if shape_hint else ""
    if not isinstance(value, torch.Tensor):
        extra = " (convert it with torch.as_tensor)" if hasattr(value, "__array__") else ""
        raise TypeError(f"{name} must be a torch.Tensor{hint}, got {_kind(value)}{extra}")
    if value.is_complex():
        raise TypeError(f"{name} must be a real tensor, got {value.dtype}")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and value.ndim not in allowed:
        raise ValueError(
            f"{name} must have {' or '.join(map(str, allowed))} dimensions{hint}, "
            f"got shape {tuple(value.shape)}"
        )
    if floating and not value.is_floating_point():
        scale = (
            "; scale uint8 pixels with aigc_course.data.to_unit (to [0, 1])"
            if value.dtype == torch.uint8
            else ""
        )
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}{scale}")
    if nonempty and (value.numel() == 0 or (value.ndim and value.shape[0] == 0)):
        raise ValueError(f"{name} is empty (shape {tuple(value.shape)}); give at least one item")
    return value


def check_range(
    value: torch.Tensor, name: str, low: float, high: float, *, atol: float = 1e-4
) -> torch.Tensor:
    r"""Check that every value lies in ``[low, high]`` (NaN refused), with a scaling hint.

    One reduction over the tensor: call it at entry points, not in a training step.
    """
    if value.numel() == 0:
        return value
    v = value.detach()
    lo, hi = float(v.min()), float(v.max())
    if math.isnan(lo) or math.isnan(hi) or lo < low - atol or hi > high + atol:
        if math.isnan(lo) or math.isnan(hi):
            hint = "remove or replace the NaN values"
        elif hi > high + atol and hi <= 255 + atol and high <= 1:
            hint = f"it looks like 0..255 pixels: {_SCALE_HINT.get((low, high), 'rescale it')}"
        else:
            hint = _SCALE_HINT.get((low, high), "rescale it")
        raise ValueError(
            f"{name} must have values in [{low:g}, {high:g}], got [{lo:g}, {hi:g}]: {hint}"
        )
    return value


def check_unit_images(
    value: object, name: str, *, ndim: int | tuple[int, ...] | None = 4, shape_hint: str = ""
) -> torch.Tensor:
    r"""A non-empty floating-point tensor with values in ``[0, 1]``; say how to scale it if not."""
    x = check_tensor(value, name, ndim=ndim, floating=True, shape_hint=shape_hint)
    return check_range(x, name, 0.0, 1.0)


def check_binary(value: object, name: str, *, shape_hint: str = "") -> torch.Tensor:
    r"""A non-empty floating-point tensor whose every value is 0 or 1 (reads values: entry points).

    Binary images for the Bernoulli models (MADE, PixelCNN); grey values get the fix.
    """
    x = check_tensor(value, name, floating=True, shape_hint=shape_hint)
    if x.numel() and not bool(((x == 0) | (x == 1)).all()):
        raise ValueError(
            f"{name} must be binary images, every value 0 or 1: draw them with "
            "torch.bernoulli(images01) or threshold with aigc_course.data.binarize"
        )
    return x


def check_tokens(
    value: object, name: str, vocab_size: int, *, max_length: int | None = None
) -> torch.Tensor:
    r"""Token ids: an int64 tensor (B, T), T >= 1, values in [0, vocab_size) (reads values).

    ``max_length`` bounds T (a model's context); the message names it.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of int64 token ids, shape (B, T), got "
            f"{_kind(value)}: encode text with a tokenizer first"
        )
    if value.dtype != torch.long:
        raise TypeError(f"{name} must hold int64 token ids, got {value.dtype}: use .long()")
    if value.ndim != 2 or 0 in value.shape:
        raise ValueError(
            f"{name} must have shape (B, T) with B >= 1 and T >= 1, got {tuple(value.shape)}: "
            "add the batch axis with x.unsqueeze(0)"
        )
    if max_length is not None and value.shape[1] > max_length:
        raise ValueError(
            f"{name} has {value.shape[1]} tokens, longer than the context of {max_length}: "
            f"keep its last {max_length} tokens (x[:, -{max_length}:]) or build a model "
            "with a longer block_size"
        )
    if value.numel():
        low, high = (int(v) for v in torch.aminmax(value))
        if low < 0 or high >= vocab_size:
            raise ValueError(
                f"{name} must hold token ids in [0, {vocab_size - 1}] (vocab_size="
                f"{vocab_size}), found {low if low < 0 else high}: encode with the model's "
                "tokenizer (unknown characters map to its unknown token)"
            )
    return value


def check_sampling(
    temperature: object, top_k: object, top_p: object
) -> tuple[float, int | None, float | None]:
    r"""Sampling settings: ``temperature`` > 0, ``top_k`` None or an int >= 1, ``top_p`` in (0, 1]."""
    temperature = check_real(temperature, "temperature", low=0.0, low_open=True)
    if top_k is not None:
        top_k = check_count(top_k, "top_k")
    if top_p is not None:
        top_p = check_real(top_p, "top_p", low=0.0, high=1.0, low_open=True)
    return temperature, top_k, top_p


def check_module(value: object, name: str, *methods: str) -> torch.nn.Module:
    r"""Check that ``value`` is a torch.nn.Module with the given methods; return it."""
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {_kind(value)}")
    lacking = [m for m in methods if not callable(getattr(value, m, None))]
    if lacking:
        raise TypeError(
            f"{name} must have method(s) {', '.join(lacking)}; a {type(value).__name__} "
            "has not: pass the right model"
        )
    return value


def check_bool(value: object, name: str, *, hint: str = "") -> bool:
    r"""Return ``value`` if it is ``True`` or ``False`` (not 0, 1, None or a string); else raise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {_kind(value)}{hint and ': ' + hint}")
    return value


def check_choice(value: object, name: str, choices: Sequence[object]) -> object:
    r"""Return ``value`` if it is one of ``choices`` (same type and value); else name them."""
    if not any(type(value) is type(c) and value == c for c in choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {_kind(value)}")
    return value


def check_finite(
    value: torch.Tensor, name: str, hint: str = "clean or re-normalise it first"
) -> torch.Tensor:
    r"""Raise if ``value`` holds NaN or Inf (reads every value: entry points only); return it."""
    if value.numel() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or Inf values: {hint}")
    return value


def check_image_batch(
    value: object,
    name: str,
    shape: tuple[int, ...],
    *,
    hint: str = "",
    floating: bool = False,
) -> torch.Tensor:
    r"""Check that ``value`` is a tensor of shape (B, *shape), without reading values (no sync).

    The cheap guard of a network's ``forward``: a missing channel axis gets the fix
    ``x.unsqueeze(1)``; any other mismatch ``hint`` (or "reshape the batch ...").
    ``floating=True`` also requires a floating-point dtype (a dtype is metadata: no sync).
    """
    expected = "(B, " + ", ".join(str(s) for s in shape) + ")"
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {expected}, got {_kind(value)}")
    if floating and not value.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got {value.dtype}: scale integer pixels "
            "first (aigc_course.data.to_unit for [0, 1], to_signed for [-1, 1])"
        )
    if tuple(value.shape[1:]) != tuple(shape) or value.ndim != len(shape) + 1:
        fix = (
            "add the channel axis with x.unsqueeze(1)"
            if tuple(value.shape[1:]) == tuple(shape[1:])
            else hint or "reshape the batch or build the model with a matching config"
        )
        raise ValueError(f"expected {name} of shape {expected}, got {tuple(value.shape)}: {fix}")
    return value


def check_labels(
    y: object,
    name: str,
    n_classes: int,
    *,
    batch: int | None = None,
    check_range: bool = True,
    var: str = "y",
) -> torch.Tensor:
    r"""Check class labels and return them unchanged: int64, shape (B,), values in [0, n_classes).

    The one label checker of the package (models, losses, training loops, samplers).

    Parameters
    ----------
    y : torch.Tensor
        (B,) int64 class indices.
    name : str
        How the messages name ``y``.
    n_classes : int
        K, the number of classes the model was built for.
    batch : int, optional
        The batch size B the labels must match.
    check_range : bool
        Also check the values (one reduction, a host sync on an accelerator: entry points only;
        ``False`` checks type and shape only, free of syncs).
    var : str
        The variable name the fixes are written with, e.g. ``y.long()``.

    Raises
    ------
    TypeError
        ``y`` is not a tensor, or not int64.
    ValueError
        Wrong shape, wrong length, or a label outside [0, K).
    """
    if not isinstance(y, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of int64 class indices, shape (B,), "
            f"got {type(y).__name__}: use torch.tensor(labels, dtype=torch.long)"
        )
    if y.dtype != torch.long:
        hint = (
            f"{var}.long()"
            if not y.is_floating_point()
            else f"{var}.long() (class indices, not one-hot or probabilities)"
        )
        raise TypeError(
            f"{name} must be int64 class indices, got dtype {y.dtype}: convert with {hint}"
        )
    if y.ndim != 1:
        hint = (
            "y.argmax(dim=1) turns one-hot rows into indices"
            if y.ndim == 2
            else "flatten it with y.view(-1)"
        )
        raise ValueError(f"{name} must have shape (B,), got {tuple(y.shape)}: {hint}")
    if batch is not None and y.shape[0] != batch:
        raise ValueError(
            f"{name} has {y.shape[0]} entries but the batch has {batch}: give one label per example"
        )
    if check_range and y.numel():
        low, high = (int(v) for v in torch.aminmax(y))
        if low < 0 or high >= n_classes:
            bad = low if low < 0 else high
            raise ValueError(
                f"{name} must lie in [0, {n_classes - 1}] (the model has n_classes={n_classes}), "
                f"found {bad}: build the model with n_classes > {bad} or fix the labels"
            )
    return y


def check_sample_count(n: object) -> int:
    r"""The ``n`` of ``model.sample(n, *, labels=None, generator=None)``: an int >= 0."""
    if isinstance(n, torch.Tensor):
        raise TypeError(
            "sample(n, *, labels=None, generator=None) takes the number of samples first: "
            "for given labels y call model.sample(len(y), labels=y)"
        )
    return check_count(n, "n", minimum=0)


# ---- output paths of the instructor tools (the grader's CSV, student copies) ----
# Checked before any work is done, so that a typo costs a usage error, never a class's grades or
# an answer key. Path problems are ValueErrors (a command-line tool turns them into usage errors).


def _nearest_existing(path: Path) -> Path:
    r"""``path`` itself or its closest ancestor that exists (``/`` at worst)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or "/")


def _probe_writable(folder: Path, name: str) -> None:
    r"""Create and remove a file in ``folder``: the only test that also holds for root and ACLs."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".aigc-write-probe-", suffix=".tmp")
    except OSError as exc:
        raise ValueError(
            f"{name}: cannot write in the folder {folder} ({exc.strerror or exc}); choose a "
            "folder you can write to, or fix its permissions"
        ) from exc
    os.close(fd)
    os.unlink(probe)


def _check_folder_path(path: Path, folder: Path, name: str, what: str) -> None:
    r"""Refuse a ``path`` whose ``folder`` runs through a regular file; ``what`` is what to give."""
    existing = _nearest_existing(folder)
    if not existing.is_dir():
        raise ValueError(
            f"{name} {str(path)!r} lies under {existing}, which is a file, not a folder; give "
            f"{what} whose folders exist or can be created"
        )


def check_output_file(
    value: object, name: str, *, inputs: Iterable[object] = (), refuse_suffix: str = ""
) -> Path:
    r"""The path of a file to (over)write, checked before any work: return it as a Path.

    Refused, each with a message naming ``name`` and the fix: an empty value, an existing folder
    or anything but a regular file, a name ending in ``refuse_suffix`` (the kind of file the
    tool reads, e.g. ``.ipynb``), a folder that does not exist or lies
    under a regular file, a folder that cannot be written (tried by creating a file in it), and a
    path equal to one of ``inputs`` or inside one of them (paths resolved, links followed).
    """
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        raise ValueError(f"{name} must be the path of a file to write, got {_kind(value)}")
    path = Path(value)
    if path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a folder; give the path of a file in it")
    if os.path.lexists(path) and not path.is_file():
        raise ValueError(f"{name} {str(path)!r} exists and is not a regular file; give a file path")
    resolved = path.resolve()
    for item in inputs:
        other = Path(os.fspath(item)).resolve()
        if resolved == other or (path.exists() and other.exists() and path.samefile(other)):
            raise ValueError(
                f"{name} {str(path)!r} is one of the inputs ({item}): writing it would destroy "
                "that input; give another file name"
            )
        if other in resolved.parents:
            raise ValueError(
                f"{name} {str(path)!r} lies inside the input {item}; give another path"
            )
    if refuse_suffix and path.suffix.lower() == refuse_suffix.lower():
        raise ValueError(
            f"{name} {str(path)!r} ends in {refuse_suffix}, the kind of file this tool reads, "
            "not writes: give another name"
        )
    folder = resolved.parent
    _check_folder_path(path, folder, name, "a file path")
    if not folder.is_dir():
        raise ValueError(
            f"{name} {str(path)!r}: the folder {folder} does not exist; create it first "
            f"(mkdir -p {folder}) or fix the path"
        )
    _probe_writable(folder, name)
    return path


def check_output_folder(
    value: object, name: str, *, protected: Iterable[object] = (), why: str = ""
) -> Path:
    r"""A folder to write files into (it may not exist yet): return it as a Path.

    Refused, each with a message naming ``name`` and the fix: an empty value (an unset variable),
    an existing regular file or a path under one, the folders in ``protected`` and any folder
    inside them (paths resolved: the answer keys a tool reads must not be where it writes), and a
    folder that cannot be written or created (tried by creating a file in it or in its nearest
    existing ancestor). ``why`` says what a protected folder holds, for the message.
    """
    if not isinstance(value, str | os.PathLike) or not os.fspath(value).strip():
        raise ValueError(
            f"{name} must name a folder, got {_kind(value)}; an unset variable? give e.g. "
            f"{name} student/"
        )
    path = Path(value)
    if os.path.lexists(path) and not path.is_dir():
        raise ValueError(f"{name} {str(path)!r} is a file, not a folder; give a folder path")
    _check_folder_path(path, path.absolute(), name, "a folder path")
    resolved = path.resolve()
    for item in protected:
        guarded = Path(os.fspath(item)).resolve()
        if resolved == guarded or guarded in resolved.parents:
            raise ValueError(
                f"{name} {str(path)!r} is {item} or a folder inside it"
                + (f" ({why})" if why else "")
                + f": writing there would replace or mix with the files read from {item}; "
                "give another folder"
            )
    _probe_writable(_nearest_existing(resolved), name)
    return path


# ---- the sampling math: diffusion steps, flow-matching times, the model contract ----
# Value-first like check_count. check_step and check_same_shape read no tensor values (safe in a
# sampling loop); check_times reads every value (entry points only).


def check_step(value: object, name: str, low: int, high: int) -> int:
    r"""Return ``value`` if it is an int (not a bool) in ``[low, high]``; else raise naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int in [{low}, {high}], got {_kind(value)}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be an int in [{low}, {high}], got {value}")
    return int(value)


def check_same_shape(value: object, name: str, ref: torch.Tensor, ref_name: str) -> torch.Tensor:
    r"""A floating-point tensor of exactly ``ref``'s shape (no broadcasting); return it."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of the shape of {ref_name} {tuple(ref.shape)}, "
            f"got {_kind(value)}"
        )
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}")
    if value.shape != ref.shape:
        fix = (
            f"draw it with torch.randn_like({ref_name})"
            if "noise" in name
            else "one value per element, no broadcasting"
        )
        raise ValueError(
            f"{name} must have the shape of {ref_name}, {tuple(ref.shape)}, got "
            f"{tuple(value.shape)}: {fix}"
        )
    return value


def check_times(value: object, name: str, batch: int) -> torch.Tensor:
    r"""Float times of shape (batch,) in [0, 1] (reads the values: entry points only)."""
    if not isinstance(value, torch.Tensor) or not value.is_floating_point():
        raise TypeError(
            f"{name} must be a float tensor of shape ({batch},) with times in [0, 1], got "
            f"{_kind(value)}: use torch.rand({batch}) or t / T"
        )
    if value.shape != (batch,):
        raise ValueError(
            f"{name} must have shape ({batch},), one time per example of x0 (its first axis: "
            f"x0 and {name} must agree on the batch size), got {tuple(value.shape)}"
        )
    if value.numel():
        lo, hi = (float(v) for v in torch.aminmax(value.detach()))
        if not (lo >= 0.0 and hi <= 1.0):  # NaN fails too
            raise ValueError(
                f"{name} must lie in [0, 1] (data at 0, noise at 1), found values in "
                f"[{lo:.3g}, {hi:.3g}]: for a diffusion step t pass t / T"
            )
    return value


def check_model_call(model: object, name: str = "model") -> object:
    r"""``model`` must be callable as ``model(x, time, labels)`` (three positional arguments)."""
    import inspect

    if not callable(model):
        raise TypeError(
            f"{name} must be callable as {name}(x, time, labels) -> tensor shaped like x, "
            f"got {_kind(model)}"
        )
    target = model.forward if isinstance(model, torch.nn.Module) else model
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):  # a builtin without a signature: trust it
        return model
    try:
        signature.bind(None, None, None)
    except TypeError:
        raise TypeError(
            f"{name} must accept three positional arguments, {name}(x, time, labels), but its "
            f"signature is {signature}: wrap it, e.g. lambda x, time, labels: net(x, time)"
        ) from None
    return model
