r"""Bad inputs and faults of the pretrained weights: every [pretrained] case of the second
reliability review (round2-reliability.md, section 8) and the faults around them.

Each case states the error the caller must get (type and the words that name the argument or
the fix) and, for ``save_pretrained``, that nothing was written under any name.
"""

from __future__ import annotations

import io
import os
import pickle
import shutil

import pytest
import torch
from torch import nn

import aigc_course.pretrained as pretrained
from aigc_course.models import MLPVAE, UNet, UNetConfig, VAEConfig
from aigc_course.pretrained import WEIGHTS, WeightsError, load_pretrained, save_pretrained


def _unet() -> UNet:
    torch.manual_seed(0)
    return UNet(UNetConfig(channels=(8, 8, 8), time_dim=16, n_classes=3))


def _vae() -> MLPVAE:
    torch.manual_seed(0)
    return MLPVAE(VAEConfig())


EPS = {"objective": "eps", "schedule": {"name": "linear", "T": 10}}

# (case, model factory, keyword arguments, error type, message pattern)
SAVE_CASES = [
    ("meta holds an object", _unet, {**EPS, "meta": {"x": object()}}, TypeError, "meta.*'x'"),
    ("meta holds a function", _vae, {"meta": {"f": print}}, TypeError, "meta.*weights_only"),
    ("meta=None", _unet, {**EPS, "meta": None}, TypeError, "meta must be a dict"),
    ("meta a list", _vae, {"meta": [("steps", 1)]}, TypeError, "meta must be a dict"),
    ("kind='unet' of an MLPVAE", _vae, {**EPS, "kind": "unet"}, TypeError, "model must be a UNet"),
    ("kind='mlp_vae' of a UNet", _unet, {"kind": "mlp_vae"}, TypeError, "must be a MLPVAE"),
    ("unknown kind", _unet, {**EPS, "kind": "gan"}, ValueError, "kind must be one of"),
    ("objective='v'", _unet, {"objective": "v"}, ValueError, "objective must be one of"),
    ("UNet without objective", _unet, {}, ValueError, "objective must be one of"),
    ("VAE with an objective", _vae, {"objective": "eps"}, ValueError, "objective must be"),
    ("eps without schedule", _unet, {"objective": "eps"}, ValueError, "schedule must be"),
    (
        "eps with an unknown schedule",
        _unet,
        {"objective": "eps", "schedule": {"name": "cos", "T": 10}},
        ValueError,
        "schedule must be",
    ),
    (
        "flow matching with a schedule",
        _unet,
        {"objective": "flow_matching", "schedule": {"name": "linear", "T": 10}},
        ValueError,
        "schedule is only for",
    ),
    ("model without .cfg", lambda: nn.Linear(2, 2), {**EPS}, TypeError, "model.*no .cfg"),
    ("model not a module", lambda: "unet", {**EPS}, TypeError, "model must be a UNet"),
]


@pytest.mark.parametrize(
    ("make", "kwargs", "error", "match"),
    [case[1:] for case in SAVE_CASES],
    ids=[case[0] for case in SAVE_CASES],
)
def test_save_refuses_what_it_cannot_load_back_and_writes_nothing(
    tmp_path, make, kwargs, error, match
):
    args = {"kind": "mlp_vae" if make is _vae else "unet", "meta": {"steps": 1}, **kwargs}
    with pytest.raises(error, match=match):
        save_pretrained(tmp_path / "w.pt", make(), **args)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", [123, None, "", ["w.pt"]])
def test_save_refuses_a_path_that_is_not_path_like(path):
    with pytest.raises(TypeError, match="path must be"):
        save_pretrained(path, _vae(), kind="mlp_vae", meta={})


def test_save_into_a_folder_names_it(tmp_path):
    with pytest.raises(IsADirectoryError, match="it is a folder"):
        save_pretrained(tmp_path, _vae(), kind="mlp_vae", meta={})


