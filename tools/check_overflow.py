r"""Measure, in a headless browser, whether anything in the built book runs past the article column.

Usage::

    jupyter-book build .
    python tools/check_overflow.py _build/html --mathjax /path/to/mathjax/es5 [--png DIR]

Every page under ``book/`` is opened at 1280 x 1000 px in headless Chromium (Debian's ``chromium``
and ``chromium-driver``; selenium drives it). For the display equations, tables, figures and
images of the article it reports

- overflows: the element's right edge lies past the article column and no ancestor scrolls it
  (the reader sees it cut off); the script exits with 1 if there is any;
- scrolls: the element is wider than the column but sits in a box that scrolls sideways (the
  book's CSS, ``_static/code-width.css``, draws that scrollbar), listed for information.

The published pages load MathJax from a CDN. Offline, pass ``--mathjax`` with a local copy of
MathJax 3's ``es5`` folder (``npm pack mathjax@3``): the pages are copied to a temporary folder and
pointed at it, so equations are typeset and measured at their real width.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"

MEASURE = """
const art = document.querySelector('.bd-article');
if (!art) { return null; }
const right = art.getBoundingClientRect().right;
const scroller = (el) => {
  for (let p = el.parentElement; p && p !== art; p = p.parentElement) {
    const s = getComputedStyle(p);
    if ((s.overflowX === 'auto' || s.overflowX === 'scroll')
        && p.getBoundingClientRect().right <= right + 1) { return p; }
  }
  return null;
};
const out = {overflows: [], scrolls: []};
const sel = 'mjx-container[display="true"], table, img, figure, .pst-scrollable-table-container';
for (const el of art.querySelectorAll(sel)) {
  if (el.offsetParent === null) { continue; }
  const text = (el.textContent || el.getAttribute('alt') || el.tagName)
    .replace(/\\s+/g, ' ').slice(0, 70);
  const own = getComputedStyle(el).overflowX;
  const selfScrolls = (own === 'auto' || own === 'scroll') && el.scrollWidth > el.clientWidth + 1;
  if (selfScrolls) { out.scrolls.push(el.tagName + ': ' + text); continue; }
  if (el.getBoundingClientRect().right > right + 1) {
    if (scroller(el)) { continue; }  // counted once, at the scrolling box
    out.overflows.push(el.tagName + ' by '
      + Math.round(el.getBoundingClientRect().right - right) + ' px: ' + text);
  }
}
return out;
"""


def _driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        opts.add_argument(arg)
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(options=opts, service=Service(driver))


def _local_copy(html: Path, mathjax: Path | None, tmp: Path) -> Path:
    if mathjax is None:
        return html
    site = tmp / "site"
    shutil.copytree(html, site)
    shutil.copytree(mathjax, site / "_mathjax")
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if CDN in text:
            depth = len(page.relative_to(site).parts) - 1
            page.write_text(text.replace(CDN, "../" * depth + "_mathjax/tex-mml-chtml.js"))
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the built book, e.g. _build/html")
    parser.add_argument("--mathjax", type=Path, help="a local MathJax 3 es5 folder")
    parser.add_argument("--png", type=Path, help="also save a screenshot of each page here")
    args = parser.parse_args(argv)
    if not (args.html / "book").is_dir():
        parser.error(f"--html: {args.html} has no book/ folder; build the book first")
    if args.mathjax is not None and not (args.mathjax / "tex-mml-chtml.js").is_file():
        parser.error(f"--mathjax: {args.mathjax} has no tex-mml-chtml.js (use MathJax 3's es5)")
    if args.png is not None:
        args.png.mkdir(parents=True, exist_ok=True)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        site = _local_copy(args.html, args.mathjax, Path(tmp))
        driver = _driver()
        try:
            for page in sorted((site / "book").glob("*.html")):
                driver.get(page.as_uri())
                time.sleep(4)  # MathJax typesets after load
                found = driver.execute_script(MEASURE) or {"overflows": [], "scrolls": []}
                bad += len(found["overflows"])
                print(
                    f"{page.name}: {len(found['overflows'])} cut off, "
                    f"{len(found['scrolls'])} scroll sideways"
                )
                for line in found["overflows"]:
                    print(f"    CUT OFF {line}")
                for line in found["scrolls"]:
                    print(f"    scrolls {line}")
                if args.png is not None:
                    driver.save_screenshot(str(args.png / f"{page.stem}.png"))
        finally:
            driver.quit()
    print(f"{bad} element(s) cut off at 1280 px")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
