# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["hide-cell"]
# Setup: in Google Colab, install the course package at this book's release (the git
# tag v{AIGC_COURSE_RELEASE}); elsewhere this cell does nothing.
import os
import sys

AIGC_COURSE_RELEASE = "0.2.0"
if "google.colab" in sys.modules:
    import subprocess

    # AIGC_COURSE_SOURCE overrides where pip installs from (the tests use a checkout).
    AIGC_COURSE_SOURCE = os.environ.get(
        "AIGC_COURSE_SOURCE",
        f"git+https://github.com/aigc-course/aigc-course@v{AIGC_COURSE_RELEASE}",
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            f"aigc_course[offline] @ {AIGC_COURSE_SOURCE}",
        ],
        check=True,
    )

# %matplotlib inline
import matplotlib.pyplot as plt

plt.rcParams.update({"figure.dpi": 90, "savefig.dpi": 90})

# %% [markdown] tags=["remove-cell"]
# $\newcommand{\E}{\mathbb{E}}\newcommand{\KL}{\mathrm{KL}}$
# (Defines the book's math macros for Jupyter and Colab; the built book gets them from
# _config.yml.)

# %% [markdown]
# # Autoregressive models and transformers, from pixels to poems
#
# The source article defines AIGC as generating images, text and audio. Every model so far in this
# course generates images; this chapter adds the family behind today's text generators, the
# {term}`autoregressive model <Autoregressive model>` (自回归模型), and it is the first model in the course
# whose {term}`likelihood <Likelihood>` is computed *exactly*: no bound as for the {term}`VAE`, no
# absence of one as for the {term}`GAN`. We
#
# 1. write any distribution as a product of conditionals (the chain rule) and check it on a
#    tiny example;
# 2. build the masks that make one network pass compute all the conditionals at once (MADE,
#    PixelCNN) and *check* them with autograd;
# 3. train MADE and a small PixelCNN on binarised MNIST and put their exact held-out likelihood
#    next to the VAE's bound on the same test images;
# 4. measure what this costs at sampling time, in milliseconds per image;
# 5. meet the causal transformer, whose attention is masked like the layers of section 2;
# 6. train it on Tang poems (唐诗), against honest counting baselines, and measure the form of its
#    poems and the effect of temperature and top-p;
# 7. ask how much of what it writes is copied from its training set;
# 8. end with tokenisers, scale, and a poem written from a given first line.

# %% tags=["hide-input", "nbval-ignore-output"]
import math
import re
import time
from dataclasses import dataclass, replace

import aigc_course
import torch
from aigc_course.data import iterate_batches, load_mnist, to_unit
from aigc_course.data.poems import (
    CharTokenizer,
    load_tang_poems,
    split_poems,
    token_windows,
)
from aigc_course.metrics import compare_seeds, evaluate_autoregressive, evaluate_vae
from aigc_course.models import (
    MADE,
    MLPVAE,
    CausalTransformer,
    DCGANConfig,
    DCGANGenerator,
    MADEConfig,
    NGramModel,
    PixelCNN,
    PixelCNNConfig,
    PixelTransformer,
    TransformerConfig,
    VAEConfig,
    pixelcnn_mask,
)
from aigc_course.notebook import count_parameters, glue, mean_std, show_settings
from aigc_course.pretrained import load_pretrained
from aigc_course.sampling import ddim_sample
from aigc_course.train import (
    MADE_RECIPE,
    PIXELCNN_RECIPE,
    AutoregressiveTrainConfig,
    BinarizedMNISTRecipe,
    VAETrainConfig,
    train_autoregressive,
    vae_step,
)
from aigc_course.viz import show_images

CHAPTER_CPU0, CHAPTER_WALL0 = time.process_time(), time.perf_counter()


def ar_train(**kw) -> AutoregressiveTrainConfig:
    return AutoregressiveTrainConfig(lr_schedule="cosine", progress=False, **kw)


@dataclass(frozen=True)
class ARChapterConfig:
    seeds: tuple[int, ...] = (0, 1, 2)  # training seeds of every compared model
    made: BinarizedMNISTRecipe = MADE_RECIPE  # the package's recipes
    pixelcnn: BinarizedMNISTRecipe = PIXELCNN_RECIPE
    vae: VAETrainConfig = VAETrainConfig(
        epochs=30, progress=False
    )  # as the VAE chapter
    eval_images: int = 2000  # held-out test images scored per model (VAE chapter's)
    k: int = 100  # importance samples per image for the VAE's IW bound
    timed_images: int = 8  # images per timing of a sampler
    kv_side: int = 28  # image side for the KV-cache timing (784 positions)
    min_count: int = 5  # characters seen fewer times become <unk>
    poem_net: tuple[int, int, int] = (2, 4, 128)  # layers, heads, width
    poem: AutoregressiveTrainConfig = ar_train(
        steps=1500, max_seconds=120, batch_size=64, lr=3e-3
    )
    poem_seeds: tuple[int, ...] = (0, 1, 2)
    ngram_k: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1, 1.0)
    n_generated: int = 300  # poems generated per sampling setting


cfg = ARChapterConfig()
if aigc_course.quick_mode():
    cfg = replace(
        cfg,
        seeds=(0, 1),
        made=replace(
            cfg.made, train=replace(cfg.made.train, steps=300, max_seconds=30)
        ),
        pixelcnn=BinarizedMNISTRecipe(
            PixelCNNConfig(channels=16, n_layers=2),
            replace(cfg.pixelcnn.train, steps=150, max_seconds=30),
        ),
        vae=replace(cfg.vae, epochs=1),
        eval_images=500,
        k=20,
        timed_images=2,
        kv_side=14,
        poem_net=(1, 4, 64),
        poem_seeds=(0, 1),
        poem=replace(cfg.poem, steps=200, max_seconds=30, lr=5e-3),
        ngram_k=(0.01, 0.1),
        n_generated=100,
    )
device = torch.device("cpu")  # every timing of this chapter is a CPU timing
print("quick mode" if aigc_course.quick_mode() else "full mode", "on", device)
show_settings(cfg, width=15, align=">", sep=": ", wrap=None)  # nested: what differs

# %% [markdown]
# ## 1. The chain rule of probability
#
# Any joint distribution of $D$ variables factorises, in any fixed order, into conditionals:
#
# $$
# p(x_1, \dots, x_D) = p(x_1)\, p(x_2 \mid x_1) \cdots p(x_D \mid x_{<D})
#   = \prod_{d=1}^{D} p(x_d \mid x_{<d}).
# $$
#
# This is not an approximation: it is the definition of a conditional applied $D - 1$ times. An
# autoregressive model learns each factor, $p_\theta(x_d \mid x_{<d})$, with a network whose output
# is a normalised distribution over the next value (a sigmoid for a binary pixel, a softmax over the
# vocabulary for a character). The log-likelihood of a whole example is then a *sum* of $D$ terms
# that we can evaluate exactly,
#
# $$
# \log p_\theta(x) = \sum_{d=1}^{D} \log p_\theta(x_d \mid x_{<d}),
# $$
#
# and training maximises it directly: no latent variable to integrate out (the VAE's problem, which
# it solves with a bound, the {term}`ELBO`) and no discriminator standing in for it (the GAN, which
# has no likelihood at all). Sampling follows the same order: draw $x_1$, then $x_2$ given it, and so
# on, $D$ sequential steps ({term}`ancestral sampling <Ancestral sampling>`).
#
# A check on a joint distribution small enough to enumerate: three binary variables, eight random
# probabilities. We compute each conditional by summing the table (marginalising), multiply them,
# and compare with the table.