def test_every_value_save_accepts_loads_back(tmp_path, monkeypatch):
    meta = {"steps": 2, "loss": 0.5, "ok": True, "none": None, "t": torch.ones(2), "l": [1, "a"]}
    digest = save_pretrained(tmp_path / "w.pt", _vae(), kind="mlp_vae", meta=meta)
    p = load_pretrained("mnist_vae", path=tmp_path / "w.pt", sha256=digest)
    assert p.meta["l"] == [1, "a"] and torch.equal(p.meta["t"], torch.ones(2))


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "w.pt"
    good = save_pretrained(path, _vae(), kind="mlp_vae", meta={"run": 1})
    real_save = torch.save

    def half_then_crash(obj, f, *a, **k):
        if isinstance(f, io.BytesIO):  # the in-memory round trip of the checks
            return real_save(obj, f, *a, **k)
        with open(f, "wb") as out:
            out.write(b"PK\x03\x04 half a zip")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", half_then_crash)
    with pytest.raises(OSError, match="No space left"):
        save_pretrained(path, _vae(), kind="mlp_vae", meta={"run": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["w.pt"]
    assert pretrained.sha256_of(path) == good


def test_save_warns_about_the_old_objective_name_and_stores_the_new_one(tmp_path):
    with pytest.warns(FutureWarning, match="flow_matching"):
        digest = save_pretrained(tmp_path / "w.pt", _unet(), kind="unet", meta={}, objective="flow")
    payload = torch.load(tmp_path / "w.pt", weights_only=True)
    assert payload["objective"] == "flow_matching"
    # A 3-class toy UNet is not the shipped architecture but is a UNet with that objective.
    p = load_pretrained("mnist_flow_matching_unet", path=tmp_path / "w.pt", sha256=digest)
    assert p.objective == "flow_matching" and p.model.cfg.n_classes == 3


# ------------------------------------------------------------------------------ loading


@pytest.mark.parametrize(
    "name", [["mnist_vae"], ("mnist_vae",), {"mnist_vae": 1}, None, 5, b"mnist_vae", "MNIST_VAE"]
)
def test_a_bad_name_is_a_value_error_listing_the_names(name):
    with pytest.raises(ValueError, match=r"name must be one of \['mnist_eps_unet', 'mnist_flow"):
        load_pretrained(name)


@pytest.mark.parametrize("path", [123, 1.5, ["a.pt"], b"", ""])
def test_a_path_that_is_not_path_like_is_a_type_error_naming_path(path):
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        load_pretrained("mnist_vae", path=path)


@pytest.mark.parametrize(
    ("sha256", "match"),
    [
        (123, "sha256 must be the 64 hex digits"),
        ("abc", "sha256 must be the 64 hex digits"),
        ("g" * 64, "sha256 must be the 64 hex digits"),
    ],
)
def test_a_malformed_sha256_names_the_argument(tmp_path, sha256, match):
    with pytest.raises(ValueError, match=match):
        load_pretrained("mnist_vae", path=tmp_path / "x.pt", sha256=sha256)


def test_sha256_without_path_says_to_pass_the_path():
    with pytest.raises(ValueError, match="pass its path too"):
        load_pretrained("mnist_vae", sha256=WEIGHTS["mnist_vae"])


def test_a_folder_is_named_as_a_folder(tmp_path):
    with pytest.raises(WeightsError, match="is a folder, not a weights file"):
        load_pretrained("mnist_vae", path=tmp_path)


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads files of mode 000"
)
def test_an_unreadable_file_is_a_weights_error_about_permissions(tmp_path):
    locked = tmp_path / "locked.pt"
    shutil.copy(pretrained.WEIGHTS_DIR / "mnist_vae.pt", locked)
    locked.chmod(0)
    try:
        with pytest.raises(WeightsError, match="cannot read.*Permission denied.*permissions"):
            load_pretrained("mnist_vae", path=locked)
    finally:
        locked.chmod(0o600)


def test_an_unreadable_file_is_a_weights_error_also_for_root(tmp_path, monkeypatch):
    locked = tmp_path / "locked.pt"
    shutil.copy(pretrained.WEIGHTS_DIR / "mnist_vae.pt", locked)

    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pretrained, "open", refuse, raising=False)
    with pytest.raises(WeightsError, match=r"cannot read.*locked\.pt.*Permission denied"):
        load_pretrained("mnist_vae", path=locked)


