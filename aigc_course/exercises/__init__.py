r"""Checkers for the book's exercises: each runs the reader's function and explains what is wrong.

A checker never just says "wrong": it recognises the common mistakes (a flipped sign, log base 2,
a mean where a sum belongs, ...) and says which one it sees. It returns a :class:`Feedback`
whose text is what the notebook shows, and whose machine-readable record (exercise, passed,
message) Jupyter stores beside it.

Every checker of a function is one declarative :class:`~aigc_course.exercises.engine.Exercise`
(the reference, the accepted conventions, a table of known mistakes, edge cases) run by one engine,
:func:`~aigc_course.exercises.engine.check`, on fresh random inputs at every call. ``EXERCISES``
maps each such checker's name to its declaration; ``ANSWER_CHECKERS`` lists the checkers of a
typed-in prediction. Both are collected from ``CHECKER_MODULES``: a checker is declared once, in
its chapter's module.
"""

import inspect
from types import ModuleType

from aigc_course.exercises import (
    applications,
    autoregressive,
    concepts,
    diffusion,
    gan,
    lossmath,
    metrics,
    normalizing_flow,
    vae,
)
from aigc_course.exercises.engine import Exercise
from aigc_course.exercises.feedback import Feedback

# The checker modules, one per chapter. A new chapter's module is added here once; its checkers
# register themselves: every Exercise declared in it, and every public ``check_*`` function
# defined in it, are found by ``_register`` below.
CHECKER_MODULES: tuple[ModuleType, ...] = (
    concepts,
    gan,
    lossmath,
    vae,
    metrics,
    applications,
    diffusion,
    autoregressive,
    normalizing_flow,
)


def _register(
    modules: tuple[ModuleType, ...],
) -> tuple[dict[str, Exercise], dict[str, object]]:
    """Collect the Exercise declarations and the public check_* functions of ``modules``."""
    exercises: dict[str, Exercise] = {}
    checkers: dict[str, object] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, Exercise):
                if value.name in exercises and exercises[value.name] is not value:
                    raise RuntimeError(f"two exercises are named {value.name!r}")
                exercises[value.name] = value
        for name, fn in vars(module).items():
            defined_here = inspect.isfunction(fn) and fn.__module__ == module.__name__
            if name.startswith("check_") and defined_here:
                if name in checkers:
                    raise RuntimeError(f"two checkers are named {name!r}")
                checkers[name] = fn
    missing = sorted(set(exercises) - set(checkers))
    if missing:
        raise RuntimeError(f"exercises without a check_ function of the same name: {missing}")
    return exercises, checkers


EXERCISES, _CHECKERS = _register(CHECKER_MODULES)
# Checkers of a typed-in answer (a prediction), not of a function: they have no Exercise.
ANSWER_CHECKERS = tuple(sorted(set(_CHECKERS) - set(EXERCISES)))
globals().update(_CHECKERS)

__all__ = ["ANSWER_CHECKERS", "CHECKER_MODULES", "EXERCISES", "Feedback", *sorted(_CHECKERS)]