# %%
gen = torch.Generator().manual_seed(0)
joint = torch.rand(2, 2, 2, generator=gen, dtype=torch.float64)
joint /= joint.sum()  # p(x1, x2, x3), an arbitrary table
p1 = joint.sum(dim=(1, 2))  # p(x1)
p2_given_1 = joint.sum(dim=2) / p1[:, None]  # p(x2 | x1)
p3_given_12 = joint / joint.sum(dim=2, keepdim=True)  # p(x3 | x1, x2)
product = p1[:, None, None] * p2_given_1[:, :, None] * p3_given_12
print(
    f"largest |product of conditionals - joint| = {(product - joint).abs().max():.1e}"
)
print(f"the eight probabilities sum to {product.sum():.6f}")

# %% tags=["remove-cell"]
# Test: the chain rule reproduces the table to rounding error.
assert torch.allclose(product, joint, atol=1e-15, rtol=0)

# %% [markdown]
# The same holds for any order of the variables: each order gives a different set of conditionals
# with the same product. Images have no natural order, so we choose one, the *raster order* (row by
# row, left to right); text has one, the order in which it is read.
#
# `````{exercise-start}
# :label: ex-ar-nll
# `````
#
# Write `my_chain_rule_nll(logits, tokens)`: `logits` has shape $(B, T, V)$ and `logits[b, t]`
# holds the unnormalised log-probabilities of $p(x_t \mid x_{<t})$ for sequence `b`; `tokens`
# $(B, T)$ holds the observed tokens. Return $-\log p(x_{1:T})$ for each sequence, shape $(B,)$,
# in nats.
#
# `````{exercise-end}
# `````

# %%
from aigc_course.exercises import (
    check_attention_head,
    check_causal_weights,
    check_chain_rule_nll,
    check_sampling_probs,
)


def my_chain_rule_nll(logits, tokens):
    raise NotImplementedError


check_chain_rule_nll(my_chain_rule_nll)

# %% [markdown]
# `````{solution-start} ex-ar-nll
# :class: dropdown
# `````

# %%
def my_chain_rule_nll(logits, tokens):
    log_probs = logits.log_softmax(dim=-1)  # normalise over the vocabulary
    picked = log_probs.gather(-1, tokens[..., None]).squeeze(-1)  # (B, T)
    return -picked.sum(dim=1)  # a sum over positions: the chain rule


check_chain_rule_nll(my_chain_rule_nll)

# %% [markdown]
# `````{solution-end}
# `````
#
# ## 2. Masks: all the conditionals in one pass, checked by autograd
#
# Computing $D$ conditionals with $D$ separate networks would be slow. MADE {cite:p}`germain2015`
# and PixelCNN {cite:p}`vandenoord2016pixel` compute all of them in **one** pass of one network
# whose connections are masked so that output $d$ cannot see inputs $d, d+1, \dots, D$. MADE masks
# the weight matrices of a fully connected network: every unit gets a *degree* $m$, and a weight
# from a unit of degree $m'$ to one of degree $m$ is kept only when $m \ge m'$ (hidden layers) or
# $d > m$ (output $d$):
#
# ```{literalinclude} ../aigc_course/models/autoregressive.py
# :pyobject: made_masks
# :start-at: degrees = [torch.arange
# ```
#
# PixelCNN masks the kernels of convolutions instead. The first layer uses mask **A** (the centre
# pixel itself is hidden), the later layers mask **B** (the centre is visible, because the centre
# *feature* already depends only on earlier pixels):

# %%
for kind in ("A", "B"):
    print(f"mask {kind}:\n{pixelcnn_mask(5, kind).int()}")

# %% [markdown]
# A mask is easy to get subtly wrong, and a wrong mask gives a model that "cheats" by looking at the
# pixel it predicts: its training loss drops towards zero and its samples are noise. So we check the
# masks the way the definition states them. The Jacobian $J_{ij} = \partial \ell_i / \partial x_j$
# of the logits with respect to the input must be **exactly zero** whenever $j \ge i$ (output $i$
# must not depend on input $j$), and it should be non-zero for some $j < i$ (the model is allowed to
# use the past). We compute the whole Jacobian with autograd on small random models and inputs.

# %%
def dependency(model, x):
    r"""(D, D) Jacobian |d logit_i / d x_j| of a masked image model at the image x."""
    jac = torch.autograd.functional.jacobian(lambda v: model.logits(v)[0], x)
    return jac.reshape(x[0].numel(), x[0].numel()).abs()


def causal_leak(jac, diagonal=0):
    r"""(largest |J| where j >= i + diagonal, share of the rest that is used)."""
    D = jac.shape[0]
    future = torch.ones(D, D, dtype=torch.bool).triu(diagonal)  # j >= i + diagonal
    return float(jac[future].max()), float((jac[~future] > 0).float().mean())


torch.manual_seed(0)
small = (1, 9, 9)
x_small = torch.bernoulli(torch.full((1, *small), 0.5))
small_models = {
    "MADE (2 hidden layers)": MADE(MADEConfig(image_shape=small, hidden=(64, 64))),
    "PixelCNN (mask A + 3 mask B)": PixelCNN(
        PixelCNNConfig(image_shape=small, channels=8, n_layers=3, first_kernel=3)
    ),
}
jacobians = {name: dependency(m, x_small) for name, m in small_models.items()}
for name, jac in jacobians.items():
    worst, used = causal_leak(jac)
    print(f"{name}: max |J| on j >= i = {worst:.1f}; share of the past used {used:.2f}")

# %% tags=["remove-cell"]
# Test: the masks hide the present and the future exactly, and both models use the past.
for name, jac in jacobians.items():
    worst, used = causal_leak(jac)
    assert worst == 0.0, name
    assert used > 0.1, (name, used)

# %% [markdown]
# Both masks hold: not one output depends, even by a rounding error, on its own pixel or a later
# one. The second number shows a difference between the two models. MADE's output $d$ can depend on
# any earlier pixel (it uses the whole past, up to the random degrees of its hidden units). A stack
# of masked convolutions cannot: each layer extends the receptive field by a few pixels up and to
# the left, but not *up and to the right*. The figure shows, for the pixel marked in red, which
# pixels its logit depends on in the PixelCNN.

