r"""The forge's workflows: each parses, runs on the events and runners it should, runs what it should.

actionlint itself runs in tools/test.sh (tools/actionlint.sh); these tests pin the content.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def runs(workflow: dict, job: str) -> str:
    return "\n".join(s.get("run", "") for s in steps(workflow, job))


def uses(workflow: dict, job: str) -> list[str]:
    return [s["uses"] for s in steps(workflow, job) if "uses" in s]


def test_every_workflow_parses_and_has_jobs():
    names = sorted(p.name for p in WORKFLOWS.glob("*.yml"))
    assert names == ["book.yml", "ci.yml", "drift.yml", "gpu.yml"]
    for name in names:
        workflow = load(name)
        assert workflow["on"], name
        assert workflow["jobs"], name
        for job in workflow["jobs"].values():
            assert "runs-on" in job and "steps" in job or "uses" in job


def test_ci_runs_the_readme_test_command_with_caches():
    ci = load("ci.yml")
    assert {"push", "pull_request"} <= set(ci["on"])
    assert ci["jobs"]["test"]["runs-on"] == "ubuntu-latest"
    assert "bash tools/test.sh" in runs(ci, "test")
    assert "dataset-fashion-mnist" in runs(ci, "test")
    setup = next(
        s for s in steps(ci, "test") if s.get("uses", "").startswith("actions/setup-python")
    )
    assert setup["with"]["cache"] == "pip"
    cache = next(s for s in steps(ci, "test") if s.get("uses", "").startswith("actions/cache"))
    assert cache["with"]["path"] == "~/.cache/aigc_course"
    assert "whl/cpu" in ci["jobs"]["test"]["env"]["TORCH_INDEX"]


def test_gpu_runs_every_chapter_in_full_mode_on_a_gpu_runner():
    gpu = load("gpu.yml")
    assert {"schedule", "workflow_dispatch"} <= set(gpu["on"])
    job = gpu["jobs"]["notebooks"]
    assert job["runs-on"] == ["self-hosted", "gpu"]
    script = runs(gpu, "notebooks")
    assert "--nbval book" in script and "--nbval-sanitize-with book/nbval-sanitize.cfg" in script
    assert "AIGC_QUICK" not in script and "AIGC_QUICK" not in job.get("env", {})
    assert "torch.cuda.is_available()" in script


def test_book_builds_both_editions_and_deploys_to_pages_from_main():
    book = load("book.yml")
    assert book["on"]["push"]["branches"] == ["main"]
    script = runs(book, "build")
    assert "bash tools/build-book.sh\n" in script + "\n"
    assert "bash tools/build-book.sh --student" in script
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses(book, "build"))
    deploy = book["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert "refs/heads/main" in deploy["if"] and "push" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(u.startswith("actions/deploy-pages@") for u in uses(book, "deploy"))
    # The Chinese notebooks that the zh pages' launch buttons open (tools/zh.py, ZH_BRANCH).
    zh = book["jobs"]["zh-notebooks"]
    assert zh["permissions"] == {"contents": "write"} and "refs/heads/main" in zh["if"]
    script = runs(book, "zh-notebooks")
    assert "python tools/zh.py build" in script and "git push --force origin zh-notebooks" in script


def test_drift_tests_newest_and_minimum_versions_weekly():
    drift = load("drift.yml")
    assert "schedule" in drift["on"]
    assert "--upgrade-strategy eager" in runs(drift, "newest")
    assert "python -m pytest tests" in runs(drift, "newest")
    minimum = runs(drift, "minimum")
    assert "tools/min_requirements.py" in minimum and "python -m pytest tests" in minimum
    versions = [s["with"]["python-version"] for s in steps(drift, "minimum") if "with" in s]
    assert "3.10" in versions  # pyproject's requires-python lower bound


def test_test_sh_lints_the_workflows():
    assert "bash tools/actionlint.sh" in (ROOT / "tools" / "test.sh").read_text(encoding="utf-8")


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_min_requirements_pins_every_lower_bound():
    pytest.importorskip("tomllib")  # Python 3.11+
    tool = _tool("min_requirements")
    assert tool.pin_lowest("torch>=2.1") == "torch==2.1"
    assert tool.pin_lowest("jupyter-book>=1.0.4,<2") == "jupyter-book==1.0.4"
    assert tool.pin_lowest("a[x]>=1 ; python_version<'3.12'") == "a[x]==1; python_version<'3.12'"
    assert tool.pin_lowest("b") == "b  # no lower bound"
    project = {
        "project": {
            "dependencies": ["torch>=2.1", "numpy>=1.24"],
            "optional-dependencies": {"dev": ["numpy>=1.24", "scipy>=1.11"]},
        }
    }
    assert tool.requirements(project, ["dev"]) == ["torch>=2.1", "numpy>=1.24", "scipy>=1.11"]


def test_min_requirements_cli_on_the_real_pyproject(capsys):
    pytest.importorskip("tomllib")
    tool = _tool("min_requirements")
    assert tool.main(["--pyproject", str(ROOT / "pyproject.toml"), "--extra", "dev"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "torch==2.1" in lines
    assert all("==" in line for line in lines), lines
    with pytest.raises(SystemExit):
        tool.main(["--pyproject", str(ROOT / "pyproject.toml"), "--extra", "nope"])
