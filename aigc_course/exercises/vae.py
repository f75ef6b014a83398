r"""Checkers for the VAE chapter: the reparameterisation, the negative ELBO, the IW bound, beta = 0."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from aigc_course.exercises.engine import (
    Args,
    Edge,
    Exercise,
    Mistake,
    check,
    clone_args,
    rand_int,
    read_answer,
)
from aigc_course.exercises.feedback import Feedback, call_reader
from aigc_course.losses.vae import bernoulli_nll, gaussian_kl, importance_weighted_bound


def _reparam_inputs(gen: torch.Generator, case: int) -> Args:
    shape = (rand_int(gen, 3, 6), rand_int(gen, 2, 4))
    return tuple(torch.randn(shape, generator=gen, dtype=torch.float64) for _ in range(3))


def _draws_noise(fn: Callable[..., object], args: Args, value: torch.Tensor) -> str | None:
    again, _ = call_reader(fn, *clone_args(args))
    again_value, _ = read_answer(again, REPARAMETERIZE)
    if again_value is not None and not torch.equal(again_value, value):
        return (
            "two calls with the same eps gave different z: use the eps you are given, "
            "do not draw new noise inside the function"
        )
    return None


REPARAMETERIZE = Exercise(
    name="check_reparameterize",
    arg_names=("mu", "logvar", "eps"),
    draw=_reparam_inputs,
    reference=lambda mu, logvar, eps: mu + torch.exp(0.5 * logvar) * eps,
    passed="z = mu + exp(logvar / 2) * eps; gradients reach mu (dz/dmu = 1) and logvar (dz/dlogvar = sigma * eps / 2), and none go into the noise.",
    what="z (the shape of mu)",
    hint="z differs from mu + exp(logvar / 2) * eps",
    grad=(0, 1),
    grad_note="; that is the whole point of the trick",
    mistakes=(
        Mistake(
            lambda mu, lv, eps: mu + torch.exp(lv) * eps,
            "you multiplied eps by the variance exp(logvar); the standard deviation is exp(logvar / 2)",
        ),
        Mistake(
            lambda mu, lv, eps: mu + lv * eps,
            "you used logvar as if it were the standard deviation; sigma = exp(logvar / 2)",
        ),
        Mistake(
            lambda mu, lv, eps: mu + 0.5 * lv * eps,
            "you multiplied eps by logvar / 2; exponentiate it: sigma = exp(logvar / 2)",
        ),
        Mistake(
            lambda mu, lv, eps: torch.exp(0.5 * lv) * eps,
            "the mean is missing: z = mu + sigma * eps",
        ),
        Mistake(
            lambda mu, lv, eps: mu * eps + torch.exp(0.5 * lv),
            "you multiplied mu by the noise; the noise is scaled by sigma and added to mu",
        ),
        Mistake(
            lambda mu, lv, eps: mu,
            "the noise is missing: z = mu + sigma * eps, with the eps you are given",
        ),
    ),
    diagnose=_draws_noise,
)


def check_reparameterize(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(mu, logvar, eps)``: :math:`z = \mu + \exp(\tfrac12\log\sigma^2)\,\varepsilon`, differentiable in mu and logvar.

    Fresh random float64 inputs; the gradients of z with respect to mu and logvar (autograd, with a
    random upstream gradient) must equal the reference's, so ``.detach()`` on any part fails.
    Accepted: ``mu + torch.exp(0.5 * logvar) * eps``, ``mu + logvar.mul(0.5).exp() * eps``, an
    in-place answer on ``eps``.
    """
    return check(REPARAMETERIZE, fn)


def _elbo_inputs(gen: torch.Generator, case: int) -> Args:
    b, h, d = rand_int(gen, 3, 6), rand_int(gen, 3, 5), rand_int(gen, 2, 4)
    x = torch.rand(b, 1, h, h, generator=gen)
    logits = torch.randn(b, 1, h, h, generator=gen) * 2
    return x, logits, torch.randn(b, d, generator=gen), torch.randn(b, d, generator=gen) * 0.5


def _elbo(
    x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, lv: torch.Tensor
) -> torch.Tensor:
    return (bernoulli_nll(logits, x) + gaussian_kl(mu, lv)).mean()