# %%
side = small[1]
centre = (side // 2) * side + side // 2  # the pixel in the middle of the image
allowed_past = torch.arange(side * side) < centre
reach = jacobians["PixelCNN (mask A + 3 mask B)"][centre] > 0
blind = allowed_past & ~reach
fig, axes = plt.subplots(1, 2, figsize=(6.5, 3.2))
for ax, grid, title in zip(
    axes,
    (allowed_past, reach),
    ("the past (raster order)", "what the PixelCNN sees"),
    strict=True,
):
    ax.imshow(grid.view(side, side).float(), cmap="Blues", vmin=0, vmax=1.4)
    ax.scatter([side // 2], [side // 2], color="red", s=60)
    ax.set(title=title, xticks=[], yticks=[])
for j in torch.nonzero(blind).flatten().tolist():
    axes[1].text(j % side, j // side, "×", ha="center", va="center", color="k")
plt.tight_layout()
plt.show()
print(f"{int(blind.sum())} of the {int(allowed_past.sum())} earlier pixels are unseen")
glue("ar_blind_pixels", int(blind.sum()))
glue("ar_past_pixels", int(allowed_past.sum()))

# %% [markdown]
# The crosses mark the **blind spot**: {glue:text}`ar_blind_pixels` of the
# {glue:text}`ar_past_pixels` earlier pixels that the model is allowed to use but cannot see, a
# wedge to the upper right that no stack of these layers ever closes. The gated PixelCNN
# {cite:p}`vandenoord2016conditional` removes it with two stacks (one looking up, one looking left);
# the transformer of section 5 has no such gap, since attention reaches every earlier position in one
# step.
#
# ## 3. Binarised MNIST: an exact likelihood next to the VAE's bound
#
# The data and the protocol are the VAE chapter's, so that the numbers can stand side by side: the
# training images as `load_mnist("train")` gives them, **dynamic binarisation** during training (a
# fresh draw $x \sim \mathrm{Bernoulli}(\text{grey})$ for every batch), and one fixed seeded draw
# of the test images, of which the same random subset is scored.

# %% tags=["nbval-ignore-output"]
train, test = load_mnist("train"), load_mnist("test")
x_train, x_test = to_unit(train.images), to_unit(test.images)
# the VAE chapter's protocol, seed for seed: one fixed draw of the test split, a random
# subset of it scored
x_test_bin = torch.bernoulli(x_test, generator=torch.Generator().manual_seed(1))
scored = torch.randperm(len(x_test), generator=torch.Generator().manual_seed(2))
x_eval_bin = x_test_bin[scored[: cfg.eval_images]]
n_train = len(x_train)
print(f"{n_train:,} training images; {len(x_eval_bin):,} test images scored per model")
glue("ar_n_train", f"{n_train:,}")
glue("ar_n_eval", f"{len(x_eval_bin):,}")

# %% [markdown]
# We train three models from the same seeds: MADE with one hidden layer of 1,000 units and one
# fixed mask, a PixelCNN with one 7×7 mask-A layer and four
# 3×3 mask-B layers of 32 channels, and, as the reference, the VAE chapter's binarised MLP VAE
# (latent size 20, the same training recipe). The autoregressive models are trained by
# `train_autoregressive`, the package's loop: each step descends the mean negative
# log-likelihood per pixel, the sum of section 1 divided by $D$:
#
# ```{literalinclude} ../aigc_course/train/autoregressive.py
# :pyobject: autoregressive_step
# :start-at: loss =
# ```

# %% tags=["nbval-ignore-output"]
def fit_ar(net, train_cfg, seed):
    r"""A seeded model trained by train_autoregressive: (model, result)."""
    torch.manual_seed(seed)
    model = net().to(device)
    result = train_autoregressive(model, x_train, replace(train_cfg, seed=seed))
    return model.eval(), result


def fit_vae(seed):
    r"""The VAE chapter's binarised MLP VAE (dynamic binarisation): (model, s)."""
    torch.manual_seed(seed)
    model = MLPVAE(VAEConfig(latent_dim=20)).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.vae.lr)
    noise = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    for epoch in range(cfg.vae.epochs):
        batches = iterate_batches(
            x_train, batch_size=cfg.vae.batch_size, seed=seed, epoch=epoch
        )
        for (xb,) in batches:
            xb = torch.bernoulli(xb, generator=noise)
            eps = torch.randn(len(xb), 20, generator=noise)
            vae_step(model, opt, xb.to(device), eps, beta=cfg.vae.beta)
    return model.eval(), time.perf_counter() - t0


mnist_nets = {
    "MADE": (lambda: MADE(cfg.made.model), cfg.made.train),
    "PixelCNN": (lambda: PixelCNN(cfg.pixelcnn.model), cfg.pixelcnn.train),
}
ar_runs = {
    name: [fit_ar(net, tc, s) for s in cfg.seeds]
    for name, (net, tc) in mnist_nets.items()
}
vae_runs = [fit_vae(s) for s in cfg.seeds]
for name, runs in ar_runs.items():
    steps = [r.steps for _, r in runs]
    secs = mean_std([r.seconds for _, r in runs])[0]
    n_par = count_parameters(runs[0][0])
    print(
        f"{name}: {n_par:,} parameters, {steps} steps per seed, {secs:.0f} s per seed"
    )
n_vae = count_parameters(vae_runs[0][0])
vae_secs = mean_std([s for _, s in vae_runs])[0]
print(f"VAE: {n_vae:,} parameters, {cfg.vae.epochs} epochs, {vae_secs:.0f} s per seed")

# %% [markdown]
# Now the held-out scores, in nats per image on the same binarised test images: the exact negative
# log-likelihood of each autoregressive model (`evaluate_autoregressive`, the sum of the 784
# conditionals of section 1), and the VAE's negative ELBO and importance-weighted bound with
# `evaluate_vae`, exactly as the VAE chapter computes them.

# %% tags=["nbval-ignore-output"]
nll = {
    name: [evaluate_autoregressive(m, x_eval_bin).nats_per_example for m, _ in runs]
    for name, runs in ar_runs.items()
}
vae_scores = [evaluate_vae(m, x_eval_bin, binarized=True, k=cfg.k) for m, _ in vae_runs]
nll["VAE, neg. ELBO (bound)"] = [ev.neg_elbo for ev in vae_scores]
nll[f"VAE, IW bound K={cfg.k}"] = [ev.iw_nll for ev in vae_scores]
untrained = MADE(cfg.made.model)
nll_untrained = evaluate_autoregressive(untrained, x_eval_bin).nats_per_example
print(
    f"held-out nats per image on {len(x_eval_bin):,} binarised test images; "
    f"models trained on {n_train:,} images; {len(cfg.seeds)} seeds"
)
print(f"{'model':24s}{'mean':>8s}{'std':>7s}   per seed")
for name, values in nll.items():
    m, s = mean_std(values)
    print(f"{name:24s}{m:8.1f}{s:7.1f}   {', '.join(f'{v:.1f}' for v in values)}")
print(
    f"{'untrained MADE':24s}{nll_untrained:8.1f}   (784 ln 2 = {784 * math.log(2):.1f})"
)

best_ar = min(("MADE", "PixelCNN"), key=lambda name: mean_std(nll[name])[0])
vs_vae = compare_seeds(
    nll[best_ar],
    nll[f"VAE, IW bound K={cfg.k}"],
    names=(f"{best_ar} exact NLL", "VAE IW bound"),
    unit=" nats",
)
made_vs_cnn = compare_seeds(
    nll["PixelCNN"], nll["MADE"], names=("PixelCNN", "MADE"), unit=" nats"
)
print(vs_vae)
print(made_vs_cnn)
for name in ("MADE", "PixelCNN"):
    glue(f"ar_{name.lower()}_nll", mean_std(nll[name])[0])
    glue(f"ar_{name.lower()}_nll_std", mean_std(nll[name])[1])
glue("ar_vae_iw", mean_std(nll[f"VAE, IW bound K={cfg.k}"])[0])
glue("ar_vae_iw_std", mean_std(nll[f"VAE, IW bound K={cfg.k}"])[1])
glue("ar_vae_elbo", mean_std(nll["VAE, neg. ELBO (bound)"])[0])
glue("ar_best", best_ar)
glue("ar_gap", vs_vae.diff)
glue("ar_gap_low", vs_vae.low)
glue("ar_gap_high", vs_vae.high)
glue("ar_gap_verdict", vs_vae.verdict)
glue("ar_cnn_made_verdict", made_vs_cnn.verdict)
glue("ar_n_seeds", len(cfg.seeds))
glue("ar_k", cfg.k)

# %% tags=["remove-cell"]
# Test: every trained model is far better than the untrained one (543 nats = 784 ln 2):
# by 50 nats after the seconds of quick mode (about 390 in our runs), by 300 in full
# mode (about 440 in our trial runs); the VAE's IW bound is never above its neg. ELBO.
margin = 50 if aigc_course.quick_mode() else 300
for name in ("MADE", "PixelCNN"):
    assert max(nll[name]) < nll_untrained - margin, (name, nll[name])
assert all(ev.iw_nll <= ev.neg_elbo + 1e-6 for ev in vae_scores)

# %% [markdown]
# Read the table with its conditions. Every model was trained on the same
# {glue:text}`ar_n_train` images and scored on the same {glue:text}`ar_n_eval` test images. The
# autoregressive rows are exact: $-\log p_\theta(x)$ itself. The VAE rows are *upper bounds* on the
# VAE's own $-\log p_\theta(x)$ (the IW bound with $K$ = {glue:text}`ar_k` importance samples is the
# tighter one); the VAE's true likelihood lies somewhere below, and a VAE can only be compared
# through such a bound. Over {glue:text}`ar_n_seeds` seeds, {glue:text}`ar_best`'s exact NLL minus
# the VAE's IW bound is {glue:text}`ar_gap:+.1f` nats (95 % paired t-interval
# [{glue:text}`ar_gap_low:+.1f`, {glue:text}`ar_gap_high:+.1f`]): {glue:text}`ar_gap_verdict`.
# PixelCNN against MADE: {glue:text}`ar_cnn_made_verdict` (the line above gives the interval).
#
# For context only, not as a like-for-like comparison: on the full 60,000 training images, with
# far larger models and days of GPU training, the published figures are 88.0 nats for MADE
# {cite:p}`germain2015`, 81.3 for PixelCNN {cite:p}`vandenoord2016pixel` and 86.8 for the IW bound
# of a two-layer VAE {cite:p}`burda2015`, a gap of about 5 nats in favour of the autoregressive
# model. Our models see a twelfth of the images for a few minutes of CPU.
#
# Samples from the best seed of each model, drawn pixel by pixel:

# %% tags=["nbval-ignore-output"]
rows = {}
for name, runs in ar_runs.items():
    best = min(range(len(runs)), key=lambda i: nll[name][i])
    rows[name] = runs[best][0].sample(8, generator=torch.Generator().manual_seed(0))
title = ", ".join(f"row {i + 1}: {name}" for i, name in enumerate(rows))
show_images(torch.cat(list(rows.values())), title=title, nrow=8)
plt.show()

# %% [markdown]
# ## 4. Sampling cost: D network evaluations per image
#
# Training scored all 784 conditionals in one pass; sampling cannot. Pixel $d$ must be drawn before
# the network can compute the distribution of pixel $d + 1$, so a sample costs **784 sequential
# network evaluations**. We measure the wall-clock time per image on this CPU, next to a GAN
# generator (one evaluation; an untrained DCGAN of the GAN chapter's size, since timing does not
# depend on the weights) and the diffusion chapter's shipped noise-prediction U-Net with DDIM
# (10 and 100 evaluations).

# %% tags=["nbval-ignore-output"]
def ms_per_image(draw, n):
    r"""Wall-clock milliseconds per image of draw(n), after one warm-up call."""
    draw(1)
    t0 = time.perf_counter()
    draw(n)
    return 1000 * (time.perf_counter() - t0) / n


n_t = cfg.timed_images
g = torch.Generator().manual_seed(0)
gan = DCGANGenerator(DCGANConfig()).eval()
unet = load_pretrained("mnist_eps_unet")
cost = {
    "GAN generator (1 evaluation)": ms_per_image(
        lambda n: gan.sample(n, generator=g), n_t
    ),
}
for steps in (10, 100):
    cost[f"diffusion U-Net, DDIM {steps} steps"] = ms_per_image(
        lambda n, s=steps: ddim_sample(
            unet.model, (n, 1, 28, 28), unet.schedule, steps=s, generator=g
        ),
        n_t,
    )
for name, runs in ar_runs.items():
    cost[f"{name} (784 evaluations)"] = ms_per_image(
        lambda n, m=runs[0][0]: m.sample(n, generator=g), n_t
    )
for name, ms in cost.items():
    print(f"{name:36s}{ms:10.1f} ms per image")
glue("ar_ms_gan", cost["GAN generator (1 evaluation)"])
glue("ar_ms_ddim10", cost["diffusion U-Net, DDIM 10 steps"])
glue("ar_ms_ddim100", cost["diffusion U-Net, DDIM 100 steps"])
glue("ar_ms_made", cost["MADE (784 evaluations)"])
glue("ar_ms_pixelcnn", cost["PixelCNN (784 evaluations)"])

# %% [markdown]
# On this machine a PixelCNN image takes {glue:text}`ar_ms_pixelcnn:.0f` ms and a MADE image
# {glue:text}`ar_ms_made:.0f` ms, against {glue:text}`ar_ms_gan:.1f` ms for the GAN and
# {glue:text}`ar_ms_ddim10:.0f` / {glue:text}`ar_ms_ddim100:.0f` ms for 10 / 100 DDIM steps of a
# much larger U-Net. The autoregressive model pays for its exact likelihood at sampling time, one
# evaluation per dimension, and the cost grows with the image: a 256×256 colour image is 196,608
# sequential draws. (MADE and PixelCNN recompute the whole image at every step; the transformer
# below can avoid most of that work with a cache.)
#
# ## 5. From pixels to tokens: the causal transformer
#
# A transformer {cite:p}`vaswani2017` reads a sequence of *tokens* (pixel values, characters,
# word pieces), turns each into a vector, and lets every position gather information from the others
# by **attention**. Position $t$ forms a *query* $q_t$; every position $s$ offers a *key* $k_s$ and a
# *value* $v_s$; position $t$ receives the average of the values weighted by
# $\mathrm{softmax}_s(q_t \cdot k_s / \sqrt d)$. Attention is a soft dictionary lookup: the query
# is compared with every key, and the best-matching values dominate. For an autoregressive model,
# position $t$ must not look at later positions, so the scores of keys $s > t$ are set to
# $-\infty$ before the softmax ({term}`causal attention <Causal attention>`, 因果注意力). This is
# the package's attention, written out in full:
#
# ```{literalinclude} ../aigc_course/models/transformer.py
# :pyobject: CausalSelfAttention.forward
# ```
#
# `````{exercise-start}
# :label: ex-ar-causal
# `````
#
# Write `my_causal_weights(scores)`: given raw attention scores of shape $(\dots, T, T)$ (row =
# query position $t$, column = key position $s$), return the causal attention weights: each row a
# softmax over the keys $s \le t$, exactly 0 on the keys $s > t$.
#
# `````{exercise-end}
# `````

# %%
def my_causal_weights(scores):
    raise NotImplementedError


check_causal_weights(my_causal_weights)

# %% [markdown]
# `````{solution-start} ex-ar-causal
# :class: dropdown
# `````

# %%
def my_causal_weights(scores):
    T = scores.shape[-1]
    future = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)  # s > t
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1)


check_causal_weights(my_causal_weights)

# %% [markdown]
# `````{solution-end}
# `````
#
# `````{exercise-start}
# :label: ex-ar-head
# `````
#
# Write `my_attention_head(x, w_q, w_k, w_v)`: one causal attention head. `x` has shape
# $(B, T, C)$, the three weight matrices $(C, d)$; return
# $\mathrm{softmax}\big((xW_q)(xW_k)^\top / \sqrt d + M\big)\, xW_v$ of shape $(B, T, d)$, with
# the causal mask $M$.
#
# `````{exercise-end}
# `````

# %%
def my_attention_head(x, w_q, w_k, w_v):
    raise NotImplementedError


check_attention_head(my_attention_head)

# %% [markdown]
# `````{solution-start} ex-ar-head
# :class: dropdown
# `````

# %%
def my_attention_head(x, w_q, w_k, w_v):
    q, k, v = x @ w_q, x @ w_k, x @ w_v  # (B, T, d) each
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, T, T)
    T = x.shape[1]
    future = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ v


