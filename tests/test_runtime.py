r"""Tests of aigc_course.runtime: seeding, device choice, quick mode and atomic writes."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from aigc_course import runtime
from aigc_course.runtime import QUICK_ENV, atomic_write, get_device, quick_mode, seed_everything


def _draw_all() -> tuple[float, np.ndarray, torch.Tensor]:
    return random.random(), np.random.rand(3), torch.rand(3)


# ------------------------------------------------------------------ seed_everything


def test_seed_everything_reproduces_python_numpy_and_torch_streams():
    seed_everything(123)
    a = _draw_all()
    seed_everything(123)
    b = _draw_all()
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])
    assert torch.equal(a[2], b[2])


def test_seed_everything_seeds_each_library_with_the_given_seed():
    # Oracle: seeding each library directly with the same seed gives the same first draws.
    seed_everything(7)
    py, npv, tv = _draw_all()
    assert py == random.Random(7).random()
    np.testing.assert_array_equal(npv, np.random.RandomState(7).rand(3))
    assert torch.equal(tv, torch.rand(3, generator=torch.Generator().manual_seed(7)))


def test_seed_everything_different_seeds_give_different_streams():
    seed_everything(1)
    a = _draw_all()
    seed_everything(2)
    b = _draw_all()
    assert a[0] != b[0]
    assert not np.array_equal(a[1], b[1])
    assert not torch.equal(a[2], b[2])


def test_seed_everything_returns_a_fresh_generator_seeded_with_seed():
    g = seed_everything(5)
    assert isinstance(g, torch.Generator)
    assert g.initial_seed() == 5
    expected = torch.rand(4, generator=torch.Generator().manual_seed(5))
    # Drawing from the global stream must not advance the returned generator (it is independent).
    torch.rand(10)
    assert torch.equal(torch.rand(4, generator=g), expected)
    g2 = seed_everything(5)
    assert g2 is not g


def test_seed_everything_accepts_large_seed_numpy_reduced_mod_2_32():
    seed = 2**40 + 3
    g = seed_everything(seed)
    assert g.initial_seed() == seed
    np.testing.assert_array_equal(np.random.rand(2), np.random.RandomState(seed % 2**32).rand(2))
    seed_everything(0)  # zero is a valid seed
    seed_everything(2**64 - 1)  # the largest seed torch accepts


@pytest.mark.parametrize("bad", [-1, 1.5, 3.0, "3", None, True, False, 2**64])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(
        (TypeError, ValueError), match="seed must be (an int >= 0|a non-negative int)"
    ):
        seed_everything(bad)


def test_seed_everything_takes_a_numpy_integer():
    a = seed_everything(np.int64(3)).initial_seed()
    assert a == seed_everything(3).initial_seed() == 3


# ------------------------------------------------------------------ get_device


def test_get_device_default_is_cpu_without_accelerators(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")


def test_get_device_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_device() == torch.device("mps")


def test_get_device_on_this_machine_is_cpu():
    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("this machine has an accelerator")
    dev = get_device()
    assert isinstance(dev, torch.device) and dev.type == "cpu"


def test_get_device_prefer_cpu_always_works(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("prefer", ["cuda", "cuda:0", "mps"])
def test_get_device_prefer_unavailable_raises(monkeypatch, prefer):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(
        RuntimeError, match=rf"device '{prefer}' was requested but is not available"
    ):
        get_device(prefer)


def test_get_device_prefer_available_cuda_returned_as_is(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device("cuda:1") == torch.device("cuda:1")


def test_get_device_prefer_unknown_type_raises(monkeypatch):
    # A valid torch device type that the function does not know is treated as unavailable.
    with pytest.raises(RuntimeError, match="not available"):
        get_device("meta")


# ------------------------------------------------------------------ quick_mode


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "Yes", " on ", "yes\n"])
def test_quick_mode_on(monkeypatch, value):
    monkeypatch.setenv(QUICK_ENV, value)
    assert quick_mode() is True


@pytest.mark.parametrize("value", ["", "0", "false", "False", "no", "OFF", "  "])
def test_quick_mode_off(monkeypatch, value):
    monkeypatch.setenv(QUICK_ENV, value)
    assert quick_mode() is False


def test_quick_mode_unset_is_off(monkeypatch):
    monkeypatch.delenv(QUICK_ENV, raising=False)
    assert quick_mode() is False


@pytest.mark.parametrize("value", ["2", "maybe", "y", "tru"])
def test_quick_mode_garbage_raises(monkeypatch, value):
    monkeypatch.setenv(QUICK_ENV, value)
    with pytest.raises(ValueError, match=rf"AIGC_QUICK='{value}' is not understood"):
        quick_mode()


def test_quick_env_name():
    assert QUICK_ENV == "AIGC_QUICK"
    assert runtime.QUICK_ENV is QUICK_ENV


# ------------------------------------------------------------------ atomic_write


def test_atomic_write_success_renames_onto_target(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with atomic_write(target) as tmp:
        assert tmp != target
        assert tmp.parent == target.parent  # same folder, so the rename is atomic
        tmp.write_text("new")
        # While the block runs, readers still see the old file.
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_atomic_write_creates_missing_parent_folders(tmp_path):
    target = tmp_path / "a" / "b" / "c.bin"
    with atomic_write(str(target)) as tmp:
        tmp.write_bytes(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert os.listdir(target.parent) == ["c.bin"]


def test_atomic_write_exception_leaves_original_untouched(tmp_path):
    target = tmp_path / "ckpt.pt"
    target.write_text("original")
    with pytest.raises(KeyError, match="boom"), atomic_write(target) as tmp:
        tmp.write_text("half-written")
        raise KeyError("boom")
    assert target.read_text() == "original"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt.pt"]


def test_atomic_write_exception_without_original_creates_nothing(tmp_path):
    target = tmp_path / "new.txt"
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("x")
        raise RuntimeError("fail")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_works_with_torch_save(tmp_path):
    target = tmp_path / "t.pt"
    with atomic_write(target) as tmp:
        torch.save({"x": torch.arange(3)}, tmp)
    assert torch.equal(torch.load(target)["x"], torch.arange(3))
    assert list(tmp_path.iterdir()) == [target]


def test_atomic_write_gives_the_file_the_usual_permissions(tmp_path):
    import os
    import stat

    from aigc_course.runtime import atomic_write

    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "f.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o644


def test_eval_mode_restores_the_previous_mode_even_after_an_error():
    import pytest
    import torch

    from aigc_course.runtime import eval_mode

    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout(0.5))
    for start in (True, False):
        net.train(start)
        with eval_mode(net) as inside:
            assert inside is net and not net.training and not net[1].training
        assert net.training is start and net[1].training is start
        with pytest.raises(RuntimeError), eval_mode(net):
            raise RuntimeError("sampling failed")
        assert net.training is start
