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
# # Diffusion models and flow matching
#
# The GANs and VAEs of the previous chapters make an image in one pass of a network. The
# generators behind today's AIGC images (Stable Diffusion, DALL·E 3, Imagen, Midjourney,
# Flux) work differently: they start from pure noise and remove it a little at a time, with
# one network applied many times. This chapter builds that idea from the ground up:
#
# 1. the **forward process** that turns data into noise, in closed form, on numbers and on
#    images;
# 2. the **reverse process** learned by predicting the noise ({term}`DDPM <Diffusion model>`,
#    Ho et al. {cite:p}`ho2020`, after Sohl-Dickstein et al. {cite:p}`sohl2015`), derived
#    from the VAE chapter's ELBO, and why that prediction is a *score*;
# 3. a {term}`diffusion model` on the GAN chapter's ring of Gaussians, side by side with the GAN;
# 4. **{term}`flow matching`** (Lipman et al. {cite:p}`lipman2023`; rectified flow, Liu et al.
#    {cite:p}`liu2023flow`), and why it is the same family with other settings: **one family,
#    three knobs** (schedule, prediction target, sampler), with the samplers' error against
#    the number of network evaluations measured where the exact answer is known;
# 5. MNIST in pixel space with a small UNet, a **sampler sweep** (DDPM, DDIM, Euler, Heun), and
#    the {term}`denoising <Denoising>` seen on images;
# 6. **{term}`latent diffusion`** in miniature, in the latent space of a VAE (the idea of
#    Stable Diffusion, Rombach et al. {cite:p}`rombach2022`);
# 7. **{term}`classifier-free guidance`** {cite:p}`ho2022cfg`, its trade-off as a curve;
# 8. one table with the case study's GAN and VAE and this chapter's models;
# 9. whether a real-vs-generated detector catches diffusion samples.
#
# What is trained where: the 2-D models, the latent model and a short demonstration run of
# the UNet train in this notebook. The two MNIST UNets of sections 5 and 7 take longer than a
# chapter may run, so they ship with the package, and the package checks each file's SHA-256
# before loading it. `python -m aigc_course.pretrained.train --name NAME --out FILE` (part of
# the installed package, so it works in Colab too) retrains any of them with the same code
# (printed below: how long, on what, on which data) and prints the line that loads your file.
#
# ```{admonition} Running time and notation
# :class: note
# **Time.** The last section prints where this run spent its time, training against sampling,
# section by section. Most of it is sampling: every image costs tens of UNet evaluations. In
# quick mode (`AIGC_QUICK=1`, what the tests run) every setting is smaller.
#
# **Notation.** The data sit at time 0 and the noise at time 1 (or at the integer step $T$),
# for diffusion and flow matching alike, as in Stable Diffusion 3 {cite:p}`esser2024`.
# Lipman et al. and Liu et al. put the data at $t = 1$; their $t$ is our $1 - t$ and their
# velocity the negative of ours. Integer steps $t \in \{0, \dots, T\}$ of a diffusion
# schedule are seen by the network as the float time $t/T$. So $x_1$ means "one step of noise"
# in sections 1-3 (integer $t$) and "pure noise" in section 4 (float $t$); the text says which.
# ```

# %% tags=["hide-input", "nbval-ignore-output"]
import time
from dataclasses import dataclass, replace

import aigc_course
import numpy
import torch
from aigc_course.data import (
    from_signed,
    load_mnist,
    ring_of_gaussians,
    to_signed,
    to_unit,
    two_gaussians_1d,
)
from aigc_course.interactive import frame_player
from aigc_course.metrics import (
    EvalConfig,
    classifier_features,
    count_modes,
    cross_detection,
    evaluate_samples,
    make_reference,
    metrics_table,
)
from aigc_course.models import (
    ClassifierConfig,
    DCGANConfig,
    DCGANDiscriminator,
    DCGANGenerator,
    LeNetClassifier,
    MLPDenoiser,
    MLPDenoiserConfig,
    ToyDiscriminator,
    ToyGANConfig,
    ToyGenerator,
    UNet,
    UNetConfig,
)
from aigc_course.notebook import count_parameters, glue, mean_std, show_settings
from aigc_course.pretrained import load_pretrained
from aigc_course.sampling import (
    ClassifierFreeGuidance,
    GaussianEpsilon,
    GaussianVelocity,
    cosine_schedule,
    ddim_sample,
    ddpm_sample,
    euler_step,
    flow_matching_sample,
    linear_schedule,
    log_snr,
    predict_x0,
    q_posterior,
    q_sample,
    sample,
    sampling_timesteps,
)
from aigc_course.train import (
    DCGAN_RECIPE,
    ClassifierTrainConfig,
    DiffusionTrainConfig,
    GANTrainConfig,
    classifier_accuracy,
    train_classifier,
    train_diffusion,
    train_gan,
    trained_classifier,
)
from aigc_course.viz import image_grid, plot_curves, plot_toy_2d, show_images
from scipy import stats


@dataclass(frozen=True)
class DiffusionChapterConfig:
    seeds: tuple[int, ...] = (0, 1, 2)  # one training run per seed (2-D and GAN)
    toy_eval_n: int = 2000  # points per 2-D sample set
    toy: DiffusionTrainConfig = DiffusionTrainConfig(  # cosine: see section 3
        steps=4000,
        batch_size=256,
        lr=2e-3,
        schedule="cosine",
        ema_decay=0.999,
        progress=False,
    )
    toy_net: MLPDenoiserConfig = MLPDenoiserConfig(dim=2, hidden=128, depth=3)
    toy_gan: GANTrainConfig = GANTrainConfig(  # the GAN chapter's ring recipe
        steps=3000,
        batch_size=256,
        lr_d=1e-3,
        lr_g=1e-3,
        betas=(0.5, 0.9),
        n_fixed=2000,
        snapshot_every=250,
        progress=False,
    )
    toy_steps: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 1000)
    oracle_n: int = 100_000  # points per sampler run on the exact Gaussian predictors
    oracle_nfe: tuple[int, ...] = (2, 4, 10, 20, 50, 100, 200, 1000)
    unet_demo: DiffusionTrainConfig = DiffusionTrainConfig(
        steps=300, batch_size=64, lr=1e-3, grad_clip=1.0, progress=False
    )
    n_reference: int = 5000  # held-out test images that form the reference
    n_sweep: int = 400  # images per sampler setting
    flow_steps: tuple[int, ...] = (5, 10, 20, 50)
    ddim_steps: tuple[int, ...] = (10, 20, 50, 100)
    ddpm_steps: tuple[int, ...] = (10, 20, 50, 100)
    heun_steps: tuple[int, ...] = (5, 10, 25)  # two evaluations per step
    guidance: tuple[float, ...] = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
    guidance_steps: int = 20
    n_guided: int = 400  # images per guidance weight, an equal number per digit
    latent: DiffusionTrainConfig = DiffusionTrainConfig(
        steps=4000, batch_size=256, lr=1e-3, ema_decay=0.999, progress=False
    )
    latent_net: MLPDenoiserConfig = MLPDenoiserConfig(dim=20, hidden=256, depth=3)
    n_compare: int = 2000  # images per row of the comparison table (as the case study)
    compare_steps: int = 20  # sampler steps of the comparison rows
    # the package's tuned DCGAN recipe, for the case study's 30 seconds
    gan: GANTrainConfig = replace(DCGAN_RECIPE, max_seconds=30.0)
    dcgan: DCGANConfig = DCGANConfig(base_channels=32)
    detector_train: ClassifierTrainConfig = ClassifierTrainConfig(
        epochs=3, max_shift=0, progress=False
    )
    chunk: int = 250  # images per sampler call (memory)
    evaluation: EvalConfig = EvalConfig(kid_subsets=20)


cfg = DiffusionChapterConfig()
if aigc_course.quick_mode():
    cfg = replace(
        cfg,
        seeds=(0, 1),
        toy=replace(cfg.toy, steps=2000),
        toy_gan=replace(cfg.toy_gan, steps=1000),
        toy_steps=(1, 5, 20, 1000),
        oracle_n=20_000,
        oracle_nfe=(2, 10, 50),
        unet_demo=replace(cfg.unet_demo, steps=10),
        n_sweep=200,
        flow_steps=(5, 20),
        ddim_steps=(10,),
        ddpm_steps=(10,),
        heun_steps=(5,),
        guidance=(0.0, 0.5, 2.0),
        guidance_steps=10,
        n_guided=200,
        latent=replace(cfg.latent, steps=1000),
        n_compare=200,
        compare_steps=10,
        gan=replace(cfg.gan, steps=300, max_seconds=None),
        evaluation=replace(cfg.evaluation, kid_subsets=10),
    )
device = aigc_course.get_device()
spent = {}  # (what, "training"/"sampling"/"scoring") -> seconds, for the last box


def clock(what, kind, seconds):
    spent[what, kind] = spent.get((what, kind), 0.0) + seconds


print("quick mode" if aigc_course.quick_mode() else "full mode", "on", device, "\n")
show_settings(cfg, unchanged="{name}() (all defaults)")

# %% [markdown]
# ## 1. The forward process: from data to noise
#
# Take a data point $x_0$ and add a little Gaussian noise, $T$ times, shrinking the signal a
# little each time so that its variance stays bounded:
#
# $$
# q(x_t \mid x_{t-1}) = \mathcal N\bigl(x_t;\ \sqrt{1-\beta_t}\,x_{t-1},\ \beta_t I\bigr),
# \qquad t = 1, \dots, T,
# $$
#
# with a **noise schedule** $0 < \beta_1 < \dots < \beta_T < 1$ (Ho et al. use $T = 1000$ and
# $\beta_t$ rising linearly from $10^{-4}$ to $0.02$). Each step scales the previous point and
# adds *independent* Gaussian noise, and a sum of independent Gaussians is Gaussian, so steps
# compose: two steps give $x_t = \sqrt{\alpha_t\alpha_{t-1}}\,x_{t-2} +
# \sqrt{\alpha_t\beta_{t-1}}\,\epsilon' + \sqrt{\beta_t}\,\epsilon''$, whose noise has variance
# $\alpha_t(1-\alpha_{t-1}) + 1 - \alpha_t = 1 - \alpha_t\alpha_{t-1}$. Repeating this, with
# $\alpha_t = 1-\beta_t$ and $\bar\alpha_t = \prod_{s\le t}\alpha_s$, the $t$ steps collapse into
# one:
#
# $$
# \begin{gathered}
# q(x_t \mid x_0) = \mathcal N\bigl(x_t;\ \sqrt{\bar\alpha_t}\,x_0,\ (1-\bar\alpha_t) I\bigr), \\
# \text{i.e.}\quad  x_t = \sqrt{\bar\alpha_t}\,x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon,\
# \epsilon \sim \mathcal N(0, I).
# \end{gathered}
# $$
#
# $\bar\alpha_t$ falls from 1 to almost 0, so $x_T$ is, for every $x_0$, a standard normal
# sample: the forward process forgets the data. The package's `q_sample` is that one line:
#
# ```{literalinclude} ../aigc_course/sampling/schedules.py
# :pyobject: q_sample
# :start-at: ab = _gather
# ```
#
# Is the closed form right? Run the chain itself, step by step, on 20,000 points of a 1-D
# mixture of two Gaussians (at $\pm 2$, standard deviation 0.5), and compare the result at a few
# times $t$ with one-step draws from the closed form: the means and standard deviations, and a
# two-sample Kolmogorov–Smirnov test of the two sets of samples.

# %%
T = 1000
schedules = {"linear": linear_schedule(T), "cosine": cosine_schedule(T)}
x0_1d, _ = two_gaussians_1d(20_000, generator=torch.Generator().manual_seed(0))
x0_1d = x0_1d.double()
check_t = (10, 100, 300, 600, 1000)
print(
    f"{'schedule':>8} {'t':>5} {'alpha_bar':>10} {'mean chain':>11} {'closed':>7}"
    f" {'std chain':>10} {'closed':>7} {'KS p-value':>11}"
)
for name, sched in schedules.items():
    gen = torch.Generator().manual_seed(1)
    x = x0_1d.clone()
    for t in range(1, T + 1):
        beta = sched.betas[t]
        x = (1 - beta).sqrt() * x + beta.sqrt() * torch.randn(
            x.shape, generator=gen, dtype=x.dtype
        )
        if t in check_t:
            noise = torch.randn(x.shape, generator=gen, dtype=x.dtype)
            tt = torch.full((len(x0_1d),), t)
            closed = q_sample(x0_1d, tt, noise, sched)
            p = stats.ks_2samp(x.squeeze(1).numpy(), closed.squeeze(1).numpy()).pvalue
            print(
                f"{name:>8} {t:5d} {float(sched.alpha_bars[t]):10.4f}"
                f" {float(x.mean()):11.3f} {float(closed.mean()):7.3f}"
                f" {float(x.std()):10.3f} {float(closed.std()):7.3f} {p:11.2f}"
            )

