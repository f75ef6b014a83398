r"""What the loop core costs: :func:`~aigc_course.train.train_gan` against a bare loop, on a DCGAN.

Both train the package's DCGAN pair (:class:`~aigc_course.models.DCGANConfig`, ``--channels``
base channels) with the same algorithm and step function (:func:`~aigc_course.train.gan_step`:
one discriminator update on fresh real data and noise, one non-saturating generator update,
Adam 2e-4, betas (0.5, 0.999)) on random images, on the CPU. The bare loop is the step function
in a ``for`` loop with an in-line shuffle; the package loop adds the seeded batch stream, the
history, the NaN guard (one host transfer per 10 steps), the progress bookkeeping and the stop
checks (``max_seconds`` set, never reached). Target: package >= 0.95x the bare steps/s.

Run::

    python benchmarks/bench_loop_overhead.py --steps 60 --repeats 5

Both loops are warmed up, runs are interleaved, and the median of each is shown.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time

import torch

from aigc_course.losses.gan import discriminator_loss, generator_loss_nonsaturating
from aigc_course.models import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from aigc_course.train import GANTrainConfig, gan_step, train_gan


def models(channels: int):
    torch.manual_seed(0)
    cfg = DCGANConfig(base_channels=channels)
    return DCGANGenerator(cfg), DCGANDiscriminator(cfg)


def bare(data: torch.Tensor, steps: int, batch: int, channels: int) -> float:
    r"""Steps per second of ``gan_step`` in a plain loop."""
    G, D = models(channels)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_loss = functools.partial(discriminator_loss, real_label=1.0)
    gen = torch.Generator().manual_seed(0)
    per_epoch = data.shape[0] // batch
    start = time.perf_counter()
    for step in range(steps):
        if step % per_epoch == 0:
            perm = torch.randperm(data.shape[0], generator=gen)
        i = step % per_epoch
        real = data[perm[i * batch : (i + 1) * batch]]
        z_d = torch.randn(batch, G.latent_dim, generator=gen)
        z_g = torch.randn(batch, G.latent_dim, generator=gen)
        gan_step(
            G,
            D,
            opt_g,
            opt_d,
            [(real, z_d, (), ())],
            (z_g, ()),
            d_loss=d_loss,
            g_loss=generator_loss_nonsaturating,
        )
    return steps / (time.perf_counter() - start)


def package(data: torch.Tensor, steps: int, batch: int, channels: int) -> float:
    G, D = models(channels)
    cfg = GANTrainConfig(steps=steps, batch_size=batch, n_fixed=0, max_seconds=1e9, progress=False)
    start = time.perf_counter()
    train_gan(G, D, data, cfg)
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each, interleaved")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--channels", type=int, default=32, help="DCGAN base channels")
    parser.add_argument("--examples", type=int, default=3200, help="random images")
    args = parser.parse_args()

    data = torch.rand(args.examples, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    data = data * 2 - 1
    run = (data, args.steps, args.batch_size, args.channels)
    bare(data, 10, args.batch_size, args.channels)  # warm-up: allocator, kernels, imports
    package(data, 10, args.batch_size, args.channels)
    b, p = [], []
    for _ in range(args.repeats):
        b.append(bare(*run))
        p.append(package(*run))
    bm, pm = statistics.median(b), statistics.median(p)
    print(
        f"DCGAN (base_channels={args.channels}), batch {args.batch_size}, {args.steps} steps x "
        f"{args.repeats}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    print(f"bare loop : {bm:8.2f} steps/s   (runs: {', '.join(f'{v:.2f}' for v in b)})")
    print(f"train_gan : {pm:8.2f} steps/s   (runs: {', '.join(f'{v:.2f}' for v in p)})")
    print(f"ratio     : {pm / bm:8.3f}   (target >= 0.95)")


if __name__ == "__main__":
    main()
