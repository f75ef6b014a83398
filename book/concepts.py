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

# %% [markdown]
# # Concepts: the generation pipeline
#
# A {term}`generative model` (生成模型) learns a probability distribution from examples and then
# *samples* new examples from it. Whether the model is a GAN, a VAE or a diffusion model, building
# one goes through the same stages. This chapter names the stages and runs **every one of them on
# real MNIST digits**, with the two simplest generative models that deserve the name. They are
# small enough to fit in seconds and to understand completely, and their failures show what the
# GAN and VAE chapters have to fix.
#
# The stages, with the terms the source article uses:
#
# | stage | 中文 | what happens in this chapter |
# |---|---|---|
# | {term}`Input data` | 输入数据 | 28 x 28 grey-scale MNIST digits |
# | {term}`Preprocessing` | 预处理 | scale to [0, 1] or [-1, 1], binarise, dequantise |
# | {term}`Generative model` | 生成模型 | independent pixels; a Gaussian in PCA space |
# | Generated result | 生成结果 | samples drawn from the fitted model |
# | {term}`Post-processing` | 后处理 | clamp, quantise to 8 bits, denoise |
# | {term}`Loss function` | 损失函数 | negative log-likelihood, in nats (natural-log units) |
# | {term}`Training` | 训练过程 | gradient descent on the loss (and the closed-form optimum) |
# | {term}`Evaluation` | 评估与优化 | held-out likelihood, nearest neighbours, model selection on a validation split |
#
# A {term}`nat <Nat>` is the unit of information of the natural logarithm: a probability $p$ costs $-\ln p$ nats,
# and 1 nat $= 1/\ln 2 \approx 1.44$ bits. Every log in this course is natural.

# %% tags=["hide-input"]
from aigc_course.viz import flow_diagram

stages = {
    "Input data": (0.07, 0.78),
    "Preprocessing": (0.26, 0.78),
    "Generative\nmodel": (0.47, 0.78),
    "Generated\nresult": (0.68, 0.78),
    "Post-processing": (0.9, 0.78),
    "Loss\n(NLL)": (0.47, 0.22),
    "Training": (0.26, 0.22),
    "Evaluation &\noptimisation": (0.8, 0.22),
}
flow_diagram(
    stages,
    edges=[
        ("Input data", "Preprocessing"),
        ("Preprocessing", "Generative\nmodel"),
        ("Generative\nmodel", "Generated\nresult"),
        ("Generated\nresult", "Post-processing"),
        ("Preprocessing", "Loss\n(NLL)"),
        ("Generative\nmodel", "Loss\n(NLL)"),
        ("Loss\n(NLL)", "Training"),
        ("Generative\nmodel", "Evaluation &\noptimisation"),
        ("Generated\nresult", "Evaluation &\noptimisation"),
    ],
    dashed=[
        ("Training", "Generative\nmodel"),
        ("Evaluation &\noptimisation", "Generative\nmodel"),
    ],
    highlight=["Generative\nmodel"],
    figsize=(9, 3.6),
)
plt.show()

# %% [markdown]
# Solid arrows carry data; dashed arrows are feedback. The loss compares the model with the
# (preprocessed) training data, and training changes the model's parameters to lower it. Evaluation
# scores the model on held-out data (its likelihood) and looks at its samples, and decides which
# model (or which size of model) to keep.
#
# Every number below is computed when the notebook runs. The chapter's settings are a frozen
# dataclass; in quick mode (`AIGC_QUICK=1`, used by the course's tests) the training budget shrinks.

# %% tags=["hide-input", "nbval-ignore-output"]
from dataclasses import dataclass, replace

import aigc_course
import torch
from aigc_course.data import (
    binarize,
    dequantize,
    load_mnist,
    to_signed,
    to_uint8,
    to_unit,
)
from aigc_course.metrics import (
    bits_per_dim,
    discrete_nll_from_density,
    nearest_neighbours,
)
from aigc_course.models.baselines import PCAGaussian, PixelBernoulli
from aigc_course.notebook import count_parameters, glue, show_settings
from aigc_course.postprocess import median_filter
from aigc_course.train.likelihood import LikelihoodTrainConfig, train_likelihood
from aigc_course.viz import plot_curves, show_image_rows, show_images