def _own_file(tmp_path, data: bytes):
    path = tmp_path / "mine.pt"
    path.write_bytes(data)
    return path, pretrained.sha256_of(path)


def _shipped_vae() -> bytes:
    return (pretrained.WEIGHTS_DIR / "mnist_vae.pt").read_bytes()


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize(
    ("case", "data"),
    [
        ("truncated", lambda: _shipped_vae()[: len(_shipped_vae()) // 2]),
        ("empty", lambda: b""),
        ("garbage", lambda: b"not a zip file at all" * 10),
        ("pickle payload", lambda: pickle.dumps(_Payload())),
        ("torch.save payload", lambda: _torch_bytes(_Payload())),
        ("a list of tensors", lambda: _torch_bytes([torch.ones(2)])),
        ("a dict, not format 1", lambda: _torch_bytes({"weights": torch.ones(2)})),
        (
            "wrong config",
            lambda: _torch_bytes(
                {"format": 1, "kind": "mlp_vae", "config": {"bogus": 1}, "state_dict": {}}
            ),
        ),
    ],
)
def test_a_damaged_or_foreign_file_with_its_own_hash_is_a_weights_error(
    tmp_path, monkeypatch, case, data
):
    monkeypatch.chdir(tmp_path)
    path, digest = _own_file(tmp_path, data())
    with pytest.raises(WeightsError, match=r"mine\.pt"):
        load_pretrained("mnist_vae", path=path, sha256=digest)
    assert not (tmp_path / "pwned").exists()


def _torch_bytes(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def test_a_damaged_shipped_copy_says_how_to_pass_your_own_hash(tmp_path):
    data = bytearray(_shipped_vae())
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "mnist_vae.pt"
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"damaged or not the shipped one.*sha256="):
        load_pretrained("mnist_vae", path=path)


def test_a_damaged_installed_file_says_reinstall_or_retrain(tmp_path, monkeypatch):
    data = bytearray(_shipped_vae())
    data[-1] ^= 0x01
    (tmp_path / "mnist_vae.pt").write_bytes(bytes(data))
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(WeightsError) as info:
        load_pretrained("mnist_vae")
    message = str(info.value)
    assert "pip install --force-reinstall aigc_course" in message
    assert "python -m aigc_course.pretrained.train --name mnist_vae" in message
    assert "If it is your own" not in message


def test_a_wrong_hash_for_your_own_file_is_refused(tmp_path):
    path, digest = _own_file(tmp_path, _shipped_vae())
    other = ("0" if digest[0] != "0" else "1") + digest[1:]
    with pytest.raises(WeightsError, match="not the .* you passed"):
        load_pretrained("mnist_vae", path=path, sha256=other)
    # Upper case and surrounding spaces in a pasted hash are fine.
    assert load_pretrained("mnist_vae", path=path, sha256=f" {digest.upper()} ").objective is None


@pytest.mark.parametrize(
    ("shipped", "as_name"),
    [
        ("mnist_vae", "mnist_eps_unet"),
        ("mnist_eps_unet", "mnist_flow_matching_unet"),
        ("mnist_flow_matching_unet", "mnist_vae"),
    ],
)
def test_a_file_loaded_under_the_wrong_name_is_refused(shipped, as_name):
    path = pretrained.WEIGHTS_DIR / f"{shipped}.pt"
    with pytest.raises(WeightsError, match=f"but '{as_name}' is a"):
        load_pretrained(as_name, path=path, sha256=WEIGHTS[shipped])
