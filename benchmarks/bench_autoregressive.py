r"""Autoregressive models: the KV cache's speed-up, and the loop core's overhead on a transformer.

1. **KV cache.** :meth:`~aigc_course.models.CausalTransformer.generate` with and without the
   cache, from a one-token prompt to the full context (``--block`` tokens), on the same seed;
   the two must give the same tokens. Target (issue 23): cached >= 5x faster at full context.
2. **Loop overhead.** :func:`~aigc_course.train.train_autoregressive` against a bare loop of
   the same step function (:func:`~aigc_course.train.autoregressive_step`, AdamW, clipping)
   on the same model and random token windows. The package loop adds the seeded batch
   stream, the history, the NaN guard (one host transfer per 10 steps), the progress
   bookkeeping and the stop checks (``max_seconds`` set, never reached). Target: >= 0.9x the
   bare steps/s.

Run::

    python benchmarks/bench_autoregressive.py                 # CPU, small model
    python benchmarks/bench_autoregressive.py --device cuda --block 256 --embd 256 --layers 6

Runs are interleaved after a warm-up, and the median of ``--repeats`` is shown.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from aigc_course.models import CausalTransformer, TransformerConfig
from aigc_course.train import (
    AutoregressiveTrainConfig,
    autoregressive_step,
    train_autoregressive,
)


def make_model(args: argparse.Namespace) -> CausalTransformer:
    torch.manual_seed(0)
    cfg = TransformerConfig(
        vocab_size=args.vocab,
        block_size=args.block,
        n_layer=args.layers,
        n_head=args.heads,
        n_embd=args.embd,
        fused_attention=args.fused,
    )
    return CausalTransformer(cfg).to(args.device)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_generate(model: CausalTransformer, args: argparse.Namespace, use_cache: bool):
    prompt = torch.zeros(args.samples, 1, dtype=torch.long)
    _sync(args.device)
    start = time.perf_counter()
    out = model.generate(
        prompt,
        args.block - 1,
        generator=torch.Generator().manual_seed(0),
        use_cache=use_cache,
    )
    _sync(args.device)
    return time.perf_counter() - start, out


def bare(model, data, args) -> float:
    r"""Steps per second of ``autoregressive_step`` in a plain loop with an in-line shuffle."""
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    per_epoch = data.shape[0] // args.batch
    _sync(args.device)
    start = time.perf_counter()
    for step in range(args.steps):
        if step % per_epoch == 0:
            perm = torch.randperm(data.shape[0], generator=gen)
        i = step % per_epoch
        x = data[perm[i * args.batch : (i + 1) * args.batch]].to(args.device)
        autoregressive_step(model, opt, x, grad_clip=1.0)
    _sync(args.device)
    return args.steps / (time.perf_counter() - start)


def package(model, data, args) -> float:
    r"""Steps per second of ``train_autoregressive`` (its own clock: training time only)."""
    cfg = AutoregressiveTrainConfig(
        steps=args.steps,
        batch_size=args.batch,
        lr=1e-3,
        device=args.device,
        progress=False,
        max_seconds=1e9,
    )
    result = train_autoregressive(model, data, cfg)
    return result.steps / result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--vocab", type=int, default=64)
    parser.add_argument("--block", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--embd", type=int, default=128)
    parser.add_argument("--samples", type=int, default=8, help="sequences per generate call")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--fused", action="store_true", help="attention by F.scaled_dot_product_attention"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"device {args.device}, {args.threads} thread(s), torch {torch.__version__}, "
        f"{'fused' if args.fused else 'written-out'} attention"
    )

    model = make_model(args).eval()
    time_generate(model, args, True)  # warm-up
    time_generate(model, args, False)
    cached, uncached = [], []
    for _ in range(args.repeats):
        t_c, out_c = time_generate(model, args, True)
        t_u, out_u = time_generate(model, args, False)
        cached.append(t_c)
        uncached.append(t_u)
        same = torch.equal(out_c, out_u)
    c, u = statistics.median(cached), statistics.median(uncached)
    n_tok = args.samples * (args.block - 1)
    print(
        f"generate {args.samples} x {args.block - 1} tokens (full context {args.block}): "
        f"cached {1e3 * c / n_tok:.3f} ms/token, uncached {1e3 * u / n_tok:.3f} ms/token, "
        f"speed-up {u / c:.1f}x (target >= 5x); same tokens: {same}"
    )

    data = torch.randint(
        0, args.vocab, (8 * args.batch, args.block + 1), generator=torch.Generator().manual_seed(0)
    )
    bare(make_model(args).train(), data, args)  # warm-up
    rates = {"bare": [], "package": []}
    for _ in range(args.repeats):
        rates["bare"].append(bare(make_model(args).train(), data, args))
        rates["package"].append(package(make_model(args), data, args))
    b, p = statistics.median(rates["bare"]), statistics.median(rates["package"])
    print(
        f"training steps/s (batch {args.batch} x {args.block} tokens): bare loop {b:.2f}, "
        f"train_autoregressive {p:.2f}, ratio {p / b:.3f} (target >= 0.9)"
    )


if __name__ == "__main__":
    main()