@dataclass(frozen=True)
class ConceptsConfig:
    seed: int = 0
    pca_k: int = 32  # principal directions kept by the PCA Gaussian
    pca_sweep: tuple[int, ...] = (0, 8, 32, 128, 256, 400, 512, 600, 700)
    n_samples: int = 40  # samples drawn from each model for the figures and neighbours
    n_val: int = 500  # training images held out to choose k (validation split)
    train_seeds: tuple[int, ...] = (0, 1, 2)  # seeds of the gradient-descent fit
    train: LikelihoodTrainConfig = LikelihoodTrainConfig(
        epochs=20, batch_size=128, lr=0.05, progress=False
    )


cfg = ConceptsConfig()
if aigc_course.quick_mode():
    cfg = replace(
        cfg,
        pca_sweep=(0, 32, 256, 512, 700),
        train_seeds=(0, 1),
        train=replace(cfg.train, epochs=5),
    )
generator = aigc_course.seed_everything(cfg.seed)
show_settings(cfg, width=12, wrap=None, changed_only=False)

# %% [markdown]
# ## 1. Input data (输入数据)
#
# MNIST {cite:p}`lecun1998` holds 70,000 hand-written digits, 28 x 28 pixels with 256 grey levels,
# split into 60,000 training and 10,000 test images. `load_mnist` finds the files (your folder,
# the cache, a download from several mirrors, or an offline subset) and prints in one line which
# source it used: the numbers in this chapter depend on it.

# %% tags=["nbval-ignore-output"]
train = load_mnist("train")
test = load_mnist("test")

# %%
print(
    "train:",
    tuple(train.images.shape),
    train.images.dtype,
    "| test:",
    tuple(test.images.shape),
)
print(
    "test label counts, digits 0-9:", torch.bincount(test.labels, minlength=10).tolist()
)

# %% tags=["nbval-ignore-output"]
print(
    "train label counts, digits 0-9:",
    torch.bincount(train.labels, minlength=10).tolist(),
)
show_images(train.images[:32], title="the first 32 training images", nrow=16)
plt.show()

# %% [markdown]
# A look at the raw values before any modelling: most pixels are exactly 0 (background), a few are
# exactly 255 (the middle of a stroke), and the rest are the anti-aliased edges.

# %% tags=["nbval-ignore-output"]
values = train.images.flatten()
print(
    f"pixels equal to 0: {(values == 0).float().mean():.1%},",
    f"equal to 255: {(values == 255).float().mean():.1%}",
)
fig, ax = plt.subplots(figsize=(6, 2.6))
ax.hist(values.numpy(), bins=64, log=True, color="#34495e")
ax.set(
    xlabel="pixel value (0-255)", ylabel="count (log scale)", title="MNIST pixel values"
)
plt.show()

# %% [markdown]
# ## 2. Preprocessing (预处理)
#
# A model does not take bytes; each family of models wants the pixels in its own form:
#
# * **[0, 1]** (`to_unit`): divide by 255. VAEs with a Bernoulli or Gaussian decoder use this scale.
# * **[-1, 1]** (`to_signed`): $x \mapsto 2x - 1$. GAN generators end in $\tanh$, whose range is $(-1, 1)$,
#   so the real images must live on the same scale or the discriminator wins by looking at the range alone.
# * **binary** (`binarize`): threshold at 0.5, for models of on/off pixels.
# * **dequantised** (`dequantize`): $(x + u)/256$ with $u \sim U[0, 1)$. A continuous density put on
#   discrete values can grow without bound (all its mass on the 256 levels); spreading each level over
#   its bin of width 1/256 makes the likelihood honest {cite:p}`theis2016`.

# %%
x_unit = to_unit(train.images)
x_signed = to_signed(train.images)
x_bin = binarize(x_unit)
x_deq = dequantize(train.images, generator=generator)
for name, x in [
    ("[0,1]", x_unit),
    ("[-1,1]", x_signed),
    ("binary", x_bin),
    ("dequantised", x_deq),
]:
    print(
        f"{name:12s} shape {tuple(x.shape)}  dtype {x.dtype}",
        f"range [{x.min():.3f}, {x.max():.3f}]",
    )
print("dequantised values are < 1 (the range is [0, 1)):", bool(x_deq.max() < 1))

# %% tags=["nbval-ignore-output"]
show_image_rows(
    {"[0, 1]": x_unit[:10], "binarised at 0.5": x_bin[:10]}, nrow=10, width=7
)
plt.show()

