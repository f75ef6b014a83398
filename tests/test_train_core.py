"""The loop core (aigc_course.train.core): stop conditions, on_step, EMA, checkpoint validation,
bad checkpoint paths, no non-finite checkpoint, and a process killed in the middle of a save."""

import dataclasses
import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from aigc_course.data.toy import ring_of_gaussians
from aigc_course.models.gan import ToyDiscriminator, ToyGANConfig, ToyGenerator
from aigc_course.models.vae import MLPVAE, VAEConfig
from aigc_course.train import (
    CheckpointError,
    ClassifierTrainConfig,
    GANTrainConfig,
    LikelihoodTrainConfig,
    TrainingDiverged,
    VAETrainConfig,
    save_checkpoint,
    train_classifier,
    train_gan,
    train_likelihood,
    train_vae,
)
from aigc_course.train.checkpoint import load_checkpoint
from aigc_course.train.core import Loop
from aigc_course.train.schedules import cosine_factor

TOY = ToyGANConfig(latent_dim=2, hidden=16)
CFG = GANTrainConfig(steps=12, batch_size=32, lr_d=1e-3, lr_g=1e-3, n_fixed=8, progress=False)
ROOT = Path(__file__).resolve().parents[1]


def ring(n=128):
    return ring_of_gaussians(n, generator=torch.Generator().manual_seed(1))[0]


def toy(seed=0, cfg=TOY):
    torch.manual_seed(seed)
    return ToyGenerator(cfg), ToyDiscriminator(cfg)


def states_equal(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def all_finite(ckpt):
    def walk(x):
        if isinstance(x, torch.Tensor):
            yield x
        elif isinstance(x, dict):
            for v in x.values():
                yield from walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                yield from walk(v)

    return all(bool(torch.isfinite(t).all()) for t in walk(ckpt) if t.is_floating_point())


# ---------------------------------------------------------------------------- stop conditions


def test_max_seconds_stops_after_the_step_in_which_the_budget_ran_out(tmp_path):
    G, D = toy()
    cfg = dataclasses.replace(CFG, max_seconds=1e-9, checkpoint_path=tmp_path / "c.pt")
    result = train_gan(G, D, ring(), cfg)
    assert result.steps == 1 and result.stopped_by == "max_seconds"
    assert len(result.history["d_loss"]) == 1 and result.seconds > 0
    assert load_checkpoint(cfg.checkpoint_path)["step"] == 1  # a final checkpoint even so
    assert [s for s, _ in result.snapshots] == [1]
    full = train_gan(*toy(), ring(), dataclasses.replace(CFG, max_seconds=1e6))
    assert full.steps == 12 and full.stopped_by == "steps"


def test_cosine_factor_runs_from_one_to_zero_through_one_half():
    values = [cosine_factor(p) for p in (0.0, 0.25, 0.5, 0.75, 1.0)]
    expected = [1.0, (2 + math.sqrt(2)) / 4, 0.5, (2 - math.sqrt(2)) / 4, 0.0]
    for got, want in zip(values, expected, strict=True):
        assert math.isclose(got, want, abs_tol=1e-12)


def test_fraction_done_counts_steps_or_time_whichever_is_further():
    model = torch.nn.Linear(1, 1)
    loop = Loop("VAE", total=10, keys=(), hints={}, models={"m": model}, optimizers={})
    assert loop.fraction_done == 0.0
    loop.step = 4
    assert loop.fraction_done == 0.4
    loop.max_seconds, loop.seconds = 20.0, 5.0  # a quarter of the time: steps still lead
    assert loop.fraction_done == 0.4
    loop.seconds = 15.0  # three quarters of the time
    assert loop.fraction_done == 0.75
    loop.seconds = 60.0
    assert loop.fraction_done == 1.0  # never past the end


def test_shard_splits_every_tensor_of_a_nested_batch_and_keeps_its_structure():
    loop = Loop("GAN", total=1, keys=(), hints={}, models={}, optimizers={})
    x, z = torch.arange(6), torch.arange(12).view(6, 2)
    batch = [(x, z, ()), (x, z, (x,))]
    assert loop.shard(batch) is batch  # one process: the whole batch
    loop.rank, loop.world = 1, 2  # as rank 1 of 2 under torchrun
    (x1, z1, none), (_, _, (y1,)) = loop.shard(batch)
    assert x1.tolist() == [3, 4, 5] and z1.tolist() == [[6, 7], [8, 9], [10, 11]]
    assert none == () and y1.tolist() == [3, 4, 5]
    assert isinstance(loop.shard(batch), list)


def test_max_seconds_in_every_config():
    for make in (VAETrainConfig, ClassifierTrainConfig, LikelihoodTrainConfig):
        assert make(max_seconds=2.5).max_seconds == 2.5
        with pytest.raises(ValueError, match="max_seconds must be > 0"):
            make(max_seconds=0)
    with pytest.raises(ValueError, match="GANTrainConfig.max_seconds"):
        GANTrainConfig(steps=1, max_seconds=float("nan"))


def test_on_step_stops_and_a_resume_continues_bit_identically(tmp_path):
    ref = train_gan(*toy(), ring(), CFG)
    cfg = dataclasses.replace(CFG, checkpoint_path=tmp_path / "c.pt", snapshot_every=3)
    seen = []

    def stop_at_5(step, state):
        seen.append((step, state.step, sorted(state.models), bool(state.losses)))
        return step == 5

    G, D = toy()
    first = train_gan(G, D, ring(), cfg, on_step=stop_at_5)
    assert first.steps == 5 and first.stopped_by == "on_step"
    assert len(first.history["g_loss"]) == 5 and load_checkpoint(cfg.checkpoint_path)["step"] == 5
    assert [s for s, _ in first.snapshots] == [0, 3, 5]
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5] and all(a == b for a, b, _, _ in seen)
    assert seen[0][2] == ["discriminator", "generator"]
    G2, D2 = toy(seed=7)
    rest = train_gan(G2, D2, ring(), cfg, resume=True)
    assert rest.steps == 12 and rest.history == ref.history
    assert states_equal(G2, ref.generator) and states_equal(D2, ref.discriminator)
    assert [s for s, _ in rest.snapshots] == [0, 3, 6, 9, 12]  # as uninterrupted


