"""The GAN training loop and checkpoints: determinism, NaN guard, exact resume, atomic writes."""

import dataclasses
import os

import pytest
import torch
from torch import nn

from aigc_course.data.toy import ring_of_gaussians
from aigc_course.losses.gan import discriminator_loss
from aigc_course.metrics.modes import count_modes
from aigc_course.models.gan import (
    DCGANConfig,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGANConfig,
    MLPGenerator,
    ToyDiscriminator,
    ToyGANConfig,
    ToyGenerator,
)
from aigc_course.train import checkpoint as checkpoint_module
from aigc_course.train.checkpoint import load_checkpoint, save_checkpoint
from aigc_course.train.gan import (
    HISTORY_KEYS,
    GANResult,
    GANTrainConfig,
    TrainingDiverged,
    standard_normal_noise,
    train_gan,
)

TOY = ToyGANConfig(latent_dim=2, hidden=32)
CFG = GANTrainConfig(
    steps=12, batch_size=32, lr_d=1e-3, lr_g=1e-3, n_fixed=16, snapshot_every=5, progress=False
)


def ring(n=200):
    return ring_of_gaussians(n, generator=torch.Generator().manual_seed(123))[0]


def toy_models(seed=0, cfg=TOY):
    torch.manual_seed(seed)
    return ToyGenerator(cfg), ToyDiscriminator(cfg)


def tiny_dcgan(seed=0):
    torch.manual_seed(seed)
    cfg = DCGANConfig(latent_dim=8, base_channels=4)
    return DCGANGenerator(cfg), DCGANDiscriminator(cfg)


def images(n=64):
    return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(5)) * 2 - 1


def state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


# ---------------------------------------------------------------------------- one step


def test_one_discriminator_step_lowers_its_loss_on_a_fixed_batch():
    G, D = toy_models()
    real = ring(64)
    with torch.no_grad():
        fake = G(torch.randn(64, 2, generator=torch.Generator().manual_seed(0)))
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    before = discriminator_loss(D(real), D(fake))
    opt.zero_grad()
    before.backward()
    opt.step()
    after = discriminator_loss(D(real), D(fake))
    assert after.item() < before.item()


# ---------------------------------------------------------------------------- results, determinism


def test_result_history_and_snapshots():
    G, D = toy_models()
    result = train_gan(G, D, ring(), CFG)
    assert isinstance(result, GANResult) and result.generator is G and result.steps == 12
    assert set(result.history) == set(HISTORY_KEYS)
    assert all(len(result.history[k]) == 12 for k in HISTORY_KEYS)
    assert all(0.0 <= v <= 1.0 for k in ("d_real", "d_fake") for v in result.history[k])
    assert [s for s, _ in result.snapshots] == [0, 5, 10, 12]
    assert all(img.shape == (16, 2) and img.device.type == "cpu" for _, img in result.snapshots)
    assert result.fixed_noise.shape == (16, 2)
    assert torch.equal(result.snapshots[-1][1], G(result.fixed_noise).detach())
    assert not torch.equal(result.snapshots[0][1], result.snapshots[-1][1])


def test_snapshot_options():
    G, D = toy_models()
    result = train_gan(G, D, ring(), dataclasses.replace(CFG, snapshot_every=None, steps=3))
    assert [s for s, _ in result.snapshots] == [3]  # only the final one
    result = train_gan(G, D, ring(), dataclasses.replace(CFG, n_fixed=0, steps=3))
    assert result.snapshots == [] and result.fixed_noise is None


def test_same_seed_is_bit_identical_and_other_seed_differs():
    runs = []
    for seed in (0, 0, 1):
        G, D = toy_models()
        result = train_gan(G, D, ring(), dataclasses.replace(CFG, seed=seed))
        runs.append((G, D, result))
    (G0, D0, r0), (G1, D1, r1), (G2, _, r2) = runs
    assert_same_state(G0, G1)
    assert_same_state(D0, D1)
    assert r0.history == r1.history
    assert not torch.equal(G0.net[0].weight, G2.net[0].weight)
    assert r0.history != r2.history


