r"""Small pretrained networks shipped with the package, checked before they are loaded.

The diffusion chapter samples from three networks that take longer to train than a chapter
may run: a flow-matching UNet and a DDPM (epsilon) UNet for MNIST, both class-conditional
with a null class for classifier-free guidance, and the fully connected VAE whose latent
space the chapter's latent-diffusion model lives in. :mod:`aigc_course.pretrained.train`
trains them with the package's own loops (fixed steps and seeds, one thread, so a rerun on
the same machine, torch version and data writes the same numbers); nothing is downloaded::

    python -m aigc_course.pretrained.train --name mnist_vae --out my_vae.pt

prints the new file's SHA-256; load it with the explicit opt-in
``load_pretrained("mnist_vae", path="my_vae.pt", sha256="<that hash>")``.

Every file is a dict of plain values and tensors (weights stored as float16 to halve the
size), read with ``torch.load(..., weights_only=True)`` only after its SHA-256 equals the one
recorded in ``WEIGHTS`` (or the one the caller passes for their own file), so a damaged or
replaced file is refused instead of unpickled. :func:`save_pretrained` refuses, before
writing anything, whatever :func:`load_pretrained` could not read back.

References
----------
PyTorch, "torch.load": ``weights_only=True`` restricts unpickling to tensors and primitive
types.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from aigc_course._check import is_int
from aigc_course.models.unet import UNet, UNetConfig
from aigc_course.models.vae import MLPVAE, VAEConfig
from aigc_course.runtime import atomic_write
from aigc_course.sampling.schedules import NoiseSchedule, cosine_schedule, linear_schedule

__all__ = [
    "FORMAT",
    "WEIGHTS",
    "WEIGHTS_DIR",
    "Pretrained",
    "WeightsError",
    "load_pretrained",
    "retrain_command",
    "save_pretrained",
    "sha256_of",
]

FORMAT = 1
WEIGHTS_DIR = Path(__file__).resolve().parent

# name -> SHA-256 of the shipped file (printed by python -m aigc_course.pretrained.train).
WEIGHTS: dict[str, str] = {
    "mnist_flow_matching_unet": "724566b3909d5f19b82079f9ae0f0fbe5c6af71a3931e99f91108ef65aa37da4",
    "mnist_eps_unet": "fec039fe008898a2cb030c5697bd5413a53f5c741da60da9c7caeff733e06629",
    "mnist_vae": "447996ff6541f2fbf1d84b3ae9fc2d1b364fc19e777b8128bf1a66c9c3b0fc60",
}

# Old names that still load for one release, with a FutureWarning naming the new one.
RENAMED: dict[str, str] = {"mnist_flow_unet": "mnist_flow_matching_unet"}

# name -> (kind, objective) that a file loaded under that name must hold.
EXPECTED: dict[str, tuple[str, str | None]] = {
    "mnist_flow_matching_unet": ("unet", "flow_matching"),
    "mnist_eps_unet": ("unet", "eps"),
    "mnist_vae": ("mlp_vae", None),
}

_KINDS = {"unet": (UNet, UNetConfig), "mlp_vae": (MLPVAE, VAEConfig)}
_OBJECTIVES = {"unet": ("eps", "flow_matching"), "mlp_vae": (None,)}
_SCHEDULES = ("linear", "cosine")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class WeightsError(RuntimeError):
    r"""A weights file is missing, unreadable, damaged, or not the one that was asked for."""


@dataclass(frozen=True)
class Pretrained:
    r"""A loaded network and what is known about how it was trained.

    Attributes
    ----------
    model : nn.Module
        The network in eval mode, float32, on the CPU.
    objective : str or None
        ``"flow_matching"`` or ``"eps"`` for a denoiser; None for the VAE.
    schedule : NoiseSchedule or None
        The noise schedule of an ``"eps"`` model, for the DDPM/DDIM samplers.
    meta : dict
        How it was trained: steps, batch size, seconds, threads, data, seed, torch version.
    """

    model: nn.Module
    objective: str | None
    schedule: NoiseSchedule | None
    meta: dict


def sha256_of(path: str | os.PathLike) -> str:
    r"""The SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def retrain_command(name: str, out: str | None = None) -> str:
    r"""The shell command that retrains the shipped network ``name`` into ``out``.

    It works wherever the package is installed (``pip install``, Colab), and the file it
    writes is loaded with ``load_pretrained(name, path=out, sha256=<the hash it prints>)``.
    """
    return f"python -m aigc_course.pretrained.train --name {name} --out {out or name + '.pt'}"