# %% [markdown]
# At every $t$ the chain and the closed form agree within sampling error (a KS $p$-value is
# uniform on $[0, 1]$ when the two samples come from one distribution, so values far from 0
# are what agreement looks like; with ten tests, one $p$-value near 0.05 is no surprise: it
# happens in four runs out of ten). Both schedules end at a standard normal (mean 0, standard
# deviation 1). They differ on the way: the linear schedule has destroyed almost all of the
# signal by $t = 600$ ($\bar\alpha_{600} \approx 0.03$), while the cosine schedule of Nichol
# and Dhariwal {cite:p}`nichol2021` removes it more evenly, which matters for small images
# where the linear schedule wastes its last few hundred steps on noise that is already pure.

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for name, sched in schedules.items():
    axes[0].plot(sched.alpha_bars.numpy(), label=name)
axes[0].set(xlabel="t", ylabel=r"$\bar\alpha_t$", title="signal kept")
axes[0].legend(frameon=False)
sched = schedules["linear"]
for t in (0, 100, 300, 1000):
    xt = q_sample(
        x0_1d,
        torch.full((len(x0_1d),), t),
        torch.randn(
            x0_1d.shape, generator=torch.Generator().manual_seed(2), dtype=x0_1d.dtype
        ),
        sched,
    )
    axes[1].hist(
        xt.squeeze(1).numpy(), bins=120, histtype="step", density=True, label=f"t={t}"
    )
axes[1].set(xlabel="x_t", title="q(x_t), linear schedule")
axes[1].legend(frameon=False)
plt.tight_layout()
plt.show()

# %% [markdown]
# The same closed form on an image: one test digit, scaled to $[-1, 1]$ like the training data
# of section 5, noised to five times under each schedule. With the linear schedule the digit is
# hard to see by $t = 600$; with the cosine schedule it is still there.

# %% tags=["nbval-ignore-output"]
test = load_mnist("test")
digit = to_signed(test.images[:1]).double()  # (1, 1, 28, 28), in [-1, 1]
noise = torch.randn(
    digit.shape, generator=torch.Generator().manual_seed(3), dtype=digit.dtype
)
image_t = (0, 100, 300, 600, 1000)
rows = [
    q_sample(digit, torch.tensor([t]), noise, sched)
    for sched in schedules.values()
    for t in image_t
]
show_images(
    from_signed(torch.cat(rows).clamp(-1, 1)).float(),
    nrow=len(image_t),
    title="top: linear, bottom: cosine; t = " + ", ".join(map(str, image_t)),
)
plt.show()

# %% [markdown]
# `````{exercise-start}
# :label: ex-diff-q-sample
# `````
#
# Write `my_q_sample(x0, alpha_bar, noise)`: one draw of $x_t$ from $q(x_t \mid x_0)$ for a
# batch `x0` of shape $(B, D)$, with one value of $\bar\alpha_t$ per example (`alpha_bar` has
# shape $(B,)$) and the noise given.
#
# `````{exercise-end}
# `````

# %%
from aigc_course.exercises import (
    check_flow_loss,
    check_q_sample,
)


def my_q_sample(x0, alpha_bar, noise):
    raise NotImplementedError


check_q_sample(my_q_sample)

# %% [markdown]
# `````{solution-start} ex-diff-q-sample
# :class: dropdown
# `````


# %%
def my_q_sample(x0, alpha_bar, noise):
    a = alpha_bar[:, None]  # (B, 1): broadcast over the D coordinates
    return a.sqrt() * x0 + (1 - a).sqrt() * noise


check_q_sample(my_q_sample)

# %% [markdown]
# `````{solution-end}
# `````
#
# ## 2. The reverse process, the noise objective, and the score
#
# To generate, run the chain backwards: start from $x_T \sim \mathcal N(0, I)$ and draw
# $x_{t-1}$ from $q(x_{t-1} \mid x_t)$. That reverse step is unknown (it depends on the whole
# data distribution), but **given $x_0$ it is an exact Gaussian** (Bayes' rule on two
# Gaussians, Ho et al.'s Eqs. 6-7):
#
# $$
# q(x_{t-1}\mid x_t, x_0) = \mathcal N\bigl(\tilde\mu_t, \tilde\beta_t I\bigr),\quad
# \tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\,x_0
#   + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\,x_t,\quad
# \tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\,\beta_t .
# $$
#
# **From the VAE's ELBO to a squared error.** Read the forward process as the VAE chapter's
# encoder, fixed instead of learned, with $T$ layers of latents $x_1, \dots, x_T$, and the
# reverse model $p_\theta(x_{t-1}\mid x_t) = \mathcal N(\mu_\theta(x_t, t), \sigma_t^2 I)$ as
# its decoder. The same ELBO, written step by step (Sohl-Dickstein et al.; Ho et al.'s Eq. 5):
#
# $$
# -\log p_\theta(x_0) \le \underbrace{\KL\bigl(q(x_T\mid x_0)\,\|\,p(x_T)\bigr)}_{L_T:\ \text{no
# parameters}} + \sum_{t=2}^{T} \underbrace{\E_q\KL\bigl(q(x_{t-1}\mid x_t, x_0)\,\|\,
# p_\theta(x_{t-1}\mid x_t)\bigr)}_{L_{t-1}} \underbrace{- \E_q\log p_\theta(x_0\mid
# x_1)}_{L_0}.
# $$
#
# Each $L_{t-1}$ is a KL between two Gaussians with the same variance $\sigma_t^2$, which is a
# scaled squared distance of their means, $\lVert\tilde\mu_t - \mu_\theta\rVert^2/(2\sigma_t^2)$.
# Write $x_0$ through the noise, $x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\epsilon)/\sqrt{\bar\alpha_t}$,
# and give the network the same form,
#
# $$
# \tilde\mu_t = \frac{1}{\sqrt{\alpha_t}}\Bigl(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\,
# \epsilon\Bigr), \qquad
# \mu_\theta = \frac{1}{\sqrt{\alpha_t}}\Bigl(x_t - \frac{\beta_t}{\sqrt{1-\bar\alpha_t}}\,
# \epsilon_\theta(x_t, t)\Bigr),
# $$
#
# and the distance of the means becomes a distance of the noises:
# $L_{t-1} = \frac{\beta_t^2}{2\sigma_t^2\alpha_t(1-\bar\alpha_t)}\,
# \E\lVert\epsilon - \epsilon_\theta(x_t, t)\rVert^2$. Ho et al. drop the weight in front and
# sample $t$ uniformly, which gives the plain squared error they train with,
#
# $$
# L_\text{simple} = \E_{t, x_0, \epsilon}\,\bigl\lVert \epsilon -
# \epsilon_\theta\bigl(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon,\ t\bigr)
# \bigr\rVert^2 .
# $$
#
# So $L_\text{simple}$ is the VAE's bound with the terms reweighted (it puts relatively more
# weight on the noisy steps, where the dropped weight is small). The network only has to guess
# the noise $\epsilon$, or equivalently $x_0$. The sampler is the decoder run step by step,
# Ho et al.'s Algorithm 2 (**{term}`DDPM <Diffusion model>`**, ancestral sampling):
#
# $$
# x_{t-1} = \mu_\theta(x_t, t) + \sigma_t z, \qquad z \sim \mathcal N(0, I),\qquad
# \sigma_t^2 = \tilde\beta_t \ \text{or}\ \beta_t
# $$
#
# (the package's `variance="posterior"` or `"beta"`; no noise at the last step).
# **{term}`DDIM`**
# (Song, Meng and Ermon {cite:p}`song2021ddim`, their Eqs. 12 and 16) predicts
# $\hat x_0$ from $\hat\epsilon$ and puts it back at the next noise level it visits, $t'$:
#
# $$
# x_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat x_0 + \sqrt{1-\bar\alpha_{t'}-\sigma^2}\,\hat\epsilon
#   + \sigma z, \qquad
# \sigma = \eta\sqrt{\frac{1-\bar\alpha_{t'}}{1-\bar\alpha_t}}\,
#   \sqrt{1-\frac{\bar\alpha_t}{\bar\alpha_{t'}}} ;
# $$
#
# $\eta = 0$ is deterministic, and $\eta = 1$ is the ancestral step of the posterior between $t$
# and $t'$. Sampling with fewer than $T$ steps visits a subsequence of the times ("respacing",
# Nichol and Dhariwal {cite:p}`nichol2021`): the rows "ddpm 10 steps" of section 5 are that
# 10-step ancestral chain, with $\alpha_t$ replaced by $\bar\alpha_t/\bar\alpha_{t'}$.
#
# The posterior above is the package's `q_posterior`. A check that needs no algebra: the joint
# of $(x_{t-1}, x_t)$ given $x_0$ is Gaussian, so regressing $x_{t-1}$ on $x_t$ over many
# draws must give $\tilde\mu_t$'s slope on $x_t$, its intercept, and $\tilde\beta_t$ as the
# residual variance.

# %%
sched = schedules["linear"]
x0_fixed = torch.tensor([[0.7]], dtype=torch.float64)  # one data point, 1-D
gen = torch.Generator().manual_seed(4)
print(
    f"{'t':>5} {'slope':>9} {'Bayes':>9} {'intercept':>10} {'Bayes':>9}"
    f" {'resid. var':>11} {'Bayes':>10}"
)
for t in (2, 50, 400, 900):
    n_draws = 400_000
    x0 = x0_fixed.expand(n_draws, 1)
    prev = q_sample(
        x0,
        torch.full((n_draws,), t - 1),
        torch.randn(x0.shape, generator=gen, dtype=x0.dtype),
        sched,
    )
    beta = sched.betas[t]
    x_t = (1 - beta).sqrt() * prev + beta.sqrt() * torch.randn(
        x0.shape, generator=gen, dtype=x0.dtype
    )
    # least squares x_{t-1} = a x_t + b: the sample estimate of E[x_{t-1} | x_t, x_0]
    design = torch.cat([x_t, torch.ones_like(x_t)], 1)
    coef = torch.linalg.lstsq(design, prev).solution.squeeze(1)  # (a, b)
    a, b = coef.tolist()
    resid = float((prev.squeeze(1) - design @ coef).var())
    mean0, var = q_posterior(x0_fixed, torch.zeros(1, 1, dtype=torch.float64), t, sched)
    mean1, _ = q_posterior(x0_fixed, torch.ones(1, 1, dtype=torch.float64), t, sched)
    slope, icpt = float(mean1 - mean0), float(mean0)
    print(
        f"{t:5d} {a:9.4f} {slope:9.4f} {b:10.4f} {icpt:9.4f}"
        f" {resid:11.2e} {float(var):10.2e}"
    )

# %% [markdown]
# The regression and Bayes' rule agree to the third or fourth decimal, the Monte Carlo error
# of 400,000 draws. One training step of the package, for the noise loss and for flow matching
# (section 4):
#
# ```{literalinclude} ../aigc_course/train/diffusion.py
# :pyobject: diffusion_step
# :start-at: batch, device
# ```
#
# **The noise is a score.** The best possible $\epsilon_\theta$ under a squared error is the
# conditional mean $\E[\epsilon \mid x_t]$, and Tweedie's formula (Efron {cite:p}`efron2011`)
# turns it into the gradient of the log-density of the noisy data,
# $\nabla_{x_t}\log q_t(x_t) = -\E[\epsilon\mid x_t]/\sqrt{1-\bar\alpha_t}$ (Song et al.
# {cite:p}`song2021sde`). So a noise-predicting network is a {term}`score <Score>` network in
# disguise, the object that score-based models learn directly (Song and Ermon
# {cite:p}`song2019ncsn`). The sampler's drift points up the score, from noise towards likely
# data, but sampling is not gradient ascent: DDPM adds fresh noise that balances the drift,
# and the deterministic samplers follow half the score plus a shrinking term, so the samples
# spread over the data distribution instead of piling up at its peaks.
#
# A test of the formula where it is not a tautology: the two-Gaussian mixture of section 1.
# There $q_t$ is a mixture of two Gaussians with a known density, so `torch.distributions`
# gives the score by automatic differentiation, while $\E[\epsilon\mid x_t]$, a non-linear
# function of $x_t$ (it weighs the two components by how likely each is to have produced
# $x_t$), is estimated by brute force: draw a million pairs $(x_0, \epsilon)$, bin the $x_t$
# they make, and average $\epsilon$ in each bin.


# %%
def mixture_q_t(alpha_bar):
    """q_t of section 1's data (+-2, std 0.5, equal weights) after noising."""
    mean = alpha_bar.sqrt() * torch.tensor([-2.0, 2.0], dtype=torch.float64)
    std = (alpha_bar * 0.25 + 1 - alpha_bar).sqrt().expand(2)
    weights = torch.distributions.Categorical(torch.tensor([0.5, 0.5]).double())
    return torch.distributions.MixtureSameFamily(
        weights, torch.distributions.Normal(mean, std)
    )