def test_on_step_sees_losses_on_logging_steps_only():
    got = {}
    train_vae(
        MLPVAE(VAEConfig(latent_dim=2, hidden=8)),
        torch.rand(96, 1, 28, 28, generator=torch.Generator().manual_seed(0)),
        VAETrainConfig(epochs=2, batch_size=8, progress=False),
        on_step=lambda step, state: got.update({step: dict(state.losses)}),
    )
    assert sorted(got) == list(range(1, 25))
    assert set(got[10]) == {"loss", "recon", "kl"} and got[9] == {} and got[24]
    assert math.isclose(got[10]["loss"], got[10]["recon"] + got[10]["kl"], rel_tol=1e-5)


def test_every_loop_takes_on_step():
    calls = []

    def stop_at_2(step, state):
        calls.append(step)
        return step == 2

    x = torch.rand(40, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    y = torch.arange(40) % 10
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    res = train_classifier(
        model,
        x,
        y,
        ClassifierTrainConfig(epochs=3, batch_size=8, progress=False),
        on_step=stop_at_2,
    )
    assert len(res.losses) == 2 and res.stopped_by == "on_step" and not model.training
    from aigc_course.models.baselines import PixelBernoulli

    hist = train_likelihood(
        PixelBernoulli((1, 28, 28)),
        (x > 0.5).float(),
        LikelihoodTrainConfig(progress=False),
        on_step=stop_at_2,
    )
    assert len(hist) == 2 and hist.stopped_by == "on_step" and isinstance(hist, list)
    assert calls == [1, 2, 1, 2]


# ---------------------------------------------------------------------------- EMA


def test_ema_equals_a_hand_computed_average():
    G, D = toy()
    params = [[p.detach().clone() for p in G.parameters()]]  # theta_0
    cfg = dataclasses.replace(CFG, steps=4, ema_decay=0.9)

    def record(step, state):
        params.append([p.detach().clone() for p in state.models["generator"].parameters()])

    result = train_gan(G, D, ring(), cfg, on_step=record)
    avg = params[0]
    for theta in params[1:]:  # avg_t = 0.9 avg_{t-1} + 0.1 theta_t
        avg = [0.9 * a + 0.1 * t for a, t in zip(avg, theta, strict=True)]
    got = list(result.ema_generator.parameters())
    for a, e in zip(avg, got, strict=True):
        torch.testing.assert_close(e, a, rtol=1e-6, atol=1e-7)
    assert not any(torch.equal(e, p) for e, p in zip(got, G.parameters(), strict=True))
    assert not result.ema_generator.training
    assert train_gan(*toy(), ring(), dataclasses.replace(CFG, steps=1)).ema_generator is None


def test_ema_is_checkpointed_and_resumes_bit_identically(tmp_path):
    cfg = dataclasses.replace(CFG, ema_decay=0.95)
    ref = train_gan(*toy(), ring(), cfg)
    ck = dataclasses.replace(cfg, checkpoint_path=tmp_path / "c.pt")
    train_gan(*toy(), ring(), ck, on_step=lambda step, state: step == 7)
    assert "ema_generator" in load_checkpoint(ck.checkpoint_path)
    resumed = train_gan(*toy(seed=3), ring(), ck, resume=True)
    assert states_equal(resumed.ema_generator, ref.ema_generator)
    with pytest.raises(ValueError, match="ema_decay=0.95 in the checkpoint but None now"):
        train_gan(*toy(), ring(), dataclasses.replace(ck, ema_decay=None, steps=20), resume=True)
    with pytest.raises(ValueError, match=r"ema_decay must be in \[0, 1\)"):
        GANTrainConfig(steps=1, ema_decay=1.0)


# ---------------------------------------------------------------------------- checkpoint validation


@pytest.fixture()
def gan_checkpoint(tmp_path):
    cfg = dataclasses.replace(CFG, steps=4, checkpoint_path=tmp_path / "run.pt")
    train_gan(*toy(), ring(), cfg)
    return cfg


def test_resume_into_models_of_another_configuration_leaves_them_untouched(gan_checkpoint):
    cfg = dataclasses.replace(gan_checkpoint, steps=8)
    for other in (
        ToyGANConfig(latent_dim=2, hidden=24),
        ToyGANConfig(latent_dim=2, hidden=16, n_layers=3),
    ):
        G, D = toy(seed=5, cfg=other)
        before_g, before_d = G.state_dict(), D.state_dict()
        before_g = {k: v.clone() for k, v in before_g.items()}
        before_d = {k: v.clone() for k, v in before_d.items()}
        with pytest.raises(
            CheckpointError, match=r"run\.pt.*models differ.*generator\.net"
        ) as info:
            train_gan(G, D, ring(), cfg, resume=True)
        assert "configuration of the original run" in str(info.value)
        assert all(torch.equal(before_g[k], v) for k, v in G.state_dict().items())
        assert all(torch.equal(before_d[k], v) for k, v in D.state_dict().items())


@pytest.mark.parametrize(
    "damage, match",
    [
        (
            lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
            "cannot read the checkpoint",
        ),
        (lambda p: p.write_bytes(b""), "cannot read the checkpoint"),
        (lambda p: p.write_bytes(os.urandom(2000)), "cannot read the checkpoint"),
        (lambda p: save_checkpoint(p, model={"w": torch.zeros(2)}), "not a training checkpoint"),
        (lambda p: save_checkpoint(p, format=99, kind="GAN"), "format 99"),
    ],
)
def test_damaged_or_foreign_checkpoints_are_clear_errors(gan_checkpoint, damage, match):
    path = Path(gan_checkpoint.checkpoint_path)
    damage(path)
    G, D = toy(seed=5)
    before = {k: v.clone() for k, v in G.state_dict().items()}
    with pytest.raises(CheckpointError, match=match) as info:
        train_gan(G, D, ring(), dataclasses.replace(gan_checkpoint, steps=8), resume=True)
    assert str(path) in str(info.value) and ("delete" in str(info.value).lower())
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())


