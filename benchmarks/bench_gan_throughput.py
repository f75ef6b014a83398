r"""Throughput of :func:`aigc_course.train.gan.train_gan` against a bare hand-written loop.

Both train the same fully connected MNIST GAN (:class:`~aigc_course.models.gan.MLPGANConfig`
defaults) with the same batch size, Adam settings and algorithm (one D step on fresh real data
and noise, then one G step on fresh noise, non-saturating loss) on random images, on the CPU.
The bare loop has no history, NaN guard, shape checks, progress bar or seeded data stream;
the ratio says what those conveniences cost (target: >= 0.9).

Run::

    python benchmarks/bench_gan_throughput.py --steps 200 --repeats 3

Timings on a shared machine are noisy: runs are interleaved and the median of each is shown.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from aigc_course.models.gan import MLPDiscriminator, MLPGANConfig, MLPGenerator
from aigc_course.train.gan import GANTrainConfig, train_gan


def make_models(seed: int) -> tuple[MLPGenerator, MLPDiscriminator]:
    torch.manual_seed(seed)
    cfg = MLPGANConfig()
    return MLPGenerator(cfg), MLPDiscriminator(cfg)


def bare_loop(G, D, data: torch.Tensor, steps: int, batch_size: int, seed: int) -> None:
    r"""The loop a reader would write by hand: same maths, nothing else."""
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    n, per_epoch = data.shape[0], data.shape[0] // batch_size
    perm = torch.randperm(n, generator=gen)
    for step in range(steps):
        i = step % per_epoch
        if i == 0:
            perm = torch.randperm(n, generator=gen)
        real = data[perm[i * batch_size : (i + 1) * batch_size]]
        with torch.no_grad():
            fake = G(torch.randn(batch_size, G.latent_dim, generator=gen))
        d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake)).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = F.softplus(-D(G(torch.randn(batch_size, G.latent_dim, generator=gen)))).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()


def time_bare(data: torch.Tensor, steps: int, batch_size: int) -> float:
    G, D = make_models(0)
    start = time.perf_counter()
    bare_loop(G, D, data, steps, batch_size, seed=0)
    return steps / (time.perf_counter() - start)


def time_train_gan(data: torch.Tensor, steps: int, batch_size: int) -> float:
    G, D = make_models(0)
    cfg = GANTrainConfig(steps=steps, batch_size=batch_size, n_fixed=0, progress=False)
    start = time.perf_counter()
    train_gan(G, D, data, cfg)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200, help="training steps per timed run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs of each loop, interleaved"
    )
    parser.add_argument("--examples", type=int, default=6400, help="size of the random image set")
    args = parser.parse_args()

    data = torch.rand(args.examples, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    time_bare(data, 20, args.batch_size)  # warm-up: allocator, kernels, lazy imports
    time_train_gan(data, 20, args.batch_size)
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(time_bare(data, args.steps, args.batch_size))
        ours.append(time_train_gan(data, args.steps, args.batch_size))
    bare_med, ours_med = statistics.median(bare), statistics.median(ours)
    print(
        f"MLP GAN (MLPGANConfig defaults), batch {args.batch_size}, {args.steps} steps x {args.repeats}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    print(f"bare loop : {bare_med:8.1f} steps/s   (runs: {', '.join(f'{v:.1f}' for v in bare)})")
    print(f"train_gan : {ours_med:8.1f} steps/s   (runs: {', '.join(f'{v:.1f}' for v in ours)})")
    print(f"ratio     : {ours_med / bare_med:8.3f}   (target >= 0.9)")


if __name__ == "__main__":
    main()