gen = torch.Generator().manual_seed(5)
n_pairs = 1_000_000
x0_mix = torch.where(torch.rand(n_pairs, generator=gen) < 0.5, -2.0, 2.0).double()
x0_mix = x0_mix + 0.5 * torch.randn(n_pairs, generator=gen, dtype=torch.float64)
print(
    f"{'t':>5} {'bins':>5} {'max |E[eps|x_t] - (-sqrt(1-ab) score)|':>40}"
    f" {'largest std. error':>19}"
)
for t in (50, 300, 600):
    ab = schedules["linear"].alpha_bars[t]
    eps = torch.randn(n_pairs, generator=gen, dtype=torch.float64)
    x_t = ab.sqrt() * x0_mix + (1 - ab).sqrt() * eps
    edges = torch.linspace(-2.5, 2.5, 26, dtype=torch.float64)  # 25 bins, well filled
    which = torch.bucketize(x_t, edges) - 1
    diffs, errors = [], []
    for k in range(len(edges) - 1):
        inside = which == k
        centre = (edges[k] + edges[k + 1]) / 2
        x = centre.clone().requires_grad_(True)
        (score,) = torch.autograd.grad(mixture_q_t(ab).log_prob(x), x)
        diffs.append(float(eps[inside].mean() + (1 - ab).sqrt() * score))
        errors.append(float(eps[inside].std() / inside.sum().sqrt()))
    print(f"{t:5d} {len(diffs):5d} {max(map(abs, diffs)):40.3f} {max(errors):19.3f}")

# %% [markdown]
# The binned averages of the noise sit on $-\sqrt{1-\bar\alpha_t}$ times the score, within a
# few standard errors of the bin averages (plus a little bias from averaging over a bin's
# width). The formula holds where the best noise prediction is a curved function of $x_t$,
# which is the case a network has to learn. For Gaussian data everything is linear and known
# in closed form: the optimal noise prediction is the package's `GaussianEpsilon`, and the
# matching flow-matching velocity of section 4 is `GaussianVelocity`. Before using them to
# test the samplers, a prediction.
#
# `````{exercise-start}
# :label: ex-diff-predict
# `````
#
# Predict before you run anything. Answer each with `"smaller"`, `"same"` or `"larger"`.
#
# 1. `steps`: sample DDIM with **1 step** instead of 50, from the same noise and with
#    the same (exact) noise predictor. What happens to the spread (the standard
#    deviation) of the samples?
# 2. `guidance`: sample one class of a data set of three Gaussian classes with
#    classifier-free guidance (section 7) of weight **$w = 4$** instead of $w = 0$,
#
#    $$
#    \tilde\epsilon(x, t, y) = (1 + w)\,\epsilon(x, t, y)
#    - w\,\epsilon(x, t, \varnothing).
#    $$
#
#    What happens to the spread of that class's samples?
#
# The checker then runs both experiments on fresh random data and seeds, with exact
# noise predictors (no training, about a second), and accepts your answers only if
# they match the directions it measured.
#
# `````{exercise-end}
# `````

# %%
from aigc_course.exercises import check_spread_prediction

check_spread_prediction(steps="?", guidance="?")  # "smaller", "same" or "larger"

# %% [markdown]
# `````{solution-start} ex-diff-predict
# :class: dropdown
# `````
#
# Both shrink. One deterministic step from $x_T$ returns
# $\hat x_0 = \E[x_0 \mid x_T]$, the average of every image that could have produced
# $x_T$: almost the data's mean, for every sample. (Section 3 shows the same on the
# ring: one step puts every sample near its middle.) Guidance replaces the class's score
# by $(1+w)\nabla\log q_t(x \mid y) - w\nabla\log q_t(x)$. While the noisy class is
# narrower than the noisy data as a whole, this pulls harder towards the class's centre
# than the class's own score: for two Gaussians about one centre, of variances
# $v_y < v$, the pull per unit of distance is $(1+w)/v_y - w/v > 1/v_y$. The samples
# gather nearer the centre: fewer unusual samples, less variety.

# %% tags=["nbval-ignore-output"]
check_spread_prediction(steps="smaller", guidance="smaller")

# %% [markdown]
# `````{solution-end}
# `````
#
# With the exact predictors in place of a network, a sampler must recover the data
# distribution, which tests the samplers without any training: DDPM (ancestral sampling, 1000
# steps) and DDIM with $\eta = 0$ (deterministic, on 50 of the 1000 steps), on a 2-D Gaussian
# with standard deviations 0.25 and 2.

# %%
m = torch.tensor([1.5, -0.5], dtype=torch.float64)  # a 2-D Gaussian data set
s = torch.tensor([0.25, 2.0], dtype=torch.float64)
sched = schedules["linear"]
eps_star = GaussianEpsilon(m, s, sched)  # the exact noise prediction for these data
target = f"target: mean {m.tolist()}, std {s.tolist()}"
gen = torch.Generator().manual_seed(0)
runs = {
    "DDPM, 1000 steps": ddpm_sample(eps_star, (20_000, 2), sched, generator=gen),
    "DDIM, 50 steps": ddim_sample(
        eps_star, (20_000, 2), sched, steps=50, generator=gen
    ),
}
print(target)
for name, x in runs.items():
    mean = [round(v, 2) for v in x.mean(0).tolist()]
    std = [round(v, 2) for v in x.std(0).tolist()]
    print(f"{name:>22}: mean {mean}, std {std}")
glue("diff_ddim50_narrow", 100 * (float(runs["DDIM, 50 steps"][:, 0].std()) / 0.25 - 1))

# %% [markdown]
# Both land on the target's means within sampling error of 20,000 points (standard error of
# the mean about $0.002$ and $0.014$). Look at the standard deviations, though: DDIM with 50
# steps got the narrow coordinate's wrong by {glue:text}`diff_ddim50_narrow:+.0f` %, far more
# than the sampling error of a standard deviation (0.5 %). That is discretisation error;
# section 4 measures it against the number of steps for every sampler.
#
# The next two exercises write the posterior of this section and the DDIM loop.
#
# %% [markdown]
# `````{exercise-start}
# :label: ex-diff-posterior
# `````
#
# Given the clean image, the reverse step is no longer unknown. Bayes' rule combines two
# Gaussians that we already have, the closed form up to $t - 1$ and one forward step:
#
# $$
# q(x_{t-1} \mid x_t, x_0) \propto
# \underbrace{\mathcal N\bigl(x_{t-1};\ \sqrt{\bar\alpha_{t-1}}\,x_0,\
# (1-\bar\alpha_{t-1}) I\bigr)}_{q(x_{t-1} \mid x_0)}\;
# \underbrace{\mathcal N\bigl(x_t;\ \sqrt{\alpha_t}\,x_{t-1},\ \beta_t I\bigr)}_{
# q(x_t \mid x_{t-1})}.
# $$
#
# As a function of $x_{t-1}$ this is a Gaussian
# $\mathcal N(\tilde\mu_t, \tilde\beta_t I)$: its precision is the sum of the two
# precisions (in $x_{t-1}$), its mean the precision-weighted average of the two means.
# Write `my_posterior(x0, x_t, t, schedule)` that returns the pair `(mean, variance)`:
# `x0` and `x_t` have shape $(B, D)$, `t` is an int in $[1, T]$, and $\beta_t$,
# $\alpha_t$, $\bar\alpha_t$ are `schedule.betas[t]`, `schedule.alphas[t]`,
# `schedule.alpha_bars[t]` (indexed by $t$ itself: $\bar\alpha_0 = 1$). The variance
# is one number. The checker draws a new schedule with random betas at every call.
#
# `````{exercise-end}
# `````

# %%
from aigc_course.exercises import check_posterior


def my_posterior(x0, x_t, t, schedule):
    raise NotImplementedError


check_posterior(my_posterior)

# %% [markdown]
# `````{solution-start} ex-diff-posterior
# :class: dropdown
# `````
#
# The precision in $x_{t-1}$ is
# $\frac{1}{1-\bar\alpha_{t-1}} + \frac{\alpha_t}{\beta_t}$; since
# $\alpha_t(1-\bar\alpha_{t-1}) + \beta_t = 1 - \bar\alpha_t$, its inverse is
# $\tilde\beta_t = \frac{1-\bar\alpha_{t-1}}{1-\bar\alpha_t}\beta_t$, and the mean
# simplifies to Ho et al.'s Eq. (7),
# $\tilde\mu_t = \frac{\sqrt{\bar\alpha_{t-1}}\,\beta_t}{1-\bar\alpha_t}\,x_0
# + \frac{\sqrt{\alpha_t}\,(1-\bar\alpha_{t-1})}{1-\bar\alpha_t}\,x_t$.


# %%
def my_posterior(x0, x_t, t, schedule):
    ab, ab_prev = schedule.alpha_bars[t], schedule.alpha_bars[t - 1]
    alpha, beta = schedule.alphas[t], schedule.betas[t]
    mean = (ab_prev.sqrt() * beta * x0 + alpha.sqrt() * (1 - ab_prev) * x_t) / (1 - ab)
    variance = (1 - ab_prev) / (1 - ab) * beta
    return mean, variance


check_posterior(my_posterior)

# %% [markdown]
# `````{solution-end}
# `````
#
# A DDPM step (Ho et al.'s Algorithm 2) is this Gaussian with the network's guess
# $\hat x_0$ in place of $x_0$; the package's `q_posterior` and `ddpm_step` compute it.
#
# `````{exercise-start}
# :label: ex-diff-sampler
# `````
#
# Now the whole sampler. Write the deterministic DDIM loop
# `my_ddim_sample(x_T, model, schedule, timesteps)`: start from `x = x_T` (shape
# $(B, D)$), and for each consecutive pair $(t, t')$ of `timesteps` (a decreasing tuple
# from $T$ to $0$, not necessarily evenly spaced) ask the model for its noise estimate
# at the current time, $\hat\epsilon = $ `model(x, time)` with `time` the $(B,)$
# tensor of $t / T$, then step
#
# $$
# \hat x_0 = \frac{x - \sqrt{1-\bar\alpha_t}\,\hat\epsilon}{\sqrt{\bar\alpha_t}}, \qquad
# x \leftarrow \sqrt{\bar\alpha_{t'}}\,\hat x_0
# + \sqrt{1-\bar\alpha_{t'}}\,\hat\epsilon .
# $$
#
# Return `x` at time 0. The checker's `model` is the exact noise predictor of a random
# Gaussian data set (`GaussianEpsilon`), so your loop must give, on the same `x_T`, what
# the package's sampler gives; with a trained network only the model changes.
#
# `````{exercise-end}
# `````

# %%
from aigc_course.exercises import check_ddim_sample


def my_ddim_sample(x_T, model, schedule, timesteps):
    raise NotImplementedError


check_ddim_sample(my_ddim_sample)

# %% [markdown]
# `````{solution-start} ex-diff-sampler
# :class: dropdown
# `````


# %%
def my_ddim_sample(x_T, model, schedule, timesteps):
    T = schedule.T
    x = x_T
    for t, t_prev in zip(timesteps[:-1], timesteps[1:], strict=True):
        time = torch.full((x.shape[0],), t / T, dtype=x.dtype)
        eps_hat = model(x, time)
        ab, ab_prev = schedule.alpha_bars[t], schedule.alpha_bars[t_prev]
        x0_hat = (x - (1 - ab).sqrt() * eps_hat) / ab.sqrt()
        x = ab_prev.sqrt() * x0_hat + (1 - ab_prev).sqrt() * eps_hat
    return x


check_ddim_sample(my_ddim_sample)

# %% [markdown]
# Your loop, on 50 of the 1000 steps, with the exact noise predictor of the 2-D Gaussian
# above, lands where the package's DDIM did:

# %%
x_T = torch.randn(
    20_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
)
x = my_ddim_sample(x_T, eps_star, sched, sampling_timesteps(1000, 50))
print(target)
print(
    f"{'yours':>22}: mean {[round(v, 2) for v in x.mean(0).tolist()]},"
    f" std {[round(v, 2) for v in x.std(0).tolist()]}"
)

# %% [markdown]
# `````{solution-end}
# `````
#
# ## 3. A diffusion model on the ring of Gaussians
#
# Back to the GAN chapter's test case: eight tight Gaussians (standard deviation 0.02) on a
# circle of radius 2, where GANs drop modes. The denoiser is a small MLP that gets the time
# through a sinusoidal embedding (`MLPDenoiser`); it is trained with the noise loss above for
# {glue:text}`diff_toy_steps` steps per seed, once with the cosine schedule and once with the
# linear one, and sampled with DDPM's 1000 steps. The GAN is the GAN chapter's recipe, trained
# here for {glue:text}`diff_toy_gan_steps` steps; modes are counted as there (a mode is covered
# when at least 1% of the samples lie within 3 standard deviations of it; "high quality" is the
# share of samples within 3 standard deviations of some centre). A high share alone can
# mislead: samples squeezed onto the centres score well. So the table adds the **spread** of
# the high-quality samples around their centres, per coordinate; the data's own spread is
# the first row.

# %% tags=["nbval-ignore-output"]
ring_data, centers = ring_of_gaussians(
    20_000, generator=torch.Generator().manual_seed(0)
)
RING_STD = 0.02
TOY_BOX = 2.5  # the noise samplers clip their guess of x0 to the data's box
glue("diff_toy_steps", f"{cfg.toy.steps:,}")
glue("diff_toy_gan_steps", f"{cfg.toy_gan.steps:,}")


def train_toy(objective, seed, schedule="cosine"):
    torch.manual_seed(seed)  # the network's initial weights
    run = replace(
        cfg.toy, objective=objective, schedule=schedule, seed=seed, device="cpu"
    )
    result = train_diffusion(MLPDenoiser(cfg.toy_net), ring_data, run)
    clock("2-D toy models", "training", result.seconds)
    return result