def test_a_vae_checkpoint_is_not_a_gan_checkpoint(tmp_path):
    path = tmp_path / "vae.pt"
    data = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    train_vae(
        MLPVAE(VAEConfig(latent_dim=2, hidden=8)),
        data,
        VAETrainConfig(epochs=1, batch_size=8, progress=False, checkpoint_path=path),
    )
    with pytest.raises(CheckpointError, match="kind 'VAE'.*GAN loop"):
        train_gan(*toy(), ring(), dataclasses.replace(CFG, checkpoint_path=path), resume=True)


def test_bad_checkpoint_paths_fail_before_training(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    steps = []
    for path, match in ((tmp_path, "is a folder"), (a_file / "c.pt", "which is a file")):
        with pytest.raises(ValueError, match=match):
            train_gan(
                *toy(),
                ring(),
                dataclasses.replace(CFG, checkpoint_path=path),
                on_step=lambda s, _: steps.append(s),
            )
        with pytest.raises(ValueError, match=match):
            train_vae(
                MLPVAE(VAEConfig(latent_dim=2, hidden=8)),
                torch.rand(8, 1, 28, 28),
                VAETrainConfig(epochs=1, progress=False, checkpoint_path=path),
                on_step=lambda s, _: steps.append(s),
            )
    assert steps == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_an_unwritable_folder_fails_before_training(tmp_path):  # pragma: no cover - root in CI
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="cannot write checkpoints"):
            train_gan(*toy(), ring(), dataclasses.replace(CFG, checkpoint_path=folder / "c.pt"))
    finally:
        folder.chmod(0o700)


