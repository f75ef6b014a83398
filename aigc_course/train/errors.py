r"""Errors shared by the training loops."""

from __future__ import annotations

__all__ = ["CheckpointError", "TrainingDiverged"]


class TrainingDiverged(FloatingPointError):
    r"""A loss, a parameter or an optimiser moment became NaN or infinite.

    ``step`` and ``loss_name`` say where; the message says how to restart cleanly (from the last
    good checkpoint, which never holds non-finite state, or from scratch).
    """

    def __init__(self, step: int, loss_name: str, value: float, hint: str) -> None:
        self.step = step
        self.loss_name = loss_name
        self.value = value
        super().__init__(f"{loss_name} became {value} at step {step}: {hint}")


class CheckpointError(ValueError):
    r"""A checkpoint cannot be resumed: unreadable, foreign, or for other models or settings.

    Raised before anything is loaded, so the caller's models are left as they were; the message
    names the file, what differs and the fix.
    """