def test_dcgan_with_batchnorm_is_bit_identical_and_snapshots_leave_train_mode():
    outs = []
    for _ in range(2):
        G, D = tiny_dcgan()
        train_gan(
            G, D, images(), dataclasses.replace(CFG, steps=3, batch_size=16, snapshot_every=1)
        )
        outs.append((G, D))
        assert G.training and D.training
    assert_same_state(outs[0][0], outs[1][0])  # includes BatchNorm running statistics
    assert_same_state(outs[0][1], outs[1][1])


def test_mlp_gan_on_images_with_options():
    torch.manual_seed(0)
    cfg = MLPGANConfig(latent_dim=8, hidden=(16, 16))
    G, D = MLPGenerator(cfg), MLPDiscriminator(cfg)
    train_cfg = dataclasses.replace(
        CFG,
        steps=4,
        batch_size=16,
        d_steps=2,
        real_label=0.9,
        generator_loss="saturating",
        progress=True,
    )
    history = {"d_loss": []}
    result = train_gan(G, D, images(), train_cfg, history=history)
    assert result.history is history and len(history["g_loss"]) == 4
    assert result.snapshots[-1][1].shape == (16, 1, 28, 28)


def test_custom_noise_sampler_and_generator_without_latent_dim():
    class Bare(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 2)

        def forward(self, z):
            return self.lin(z)

    torch.manual_seed(0)
    G, D = Bare(), ToyDiscriminator(TOY)
    with pytest.raises(ValueError, match="latent_dim.*sample_noise"):
        train_gan(G, D, ring(), CFG)
    uniform = lambda n, g: torch.rand(n, 3, generator=g) * 2 - 1  # noqa: E731
    result = train_gan(G, D, ring(), CFG, sample_noise=uniform)
    assert result.fixed_noise.min() >= -1 and result.fixed_noise.shape == (16, 3)
    z = standard_normal_noise(4, torch.Generator().manual_seed(0), latent_dim=3)
    assert z.shape == (4, 3)


