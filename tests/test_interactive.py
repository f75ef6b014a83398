"""aigc_course.interactive without a browser: data files, checksums, limits, errors, layers."""

from __future__ import annotations

import base64
import io
import json
import re
import sys
import types
from importlib import resources

import numpy as np
import pytest
import torch
from torch import nn

from aigc_course.interactive import (
    PAGE_LIMIT_BYTES,
    InteractiveFigureError,
    decoder_layers,
    figure_frame,
    frame_player,
    latent_explorer,
    make_figure,
    page_bytes,
    reset_page,
)
from aigc_course.interactive.assets import b64_array, find_book_root, fnv1a32, png_base64
from aigc_course.models.vae import MLPVAE, ConvVAE, VAEConfig

pytestmark = pytest.mark.usefixtures("one_thread")

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(autouse=True)
def _fresh_page():
    reset_page()
    yield
    reset_page()


@pytest.fixture
def book(tmp_path, monkeypatch):
    monkeypatch.delenv("VSCODE_PID", raising=False)  # a terminal of VS Code: still a book here
    monkeypatch.delenv("AIGC_QUICK", raising=False)
    (tmp_path / "_config.yml").write_text("title: t\n")
    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "book").mkdir()
    return tmp_path


def _stored_text(asset) -> str:
    """The payload string an asset file stores (the JS string literal is a JSON string)."""
    match = re.search(r"\] = (\".*\");\n$", asset.read_text())
    return json.loads(match.group(1))


def _spec(html: str) -> dict:
    return json.loads(
        re.search(r"mount\(\"[^\"]+\", (\{.*\})\);", html).group(1).replace("<\\/", "</")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0x811C9DC5), ("a", 0xE40C292C), ("foobar", 0xBF9CF968)],  # the FNV reference vectors
)
def test_fnv1a32_reference_values(text, expected):
    assert fnv1a32(text) == expected


def test_b64_array_is_little_endian_float32():
    values = np.array([[1.5, -2.0], [3.25, 0.0]])
    raw = base64.b64decode(b64_array(values, "float32"))
    np.testing.assert_array_equal(np.frombuffer(raw, "<f4").reshape(2, 2), values)


def test_png_base64_round_trips_uint8():
    from PIL import Image

    image = np.arange(12 * 7, dtype=np.uint8).reshape(12, 7)
    decoded = np.asarray(Image.open(io.BytesIO(base64.b64decode(png_base64(image)))))
    np.testing.assert_array_equal(decoded, image)
    with pytest.raises(ValueError, match="expected an image"):
        png_base64(np.zeros((2, 3, 5)))


def test_runtime_is_package_data():
    assert (resources.files("aigc_course.interactive") / "figures.js").is_file()


def test_find_book_root(book):
    assert find_book_root(book / "book") == book.resolve()
    assert find_book_root(book.parent) is None


def test_asset_file_written_atomically_with_matching_checksum(book):
    payload = {"x": [1, 2, 3], "s": "</script>"}
    fig = make_figure(
        "demo-fig", "frame_player", payload, PNG, caption="c <b>", page_dir=book / "book"
    )
    text = _stored_text(fig.asset)
    assert fig.asset == book / "_static" / "interactive" / f"demo-fig-{fnv1a32(text):08x}.mjs"
    assert [p.name for p in fig.asset.parent.iterdir()] == [fig.asset.name]  # no temp files
    assert json.loads(text) == payload
    spec = _spec(fig.html)
    assert spec["src"] == f"../_static/interactive/{fig.asset.name}"
    assert spec["length"] == len(text) and spec["hash"] == fnv1a32(text)
    assert "inline" not in spec and "</script>" not in fig.html.split("<script>")[1][:-10]
    assert "c &lt;b&gt;" in fig.html
    bundle = fig._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == PNG and bundle["text/html"] == fig.html
    assert bundle["text/plain"] == repr(fig) and len(repr(fig)) < 200


def test_inline_outside_a_book(tmp_path):
    fig = make_figure("demo", "frame_player", {"a": 1}, PNG, caption="c", page_dir=tmp_path)
    assert fig.asset is None and _spec(fig.html)["inline"] == '{"a":1}'
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InteractiveFigureError, match="'demo'.*needs a Jupyter Book root"):
        make_figure("demo", "frame_player", {}, PNG, caption="c", inline=False, page_dir=tmp_path)


