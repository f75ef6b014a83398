"""What the browser tests share: headless Chromium, a static server, and the figures' probes.

``tests/conftest.py`` turns :func:`start_chrome` and :func:`screenshot_folder` into the
``driver`` and ``shots`` fixtures; ``tests/test_interactive_browser.py`` (pages built from the
module's output) and ``tests/test_built_book_browser.py`` (the built book itself) use them and
the helpers below. Chromium resolves no host but 127.0.0.1: the tests never reach the network.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SKIP = (
    "browser tests skipped: no {what} found (Debian/Ubuntu: apt-get install chromium "
    "chromium-driver; pip install selenium)"
)
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--window-size=1000,900",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",  # offline, and fast about it
)


def find_browser() -> tuple[str, str]:
    """The Chromium binary and chromedriver, or skip the test saying which is missing."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip(SKIP.format(what="selenium"))
    binary = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    driver = shutil.which("chromedriver")
    if binary is None or driver is None:
        pytest.skip(SKIP.format(what="Chromium" if binary is None else "chromedriver"))
    return binary, driver


def start_chrome():
    """A headless Chromium under Selenium that keeps the console log (quit it when done)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, chromedriver = find_browser()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    browser.set_page_load_timeout(60)
    return browser


def screenshot_folder() -> Path:
    """$AIGC_SCREENSHOTS, or a new temporary folder: never the repository."""
    folder = Path(os.environ.get("AIGC_SCREENSHOTS") or tempfile.mkdtemp(prefix="aigc-shots-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots in {folder}")
    return folder


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file handler that logs nothing and answers a missing /favicon.ico with 204.

    The browser asks for the icon on its own (a page without one would log a 404); any other
    missing file is still a 404, which the console check reports.
    """

    def log_message(self, *args):  # keep the test output clean
        pass

    def send_head(self):
        if self.path == "/favicon.ico" and not Path(self.translate_path(self.path)).exists():
            self.send_response(204)
            self.end_headers()
            return None
        return super().send_head()


@contextlib.contextmanager
def static_server(directory: str | os.PathLike) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def errors(browser) -> list[dict]:
    """The SEVERE entries of the console log since the last read (reading clears it)."""
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def ready(browser, name: str, state: str = "ready", timeout: float = 20.0) -> None:
    """Wait until figure ``name`` reports ``state`` in its ``data-state`` attribute."""
    end = time.monotonic() + timeout
    script = (
        "return document.querySelector('[data-figure=\"' + arguments[0] + '\"]')"
        ".getAttribute('data-state')"
    )
    while time.monotonic() < end:
        if browser.execute_script(script, name) == state:
            return
        time.sleep(0.05)
    raise AssertionError(
        f"figure {name} never reached state {state!r}: {browser.execute_script(script, name)!r}"
    )


def canvas(browser, name: str, css: str) -> str:
    """The pixels of the canvas ``css`` inside figure ``name``, as a data URL."""
    return browser.execute_script(
        "return document.querySelector('[data-figure=\"' + arguments[0] + '\"] ' + arguments[1])"
        ".toDataURL()",
        name,
        css,
    )


def torch_pixels(model, z, output: str = "sigmoid") -> torch.Tensor:
    """What PyTorch decodes at ``z`` with ``model.decode`` (logits), as the browser shows it."""
    with torch.no_grad():
        out = model.decode(torch.tensor([z], dtype=torch.float32))
    return (torch.sigmoid(out) if output == "sigmoid" else out.clamp(0, 1)).flatten()


def check_decode(browser, model, name: str, z, output: str = "sigmoid") -> None:
    """Assert the browser's decoded pixels at ``z`` equal PyTorch's within 1e-3."""
    got = browser.execute_script("return AIGC_FIGURES[arguments[0]].decode(arguments[1])", name, z)
    diff = (torch.tensor(got) - torch_pixels(model, z, output).double()).abs().max().item()
    assert diff < 1e-3, f"browser and PyTorch differ by {diff} at z={z}"