def sample_toy(result, sampler, steps, seed, n=None, clip=True, **kw):
    """n points from a 2-D model: "ddpm", "ddim" (eta = 0), "euler" or "heun"."""
    gen = torch.Generator().manual_seed(1000 + seed)
    shape = (n or cfg.toy_eval_n, 2)
    if sampler in ("ddpm", "ddim"):
        kw = dict(schedule=result.schedule, clip_x0=TOY_BOX if clip else None, **kw)
    t0 = time.perf_counter()
    out = sample(
        result.sampling_model, shape, method=sampler, steps=steps, generator=gen, **kw
    )
    clock("2-D toy models", "sampling", time.perf_counter() - t0)
    return out


def coverage(points):
    c = count_modes(points, centers, RING_STD)
    return c.n_covered, c.high_quality_fraction, c.within_std


t0 = time.perf_counter()
toy = {"eps": {}, "eps, linear": {}, "flow": {}, "gan": {}}
for seed in cfg.seeds:
    toy["eps"][seed] = train_toy("eps", seed)
    toy["eps, linear"][seed] = train_toy("eps", seed, schedule="linear")
    toy["flow"][seed] = train_toy("flow_matching", seed)
    torch.manual_seed(seed)
    G, D = ToyGenerator(ToyGANConfig()), ToyDiscriminator(ToyGANConfig())
    toy["gan"][seed] = train_gan(G, D, ring_data, replace(cfg.toy_gan, seed=seed))
    clock("2-D toy models", "training", toy["gan"][seed].seconds)
toy_seconds = {
    k: sum(r.seconds for r in runs.values()) / len(cfg.seeds) for k, runs in toy.items()
}
print(f"trained {len(toy) * len(cfg.seeds)} models in {time.perf_counter() - t0:.0f} s")
print("training seconds per model:", {k: round(v, 1) for k, v in toy_seconds.items()})


# %% tags=["nbval-ignore-output"]
def print_rows(rows):
    """Mean ± std over seeds (the spread: over seeds with a sample near a mode)."""
    print(f"{'model':>26} {'modes of 8':>12} {'high quality':>14} {'spread':>15}")
    for name, vals in rows.items():
        (mm, sm), (mh, sh) = (mean_std([r[i] for r in vals]) for i in (0, 1))
        spreads = [r[2] for r in vals if r[2] == r[2]]  # NaN: no sample near a mode
        spread = "{:8.4f} ± {:.4f}".format(*mean_std(spreads)) if spreads else "-"
        print(f"{name:>26} {mm:6.2f} ± {sm:4.2f} {mh:8.0%} ± {sh:3.0%} {spread:>15}")


ring_rows = {"data": [coverage(ring_data[: cfg.toy_eval_n])] * len(cfg.seeds)}
for seed in cfg.seeds:
    gan_last = toy["gan"][seed].snapshots[-4:]  # as in the GAN chapter
    gan_cov = [coverage(points) for _, points in gan_last]
    ring_rows.setdefault("GAN (last 4 snapshots)", []).append(
        tuple(sum(c[i] for c in gan_cov) / len(gan_cov) for i in (0, 1, 2))
    )
    for name, key in (
        ("DDPM 1000, cosine", "eps"),
        ("DDPM 1000, linear", "eps, linear"),
    ):
        ring_rows.setdefault(name, []).append(
            coverage(sample_toy(toy[key][seed], "ddpm", 1000, seed))
        )
print(f"mean ± std over seeds {cfg.seeds}, {cfg.toy_eval_n} samples each\n")
print_rows(ring_rows)
for key, name in (
    ("ddpm", "DDPM 1000, cosine"),
    ("linear", "DDPM 1000, linear"),
    ("gan", "GAN (last 4 snapshots)"),
):
    glue(f"diff_ring_{key}_modes", mean_std([r[0] for r in ring_rows[name]])[0])
    glue(f"diff_ring_{key}_hq", 100 * mean_std([r[1] for r in ring_rows[name]])[0])
    glue(f"diff_ring_{key}_spread", mean_std([r[2] for r in ring_rows[name]])[0])
glue("diff_ring_data_spread", ring_rows["data"][0][2])

# %% tags=["remove-cell"]
# Test: in every seed the cosine-schedule diffusion model covers at least 7 of the 8
# modes (8 in every run we made) with a quarter of its samples or more on a mode (80% or
# more in our runs).
cosine_rows = ring_rows["DDPM 1000, cosine"]
for seed, (modes, hq, _) in zip(cfg.seeds, cosine_rows, strict=True):
    assert modes >= 7, (seed, modes)
    assert hq > 0.25, (seed, hq)

# %% [markdown]
# The diffusion model (cosine schedule) covered {glue:text}`diff_ring_ddpm_modes:.2f` of 8
# modes on average with {glue:text}`diff_ring_ddpm_hq:.0f` % of its samples close to a centre;
# the GAN {glue:text}`diff_ring_gan_modes:.2f` modes and {glue:text}`diff_ring_gan_hq:.0f` %
# (the spreads over seeds are printed above). Dropping a mode is hard for a diffusion model: its
# loss is a regression at *every* noisy point of space, not a game, and the ELBO of section 2
# bounds the forward KL divergence $\KL(p_\text{data}\,\|\,p_\theta)$, which is large when the
# model puts little mass where the data are: a missing mode is expensive (the GAN's loss has no
# such term). The price is paid at sampling time: a thousand network evaluations per sample
# instead of one.
#
# Two details of this toy matter. **The schedule:** with the linear schedule and the same
# training, {glue:text}`diff_ring_linear_hq:.0f` % of the samples land close to a centre
# against {glue:text}`diff_ring_ddpm_hq:.0f` % with the cosine one (compare the spreads over
# seeds). The linear schedule spends most of its steps where the signal is already gone
# (section 1), so fewer training draws land at the low noise levels that place a point
# precisely. **Clipping:** the noise samplers clip their running guess of $x_0$ to the data's
# box, $[-2.5, 2.5]^2$, as image samplers clip it to the pixel range. Early in sampling,
# $\bar\alpha_t$ is almost 0, and $\hat x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon)/
# \sqrt{\bar\alpha_t}$ divides a small error of the network by that tiny number (section 4
# shows what happens without the clip). The spread column says that the samples of the
# 1000-step sampler are *wider* than the data ({glue:text}`diff_ring_ddpm_spread:.4f` against
# {glue:text}`diff_ring_data_spread:.4f`): the network's modes are a little blurred, and the
# sampler shows that faithfully.
#
# Where the samples come from: trajectories of 30 points from the noise (grey) to the data,
# for the two deterministic samplers of the next section (DDIM on the noise model, Euler on
# the flow-matching model), 100 steps each.

# %% tags=["nbval-ignore-output"]
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
_, traj_ddim = sample_toy(toy["eps"][0], "ddim", 100, 0, n=30, return_trajectory=True)
_, traj_flow = sample_toy(toy["flow"][0], "euler", 100, 0, n=30, return_trajectory=True)
plot_toy_2d(
    ring_data[:2000],
    sample_toy(toy["eps"][0], "ddpm", 1000, 0),
    ax=axes[0],
    title="DDPM samples (seed 0)",
)
for ax, traj, title in (
    (axes[1], traj_ddim, "DDIM trajectories (noise model)"),
    (axes[2], traj_flow, "Euler trajectories (flow matching)"),
):
    ax.scatter(*ring_data[:2000].T, s=2, c="lightgrey")
    for i in range(traj.shape[1]):
        ax.plot(traj[:, i, 0], traj[:, i, 1], lw=0.6, alpha=0.8)
    ax.scatter(*traj[0].T, s=12, c="black", zorder=3)
    ax.set(xlim=(-3.2, 3.2), ylim=(-3.2, 3.2), aspect="equal", title=title)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Flow matching, and one family with three knobs
#
# **Flow matching** {cite:p}`lipman2023` (rectified flow {cite:p}`liu2023flow` is the same
# idea) chooses the path from data to noise first: the straight line from a data point $x_0$
# to a noise draw $x_1$ (here $x_1$ is pure noise),
#
# $$
# x_t = (1-t)\,x_0 + t\,x_1, \quad t\in[0,1], \qquad \frac{dx_t}{dt} = x_1 - x_0,
# $$
#
# and trains a network $v_\theta(x_t, t)$ to predict that velocity:
# $L = \E\,\lVert v_\theta(x_t, t) - (x_1 - x_0)\rVert^2$. The network cannot know which pair
# $(x_0, x_1)$ a point came from, so it learns the *average* velocity through each point,
# $v(x, t) = \E[x_1 - x_0 \mid x_t = x]$, and Lipman et al. prove that following this averaged
# field from the noise to the data (from $t = 1$ to $t = 0$ in our convention) transports the
# noise distribution onto the data distribution. Sampling integrates $dx/dt = v_\theta(x, t)$
# from $t = 1$ down to 0, with Euler steps,
#
# ```{literalinclude} ../aigc_course/sampling/diffusion.py
# :pyobject: euler_step
# :start-at: return x_t
# ```
#
# or with **Heun's** second-order method {cite:p}`karras2022`, which takes the Euler step as
# a guess, evaluates the velocity there too, and moves with the average of the two (two network
# evaluations per step):
#
# ```{literalinclude} ../aigc_course/sampling/diffusion.py
# :pyobject: heun_step
# :start-at: h = t_prev - t
# ```
#
# **It is the same family.** The straight path is a diffusion's forward process
# $x_t = \alpha_t x_0 + \sigma_t\epsilon$ with the schedule $\alpha_t = 1 - t$, $\sigma_t = t$
# (not variance-preserving, but dividing by $\sqrt{\alpha_t^2+\sigma_t^2}$ maps it to one with
# the same signal-to-noise ratio). The target $v = \epsilon - x_0$ is one more way to write
# what the network knows: from $x_t$ and any one of $\hat\epsilon$, $\hat x_0$, $\hat v$ the
# other two follow, here $\hat x_0 = x_t - t\hat v$ and $\hat\epsilon = x_t + (1-t)\hat v$. And
# an Euler step from $t$ to $t'$ is *exactly* a deterministic DDIM step on that schedule, put
# $\hat x_0$ back at the new level with the same $\hat\epsilon$:
#
# $$
# x_t + (t'-t)\,\hat v = (1-t')\,\hat x_0 + t'\,\hat\epsilon = \alpha_{t'}\hat x_0 +
# \sigma_{t'}\hat\epsilon .
# $$
#
# Checked with the exact velocity of the Gaussian data of section 2 (the package's `euler_step`
# against a DDIM step written out for $\alpha_t = 1 - t$, $\sigma_t = t$):

# %%
velocity = GaussianVelocity(
    m, s
)  # the exact flow-matching velocity for section 2's data
x = torch.randn(
    1000, 2, generator=torch.Generator().manual_seed(6), dtype=torch.float64
)
worst = 0.0
for t, t_next in ((1.0, 0.9), (0.6, 0.3), (0.2, 0.0)):
    v_hat = velocity(x, torch.full((1000,), t, dtype=torch.float64))
    x0_hat, eps_hat = x - t * v_hat, x + (1 - t) * v_hat
    ddim = (1 - t_next) * x0_hat + t_next * eps_hat  # alpha = 1 - t, sigma = t
    euler = euler_step(x, v_hat, t, t_next)
    worst = max(worst, float((ddim - euler).abs().max()))
print(f"largest |Euler - DDIM| over three steps of 1,000 points: {worst:.1e}")

# %% [markdown]
# Equal to float rounding. So "diffusion" and "flow matching" are one family with three
# knobs, and what differs between this chapter's models is the setting of each knob:
#
# 1. **The schedule**: how the signal-to-noise ratio $\alpha_t^2/\sigma_t^2$ falls with time,
#    which decides where training draws its noise levels and where a sampler's steps land.
#    On the log scale of the {term}`noise schedule`s below, the linear $\beta$ schedule spends
#    {glue:text}`diff_snr_linear:.0%` of its steps at a log-SNR below $-4.6$ (an SNR below
#    0.01: almost pure noise), the cosine schedule {glue:text}`diff_snr_cosine:.0%` and the
#    flow path's uniform $t$ {glue:text}`diff_snr_flow:.0%`.
# 2. **The prediction target**: $\epsilon$, $x_0$ or $v$. They carry the same information but
#    behave differently where the signal vanishes: at $t \to 1$, turning $\hat\epsilon$ into
#    $\hat x_0$ divides by $\alpha_t \to 0$, so an $\epsilon$-model needs its $\hat x_0$
#    clipped; $\hat x_0 = x_t - t\hat v$ divides by nothing (Salimans and Ho's
#    $v$-prediction {cite:p}`salimans2022` fixes the same problem inside the diffusion
#    formulation; Lin et al. {cite:p}`lin2024` show what a schedule that does not reach zero
#    signal does to images).
# 3. **The sampler**: stochastic (DDPM) or deterministic (DDIM, Euler), first order (all
#    three) or second order (Heun), and how many steps.

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.5))
u = torch.linspace(0, 1, 1001, dtype=torch.float64)[1:-1]
for name, sched in schedules.items():
    ax.plot(torch.arange(1, T) / T, log_snr(sched)[1:T], label=f"{name} beta ({name})")