# %% [markdown]
# `````{exercise-start}
# :label: ex-concepts-signed
# `````
#
# Write `my_to_signed(x)`, which maps a float tensor of pixels in [0, 1] to [-1, 1] elementwise, without
# changing its input. The checker tries it on a ramp of values and names the mistake it sees.
#
# `````{exercise-end}
# `````

# %%
from aigc_course.exercises import (
    check_bernoulli_log_likelihood,
    check_bits_per_dim,
    check_to_signed,
)


def my_to_signed(x):
    raise NotImplementedError


check_to_signed(my_to_signed)

# %% [markdown]
# `````{solution-start} ex-concepts-signed
# :class: dropdown
# `````

# %%
def my_to_signed(x):
    return 2 * x - 1


check_to_signed(my_to_signed)

# %% [markdown]
# `````{solution-end}
# `````

# %% [markdown]
# ## 3. A first generative model: independent pixels (生成模型)
#
# The simplest model of a binary image treats each of its $D = 784$ pixels as an independent coin
# with its own probability $\pi_i$ of being on:
#
# $$
# \begin{gathered}
# p_\pi(x) = \prod_{i=1}^{D} \pi_i^{x_i}(1-\pi_i)^{1-x_i}, \\
# \log p_\pi(x) = \sum_{i=1}^{D} x_i \log \pi_i + (1-x_i)\log(1-\pi_i).
# \end{gathered}
# $$
#
# Its maximum-likelihood fit is the fraction of training images in which each pixel is on. The
# package adds a pseudo-count $\alpha$ (Laplace smoothing: the posterior mean under a uniform prior)
# so that no pixel gets probability exactly 0 or 1, which moves the fit slightly away from the
# exact maximum-likelihood optimum. This is the package's code:
#
# ```{literalinclude} ../aigc_course/models/baselines.py
# :pyobject: PixelBernoulli.fit
# ```

# %%
pixel_model = PixelBernoulli.fit(x_bin, alpha=1.0)
pixel_samples = pixel_model.sample(cfg.n_samples, generator=generator)
print("parameters:", count_parameters(pixel_model))

# %% tags=["nbval-ignore-output"]
fig, axes = plt.subplots(1, 2, figsize=(9, 2.8), gridspec_kw={"width_ratios": [1, 3.2]})
show_images(
    pixel_model.probs.reshape(1, 1, 28, 28), title="probabilities $\\pi$", ax=axes[0]
)
show_images(pixel_samples[:20], title="samples", nrow=10, ax=axes[1])
plt.show()

# %% [markdown]
# The probabilities form a blurred "average digit", and the samples are speckled clouds in its shape:
# the model knows *where* ink tends to be, but because every pixel is drawn on its own it cannot put
# the ink together into strokes. Independence throws away every correlation between pixels.

# %% [markdown]
# ## 4. Loss and training (损失函数, 训练过程)
#
# For a likelihood model the natural {term}`loss function` is the negative log-likelihood (NLL) of the
# training data, here averaged over a mini-batch, in nats per image:
#
# $$
# \mathcal L(\pi) = -\frac{1}{B}\sum_{b=1}^{B} \log p_\pi(x_b).
# $$
#
# `PixelBernoulli` stores the logits $\ell_i = \log\frac{\pi_i}{1-\pi_i}$, and its `log_prob` is the
# numerically stable form of the formula above:
#
# ```{literalinclude} ../aigc_course/models/baselines.py
# :pyobject: PixelBernoulli.log_prob
# ```
#
# Training starts from $\pi_i = 1/2$ everywhere and follows the gradient of the loss with Adam. The
# closed-form (smoothed) fit above is, up to its tiny pseudo-count, the optimum this training should
# reach; we train from several seeds (each shuffles the batches differently). The loop is the package's
# `train_likelihood`, and its heart is one step of gradient descent:
#
# ```{literalinclude} ../aigc_course/train/likelihood.py
# :pyobject: likelihood_step
# ```

# %% tags=["nbval-ignore-output"]
closed_form_nll = -pixel_model.log_prob(x_bin).mean().item()
runs = []  # (seed, history, final NLL, largest |pi - pi_closed_form|)
for seed in cfg.train_seeds:
    trained = PixelBernoulli()
    history = train_likelihood(trained, x_bin, replace(cfg.train, seed=seed))
    with torch.no_grad():
        final_nll = -trained.log_prob(x_bin).mean().item()
        gap = (trained.probs - pixel_model.probs).abs().max().item()
    runs.append((seed, history, final_nll, gap))
    print(
        f"seed {seed}: {len(history)} steps, training NLL {history[0]:.1f} -> "
        f"{final_nll:.2f} nats/image, largest |pi - pi_closed_form| = {gap:.3f}"
    )