def _fix(name: str) -> str:
    out = f"my_{name}.pt"
    return (
        "reinstall the package (pip install --force-reinstall aigc_course), or retrain it "
        f"with: {retrain_command(name, out)} and load your file with "
        f"load_pretrained({name!r}, path={out!r}, sha256='<the SHA-256 that run prints>')"
    )


def _canonical_objective(objective: object, *, warn: bool) -> object:
    if objective == "flow":
        if warn:
            warnings.warn(
                'objective "flow" is renamed "flow_matching"; pass objective="flow_matching"',
                FutureWarning,
                stacklevel=4,
            )
        return "flow_matching"
    return objective


# ------------------------------------------------------------------------------ saving


def _round_trip(value: object) -> object:
    r"""``value`` after torch.save and torch.load(weights_only=True) in memory."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    buffer.seek(0)
    return torch.load(buffer, map_location="cpu", weights_only=True)


def _check_meta(meta: object) -> dict:
    if not isinstance(meta, dict):
        raise TypeError(
            f"meta must be a dict of plain values saying how the model was trained, "
            f"got {type(meta).__name__}"
        )
    try:
        return _round_trip(dict(meta))
    except Exception as exc:  # noqa: BLE001 (pickling and weights_only raise many kinds)
        bad = []
        for key, value in meta.items():
            try:
                _round_trip({key: value})
            except Exception:  # noqa: BLE001
                bad.append(repr(key))
        raise TypeError(
            f"meta cannot be read back with torch.load(weights_only=True) (key(s) "
            f"{', '.join(bad) or '?'}: {type(exc).__name__}): keep to numbers, strings, "
            "bools, None, tensors and lists/tuples/dicts of them; nothing was written"
        ) from exc


def _check_model(model: object, kind: object) -> dict:
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
    model_cls, cfg_cls = _KINDS[kind]
    if not isinstance(model, model_cls) or not isinstance(getattr(model, "cfg", None), cfg_cls):
        got = type(model).__name__
        lacks = "" if hasattr(model, "cfg") else " (it has no .cfg to rebuild it from)"
        raise TypeError(
            f"model must be a {model_cls.__name__} with a {cfg_cls.__name__} in .cfg for "
            f"kind={kind!r}, got {got}{lacks}; pass the right model or kind"
        )
    config = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(model.cfg).items()}
    read_back = _round_trip(config)
    cfg_cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in read_back.items()})
    return config


def _check_objective(objective: object, kind: str, schedule: object) -> object:
    objective = _canonical_objective(objective, warn=True)
    allowed = _OBJECTIVES[kind]
    if objective not in allowed:
        raise ValueError(
            f"objective must be one of {list(allowed)} for kind={kind!r}, got {objective!r}"
        )
    if objective != "eps":
        if schedule is not None:
            raise ValueError(f"schedule is only for objective='eps', got {schedule!r}")
        return objective
    ok = (
        isinstance(schedule, dict)
        and set(schedule) == {"name", "T"}
        and schedule["name"] in _SCHEDULES
        and is_int(schedule["T"])
        and schedule["T"] >= 1
    )
    if not ok:
        raise ValueError(
            'schedule must be {"name": "linear" or "cosine", "T": int >= 1} for '
            f"objective='eps' (the samplers need it), got {schedule!r}"
        )
    return objective


def save_pretrained(
    path: str | os.PathLike,
    model: nn.Module,
    *,
    kind: str,
    meta: dict,
    objective: str | None = None,
    schedule: dict | None = None,
) -> str:
    r"""Write ``model``'s weights (float16) and its config atomically; return the SHA-256.

    Everything :func:`load_pretrained` could not read back is refused before anything is
    written: a model that is not of ``kind`` or has no config, an objective or schedule
    that does not fit the kind, and ``meta`` that ``torch.load(weights_only=True)`` refuses
    (checked by a round trip in memory). The file is written to a temporary file beside
    ``path``, fsynced and renamed, so ``path`` is either the old file or the complete new one.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.pt`` file to write.
    model : nn.Module
        A :class:`~aigc_course.models.unet.UNet` (``kind="unet"``) or
        :class:`~aigc_course.models.vae.MLPVAE` (``kind="mlp_vae"``), with its ``cfg``.
    kind : {"unet", "mlp_vae"}
    meta : dict
        Plain values saying how the model was trained.
    objective : {"flow_matching", "eps"} or None
        Required for a UNet, None for the VAE (``"flow"`` is read as ``"flow_matching"``
        with a FutureWarning).
    schedule : dict, optional
        ``{"name": "linear" | "cosine", "T": int}``; required for ``"eps"``, else None.

    Raises
    ------
    TypeError
        ``path`` is not path-like, ``model`` does not match ``kind``, or ``meta`` is not a
        dict of values that ``torch.load(weights_only=True)`` reads back.
    ValueError
        An unknown ``kind``, or an ``objective`` or ``schedule`` that does not fit it.
    """
    if not isinstance(path, str | os.PathLike) or not os.fspath(path):
        raise TypeError(f"path must be the path of the .pt file to write, got {path!r}")
    config = _check_model(model, kind)
    objective = _check_objective(objective, kind, schedule)
    meta = _check_meta(meta)
    payload = {
        "format": FORMAT,
        "kind": kind,
        "config": config,
        "objective": objective,
        "schedule": None if schedule is None else dict(schedule),
        "meta": meta,
        "state_dict": {
            k: v.detach().to("cpu", torch.float16).contiguous()
            for k, v in model.state_dict().items()
        },
    }
    with atomic_write(path) as tmp:
        torch.save(payload, tmp)
    return sha256_of(path)


# ----------------------------------------------------------------------------- loading


def _check_name(name: object) -> str:
    if isinstance(name, str) and name in RENAMED:
        warnings.warn(
            f"the weights {name!r} are renamed {RENAMED[name]!r}: use "
            f"load_pretrained({RENAMED[name]!r}); the old name stops working next release",
            FutureWarning,
            stacklevel=3,
        )
        return RENAMED[name]
    if not isinstance(name, str) or name not in WEIGHTS:
        raise ValueError(f"name must be one of {sorted(WEIGHTS)}, got {name!r}")
    return name


def _check_sha256(sha256: object, path: object) -> str | None:
    if sha256 is None:
        return None
    if path is None:
        raise ValueError(
            "sha256 is the hash of your own file: pass its path too, "
            "load_pretrained(name, path='my_file.pt', sha256='...')"
        )
    if not isinstance(sha256, str) or not _HEX64.fullmatch(sha256.strip().lower()):
        raise ValueError(
            f"sha256 must be the 64 hex digits printed by the training run, got {sha256!r}"
        )
    return sha256.strip().lower()


def _verified_path(name: str, path: object, sha256: str | None) -> Path:
    if path is not None and (not isinstance(path, str | os.PathLike) or not os.fspath(path)):
        raise TypeError(f"path must be a str or os.PathLike naming a .pt file, got {path!r}")
    file = Path(path) if path is not None else WEIGHTS_DIR / f"{name}.pt"
    if file.is_dir():
        raise WeightsError(f"{file} is a folder, not a weights file: give the path of the .pt file")
    if not file.is_file():
        raise WeightsError(f"the weights file {file} is missing: {_fix(name)}")
    try:
        digest = sha256_of(file)
    except OSError as exc:
        raise WeightsError(
            f"cannot read the weights file {file} ({exc.strerror or exc}): check its "
            f"permissions (chmod u+r {file}) or copy it somewhere you can read"
        ) from exc
    expected = sha256 or WEIGHTS[name]
    if digest == expected:
        return file
    if sha256 is not None:
        raise WeightsError(
            f"{file} has SHA-256 {digest[:16]}..., not the {sha256[:16]}... you passed: the "
            "file changed after it was trained, or the hash belongs to another file"
        )
    own = (
        ""
        if path is None
        else f"If it is your own retrained file, load it with load_pretrained({name!r}, "
        f"path={str(file)!r}, sha256='<the SHA-256 printed by the training run>'); otherwise "
    )
    raise WeightsError(
        f"{file} has SHA-256 {digest[:16]}..., expected {expected[:16]}...: the file is "
        f"damaged or not the shipped one. {own}{_fix(name)}"
    )


def _schedule(spec: dict | None) -> NoiseSchedule | None:
    if spec is None:
        return None
    if spec["name"] not in _SCHEDULES:
        raise ValueError(f"unknown schedule {spec['name']!r}")
    build = linear_schedule if spec["name"] == "linear" else cosine_schedule
    return build(int(spec["T"]))


def _read(file: Path, name: str) -> tuple[nn.Module, NoiseSchedule | None, dict]:
    try:
        payload = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 (truncated zip, refused pickle, ...)
        raise WeightsError(
            f"{file} cannot be read as a weights file ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0][:120] if str(exc) else ''}): {_fix(name)}"
        ) from exc
    if (
        not isinstance(payload, dict)
        or payload.get("format") != FORMAT
        or payload.get("kind") not in _KINDS
    ):
        raise WeightsError(f"{file} is not a format-{FORMAT} weights file: {_fix(name)}")
    model_cls, cfg_cls = _KINDS[payload["kind"]]
    try:
        config = {k: tuple(v) if isinstance(v, list) else v for k, v in payload["config"].items()}
        model = model_cls(cfg_cls(**config))
        model.load_state_dict({k: v.float() for k, v in payload["state_dict"].items()})
        schedule = _schedule(payload["schedule"])
        if not isinstance(payload["meta"], dict):
            raise TypeError("meta is not a dict")
    except Exception as exc:  # noqa: BLE001 (a config, weights or schedule that does not fit)
        raise WeightsError(
            f"{file} holds a {payload['kind']} whose config, weights or schedule do not fit "
            f"({type(exc).__name__}): {_fix(name)}"
        ) from exc
    return model, schedule, payload


def load_pretrained(
    name: str, *, path: str | os.PathLike | None = None, sha256: str | None = None
) -> Pretrained:
    r"""Load a shipped network, or your own retrained copy of it, after checking its SHA-256.

    Parameters
    ----------
    name : str
        One of ``WEIGHTS``: ``"mnist_flow_matching_unet"``, ``"mnist_eps_unet"``,
        ``"mnist_vae"`` (``"mnist_flow_unet"``, the old name of the first, still loads
        for one release with a FutureWarning).
    path : str or os.PathLike, optional
        Read this file instead of the shipped one. Without ``sha256`` it must be a copy of
        the shipped file (same SHA-256).
    sha256 : str, optional
        The explicit opt-in for a file you trained yourself
        (``python -m aigc_course.pretrained.train --name NAME --out FILE`` prints it):
        ``path``'s SHA-256 must equal it, and the file must hold the kind of network and
        objective that ``name`` stands for.

    Returns
    -------
    Pretrained

    Raises
    ------
    ValueError
        An unknown ``name``, a malformed ``sha256``, or ``sha256`` without ``path``.
    TypeError
        ``path`` is not a str or os.PathLike.
    WeightsError
        The file is missing, a folder, unreadable, damaged, its SHA-256 differs from the
        expected one, or it holds another network (the message says how to fix it).
    """
    name = _check_name(name)
    sha256 = _check_sha256(sha256, path)
    file = _verified_path(name, path, sha256)
    model, schedule, payload = _read(file, name)
    objective = _canonical_objective(payload.get("objective"), warn=False)
    if (payload["kind"], objective) != EXPECTED[name]:
        kind, want = EXPECTED[name]
        raise WeightsError(
            f"{file} holds a {payload['kind']} with objective {objective!r}, but {name!r} is a "
            f"{kind} with objective {want!r}: load it under the name it was trained as"
        )
    return Pretrained(
        model=model.eval(), objective=objective, schedule=schedule, meta=payload["meta"]
    )
