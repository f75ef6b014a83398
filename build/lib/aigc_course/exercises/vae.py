r"""Checkers for the VAE chapter: the reparameterisation, the negative ELBO, the IW bound, beta = 0."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from aigc_course.exercises.feedback import Feedback, call_reader
from aigc_course.losses.vae import bernoulli_nll, gaussian_kl, importance_weighted_bound


def _close(out: torch.Tensor, expected: torch.Tensor, tol: float = 1e-5) -> bool:
    return out.shape == expected.shape and bool(
        torch.allclose(out.double(), expected.double(), atol=tol, rtol=tol)
    )


def check_reparameterize(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(mu, logvar, eps)``: :math:`z = \mu + \exp(\tfrac12\log\sigma^2)\,\varepsilon`, differentiable in mu and logvar."""
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_()
    logvar = torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_()
    eps = torch.randn(4, 3, generator=g, dtype=torch.float64)
    out, fb = call_reader(fn, mu, logvar, eps)
    if fb is not None:
        return fb
    if not isinstance(out, torch.Tensor):
        return Feedback(False, f"return a torch.Tensor, not {type(out).__name__}")
    with torch.no_grad():
        std = torch.exp(0.5 * logvar)
        expected = mu + std * eps
        wrong = {
            "you multiplied eps by the variance exp(logvar); the standard deviation is exp(logvar / 2)": mu
            + torch.exp(logvar) * eps,
            "you used logvar as if it were the standard deviation; sigma = exp(logvar / 2)": mu
            + logvar * eps,
            "you multiplied eps by logvar / 2; exponentiate it: sigma = exp(logvar / 2)": mu
            + 0.5 * logvar * eps,
            "the mean is missing: z = mu + sigma * eps": std * eps,
            "you multiplied mu by the noise; the noise is scaled by sigma and added to mu": mu * eps
            + std,
        }
    if out.shape != expected.shape:
        return Feedback(
            False, f"z must have the shape of mu, {tuple(mu.shape)}; got {tuple(out.shape)}"
        )
    if not _close(out.detach(), expected):
        for message, value in wrong.items():
            if _close(out.detach(), value):
                return Feedback(False, message)
        again, _ = call_reader(fn, mu, logvar, eps)
        if isinstance(again, torch.Tensor) and not _close(again.detach(), out.detach()):
            return Feedback(
                False,
                "two calls with the same eps gave different z: use the eps you are given, "
                "do not draw new noise inside the function",
            )
        return Feedback(False, "z differs from mu + exp(logvar / 2) * eps")
    if out.grad_fn is None:
        return Feedback(
            False,
            "right values, but z is cut off from mu and logvar (no gradient): do not use "
            ".detach(), .data, .item() or torch.no_grad() here; that is the whole point of the trick",
        )
    grad_mu, grad_logvar = torch.autograd.grad(out.sum(), (mu, logvar), allow_unused=True)
    if grad_mu is None or grad_logvar is None:
        return Feedback(
            False, "z must depend on both mu and logvar through differentiable operations"
        )
    return Feedback(
        True,
        "z = mu + exp(logvar / 2) * eps; gradients reach mu (dz/dmu = 1) and logvar "
        "(dz/dlogvar = sigma * eps / 2), and none go into the noise.",
    )


