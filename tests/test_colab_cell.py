r"""The chapters' hidden Colab cell: one cell for every chapter, pinned to this release, and working.

The last test runs the cell the way Colab does (``google.colab`` importable, a fresh Python
environment without the package) but installs from this checkout instead of the network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

import aigc_course

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.ipynb"))
RELEASE = re.compile(r'^AIGC_COURSE_RELEASE = "([^"]+)"$', re.MULTILINE)
REPO_URL = "git+https://github.com/aigc-course/aigc-course@v{AIGC_COURSE_RELEASE}"


def first_code_cell(path: Path) -> dict:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return next(c for c in cells if c["cell_type"] == "code")


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_there_are_chapters():
    assert len(CHAPTERS) >= 6, CHAPTERS


def test_every_chapter_starts_with_the_same_hidden_install_cell():
    cells = {path.name: first_code_cell(path) for path in CHAPTERS}
    reference = source(cells[CHAPTERS[0].name])
    for name, cell in cells.items():
        assert source(cell) == reference, f"{name}: its first code cell differs from the others'"
        assert "hide-cell" in cell["metadata"].get("tags", []), f"{name}: install cell not hidden"
        nb = json.loads((ROOT / "book" / name).read_text(encoding="utf-8"))
        assert nb["cells"][0]["cell_type"] == "code", f"{name}: the install cell is not first"


def test_install_cell_pins_this_release_tag():
    text = source(first_code_cell(CHAPTERS[0]))
    match = RELEASE.search(text)
    assert match, "the install cell has no AIGC_COURSE_RELEASE line"
    assert match.group(1) == aigc_course.__version__
    assert REPO_URL in text, "the install cell does not install the release tag"
    assert "@main" not in text and "@master" not in text


def test_version_has_one_source_and_a_changelog_entry():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"], "pyproject.toml must not repeat the version"
    assert "version" in project["project"]["dynamic"]
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "aigc_course.__version__"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## [{aigc_course.__version__}]" in changelog


def test_no_chapter_needs_what_colab_lacks():
    for path in CHAPTERS:
        text = path.read_text(encoding="utf-8")
        for needle in ("files.upload", "drive.mount", "google.colab import"):
            assert needle not in text, f"{path.name} uses {needle}"


def _install_cell_script(tmp_path: Path) -> Path:
    fake = tmp_path / "fake_colab" / "google" / "colab"
    fake.mkdir(parents=True)
    (fake.parent / "__init__.py").write_text("")
    (fake / "__init__.py").write_text('"""Stands in for Colab\'s google.colab module."""\n')
    cell = source(first_code_cell(CHAPTERS[0]))
    script = tmp_path / "colab_cell.ipy"
    script.write_text("import google.colab\n" + cell + "\n", encoding="utf-8")
    return script


def test_install_cell_installs_the_package_in_a_colab_like_environment(tmp_path):
    # A fresh environment that sees this one's packages (torch, IPython, ...) but not aigc_course.
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    here = sysconfig.get_paths()["purelib"]
    (Path(purelib) / "parent_env.pth").write_text(here + "\n")
    script = _install_cell_script(tmp_path)
    # pip builds in the source folder (build/, *.egg-info): give it a copy of the package's files.
    source_copy = tmp_path / "checkout"
    source_copy.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source_copy / name)
    shutil.copytree(
        ROOT / "aigc_course",
        source_copy / "aigc_course",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(
        PYTHONPATH=str(script.parent / "fake_colab"),
        AIGC_COURSE_SOURCE=source_copy.as_uri(),
        MPLBACKEND="Agg",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    run = subprocess.run(
        [str(python), "-m", "IPython", "--quick", "--no-banner", str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    check = subprocess.run(
        [
            str(python),
            "-c",
            "import aigc_course; print(aigc_course.__version__, aigc_course.__file__)",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr[-3000:]
    version, location = check.stdout.split()
    assert version == aigc_course.__version__
    assert Path(location).is_relative_to(env_dir), f"imported from {location}, not the new env"
    assert sys.executable != str(python)
