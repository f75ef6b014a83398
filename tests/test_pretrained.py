r"""Tests of the shipped weights: size, SHA-256 check, safe loading, and that they make digits."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from aigc_course import pretrained
from aigc_course.data import ImageData, from_signed, load_mnist
from aigc_course.diffusion import ClassifierFreeGuidance, ddim_sample, flow_sample
from aigc_course.metrics import classifier_features, label_coverage
from aigc_course.models import UNet, UNetConfig
from aigc_course.pretrained import WEIGHTS, WeightsError, load_pretrained, save_pretrained
from aigc_course.train import ClassifierTrainConfig, trained_classifier

ROOT = Path(__file__).resolve().parents[1]


def test_every_shipped_file_is_small_and_matches_its_recorded_hash():
    total = 0
    for name, digest in WEIGHTS.items():
        path = pretrained.WEIGHTS_DIR / f"{name}.pt"
        assert path.is_file(), name
        assert pretrained.sha256_of(path) == digest, name
        total += path.stat().st_size
    assert total <= 5 * 1024 * 1024, total


@pytest.mark.parametrize("name", sorted(WEIGHTS))
def test_each_file_loads_with_its_config_and_training_record(name):
    p = load_pretrained(name)
    assert not p.model.training
    assert all(t.dtype == torch.float32 for t in p.model.state_dict().values())
    for key in ("steps", "seconds", "machine", "data", "torch"):
        assert key in p.meta, key
    if name == "mnist_eps_unet":
        assert p.objective == "eps" and p.schedule.T == 1000
    elif name == "mnist_flow_matching_unet":
        # The file stores the old objective name "flow"; it is read as "flow_matching".
        assert p.objective == "flow_matching" and p.schedule is None
    else:
        assert p.objective is None


def test_a_damaged_file_is_refused_before_unpickling(tmp_path):
    src = pretrained.WEIGHTS_DIR / "mnist_vae.pt"
    bad = tmp_path / "mnist_vae.pt"
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="SHA-256.*damaged or not the shipped one"):
        load_pretrained("mnist_vae", path=bad)


def test_missing_file_and_unknown_name_have_clear_errors(tmp_path):
    with pytest.raises(
        WeightsError, match="missing.*aigc_course.pretrained.train --name mnist_vae"
    ):
        load_pretrained("mnist_vae", path=tmp_path / "nothing.pt")
    with pytest.raises(ValueError, match="name must be one of"):
        load_pretrained("imagenet")


def test_save_then_load_round_trips_a_unet_in_float16(tmp_path):
    torch.manual_seed(0)
    net = UNet(UNetConfig(channels=(8, 8, 8), time_dim=16, n_classes=3))
    path = tmp_path / "mine.pt"
    digest = save_pretrained(path, net, kind="unet", meta={"steps": 1}, objective="flow_matching")
    p = load_pretrained("mnist_flow_matching_unet", path=path, sha256=digest)
    assert p.model.cfg == net.cfg and p.meta == {"steps": 1}
    for (k, a), b in zip(net.state_dict().items(), p.model.state_dict().values(), strict=True):
        assert torch.equal(a.half().float(), b), k
    assert not list(tmp_path.glob(".*tmp"))  # written atomically


def test_the_shipped_flow_matching_file_is_the_renamed_one_and_the_old_name_still_loads():
    # Renamed from mnist_flow_unet.pt with its bytes unchanged: same SHA-256 as before.
    assert WEIGHTS["mnist_flow_matching_unet"] == (
        "724566b3909d5f19b82079f9ae0f0fbe5c6af71a3931e99f91108ef65aa37da4"
    )
    assert "mnist_flow_unet" not in WEIGHTS
    assert not (pretrained.WEIGHTS_DIR / "mnist_flow_unet.pt").exists()
    with pytest.warns(FutureWarning, match="renamed 'mnist_flow_matching_unet'"):
        old = load_pretrained("mnist_flow_unet")
    new = load_pretrained("mnist_flow_matching_unet")
    assert old.objective == new.objective == "flow_matching"
    for a, b in zip(old.model.parameters(), new.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_save_refuses_an_unknown_kind(tmp_path):
    with pytest.raises(ValueError, match="kind must be one of"):
        save_pretrained(tmp_path / "x.pt", UNet(), kind="gan", meta={})


def test_the_training_script_writes_loadable_weights(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("train_weights", ROOT / "tools/train_weights.py")
    tw = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "train_weights", tw)
    spec.loader.exec_module(tw)
    monkeypatch.setattr(tw, "WEIGHTS_DIR", tmp_path)
    cfg = tw.WeightsConfig()
    cfg = replace(
        cfg,
        unet=replace(cfg.unet, channels=(8, 8, 8), time_dim=16),
        diffusion=replace(cfg.diffusion, steps=2, batch_size=8),
    )
    images = torch.randint(0, 256, (16, 28, 28), dtype=torch.uint8)
    train = ImageData(images, torch.arange(16) % 10, source="test", name="MNIST", split="train")
    digest = tw.train_unet("mnist_eps_unet", "eps", cfg, train)
    monkeypatch.setitem(WEIGHTS, "mnist_eps_unet", digest)
    p = load_pretrained("mnist_eps_unet", path=tmp_path / "mnist_eps_unet.pt")
    assert p.meta["steps"] == 2 and p.meta["data"] == "MNIST train, 16 images (source: test)"


# ------------------------------------------------------------------ they make digits


@pytest.fixture(scope="module")
def judge():
    train, test = load_mnist("train", verbose=False), load_mnist("test", verbose=False)
    return trained_classifier(train, test, train_cfg=ClassifierTrainConfig(progress=False))


def _hit_rate(judge, images, labels):
    pred = classifier_features(judge, from_signed(images.clamp(-1, 1))).probs.argmax(1)
    return float((pred == labels).double().mean())


# Sampled as the chapter samples them: classifier-free guidance with w = 1, 20 steps. (Without
# guidance the hit rates measured 0.91-0.95 for the flow model and 0.83-0.89 for DDIM on the eps
# model, too close to 0.9 for a test.)


def test_the_flow_matching_unet_draws_the_requested_digit(judge):
    model = ClassifierFreeGuidance(load_pretrained("mnist_flow_matching_unet").model, 1.0)
    labels = torch.arange(100) % 10
    x = flow_sample(
        model, (100, 1, 28, 28), steps=20, labels=labels, generator=torch.Generator().manual_seed(0)
    )
    assert _hit_rate(judge, x, labels) >= 0.9


def test_the_eps_unet_draws_the_requested_digit(judge):
    p = load_pretrained("mnist_eps_unet")
    labels = torch.arange(100) % 10
    x = ddim_sample(
        ClassifierFreeGuidance(p.model, 1.0),
        (100, 1, 28, 28),
        p.schedule,
        steps=20,
        labels=labels,
        generator=torch.Generator().manual_seed(0),
        clip_x0=1.0,
    )
    assert _hit_rate(judge, x, labels) >= 0.9


def test_the_vae_prior_samples_cover_the_digits(judge):
    vae = load_pretrained("mnist_vae").model
    images = vae.sample(300, generator=torch.Generator().manual_seed(0))
    probs = classifier_features(judge, images).probs
    assert label_coverage(probs).n_covered >= 9


def test_weights_live_in_the_package_and_are_shipped_by_setuptools():
    text = (ROOT / "pyproject.toml").read_text()
    assert '"aigc_course.pretrained" = ["*.pt"]' in text
    assert "!aigc_course/pretrained/*.pt" in (ROOT / ".gitignore").read_text()