def check_negative_elbo(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor],
) -> Feedback:
    r"""Check ``fn(x, logits, mu, logvar)``: the batch mean of :math:`\sum_i \mathrm{BCE}(\ell_i, x_i) + \KL(q\,\|\,p)`."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(5, 1, 4, 4, generator=g)
    logits = torch.randn(5, 1, 4, 4, generator=g) * 2
    mu, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g) * 0.5
    recon, kl = bernoulli_nll(logits, x), gaussian_kl(mu, logvar)
    expected = (recon + kl).mean()
    out, fb = call_reader(fn, x.clone(), logits.clone(), mu.clone(), logvar.clone())
    if fb is not None:
        return fb
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return Feedback(False, f"return one number (a tensor averaged over the batch), got {shape}")
    value = out.reshape(())
    if _close(value, expected, 1e-4):
        return Feedback(
            True,
            "mean over the batch of (BCE summed over the pixels + KL): the negative ELBO in nats per image.",
        )
    n_pixels = x[0].numel()
    bce_mean = F.binary_cross_entropy_with_logits(logits, x)  # averaged over pixels and batch
    wrong = [
        (
            bce_mean + kl.mean(),
            "the reconstruction term is averaged over the pixels (the default reduction of "
            "F.binary_cross_entropy); sum it over the pixels, then average over the batch",
        ),
        (
            recon.mean(),
            "the KL term is missing: without it this is a (noisy) autoencoder loss, not a VAE's",
        ),
        (kl.mean(), "the reconstruction term is missing"),
        (
            (recon - kl).mean(),
            "the KL enters with the wrong sign: the ELBO subtracts it, so the negative ELBO adds it",
        ),
        (
            (recon + kl).sum(),
            "you summed over the batch; average over it so the loss does not grow with the batch size",
        ),
        (
            (bernoulli_nll(torch.sigmoid(logits), x) + kl).mean(),
            "you applied a sigmoid before a loss that takes logits (sigmoid applied twice)",
        ),
        (
            (recon + 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).mean(1)).mean(),
            "the KL is averaged over the latent dimensions; sum it over them",
        ),
    ]
    for value_wrong, message in wrong:
        if _close(value, value_wrong.reshape(()), 1e-4):
            return Feedback(False, message)
    return Feedback(
        False,
        f"expected {float(expected):.4f} (BCE summed over {n_pixels} pixels, plus the KL, averaged "
        f"over the batch), got {float(value):.4f}",
    )


def check_iw_bound(fn: Callable[[torch.Tensor], torch.Tensor]) -> Feedback:
    r"""Check ``fn(log_w)`` for log-weights (K, B): :math:`\log\frac1K\sum_k e^{\log w_k}`, computed stably, shape (B,)."""
    g = torch.Generator().manual_seed(2)
    log_w = torch.randn(6, 4, generator=g, dtype=torch.float64) * 3 - 90.0
    expected = importance_weighted_bound(log_w, torch.zeros_like(log_w), torch.zeros_like(log_w))
    out, fb = call_reader(fn, log_w.clone())
    if fb is not None:
        return fb
    if not isinstance(out, torch.Tensor):
        return Feedback(False, f"return a torch.Tensor, not {type(out).__name__}")
    if out.shape != expected.shape:
        if out.shape == (6,):
            return Feedback(
                False, "you reduced over the examples (dim 1); reduce over the K samples, dim 0"
            )
        return Feedback(
            False,
            f"expected one bound per example, shape {tuple(expected.shape)}; got {tuple(out.shape)}",
        )
    if not _close(out, expected):
        wrong = {
            "that is the mean of the log-weights, the ELBO; the bound is the log of the mean of the weights": log_w.mean(
                0
            ),
            "the - log K is missing: log-sum-exp sums the weights, the bound averages them": torch.logsumexp(
                log_w, 0
            ),
            "that is the largest log-weight; average the weights instead": log_w.max(0).values,
        }
        for message, value in wrong.items():
            if _close(out, value):
                return Feedback(False, message)
        return Feedback(False, f"expected {expected.tolist()}, got {out.tolist()}")
    extreme = torch.tensor([[-1000.0, -2000.0], [-1001.0, -2000.5]], dtype=torch.float64)
    out, fb = call_reader(fn, extreme.clone())
    if fb is not None:
        return fb
    expected = importance_weighted_bound(
        extreme, torch.zeros_like(extreme), torch.zeros_like(extreme)
    )
    if not isinstance(out, torch.Tensor) or not bool(torch.isfinite(out).all()):
        return Feedback(
            False,
            "right formula, but log-weights of -1000 (normal for a 784-pixel image) give -inf: "
            "exp underflows. Use torch.logsumexp(log_w, dim=0) - log K",
        )
    if not _close(out, expected):
        return Feedback(
            False, f"for log-weights near -1000 expected {expected.tolist()}, got {out.tolist()}"
        )
    return Feedback(
        True,
        "logsumexp over the samples minus log K: the importance-weighted bound, finite for any log-weights.",
    )


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
            False, f"answer with one letter, one of {sorted(_BETA_ZERO_CHOICES)}; got {answer!r}"
        )
    choice = answer.strip().lower()
    if choice == "b":
        return Feedback(
            True,
            "with beta = 0 nothing pulls q(z|x) towards the prior: codes spread out and shrink their "
            "noise, reconstructions improve, the KL grows, and N(0, I) no longer matches where the codes "
            "are, so samples degrade. The beta sweep below shows it.",
        )
    reasons = {
        "a": "the KL term is what makes N(0, I) a good place to sample from; without it samples get worse, not better",
        "c": "the reconstruction term is a cross-entropy, bounded below by 0 for binary pixels, so nothing diverges",
        "d": "beta multiplies only the KL term, not the whole loss, so it changes the optimum",
    }
    return Feedback(False, reasons[choice])