check_attention_head(my_attention_head)

# %% [markdown]
# `````{solution-end}
# `````
#
# A transformer block adds a small MLP applied to each position, with residual connections and
# layer normalisation around both parts; the package's `CausalTransformer` stacks such blocks
# between a token-plus-position embedding and a linear head that gives the logits of the next token
# (GPT's layout {cite:p}`radford2019`, in nanoGPT's style {cite:p}`karpathy2022nanogpt`). One class
# serves pixels and characters alike. We check its causality as we checked the masks: the Jacobian
# of the logits at position $t$ with respect to the input vectors at positions $s > t$ must be
# exactly zero, through all the layers.

# %%
def transformer_dependency(model, T):
    r"""(T, T) norms of d logits_t / d h_s, h the input vectors of a random sequence."""
    h0 = torch.randn(1, T, model.cfg.n_embd)

    def logits(h):
        for block in model.blocks:
            h = block(h)
        return model.head(model.ln_f(h))[0]  # (T, V)

    jac = torch.autograd.functional.jacobian(logits, h0)  # (T, V, 1, T, C)
    return jac.squeeze(2).pow(2).sum(dim=(1, 3)).sqrt()


torch.manual_seed(0)
tiny = CausalTransformer(TransformerConfig(vocab_size=11, block_size=12, n_embd=16))
jac_tf = transformer_dependency(tiny.eval(), 12)
worst, used = causal_leak(jac_tf, diagonal=1)  # t may use its own input
print(f"causal transformer: max |J| on s > t = {worst:.1f}; past used {used:.2f}")