ax.plot(u, 2 * torch.log((1 - u) / u), label="flow path, alpha = 1 - t, sigma = t")
ax.axhline(-4.6, color="grey", ls=":", lw=1)
ax.text(0.02, -4.3, "SNR = 0.01", color="grey", fontsize=8)
ax.set(xlabel="time t (integer steps / T)", ylabel="log-SNR", ylim=(-14, 12))
ax.legend(frameon=False, fontsize=8)
ax.grid(alpha=0.3)
plt.show()
for name, sched in schedules.items():
    share = float((log_snr(sched)[1:] < -4.6).double().mean())
    print(f"{name:>6} schedule: {share:.0%} of the T = {T} steps at SNR < 0.01")
    glue(f"diff_snr_{name}", share)
share = float((2 * torch.log((1 - u) / u) < -4.6).double().mean())
print(f"  flow path: {share:.0%} of uniform t at SNR < 0.01")
glue("diff_snr_flow", share)

# %% [markdown]
# **The sampler knob, measured without a network.** With the exact predictors of section 2
# (`GaussianEpsilon` for the noise model on the linear schedule, `GaussianVelocity` for flow
# matching) there is no network error at all: whatever is wrong with the samples is the
# sampler's discretisation. The figure shows the relative error of the sample standard
# deviation of the narrow coordinate ($s = 0.25$) against the number of network evaluations
# ({term}`NFE <Network evaluations>`; Heun takes two per step), for {glue:text}`diff_oracle_n` samples per run.

