"""The built book's own pages in a real browser (Selenium + the system Chromium and chromedriver).

$AIGC_BUILT_BOOK names the built HTML folder (``_build/html``; tools/test.sh sets it after the
book build). It is served from 127.0.0.1 and, for the English VAE, GAN and diffusion chapters
and the Chinese VAE chapter, every interactive figure is loaded and used: the latent plane is
clicked, a frame slider moved and the play button pressed. Each test checks that the canvas
pixels change, that the VAE explorer decodes exactly as PyTorch does with the decoder the book
ships (its weights read back from the figure's data file) within 1e-3, that the console logs
no error, and that the page's interactive data stays within the 2 MB page limit. A screenshot
of each figure after use goes to $AIGC_SCREENSHOTS (default /tmp/aigc-screenshots).

Without $AIGC_BUILT_BOOK, or without Chromium, chromedriver or Selenium, the tests skip and
say why. Chromium resolves only 127.0.0.1, so the CDN scripts the theme links (MathJax,
require.js) fail to load; those failures, and only those, are not counted as errors.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import torch
from browser_support import canvas, check_decode, errors, ready, static_server, torch_pixels
from torch import nn

from aigc_course.interactive import PAGE_LIMIT_BYTES

pytestmark = pytest.mark.usefixtures("one_thread")

PAGES = {  # page -> the interactive figures it must show
    "book/vae.html": ("vae-latent-explorer",),
    "book/gan.html": ("gan-ring-replay",),
    "book/diffusion.html": ("diffusion-stepper", "diffusion-guidance"),
    "zh/book/vae.html": ("vae-latent-explorer",),
}
KNOWN_THEME_ERRORS = (
    # pydata-sphinx-theme logs this with console.error on a fresh profile's first page (no
    # light/dark choice stored yet), then stores "auto": the theme's behaviour, not a fault.
    "Got invalid theme mode: . Resetting to auto.",
)
ACTS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


@pytest.fixture(scope="module")
def built_book() -> Path:
    value = os.environ.get("AIGC_BUILT_BOOK")
    if not value:
        pytest.skip("AIGC_BUILT_BOOK is not set: point it at a built book (_build/html)")
    folder = Path(value)
    if not (folder / "book").is_dir():
        pytest.skip(f"AIGC_BUILT_BOOK={value} is not a built book (no book/ folder in it)")
    return folder


@pytest.fixture(scope="module")
def site(built_book, driver) -> str:  # no browser, no book: skipped before a server starts
    with static_server(built_book) as url:
        yield url


@pytest.fixture(scope="module")
def book_shots() -> Path:
    folder = Path(os.environ.get("AIGC_SCREENSHOTS") or "/tmp/aigc-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class ShippedDecoder:
    """The decoder a latent explorer ships, rebuilt in PyTorch from its data file's weights."""

    def __init__(self, payload: dict):
        modules: list[nn.Module] = []
        for layer in payload["layers"]:
            linear = nn.Linear(layer["cols"], layer["rows"])
            with torch.no_grad():
                linear.weight.copy_(_floats(layer["w"]).view(layer["rows"], layer["cols"]))
                linear.bias.copy_(_floats(layer["b"]))
            modules.append(linear)
            if layer["act"] == "leaky_relu":
                modules.append(nn.LeakyReLU(layer["slope"]))
            elif layer["act"] != "none":
                modules.append(ACTS[layer["act"]]())
        self.net = nn.Sequential(*modules).eval()
        self.output = payload["out"]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def _floats(b64: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(b64)), dtype=torch.float32)


def _payload(html_root: Path, page: Path, name: str) -> dict:
    """The JSON payload of figure ``name`` on ``page``: from its data file, or inline."""
    spec_json = re.search(
        r"AIGC_INTERACTIVE\.mount\(\"[^\"]+\", (\{\"name\": \"" + re.escape(name) + r"\".*?\})\);",
        page.read_text(encoding="utf-8"),
    )
    assert spec_json, f"{page.name}: no mount call for figure {name}"
    spec = json.loads(spec_json.group(1))
    if "inline" in spec:
        return json.loads(spec["inline"])
    text = (html_root / "_static" / "interactive" / Path(spec["src"]).name).read_text("ascii")
    return json.loads(json.loads(text.strip().splitlines()[-1].split("] = ", 1)[1].rstrip(";")))


def _offline(entry: dict) -> bool:
    """A failed load of an off-machine resource (the theme's CDN scripts, unreachable here)."""
    url = entry["message"].split(" ", 1)[0]
    return "Failed to load resource" in entry["message"] and urlsplit(url).hostname not in (
        None,
        "127.0.0.1",
    )


