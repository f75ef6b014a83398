r"""One engine behind every exercise checker: a table of known mistakes, tried on fresh random inputs.

An :class:`Exercise` declares what the reader's function must compute (``reference``), the
equivalent conventions that also pass, the common mistakes (each a function computing what the
mistake returns, with the message that names it) and a few fixed edge cases. :func:`check` then

1. draws fresh random inputs for every call (seeded from ``os.urandom``), redrawing until the
   cases tell the reference, the conventions and every mistake apart, and until the two random
   cases have different answers, so that no constant, echo of the input or copied number passes;
2. gives the reader copies of the inputs (an in-place answer passes; changing the copies cannot
   change what the answer is compared with);
3. reads the answer (tensor, NumPy or Python number; NaN, inf, complex and meta tensors are named);
4. compares it with the reference and the conventions, then the mistakes, in table order;
5. where the exercise is about a differentiable computation, compares the gradient of the
   reader's result with the reference's (autograd through both, with a random upstream gradient).

Failure messages name the mistake and never print the expected value.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from aigc_course._check import is_real_number
from aigc_course.exercises.feedback import Feedback, call_reader

Args = tuple[Any, ...]

_NONFINITE = (
    "your result contains NaN or inf; look for a log of 0, a division by 0 or an overflowing exp"
)
_INPLACE_NOTE = (
    " (Your function changed its input in place: harmless here, since the checker passes copies,"
    " but in your own code it would overwrite the caller's data.)"
)


@dataclass(frozen=True)
class Mistake:
    r"""A common wrong answer: ``compute(*args)`` returns what it gives; ``message`` names it.

    Entries of ``compute``'s result that are NaN are wildcards (any answer matches there).
    """

    compute: Callable[..., Any]
    message: str


@dataclass(frozen=True)
class Convention:
    r"""An equivalent answer that also passes; ``note`` is appended to the PASSED message."""

    compute: Callable[..., Any]
    note: str = ""


@dataclass(frozen=True)
class Edge:
    r"""A fixed hard case, tried once the random cases pass; ``message`` is shown if it fails."""

    draw: Callable[[torch.Generator], Args]
    message: str


@dataclass(frozen=True)
class Exercise:
    r"""The declaration of one exercise; see the module docstring for how :func:`~aigc_course.exercises.engine.check` uses it.

    ``draw(generator, case)`` returns the arguments of random case ``case`` (0 or 1). ``what``
    describes the answer ("one KL per example"); ``hint`` is the message when no mistake matches;
    ``grad`` lists the positions of the arguments the answer must be differentiable in;
    ``diagnose(fn, args, value)`` may return a message for mistakes a value table cannot express;
    ``locate(args, value, expected)`` may describe where the answer is wrong, without the
    expected value.
    """

    name: str
    arg_names: tuple[str, ...]
    draw: Callable[[torch.Generator, int], Args]
    reference: Callable[..., Any]
    passed: str
    what: str
    hint: str
    mistakes: tuple[Mistake, ...] = ()
    conventions: tuple[Convention, ...] = ()
    edges: tuple[Edge, ...] = ()
    grad: tuple[int, ...] = ()
    grad_note: str = ""
    integer: bool = False
    rtol: float = 1e-5
    atol: float = 1e-6
    nonfinite: str = _NONFINITE
    diagnose: Callable[[Callable[..., Any], Args, torch.Tensor], str | None] | None = None
    locate: Callable[[Args, torch.Tensor, torch.Tensor], str] | None = None


@dataclass
class _State:
    notes: list[str] = field(default_factory=list)
    in_place: bool = False
    grads: list[tuple[Args, Any, dict[int, torch.Tensor], Callable[..., Any]]] = field(
        default_factory=list
    )


def rand_int(gen: torch.Generator, low: int, high: int) -> int:
    r"""A random integer in [low, high], drawn from ``gen`` (the checkers' input sizes)."""
    return int(torch.randint(low, high + 1, (), generator=gen))


def fresh_seed() -> int:
    r"""A seed from the operating system's entropy, so every checker call sees new inputs."""
    return int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)


def clone_args(args: Args, double: bool = False) -> Args:
    r"""Copies of the tensor arguments (floating ones in float64 if ``double``); others as they are."""
    out = []
    for a in args:
        if isinstance(a, torch.Tensor):
            a = a.detach().clone()
            if double and a.is_floating_point():
                a = a.double()
        out.append(a)
    return tuple(out)