# %% tags=["nbval-ignore-output"]
glue("diff_oracle_n", f"{cfg.oracle_n:,}")
linear = schedules["linear"]  # the schedule eps_star was built for (section 2)
oracle_runs = {
    "DDPM": (eps_star, dict(method="ddpm", schedule=linear), 1),
    "DDIM": (eps_star, dict(method="ddim", schedule=linear), 1),
    "Euler": (velocity, dict(method="euler"), 1),
    "Heun": (velocity, dict(method="heun"), 2),
}
oracle_err = {}
t0 = time.perf_counter()
for name, (model, kw, per_step) in oracle_runs.items():
    for nfe in cfg.oracle_nfe:
        gen = torch.Generator().manual_seed(7)
        x = sample(model, (cfg.oracle_n, 2), steps=nfe // per_step, generator=gen, **kw)
        oracle_err[name, nfe] = 100 * (float(x[:, 0].std()) / float(s[0]) - 1)
clock("exact Gaussian predictors", "sampling", time.perf_counter() - t0)
floor = 100 / (2 * cfg.oracle_n) ** 0.5  # standard error of a std, in %
print(
    f"relative error of the narrow coordinate's std, %; sampling noise ± {floor:.2f}\n"
)
print(f"{'NFE':>6}" + "".join(f"{name:>9}" for name in oracle_runs))
for nfe in cfg.oracle_nfe:
    print(f"{nfe:6d}" + "".join(f"{oracle_err[k, nfe]:+9.1f}" for k in oracle_runs))
fig, ax = plt.subplots(figsize=(6, 3.5))
for name, marker in zip(oracle_runs, "^so*", strict=True):
    ax.plot(
        cfg.oracle_nfe,
        [max(abs(oracle_err[name, n]), floor / 2) for n in cfg.oracle_nfe],
        marker=marker,
        label=name,
    )
ax.axhspan(0, floor, color="grey", alpha=0.2, label="sampling noise")
ax.set(
    xscale="log",
    yscale="log",
    xlabel="network evaluations per sample (NFE)",
    ylabel="|std error| of the narrow coordinate, %",
)
ax.legend(frameon=False)
ax.grid(alpha=0.3)
plt.show()
mid = 20 if 20 in cfg.oracle_nfe else cfg.oracle_nfe[len(cfg.oracle_nfe) // 2]
glue("diff_oracle_mid", str(mid))
for name in oracle_runs:
    glue(f"diff_oracle_{name.lower()}_mid", oracle_err[name, mid])

# %% [markdown]
# Every first-order sampler makes the narrow coordinate too narrow at a small number of steps
# (at {glue:text}`diff_oracle_mid` evaluations: DDPM {glue:text}`diff_oracle_ddpm_mid:+.1f` %,
# DDIM {glue:text}`diff_oracle_ddim_mid:+.1f` %, Euler {glue:text}`diff_oracle_euler_mid:+.1f` %),
# and the error shrinks steadily as the steps grow: a consistent sampler converges to the model
# it is given, and more steps are never worse at sampling *that model*. Heun, second order,
# reached {glue:text}`diff_oracle_heun_mid:+.1f` % with the same {glue:text}`diff_oracle_mid`
# evaluations (with only one or two steps it overshoots instead: its correction is built for
# small steps). Euler and DDIM are the same update (above), so the gap between their curves is
# the schedule: DDIM runs on the linear $\beta$ schedule, which places many of its few steps
# where the SNR is almost zero and takes its last step to the data from a noisier point. This
# is the lesson to carry to the trained models below: a coarse sampler **shrinks the spread**
# of the distribution it samples.
#
# **Back to the trained 2-D models.** How straight are the learned trajectories? Straight
# *conditional* paths do not make a straight *learned* field: where the lines of different
# pairs cross, the averaged velocity bends (Liu et al.'s "reflow" straightens it by retraining
# on the model's own noise-sample pairs). Straightness here is the distance from start to end
# divided by the length of the path (1 = a straight line), over 2,000 trajectories of 100
# steps, for Euler on the flow-matching model and DDIM on the noise model.


# %% tags=["nbval-ignore-output"]
def straightness(traj):
    length = (traj[1:] - traj[:-1]).norm(dim=-1).sum(0)
    return float(((traj[-1] - traj[0]).norm(dim=-1) / length).mean())


for name, sampler, key in (
    ("flow, Euler", "euler", "flow"),
    ("DDIM, eta=0", "ddim", "eps"),
):
    vals = []
    for seed in cfg.seeds:
        _, traj = sample_toy(toy[key][seed], sampler, 100, seed, return_trajectory=True)
        vals.append(straightness(traj))
    mean, std = mean_std(vals)
    print(f"{name:>12}: straightness {mean:.3f} ± {std:.3f} (seeds {cfg.seeds})")
    glue(f"diff_straight_{key}", mean)

# %% [markdown]
# Now quality and spread against the number of network evaluations, for each trained model
# and seed (Heun at two evaluations per step), and the noise samplers once more *without* the
# clip of $\hat x_0$:

# %% tags=["nbval-ignore-output"]
sweep_toy = {}
for sampler, key in (
    ("euler", "flow"),
    ("heun", "flow"),
    ("ddim", "eps"),
    ("ddpm", "eps"),
):
    per_step = 2 if sampler == "heun" else 1
    for nfe in cfg.toy_steps:
        if nfe % per_step or (key == "flow" and nfe > 100):
            continue
        sweep_toy[sampler, nfe] = [
            coverage(sample_toy(toy[key][seed], sampler, nfe // per_step, seed))
            for seed in cfg.seeds
        ]
no_clip = {}
for sampler in ("ddim", "ddpm"):
    for nfe in (5, 20, 1000) if 1000 in cfg.toy_steps else (5, 20):
        no_clip[f"{sampler} {nfe}, no clip"] = [
            coverage(sample_toy(toy["eps"][seed], sampler, nfe, seed, clip=False))
            for seed in cfg.seeds
        ]
print(f"mean ± std over seeds {cfg.seeds}; data spread {ring_rows['data'][0][2]:.4f}\n")
print_rows({f"{sampler} {nfe}": v for (sampler, nfe), v in sweep_toy.items()})
print()
print_rows(no_clip)


def toy_mean(sampler, nfe, i):
    return mean_std([r[i] for r in sweep_toy[sampler, nfe]])[0]


for sampler in ("euler", "ddim", "ddpm"):
    glue(f"diff_toy_{sampler}20_hq", 100 * toy_mean(sampler, 20, 1))
    glue(f"diff_toy_{sampler}20_spread", toy_mean(sampler, 20, 2))
for (
    name,
    rows,
) in no_clip.items():  # e.g. "ddim 20, no clip" -> diff_toy_ddim20_noclip_hq
    key = name.replace(", no clip", "").replace(" ", "")
    glue(f"diff_toy_{key}_noclip_hq", 100 * mean_std([r[1] for r in rows])[0])

# %% [markdown]
# One step of any sampler puts every sample near the *mean* of the data given the noise, the
# middle of the ring: no mode is reached. With 20 evaluations,
# {glue:text}`diff_toy_euler20_hq:.0f` % of the flow model's Euler samples land within three
# standard deviations of a centre, {glue:text}`diff_toy_ddim20_hq:.0f` % of DDIM's and
# {glue:text}`diff_toy_ddpm20_hq:.0f` % of DDPM's. The "high quality" share peaks at a few
# dozen steps and falls again at 1000, but the spread column explains why: at 20 steps the
# samples sit *tighter* around the centres than the data do (DDIM
# {glue:text}`diff_toy_ddim20_spread:.4f`, data {glue:text}`diff_ring_data_spread:.4f`), the
# shrinkage measured exactly above, and a share-within-a-radius rewards it. With more steps
# the sampler converges to what the network learned, whose modes are a little wider than the
# data's. Fewer steps are not better; they are biased in a direction this metric likes. Heun,
# which removes most of the discretisation error, shows this from the other side: at a few
# dozen evaluations its samples already have about the spread of the 1000-step samplers, and
# a lower share near the centres.
#
# Two more readings. The straight-path training of flow matching bought no straighter
# trajectories on this toy (straightness {glue:text}`diff_straight_flow:.2f` for flow against
# {glue:text}`diff_straight_eps:.2f` for DDIM) and no few-step advantage over DDIM on the same
# number of evaluations: as the algebra says, the difference is in the schedule and the target,
# not in "straight against curved". Straight paths pay off after reflow or distillation. The
# target matters through the clip: without clipping $\hat x_0$, DDIM with 20 steps placed
# {glue:text}`diff_toy_ddim20_noclip_hq:.0f` % of its samples near a centre and with 1000
# steps {glue:text}`diff_toy_ddim1000_noclip_hq:.0f` %, while the flow model needs no clip at
# all. DDPM without the clip reached {glue:text}`diff_toy_ddpm1000_noclip_hq:.0f` % at 1000
# steps, as with the clip, because its fresh noise lets later steps forget early mistakes (the
# stochastic sampler corrects itself; the deterministic one carries its errors to the end).
#
# `````{exercise-start}
# :label: ex-diff-flow
# `````
#
# Write `my_flow_loss(v_hat, x0, x1)`: the flow-matching loss for a batch of predicted
# velocities, data points `x0` (time 0) and noise draws `x1` (time 1), all $(B, D)$.
#
# `````{exercise-end}
# `````


# %%
def my_flow_loss(v_hat, x0, x1):
    raise NotImplementedError


check_flow_loss(my_flow_loss)

# %% [markdown]
# `````{solution-start} ex-diff-flow
# :class: dropdown
# `````


# %%
def my_flow_loss(v_hat, x0, x1):
    return ((v_hat - (x1 - x0)) ** 2).mean()


check_flow_loss(my_flow_loss)

# %% [markdown]
# `````{solution-end}
# `````
#
# ## 5. MNIST in pixel space
#
# For images the denoiser is a **UNet** {cite:p}`ronneberger2015`: convolutions that halve the
# resolution twice (28, 14, 7) and double it back, with skip connections that carry the fine
# detail across; residual blocks with GroupNorm; and the time (plus, optionally, a class label)
# added to every block through an embedding. Ours has about half a million parameters. One
# class-conditional UNet learns *both* the conditional and the unconditional model: during
# training, each example's label is replaced by a "null" label with probability 0.1 (section
# 7 uses this).
#
# The loop is the one of the whole course (`train_diffusion` on the package's training core,
# with an EMA of the weights); here it runs for {glue:text}`diff_demo_steps` steps, enough to
# see it work and to time it on this machine.

# %% tags=["nbval-ignore-output"]
train = load_mnist("train")
glue("diff_demo_steps", f"{cfg.unet_demo.steps:,}")
torch.manual_seed(0)
demo_unet = UNet(UNetConfig(n_classes=10))
n_unet_params = count_parameters(demo_unet)
demo = train_diffusion(
    demo_unet,
    to_signed(train.images),
    replace(cfg.unet_demo, device=str(device)),
    labels=train.labels,
)
clock("MNIST UNet", "training", demo.seconds)
print(f"UNet: {n_unet_params:,} parameters; {len(train.images):,} training images")
print(
    f"{demo.steps} steps of batch {cfg.unet_demo.batch_size} in {demo.seconds:.0f} s"
    f" ({demo.steps / demo.seconds:.2f} steps/s on {device},"
    f" {torch.get_num_threads()} threads)"
)
plot_curves({"flow-matching loss": demo.history["loss"]}, smooth=10)
plt.show()

# %% [markdown]
# The loss falls fast and then flattens well above zero, and that floor is not a sign of
# trouble: the target $x_1 - x_0$ is random given $x_t$ (many pairs pass through the same
# point), so even the perfect network is left with the average variance
# $\E\,\mathrm{Var}[x_1 - x_0 \mid x_t] > 0$. Loss values of different objectives ($\epsilon$
# against $v$) are not comparable either.
#
# The shipped networks are the same UNet trained the same way for longer: one with flow
# matching and one with the noise loss (DDPM; linear schedule, $T = 1000$), with the same
# network, data, number of steps and batch size. They are not the same in everything: the
# objectives draw their noise levels differently (the log-SNR plot of section 4), and only the
# noise model's samplers clip $\hat x_0$, to the pixel range. At the speed measured above,
# retraining one of them takes about {glue:text}`diff_retrain_minutes:.0f` minutes on this
# machine.

# %% tags=["nbval-ignore-output"]
unet_names = ("mnist_flow_matching_unet", "mnist_eps_unet")
shipped = {name: load_pretrained(name) for name in unet_names}
for name, p in shipped.items():
    meta = p.meta
    print(
        f"{name}: {p.objective} objective, {meta['steps']:,} steps of batch"
        f" {meta['batch_size']} in {meta['seconds'] / 60:.0f} min on {meta['machine']},"
        f" {meta['data']}"
    )
flow_unet = shipped["mnist_flow_matching_unet"].model.to(device)
eps_unet = shipped["mnist_eps_unet"].model.to(device)
eps_schedule = shipped["mnist_eps_unet"].schedule
flow_meta = shipped["mnist_flow_matching_unet"].meta
glue("diff_unet_minutes", flow_meta["seconds"] / 60)
glue("diff_retrain_minutes", flow_meta["steps"] / (demo.steps / demo.seconds) / 60)
n_null = flow_meta["steps"] * flow_meta["batch_size"] * flow_meta["p_uncond"]
glue("diff_null_examples", f"{n_null:,.0f}")

# %% [markdown]
# The measuring instrument is the case study's: classifier features of a small LeNet trained on
# the training split, FID and KID against a reference of 5,000 held-out test images, and a
# real-vs-real row of other test images as the floor at the same sample count. Samples are drawn
# *unconditionally* (every label is the null label), as a GAN or VAE draws them.

# %% tags=["nbval-ignore-output"]
judge = trained_classifier(train, test, train_cfg=ClassifierTrainConfig(progress=False))
order = torch.randperm(len(test.images), generator=torch.Generator().manual_seed(0))
reference = make_reference(to_unit(test.images[order[: cfg.n_reference]]), judge)
spare = order[cfg.n_reference :]  # test images outside the reference


def real_row(n):
    return evaluate_samples(
        to_unit(test.images[spare[:n]]), reference, judge, cfg.evaluation
    )


def score(images):
    """The case study's metrics of a set of images in [0, 1] against the reference."""
    t0 = time.perf_counter()
    result = evaluate_samples(images, reference, judge, cfg.evaluation)
    clock("metrics (features, FID, ...)", "scoring", time.perf_counter() - t0)
    return result


@torch.no_grad()
def sample_unet(sampler, steps, n, seed, labels=None, weight=None, unet=None):
    """n images in [0, 1] and the seconds per image; labels None = unconditional."""
    gen = torch.Generator(device).manual_seed(seed)
    out, t0 = [], time.perf_counter()
    for start in range(0, n, cfg.chunk):
        b = min(cfg.chunk, n - start)
        y = (torch.full((b,), 10) if labels is None else labels[start : start + b]).to(
            device
        )
        if sampler in ("euler", "heun"):
            model = unet or flow_unet
            if weight is not None:
                model = ClassifierFreeGuidance(model, weight)
            kw = {}
        else:
            model = eps_unet
            kw = dict(schedule=eps_schedule, clip_x0=1.0)
        x = sample(
            model,
            (b, 1, 28, 28),
            method=sampler,
            steps=steps,
            labels=y,
            generator=gen,
            **kw,
        )
        out.append(from_signed(x.clamp(-1, 1)).cpu())
    seconds = time.perf_counter() - t0
    clock("MNIST UNet", "sampling", seconds)
    return torch.cat(out), seconds / n


demo_model = demo.sampling_model.to(device)
fig, axes = plt.subplots(1, 2, figsize=(10, 2.4))
for ax, unet, title in (
    (axes[0], demo_model, f"demo UNet, {demo.steps} training steps"),
    (axes[1], flow_unet, f"shipped UNet, {flow_meta['steps']:,} training steps"),
):
    images, _ = sample_unet(
        "euler", 50, 20, seed=0, labels=torch.arange(20) % 10, unet=unet
    )
    show_images(images, nrow=10, ax=ax, title=title + ", digits 0-9")
plt.show()
grid, _ = sample_unet("euler", 50, 40, seed=0)
show_images(
    grid, nrow=10, title="shipped UNet, 50 Euler steps, unconditional (null label)"
)
plt.show()

# %% [markdown]
# Told which digit to draw (the top row), the shipped network writes readable digits, and the
# demo network after a few minutes of training writes blobs with the right layout. Asked for
# *any* digit (the null label, the last grid), the same shipped network draws many readable
# digits and a good share of scribbles. That branch of the network learned from only the
# examples whose label was dropped, about {glue:text}`diff_null_examples` of them (a tenth of
# its training examples), and it must also decide *which* digit to draw. The measurements
# below separate the two.
#
# **The sampler sweep.** Each row: {glue:text}`diff_n_sweep` unconditional images from one
# sampler at one number of steps, against the same reference; the NFE column counts network
# evaluations per image (Heun: two per step), and seconds per image are as measured here.

# %% tags=["nbval-ignore-output"]
glue("diff_n_sweep", f"{cfg.n_sweep:,}")
sweep = {"real vs real": real_row(cfg.n_sweep)}
cost = {}
for sampler, steps_list, per_step in (
    ("euler", cfg.flow_steps, 1),
    ("heun", cfg.heun_steps, 2),
    ("ddim", cfg.ddim_steps, 1),
    ("ddpm", cfg.ddpm_steps, 1),
):
    for steps in steps_list:
        images, sec = sample_unet(sampler, steps, cfg.n_sweep, seed=1)
        name = f"{sampler} {steps} steps"
        sweep[name] = score(images)
        cost[name] = (steps * per_step, sec)
print(
    metrics_table(
        sweep,
        {
            k: {"NFE": str(v[0]), "ms/img": f"{1000 * v[1]:.0f}"}
            for k, v in cost.items()
        },
    )
)
print(
    f"\nKID ± its std over subsets, real vs real: {sweep['real vs real'].kid:.1f}"
    f" ± {sweep['real vs real'].kid_std:.1f}"
)
best_flow = min(
    (k for k in sweep if k.startswith(("euler", "heun"))), key=lambda k: sweep[k].fid
)
best_eps = min((k for k in sweep if k.startswith("dd")), key=lambda k: sweep[k].fid)
glue("diff_best_flow", best_flow)
glue("diff_best_flow_fid", sweep[best_flow].fid)
glue("diff_best_eps", best_eps)
glue("diff_best_eps_fid", sweep[best_eps].fid)
glue("diff_sweep_real_fid", sweep["real vs real"].fid)
glue("diff_ddim10_fid", sweep["ddim 10 steps"].fid)
glue("diff_ddpm10_fid", sweep["ddpm 10 steps"].fid)
glue("diff_euler10_fid", sweep[f"euler {cfg.flow_steps[0]} steps"].fid)
matched = [  # (NFE, Heun row, Euler row) at equal numbers of network evaluations
    (2 * h, f"heun {h} steps", f"euler {2 * h} steps")
    for h in cfg.heun_steps
    if f"euler {2 * h} steps" in sweep
]
print(
    "FID at matched NFE, Heun vs Euler: "
    + "; ".join(
        f"{nfe}: {sweep[h].fid:.1f} vs {sweep[e].fid:.1f}" for nfe, h, e in matched
    )
)
glue(
    "diff_heun_matched",
    "; ".join(
        f"{nfe} evaluations, {sweep[h].fid:.1f} against {sweep[e].fid:.1f}"
        for nfe, h, e in matched
    )
    or "none in this run's settings",
)

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for sampler, marker in (("euler", "o"), ("heun", "*"), ("ddim", "s"), ("ddpm", "^")):
    keys = [k for k in cost if k.startswith(sampler)]
    ax.plot(
        [cost[k][0] for k in keys],
        [sweep[k].fid for k in keys],
        marker=marker,
        label=sampler,
    )
ax.axhline(sweep["real vs real"].fid, color="grey", ls="--", label="real vs real")
ax.set(xscale="log", xlabel="network evaluations per image", ylabel="classifier-FID")
ax.legend(frameon=False)
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# The best flow-matching setting in this sweep was {glue:text}`diff_best_flow` with FID
# {glue:text}`diff_best_flow_fid:.1f`, the best noise-model setting {glue:text}`diff_best_eps`
# with {glue:text}`diff_best_eps_fid:.1f` (real vs real: {glue:text}`diff_sweep_real_fid:.1f`);
# at 10 steps, DDIM scored {glue:text}`diff_ddim10_fid:.1f` and DDPM
# {glue:text}`diff_ddpm10_fid:.1f`. Heun against Euler at the same number of evaluations
# (Heun first): {glue:text}`diff_heun_matched`. Those differences go both ways (Heun is
# worse at the fewest evaluations, better with more) and are of the size of FID's noise at
# this sample count, while with the exact predictors of
# section 4 Heun's gain was large: here the network's own error, not the integrator's, is
# probably what limits the samples. Read each row with its
# cost: the time per image follows the NFE column. Four cautions before drawing conclusions.
# These are *one* trained network per objective (the spread over training seeds would take
# hours to measure on this CPU). A few hundred images per row make FID noisy by several
# points, and KID at this sample count more so: its spread over subsets, printed under the
# table, is as large as its value (section 8 uses 2,000 images per row). The two objectives
# differ in schedule and clipping as well as in the target (above). And the samples are
# *unconditional*, through the null label. Published comparisons (DDIM's paper, the
# flow-matching papers) train for days on far more data.
#
# **How much of the gap to real images is the null label?** The same flow network, the same
# sampler (Euler, {glue:text}`diff_cond_steps` steps) and sample count, three ways of choosing
# the label: the null label; labels drawn at random with the training set's digit
# frequencies, $y \sim p(y)$, then the conditional model (a valid way to sample the
# unconditional distribution from a conditional model); and the digits 0 to 9 in turn, as
# balanced as the reference.

# %% tags=["nbval-ignore-output"]
cond_steps = max(cfg.flow_steps[:-1] or cfg.flow_steps)
glue("diff_cond_steps", str(cond_steps))
freq = torch.bincount(train.labels, minlength=10).double()
drawn = torch.multinomial(
    freq, cfg.n_sweep, replacement=True, generator=torch.Generator().manual_seed(8)
)
label_rows = {"real vs real": sweep["real vs real"]}
for name, labels in (
    ("null label", None),
    ("y ~ p(y), then conditional", drawn),
    ("digits 0-9 in turn", torch.arange(cfg.n_sweep) % 10),
):
    images, _ = sample_unet("euler", cond_steps, cfg.n_sweep, seed=1, labels=labels)
    label_rows[name] = score(images)
print(metrics_table(label_rows))
for key, name in (
    ("null", "null label"),
    ("drawn", "y ~ p(y), then conditional"),
    ("balanced", "digits 0-9 in turn"),
):
    glue(f"diff_label_{key}_fid", label_rows[name].fid)
    glue(f"diff_label_{key}_prec", label_rows[name].precision)
    glue(f"diff_label_{key}_kl", label_rows[name].coverage_kl)

# %% [markdown]
# Drawing the label first and then sampling conditionally lowered the FID from
# {glue:text}`diff_label_null_fid:.1f` to {glue:text}`diff_label_drawn_fid:.1f`, with
# precision {glue:text}`diff_label_drawn_prec:.2f` against
# {glue:text}`diff_label_null_prec:.2f`: the images themselves got better, because the
# conditional branch of the network saw nine times more training examples than the null
# branch. Balanced labels gave {glue:text}`diff_label_balanced_fid:.1f`: once the labels are
# drawn from $p(y)$ the class shares are already close to the reference's (KL(cls)
# {glue:text}`diff_label_drawn_kl:.3f`, balanced {glue:text}`diff_label_balanced_kl:.3f`), so
# the gap to the null label is mostly sample quality, not class proportions. Classifier-FID
# is still sensitive to class shares (the KL column of section 8's table is worth reading),
# and drawing $y \sim p(y)$ first is the better unconditional sampler for this network.
#
# **The reverse process on images.** Three requested digits, drawn from noise in 20 steps
# by two samplers: Euler on the flow model and DDIM on the noise model. Move the slider (or
# press play) to step through the sampling: the rows show, for each sampler, the state $x_t$
# and the network's guess of the clean image at that moment, $\hat x_0$ ($x_t - t\hat v$ for
# the flow model, $(x_t - \sqrt{1-\bar\alpha_t}\,\hat\epsilon)/\sqrt{\bar\alpha_t}$ for the noise
# model). The frames are computed here with the shipped networks; the page only plays them.

# %% tags=["nbval-ignore-output"]
wanted = torch.tensor([2, 5, 8], device=device)
n_frames = 20
ddim_times = sampling_timesteps(eps_schedule.T, n_frames)  # T, ..., 0
with torch.no_grad():
    paths = {
        method: sample(
            model,
            (3, 1, 28, 28),
            method=method,
            steps=n_frames,
            labels=wanted,
            generator=torch.Generator(device).manual_seed(10),
            return_trajectory=True,
            **kw,
        )[1]
        for method, model, kw in (
            ("euler", flow_unet, {}),
            ("ddim", eps_unet, dict(schedule=eps_schedule, clip_x0=1.0)),
        )
    }
    frames, captions = [], []
    for i in range(n_frames + 1):
        t_flow, t_int = 1 - i / n_frames, ddim_times[i]
        x_f, x_d = paths["euler"][i].to(device), paths["ddim"][i].to(device)
        v = flow_unet(x_f, torch.full((3,), t_flow, device=device), wanted)
        eps = eps_unet(
            x_d, torch.full((3,), t_int / eps_schedule.T, device=device), wanted
        )
        x0_d = predict_x0(x_d, t_int, eps, eps_schedule).clamp(-1, 1)
        panel = torch.cat([x_f, x_f - t_flow * v, x_d, x0_d]).clamp(-1, 1)
        frames.append(1 - image_grid(from_signed(panel).cpu(), nrow=3))  # ink on white
        captions.append(
            f"step {i} of {n_frames} (flow t = {t_flow:.2f}, DDIM t = {t_int}); rows:"
            " Euler x_t, Euler x0-hat, DDIM x_t, DDIM x0-hat"
        )
frame_player(
    torch.from_numpy(numpy.stack(frames)),
    captions,
    name="diffusion-stepper",
    caption="Sampling three digits step by step with the shipped UNets (computed in"
    " this chapter; the page only plays the frames).",
)

# %% [markdown]
# The guess $\hat x_0$ is a blurry average of plausible digits at first (at $t = 1$, from pure
# noise, the best guess is the average digit of the requested class), and it sharpens as the noise goes: early steps
# decide the shape, late steps the stroke. This is the picture behind every sampler of this
# chapter: predict the clean image, move a little towards it, repeat.
#
# The package's DDIM step, the update of section 2 with $\eta \ge 0$ (fresh noise; DDPM at
# $\eta = 1$) and the clip of $\hat x_0$:
#
# ```{literalinclude} ../aigc_course/sampling/diffusion.py
# :pyobject: ddim_step
# :start-at: x0, eps = _x0_and_eps
# ```
#
# ## 6. Latent diffusion in miniature
#
# A 512x512 colour image has 786,432 numbers; running a UNet on all of them a few dozen times
# is expensive. Stable Diffusion {cite:p}`rombach2022` first compresses images with an
# autoencoder and runs diffusion in its small latent space; the decoder turns the result into
# pixels. Our miniature: the fully connected VAE of the VAE chapter (20 latent dimensions,
# shipped, trained with the case study's recipe), and a flow-matching MLP trained here on the
# VAE's codes of the training images. The codes are standardised first (Stable Diffusion scales
# its latents by a constant for the same reason: the noise should match the data's scale).
# The comparison: decode samples of the latent flow; decode samples of the VAE's own prior
# $\mathcal N(0, I)$, the usual way to sample a VAE; and, between the two, decode samples of a
# Gaussian with the codes' own mean and full covariance (a two-line baseline that captures
# their scale and correlations but nothing else).

# %% tags=["nbval-ignore-output"]
vae_p = load_pretrained("mnist_vae")
vae = vae_p.model
with torch.no_grad():
    mu, _ = vae.encode(to_unit(train.images))
    mu_test, _ = vae.encode(to_unit(test.images[spare[:2000]]))
z_mean, z_std = mu.mean(0), mu.std(0)
eig = torch.linalg.eigvalsh(torch.cov(mu.T))
print(
    f"VAE codes: per-dimension std {z_std.min():.2f} to {z_std.max():.2f} (prior: 1);"
)
print(
    f"  eigenvalues of their covariance {eig.min():.2f} to {eig.max():.2f}"
    " (prior: all 1)"
)
torch.manual_seed(0)
latent = train_diffusion(
    MLPDenoiser(cfg.latent_net),
    (mu - z_mean) / z_std,
    replace(cfg.latent, device="cpu"),
)
clock("latent flow", "training", latent.seconds)
print(f"latent flow: {latent.steps} steps in {latent.seconds:.0f} s")
fitted = torch.distributions.MultivariateNormal(z_mean, torch.cov(mu.T))


@torch.no_grad()
def decode(z):
    return torch.sigmoid(vae.decode(z))


def latent_codes(n, seed):
    gen = torch.Generator().manual_seed(seed)
    z = flow_matching_sample(latent.sampling_model, (n, 20), steps=50, generator=gen)
    return z * z_std + z_mean


def latent_samples(n, seed):
    t0 = time.perf_counter()
    images = decode(latent_codes(n, seed))
    seconds = time.perf_counter() - t0
    clock("latent flow", "sampling", seconds)
    return images, seconds / n


def prior_samples(n, seed):
    t0 = time.perf_counter()
    z = torch.randn(n, 20, generator=torch.Generator().manual_seed(seed))
    return decode(z), (time.perf_counter() - t0) / n


def fitted_samples(n, seed):
    torch.manual_seed(seed)
    return decode(fitted.sample((n,))), None


latent_rows = {"real vs real": real_row(cfg.n_sweep)}
for name, fn in (
    ("VAE prior", prior_samples),
    ("Gaussian fitted to codes", fitted_samples),
    ("VAE + latent flow", latent_samples),
):
    latent_rows[name] = score(fn(cfg.n_sweep, 3)[0])
print(metrics_table(latent_rows))
glue("diff_latent_fid", latent_rows["VAE + latent flow"].fid)
glue("diff_prior_fid", latent_rows["VAE prior"].fid)
glue("diff_fitted_fid", latent_rows["Gaussian fitted to codes"].fid)
fig, axes = plt.subplots(1, 2, figsize=(10, 2.4))
show_images(prior_samples(20, 4)[0], nrow=10, ax=axes[0], title="VAE prior")
show_images(latent_samples(20, 4)[0], nrow=10, ax=axes[1], title="VAE + latent flow")
plt.show()

# copying? distance of each code to its nearest training code (a test code is new by
# construction, so it sets the scale of "not a copy")
nearest = {
    "latent-flow samples": torch.cdist(latent_codes(2000, 11), mu).min(1).values,
    "held-out test codes": torch.cdist(mu_test, mu).min(1).values,
}
for name, d in nearest.items():
    print(f"{name:>20}: median distance to the nearest training code {d.median():.2f}")
    glue(f"diff_nearest_{name.split()[0].split('-')[0]}", float(d.median()))

# %% [markdown]
# Sampling the VAE's latent space with a learned flow instead of the prior lowered the FID from
# {glue:text}`diff_prior_fid:.1f` to {glue:text}`diff_latent_fid:.1f`. Why does it help? The
# encoder's codes have about the prior's spread per dimension, but not its shape: they are
# correlated (the eigenvalues of their covariance, printed above, are far from all 1), and
# beyond that they gather in regions, roughly one per kind of digit, so that prior samples
# falling between them decode to blends. The fitted Gaussian, which corrects the scale and
# correlations only, reached {glue:text}`diff_fitted_fid:.1f`: part of the gain is that simple,
# and the rest is the non-Gaussian structure that only the flow learns. Nor does the flow copy
# its training codes: its samples lie at a median distance of
# {glue:text}`diff_nearest_latent:.2f` from the nearest training code, held-out test codes at
# {glue:text}`diff_nearest_held:.2f`. The decoder still limits the result: the samples are as
# blurry as the VAE's reconstructions, because the decoder, not the diffusion model, makes the
# pixels (Stable Diffusion's autoencoder is trained with perceptual and adversarial losses for
# exactly this reason). The win is the cost: 50 steps of a tiny MLP in 20 dimensions instead
# of a UNet on 784 pixels.
#
# ## 7. Classifier-free guidance
#
# Ask the conditional model for a "3" and it draws from $p(x \mid y = 3)$, which includes
# ambiguous, badly written threes. **Classifier-free guidance** {cite:p}`ho2022cfg` pushes the
# prediction away from the unconditional one, with both from the same network (the null label):
#
# $$
# \tilde v = v_\theta(x, t, y) + w\,\bigl(v_\theta(x, t, y) - v_\theta(x, t, \varnothing)\bigr),
# $$
#
# so $w = 0$ is the plain conditional model and larger $w$ trades diversity for fidelity to the
# label. Why this helps has a neat reading. The network's two predictions are scores (section
# 2), and their difference is the score of an *implicit classifier*:
# $\nabla\log p(x\mid y) - \nabla\log p(x) = \nabla\log p(y\mid x)$ by Bayes' rule. So the guided
# prediction is the score of $p(x\mid y)\,p(y\mid x)^{w}$: the conditional distribution,
# sharpened towards the images that are unmistakably a "3". (Guided sampling does not sample
# that sharpened distribution exactly: the noisy-level scores it combines are not those of the
# noised sharpened distribution. It is a heuristic that works.) Each guided step costs two
# network evaluations. We ask for {glue:text}`diff_n_guided` images, an equal number of each
# digit, at each weight of a fine grid, and measure the **hit rate** (the share the judge
# classifies as the requested digit), FID, precision and recall.

# %% tags=["nbval-ignore-output"]
glue("diff_n_guided", f"{cfg.n_guided:,}")
requested = torch.arange(cfg.n_guided) % 10
guided = {"real vs real": real_row(cfg.n_guided)}
hits, hit_rate = {}, {}
for w in cfg.guidance:
    images, sec = sample_unet(
        "euler", cfg.guidance_steps, cfg.n_guided, seed=5, labels=requested, weight=w
    )
    guided[f"w = {w:g}"] = score(images)
    pred = classifier_features(judge, images).probs.argmax(1)
    hit_rate[w] = float((pred == requested).double().mean())
    hits[f"w = {w:g}"] = {
        "hit rate": f"{hit_rate[w]:.1%}",
        "ms/img": f"{1000 * sec:.0f}",
    }
print(f"flow matching, {cfg.guidance_steps} Euler steps per image\n")
print(metrics_table(guided, hits))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
ws = list(cfg.guidance)
axes[0].plot(
    [100 * hit_rate[w] for w in ws], [guided[f"w = {w:g}"].fid for w in ws], "o-"
)
for w in ws:
    axes[0].annotate(
        f"w={w:g}", (100 * hit_rate[w], guided[f"w = {w:g}"].fid), fontsize=8
    )
axes[0].set(
    xlabel="hit rate, %", ylabel="classifier-FID", title="fidelity to the label vs FID"
)
for metric in ("precision", "recall"):
    axes[1].plot(
        ws, [getattr(guided[f"w = {w:g}"], metric) for w in ws], "o-", label=metric
    )
axes[1].set(
    xscale="symlog", xlabel="guidance weight w (symlog)", title="quality vs diversity"
)
axes[1].legend(frameon=False)
for ax in axes:
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()
# the best weight on a stated criterion: the lowest FID among the weights that hit the
# requested digit at least as often as w = 0 does
best_w = min(
    (w for w in ws if hit_rate[w] >= hit_rate[0.0]),
    key=lambda w: guided[f"w = {w:g}"].fid,
)
glue("diff_cfg_best_w", f"{best_w:g}")
glue("diff_cfg_best_fid", guided[f"w = {best_w:g}"].fid)
glue("diff_cfg_best_hit", 100 * hit_rate[best_w])
glue("diff_cfg_w0_hit", 100 * hit_rate[0.0])
glue("diff_cfg_w0_fid", guided["w = 0"].fid)
glue("diff_cfg_wmax", f"{ws[-1]:g}")
glue("diff_cfg_wmax_fid", guided[f"w = {ws[-1]:g}"].fid)
glue("diff_cfg_wmax_recall", guided[f"w = {ws[-1]:g}"].recall)
glue("diff_cfg_w0_recall", guided["w = 0"].recall)
frames, captions = [], []
for w in ws:
    images, _ = sample_unet(
        "euler", cfg.guidance_steps, 20, seed=6, labels=torch.arange(20) % 10, weight=w
    )
    m_w = guided[f"w = {w:g}"]
    frames.append(1 - image_grid(images, nrow=10))
    captions.append(
        f"w = {w:g}: FID {m_w.fid:.1f}, hit rate {hit_rate[w]:.1%},"
        f" precision {m_w.precision:.2f}, recall {m_w.recall:.2f}"
    )
frame_player(
    torch.from_numpy(numpy.stack(frames)),
    captions,
    name="diffusion-guidance",
    scale=3,
    interval_ms=800,
    caption="The digits 0-9 twice at each guidance weight of the grid, with that"
    " weight's measured scores (same seed for every weight).",
)

# %% [markdown]
# Without guidance ($w = 0$) the requested digit was hit {glue:text}`diff_cfg_w0_hit:.1f` % of
# the time, at FID {glue:text}`diff_cfg_w0_fid:.1f`. The trade-off lives at small weights: as
# $w$ grows the hit rate climbs to 100 % (by the middle of the grid), while recall (the
# share of real variety the samples cover) falls from {glue:text}`diff_cfg_w0_recall:.2f` to
# {glue:text}`diff_cfg_wmax_recall:.2f` at $w$ = {glue:text}`diff_cfg_wmax`, and FID, which
# rewards matching the real variety, rises to {glue:text}`diff_cfg_wmax_fid:.1f`. The samples
# become cleaner, thicker, more prototypical digits and less varied. Choosing a weight needs a
# criterion: the lowest FID among the weights that hit the label at least as often as $w = 0$
# is $w$ = {glue:text}`diff_cfg_best_w` here (FID {glue:text}`diff_cfg_best_fid:.1f`, hit rate
# {glue:text}`diff_cfg_best_hit:.1f` %); with a few hundred images per row, FID differences of
# a few points between neighbouring weights are within its noise. Ho and Salimans also found
# the best FID at small weights and the highest Inception score at large ones. Image generators expose
# $w$ as the "guidance scale" (with the convention $1 + w$; 7.5 is Stable Diffusion's
# default), where fidelity to a text prompt is worth more than variety.
#
# ## 8. All the models on one table
#
# The case study trained a DCGAN and a VAE for 30 seconds each. Here they are again, next to
# this chapter's models, on {glue:text}`diff_n_compare` images per row and
# {glue:text}`diff_compare_steps` sampler steps for the UNets. The DCGAN is trained here, once
# per seed, for the same 30 seconds, with the package's tuned recipe (`DCGAN_RECIPE`: the
# settings that `benchmarks/bench_quality.py` chose, with an EMA of the generator's weights);
# the VAE is the shipped one, the case study's recipe trained for about as long. The flow UNet
# appears twice: through its null label, and with labels drawn from the training frequencies
# first (section 5), which is also an unconditional sampler.

# %% tags=["nbval-ignore-output"]
glue("diff_n_compare", f"{cfg.n_compare:,}")
glue("diff_compare_steps", str(cfg.compare_steps))
x_signed = to_signed(train.images)
here = f"here, {torch.get_num_threads()} thr."
gan_fids, gan_rows, gan_images = [], {}, {}
for seed in cfg.seeds:
    torch.manual_seed(seed)
    G, D = DCGANGenerator(cfg.dcgan), DCGANDiscriminator(cfg.dcgan)
    result = train_gan(G, D, x_signed, replace(cfg.gan, seed=seed, device=str(device)))
    clock("DCGAN", "training", result.seconds)
    t0 = time.perf_counter()
    with torch.no_grad():
        x = result.ema_generator.sample(
            cfg.n_compare, generator=torch.Generator().manual_seed(seed)
        )
    gan_images[seed] = from_signed(x).cpu()
    gan_rows[seed] = (result.seconds, (time.perf_counter() - t0) / cfg.n_compare)
    gan_fids.append(score(gan_images[seed]))


def shipped_on(meta):
    return f"{meta['threads']} thr." if "threads" in meta else "shipped"


compare = {"real vs real": real_row(cfg.n_compare)}
extra = {"real vs real": {"train s": "-", "trained": "-", "ms/img": "-"}}
best_gan_seed = min(range(len(cfg.seeds)), key=lambda i: gan_fids[i].fid)
compare["DCGAN (best seed)"] = gan_fids[best_gan_seed]
extra["DCGAN (best seed)"] = {
    "train s": f"{gan_rows[cfg.seeds[best_gan_seed]][0]:.0f}",
    "trained": here,
    "ms/img": f"{1000 * gan_rows[cfg.seeds[best_gan_seed]][1]:.2f}",
}
vae_images, vae_sec = prior_samples(cfg.n_compare, 7)
compare["VAE"] = score(vae_images)
extra["VAE"] = {
    "train s": f"{vae_p.meta['seconds']:.0f}",
    "trained": shipped_on(vae_p.meta),
    "ms/img": f"{1000 * vae_sec:.3f}",
}
lat_images, lat_sec = latent_samples(cfg.n_compare, 8)
compare["VAE + latent flow"] = score(lat_images)
extra["VAE + latent flow"] = {
    "train s": f"{vae_p.meta['seconds']:.0f} + {latent.seconds:.0f}",
    "trained": f"{shipped_on(vae_p.meta)} + {here}",
    "ms/img": f"{1000 * lat_sec:.2f}",
}
flow_name = f"flow {cfg.compare_steps} steps"
drawn_name = f"{flow_name}, y ~ p(y)"
drawn_labels = torch.multinomial(
    freq, cfg.n_compare, replacement=True, generator=torch.Generator().manual_seed(9)
)
unet_images = {}
for name, sampler, key, labels in (
    (f"DDIM {cfg.compare_steps} steps", "ddim", "mnist_eps_unet", None),
    (flow_name, "euler", "mnist_flow_matching_unet", None),
    (drawn_name, "euler", "mnist_flow_matching_unet", drawn_labels),
):
    unet_images[name], sec = sample_unet(
        sampler, cfg.compare_steps, cfg.n_compare, seed=9, labels=labels
    )
    compare[name] = score(unet_images[name])
    extra[name] = {
        "train s": f"{shipped[key].meta['seconds']:.0f}",
        "trained": shipped_on(shipped[key].meta),
        "ms/img": f"{1000 * sec:.1f}",
    }
print(metrics_table(compare, extra))
fids = [m.fid for m in gan_fids]
print(
    f"\nDCGAN FID over seeds {cfg.seeds}: "
    + ", ".join(f"{f:.1f}" for f in fids)
    + f" (mean {mean_std(fids)[0]:.1f} ± {mean_std(fids)[1]:.1f})"
)
glue("diff_cmp_flow_fid", compare[flow_name].fid)
glue("diff_cmp_drawn_fid", compare[drawn_name].fid)
glue("diff_cmp_latent_fid", compare["VAE + latent flow"].fid)
glue("diff_cmp_real_fid", compare["real vs real"].fid)
glue("diff_cmp_gan_fid_min", min(fids))
glue("diff_cmp_gan_fid_max", max(fids))
glue("diff_cmp_flow_ms", float(extra[flow_name]["ms/img"]))
glue("diff_cmp_gan_ms", float(extra["DCGAN (best seed)"]["ms/img"]))
glue("diff_latent_examples", f"{cfg.latent.steps * cfg.latent.batch_size:,}")

# %% tags=["remove-cell"]
# Test (full mode): the flow model sampled with drawn labels beats the best GAN seed
# (the quality bar); in quick mode (200 images, 10 steps) only that it beats
# an untrained-level FID.
if not aigc_course.quick_mode():
    assert compare[drawn_name].fid < min(fids), (compare[drawn_name].fid, fids)
assert compare[drawn_name].fid < 300, compare[drawn_name].fid

# %% [markdown]
# Sampled through its null label, the flow-matching UNet reached FID
# {glue:text}`diff_cmp_flow_fid:.1f`, against {glue:text}`diff_cmp_gan_fid_min:.1f` to
# {glue:text}`diff_cmp_gan_fid_max:.1f` for the DCGAN across seeds; with labels drawn first it
# reached {glue:text}`diff_cmp_drawn_fid:.1f` (real vs real: {glue:text}`diff_cmp_real_fid:.1f`).
# The small latent flow of section 6 reached {glue:text}`diff_cmp_latent_fid:.1f` after
# seconds of training on top of the VAE. Do not read "latent beats pixel" into that: the latent
# flow is unconditional and saw {glue:text}`diff_latent_examples` training examples, the UNet's
# null branch about {glue:text}`diff_null_examples`; the two also differ in architecture and in
# how balanced their classes come out (the KL(cls) column). Nor is the rest a fair race, and
# the last three columns say so: the UNet trained for {glue:text}`diff_unet_minutes:.0f`
# minutes (on one thread, when it was made) against the GAN's half minute here, and it needs
# {glue:text}`diff_cmp_flow_ms:.0f` ms per image against the GAN's
# {glue:text}`diff_cmp_gan_ms:.2f` ms, because every image costs
# {glue:text}`diff_compare_steps` UNet evaluations. What the comparison does show is how the
# families *spend* compute: a GAN gets its speed from one forward pass and pays with unstable
# training and dropped modes; a diffusion or flow model trains with a plain regression loss,
# covers the data, and pays at sampling time. Distillation methods (consistency models, Song et
# al. {cite:p}`song2023cm`; rectified-flow "reflow") exist to cut the steps to a handful; the
# VAE's latent space, section 6, cuts the cost of each step.
#
# ## 9. Does a real-vs-generated detector catch diffusion samples?
#
# The applications chapter trained a small CNN to tell real test images from generated ones. We
# repeat that with this chapter's samples: detectors trained against the DCGAN's images or
# against the flow model's (labels drawn first; half of each set, 8-bit like any image file),
# each tested on the
# held-out half of *both*, so the off-diagonal cells ask whether a detector trained on one
# family catches the other.


# %% tags=["nbval-ignore-output"]
def fit_detector(images, labels, seed):
    torch.manual_seed(seed)  # the detector's initial weights
    det = LeNetClassifier(ClassifierConfig(num_classes=2))
    run = replace(cfg.detector_train, seed=seed, device=str(device))
    clock("detectors", "training", train_classifier(det, images, labels, run).seconds)
    return det.cpu()


half = cfg.n_compare // 2
fakes = {"DCGAN": gan_images[cfg.seeds[best_gan_seed]], "flow": unet_images[drawn_name]}
real_det = to_unit(test.images[spare[: 2 * half]])
# fit on images 0..half of each set, score on images half..2 * half
detection = cross_detection(
    fit_detector, classifier_accuracy, real_det, fakes, n=half, seeds=cfg.seeds
).accuracy
print(
    f"held-out accuracy, half real, half generated (50% = guessing);"
    f" mean ± std over seeds {cfg.seeds}\n"
)
print(f"{'trained against':>16} | " + " | ".join(f"tested on {k:>6}" for k in fakes))
for a in fakes:
    cells = [
        f"{mean_std(detection[a, b])[0]:9.1%} ± {mean_std(detection[a, b])[1]:4.1%}"
        for b in fakes
    ]
    print(f"{a:>16} | " + " | ".join(cells))
glue("diff_det_flow_flow", 100 * mean_std(detection["flow", "flow"])[0])
glue("diff_det_gan_flow", 100 * mean_std(detection["DCGAN", "flow"])[0])

# %% [markdown]
# A detector trained against the flow model's images told them from real ones
# {glue:text}`diff_det_flow_flow:.0f` % of the time (on balanced held-out sets, so 50% is a coin
# toss); one trained against the DCGAN caught flow samples {glue:text}`diff_det_gan_flow:.0f` % of
# the time. Compare the DCGAN's own cell in the first row: this small detector finds the GAN's
# traces more easily than the flow model's. A detector learns the traces of the generators it
# has seen, and a new family leaves other traces (Ojha et al. {cite:p}`ojha2023` found detectors
# of GAN images failing on diffusion images). With {glue:text}`diff_n_compare` images per set and
# a tiny CNN, these numbers are about this toy setting only: they do not say how detectable
# large diffusion models are.
#
# ## Where the time went
#
# The seconds this run spent, by what they were spent on (training in this notebook, sampling,
# and scoring samples with the judge's features); the shipped UNets' own training, minutes
# each, is not included. In quick mode the same table is printed for the smaller settings.

# %% tags=["nbval-ignore-output"]
print(f"{'':>30} {'training s':>11} {'sampling s':>11} {'scoring s':>10}")
for what in dict.fromkeys(w for w, _ in spent):
    cells = [spent.get((what, k)) for k in ("training", "sampling", "scoring")]
    print(
        f"{what:>30}"
        + "".join(f"{c:>11.0f}" if c is not None else f"{'-':>11}" for c in cells)
    )
totals = {
    k: sum(v for (_, kk), v in spent.items() if kk == k)
    for k in ("training", "sampling", "scoring")
}
print(f"{'total':>30}" + "".join(f"{v:>11.0f}" for v in totals.values()))
glue("diff_time_sampling_share", totals["sampling"] / sum(totals.values()))

# %% [markdown]
# Sampling took {glue:text}`diff_time_sampling_share:.0%` of the measured time: the cost of a
# diffusion model is paid each time it draws.
#
# ## What to remember
#
# * A diffusion model learns to undo a fixed noising process. Its loss is the VAE's ELBO,
#   reweighted: the KL between the exact posterior and the model's step becomes a squared
#   error on the noise, and the best noise prediction is the score of the noisy data.
# * Flow matching with straight paths is the same family: a schedule ($\alpha_t = 1 - t$,
#   $\sigma_t = t$), a prediction target ($v$ instead of $\epsilon$), and a sampler (Euler,
#   which is DDIM on that schedule). Schedule, target and sampler are the three knobs; their
#   settings, not "straight against curved", made the measured differences.
# * Coarse samplers shrink the spread of what they sample; more steps converge to the trained
#   model, and a second-order sampler (Heun) gets there with fewer evaluations. A quality
#   metric that rewards tight samples can hide this, so read spread and recall next to it.
# * Latent diffusion moves the work into an autoencoder's small latent space; classifier-free
#   guidance trades diversity for fidelity to the condition with one number, $w$, and the
#   trade-off is steepest at small $w$.
# * On the same data, sample count and metrics, the flow-matching UNet sampled with drawn
#   labels, and the latent flow, beat the case study's GAN and VAE; the UNet also trained
#   much longer and samples much more slowly, and the table shows both.
