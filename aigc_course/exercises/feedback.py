r"""The result of an exercise checker, and the shared way of calling the reader's code.

Under the grader (``python -m aigc_course.grade``) a checker's verdict is also *signed*: the
grader arms this module in the kernel with a per-run secret before the first cell
(:func:`_arm_grading`), after which every record of a verdict that a public checker returned
carries an HMAC-SHA256 tag, and nothing else does. The reasoning, and its limits, are in the
docstring of :mod:`aigc_course.grade`. Outside the grader nothing changes: the record is
``{"exercise", "passed", "message"}``, as stored in the book's outputs.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aigc_course.grade import FEEDBACK_MIME, RECORD_KEYS, canonical_record, record_tag

MIME_TYPE = FEEDBACK_MIME

# Set once by _arm_grading (the grader, before any of a submission's cells): a closure that
# returns the tag of an issued verdict's record, or None. None outside the grader.
_signer: Callable[[dict[str, object]], str | None] | None = None


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

    def _record(self) -> dict[str, object]:
        return {"exercise": self.exercise, "passed": self.passed, "message": self.message}

    def _repr_mimebundle_(
        self, include: object = None, exclude: object = None
    ) -> dict[str, object]:
        r"""The plain-text feedback and its machine-readable record, for Jupyter's display system.

        Under the grader, the record of a verdict a checker returned also carries its ``tag``.
        """
        record = self._record()
        tag = _signer(record) if _signer is not None else None
        if tag is not None:
            record["tag"] = tag
        return {"text/plain": repr(self), MIME_TYPE: record}


def _well_typed(record: dict[str, object]) -> bool:
    kinds = (str, bool, str)
    return all(type(record[key]) is kind for key, kind in zip(RECORD_KEYS, kinds, strict=True))


def _arm_grading(secret_hex: str) -> None:
    r"""Sign the checkers' verdicts in this kernel with ``secret_hex``; called once by the grader.

    Wraps every public checker (``check_*`` in ``aigc_course.exercises.__all__``, wherever the
    package or a submodule holds it) so that the verdict it returns is recorded as issued, and
    installs the signer that tags issued verdicts when they are displayed. The secret and the
    issued verdicts live only in closures. Raises RuntimeError when already armed.
    """
    global _signer
    if _signer is not None:
        raise RuntimeError("feedback signing is already armed in this kernel")
    secret = bytes.fromhex(secret_hex)
    issued: set[bytes] = set()

    def issue(feedback: Feedback) -> None:
        record = feedback._record()
        if _well_typed(record):
            issued.add(canonical_record(record))

    def sign(record: dict[str, object]) -> str | None:
        if not _well_typed(record) or canonical_record(record) not in issued:
            return None
        return record_tag(secret, record)

    _wrap_checkers(issue)
    _signer = sign


def _issuing(checker: Callable[..., Any], issue: Callable[[Feedback], None]) -> Callable[..., Any]:
    @functools.wraps(checker)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        result = checker(*args, **kwargs)
        if isinstance(result, Feedback):
            issue(result)
        return result

    return wrapper


def _wrap_checkers(issue: Callable[[Feedback], None]) -> None:
    import aigc_course.exercises as package

    modules = [
        module
        for name, module in list(sys.modules.items())
        if name == package.__name__ or name.startswith(package.__name__ + ".")
    ]
    for name in getattr(package, "__all__", ()):
        original = getattr(package, name, None)
        if not name.startswith("check_") or not callable(original):
            continue
        wrapped = _issuing(original, issue)
        for module in modules:
            if getattr(module, name, None) is original:
                setattr(module, name, wrapped)


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