# %% tags=["remove-cell"]
# Test: no position depends on a later one; every earlier one is used (no blind spot).
future = torch.ones(12, 12, dtype=torch.bool).triu(diagonal=1)
assert float(jac_tf[future].max()) == 0.0
assert bool((jac_tf[~future] > 0).all())

# %% [markdown]
# (Here position $t$ may depend on its own input, since its logits predict token $t + 1$; the
# diagonal is allowed.) Every earlier position is used: attention has no blind spot.
#
# **The image GPT in miniature.** The same class models binary images as token sequences: a start
# token, then the 784 pixels in raster order (`PixelTransformer`, after Chen et al.'s image GPT
# {cite:p}`chen2020igpt`). Training it to the PixelCNN's quality takes more than this chapter's
# CPU budget (each step attends over 784 positions), so we use it for what it shows best: the
# **KV cache** ({term}`KV cache`). When sampling, the keys and values of the positions already
# drawn do not change, so the model can keep them and compute only the new position's at each step,
# instead of re-running the whole prefix. We time both ways, one image, from the start token to the
# full context, and check that they draw the same pixels from the same seed.

# %% tags=["nbval-ignore-output"]
kv_shape = (1, cfg.kv_side, cfg.kv_side)
D_kv = cfg.kv_side**2
torch.manual_seed(0)
pixel_gpt = PixelTransformer(
    TransformerConfig(vocab_size=3, block_size=D_kv, fused_attention=True), kv_shape
).eval()
kv_time, kv_images = {}, {}
for use_cache in (True, False):
    t0 = time.perf_counter()
    kv_images[use_cache] = pixel_gpt.sample(
        1, generator=torch.Generator().manual_seed(0), use_cache=use_cache
    )
    kv_time[use_cache] = time.perf_counter() - t0
kv_speedup = kv_time[False] / kv_time[True]
same_pixels = torch.equal(kv_images[True], kv_images[False])
print(f"{D_kv} positions: cached {kv_time[True]:.2f} s, else {kv_time[False]:.2f} s")
print(f"speed-up {kv_speedup:.1f}x; the same pixels: {same_pixels}")
glue("ar_kv_positions", D_kv)
glue("ar_kv_speedup", kv_speedup)

# %% tags=["remove-cell"]
# Test: the cache changes the cost, not the sample (speed-up 2.6x at 196 positions in
# quick mode, more at 784 in full mode).
assert same_pixels
assert kv_speedup > (1.2 if aigc_course.quick_mode() else 2.0), kv_speedup

# %% [markdown]
# At {glue:text}`ar_kv_positions` positions the cache makes sampling
# {glue:text}`ar_kv_speedup:.1f` times faster, with identical pixels. Without it, step $t$ re-runs
# the network on $t$ positions, so a whole sample costs about $D^2/2$ position-evaluations; with
# it, $D$ (the attention itself still reads all $t$ cached keys, which is cheap at this size). Every
# text generator of today samples this way.
#
# ## 6. Tang poems: a character-level transformer against honest baselines
#
# The text corpus is the *Quan Tangshi* (全唐诗) of the `chinese-poetry` collection (MIT licence;
# its npm release 2.0.1), about 57,600 poems, loaded like MNIST: from a folder you name, the
# cache, or the public mirrors, every file checked against its SHA-256. The poems are shown as
# they are, in traditional characters. We keep one fixed form, the **quatrain** (绝句): four lines
# of five or of seven characters, with a comma after the first and third lines and a full stop
# after the second and fourth. A fixed form makes the samples measurable: we can count how many
# generated poems have it. The collection holds some texts more than once (the same poem under two
# titles or two authors); we keep one copy of each before splitting, or a held-out poem could also
# be a training poem, and a model that memorised it would look better than it is.

# %% tags=["nbval-ignore-output"]
corpus = load_tang_poems()
CHAR = "[^，。？！；：、]"
QUATRAIN = re.compile(
    rf"(?:{CHAR}{{5}}，{CHAR}{{5}}。){{2}}|(?:{CHAR}{{7}}，{CHAR}{{7}}。){{2}}"
)
matching = [t for t in corpus.texts if QUATRAIN.fullmatch(t)]
quatrains = list(dict.fromkeys(matching))  # one copy of each text, in corpus order
poems_train, poems_test = split_poems(quatrains, test_fraction=0.1, seed=0)
tok = CharTokenizer(poems_train, min_count=cfg.min_count)
seq_train = [tok.encode(t) for t in poems_train]
seq_test = [tok.encode(t) for t in poems_test]
n_chars_train = sum(len(t) for t in poems_train)
unk_share = sum(s.count(tok.UNK) for s in seq_test) / sum(len(s) - 1 for s in seq_test)
n_five = sum(len(t) == 24 for t in quatrains)
n_seven, n_q = len(quatrains) - n_five, len(quatrains)
print(f"{len(matching) - n_q:,} repeated texts dropped")
print(f"{n_q:,} quatrains ({n_five:,} of five, {n_seven:,} of seven characters per")
print(
    f"line); split by poem: {len(poems_train):,} train, {len(poems_test):,} held out;"
)
print(
    f"{n_chars_train:,} training characters; vocabulary {tok.vocab_size:,} (characters"
)
print(f"seen >= {cfg.min_count} times, plus <unk>, <bos>, <eos>); <unk> is")
print(f"{100 * unk_share:.1f} % of the held-out tokens")
print("a training poem:", poems_train[0])
glue("ar_n_quatrains", f"{len(quatrains):,}")
glue("ar_n_poems_train", f"{len(poems_train):,}")
glue("ar_n_poems_test", f"{len(poems_test):,}")
glue("ar_vocab", f"{tok.vocab_size:,}")
glue("ar_unk_share", 100 * unk_share)

