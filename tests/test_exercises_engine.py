r"""Properties every exercise checker must have, tested over the registry of all checkers.

Each checker: accepts the reference, an in-place answer and each accepted convention; names each
known mistake; rejects constants (0, 1, a number printed in an earlier failure, the answer to an
earlier call), an echo of the input, NaN, complex and meta tensors, and a reader that mutates its
inputs; never prints the expected value in a failure; draws different inputs on every call; and
carries a machine-readable record for the notebook.
"""

from __future__ import annotations

import math
import re
import sys

import pytest
import torch

import aigc_course.exercises as exercises
from aigc_course.exercises import ANSWER_CHECKERS, EXERCISES, Feedback
from aigc_course.exercises.engine import check, clone_args, draw_cases, evaluate
from aigc_course.exercises.feedback import MIME_TYPE

NAMES = sorted(EXERCISES)
SEEDS = (0, 1)


def _reference_reader(ex):
    return lambda *args: ex.reference(*args)


def _cases(ex, seed):
    r"""The random and edge cases ``check(ex, fn, seed=seed)`` tries, in order."""
    gen = torch.Generator().manual_seed(seed)
    cases = draw_cases(ex, gen)
    return cases + [edge.draw(gen) for edge in ex.edges]


def _expected_numbers(ex, seed):
    values = [evaluate(ex.reference, args).flatten() for args in _cases(ex, seed)]
    return torch.cat(values).tolist()


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _significant_digits(token):
    mantissa = token.lstrip("-").split("e")[0].replace(".", "")
    return len(mantissa.strip("0"))


def _assert_hides_expected(ex, seed, message):
    expected = _expected_numbers(ex, seed)
    for token in _NUMBER.findall(message):
        if _significant_digits(token) < 3:
            continue  # "0", "2", "0.5", "-200", "1e-9": words of the message, not a result
        t = float(token)
        leaked = [e for e in expected if math.isclose(t, e, rel_tol=1e-3, abs_tol=1e-9)]
        assert not leaked, f"{ex.name} prints {token}, an expected value: {message}"


def _not_yet(ex, fn, seed):
    fb = check(ex, fn, seed=seed)
    assert isinstance(fb, Feedback) and not fb.passed, fb
    assert fb.exercise == ex.name
    assert repr(fb) == "NOT YET: " + fb.message
    _assert_hides_expected(ex, seed, fb.message)
    return fb


# ------------------------------------------------------------------ the registry


def test_registry_holds_every_public_checker():
    public = {n for n in exercises.__all__ if n.startswith("check_")}
    assert public == set(EXERCISES) | set(ANSWER_CHECKERS)
    assert len(EXERCISES) == 32  # 24 + autoregressive 4 + normalizing flows 4
    for name, ex in EXERCISES.items():
        assert ex.name == name == getattr(exercises, name).__name__
        assert getattr(exercises, name).__doc__


# ------------------------------------------------------------------ right answers pass


@pytest.mark.parametrize("name", NAMES)
def test_accepts_the_reference(name):
    ex = EXERCISES[name]
    for seed in SEEDS:
        fb = check(ex, _reference_reader(ex), seed=seed)
        assert fb.passed, fb
        assert fb.message == ex.passed and fb.exercise == name
    public = getattr(exercises, name)(_reference_reader(ex))  # fresh random inputs
    assert public.passed and public.exercise == name, public


@pytest.mark.parametrize("name", [n for n in NAMES if not EXERCISES[n].grad])
def test_accepts_an_answer_that_scribbles_on_its_inputs_afterwards(name):
    ex = EXERCISES[name]

    def scribble(*args):
        out = ex.reference(*clone_args(args))
        for a in args:
            if isinstance(a, torch.Tensor):
                a.fill_(0)
        return out

    fb = check(ex, scribble, seed=0)
    assert fb.passed, fb
    assert "changed its input in place" in fb.message


