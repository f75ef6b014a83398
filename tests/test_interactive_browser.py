"""The interactive figures in a real browser (Selenium + the system Chromium and chromedriver).

Pages are built from the module's output in a temporary folder and opened from file:// and from
a static server on 127.0.0.1. The tests click and drag the latent plane and move the frame
slider, check that the canvas changes, that the pixels the browser decodes equal PyTorch's
within 1e-3, and that the console stays free of errors. Screenshots go to
$AIGC_SCREENSHOTS (default: a temporary folder), never into the repository.
The browser, the server and the probes live in tests/browser_support.py. They skip, saying why, only where no Chromium/chromedriver (or Selenium) is installed.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from browser_support import canvas, check_decode, errors, ready, static_server, torch_pixels

from aigc_course.interactive import frame_player, latent_explorer, reset_page
from aigc_course.models.vae import MLPVAE, VAEConfig

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _fresh_page(monkeypatch):
    monkeypatch.delenv("VSCODE_PID", raising=False)  # the data-file tests need file mode
    monkeypatch.delenv("AIGC_QUICK", raising=False)
    reset_page()
    yield
    reset_page()


@pytest.fixture(scope="module")
def vae() -> MLPVAE:
    torch.manual_seed(0)
    model = MLPVAE(VAEConfig(latent_dim=2, hidden=64)).eval()
    with torch.no_grad():  # a decoder whose images vary visibly across the plane
        model.decoder[0].weight.mul_(3.0)
    return model


def _page(path: Path, *figures) -> Path:
    body = "\n".join(f.html for f in figures)
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'></head><body>{body}"
        "</body></html>",
        encoding="utf-8",
    )
    return path


def test_latent_explorer_click_drag_and_pixels(driver, shots, tmp_path, vae):
    from selenium.webdriver.common.action_chains import ActionChains

    codes = torch.randn(500, 2)
    fig = latent_explorer(
        vae,
        codes,
        torch.arange(500) % 10,
        name="explorer-inline",
        caption="a tiny VAE",
        inline=True,
    )
    driver.get(_page(tmp_path / "page.html", fig).as_uri())
    ready(driver, "explorer-inline")
    for z in ([0.0, 0.0], [1.5, -0.7], [-2.0, 2.5]):
        check_decode(driver, vae, "explorer-inline", z)
    plane = driver.find_element("css selector", "[data-figure='explorer-inline'] .aigc-plane")
    before = canvas(driver, "explorer-inline", ".aigc-image")
    ActionChains(driver).move_to_element_with_offset(plane, 80, -90).click().perform()
    after_click = canvas(driver, "explorer-inline", ".aigc-image")
    assert after_click != before
    state = driver.execute_script(
        "var f = AIGC_FIGURES['explorer-inline'];return [f.z, f.pixels, f.ms]"
    )
    assert state[0][0] > 0 and state[0][1] > 0  # right of and above the centre
    diff = (torch.tensor(state[1]) - torch_pixels(vae, state[0]).double()).abs().max().item()
    assert diff < 1e-3
    assert state[2] < 50  # ms for one decode (5 ms on a laptop; a loaded CI machine is slower)
    (
        ActionChains(driver)
        .move_to_element_with_offset(plane, -100, 100)
        .click_and_hold()
        .move_by_offset(60, -40)
        .move_by_offset(40, -30)
        .release()
        .perform()
    )
    z_drag = driver.execute_script("return AIGC_FIGURES['explorer-inline'].z")
    assert z_drag != state[0] and z_drag[1] < state[0][1]  # ended lower
    assert canvas(driver, "explorer-inline", ".aigc-image") != after_click
    driver.save_screenshot(str(shots / "latent_explorer.png"))
    assert errors(driver) == []


def test_latent_explorer_slice_of_a_larger_latent(driver, tmp_path):
    torch.manual_seed(1)
    model = MLPVAE(VAEConfig(latent_dim=5, hidden=32)).eval()
    base = torch.randn(5)
    fig = latent_explorer(
        model,
        torch.randn(300, 5),
        None,
        name="explorer-slice",
        dims=(3, 1),
        base=base,
        caption="a slice",
        inline=True,
    )
    driver.get(_page(tmp_path / "slice.html", fig).as_uri())
    ready(driver, "explorer-slice")
    z = driver.execute_script("return AIGC_FIGURES['explorer-slice'].latent(0.5, -1.25)")
    expected = base.tolist()
    expected[3], expected[1] = 0.5, -1.25
    assert z == pytest.approx(expected, abs=1e-6)
    check_decode(driver, model, "explorer-slice", z)
    assert errors(driver) == []


@pytest.fixture
def server(tmp_path):
    with static_server(tmp_path) as url:
        yield url


def _book(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "book-root"
    (root / "book").mkdir(parents=True)
    (root / "_config.yml").write_text("title: t\n")
    (root / "_toc.yml").write_text("root: intro\n")
    return root, root / "book"


def test_asset_file_over_http_and_file(driver, shots, tmp_path, server, vae):
    root, page_dir = _book(tmp_path)
    fig = latent_explorer(
        vae,
        torch.randn(200, 2),
        torch.arange(200) % 10,
        name="explorer-asset",
        caption="from a data file",
        page_dir=page_dir,
    )
    assert fig.asset.parent == root / "_static" / "interactive"
    assert "aigc-fallback" in fig.html and '"inline"' not in fig.html
    page = _page(page_dir / "vae.html", fig)
    for url in (f"{server}/book-root/book/vae.html", page.as_uri()):
        driver.get(url)
        ready(driver, "explorer-asset")
        check_decode(driver, vae, "explorer-asset", [0.3, 0.9])
        assert errors(driver) == []
    # the built book's layout: the page elsewhere, the data under the book's _static folder
    html_root = tmp_path / "html"
    (html_root / "_static" / "interactive").mkdir(parents=True)
    (html_root / "chapters").mkdir()
    (html_root / "_static" / "doc.js").write_text("var DOC = 1;\n")
    shutil.copy(fig.asset, html_root / "_static" / "interactive")
    built = html_root / "chapters" / "vae.html"
    built.write_text(
        "<!doctype html><html><head><link rel='icon' href='data:,'><script src='../_static/doc.js'></script>"
        f"</head><body>{fig.html}</body></html>"
    )
    driver.get(f"{server}/html/chapters/vae.html")
    ready(driver, "explorer-asset")
    assert errors(driver) == []


@pytest.mark.parametrize("fault", ["missing", "altered", "truncated"])
def test_missing_or_damaged_asset_shows_a_message(driver, shots, tmp_path, fault, vae):
    root, page_dir = _book(tmp_path)
    fig = latent_explorer(
        vae, torch.randn(50, 2), None, name="explorer-broken", caption="broken", page_dir=page_dir
    )
    text = fig.asset.read_text()
    if fault == "missing":
        fig.asset.unlink()
    elif fault == "altered":
        fig.asset.write_text(text.replace('"out\\":\\"sigmoid', '"out\\":\\"sigmoiX'))
    else:
        fig.asset.write_text(text[: len(text) // 2])
    driver.get(_page(page_dir / "broken.html", fig).as_uri())
    ready(driver, "explorer-broken", state="failed")
    message = driver.find_element("css selector", "[data-figure='explorer-broken'] .aigc-message")
    assert message.is_displayed() and "explorer-broken" in message.text
    assert ("could not be loaded" if fault == "missing" else "damaged") in message.text or (
        fault == "truncated" and "could not be loaded" in message.text
    )
    fallback = driver.find_element("css selector", "[data-figure='explorer-broken'] img")
    assert fallback.is_displayed()
    assert driver.execute_script("return arguments[0].naturalWidth", fallback) > 0
    driver.save_screenshot(str(shots / f"explorer_{fault}.png"))
    driver.get_log("browser")  # the failed load logs an error by design: clear it


def test_frame_player_slider_and_play(driver, shots, tmp_path):
    from selenium.webdriver.common.keys import Keys

    t = torch.linspace(0, 1, 12).view(-1, 1, 1)
    frames = (torch.rand(1, 16, 24) * (1 - t) + t * torch.linspace(0, 1, 24)).clamp(0, 1)
    captions = [f"step {k}" for k in range(12)]
    fig = frame_player(
        frames, captions, name="player", caption="frames", interval_ms=30, inline=True
    )
    driver.get(_page(tmp_path / "player.html", fig).as_uri())
    ready(driver, "player")
    time.sleep(0.2)  # the first PNG decodes asynchronously
    first = canvas(driver, "player", "canvas")
    slider = driver.find_element("css selector", "[data-figure='player'] input[type=range]")
    slider.send_keys(Keys.RIGHT, Keys.RIGHT, Keys.RIGHT)
    assert driver.execute_script("return AIGC_FIGURES.player.index") == 3
    time.sleep(0.2)
    assert canvas(driver, "player", "canvas") != first
    readout = driver.find_element("css selector", "[data-figure='player'] .aigc-readout")
    assert readout.text.startswith("step 3")
    driver.find_element("css selector", "[data-figure='player'] button").click()
    end = time.monotonic() + 10
    while driver.execute_script("return AIGC_FIGURES.player.playing") and time.monotonic() < end:
        time.sleep(0.05)
    assert driver.execute_script("return AIGC_FIGURES.player.index") == 11
    assert readout.text.startswith("step 11")
    driver.save_screenshot(str(shots / "frame_player.png"))
    assert errors(driver) == []


def _mini_book(tmp_path: Path, vae) -> Path:
    """A one-chapter Jupyter Book whose stored outputs are two figures; built, as the book is."""
    nbformat = pytest.importorskip("nbformat")
    if importlib.util.find_spec("jupyter_book") is None:
        pytest.skip("jupyter-book is not installed: the built-book test needs it")
    root = tmp_path / "mini"
    (root / "book").mkdir(parents=True)
    (root / "_static").mkdir()
    (root / "_config.yml").write_text("title: t\nexecute:\n  execute_notebooks: 'off'\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: book/vae\n")
    (root / "intro.md").write_text("# Intro\n")
    figures = [
        latent_explorer(
            vae,
            torch.randn(300, 2),
            torch.arange(300) % 10,
            name="book-explorer",
            caption="explorer",
            page_dir=root / "book",
        ),
        frame_player(
            torch.rand(5, 1, 8, 8),
            [f"step {k}" for k in range(5)],
            name="book-player",
            caption="player",
            page_dir=root / "book",
        ),
    ]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_markdown_cell("# VAE")]
    for k, fig in enumerate(figures):
        cell = nbformat.v4.new_code_cell("figure", execution_count=k + 1)
        cell.outputs = [
            nbformat.v4.new_output("execute_result", fig._repr_mimebundle_(), execution_count=k + 1)
        ]
        nb.cells.append(cell)
    nbformat.write(nb, root / "book" / "vae.ipynb")
    jb = Path(sys.executable).with_name("jupyter-book")
    subprocess.run(
        [str(jb), "build", str(root), "-q"], check=True, capture_output=True, timeout=300
    )
    return root / "_build" / "html"


def test_in_a_built_jupyter_book(driver, shots, tmp_path, server, vae):
    html = _mini_book(tmp_path, vae)
    assert len(list((html / "_static" / "interactive").glob("book-explorer-*.mjs"))) == 1
    assert "interactive/" not in (html / "intro.html").read_text()  # not loaded on every page
    driver.get((html / "intro.html").as_uri())
    theme_errors = {e["message"].split(" ", 1)[1] for e in errors(driver)}  # the theme's own
    for url in ((html / "book" / "vae.html").as_uri(), f"{server}/mini/_build/html/book/vae.html"):
        driver.get(url)
        ready(driver, "book-explorer")
        ready(driver, "book-player")
        check_decode(driver, vae, "book-explorer", [-0.4, 1.1])
        new = [e for e in errors(driver) if e["message"].split(" ", 1)[1] not in theme_errors]
        assert new == []
    driver.save_screenshot(str(shots / "built_book.png"))