# ---------------------------------------------------------------------------- non-finite state


def test_no_checkpoint_with_non_finite_weights_is_written(tmp_path):
    cfg = dataclasses.replace(CFG, checkpoint_path=tmp_path / "c.pt", checkpoint_every=2)

    def poison(step, state):  # after step 4, before its checkpoint
        if step == 4:
            with torch.no_grad():
                next(state.models["generator"].parameters()).view(-1)[0] = math.inf

    with pytest.raises(
        TrainingDiverged, match="a parameter of generator became nan at step 4"
    ) as info:
        train_gan(*toy(), ring(), cfg, on_step=poison)
    message = str(info.value)
    assert "last checkpoint" in message and "step 2" in message and "resume=True" in message
    ckpt = load_checkpoint(cfg.checkpoint_path)
    assert ckpt["step"] == 2 and all_finite(ckpt)


def test_huge_data_never_leaves_an_infinite_adam_moment_in_a_checkpoint(tmp_path):
    # The reliability review's case: finite losses, but exp_avg_sq overflows to inf.
    cfg = dataclasses.replace(CFG, steps=60, checkpoint_path=tmp_path / "c.pt", checkpoint_every=10)
    try:
        train_gan(*toy(), ring() * 1e30, cfg)
    except TrainingDiverged as exc:
        assert "restart" in str(exc) or "resume" in str(exc)
    if cfg.checkpoint_path.exists():
        assert all_finite(load_checkpoint(cfg.checkpoint_path))


def test_a_diverged_vae_leaves_only_finite_checkpoints(tmp_path):
    # The review's case: lr=1e6, one batch per epoch, used to checkpoint Adam moments = inf.
    data = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    cfg = VAETrainConfig(
        epochs=6, batch_size=16, lr=1e6, progress=False, checkpoint_path=tmp_path / "v.pt"
    )
    torch.manual_seed(0)
    with pytest.raises(TrainingDiverged, match="restart from scratch|resume=True"):
        train_vae(MLPVAE(VAEConfig(latent_dim=2, hidden=8)), data, cfg)
    if cfg.checkpoint_path.exists():
        assert all_finite(load_checkpoint(cfg.checkpoint_path))


# ---------------------------------------------------------------------------- kill -9 during a save

CHILD = """
import signal, os, dataclasses, torch
from aigc_course.train import checkpoint as ck
from aigc_course.data.toy import ring_of_gaussians
from aigc_course.models.gan import ToyDiscriminator, ToyGANConfig, ToyGenerator
from aigc_course.train import GANTrainConfig, train_gan

real_save, calls = torch.save, []

def dying_save(obj, f):
    calls.append(f)
    if len(calls) == 3:  # the step-12 checkpoint: half a file, then the process is killed
        with open(f, "wb") as out:
            out.write(b"PK" + os.urandom(500))
            out.flush()
            os.fsync(out.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    real_save(obj, f)

ck.torch.save = dying_save
torch.manual_seed(0)
cfg = ToyGANConfig(latent_dim=2, hidden=16)
G, D = ToyGenerator(cfg), ToyDiscriminator(cfg)
data = ring_of_gaussians(128, generator=torch.Generator().manual_seed(1))[0]
run = GANTrainConfig(steps=20, batch_size=32, lr_d=1e-3, lr_g=1e-3, n_fixed=8, progress=False,
                     checkpoint_path={path!r}, checkpoint_every=4)
train_gan(G, D, data, run)
"""


def test_a_process_killed_during_a_checkpoint_save_is_recovered(tmp_path):
    path = tmp_path / "c.pt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD.format(path=str(path)))],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert load_checkpoint(path)["step"] == 8  # the previous checkpoint, intact
    cfg = dataclasses.replace(CFG, steps=20, checkpoint_path=path, checkpoint_every=4)
    ref = train_gan(
        *toy(), ring(), dataclasses.replace(cfg, checkpoint_path=None, checkpoint_every=None)
    )
    G, D = toy(seed=9)
    resumed = train_gan(G, D, ring(), cfg, resume=True)
    assert resumed.history == ref.history and states_equal(G, ref.generator)
    assert load_checkpoint(path)["step"] == 20


# ---------------------------------------------------------------------------- dependency direction


def test_metrics_never_import_training_code():
    modules = sorted(p.stem for p in (ROOT / "aigc_course" / "metrics").glob("*.py"))
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    mod = 'aigc_course.metrics' + ('' if name == '__init__' else '.' + name)\n"
        "    importlib.import_module(mod)\n"
        "bad = sorted(m for m in sys.modules if m.startswith('aigc_course.train'))\n"
        "print(bad)\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(modules) >= 8