def test_article_loss_makes_the_discriminator_call_fakes_real():
    G, D = toy_models()
    cfg = dataclasses.replace(CFG, steps=60, d_loss="article", n_fixed=0)
    result = train_gan(G, D, ring(), cfg)
    assert result.history["d_fake"][-1] > 0.9  # D(G(z)) -> 1: the sign error at work
    G, D = toy_models()
    result = train_gan(G, D, ring(), dataclasses.replace(cfg, d_loss="standard"))
    assert result.history["d_fake"][-1] < 0.7


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"steps": -1}, "steps"),
        ({"batch_size": 0}, "batch_size"),
        ({"d_steps": 0}, "d_steps"),
        ({"seed": -3}, "seed"),
        ({"snapshot_every": 0}, "snapshot_every"),
        ({"lr_d": float("inf")}, "lr_d"),
        ({"lr_g": 0.0}, "lr_g"),
        ({"betas": (0.5,)}, "betas"),
        ({"betas": (0.5, 1.0)}, "betas"),
        ({"generator_loss": "wgan"}, "generator_loss"),
        ({"d_loss": "hinge"}, "d_loss"),
        ({"real_label": 1.2}, "real_label"),
        ({"d_loss": "article", "real_label": 0.9}, "real_label"),
        ({"checkpoint_every": 5}, "checkpoint_path"),
    ],
)
def test_bad_train_configs(changes, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(CFG, **changes)


@pytest.mark.parametrize(
    "data, error, match",
    [
        ([[0.0, 0.0]], TypeError, "torch.Tensor"),
        (torch.zeros(100), ValueError, r"view\(-1, 1\)"),
        (torch.zeros(100, 2, dtype=torch.long), TypeError, "floating-point"),
        (torch.zeros(10, 2), ValueError, "fewer than cfg.batch_size=32"),
        (torch.full((100, 2), float("nan")), ValueError, "NaN"),
        (
            torch.zeros(100, 3),
            ValueError,
            r"generator makes examples of shape \(2,\) but the data's are \(3,\)",
        ),
    ],
)
def test_bad_data(data, error, match):
    G, D = toy_models()
    with pytest.raises(error, match=match):
        train_gan(G, D, data, CFG)


def test_bad_call_arguments():
    G, D = toy_models()
    with pytest.raises(TypeError, match="GANTrainConfig"):
        train_gan(G, D, ring(), {"steps": 3})
    with pytest.raises(ValueError, match="checkpoint_path"):
        train_gan(G, D, ring(), CFG, resume=True)
    with pytest.raises(RuntimeError, match="not available"):
        train_gan(
            G,
            D,
            ring(),
            dataclasses.replace(CFG, device="mps" if torch.cuda.is_available() else "cuda"),
        )


# ---------------------------------------------------------------------------- NaN guard


def test_nan_weights_stop_training_with_a_clear_error():
    G, D = toy_models()
    with torch.no_grad():
        G.net[0].weight.fill_(float("nan"))
    with pytest.raises(
        TrainingDiverged, match=r"discriminator loss became nan at step 1: .*lr_d"
    ) as info:
        train_gan(G, D, ring(), CFG)
    assert isinstance(info.value, FloatingPointError)
    assert info.value.step == 1 and info.value.loss_name == "discriminator loss"


def test_nan_in_generator_step_names_the_generator_loss_and_the_step():
    calls = []

    def noise(n, g):  # fixed batch, then (D, G) per step: poison the G draw of step 3
        z = torch.randn(n, 2, generator=g)
        calls.append(n)
        return z.fill_(float("nan")) if len(calls) == 1 + 2 * 3 else z

    G, D = toy_models()
    history = {}
    with pytest.raises(TrainingDiverged, match="generator loss became nan at step 3") as info:
        train_gan(G, D, ring(), CFG, sample_noise=noise, history=history)
    assert info.value.step == 3
    assert len(history["g_loss"]) == 2  # what was recorded before the failure is kept


# ---------------------------------------------------------------------------- checkpoints & resume


def test_kill_and_resume_gives_the_same_weights(tmp_path):
    data = ring()
    cfg = dataclasses.replace(
        CFG, steps=20, d_steps=2, checkpoint_path=tmp_path / "ckpt.pt", checkpoint_every=4
    )

    G_ref, D_ref = toy_models()
    ref = train_gan(
        G_ref, D_ref, data, dataclasses.replace(cfg, checkpoint_path=None, checkpoint_every=None)
    )

    class Killed(Exception):
        pass

    calls = []

    def dying_noise(n, g):  # the process "dies" in the middle of step 11
        calls.append(n)
        if len(calls) == 1 + 3 * 10 + 2:
            raise Killed
        return torch.randn(n, 2, generator=g)

    G, D = toy_models()
    with pytest.raises(Killed):
        train_gan(G, D, data, cfg, sample_noise=dying_noise)
    assert load_checkpoint(cfg.checkpoint_path)["step"] == 8

    G2, D2 = toy_models(seed=99)  # a fresh process: different initial weights, restored from disk
    history = {"d_loss": [123.0]}
    result = train_gan(G2, D2, data, cfg, resume=True, history=history)
    assert_same_state(G2, G_ref)
    assert_same_state(D2, D_ref)
    assert result.history == ref.history and history["d_loss"][0] != 123.0
    assert [s for s, _ in result.snapshots] == [s for s, _ in ref.snapshots]
    assert all(
        torch.equal(a, b) for (_, a), (_, b) in zip(result.snapshots, ref.snapshots, strict=False)
    )
    assert load_checkpoint(cfg.checkpoint_path)["step"] == 20


def test_resume_in_two_legs_with_batchnorm(tmp_path):
    data = images()
    cfg = dataclasses.replace(
        CFG, steps=6, batch_size=16, snapshot_every=2, checkpoint_path=tmp_path / "c.pt"
    )
    G_ref, D_ref = tiny_dcgan()
    ref = train_gan(G_ref, D_ref, data, dataclasses.replace(cfg, checkpoint_path=None))
    G, D = tiny_dcgan()
    train_gan(G, D, data, dataclasses.replace(cfg, steps=3))  # final checkpoint at an odd step
    G, D = tiny_dcgan(seed=1)
    result = train_gan(G, D, data, cfg, resume=True)
    assert_same_state(G, G_ref)
    assert_same_state(D, D_ref)
    assert [s for s, _ in result.snapshots] == [s for s, _ in ref.snapshots] == [0, 2, 4, 6]


def test_resume_edge_cases(tmp_path):
    data = ring()
    cfg = dataclasses.replace(CFG, steps=4, checkpoint_path=tmp_path / "c.pt")
    G, D = toy_models()
    fresh = train_gan(G, D, data, cfg, resume=True)  # no file yet: starts from scratch
    assert len(fresh.history["d_loss"]) == 4 and os.path.isfile(cfg.checkpoint_path)
    mtime = os.path.getmtime(cfg.checkpoint_path)
    before = state(G)
    again = train_gan(G, D, data, cfg, resume=True)  # already done: nothing to train
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    assert again.history == fresh.history and os.path.getmtime(cfg.checkpoint_path) == mtime
    with pytest.raises(ValueError, match="beyond cfg.steps=2"):
        train_gan(G, D, data, dataclasses.replace(cfg, steps=2), resume=True)
    with pytest.raises(ValueError, match="batch_size=32 in the checkpoint but 16 now"):
        train_gan(G, D, data, dataclasses.replace(cfg, batch_size=16), resume=True)
    with pytest.raises(ValueError, match="n_examples=200 in the checkpoint but 150 now"):
        train_gan(G, D, data[:150], cfg, resume=True)
    # optimisation settings may change on resume, and the new ones apply
    train_gan(G, D, data, dataclasses.replace(cfg, steps=6, lr_d=5e-4), resume=True)
    opt_d = load_checkpoint(cfg.checkpoint_path)["opt_d"]
    assert opt_d["param_groups"][0]["lr"] == 5e-4


def test_checkpoint_contents_load_with_weights_only(tmp_path):
    G, D = toy_models()
    cfg = dataclasses.replace(CFG, steps=3, checkpoint_path=tmp_path / "sub" / "c.pt")
    train_gan(G, D, ring(), cfg)
    ckpt = load_checkpoint(cfg.checkpoint_path)
    assert {
        "generator",
        "discriminator",
        "opt_g",
        "opt_d",
        "step",
        "history",
        "rng_states",
        "format",
        "kind",
    } <= set(ckpt)
    assert ckpt["step"] == 3 and ckpt["format"] == 2 and ckpt["kind"] == "GAN"
    assert set(ckpt["rng_states"]) == {"noise"}
    assert torch.equal(ckpt["generator"]["net.0.weight"], G.net[0].weight)


def test_save_and_load_checkpoint_round_trip(tmp_path):
    path = save_checkpoint(
        tmp_path / "a.pt",
        model=nn.Linear(2, 2).state_dict(),
        step=3,
        history={"x": [1.0]},
        rng=torch.Generator().get_state(),
        name="run",
        shape=torch.Size([2]),
        nothing=None,
    )
    ckpt = load_checkpoint(path)
    assert ckpt["step"] == 3 and ckpt["history"] == {"x": [1.0]} and ckpt["name"] == "run"


def test_failing_write_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"

    def broken_save(obj, f):
        with open(f, "wb") as fh:
            fh.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint_module.torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, step=1)
    assert list(tmp_path.iterdir()) == []  # no file, no temporary left behind
    monkeypatch.undo()
    save_checkpoint(path, step=1)
    monkeypatch.setattr(checkpoint_module.torch, "save", broken_save)
    with pytest.raises(OSError):
        save_checkpoint(path, step=2)
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1 and list(tmp_path.iterdir()) == [path]