finals = torch.tensor([r[2] for r in runs])
gaps = torch.tensor([r[3] for r in runs])
print(
    f"closed form {closed_form_nll:.2f}; trained, over {len(runs)} seeds: "
    f"{finals.mean():.2f} (min {finals.min():.2f}, max {finals.max():.2f})"
)
glue("concepts_nll_closed", closed_form_nll)
glue("concepts_nll_trained_min", finals.min().item())
glue("concepts_nll_trained_max", finals.max().item())
glue("concepts_pi_gap_min", gaps.min().item())
glue("concepts_pi_gap_max", gaps.max().item())
plot_curves(
    {f"seed {seed}": history for seed, history, _, _ in runs},
    ylabel="nats per image",
    title="training the independent-pixel model (mini-batch NLL)",
    logy=True,
)
plt.show()

# %% [markdown]
# On every seed the loss falls from $784 \ln 2 \approx 543$ nats (every pixel a fair coin) to
# {glue:text}`concepts_nll_trained_min:.2f`-{glue:text}`concepts_nll_trained_max:.2f` nats, close to the
# closed-form {glue:text}`concepts_nll_closed:.2f`, and the learned probabilities differ from the closed
# form by at most {glue:text}`concepts_pi_gap_min:.3f`-{glue:text}`concepts_pi_gap_max:.3f` (the range
# over the seeds). The remaining gap is mini-batch noise: with a constant learning rate, Adam keeps jittering around the optimum instead
# of settling on it (lowering the learning rate during training should close it; we have not run that here). For this model training
# is overkill, since the optimum has a formula; for the networks of the next chapters there is no formula,
# and this loop, with a different loss, is all there is.

# %% [markdown]
# `````{exercise-start}
# :label: ex-concepts-bernoulli
# `````
#
# Write `my_log_likelihood(x, probs)`: the log-likelihood in nats of each image in `x` (shape (B, D),
# values 0 or 1) under independent pixels with probabilities `probs` (shape (D,)). Return shape (B,).
#
# `````{exercise-end}
# `````

# %%
def my_log_likelihood(x, probs):
    raise NotImplementedError


check_bernoulli_log_likelihood(my_log_likelihood)

# %% [markdown]
# `````{solution-start} ex-concepts-bernoulli
# :class: dropdown
# `````

# %%
def my_log_likelihood(x, probs):
    return (x * probs.log() + (1 - x) * (1 - probs).log()).sum(dim=1)


check_bernoulli_log_likelihood(my_log_likelihood)

# %% [markdown]
# `````{solution-end}
# `````

# %% [markdown]
# ## 5. A second model: a Gaussian in PCA space
#
# To capture correlations between pixels, model the dequantised images $y \in [0,1)^{784}$ with a
# Gaussian whose covariance keeps the $k$ directions of largest variance, the principal components, and
# treats what is left as isotropic noise $\sigma^2$. This is probabilistic PCA
# {cite:p}`tipping1999`:
#
# $$
# \begin{gathered}
# y = \mu + U_k (\Lambda_k - \sigma^2 I)^{1/2}\varepsilon_k + \sigma\varepsilon, \\
# p(y) = \mathcal N\big(\mu,\; U_k(\Lambda_k - \sigma^2 I)U_k^\top + \sigma^2 I\big),
# \end{gathered}
# $$
#
# with $\varepsilon_k \sim \mathcal N(0, I_k)$, $\varepsilon \sim \mathcal N(0, I_D)$, $\Lambda_k$ the
# $k$ largest eigenvalues of the data covariance, $U_k$ their eigenvectors and $\sigma^2$ the mean of
# the other eigenvalues. Along each principal direction the two noise terms add up to the data's
# variance $\lambda_j$; elsewhere only $\sigma^2$ is left. (The package's sampler uses the equivalent
# form $\mu + U_k\Lambda_k^{1/2}\varepsilon_k + \sigma(I - U_kU_k^\top)\varepsilon$: the isotropic
# noise with its part inside the subspace removed.)
#
# Fitting it is one singular value decomposition:
#
# ```{literalinclude} ../aigc_course/models/baselines.py
# :pyobject: PCAGaussian.fit
# ```

