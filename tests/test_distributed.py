"""The loop core under torchrun: two CPU processes (gloo, DistributedDataParallel) train a VAE
to the same weights as one process on the combined batch."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
import torch.distributed as dist

from aigc_course.models.vae import MLPVAE, VAEConfig
from aigc_course.train import VAETrainConfig, load_checkpoint, train_vae

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
cfg = VAETrainConfig(epochs=2, batch_size=8, progress=True, checkpoint_path={ckpt!r})
result = train_vae(model, data, cfg)
if dist.get_rank() == 0:
    torch.save({{"state": model.state_dict(), "history": result.history}}, {out!r})
dist.destroy_process_group()
"""


@pytest.mark.skipif(not dist.is_available() or not dist.is_gloo_available(), reason="no gloo")
def test_two_gloo_processes_match_one_process_on_the_combined_batch(tmp_path):
    script = tmp_path / "worker.py"
    out, ckpt = tmp_path / "ddp.pt", tmp_path / "ckpt.pt"
    script.write_text(textwrap.dedent(WORKER.format(out=str(out), ckpt=str(ckpt))))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
    ]
    proc = subprocess.run(
        [*command, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    ddp = torch.load(out, weights_only=True)

    torch.manual_seed(0)
    model = MLPVAE(SMALL)
    data = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    single = train_vae(model, data, VAETrainConfig(epochs=2, batch_size=8, progress=False))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(ddp["state"][key], value, rtol=1e-4, atol=1e-5, msg=key)
    for key in single.history:
        torch.testing.assert_close(
            torch.tensor(ddp["history"][key]),
            torch.tensor(single.history[key]),
            rtol=1e-4,
            atol=1e-4,
        )
    assert load_checkpoint(ckpt)["step"] == 8  # written once, by rank 0
    assert proc.stderr.count("VAE: 100%") <= 1  # one progress bar, rank 0's
