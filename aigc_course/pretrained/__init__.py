r"""Small pretrained networks shipped with the package, checked before they are loaded.

The diffusion chapter samples from three networks that take longer to train than a chapter
may run: a flow-matching UNet and a DDPM (epsilon) UNet for MNIST, both class-conditional
with a null class for classifier-free guidance, and the fully connected VAE whose latent
space the chapter's latent-diffusion model lives in. ``tools/train_weights.py`` trains them
with the package's own loops (fixed steps and seeds, one thread, so a rerun on the same
machine writes the same numbers) and writes the files below; nothing is downloaded.

Every file is a dict of plain values and tensors (weights stored as float16 to halve the
size), read with ``torch.load(..., weights_only=True)`` only after its SHA-256 equals the one
recorded in ``WEIGHTS``, so a damaged or replaced file is refused instead of unpickled.

References
----------
PyTorch, "torch.load": ``weights_only=True`` restricts unpickling to tensors and primitive
types.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from aigc_course.diffusion.schedules import NoiseSchedule, cosine_schedule, linear_schedule
from aigc_course.models.unet import UNet, UNetConfig
from aigc_course.models.vae import MLPVAE, VAEConfig
from aigc_course.runtime import atomic_write

__all__ = [
    "FORMAT",
    "WEIGHTS",
    "WEIGHTS_DIR",
    "Pretrained",
    "WeightsError",
    "load_pretrained",
    "save_pretrained",
    "sha256_of",
]

FORMAT = 1
WEIGHTS_DIR = Path(__file__).resolve().parent

# name -> SHA-256 of the shipped file (printed by tools/train_weights.py after training).
WEIGHTS: dict[str, str] = {
    "mnist_flow_unet": "724566b3909d5f19b82079f9ae0f0fbe5c6af71a3931e99f91108ef65aa37da4",
    "mnist_eps_unet": "fec039fe008898a2cb030c5697bd5413a53f5c741da60da9c7caeff733e06629",
    "mnist_vae": "447996ff6541f2fbf1d84b3ae9fc2d1b364fc19e777b8128bf1a66c9c3b0fc60",
}

_KINDS = {"unet": (UNet, UNetConfig), "mlp_vae": (MLPVAE, VAEConfig)}


class WeightsError(RuntimeError):
    r"""A shipped weights file is missing, damaged, or not the one this package expects."""


@dataclass(frozen=True)
class Pretrained:
    r"""A loaded network and what is known about how it was trained.

    Attributes
    ----------
    model : nn.Module
        The network in eval mode, float32, on the CPU.
    objective : str or None
        ``"flow"`` or ``"eps"`` for a denoiser; None for the VAE.
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


def _config_dict(cfg) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(cfg).items()}


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

    Parameters
    ----------
    path : str or os.PathLike
        The ``.pt`` file to write.
    model : nn.Module
        A :class:`~aigc_course.models.unet.UNet` (``kind="unet"``) or
        :class:`~aigc_course.models.vae.MLPVAE` (``kind="mlp_vae"``), with a ``cfg``.
    kind : {"unet", "mlp_vae"}
    meta : dict
        Plain values saying how the model was trained.
    objective : {"flow", "eps"}, optional
        For a denoiser.
    schedule : dict, optional
        ``{"name": "linear" | "cosine", "T": int}`` for an ``"eps"`` model.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}")
    payload = {
        "format": FORMAT,
        "kind": kind,
        "config": _config_dict(model.cfg),
        "objective": objective,
        "schedule": schedule,
        "meta": dict(meta),
        "state_dict": {
            k: v.detach().to("cpu", torch.float16).contiguous()
            for k, v in model.state_dict().items()
        },
    }
    with atomic_write(path) as tmp:
        torch.save(payload, tmp)
    return sha256_of(path)


def _schedule(spec: dict | None) -> NoiseSchedule | None:
    if spec is None:
        return None
    build = linear_schedule if spec["name"] == "linear" else cosine_schedule
    return build(int(spec["T"]))


def load_pretrained(name: str, *, path: str | os.PathLike | None = None) -> Pretrained:
    r"""Load a shipped network after checking the file's SHA-256.

    Parameters
    ----------
    name : str
        One of ``WEIGHTS``: ``"mnist_flow_unet"``, ``"mnist_eps_unet"``, ``"mnist_vae"``.
    path : str or os.PathLike, optional
        Read this file instead of the shipped one (it must still have the recorded
        SHA-256; for tests of the check).

    Returns
    -------
    Pretrained

    Raises
    ------
    WeightsError
        The file is missing or its SHA-256 differs from the recorded one (the message says
        how to restore or retrain it).
    """
    if name not in WEIGHTS:
        raise ValueError(f"name must be one of {sorted(WEIGHTS)}, got {name!r}")
    path = Path(path) if path is not None else WEIGHTS_DIR / f"{name}.pt"
    fix = (
        "reinstall the package (pip install --force-reinstall aigc_course), or retrain "
        f"it with: python tools/train_weights.py --only {name}"
    )
    if not path.is_file():
        raise WeightsError(f"the weights file {path} is missing: {fix}")
    digest = sha256_of(path)
    if digest != WEIGHTS[name]:
        raise WeightsError(
            f"{path} has SHA-256 {digest[:16]}..., expected {WEIGHTS[name][:16]}...: "
            f"the file is damaged or not the shipped one; {fix}"
        )
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != FORMAT or payload.get("kind") not in _KINDS:
        raise WeightsError(f"{path} is not a format-{FORMAT} weights file: {fix}")
    model_cls, cfg_cls = _KINDS[payload["kind"]]
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in payload["config"].items()}
    model = model_cls(cfg_cls(**config))
    model.load_state_dict({k: v.float() for k, v in payload["state_dict"].items()})
    return Pretrained(
        model=model.eval(),
        objective=payload["objective"],
        schedule=_schedule(payload["schedule"]),
        meta=payload["meta"],
    )