# %%
pca_model = PCAGaussian.fit(x_deq, k=cfg.pca_k)
pca_samples = pca_model.sample(cfg.n_samples, generator=generator)
pca_subspace = pca_model.sample(cfg.n_samples, generator=generator, noise=False)
print(
    f"k = {pca_model.k} directions,",
    f"noise variance sigma^2 = {pca_model.noise_variance:.2e}",
)

# %% tags=["nbval-ignore-output"]
explained = pca_model.variances.sum() / (
    x_deq.reshape(len(x_deq), -1).var(0, unbiased=False).sum()
)
print(f"the top {pca_model.k} directions hold {explained:.1%} of the pixel variance")
show_image_rows(
    {
        "top 10 principal directions (scaled to [0, 1])": (
            pca_model.components[:, :10].T - pca_model.components[:, :10].min()
        )
        / (pca_model.components[:, :10].max() - pca_model.components[:, :10].min()),
        "samples: subspace part only (noise=False)": pca_subspace[:10].clamp(0, 1),
        "samples: full model, with the isotropic noise": pca_samples[:10].clamp(0, 1),
    },
    nrow=10,
    width=7,
)
plt.show()

# %% [markdown]
# Now strokes appear: the principal directions are smooth blobs and strokes, and the subspace part of a
# sample is a blurred ghost of a digit, sometimes two digits at once. The full sample adds the isotropic
# noise the model needs to explain everything the $k$ directions miss, which sprinkles grey over the
# background. A Gaussian is unimodal: it cannot say "a 1 *or* an 8", only "something in between".

# %% [markdown]
# ## 6. Post-processing (后处理)
#
# Model output is rarely a finished image. At the very least it has to be clamped to the valid range and
# quantised to 8 bits (`to_uint8`) to be saved or shown; often a filter cleans it up. A 3 x 3 median filter
# removes isolated speckles:
#
# ```{literalinclude} ../aigc_course/data/transforms.py
# :pyobject: to_uint8
# ```

# %%
pixel_clean = median_filter(pixel_samples, size=3)
pca_uint8 = to_uint8(pca_samples.float())
print(
    "PCA samples before:",
    f"[{pca_samples.min():.2f}, {pca_samples.max():.2f}]",
    pca_samples.dtype,
    "| after to_uint8:",
    f"[{pca_uint8.min()}, {pca_uint8.max()}]",
    pca_uint8.dtype,
)

# %% tags=["nbval-ignore-output"]
show_image_rows(
    {
        "independent pixels: raw samples": pixel_samples[:10],
        "independent pixels: after a 3x3 median filter": pixel_clean[:10],
        "PCA Gaussian: raw samples (clamped)": pca_samples[:10].clamp(0, 1),
        "PCA Gaussian: after a 3x3 median filter": median_filter(
            pca_samples[:10].clamp(0, 1).float()
        ),
    },
    nrow=10,
    width=7,
)
plt.show()

# %% [markdown]
# The filter tidies the speckle, but it cannot add what the model never learned: a blob stays a blob.
# Post-processing polishes a good model's output; it does not rescue a weak model. (Among the source
# article's examples of post-processing are image restoration and style transfer, which are themselves
# generative models, next to enhancement and colour correction, which are filters like this one.)

# %% [markdown]
# ## 7. Evaluation and optimisation (评估与优化)
#
# **Held-out likelihood.** A model that has learned the distribution, not the training set, gives high
# likelihood to images it never saw. We score the 10,000 test images in nats per image (lower NLL is
# better) and in {term}`bits per dimension`.
#
# The two models see different data (binary vs. 256-level pixels), so their numbers are not directly
# comparable. For the PCA Gaussian we report an upper bound on the NLL of the *discrete* 8-bit test images:
# a density $p$ on $[0,1)^D$ gives the 8-bit image $x$ at least probability
# $\exp\big(\E_u[\log p((x+u)/256)] - D\log 256\big)$ {cite:p}`theis2016` (Jensen's inequality).
# We draw one $u$ per test image, so each printed number is a one-sample estimate of that bound, not
# itself a guaranteed bound; averaged over 10,000 images the estimate's noise is negligible.
#
# ```{literalinclude} ../aigc_course/metrics/likelihood.py
# :pyobject: discrete_nll_from_density
# ```

# %% tags=["nbval-ignore-output"]
test_bin = binarize(to_unit(test.images))
test_deq = dequantize(test.images, generator=generator)
D = 28 * 28
with torch.no_grad():
    nll_pixel = -pixel_model.log_prob(test_bin)
