r"""Throughput of :func:`aigc_course.train.vae.train_vae` against a bare hand-written loop.

Both train the same fully connected VAE (:class:`~aigc_course.models.vae.MLPVAE`, 784-400-20) with the
same batch size, Adam settings and loss (summed BCE from logits + closed-form KL, one reparameterised
sample per image) on random images in [0, 1], on the CPU. The bare loop has no input checks,
history, NaN guard, progress bar or seeded data stream; the ratio says what those conveniences cost
(target: >= 0.9).

Run::

    python benchmarks/bench_vae_throughput.py --epochs 2 --repeats 3

Timings on a shared machine are noisy: runs are interleaved and the median of each is shown.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from aigc_course.models.vae import MLPVAE, VAEConfig
from aigc_course.train.vae import VAETrainConfig, train_vae


def make_model() -> MLPVAE:
    torch.manual_seed(0)
    return MLPVAE(VAEConfig())


def bare_loop(model: MLPVAE, data: torch.Tensor, epochs: int, batch_size: int) -> None:
    r"""The loop a reader would write by hand, as in the PyTorch example: same maths, nothing else."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(data.shape[0], generator=gen)
        for i in range(0, data.shape[0], batch_size):
            x = data[perm[i : i + batch_size]]
            h = model.encoder(x)
            mu, logvar = model.to_mu(h), model.to_logvar(h)
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen)
            logits = model.decoder(z).view_as(x)
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (recon + kl) / x.shape[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def time_bare(data: torch.Tensor, epochs: int, batch_size: int) -> float:
    model = make_model()
    start = time.perf_counter()
    bare_loop(model, data, epochs, batch_size)
    return epochs * data.shape[0] / (time.perf_counter() - start)


def time_train_vae(data: torch.Tensor, epochs: int, batch_size: int) -> float:
    model = make_model()
    cfg = VAETrainConfig(epochs=epochs, batch_size=batch_size, progress=False)
    start = time.perf_counter()
    train_vae(model, data, cfg)
    return epochs * data.shape[0] / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed run")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed runs of each loop, interleaved"
    )
    parser.add_argument("--examples", type=int, default=5000, help="size of the random image set")
    args = parser.parse_args()

    data = torch.rand(args.examples, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    small = data[: 4 * args.batch_size]
    time_bare(small, 1, args.batch_size)  # warm-up: allocator, kernels, lazy imports
    time_train_vae(small, 1, args.batch_size)
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(time_bare(data, args.epochs, args.batch_size))
        ours.append(time_train_vae(data, args.epochs, args.batch_size))
    bare_med, ours_med = statistics.median(bare), statistics.median(ours)
    print(
        f"MLP VAE 784-400-20, batch {args.batch_size}, {args.examples} images x {args.epochs} epochs x "
        f"{args.repeats}, {torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    print(f"bare loop : {bare_med:8.0f} images/s   (runs: {', '.join(f'{v:.0f}' for v in bare)})")
    print(f"train_vae : {ours_med:8.0f} images/s   (runs: {', '.join(f'{v:.0f}' for v in ours)})")
    print(f"ratio     : {ours_med / bare_med:8.3f}   (target >= 0.9)")


if __name__ == "__main__":
    main()