def _page_errors(browser) -> list[dict]:
    """SEVERE console entries, less offline loads and the known theme defect above."""
    return [
        e
        for e in errors(browser)
        if not _offline(e) and not any(k in e["message"] for k in KNOWN_THEME_ERRORS)
    ]


def _interactive_bytes(browser) -> tuple[int, int]:
    """Bytes of interactive data the page loaded (data files, inline data, static images), files."""
    return tuple(
        browser.execute_script(
            """
            var files = performance.getEntriesByType('resource')
              .filter(function (r) { return r.name.indexOf('/_static/interactive/') >= 0; });
            var n = files.reduce(function (s, r) { return s + r.decodedBodySize; }, 0);
            document.querySelectorAll('.aigc-figure img.aigc-fallback').forEach(function (img) {
              n += img.getAttribute('src').length;
            });
            return [n, files.length];
            """
        )
    )


def _show(browser, name: str):
    figure = browser.find_element("css selector", f"[data-figure='{name}']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", figure)
    return figure


def _use_explorer(browser, name: str, decoder: ShippedDecoder) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    for z in ([0.0, 0.0], [1.2, -0.8], [-1.5, 2.0]):
        check_decode(browser, decoder, name, z, decoder.output)
    plane = browser.find_element("css selector", f"[data-figure='{name}'] .aigc-plane")
    before = canvas(browser, name, ".aigc-image")
    ActionChains(browser).move_to_element_with_offset(plane, 60, -70).click().perform()
    assert canvas(browser, name, ".aigc-image") != before, "the click changed no pixel"
    z, pixels = browser.execute_script(f"var f = AIGC_FIGURES['{name}']; return [f.z, f.pixels]")
    assert z[0] > 0 and z[1] > 0, f"a click right of and above the centre gave z={z}"
    expected = torch_pixels(decoder, z, decoder.output).double()
    diff = (torch.tensor(pixels) - expected).abs().max().item()
    assert diff < 1e-3, f"the shown digit differs from PyTorch's by {diff} at z={z}"


def _use_player(browser, name: str) -> None:
    from selenium.webdriver.common.keys import Keys

    root = f"[data-figure='{name}']"
    slider = browser.find_element("css selector", f"{root} input[type=range]")
    last = int(slider.get_attribute("max"))
    assert last >= 1, f"{name} has a single frame"
    time.sleep(0.3)  # the first frame's PNG decodes asynchronously
    first = canvas(browser, name, "canvas")
    slider.send_keys(Keys.RIGHT)
    assert browser.execute_script(f"return AIGC_FIGURES['{name}'].index") == 1
    time.sleep(0.3)
    moved = canvas(browser, name, "canvas")
    assert moved != first, "moving the slider changed no pixel"
    browser.find_element("css selector", f"{root} button").click()
    end = time.monotonic() + 30
    while browser.execute_script(f"return AIGC_FIGURES['{name}'].playing"):
        assert time.monotonic() < end, f"{name} still playing after 30 s"
        time.sleep(0.1)
    assert browser.execute_script(f"return AIGC_FIGURES['{name}'].index") == last
    time.sleep(0.3)
    assert canvas(browser, name, "canvas") not in (first, moved), "playing changed no pixel"


@pytest.mark.parametrize("page", list(PAGES))
def test_interactive_figures_of_a_built_page(built_book, driver, site, book_shots, page):
    driver.get_log("browser")  # start this page with an empty log
    driver.get(f"{site}/{page}")
    shown = driver.execute_script(
        "return Array.from(document.querySelectorAll('.aigc-figure'), e => e.dataset.figure)"
    )
    assert sorted(shown) == sorted(PAGES[page]), f"{page} shows figures {shown}"
    for name in shown:
        ready(driver, name, timeout=60)
        figure = _show(driver, name)
        if driver.find_elements("css selector", f"[data-figure='{name}'] .aigc-plane"):
            payload = _payload(built_book, built_book / page, name)
            _use_explorer(driver, name, ShippedDecoder(payload))
        else:
            _use_player(driver, name)
        shot = book_shots / f"{page.replace('/', '_').removesuffix('.html')}-{name}.png"
        assert figure.screenshot(str(shot)), f"no screenshot of {name}"
    n_bytes, n_files = _interactive_bytes(driver)
    assert n_files == len(shown), f"{page} loaded {n_files} data files for {len(shown)} figures"
    assert 0 < n_bytes <= PAGE_LIMIT_BYTES, f"{page} carries {n_bytes:,} bytes of figure data"
    assert _page_errors(driver) == [], f"console errors on {page}"