nll_pca = discrete_nll_from_density(pca_model.log_prob(test_deq), num_dims=D)
bpd_pixel = bits_per_dim(nll_pixel.mean(), D).item()
bpd_pca = bits_per_dim(nll_pca.mean(), D).item()
print(
    "independent pixels, binarised test images:",
    f"{nll_pixel.mean():7.1f} nats/image = {bpd_pixel:.3f} bits/dim",
)
print(
    f"PCA Gaussian (k={pca_model.k}), 8-bit test images:",
    f"{nll_pca.mean():7.1f} nats/image = {bpd_pca:.3f} bits/dim",
)
print("for scale: storing 8-bit pixels raw costs 8 bits/dim;")
print("           binary pixels as fair coins cost 1 bit/dim")
glue("concepts_bpd_pixel", bpd_pixel)
glue("concepts_bpd_pca32", bpd_pca)

# %% [markdown]
# **Choosing $k$ (the "optimisation" in evaluation and optimisation).** More principal directions always
# fit the training images better. Whether they generalise is a question only held-out data can answer.
# We hold out the last `n_val` training images as a **validation split**, fit each $k$ on the rest,
# choose $k$ on the validation images, and only then look at the test images, once, for the model chosen
# (choosing on the test images would make the test number optimistic):

# %% tags=["nbval-ignore-output"]
x_fit, x_val = x_deq[: -cfg.n_val], x_deq[-cfg.n_val :]


def bpd_under(model, x):
    return bits_per_dim(
        discrete_nll_from_density(model.log_prob(x), D).mean(), D
    ).item()


sweep = []  # (k, train, validation, test) bits/dim
for k in cfg.pca_sweep:
    model_k = PCAGaussian.fit(x_fit, k=k)
    row = (k, bpd_under(model_k, x_fit), bpd_under(model_k, x_val))
    sweep.append((*row, bpd_under(model_k, test_deq)))
    print(f"k = {k:4d}: train {row[1]:6.3f} bits/dim, validation {row[2]:6.3f}")
best_k, _, best_val, best_test = min(sweep, key=lambda row: row[2])
print(f"best k on the validation images: {best_k};")
print(f"its test score: {best_test:.3f} bits/dim (validation {best_val:.3f})")
glue("concepts_best_k", best_k)
glue("concepts_best_test_bpd", best_test)
fig, ax = plt.subplots(figsize=(6, 3))
ks = [max(r[0], 0.5) for r in sweep]
ax.plot(ks, [r[1] for r in sweep], "o-", label="train")
ax.plot(ks, [r[2] for r in sweep], "s-", label="validation")
ax.plot(ks, [r[3] for r in sweep], ":", color="grey", label="test (not used to choose)")
ax.set(
    xscale="log",
    xlabel="k (0 plotted at 0.5)",
    ylabel="bits/dim (lower is better)",
    title="PCA Gaussian: choosing k",
)
ax.legend(frameon=False)
ax.grid(alpha=0.3)
plt.show()

# %% tags=["remove-cell"]
# Test: nested maximum-likelihood fits, so the training score cannot get worse
# as k grows (theory); the validation choice is the validation column's minimum.
train_col = [row[1] for row in sweep]
assert all(b <= a + 1e-6 for a, b in zip(train_col, train_col[1:], strict=False)), sweep
assert best_val == min(row[2] for row in sweep)

# %% [markdown]
# The training curve only goes down: each extra direction lets the model explain more of the training
# images. The validation curve goes down and then, once the directions left to add are the ones that
# describe quirks of the particular training images rather than digits in general, comes back up: the
# model overfits. Here the best $k$ is {glue:text}`concepts_best_k`. With more training images (all
# 60,000, where the loader finds them) we would expect the turn to come later, since more data can
# support more directions; we have not run that here, so try it if your loader finds full MNIST.
#
# Notice also *where* the likelihood gains come from. Some pixels are black in every training image; after
# dequantisation they hold only the uniform noise $u/256$, whose variance is $(1/256)^2/12 \approx
# 1.27\cdot10^{-6}$. Every extra direction lowers the model's leftover variance $\sigma^2$, and with it the
# variance the model gives those pixels, so their log-density climbs:

# %% tags=["nbval-ignore-output"]
black = (train.images.reshape(len(train.images), -1) == 0).all(dim=0)  # (D,)


