"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run the test on one torch thread (many small ops: extra threads only contend).

    Modules use it with ``pytestmark = pytest.mark.usefixtures("one_thread")``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def driver():
    """A headless Chromium for the browser tests (skips when none is installed); see browser_support."""
    from browser_support import start_chrome

    browser = start_chrome()
    yield browser
    browser.quit()


@pytest.fixture(scope="module")
def shots():
    """The folder the browser tests save screenshots in ($AIGC_SCREENSHOTS or a temporary one)."""
    from browser_support import screenshot_folder

    return screenshot_folder()