def _kl_as_log_sigma(mu: torch.Tensor, lv: torch.Tensor) -> torch.Tensor:
    return 0.5 * (mu**2 + (2 * lv).exp() - 2 * lv - 1).sum(1)


NEGATIVE_ELBO = Exercise(
    name="check_negative_elbo",
    arg_names=("x", "logits", "mu", "logvar"),
    draw=_elbo_inputs,
    reference=_elbo,
    passed="mean over the batch of (BCE summed over the pixels + KL): the negative ELBO in nats per image.",
    what="the negative ELBO",
    hint="not yet right: the negative ELBO is the batch mean of (BCE summed over the pixels + KL), from logits",
    rtol=1e-4,
    atol=1e-4,
    grad=(1, 2, 3),
    mistakes=(
        Mistake(
            lambda x, lg, mu, lv: (
                F.binary_cross_entropy_with_logits(lg, x) + gaussian_kl(mu, lv).mean()
            ),
            "the reconstruction term is averaged over the pixels (the default reduction of F.binary_cross_entropy); sum it over the pixels, then average over the batch",
        ),
        Mistake(
            lambda x, lg, mu, lv: bernoulli_nll(lg, x).mean(),
            "the KL term is missing: without it this is a (noisy) autoencoder loss, not a VAE's",
        ),
        Mistake(
            lambda x, lg, mu, lv: gaussian_kl(mu, lv).mean(), "the reconstruction term is missing"
        ),
        Mistake(
            lambda x, lg, mu, lv: (bernoulli_nll(lg, x) - gaussian_kl(mu, lv)).mean(),
            "the KL enters with the wrong sign: the ELBO subtracts it, so the negative ELBO adds it",
        ),
        Mistake(
            lambda x, lg, mu, lv: (bernoulli_nll(lg, x) + gaussian_kl(mu, lv)).sum(),
            "you summed over the batch; average over it so the loss does not grow with the batch size",
        ),
        Mistake(
            lambda x, lg, mu, lv: bernoulli_nll(lg, x) + gaussian_kl(mu, lv),
            "the loss is one number: average the per-image values over the batch",
        ),
        Mistake(
            lambda x, lg, mu, lv: _elbo(x, torch.sigmoid(lg), mu, lv),
            "you applied a sigmoid before a loss that takes logits (sigmoid applied twice)",
        ),
        Mistake(
            lambda x, lg, mu, lv: (
                bernoulli_nll(lg, x) + 0.5 * (mu.pow(2) + lv.exp() - lv - 1).mean(1)
            ).mean(),
            "the KL is averaged over the latent dimensions; sum it over them",
        ),
        Mistake(
            lambda x, lg, mu, lv: (bernoulli_nll(lg, x) + _kl_as_log_sigma(mu, lv)).mean(),
            "the KL treats logvar as log(sigma); it is log(sigma^2), so sigma^2 = exp(logvar)",
        ),
        Mistake(
            lambda x, lg, mu, lv: (
                ((torch.sigmoid(lg) - x) ** 2).flatten(1).sum(1) + gaussian_kl(mu, lv)
            ).mean(),
            "the reconstruction term is a squared error; this VAE's decoder is Bernoulli, so use the binary cross-entropy from logits (F.binary_cross_entropy_with_logits, summed over the pixels)",
        ),
    ),
)


