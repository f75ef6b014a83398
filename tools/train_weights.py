"""Retrain the networks shipped in aigc_course/pretrained/, in place (for maintainers).

    python tools/train_weights.py                      # all three, one after the other
    python tools/train_weights.py --only mnist_flow_matching_unet

A thin wrapper around the package's own entry point, aigc_course.pretrained.train (which a
reader runs as ``python -m aigc_course.pretrained.train --name NAME --out FILE``): same
recipe, fixed steps and seeds, one CPU thread. It overwrites the shipped files; paste the
printed SHA-256 lines into aigc_course/pretrained/__init__.py (WEIGHTS), since the loader
refuses any file whose hash differs. The same machine, torch version and data give the same
weights (not the same bytes: the meta records how many seconds training took).
"""

from __future__ import annotations

import argparse
import time

from aigc_course.data import load_mnist
from aigc_course.pretrained import RENAMED, WEIGHTS, WEIGHTS_DIR
from aigc_course.pretrained.train import train_weights


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted([*WEIGHTS, *RENAMED]), action="append")
    args = parser.parse_args(argv)
    train = load_mnist("train")
    for name in dict.fromkeys(RENAMED.get(n, n) for n in args.only or WEIGHTS):
        t0 = time.perf_counter()
        digest = train_weights(name, WEIGHTS_DIR / f"{name}.pt", train=train)
        print(f'    "{name}": "{digest}",  # {time.perf_counter() - t0:.0f} s', flush=True)


if __name__ == "__main__":
    main()