# %% [markdown]
# Each poem becomes `<bos>`, its characters, `<eos>`; every model below is scored on exactly the
# same held-out tokens (every token after `<bos>`, `<eos>` included, so a model must also know when
# a poem ends), in nats per character. Perplexity ({term}`Perplexity`, 困惑度) is $e$ to that
# power: the number of equally likely characters the model is, on average, choosing between.
#
# **Baselines.** Before any network, the counting models a language-model paper must beat: the
# unigram model (character frequencies) and $n$-gram models that predict a character from the
# previous $n - 1$, with add-$k$ smoothing so that unseen pairs keep some probability. The
# pseudo-count $k$ is chosen on a validation tenth of the *training* poems, never on the test poems.

# %% tags=["nbval-ignore-output"]
fit_part, val_part = split_poems(poems_train, test_fraction=0.1, seed=1)
fit_seqs = [tok.encode(t) for t in fit_part]
val_seqs = [tok.encode(t) for t in val_part]
baselines = {}
for order, name in ((1, "unigram"), (2, "bigram"), (3, "trigram")):
    if order == 1:
        best_k = 1.0  # add-one: every character is seen, k hardly matters
    else:
        val = {
            k: NGramModel(order, tok.vocab_size, k)
            .fit(fit_seqs)
            .nats_per_token(val_seqs)
            for k in cfg.ngram_k
        }
        best_k = min(val, key=val.get)
    model = NGramModel(order, tok.vocab_size, best_k).fit(seq_train)
    baselines[name] = (model, model.nats_per_token(seq_test), best_k)
for name, (_, nats, k) in baselines.items():
    ppl = math.exp(nats)
    print(f"{name:8s} (k = {k:g}): {nats:.3f} nats per character, perplexity {ppl:.0f}")
best_ngram = min(baselines, key=lambda name: baselines[name][1])
glue("ar_unigram", baselines["unigram"][1])
glue("ar_bigram", baselines["bigram"][1])
glue("ar_trigram", baselines["trigram"][1])
glue("ar_best_ngram", best_ngram)

# %% [markdown]
# The trigram does worse than the bigram: with {glue:text}`ar_vocab` characters there are billions
# of possible triples and the training poems contain only a few hundred thousand, so most contexts
# are seen once or never, and add-$k$ smoothing spreads their mass poorly (better smoothing, such as
# Kneser-Ney, would narrow this; the count models here are the simple, honest kind). The bar to
# beat is the {glue:text}`ar_best_ngram` at {glue:text}`ar_bigram:.3f` nats per character.
#
# **The transformer.** A two-layer causal transformer of width 128, its context one seven-character
# quatrain (34 tokens), trained on the training poems cut into windows of 35 tokens. The vocabulary
# makes the output layer the largest part of the work, which is why rare characters are merged into
# `<unk>`.

# %% tags=["nbval-ignore-output"]
n_layer, n_head, n_embd = cfg.poem_net
poem_cfg = TransformerConfig(
    vocab_size=tok.vocab_size,
    block_size=34,
    n_layer=n_layer,
    n_head=n_head,
    n_embd=n_embd,
    fused_attention=True,
)
windows = token_windows(seq_train, poem_cfg.block_size + 1)
by_length = {}  # held-out poems grouped by length, so each is scored from its <bos>
for s in seq_test:
    by_length.setdefault(len(s), []).append(s)


def poem_nats(model):
    r"""Held-out nats per character, on the n-gram models' tokens."""
    total, count = 0.0, 0
    for seqs in by_length.values():
        ev = evaluate_autoregressive(model, torch.tensor(seqs))
        total += ev.nats_per_example * ev.n
        count += ev.n * ev.dims
    return total / count


poem_runs = []
for seed in cfg.poem_seeds:
    torch.manual_seed(seed)
    lm = CausalTransformer(poem_cfg)
    result = train_autoregressive(lm, windows, replace(cfg.poem, seed=seed))
    poem_runs.append((lm.eval(), result, poem_nats(lm)))
tf_nats = [nats for _, _, nats in poem_runs]
print(
    f"transformer: {count_parameters(poem_runs[0][0]):,} parameters, "
    f"{windows.shape[0]:,} training windows ({n_chars_train:,} characters)"
)
for seed, (_, r, nats) in zip(cfg.poem_seeds, poem_runs, strict=True):
    print(f"  seed {seed}: {r.steps} steps in {r.seconds:.0f} s, {nats:.3f} nats/char")
vs_ngram = compare_seeds(
    tf_nats,
    [baselines[best_ngram][1]] * len(tf_nats),
    names=("transformer", best_ngram),
    unit=" nats/char",
)
print(vs_ngram)
glue("ar_tf_nats", mean_std(tf_nats)[0])
glue("ar_tf_nats_std", mean_std(tf_nats)[1])
glue("ar_tf_minus_ngram", vs_ngram.diff)
glue("ar_tf_verdict", vs_ngram.verdict)
glue("ar_tf_perplexity", math.exp(mean_std(tf_nats)[0]))
glue("ar_bigram_perplexity", math.exp(baselines["bigram"][1]))
glue("ar_poem_steps", f"{poem_runs[0][1].steps:,}")

# %% tags=["remove-cell"]
# Test: the transformer beats a uniform guess in every mode (quick mode trains a smaller
# model for seconds), and the best n-gram model clearly in full mode.
assert max(tf_nats) < math.log(tok.vocab_size), tf_nats
if not aigc_course.quick_mode():
    assert max(tf_nats) < baselines["unigram"][1], tf_nats
    assert vs_ngram.high < 0, vs_ngram

# %% [markdown]
# The transformer scores {glue:text}`ar_tf_nats:.3f` ± {glue:text}`ar_tf_nats_std:.3f` nats per
# character (perplexity {glue:text}`ar_tf_perplexity:.0f`, against
# {glue:text}`ar_bigram_perplexity:.0f` for the bigram); minus the {glue:text}`ar_best_ngram`,
# {glue:text}`ar_tf_minus_ngram:+.3f` nats per character: {glue:text}`ar_tf_verdict`. Where does
# the difference come from? The bigram sees one character of context; the transformer sees the
# whole poem so far, so it can learn that a line has five or seven characters (and which one this
# poem uses), where the punctuation goes, and that the second and fourth lines often rhyme.
#
# **Generated poems.** Sampling is ancestral, one character at a time from `<bos>` until `<eos>`,
# with the KV cache. Here are poems drawn at temperature 1 from the best seed, as they come out:

# %% tags=["nbval-ignore-output"]
lm = min(poem_runs, key=lambda run: run[2])[0]


def generate(model, n, *, seed=0, prompt="", **options):
    r"""n poems from model (texts up to <eos>), optionally continuing prompt."""
    start = tok.encode(prompt, eos=False) if prompt else [tok.BOS]
    x = torch.tensor([start] * n)
    out = model.generate(
        x, 33 - len(start) + 1, generator=torch.Generator().manual_seed(seed), **options
    )
    return [tok.decode(row) for row in out.tolist()]


for poem in generate(lm, 6, seed=1):
    print(poem)

# %% [markdown]
# How often is the form right? We draw {glue:text}`ar_n_generated` poems per setting and count the
# share that are valid quatrains (four lines of five, or of seven, characters with the right
# punctuation, then `<eos>`). Two sampling knobs change the distribution we draw from:
# **temperature** ({term}`Temperature sampling`, 温度采样) divides the logits by $\tau$
# ($\tau < 1$ sharpens, $\tau > 1$ flattens), and **top-p** ({term}`Nucleus sampling`, 核采样)
# {cite:p}`holtzman2020` keeps only the most likely characters whose probabilities add up to $p$.
# For diversity we report *distinct-2*, the share of distinct character pairs among all the pairs in
# the sample (1 means no pair is repeated anywhere), and the share of distinct lines.
#
# ```{literalinclude} ../aigc_course/sampling/autoregressive.py
# :pyobject: top_p_filter
# :start-at: sorted_logits, order
# ```

