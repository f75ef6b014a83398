r"""The result of an exercise checker, and the shared way of calling the reader's code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MIME_TYPE = "application/vnd.aigc-course.feedback+json"


@dataclass(frozen=True)
class Feedback:
    r"""What a checker found: ``passed``, a message for the reader, and which ``exercise`` it was.

    Its ``repr`` is the message with a mark in front ("PASSED: ..." or "NOT YET: ..."), so a
    notebook cell that ends with a checker call shows the feedback as plain text. Jupyter also
    stores a machine-readable copy under the MIME type ``application/vnd.aigc-course.feedback+json``
    (see :meth:`_repr_mimebundle_`), which a grader can read from the executed notebook.
    """

    passed: bool
    message: str
    exercise: str = ""  # the checker's function name, e.g. "check_gaussian_kl"

    def __repr__(self) -> str:
        return ("PASSED: " if self.passed else "NOT YET: ") + self.message

    def __bool__(self) -> bool:
        return self.passed

    def _repr_mimebundle_(
        self, include: object = None, exclude: object = None
    ) -> dict[str, object]:
        r"""The plain-text feedback and its machine-readable record, for Jupyter's display system."""
        record = {"exercise": self.exercise, "passed": self.passed, "message": self.message}
        return {"text/plain": repr(self), MIME_TYPE: record}


def call_reader(
    fn: Callable[..., Any], *args: Any, exercise: str = ""
) -> tuple[Any, Feedback | None]:
    r"""Call the reader's function; turn a crash into feedback instead of a traceback.

    Returns ``(result, None)`` on success, ``(None, feedback)`` when the call raised, exited or
    returned None. ``exercise`` names the checker in the feedback.
    """
    if not callable(fn):
        return None, Feedback(
            False,
            f"expected a function, got {type(fn).__name__}; pass the function itself, not its result",
            exercise,
        )
    try:
        result = fn(*args)
    except NotImplementedError:
        return None, Feedback(
            False,
            "not implemented yet: replace the `raise NotImplementedError` with your code.",
            exercise,
        )
    except (Exception, SystemExit) as exc:  # the reader's code may fail in any way; report it
        return None, Feedback(False, f"your function raised {type(exc).__name__}: {exc}", exercise)
    if result is None:
        return None, Feedback(
            False, "your function returned None; did you forget `return`?", exercise
        )
    return result, None
