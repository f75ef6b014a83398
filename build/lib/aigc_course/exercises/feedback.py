r"""The result of an exercise checker, and the shared way of calling the reader's code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Feedback:
    r"""What a checker found: ``passed`` and a message for the reader.

    Its ``repr`` is the message with a mark in front, so a notebook cell that ends with a checker
    call shows the feedback as plain text.
    """

    passed: bool
    message: str

    def __repr__(self) -> str:
        return ("PASSED: " if self.passed else "NOT YET: ") + self.message

    def __bool__(self) -> bool:
        return self.passed


def call_reader(fn: Callable[..., Any], *args: Any) -> tuple[Any, Feedback | None]:
    r"""Call the reader's function; turn a crash into feedback instead of a traceback.

    Returns ``(result, None)`` on success, ``(None, feedback)`` when the call raised or returned None.
    """
    if not callable(fn):
        return None, Feedback(
            False,
            f"expected a function, got {type(fn).__name__}; pass the function itself, not its result",
        )
    try:
        result = fn(*args)
    except NotImplementedError:
        return None, Feedback(
            False, "not implemented yet: replace the `raise NotImplementedError` with your code."
        )
    except Exception as exc:  # the reader's code may fail in any way; report it plainly
        return None, Feedback(False, f"your function raised {type(exc).__name__}: {exc}")
    if result is None:
        return None, Feedback(False, "your function returned None; did you forget `return`?")
    return result, None
