"""The private validation layer aigc_course._check: every check passes good values through and
names the argument and the fix for bad ones."""

import math

import pytest
import torch

from aigc_course import _check


def test_positive_int():
    assert _check.positive_int("Cfg", "steps", 3) == 3
    assert _check.positive_int("Cfg", "steps", 0, 0) == 0
    for bad in (0, -1, 1.5, True, "2", None):
        with pytest.raises(ValueError, match=r"Cfg\.steps must be an int >= 1, got"):
            _check.positive_int("Cfg", "steps", bad)
    with pytest.raises(ValueError, match=r"^n must be an int >= 0"):
        _check.positive_int("", "n", -1, 0)
    assert _check.optional_int("Cfg", "every", None) is None
    with pytest.raises(ValueError, match="Cfg.every must be an int >= 1"):
        _check.optional_int("Cfg", "every", 0)


def test_finite_number_and_probability():
    assert _check.finite_number("C", "lr", 1) == 1.0
    assert _check.finite_number("C", "beta", 0, positive=False) == 0.0
    for bad in (0, -1.0, math.nan, math.inf, "1", True):
        with pytest.raises(ValueError, match="C.lr must be a positive finite number"):
            _check.finite_number("C", "lr", bad)
    with pytest.raises(ValueError, match="C.beta must be a finite number >= 0"):
        _check.finite_number("C", "beta", -0.5, positive=False)
    assert _check.probability("C", "p", 0.0) == 0.0
    assert _check.probability("C", "p", 1) == 1.0
    with pytest.raises(ValueError, match=r"C.d must be a number in \[0, 1\), got 1.0"):
        _check.probability("C", "d", 1.0, high_open=True)
    with pytest.raises(ValueError, match=r"C.r must be a number in \(0, 1\]"):
        _check.probability("C", "r", 0, low_open=True)
    for bad in (math.nan, -0.1, 1.1, None):
        with pytest.raises(ValueError, match="must be a number in"):
            _check.probability("C", "p", bad)


def test_one_of_and_tensor():
    assert _check.one_of("C", "kind", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"C.kind must be one of \('a', 'b'\), got 'c'"):
        _check.one_of("C", "kind", "c", ("a", "b"))
    x = torch.zeros(2, 3)
    assert _check.tensor("x", x, ndim=(2, 3), floating=True) is x
    with pytest.raises(TypeError, match="x must be a torch.Tensor, got list: fix it"):
        _check.tensor("x", [1], hint="fix it")
    with pytest.raises(ValueError, match=r"x must have 4 axes, got shape \(2, 3\)"):
        _check.tensor("x", x, ndim=4)
    with pytest.raises(TypeError, match="x must be floating point, got dtype torch.int64"):
        _check.tensor("x", x.long(), floating=True)
    with pytest.raises(TypeError, match="x must hold integers"):
        _check.tensor("x", x, floating=False)


def test_image_batch_shape_only():
    x = torch.zeros(5, 1, 4, 4)
    assert _check.image_batch("images", x, (1, 4, 4)) is x
    with pytest.raises(ValueError, match=r"unsqueeze\(1\)"):
        _check.image_batch("images", x[:, 0], (1, 4, 4))
    with pytest.raises(ValueError, match=r"expected images of shape \(B, 1, 4, 4\).*use 4x4"):
        _check.image_batch("images", torch.zeros(5, 1, 3, 3), (1, 4, 4), hint="use 4x4")
    with pytest.raises(TypeError, match=r"images must be a torch.Tensor of shape \(B, 1, 4, 4\)"):
        _check.image_batch("images", "x", (1, 4, 4))


def test_finite_and_unit_range_name_the_fix():
    _check.finite("data", torch.zeros(3))
    _check.finite("data", torch.zeros(0))
    with pytest.raises(ValueError, match="data contains NaN or Inf values: clean"):
        _check.finite("data", torch.tensor([0.0, math.inf]))
    _check.unit_range("images", torch.tensor([0.0, 0.5, 1.0]))
    _check.unit_range("images", torch.zeros(0))
    with pytest.raises(ValueError, match=r"\[0, 255\] pixels: divide by 255"):
        _check.unit_range("images", torch.tensor([0.0, 255.0]))
    with pytest.raises(ValueError, match=r"\[-1, 1\] images: map them with .*from_signed"):
        _check.unit_range("images", torch.tensor([-1.0, 1.0]))
    with pytest.raises(ValueError, match=r"got values in \[0, 1.1\]: clip or rescale.*\(see X\)"):
        _check.unit_range("images", torch.tensor([0.0, 1.1]), "see X")


def test_labels():
    y = torch.tensor([0, 2, 1])
    assert _check.labels(y, 3, 3) is y
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
            _check.labels(bad, 3)
    with pytest.raises(ValueError, match="3 entries but the batch has 2"):
        _check.labels(y, 3, 2)
    assert _check.labels(torch.tensor([7]), 3, check_range=False).tolist() == [7]


def test_sample_count_and_labels():
    assert _check.sample_count(0) == 0
    with pytest.raises(TypeError, match=r"model.sample\(len\(y\), labels=y\)"):
        _check.sample_count(torch.tensor([1, 2]))

    class Cond(torch.nn.Module):
        n_classes = 3

    assert _check.sample_labels(torch.nn.Linear(1, 1), 2, None, torch.device("cpu")) is None
    with pytest.raises(TypeError, match="not conditional"):
        _check.sample_labels(torch.nn.Linear(1, 1), 2, 1, torch.device("cpu"))
    cpu = torch.device("cpu")
    assert _check.sample_labels(Cond(), 4, None, cpu).tolist() == [0, 1, 2, 0]
    assert _check.sample_labels(Cond(), 2, 2, cpu).tolist() == [2, 2]
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\]"):
        _check.sample_labels(Cond(), 2, 3, cpu)
    assert _check.sample_labels(Cond(), 2, torch.tensor([1, 0]), cpu).tolist() == [1, 0]