def check_negative_elbo(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(x, logits, mu, logvar)``: the batch mean of :math:`\sum_i \mathrm{BCE}(\ell_i, x_i) + \KL(q\,\|\,p)`.

    Fresh random float32 inputs; the gradient with respect to the logits, mu and logvar must match
    too. Accepted: ``F.binary_cross_entropy_with_logits(..., reduction="none")`` summed per image,
    ``F.binary_cross_entropy_with_logits(..., reduction="sum") / B``, the closed-form KL.
    """
    return check(NEGATIVE_ELBO, fn)


def _iw(log_w: torch.Tensor) -> torch.Tensor:
    zeros = torch.zeros_like(log_w)
    return importance_weighted_bound(log_w, zeros, zeros)


def _iw_inputs(gen: torch.Generator, case: int) -> Args:
    k = rand_int(gen, 3, 8)
    b = k + rand_int(gen, 1, 3)  # K != B, so reducing over the wrong axis shows in the shape
    offset = float(torch.empty(()).uniform_(50, 150, generator=gen))
    return (torch.randn(k, b, generator=gen, dtype=torch.float64) * 3 - offset,)


def _iw_extreme(gen: torch.Generator) -> Args:
    k, b = rand_int(gen, 2, 5), rand_int(gen, 2, 4)
    return (torch.randn(k, b, generator=gen, dtype=torch.float64) - 1000 * rand_int(gen, 1, 3),)


IW_BOUND = Exercise(
    name="check_iw_bound",
    arg_names=("log_w",),
    draw=_iw_inputs,
    reference=_iw,
    passed="logsumexp over the samples minus log K: the importance-weighted bound, finite for any log-weights.",
    what="one bound per example",
    hint="not yet right: the bound is log of the mean over the K samples of exp(log_w), per example",
    mistakes=(
        Mistake(
            lambda w: w.mean(0),
            "that is the mean of the log-weights, the ELBO; the bound is the log of the mean of the weights",
        ),
        Mistake(
            lambda w: torch.logsumexp(w, 0),
            "the - log K is missing: log-sum-exp sums the weights, the bound averages them",
        ),
        Mistake(
            lambda w: w.max(0).values, "that is the largest log-weight; average the weights instead"
        ),
        Mistake(
            lambda w: torch.logsumexp(w, 0) - math.log(w.shape[1]),
            "you subtracted log B (the number of examples); the average runs over the K samples, so subtract log K",
        ),
        Mistake(
            lambda w: torch.logsumexp(w, 1) - math.log(w.shape[1]),
            "you reduced over the examples (dim 1); reduce over the K samples, dim 0",
        ),
        Mistake(
            lambda w: torch.logsumexp(w, 1) - math.log(w.shape[0]),
            "you reduced over the examples (dim 1); reduce over the K samples, dim 0",
        ),
    ),
    edges=(
        Edge(
            _iw_extreme,
            "right formula, but log-weights near -1000 (normal for a 784-pixel image) give -inf or a wrong value: exp underflows. Use torch.logsumexp(log_w, dim=0) - log K",
        ),
    ),
)


def check_iw_bound(fn: Callable[[torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(log_w)`` for log-weights (K, B): :math:`\log\frac1K\sum_k e^{\log w_k}`, computed stably, shape (B,).

    Fresh random log-weights around -50 to -150 with K != B, then log-weights near -1000 to -3000,
    where ``exp`` underflows. Accepted: ``torch.logsumexp(log_w, 0) - math.log(K)``, a max-shifted
    log-mean-exp, any float dtype.
    """
    return check(IW_BOUND, fn)


_BETA_ZERO_CHOICES = {
    "a": "Samples improve, because the decoder no longer has to fight the KL term.",
    "b": "Reconstructions get sharper, the KL grows, and decoding z ~ N(0, I) gives poor images: "
    "the model behaves like a plain autoencoder.",
    "c": "Training diverges: the loss goes to minus infinity.",
    "d": "Nothing changes: beta only rescales the loss.",
}


def check_beta_zero_prediction(answer: str) -> Feedback:
    r"""Check a multiple-choice prediction (``"a"`` to ``"d"``) of what training with :math:`\beta = 0` does."""
    if not isinstance(answer, str) or answer.strip().lower() not in _BETA_ZERO_CHOICES:
        return Feedback(
            False,
            f"answer with one letter, one of {sorted(_BETA_ZERO_CHOICES)}; got {answer!r}",
            "check_beta_zero_prediction",
        )
    choice = answer.strip().lower()
    if choice == "b":
        return Feedback(
            True,
            "with beta = 0 nothing pulls q(z|x) towards the prior: codes spread out and shrink their "
            "noise, reconstructions improve, the KL grows, and N(0, I) no longer matches where the codes "
            "are, so samples degrade. The beta sweep below shows it.",
            "check_beta_zero_prediction",
        )
    reasons = {
        "a": "the KL term is what makes N(0, I) a good place to sample from; without it samples get worse, not better",
        "c": "the reconstruction term is a cross-entropy, bounded below by 0 for binary pixels, so nothing diverges",
        "d": "beta multiplies only the KL term, not the whole loss, so it changes the optimum",
    }
    return Feedback(False, reasons[choice], "check_beta_zero_prediction")