def test_checkpoint_rejects_values_weights_only_cannot_load(tmp_path):
    with pytest.raises(TypeError, match=r"model.*Linear.*state_dict\(\)"):
        save_checkpoint(tmp_path / "c.pt", model=nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"extra\['f'\]\[0\].*plain values"):
        save_checkpoint(tmp_path / "c.pt", extra={"f": [lambda: 0]})
    with pytest.raises(TypeError, match="key"):
        save_checkpoint(tmp_path / "c.pt", extra={(1, 2): 0})
    with pytest.raises(ValueError, match="at least one"):
        save_checkpoint(tmp_path / "c.pt")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")


# ---------------------------------------------------------------------------- does it learn?


RING_CFG = GANTrainConfig(
    steps=3000, batch_size=256, lr_d=1e-3, lr_g=1e-3, betas=(0.5, 0.9), n_fixed=2500, progress=False
)


def test_nonsaturating_gan_covers_the_ring():
    data, centers = ring_of_gaussians(8192, generator=torch.Generator().manual_seed(1000))
    G, D = toy_models(cfg=ToyGANConfig())
    result = train_gan(G, D, data, RING_CFG)
    coverage = count_modes(result.snapshots[-1][1], centers, std=0.02)
    assert coverage.n_covered >= 6, coverage
