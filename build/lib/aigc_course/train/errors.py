r"""Errors shared by the training loops."""

from __future__ import annotations


class TrainingDiverged(FloatingPointError):
    r"""A loss became NaN or infinite; ``step`` and ``loss_name`` say where."""

    def __init__(self, step: int, loss_name: str, value: float, hint: str) -> None:
        self.step = step
        self.loss_name = loss_name
        self.value = value
        super().__init__(f"{loss_name} became {value} at step {step}: {hint}")