def as_float64(value: Any) -> torch.Tensor:
    r"""A reference or mistake result (tensor or number) as a detached float64 tensor."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64)
    return torch.as_tensor(value, dtype=torch.float64)


def evaluate(compute: Callable[..., Any], args: Args) -> torch.Tensor:
    r"""``compute`` on float64 copies of ``args``, as a float64 tensor."""
    with torch.no_grad():
        return as_float64(compute(*clone_args(args, double=True)))


def same(value: torch.Tensor, target: torch.Tensor, rtol: float, atol: float) -> bool:
    r"""Whether ``value`` equals ``target`` within tolerance; NaN in ``target`` matches anything.

    One-element tensors compare as scalars whatever their shape; otherwise the shapes must agree.
    NaN in ``value`` never matches; an infinity matches the same infinity.
    """
    if value.numel() == 1 and target.numel() == 1:
        value, target = value.reshape(()), target.reshape(())
    elif value.shape != target.shape:
        return False
    known = ~torch.isnan(target)
    if not bool(known.any()):
        return False
    v, t = value[known], target[known]
    return not bool(v.isnan().any()) and bool(torch.allclose(v, t, rtol=rtol, atol=atol))


def read_answer(out: Any, exercise: Exercise) -> tuple[torch.Tensor | None, str | None]:
    r"""The reader's answer as a float64 CPU tensor, or a message saying why it cannot be read."""
    kind = "an int" if exercise.integer else "a torch.Tensor (or a number)"
    wrong_type = f"return {exercise.what} as {kind}, not {type(out).__name__}"
    if isinstance(out, torch.Tensor):
        if out.is_complex():
            return None, "your result is a complex tensor; return real numbers"
        if out.device.type == "meta":
            return None, "your tensor is on the meta device and holds no values; compute numbers"
        try:
            value = out.detach().to("cpu", torch.float64)
        except (RuntimeError, TypeError) as exc:
            return None, f"your result cannot be read as numbers: {exc}"
    elif isinstance(out, (np.ndarray, np.generic)) and np.asarray(out).dtype.kind in "biuf":
        value = torch.from_numpy(np.asarray(out, dtype=np.float64).copy())
    elif is_real_number(out):
        value = torch.tensor(float(out), dtype=torch.float64)
    elif isinstance(out, (list, tuple)) and not exercise.integer:
        try:
            value = torch.tensor(out, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            return None, wrong_type
    else:
        return None, wrong_type
    if exercise.integer and not (
        value.numel() == 1
        and bool(torch.isfinite(value).all())
        and float(value) == round(float(value))
    ):
        return None, wrong_type
    return value, None


def _give(exercise: Exercise, args: Args) -> tuple[Args, dict[int, torch.Tensor]]:
    r"""Copies of ``args`` for the reader; those in ``exercise.grad`` hang off fresh leaves."""
    given = list(clone_args(args))
    leaves = {}
    for i in exercise.grad:
        leaves[i] = given[i].requires_grad_(True)
        given[i] = leaves[i].clone()  # not a leaf, so an in-place answer is allowed
    return tuple(given), leaves


def _changed(args: Args, given: Args) -> bool:
    return any(
        isinstance(a, torch.Tensor)
        and (a.shape != g.shape or a.dtype != g.dtype or not torch.equal(a, g.detach()))
        for a, g in zip(args, given, strict=True)
    )


def _right(
    exercise: Exercise, args: Args, value: torch.Tensor, expected: torch.Tensor
) -> Convention | None:
    r"""The reference (as a plain Convention) or the convention the answer matches, else None."""
    tol = (exercise.rtol, exercise.atol)
    if same(value, expected, *tol):
        return Convention(exercise.reference)
    for convention in exercise.conventions:
        if same(value, evaluate(convention.compute, args), *tol):
            return convention
    return None


def _grad_problem(
    exercise: Exercise,
    args: Args,
    out: Any,
    leaves: dict[int, torch.Tensor],
    compute: Callable[..., Any],
    gen: torch.Generator,
) -> str | None:
    r"""None if the gradient of the reader's answer equals the reference's, else a message."""
    names = [exercise.arg_names[i] for i in exercise.grad]
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return (
            f"right values, but no gradient reaches {' and '.join(names)}: do not use .detach(), "
            ".data, .item(), NumPy, torch.tensor(...) or torch.no_grad() here" + exercise.grad_note
        )
    upstream = torch.randn(out.shape, generator=gen, dtype=torch.float64)
    ref_args = list(clone_args(args, double=True))
    for i in exercise.grad:
        ref_args[i].requires_grad_(True)
    ref = torch.as_tensor(compute(*ref_args)).double().reshape(out.shape)
    want = torch.autograd.grad((ref * upstream).sum(), [ref_args[i] for i in exercise.grad])
    try:
        got = torch.autograd.grad(
            (out.double() * upstream).sum(), [leaves[i] for i in exercise.grad], allow_unused=True
        )
    except RuntimeError as exc:
        return f"right values, but autograd cannot differentiate your result: {exc}"
    for name, g, w in zip(names, got, want, strict=True):
        if g is None or not same(g.double(), w, 10 * exercise.rtol, 10 * exercise.atol):
            return (
                f"right values, but the gradient with respect to {name} is wrong: part of the "
                "computation is cut off from autograd (.detach(), .data, .item(), NumPy) or "
                "computed from a different formula that happens to agree" + exercise.grad_note
            )
    return None


def _explain(
    exercise: Exercise, fn: Callable[..., Any], args: Args, value: torch.Tensor, expected: Any
) -> str:
    r"""The message for a wrong answer: the first matching mistake, else a shape or general hint."""
    for mistake in exercise.mistakes:
        if same(value, evaluate(mistake.compute, args), exercise.rtol, exercise.atol):
            return mistake.message
    if not bool(torch.isfinite(value).all()):
        return exercise.nonfinite
    if exercise.diagnose is not None:
        message = exercise.diagnose(fn, clone_args(args), value)
        if message:
            return message
    if expected.numel() == 1 and value.numel() != 1:
        return f"{exercise.what} is one number; got a tensor of shape {tuple(value.shape)}"
    if expected.numel() != 1 and value.shape != expected.shape:
        return (
            f"expected {exercise.what}, shape {tuple(expected.shape)}; "
            f"got shape {tuple(value.shape)}"
        )
    if exercise.locate is not None:
        return f"{exercise.hint}; {exercise.locate(clone_args(args), value, expected)}"
    return exercise.hint


def _check_case(
    exercise: Exercise,
    fn: Callable[..., Any],
    args: Args,
    edge: Edge | None,
    state: _State,
) -> str | Feedback | None:
    r"""None if the reader's answer is right on ``args``; else the message (or call feedback).

    A right answer on a random case queues its gradient check in ``state.grads``: gradients are
    compared only once every value is right, so a value mistake is named before a gradient one.
    """
    expected = evaluate(exercise.reference, args)
    given, leaves = _give(exercise, args)
    out, crashed = call_reader(fn, *given, exercise=exercise.name)
    if crashed is not None:
        return crashed
    state.in_place |= _changed(args, given)
    value, problem = read_answer(out, exercise)
    if problem is not None:
        return problem
    match = _right(exercise, args, value, expected)
    if match is None:
        return edge.message if edge is not None else _explain(exercise, fn, args, value, expected)
    if match.note and match.note not in state.notes:
        state.notes.append(match.note)
    if exercise.grad and edge is None:
        state.grads.append((args, out, leaves, match.compute))
    return None


def _ok(value: torch.Tensor, target: torch.Tensor, exercise: Exercise, scale: float = 1.0) -> bool:
    return same(value, target, scale * exercise.rtol, scale * exercise.atol)


def _caught(exercise: Exercise, cases: list[Args], refs: list[list[torch.Tensor]]) -> bool:
    r"""Whether, on these cases, each mistake is caught and named by its own message."""
    try:
        values = [[evaluate(m.compute, args) for m in exercise.mistakes] for args in cases]
    except (RuntimeError, ValueError, IndexError):
        return False
    for i in range(len(exercise.mistakes)):
        caught = False
        for right, wrong in zip(refs, values, strict=True):
            v = wrong[i]
            if any(_ok(v, r, exercise) for r in right):
                continue  # this case cannot tell the mistake from a right answer; try the next
            if any(_ok(v, r, exercise, 100.0) for r in right):
                return False  # too close to call
            first = next((j for j, w in enumerate(wrong) if _ok(v, w, exercise)), None)
            if first != i:
                return False
            caught = True
            break
        if not caught:
            return False
    return True


def draw_cases(exercise: Exercise, gen: torch.Generator, tries: int = 200) -> list[Args]:
    r"""Two random cases with different, finite answers on which every mistake is caught."""
    for _ in range(tries):
        cases = [exercise.draw(gen, case) for case in (0, 1)]
        refs = [
            [evaluate(exercise.reference, a)]
            + [evaluate(c.compute, a) for c in exercise.conventions]
            for a in cases
        ]
        if not all(bool(torch.isfinite(r[0]).all()) for r in refs):
            continue
        if _ok(refs[0][0], refs[1][0], exercise, 100.0):
            continue  # a constant answer could pass both
        if _caught(exercise, cases, refs):
            return cases
    raise RuntimeError(f"{exercise.name}: no distinguishing inputs in {tries} draws (a bug)")


def check(exercise: Exercise, fn: Callable[..., Any], *, seed: int | None = None) -> Feedback:
    r"""Run ``fn`` on fresh random cases and the edge cases of ``exercise``; say what is wrong.

    ``seed`` fixes the inputs (for tests); by default every call draws a new seed.
    """
    if not callable(fn):
        _, feedback = call_reader(fn, exercise=exercise.name)
        assert feedback is not None
        return feedback
    gen = torch.Generator().manual_seed(fresh_seed() if seed is None else seed)
    state = _State()
    trials = [(args, None) for args in draw_cases(exercise, gen)]
    trials += [(edge.draw(gen), edge) for edge in exercise.edges]
    for args, edge in trials:
        result = _check_case(exercise, fn, args, edge, state)
        if isinstance(result, Feedback):
            return result
        if result is not None:
            return Feedback(False, result, exercise.name)
    for args, out, leaves, compute in state.grads:
        problem = _grad_problem(exercise, args, out, leaves, compute, gen)
        if problem is not None:
            return Feedback(False, problem, exercise.name)
    message = exercise.passed + "".join(" " + note for note in state.notes)
    return Feedback(True, message + (_INPLACE_NOTE if state.in_place else ""), exercise.name)
