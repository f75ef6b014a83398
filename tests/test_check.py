"""The one validation layer, aigc_course._check: value first, then the name the message uses."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from aigc_course import _check


def test_check_count():
    assert _check.check_count(3, "Cfg.steps") == 3
    assert _check.check_count(0, "Cfg.steps", minimum=0) == 0
    assert _check.check_count(np.int64(4), "n") == 4  # NumPy integers are whole numbers too
    for bad in (2.5, "3", None, True):
        with pytest.raises(TypeError, match=r"Cfg.steps must be an int >= 1"):
            _check.check_count(bad, "Cfg.steps")
    for bad in (0, -1):
        with pytest.raises(ValueError, match=rf"Cfg.steps must be an int >= 1, got {bad}"):
            _check.check_count(bad, "Cfg.steps")


def test_check_real_intervals():
    assert _check.check_real(1, "C.lr", low=0.0, low_open=True) == 1.0
    assert _check.check_real(0, "C.beta", low=0.0) == 0.0
    assert _check.check_real(torch.tensor(0.5), "p", low=0.0, high=1.0) == 0.5
    for bad in ("0.1", None, True):
        with pytest.raises(TypeError, match="C.lr must be a real number"):
            _check.check_real(bad, "C.lr")
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="C.lr must be finite"):
            _check.check_real(bad, "C.lr")
    with pytest.raises(ValueError, match=r"C.lr must be > 0, got 0"):
        _check.check_real(0.0, "C.lr", low=0.0, low_open=True)
    with pytest.raises(ValueError, match=r"C.d must be in \[0, 1\), got 1"):
        _check.check_real(1.0, "C.d", low=0.0, high=1.0, high_open=True)


def test_check_choice_and_bool():
    assert _check.check_choice("a", "C.kind", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"C.kind must be one of \('a', 'b'\)"):
        _check.check_choice("c", "C.kind", ("a", "b"))
    with pytest.raises(ValueError, match="must be one of"):  # True == 1, but not the same thing
        _check.check_choice(True, "C.n", (1, 2))
    assert _check.check_bool(False, "C.progress") is False
    for bad in (0, 1, None, "yes"):
        with pytest.raises(TypeError, match="C.progress must be True or False"):
            _check.check_bool(bad, "C.progress")


def test_is_int_and_is_real_number():
    assert _check.is_int(3) and _check.is_int(np.int32(3))
    assert not _check.is_int(True) and not _check.is_int(3.0)
    assert _check.is_real_number(2.5) and _check.is_real_number(np.float32(1))
    assert not _check.is_real_number(False) and not _check.is_real_number("1")


def test_check_tensor():
    x = torch.zeros(2, 3)
    assert _check.check_tensor(x, "x", ndim=(2, 3), floating=True) is x
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor.*torch.as_tensor"):
        _check.check_tensor(np.zeros(3), "x")
    with pytest.raises(ValueError, match="x must have 4 dimensions"):
        _check.check_tensor(x, "x", ndim=4)
    with pytest.raises(TypeError, match="floating-point.*to_unit"):
        _check.check_tensor(x.to(torch.uint8), "x", floating=True)
    with pytest.raises(ValueError, match="x is empty"):
        _check.check_tensor(x[:0], "x")


def test_check_image_batch_reads_no_values():
    x = torch.zeros(5, 1, 4, 4)
    assert _check.check_image_batch(x, "images", (1, 4, 4)) is x
    with pytest.raises(ValueError, match=r"unsqueeze\(1\)"):
        _check.check_image_batch(x[:, 0], "images", (1, 4, 4))
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, 4, 4\).*use 4x4"):
        _check.check_image_batch(torch.zeros(5, 1, 3, 3), "images", (1, 4, 4), hint="use 4x4")
    with pytest.raises(TypeError, match=r"images must be a torch.Tensor of shape \(B, 1, 4, 4\)"):
        _check.check_image_batch("x", "images", (1, 4, 4))


def test_check_finite_and_range_name_the_fix():
    assert _check.check_finite(torch.zeros(0), "data").shape == (0,)
    with pytest.raises(ValueError, match="data contains NaN or Inf values: clean"):
        _check.check_finite(torch.tensor([0.0, math.inf]), "data")
    _check.check_range(torch.tensor([0.0, 0.5, 1.0]), "images", 0.0, 1.0)
    with pytest.raises(ValueError, match=r"0..255 pixels: divide .* by 255"):
        _check.check_range(torch.tensor([0.0, 255.0]), "images", 0.0, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        _check.check_range(torch.tensor([0.0, math.nan]), "images", 0.0, 1.0)


def test_check_labels_is_the_one_label_checker():
    y = torch.tensor([0, 2, 1])
    assert _check.check_labels(y, "labels", 3, batch=3) is y
    cases = [
        ([0, 1], TypeError, "must be a torch.Tensor of int64"),
        (torch.tensor([0.0, 1.0]), TypeError, "not one-hot"),
        (torch.tensor([0, 1], dtype=torch.int32), TypeError, r"y.long\(\)"),
        (torch.zeros(2, 3, dtype=torch.long), ValueError, "argmax"),
        (torch.zeros(2, 2, 2, dtype=torch.long), ValueError, "view"),
        (torch.tensor([0, 5]), ValueError, "found 5: build the model with n_classes > 5"),
        (torch.tensor([-1, 0]), ValueError, "found -1"),
    ]
    for bad, error, match in cases:
        with pytest.raises(error, match=match):
            _check.check_labels(bad, "labels", 3)
    with pytest.raises(ValueError, match="labels has 3 entries but the batch has 2"):
        _check.check_labels(y, "labels", 3, batch=2)
    unchecked = _check.check_labels(torch.tensor([7]), "labels", 3, check_range=False)
    assert unchecked.tolist() == [7]


def test_sample_count_and_labels():
    assert _check.check_sample_count(0) == 0
    with pytest.raises(TypeError, match=r"model.sample\(len\(y\), labels=y\)"):
        _check.check_sample_count(torch.tensor([1, 2]))

    class Cond(torch.nn.Module):
        n_classes = 3

    cpu = torch.device("cpu")
    assert _check.sample_labels(torch.nn.Linear(1, 1), 2, None, cpu) is None
    with pytest.raises(TypeError, match="not conditional"):
        _check.sample_labels(torch.nn.Linear(1, 1), 2, 1, cpu)
    assert _check.sample_labels(Cond(), 4, None, cpu).tolist() == [0, 1, 2, 0]
    assert _check.sample_labels(Cond(), 2, 2, cpu).tolist() == [2, 2]
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        _check.sample_labels(Cond(), 2, 3, cpu)
    assert _check.sample_labels(Cond(), 2, torch.tensor([1, 0]), cpu).tolist() == [1, 0]