def test_new_data_replaces_the_older_file_of_the_same_figure(book):
    first = make_figure("f", "frame_player", {"v": 1}, PNG, caption="c", page_dir=book / "book")
    other = make_figure("f-2", "frame_player", {"v": 1}, PNG, caption="c", page_dir=book / "book")
    again = make_figure("f", "frame_player", {"v": 1}, PNG, caption="c", page_dir=book / "book")
    assert again.asset == first.asset and first.asset.is_file()
    second = make_figure("f", "frame_player", {"v": 2}, PNG, caption="c", page_dir=book / "book")
    assert second.asset != first.asset and not first.asset.exists()
    assert sorted(p.name for p in book.joinpath("_static", "interactive").iterdir()) == sorted(
        [second.asset.name, other.asset.name]
    )


def test_quick_mode_leaves_the_book_alone(book, monkeypatch):
    monkeypatch.setenv("AIGC_QUICK", "1")
    fig = make_figure("demo", "frame_player", {"a": 1}, PNG, caption="c", page_dir=book / "book")
    assert fig.asset is None and not (book / "_static").exists()


def test_inline_in_colab_even_inside_a_book(book, monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    fig = make_figure("demo", "frame_player", {"a": 1}, PNG, caption="c", page_dir=book / "book")
    assert fig.asset is None and "inline" in _spec(fig.html)


def test_unwritable_folder_names_the_figure(book):
    (book / "_static").write_text("a file where the folder should be")
    with pytest.raises(InteractiveFigureError, match="'vae-explorer'.*cannot write"):
        make_figure("vae-explorer", "frame_player", {}, PNG, caption="c", page_dir=book / "book")


def test_failed_write_keeps_the_old_file(book, monkeypatch):
    fig = make_figure("keep", "frame_player", {"v": 1}, PNG, caption="c", page_dir=book / "book")
    before = fig.asset.read_text()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pathlib.Path.write_text", boom)
    with pytest.raises(InteractiveFigureError, match="'keep'"):
        make_figure("keep", "frame_player", {"v": 2}, PNG, caption="c", page_dir=book / "book")
    monkeypatch.undo()
    assert fig.asset.read_text() == before
    assert [p.name for p in fig.asset.parent.iterdir()] == [fig.asset.name]


def test_page_limit(tmp_path):
    big = {"x": "a" * (PAGE_LIMIT_BYTES // 2)}
    make_figure("one", "frame_player", big, PNG, caption="c", page_dir=tmp_path)
    make_figure("one", "frame_player", big, PNG, caption="c", page_dir=tmp_path)  # a re-run
    assert PAGE_LIMIT_BYTES // 2 < page_bytes() < PAGE_LIMIT_BYTES
    with pytest.raises(InteractiveFigureError, match="'two'.*over the limit of 2,000,000"):
        make_figure("two", "frame_player", big, PNG, caption="c", page_dir=tmp_path)
    reset_page()
    with pytest.raises(InteractiveFigureError, match="'huge'"):
        make_figure("huge", "frame_player", {"x": "a" * PAGE_LIMIT_BYTES}, PNG, caption="c")


@pytest.mark.parametrize(("name", "kind"), [("Bad Name", "frame_player"), ("ok", "movie")])
def test_bad_name_or_kind(name, kind, tmp_path):
    with pytest.raises(ValueError, match="name must|kind must"):
        make_figure(name, kind, {}, PNG, caption="c", page_dir=tmp_path)


def _numpy_forward(layers, z):
    """Independent oracle: the layers the browser gets, run in NumPy float64."""
    x = np.asarray(z, dtype=np.float64)
    for layer in layers:
        w = np.frombuffer(base64.b64decode(layer["w"]), "<f4").reshape(layer["rows"], layer["cols"])
        b = np.frombuffer(base64.b64decode(layer["b"]), "<f4")
        x = w @ x + b
        if layer["act"] == "relu":
            x = np.maximum(x, 0)
        elif layer["act"] == "leaky_relu":
            x = np.where(x > 0, x, layer["slope"] * x)
        elif layer["act"] == "tanh":
            x = np.tanh(x)
    return x


def test_decoder_layers_match_pytorch():
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Linear(3, 16), nn.LeakyReLU(0.2), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 5)
    )
    z = torch.randn(3)
    with torch.no_grad():
        expected = net(z).double().numpy()
    np.testing.assert_allclose(_numpy_forward(decoder_layers(net), z.numpy()), expected, atol=1e-5)


@pytest.mark.parametrize(
    "bad",
    [
        nn.Linear(2, 3),
        nn.Sequential(nn.ReLU()),
        nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.ReLU()),
    ],
)
def test_decoder_layers_refuse_what_the_browser_cannot_run(bad):
    with pytest.raises(TypeError):
        decoder_layers(bad)