IN_PLACE = {
    "check_to_signed": lambda x: x.mul_(2).sub_(1),
    "check_bits_per_dim": lambda nll, d: nll.div_(d * math.log(2)),
    "check_reparameterize": lambda mu, lv, eps: eps.mul_(lv.mul(0.5).exp()).add_(mu),
    "check_nonsaturating_loss": lambda g: torch.nn.functional.softplus(g.neg_()).mean(),
    "check_optimal_discriminator": lambda p, q: p.div_(p + q),
    "check_gaussian_kl": lambda mu, lv: 0.5 * (mu.pow_(2).add_(lv.exp()).sub_(lv).sub_(1)).sum(1),
    "check_interpolation": lambda z0, z1, s: torch.stack(
        [z0.clone().lerp_(z1, float(t)) for t in torch.linspace(0, 1, s)]
    ),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_accepts_an_in_place_answer(name):
    for seed in SEEDS:
        fb = check(EXERCISES[name], IN_PLACE[name], seed=seed)
        assert fb.passed, fb


@pytest.mark.parametrize(
    "name,index",
    [(n, i) for n in NAMES for i in range(len(EXERCISES[n].conventions))],
)
def test_accepts_each_convention(name, index):
    ex = EXERCISES[name]
    convention = ex.conventions[index]
    fb = check(ex, convention.compute, seed=0)
    assert fb.passed, fb
    assert fb.message.startswith(ex.passed) and convention.note in fb.message


def test_every_convention_is_listed_in_its_checkers_docstring():
    doc = exercises.check_discriminator_loss.__doc__
    assert "average" in doc and "pix2pix" in doc


# ------------------------------------------------------------------ known mistakes are named


@pytest.mark.parametrize(
    "name,index", [(n, i) for n in NAMES for i in range(len(EXERCISES[n].mistakes))]
)
def test_names_each_known_mistake(name, index):
    ex = EXERCISES[name]
    mistake = ex.mistakes[index]
    for seed in SEEDS:
        fb = _not_yet(ex, mistake.compute, seed)
        assert fb.message == mistake.message


@pytest.mark.parametrize(
    "name,index", [(n, i) for n in NAMES for i in range(len(EXERCISES[n].edges))]
)
def test_names_each_edge_case(name, index):
    ex = EXERCISES[name]
    edge_args = _cases(ex, 0)[2 + index]
    edge_key = clone_args(edge_args)

    def equal(a, b):
        if isinstance(a, torch.Tensor):
            return a.shape == b.shape and torch.equal(a.detach(), b)
        return a == b

    def right_except_on_the_edge(*args):
        same = all(equal(a, b) for a, b in zip(args, edge_key, strict=True))
        out = ex.reference(*args)
        return out * float("nan") if same else out

    fb = _not_yet(ex, right_except_on_the_edge, 0)
    assert fb.message == ex.edges[index].message


# ------------------------------------------------------------------ cheats fail


def _constant_like(ex, seed, value):
    expected = evaluate(ex.reference, _cases(ex, seed)[0])
    if ex.integer:
        return lambda *a: int(value)
    if expected.numel() == 1:
        return lambda *a: torch.tensor(float(value))
    return lambda *a: torch.full(expected.shape, float(value))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("value", [0.0, 1.0, -1.0])
def test_rejects_a_constant(name, value):
    ex = EXERCISES[name]
    for seed in SEEDS:
        _not_yet(ex, _constant_like(ex, seed, value), seed)


@pytest.mark.parametrize("name", NAMES)
def test_rejects_the_answer_of_an_earlier_call(name):
    ex = EXERCISES[name]
    earlier = evaluate(ex.reference, _cases(ex, 10)[0])
    copied = (
        int(earlier) if ex.integer else (earlier.clone() if earlier.numel() > 1 else earlier.item())
    )
    for seed in SEEDS:
        _not_yet(ex, lambda *a: copied, seed)


@pytest.mark.parametrize("name", NAMES)
def test_rejects_numbers_printed_in_an_earlier_failure(name):
    ex = EXERCISES[name]
    messages = [check(ex, m.compute, seed=5).message for m in ex.mistakes]
    messages.append(check(ex, lambda *a: 12345, seed=5).message)
    numbers = {float(t) for msg in messages for t in _NUMBER.findall(msg)}
    for value in sorted(numbers)[:20]:
        _not_yet(ex, _constant_like(ex, 6, value), 6)


@pytest.mark.parametrize("name", NAMES)
def test_rejects_an_echo_of_the_input(name):
    ex = EXERCISES[name]
    for i in range(len(ex.arg_names)):
        for seed in SEEDS:
            _not_yet(ex, lambda *a, i=i: a[i], seed)


@pytest.mark.parametrize("name", NAMES)
def test_rejects_nan_inf_complex_and_meta(name):
    ex = EXERCISES[name]

    def scaled(factor):
        return lambda *a: torch.as_tensor(ex.reference(*a)).detach() * factor

    for fn in (scaled(float("nan")), scaled(float("inf"))):
        fb = _not_yet(ex, fn, 0)
        if not ex.integer:
            assert any(w in fb.message for w in ("NaN", "inf", "finite")) or ex.edges, fb
    fb = _not_yet(ex, lambda *a: torch.as_tensor(ex.reference(*a)).detach() + 5j, 0)
    assert "complex" in fb.message
    fb = _not_yet(
        ex, lambda *a: torch.empty(torch.as_tensor(ex.reference(*a)).shape, device="meta"), 0
    )
    assert "meta" in fb.message
    for odd in ("3", [1.0], None, True, object()):
        _not_yet(ex, lambda *a, odd=odd: odd, 0)


@pytest.mark.parametrize("name", NAMES)
def test_a_reader_that_mutates_its_inputs_cannot_pass(name):
    ex = EXERCISES[name]

    def cheat(*args):
        for a in args:
            if isinstance(a, torch.Tensor) and a.is_floating_point():
                a.data.fill_(0.25)  # then answer for the inputs as they now are
        return ex.reference(*args)

    for seed in SEEDS:
        _not_yet(ex, cheat, seed)


@pytest.mark.parametrize("name", NAMES)
def test_reader_crashes_and_exits_become_feedback(name):

    def stub(*a):
        raise NotImplementedError

    def bail(*a):
        sys.exit(3)

    fb = getattr(exercises, name)(stub)
    assert not fb.passed and fb.exercise == name and "not implemented yet" in fb.message
    fb = getattr(exercises, name)(bail)
    assert not fb.passed and fb.exercise == name and "SystemExit" in fb.message
    fb = getattr(exercises, name)(42)
    assert not fb.passed and fb.exercise == name and "expected a function" in fb.message


# ------------------------------------------------------------------ gradients


GRAD_NAMES = [n for n in NAMES if EXERCISES[n].grad]


def test_the_differentiable_exercises_check_gradients():
    assert set(GRAD_NAMES) >= {"check_reparameterize", "check_negative_elbo", "check_gaussian_kl"}


@pytest.mark.parametrize("name", GRAD_NAMES)
def test_right_values_without_a_gradient_fail(name):
    ex = EXERCISES[name]
    fb = _not_yet(ex, lambda *a: torch.as_tensor(ex.reference(*a)).detach().clone(), 0)
    assert "no gradient reaches" in fb.message


@pytest.mark.parametrize("name", GRAD_NAMES)
def test_right_values_with_a_detached_part_fail(name):
    ex = EXERCISES[name]
    last = ex.grad[-1]

    def half_detached(*args):
        args = list(args)
        kept = args[last]
        args[last] = kept.detach()
        return ex.reference(*args) + 0 * kept.sum()

    fb = _not_yet(ex, half_detached, 0)
    assert f"gradient with respect to {ex.arg_names[last]} is wrong" in fb.message


def test_reparameterize_checks_gradient_values_not_only_their_presence():
    ex = EXERCISES["check_reparameterize"]

    def wrong_gradient(mu, lv, eps):
        sigma = torch.exp(0.5 * lv)
        return mu + sigma.detach() * eps + 0.1 * (lv - lv.detach())  # right value, dz/dlv = 0.1

    fb = _not_yet(ex, wrong_gradient, 0)
    assert "gradient with respect to logvar is wrong" in fb.message


# ------------------------------------------------------------------ fresh inputs


@pytest.mark.parametrize("name", NAMES)
def test_two_calls_use_different_inputs(name):
    ex = EXERCISES[name]
    seen = []

    def spy(*args):
        seen.append(clone_args(args))
        return ex.reference(*args)

    checker = getattr(exercises, name)
    assert checker(spy).passed
    first_call = list(seen)
    seen.clear()
    assert checker(spy).passed
    first = first_call[0][0]
    assert not any(s[0].shape == first.shape and torch.equal(s[0], first) for s in seen), (
        "the second call repeated the first call's inputs"
    )
    assert first_call[0][0].shape != first_call[1][0].shape or not torch.equal(
        first_call[0][0], first_call[1][0]
    ), "the two random cases of one call are the same"


@pytest.mark.parametrize("name", NAMES)
def test_the_two_random_cases_have_different_answers(name):
    ex = EXERCISES[name]
    for seed in SEEDS:
        a, b = (
            evaluate(ex.reference, args)
            for args in draw_cases(ex, torch.Generator().manual_seed(seed))
        )
        assert a.shape != b.shape or not torch.allclose(a, b)


# ------------------------------------------------------------------ machine-readable record


@pytest.mark.parametrize("name", NAMES)
def test_mime_bundle(name):
    ex = EXERCISES[name]
    for fb in (check(ex, _reference_reader(ex), seed=0), check(ex, lambda *a: 0, seed=0)):
        bundle = fb._repr_mimebundle_()
        assert set(bundle) == {"text/plain", MIME_TYPE}
        assert bundle["text/plain"] == repr(fb)
        assert bundle[MIME_TYPE] == {"exercise": name, "passed": fb.passed, "message": fb.message}
        assert fb._repr_mimebundle_(include=None, exclude=None) == bundle


@pytest.mark.parametrize(
    "checker,answers",
    [
        (exercises.check_gradient_prediction, [(0.001, 0.999), (0.999, 0.001), "x", (math.nan, 1)]),
        (exercises.check_beta_zero_prediction, ["b", "a", "c", "d", "?", 3]),
    ],
)
def test_answer_checkers_name_their_exercise(checker, answers):
    results = [checker(a) for a in answers]
    assert results[0].passed and not any(r.passed for r in results[1:])
    for fb in results:
        assert fb.exercise == checker.__name__
        record = fb._repr_mimebundle_()[MIME_TYPE]
        assert record == {"exercise": checker.__name__, "passed": fb.passed, "message": fb.message}
        assert repr(fb).startswith("PASSED: " if fb.passed else "NOT YET: ")


def test_every_exercise_in_the_package_registers_itself():
    """Scan every module under aigc_course/exercises independently of CHECKER_MODULES."""
    import importlib
    import pkgutil

    import aigc_course.exercises as package
    from aigc_course.exercises.engine import Exercise as Declared

    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Declared):
                found[value.name] = value
    assert found == EXERCISES
    for name in found:
        assert getattr(package, name).__name__ == name  # the checker is importable by its name


def test_registering_refuses_duplicates_and_orphans():
    import types

    from aigc_course.exercises import _register, concepts

    twin = types.ModuleType(concepts.__name__)  # same module name: its functions count as its own
    twin.check_to_signed = concepts.check_to_signed
    with pytest.raises(RuntimeError, match="two checkers"):
        _register((concepts, twin))
    orphan = types.ModuleType("orphan")
    orphan.EX = concepts.TO_SIGNED
    with pytest.raises(RuntimeError, match="without a check_ function"):
        _register((orphan,))
