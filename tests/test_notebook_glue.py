import builtins

import pytest

from aigc_course.notebook import glue


def test_glue_records_value_for_myst_nb(monkeypatch):
    calls = []
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda *a, **k: calls.append((a, k)))
    glue("fid_dcgan", 131.6)
    assert calls == [(("fid_dcgan", 131.6), {"display": False})]


def test_glue_is_a_no_op_without_myst_nb(monkeypatch):
    real_import = builtins.__import__

    def no_myst(name, *args, **kwargs):
        if name.startswith("myst_nb"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst)
    assert glue("x", 1.0) is None


@pytest.mark.parametrize("name", ["", "a b", "a.b", None, 3])
def test_glue_rejects_names_prose_cannot_cite(name):
    with pytest.raises(ValueError, match="glue name"):
        glue(name, 1.0)