# %% tags=["nbval-ignore-output"]
def lines_of(poem):
    return [line for line in re.split("[，。]", poem) if line]


def measure(poems):
    r"""(share in quatrain form, distinct-2, share of distinct lines)."""
    form = sum(bool(QUATRAIN.fullmatch(p)) for p in poems) / len(poems)
    pairs = [
        line[i : i + 2]
        for p in poems
        for line in lines_of(p)
        for i in range(len(line) - 1)
    ]
    lines = [line for p in poems for line in lines_of(p)]
    return (
        form,
        len(set(pairs)) / max(1, len(pairs)),
        len(set(lines)) / max(1, len(lines)),
    )


settings = {
    "temperature 0.7": {"temperature": 0.7},
    "temperature 1.0": {"temperature": 1.0},
    "temperature 1.3": {"temperature": 1.3},
    "temperature 1.0, top-p 0.9": {"temperature": 1.0, "top_p": 0.9},
    "temperature 1.0, top-p 0.5": {"temperature": 1.0, "top_p": 0.5},
}
n_gen = cfg.n_generated
samples = {name: generate(lm, n_gen, seed=2, **opts) for name, opts in settings.items()}
sweep = {name: measure(poems) for name, poems in samples.items()}
sweep["real held-out poems"] = measure(poems_test[:n_gen])
print(f"{'setting':28s}{'form':>7s}{'distinct-2':>12s}{'distinct lines':>16s}")
for name, (form, d2, dl) in sweep.items():
    print(f"{name:28s}{form:7.2f}{d2:12.2f}{dl:16.2f}")
glue("ar_n_generated", n_gen)
glue("ar_form_t1", 100 * sweep["temperature 1.0"][0])
glue("ar_form_t07", 100 * sweep["temperature 0.7"][0])
glue("ar_form_t13", 100 * sweep["temperature 1.3"][0])
glue("ar_form_p05", 100 * sweep["temperature 1.0, top-p 0.5"][0])
glue("ar_d2_t07", sweep["temperature 0.7"][1])
glue("ar_d2_t13", sweep["temperature 1.3"][1])
glue("ar_d2_real", sweep["real held-out poems"][1])

# %% tags=["remove-cell"]
# Test: the measures are shares, and sharpening never increases diversity here.
for form, d2, dl in sweep.values():
    assert 0 <= form <= 1 and 0 < d2 <= 1 and 0 < dl <= 1
assert sweep["temperature 0.7"][1] <= sweep["temperature 1.3"][1]

# %% [markdown]
# At temperature 1, {glue:text}`ar_form_t1:.0f` % of the poems have the quatrain form; at 0.7,
# {glue:text}`ar_form_t07:.0f` %, and with top-p 0.5, {glue:text}`ar_form_p05:.0f` %; at 1.3,
# {glue:text}`ar_form_t13:.0f` %. With {glue:text}`ar_n_generated` poems per setting, a share near
# 90 % has a standard error of about 2 points, so only a gap of several points means anything: here
# flattening the distribution ($\tau = 1.3$) breaks the form, while sharpening it buys no clear gain
# in form over $\tau = 1$. What sharpening does cost is diversity: distinct-2 falls from
# {glue:text}`ar_d2_t13:.2f` at $\tau = 1.3$ to {glue:text}`ar_d2_t07:.2f` at $\tau = 0.7$ (real
# poems: {glue:text}`ar_d2_real:.2f`). The knobs choose where on that curve to sample; neither
# makes the model know more.
#
# `````{exercise-start}
# :label: ex-ar-top-p
# `````
#
# Write `my_sampling_probs(logits, temperature, p)`: for logits of shape $(B, V)$, return the
# probabilities that temperature-then-top-p sampling draws from, shape $(B, V)$: the softmax of
# `logits / temperature`, with the tokens outside the nucleus set to 0 and each row renormalised.
# The nucleus of a row is its most likely tokens, in decreasing order, up to and including the one
# at which their total reaches `p`.
#
# `````{exercise-end}
# `````

# %%
def my_sampling_probs(logits, temperature, p):
    raise NotImplementedError


check_sampling_probs(my_sampling_probs)

# %% [markdown]
# `````{solution-start} ex-ar-top-p
# :class: dropdown
# `````

# %%
def my_sampling_probs(logits, temperature, p):
    probs = (logits / temperature).softmax(dim=-1)
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    keep = (mass_before < p).scatter(-1, order, mass_before < p)  # vocabulary order
    kept = probs * keep
    return kept / kept.sum(dim=-1, keepdim=True)


check_sampling_probs(my_sampling_probs)

# %% [markdown]
# `````{solution-end}
# `````
#
# ## 7. Memorisation: how much is copied?
#
# A model that reproduces its training texts is a search engine with extra steps, and the copies
# raise the copyright questions the source article lists among AIGC's challenges
# ({term}`Memorisation`). We measure it directly: the share of generated lines that appear
# *verbatim* among the lines of the training poems, and the share of whole poems that do, for the
# transformer and for the bigram model drawn the same way. Real held-out poems give the scale: a
# short line of five characters can recur in the Tang corpus by itself, without any copying by a
# model.

# %% tags=["nbval-ignore-output"]
def bigram_sample(model, n, seed):
    r"""n poems drawn from the add-k bigram model (ancestral sampling from <bos>)."""
    V = tok.vocab_size
    counts = torch.zeros(V, V)
    for (a, b), c in model.counts.items():
        counts[a, b] = c
    probs = (counts + model.k) / (counts.sum(1, keepdim=True) + model.k * V)
    g = torch.Generator().manual_seed(seed)
    x = torch.full((n,), tok.BOS, dtype=torch.long)
    out = [x]
    for _ in range(33):
        x = torch.multinomial(probs[x], 1, generator=g).squeeze(1)
        out.append(x)
    return [tok.decode(row) for row in torch.stack(out, 1).tolist()]


train_lines = {line for p in poems_train for line in lines_of(p)}
train_set = set(poems_train)


def copied(poems):
    r"""(share of lines of 5 or 7 characters found in training, of whole poems)."""
    lines = [ln for p in poems for ln in lines_of(p) if len(ln) in (5, 7)]
    share = sum(ln in train_lines for ln in lines) / max(1, len(lines))
    return share, sum(p in train_set for p in poems) / len(poems)


copies = {
    "transformer, temperature 1.0": copied(samples["temperature 1.0"]),
    "transformer, temperature 0.7": copied(samples["temperature 0.7"]),
    "bigram model": copied(bigram_sample(baselines["bigram"][0], n_gen, seed=2)),
    "real held-out poems": copied(poems_test[:n_gen]),
}
for name, (lines_share, poems_share) in copies.items():
    print(
        f"{name:30s} lines in training {100 * lines_share:5.1f} %, "
        f"whole poems {100 * poems_share:4.1f} %"
    )
glue("ar_copy_t1", 100 * copies["transformer, temperature 1.0"][0])
glue("ar_copy_t07", 100 * copies["transformer, temperature 0.7"][0])
glue("ar_copy_bigram", 100 * copies["bigram model"][0])
glue("ar_copy_real", 100 * copies["real held-out poems"][0])
glue("ar_copy_poems_t1", 100 * copies["transformer, temperature 1.0"][1])

