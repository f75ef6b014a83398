"""The loop core under torchrun: two CPU processes (gloo, DistributedDataParallel) train a VAE
and a GAN to the same weights as one process on the combined batch."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from aigc_course.data.toy import ring_of_gaussians
from aigc_course.models.gan import ToyDiscriminator, ToyGANConfig, ToyGenerator
from aigc_course.models.vae import MLPVAE, VAEConfig
from aigc_course.train import GANTrainConfig, VAETrainConfig, load_checkpoint, train_gan, train_vae

ROOT = Path(__file__).resolve().parents[1]
SMALL = VAEConfig(latent_dim=2, hidden=16)

WORKER = """
import os, torch, torch.distributed as dist
from aigc_course.models.vae import MLPVAE, VAEConfig
from aigc_course.train import VAETrainConfig, train_vae

torch.set_num_threads(1)
dist.init_process_group("gloo")
torch.manual_seed(0)
model = MLPVAE(VAEConfig(latent_dim=2, hidden=16))
data = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
cfg = VAETrainConfig(epochs=2, batch_size=8, max_shift=1, progress=True, checkpoint_path={ckpt!r})
result = train_vae(model, data, cfg)
if dist.get_rank() == 0:
    torch.save({{"states": {{"model": model.state_dict()}}, "history": result.history}}, {out!r})
dist.destroy_process_group()
"""


def _torchrun(tmp_path: Path, source: str) -> tuple[subprocess.CompletedProcess, dict, Path]:
    r"""Run ``source`` in two processes under torchrun; return the process, its output, the ckpt."""
    script, out, ckpt = tmp_path / "worker.py", tmp_path / "ddp.pt", tmp_path / "ckpt.pt"
    script.write_text(textwrap.dedent(source.format(out=str(out), ckpt=str(ckpt))))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    proc = subprocess.run(
        [*command, "--nproc_per_node", "2", str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return proc, torch.load(out, weights_only=True), ckpt


def _assert_same_run(ddp: dict, models: dict, history: dict) -> None:
    r"""The two-process run's weights and logged losses equal the single process's."""
    for name, model in models.items():
        for key, value in model.state_dict().items():
            got = ddp["states"][name][key]
            torch.testing.assert_close(got, value, rtol=1e-4, atol=1e-5, msg=f"{name}.{key}")
    for key, values in history.items():
        torch.testing.assert_close(
            torch.tensor(ddp["history"][key]), torch.tensor(values), rtol=1e-4, atol=1e-4
        )


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="no gloo")
def test_two_gloo_processes_match_one_process_on_the_combined_batch(tmp_path):
    proc, ddp, ckpt = _torchrun(tmp_path, WORKER)
    torch.manual_seed(0)
    model = MLPVAE(SMALL)
    data = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    cfg = VAETrainConfig(epochs=2, batch_size=8, max_shift=1, progress=False)
    single = train_vae(model, data, cfg)
    _assert_same_run(ddp, {"model": model}, single.history)
    assert load_checkpoint(ckpt)["step"] == 8  # written once, by rank 0
    assert proc.stderr.count("VAE: 100%") <= 1  # one progress bar, rank 0's


GAN_WORKER = """
import torch, torch.distributed as dist
from aigc_course.data.toy import ring_of_gaussians
from aigc_course.models.gan import ToyDiscriminator, ToyGANConfig, ToyGenerator
from aigc_course.train import GANTrainConfig, train_gan

torch.set_num_threads(1)
dist.init_process_group("gloo")
torch.manual_seed(0)
G, D = ToyGenerator(ToyGANConfig(hidden=16)), ToyDiscriminator(ToyGANConfig(hidden=16))
data, _ = ring_of_gaussians(64, generator=torch.Generator().manual_seed(0))
cfg = GANTrainConfig(
    steps=6, batch_size=16, d_steps=2, lr_d=1e-3, lr_g=1e-3, n_fixed=4, ema_decay=0.9,
    checkpoint_path={ckpt!r},
)
result = train_gan(G, D, data, cfg)
if dist.get_rank() == 0:
    states = {{"G": G.state_dict(), "D": D.state_dict(), "ema": result.ema_generator.state_dict()}}
    torch.save({{"states": states, "history": result.history}}, {out!r})
dist.destroy_process_group()
"""


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="no gloo")
def test_gan_on_two_gloo_processes_matches_one_process(tmp_path):
    _, ddp, ckpt = _torchrun(tmp_path, GAN_WORKER)
    torch.manual_seed(0)
    G, D = ToyGenerator(ToyGANConfig(hidden=16)), ToyDiscriminator(ToyGANConfig(hidden=16))
    data, _ = ring_of_gaussians(64, generator=torch.Generator().manual_seed(0))
    cfg = GANTrainConfig(
        steps=6,
        batch_size=16,
        d_steps=2,
        lr_d=1e-3,
        lr_g=1e-3,
        n_fixed=4,
        ema_decay=0.9,
        progress=False,
    )
    single = train_gan(G, D, data, cfg)
    _assert_same_run(ddp, {"G": G, "D": D, "ema": single.ema_generator}, single.history)
    assert load_checkpoint(ckpt)["step"] == 6
