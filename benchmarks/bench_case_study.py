r"""Classifier-FID and images/second of the package's DCGAN against a bare DCGAN, for one CPU time budget.

Both train a DCGAN of the same size on MNIST (the training split ``load_mnist`` finds; offline the
5,000-image subset) for the same wall-clock budget, with the same algorithm (one discriminator step on
fresh real data and noise, one non-saturating generator step, Adam 2e-4, betas (0.5, 0.999), batch 64):

* **package**: :class:`~aigc_course.models.DCGANGenerator` / :class:`~aigc_course.models.DCGANDiscriminator`
  trained by :func:`~aigc_course.train.train_gan`;
* **bare**: the same layers written directly with ``torch.nn`` below, in a plain loop.

The budget is turned into a number of steps once (a calibration run of the package's loop after a
warm-up: ``steps = budget * steps_per_second``) and both loops run exactly that many steps, so their
FIDs compare the same amount of training and their times compare speed.

Then both generators (eval mode) draw ``--n-eval`` images and the classifier-FID against the training
images is computed with :func:`aigc_course.metrics.frechet_distance` on the features of the cached
classifier (:func:`aigc_course.train.trained_classifier`, trained on first use). Lower FID is better;
the two should be close (same model, same budget), and the package's loop should be at most a few per
cent slower.

Run::

    AIGC_DATA_DIR=... python benchmarks/bench_case_study.py --budget 60

Timings on a shared machine are noisy; the classifier is trained (and cached) before any timing.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from aigc_course.data import from_signed, load_mnist, to_signed, to_unit
from aigc_course.metrics import classifier_features, frechet_distance
from aigc_course.models import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from aigc_course.train import GANTrainConfig, train_gan, trained_classifier

BATCH = 64


def bare_models(c: int, latent_dim: int) -> tuple[nn.Module, nn.Module]:
    r"""The DCGAN pair of the package, layer for layer, as a reader would write it."""
    G = nn.Sequential(
        nn.Unflatten(1, (latent_dim, 1, 1)),
        nn.ConvTranspose2d(latent_dim, 2 * c, 7, 1, 0, bias=False),
        nn.BatchNorm2d(2 * c),
        nn.ReLU(),
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(),
        nn.ConvTranspose2d(c, 1, 4, 2, 1),
        nn.Tanh(),
    )
    D = nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False),
        nn.BatchNorm2d(2 * c),
        nn.LeakyReLU(0.2),
        nn.Conv2d(2 * c, 1, 7, 1, 0),
        nn.Flatten(0),
    )
    for m in [*G.modules(), *D.modules()]:
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return G, D


def train_bare(
    G: nn.Module, D: nn.Module, data: torch.Tensor, steps: int, latent_dim: int
) -> float:
    r"""Train for ``steps`` steps; return the seconds it took."""
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(0)
    per_epoch = data.shape[0] // BATCH
    start = time.perf_counter()
    for step in range(steps):
        i = step % per_epoch
        if i == 0:
            perm = torch.randperm(data.shape[0], generator=gen)
        real = data[perm[i * BATCH : (i + 1) * BATCH]]
        with torch.no_grad():
            fake = G(torch.randn(BATCH, latent_dim, generator=gen))
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-D(G(torch.randn(BATCH, latent_dim, generator=gen)))).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    return time.perf_counter() - start


@torch.no_grad()
def sample(G: nn.Module, n: int, latent_dim: int) -> torch.Tensor:
    G.eval()
    return from_signed(G(torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(123))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="training seconds per model")
    parser.add_argument(
        "--channels", type=int, default=32, help="DCGANConfig.base_channels of both models"
    )
    parser.add_argument("--n-eval", type=int, default=2000, help="generated images per FID")
    args = parser.parse_args()

    train = load_mnist("train")
    clf = trained_classifier(train)
    real_feats = classifier_features(clf, to_unit(train.images)).features
    data = to_signed(train.images)
    cfg = DCGANConfig(base_channels=args.channels)
    n_params = sum(
        p.numel() for m in (DCGANGenerator(cfg), DCGANDiscriminator(cfg)) for p in m.parameters()
    )
    print(
        f"torch threads: {torch.get_num_threads()}; DCGAN with base_channels={args.channels} "
        f"({n_params:,} parameters, G + D); budget {args.budget:.0f} s each; FID on {args.n_eval} samples"
    )

    # calibration: the budget's worth of steps, measured after a warm-up run
    torch.manual_seed(0)
    G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    train_gan(G, D, data, GANTrainConfig(steps=10, n_fixed=0, progress=False))
    start = time.perf_counter()
    train_gan(G, D, data, GANTrainConfig(steps=40, n_fixed=0, progress=False))
    steps = max(1, int(args.budget * 40 / (time.perf_counter() - start)))
    print(f"{steps} steps per model")
    torch.manual_seed(0)
    G, D = DCGANGenerator(cfg), DCGANDiscriminator(cfg)
    start = time.perf_counter()
    train_gan(G, D, data, GANTrainConfig(steps=steps, n_fixed=0, progress=False))
    pkg_seconds = time.perf_counter() - start
    pkg_fid = frechet_distance(
        classifier_features(clf, sample(G, args.n_eval, cfg.latent_dim)).features, real_feats
    )

    torch.manual_seed(0)
    Gb, Db = bare_models(args.channels, cfg.latent_dim)
    bare_seconds = train_bare(Gb, Db, data, steps, cfg.latent_dim)
    bare_fid = frechet_distance(
        classifier_features(clf, sample(Gb, args.n_eval, cfg.latent_dim)).features, real_feats
    )

    print(f"{'loop':<24}{'steps':>8}{'seconds':>10}{'images/s':>10}{'classifier-FID':>16}")
    for name, s, sec, fid in (
        ("package (train_gan)", steps, pkg_seconds, pkg_fid),
        ("bare PyTorch", steps, bare_seconds, bare_fid),
    ):
        print(f"{name:<24}{s:>8}{sec:>10.1f}{s * BATCH / sec:>10.0f}{fid:>16.2f}")
    print(f"package / bare images per second: {bare_seconds / pkg_seconds:.2f}")


if __name__ == "__main__":
    main()