def black_pixel_log_density(model, x):
    r"""Mean log-density of the always-black pixels alone (their Gaussian marginal)."""
    u, lam, s2 = model.components[black], model.variances, model.noise_variance
    cov = (u * (lam - s2)) @ u.T + s2 * torch.eye(int(black.sum()), dtype=u.dtype)
    marginal = torch.distributions.MultivariateNormal(model.mean.flatten()[black], cov)
    return marginal.log_prob(x.reshape(len(x), -1)[:, black].double()).mean().item()


small, large = PCAGaussian.fit(x_fit, k=32), PCAGaussian.fit(x_fit, k=best_k)
gain_all = (large.log_prob(test_deq) - small.log_prob(test_deq)).mean().item()
gain_black = black_pixel_log_density(large, test_deq) - black_pixel_log_density(
    small, test_deq
)
true_var = (1 / 256) ** 2 / 12
print(f"always-black training pixels: {int(black.sum())} of {D}")
print(
    f"test log-density gained from k = 32 to k = {best_k}: {gain_all:.0f} nats/image,"
)
print(f"  of which the always-black pixels' own density: {gain_black:.0f} nats")
print(f"sigma^2 at k = {best_k}: {large.noise_variance:.2e};", end=" ")
print(f"their true variance {true_var:.2e} ({large.noise_variance / true_var:.0f}x)")
glue("concepts_n_black", int(black.sum()))
glue("concepts_gain_all", gain_all)
glue("concepts_gain_black", gain_black)
glue("concepts_black_share", 100 * gain_black / gain_all)
glue("concepts_var_ratio", large.noise_variance / true_var)

# %% [markdown]
# On the test images the {glue:text}`concepts_n_black` always-black pixels alone gain
# {glue:text}`concepts_gain_black:.0f` of the {glue:text}`concepts_gain_all:.0f` nats per image
# ({glue:text}`concepts_black_share:.0f`%) that the model gains from $k = 32$ to the best $k$, although the
# model's $\sigma^2$ is still {glue:text}`concepts_var_ratio:.0f` times their true variance. Modelling the
# noise of empty background improves the likelihood a lot and the look of the samples not at all.
# Likelihood and sample quality can disagree {cite:p}`theis2016`; that is one reason GANs, which have no
# likelihood at all, are judged by their samples.
#
# **Nearest neighbours.** Likelihood says little about how samples *look*. A second, simple check
# measures how far each sample is from its nearest training image (Euclidean distance on the [0, 1]
# scale). Test images give the reference: a real digit that is new is typically this far from the
# training set. Much closer means copying. Farther means unlike every training image, which can be
# a bad sample or merely a noisy one: a distance cannot tell whether an image *looks* like a digit.

# %% tags=["nbval-ignore-output"]
reference = x_unit.reshape(len(x_unit), -1)
d_test, _ = nearest_neighbours(to_unit(test.images[:500]), reference)
d_pixel, _ = nearest_neighbours(pixel_samples, x_bin.reshape(len(x_bin), -1))
d_pixel_ref, _ = nearest_neighbours(test_bin[:500], x_bin.reshape(len(x_bin), -1))
d_pca, idx_pca = nearest_neighbours(pca_samples.clamp(0, 1).float(), reference)
d_sub, _ = nearest_neighbours(pca_subspace.clamp(0, 1).float(), reference)
medians = {
    "test images ([0,1])": d_test.median().item(),
    "PCA Gaussian samples": d_pca.median().item(),
    "PCA samples, subspace part only": d_sub.median().item(),
    "binarised test images": d_pixel_ref.median().item(),
    "independent-pixel samples (binary)": d_pixel.median().item(),
}
print(f"{'':36s}median distance to nearest training image")
for name, value in medians.items():
    print(f"{name:36s}{value:.2f}")
glue("concepts_nn_test", medians["test images ([0,1])"])
glue("concepts_nn_pca", medians["PCA Gaussian samples"])
glue("concepts_nn_sub", medians["PCA samples, subspace part only"])
glue("concepts_nn_test_bin", medians["binarised test images"])
glue("concepts_nn_pixel", medians["independent-pixel samples (binary)"])
show_image_rows(
    {
        "PCA samples": pca_samples[:10].clamp(0, 1),
        "their nearest training images": x_unit[idx_pca[:10]],
    },
    nrow=10,
    width=7,
)
plt.show()