def test_latent_explorer_payload(tmp_path):
    torch.manual_seed(0)
    vae = MLPVAE(VAEConfig(latent_dim=4, hidden=16)).eval()
    codes, labels = torch.randn(40, 4), torch.arange(40) % 10
    base = torch.tensor([0.1, 0.2, 0.3, 0.4])
    fig = latent_explorer(
        vae, codes.numpy(), labels.numpy(), name="ex", dims=(2, 0), base=base, page_dir=tmp_path
    )
    data = json.loads(_spec(fig.html)["inline"])
    assert data["dims"] == [2, 0] and data["base"] == pytest.approx(base.tolist())
    assert data["start"] == pytest.approx([0.3, 0.1]) and data["n_codes"] == 40
    points = np.frombuffer(base64.b64decode(data["codes"]), "<f4").reshape(40, 2)
    np.testing.assert_array_equal(points, codes[:, [2, 0]].numpy())
    with torch.no_grad():
        expected = torch.sigmoid(vae.decode(base[None])).flatten().double().numpy()
    got = 1 / (1 + np.exp(-_numpy_forward(data["layers"], base.numpy())))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert fig.png.startswith(b"\x89PNG")


def test_latent_explorer_bad_input(tmp_path):
    vae = MLPVAE(VAEConfig(latent_dim=2, hidden=8))
    with pytest.raises(ValueError, match=r"codes must be \(N, 2\)"):
        latent_explorer(vae, torch.randn(5, 3), page_dir=tmp_path)
    with pytest.raises(ValueError, match="labels must be"):
        latent_explorer(vae, torch.randn(5, 2), torch.arange(4), page_dir=tmp_path)
    with pytest.raises(ValueError, match="two different coordinates"):
        latent_explorer(vae, torch.randn(5, 2), dims=(1, 1), page_dir=tmp_path)
    with pytest.raises(ValueError, match="output must be one of"):
        latent_explorer(vae, torch.randn(5, 2), output="softmax", page_dir=tmp_path)
    with pytest.raises(TypeError, match="browser runs Linear layers"):
        latent_explorer(ConvVAE(VAEConfig(latent_dim=2)), torch.randn(5, 2), page_dir=tmp_path)
    with pytest.raises(ValueError, match="image_shape"):
        latent_explorer(vae.decoder, torch.randn(5, 2), page_dir=tmp_path)


def test_frame_player_payload(tmp_path):
    from PIL import Image

    frames = torch.rand(3, 1, 6, 5)
    fig = frame_player(frames, ["a", "b", "c"], name="pl", caption="c", page_dir=tmp_path)
    data = json.loads(_spec(fig.html)["inline"])
    assert (data["width"], data["height"], data["captions"]) == (5, 6, ["a", "b", "c"])
    second = np.asarray(Image.open(io.BytesIO(base64.b64decode(data["frames"][1]))))
    expected = np.rint(frames[1, 0].double().numpy() * 255).astype(np.uint8)
    np.testing.assert_array_equal(second, expected)
    with pytest.raises(ValueError, match="3 frames but 2 captions"):
        frame_player(frames, ["a", "b"], name="pl", caption="c", page_dir=tmp_path)
    with pytest.raises(ValueError, match="frames must be"):
        frame_player(torch.rand(3, 2, 6, 5), list("abc"), name="pl", caption="c", page_dir=tmp_path)
    with pytest.raises(TypeError, match="loop must be True or False"):
        frame_player(frames, list("abc"), name="pl", caption="c", loop=1, page_dir=tmp_path)


def test_figure_frame_renders_rgb():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1), facecolor=(1.0, 0.0, 0.0))
    frame = figure_frame(fig, dpi=50)
    assert frame.shape == (50, 100, 3) and frame.dtype == np.uint8
    assert (frame == np.array([255, 0, 0], dtype=np.uint8)).all()
