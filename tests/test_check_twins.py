import importlib.util
from pathlib import Path

import jupytext
import nbformat
import pytest

_SPEC = importlib.util.spec_from_file_location(
    "check_twins", Path(__file__).parents[1] / "tools" / "check_twins.py"
)
check_twins = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check_twins)


def _pair(folder: Path, tags_in_twin: list[str], source_in_twin: str = "x = 1") -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["nbval-ignore-output"]}),
    ]
    nbformat.write(nb, folder / "ch.ipynb")
    twin = nbformat.from_dict(nb)
    twin.cells[1] = nbformat.v4.new_code_cell(source_in_twin, metadata={"tags": tags_in_twin})
    jupytext.write(twin, folder / "ch.py", fmt="py:percent")


def test_twins_that_agree_pass(tmp_path, capsys):
    _pair(tmp_path, ["nbval-ignore-output"])
    assert check_twins.main(str(tmp_path)) == 0
    assert "0 problem(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("tags", "source", "expected"),
    [
        ([], "x = 1", "tags differ"),
        (["nbval-ignore-output", "hide-input"], "x = 1", "tags differ"),
        (["nbval-ignore-output"], "x = 2", "sources differ"),
    ],
)
def test_a_tag_or_source_mismatch_fails_and_names_the_cell(
    tmp_path, capsys, tags, source, expected
):
    _pair(tmp_path, tags, source)
    assert check_twins.main(str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "cell 1 (code)" in out and expected in out


def test_a_missing_twin_fails(tmp_path, capsys):
    _pair(tmp_path, ["nbval-ignore-output"])
    (tmp_path / "ch.py").unlink()
    assert check_twins.main(str(tmp_path)) == 1
    assert "missing jupytext twin" in capsys.readouterr().out