# %% [markdown]
# The nearest training poem to a generated one, by shared character pairs:

# %% tags=["nbval-ignore-output"]
def pairs(text):
    return {text[i : i + 2] for i in range(len(text) - 1)}


candidates = samples["temperature 1.0"] + samples["temperature 0.7"]
shown = next((p for p in candidates if QUATRAIN.fullmatch(p)), candidates[0])
train_pairs = [pairs(p) for p in poems_train]
mine = pairs(shown)
overlap = [len(mine & other) / len(mine | other) for other in train_pairs]
nearest = max(range(len(poems_train)), key=overlap.__getitem__)
print("generated:", shown)
print("nearest  :", poems_train[nearest])
print(f"shared character pairs (Jaccard): {overlap[nearest]:.2f}")
shared = [ln for ln in lines_of(shown) if ln in train_lines]
print("its lines found verbatim in training:", shared or "none")

# %% [markdown]
# {glue:text}`ar_copy_t1:.1f` % of the transformer's lines at temperature 1 (and
# {glue:text}`ar_copy_t07:.1f` % at 0.7) appear verbatim in the training poems, against
# {glue:text}`ar_copy_bigram:.1f` % for the bigram model and {glue:text}`ar_copy_real:.1f` % for
# real poems it never saw; {glue:text}`ar_copy_poems_t1:.1f` % of its poems are whole copies. Real
# poems share lines with other poems (stock phrases, quotations, poems answering poems), so the
# held-out row is the level at which "copying" is simply the language. A model trained for two
# minutes on {glue:text}`ar_n_poems_train` poems has not fitted them closely enough to reproduce their lines: its
# held-out loss is still far from zero, and what it learned is the form and the vocabulary, not
# the texts. Memorisation grows with training time, model size and repeated data, and lowering the
# temperature moves the samples towards the most likely sequences, which for a model that has
# fitted its corpus are its training lines. For "AI-generated content" this means that authorship is not a yes-or-no question: a line can be
# generated and still be a Tang poet's, and the share depends on the sampling settings as much as on
# the model. Large language models memorise in the same way, measurably more with size and with
# repeated training data {cite:p}`carlini2023quantifying`.
#
# ## 8. Where this goes: tokenisers, scale, and conditioning
#
# **Tokenisers.** Our tokens are characters, a natural unit for classical Chinese, where a
# character is close to a word. English text is usually cut into sub-word pieces by byte-pair
# encoding (BPE) {cite:p}`sennrich2016`: start from bytes and repeatedly merge the most frequent
# adjacent pair into a new token, until the vocabulary has the chosen size (tens of thousands). Rare
# words then become a few pieces instead of `<unk>`, and a sequence of a given length carries more
# text.
#
# **Scale.** Nothing in the model changes between our 2-layer, 128-wide network and a large
# language model: more blocks, wider vectors, longer contexts, and far more text. The held-out loss
# falls smoothly, as a power law, with the number of parameters, the amount of data and the compute
# {cite:p}`kaplan2020`, which is why so much of the field's progress has come from scale.
#
# **Conditioning.** An autoregressive model conditions for free: any prefix is a condition. To
# write a poem from a given first line, we feed `<bos>` and the line, then sample the rest. We take
# the first lines of held-out poems, generate a continuation for each, and measure how often the
# result is a quatrain *of the prompt's line length* (five or seven characters).

# %% tags=["nbval-ignore-output"]
prompts = [p[: p.index("，") + 1] for p in poems_test[:n_gen]]
conditioned = {}  # prompt index: poem; prompts of one length are drawn as one batch
for length in sorted({len(p) for p in prompts}):
    which = [i for i, p in enumerate(prompts) if len(p) == length]
    x = torch.tensor([tok.encode(prompts[i], eos=False) for i in which])
    out = lm.generate(
        x, 34 - x.shape[1], top_p=0.9, generator=torch.Generator().manual_seed(3)
    )
    conditioned.update(
        zip(which, (tok.decode(row) for row in out.tolist()), strict=True)
    )
conditioned = [conditioned[i] for i in range(len(prompts))]
keeps_form = [
    bool(QUATRAIN.fullmatch(poem)) and len(poem) == 4 * len(prompt)
    for poem, prompt in zip(conditioned, prompts, strict=True)
]
for prompt, poem in list(zip(prompts, conditioned, strict=True))[:4]:
    print(f"{prompt}  ->  {poem}")
share_form = sum(keeps_form) / len(keeps_form)
print(
    f"quatrains of the prompt's line length: {100 * share_form:.0f} % of {len(prompts)}"
)
glue("ar_cond_form", 100 * share_form)

# %% [markdown]
# From a held-out first line, {glue:text}`ar_cond_form:.0f` % of the continuations are quatrains
# with the prompt's line length: the model reads the length of the first line and keeps to it.
# (The prompts are first lines of poems the model never saw; the printed arrow shows the whole
# generated poem, prompt included. A prompt character outside the vocabulary becomes `<unk>`,
# shown as □.)
#
# ## Closing note: what was measured
#
# The figures of this run (quick mode trains for seconds, so its numbers are far from the full
# run's, which the text quotes):

# %% tags=["nbval-ignore-output"]
cpu_s = time.process_time() - CHAPTER_CPU0
iw_row = f"VAE, IW bound K={cfg.k}"
wall_s = time.perf_counter() - CHAPTER_WALL0
summary = {
    "training images (MNIST)": f"{n_train:,}",
    "MADE exact NLL (nats/image)": f"{mean_std(nll['MADE'])[0]:.1f}",
    "PixelCNN exact NLL (nats/image)": f"{mean_std(nll['PixelCNN'])[0]:.1f}",
    f"VAE IW bound K={cfg.k} (nats/image)": f"{mean_std(nll[iw_row])[0]:.1f}",
    f"{best_ar} - VAE IW bound (nats)": (
        f"{vs_vae.diff:+.1f} [{vs_vae.low:+.1f}, {vs_vae.high:+.1f}]"
    ),
    "ms per image: PixelCNN / GAN / DDIM-10": (
        f"{cost['PixelCNN (784 evaluations)']:.0f} / "
        f"{cost['GAN generator (1 evaluation)']:.1f} / "
        f"{cost['diffusion U-Net, DDIM 10 steps']:.0f}"
    ),
    f"KV-cache speed-up at {D_kv} positions": f"{kv_speedup:.1f}x",
    "training poems (characters)": f"{len(poems_train):,} ({n_chars_train:,})",
    f"transformer - {best_ngram} (nats/char)": (
        f"{vs_ngram.diff:+.3f} [{vs_ngram.low:+.3f}, {vs_ngram.high:+.3f}]"
    ),
    "quatrain form at temperature 1": f"{100 * sweep['temperature 1.0'][0]:.0f} %",
    "lines copied from training, temperature 1": (
        f"{100 * copies['transformer, temperature 1.0'][0]:.1f} %"
    ),
    "this run: CPU seconds / wall seconds": f"{cpu_s:.0f} / {wall_s:.0f}",
}
for name, value in summary.items():
    print(f"{name:44s}{value}")
glue("ar_cpu_seconds", cpu_s)

# %% [markdown]
# The autoregressive family trades sampling speed for an exact likelihood and a simple, stable
# objective (maximum likelihood, no adversary, no bound). Its masks are easy to check and easy to
# get wrong; its samples cost one network evaluation per dimension, which a KV cache makes cheap
# for a transformer but never parallel. On text, where the dimension is the length of the answer,
# this is the model family of today's generators; on images, diffusion models have mostly taken
# over, though image tokens sampled by transformers remain a strong alternative.