# %% [markdown]
# Neither model copies its training data: both models' samples sit farther from the training set than
# real, unseen digits do (PCA samples {glue:text}`concepts_nn_pca:.2f` against
# {glue:text}`concepts_nn_test:.2f` for test images; independent-pixel samples
# {glue:text}`concepts_nn_pixel:.2f` against {glue:text}`concepts_nn_test_bin:.2f` for binarised test
# images). For the PCA Gaussian much of that distance is its isotropic noise: without it, the
# subspace part alone is at {glue:text}`concepts_nn_sub:.2f`. The distances show "no copying"; that the
# samples do not look like digits is what the pictures above show, not what the distances prove.
#
# `````{exercise-start}
# :label: ex-concepts-bpd
# `````
#
# Write `my_bits_per_dim(nll_nats, num_dims)`: convert a negative log-likelihood per image, in nats, into
# bits per dimension. Then check: does $784 \ln 2 \approx 543.4$ nats for a 784-pixel image (every pixel a
# fair coin) give exactly 1 bit/dim?
#
# `````{exercise-end}
# `````

# %%
def my_bits_per_dim(nll_nats, num_dims):
    raise NotImplementedError


check_bits_per_dim(my_bits_per_dim)

# %% [markdown]
# `````{solution-start} ex-concepts-bpd
# :class: dropdown
# `````

# %%
import math


def my_bits_per_dim(nll_nats, num_dims):
    return nll_nats / (num_dims * math.log(2))


check_bits_per_dim(my_bits_per_dim)

# %% [markdown]
# `````{solution-end}
# `````

# %% [markdown]
# ## 8. Why these baselines fall short
#
# Both models have exact likelihoods, exact samplers and closed-form fits, and both produce images that
# nobody would mistake for hand-writing:
#
# * **Independent pixels** ignore every dependency between pixels: the ink is in the right region but
#   never forms a stroke.
# * **A Gaussian in PCA space** captures linear correlations, hence strokes, but a single Gaussian
#   has one mode: samples are blurred averages of several digits, and its noise term sprinkles grey
#   over the background.
#
# Real images lie near a curved, many-branched surface in pixel space. The next chapters replace the
# linear map $z \mapsto \mu + U_k(\Lambda_k - \sigma^2 I)^{1/2}z$ by a neural network $G(z)$:
#
# * a {term}`GAN` {cite:p}`goodfellow2014` trains $G$ without any likelihood, against a discriminator
#   that learns what real images look like;
# * a {term}`VAE` {cite:p}`kingma2014` keeps a likelihood, trained through a lower bound (the {term}`ELBO`),
#   with a neural encoder and decoder. Probabilistic PCA is its linear-Gaussian special case: with a
#   linear decoder, Gaussian noise and a linear Gaussian encoder, the ELBO's optimum is exactly
#   probabilistic PCA {cite:p}`lucas2019`.
#
# The pipeline stays the same: only the box in the middle becomes more powerful.
#
# ```{admonition} What you should see
# :class: tip
# This page was run on the data source its first cells name. With the 5,000-image offline subset you
# should get the same numbers to the printed digits: the fits are closed-form and every random draw is
# seeded; only the gradient-descent fit depends on the seed (final training NLL
# {glue:text}`concepts_nll_trained_min:.2f`-{glue:text}`concepts_nll_trained_max:.2f` nats over our seeds,
# against {glue:text}`concepts_nll_closed:.2f` in closed form). Key numbers: independent pixels
# {glue:text}`concepts_bpd_pixel:.3f` bits/dim on binarised test images; the PCA Gaussian with $k = 32$
# {glue:text}`concepts_bpd_pca32:.3f` bits/dim, and with the $k$ chosen on validation images
# ({glue:text}`concepts_best_k`) {glue:text}`concepts_best_test_bpd:.3f` bits/dim. With full MNIST
# (60,000 training images) the numbers differ; we have not measured them here. Quick mode
# (`AIGC_QUICK=1`) trains fewer epochs and fewer seeds and sweeps fewer $k$, so its training NLL is
# higher and its best $k$ can differ.
# ```
#
# ## Summary
#
# * Every generative model goes through data, preprocessing, a model, samples, post-processing, a loss,
#   training and evaluation.
# * The likelihood is both the training loss and an evaluation metric, measured in nats per image or bits
#   per dimension on held-out data; a continuous model of 8-bit images must be scored on dequantised data.
# * More capacity (larger $k$) always helps on the training data; held-out data decides.
# * Post-processing cannot create structure that the model lacks.
#
# The works cited are listed on the [References](references.md) page.
