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
# 1. the **forward process** that turns data into noise, in closed form;
# 2. the **reverse process** learned by predicting the noise ({term}`DDPM <Diffusion model>`,
#    Ho et al. {cite:p}`ho2020`), and why that prediction is a *score*;
# 3. a {term}`diffusion model` on the GAN chapter's ring of Gaussians, side by side with the GAN;
# 4. **{term}`flow matching`** (Lipman et al. {cite:p}`lipman2023`; rectified flow, Liu et al.
#    {cite:p}`liu2023flow`), the straight-line version most new image models use;
# 5. MNIST in pixel space with a small UNet, and a **sampler sweep** (DDPM, DDIM, Euler);
# 6. **latent diffusion** in miniature, in the latent space of a VAE (the idea of Stable
#    Diffusion, Rombach et al. {cite:p}`rombach2022`);
# 7. **{term}`classifier-free guidance`** {cite:p}`ho2022cfg`;
# 8. one table with the case study's GAN and VAE and this chapter's models;
# 9. whether a real-vs-generated detector catches diffusion samples.
#
# What is trained where: the 2-D models, the latent model and a short demonstration run of
# the UNet train in this notebook. The two MNIST UNets of sections 5 and 7 take longer than a
# chapter may run, so they ship with the package, and the package checks each file's SHA-256
# before loading it. `python -m aigc_course.pretrained.train --name NAME --out FILE` (part of
# the installed package, so it works in Colab too) retrains any of them with the same code
# (printed below: how long, on what, on which data) and prints the line that loads your file.

# %% tags=["hide-input", "nbval-ignore-output"]
import time
from dataclasses import dataclass, replace

import aigc_course
import torch
from aigc_course.data import (
    from_signed,
    load_mnist,
    ring_of_gaussians,
    to_signed,
    to_unit,
    two_gaussians_1d,
)
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
    flow_matching_sample,
    linear_schedule,
    q_sample,
    sample,
    score_from_epsilon,
)
from aigc_course.train import (
    ClassifierTrainConfig,
    DiffusionTrainConfig,
    GANTrainConfig,
    classifier_accuracy,
    train_classifier,
    train_diffusion,
    train_gan,
    trained_classifier,
)
from aigc_course.viz import plot_curves, plot_toy_2d, show_images
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
    unet_demo: DiffusionTrainConfig = DiffusionTrainConfig(
        steps=300, batch_size=64, lr=1e-3, grad_clip=1.0, progress=False
    )
    n_reference: int = 5000  # held-out test images that form the reference
    n_sweep: int = 400  # images per sampler setting
    flow_steps: tuple[int, ...] = (5, 10, 20, 50)
    ddim_steps: tuple[int, ...] = (10, 20, 50, 100)
    ddpm_steps: tuple[int, ...] = (10, 20, 50, 100)
    guidance: tuple[float, ...] = (0.0, 1.0, 3.0, 5.0)
    guidance_steps: int = 20
    n_guided: int = 400  # images per guidance weight, an equal number per digit
    latent: DiffusionTrainConfig = DiffusionTrainConfig(
        steps=4000, batch_size=256, lr=1e-3, ema_decay=0.999, progress=False
    )
    latent_net: MLPDenoiserConfig = MLPDenoiserConfig(dim=20, hidden=256, depth=3)
    n_compare: int = 2000  # images per row of the comparison table (as the case study)
    compare_steps: int = 20  # sampler steps of the comparison rows
    gan: GANTrainConfig = GANTrainConfig(  # the case study's DCGAN recipe
        steps=1_000_000,
        batch_size=32,
        lr_d=4e-4,
        lr_g=4e-4,
        ema_decay=0.99,
        n_fixed=0,
        max_seconds=30.0,
        progress=False,
    )
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
        unet_demo=replace(cfg.unet_demo, steps=10),
        n_sweep=200,
        flow_steps=(5, 20),
        ddim_steps=(10,),
        ddpm_steps=(10,),
        guidance=(0.0, 3.0),
        guidance_steps=10,
        n_guided=200,
        latent=replace(cfg.latent, steps=1000),
        n_compare=200,
        compare_steps=10,
        gan=replace(cfg.gan, steps=300, max_seconds=None),
        evaluation=replace(cfg.evaluation, kid_subsets=10),
    )
device = aigc_course.get_device()


print("quick mode" if aigc_course.quick_mode() else "full mode", "on", device, "\n")
show_settings(cfg)

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
# $\beta_t$ rising linearly from $10^{-4}$ to $0.02$). A sum of Gaussians is Gaussian, so the $t$
# steps collapse into one: with $\alpha_t = 1-\beta_t$ and $\bar\alpha_t = \prod_{s\le t}\alpha_s$,
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
# are what agreement looks like). Both schedules end at a standard normal (mean 0, standard
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
    check_ddim_step,
    check_flow_loss,
    check_predict_x0,
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
# data distribution), but for small $\beta_t$ it is close to a Gaussian, and given $x_0$ it is an
# exact one, $q(x_{t-1}\mid x_t, x_0) = \mathcal N(\tilde\mu_t(x_t, x_0), \tilde\beta_t I)$. So a
# network only has to guess $x_0$, or equivalently the noise $\epsilon$ that was added, since
# $x_0 = (x_t - \sqrt{1-\bar\alpha_t}\,\epsilon)/\sqrt{\bar\alpha_t}$. Ho et al. train
# $\epsilon_\theta(x_t, t)$ with the plain squared error,
#
# $$
# L_\text{simple} = \E_{t, x_0, \epsilon}\,\bigl\lVert \epsilon -
# \epsilon_\theta\bigl(\sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon,\ t\bigr)
# \bigr\rVert^2,
# $$
#
# a reweighted form of the VAE's ELBO (the forward process is a fixed encoder with $T$ latent
# layers). One training step of the package, for this loss and for flow matching (section 4):
#
# ```{literalinclude} ../aigc_course/train/diffusion.py
# :pyobject: diffusion_step
# :start-at: batch, device
# ```
#
# **The noise is a score.** The best possible $\epsilon_\theta$ under a squared error is the
# conditional mean $\E[\epsilon \mid x_t]$, and Tweedie's formula turns it into the gradient of
# the log-density of the noisy data,
# $\nabla_{x_t}\log q_t(x_t) = -\E[\epsilon\mid x_t]/\sqrt{1-\bar\alpha_t}$ (Song et al.
# {cite:p}`song2021sde`). So a noise-predicting network is a {term}`score <Score>` network in
# disguise, and sampling follows the score uphill, from noise towards likely data. We can check
# this where everything is known: for Gaussian data $x_0 \sim \mathcal N(m, s^2)$, $x_t$ is
# Gaussian too, the optimal noise prediction has a closed form (`GaussianEpsilon`), and
# `torch.distributions` gives the score by automatic differentiation.

# %%
m = torch.tensor([1.5, -0.5], dtype=torch.float64)  # a 2-D Gaussian data set
s = torch.tensor([0.25, 2.0], dtype=torch.float64)
torch.manual_seed(0)
sched = schedules["linear"]
eps_star = GaussianEpsilon(m, s, sched)
print(f"{'t':>5} {'max |score(autograd) - score(eps)|':>36}")
for t in (1, 50, 300, 999):
    ab = sched.alpha_bars[t]  # float64, as everything in this check
    q_t = torch.distributions.Normal(ab.sqrt() * m, (ab * s**2 + 1 - ab).sqrt())
    x = q_t.sample((500,)).requires_grad_(True)
    (score,) = torch.autograd.grad(q_t.log_prob(x).sum(), x)
    eps = eps_star(x.detach(), torch.full((500,), t / T, dtype=torch.float64))
    from_eps = score_from_epsilon(eps, t, sched)
    print(f"{t:5d} {float((score - from_eps).abs().max()):36.1e}")

# %% [markdown]
# Equal to float precision. With that exact noise predictor in place of a network, every sampler
# of this chapter must recover the data distribution, which tests the samplers without any
# training: DDPM (ancestral sampling, Ho et al.'s Algorithm 2), DDIM with $\eta = 0$ (Song,
# Meng and Ermon {cite:p}`song2021ddim`, deterministic, on 50 of the 1000 steps) and the
# flow-matching ODE with the exact velocity of section 4 (`GaussianVelocity`, 50 Euler steps).

# %%
target = f"target: mean {m.tolist()}, std {s.tolist()}"
gen = torch.Generator().manual_seed(0)
runs = {
    "DDPM, 1000 steps": ddpm_sample(eps_star, (20_000, 2), sched, generator=gen),
    "DDIM, 50 steps": ddim_sample(
        eps_star, (20_000, 2), sched, steps=50, generator=gen
    ),
    "flow, 50 Euler steps": flow_matching_sample(
        GaussianVelocity(m, s), (20_000, 2), steps=50, generator=gen
    ),
}
print(target)
for name, x in runs.items():
    mean = [round(v, 2) for v in x.mean(0).tolist()]
    std = [round(v, 2) for v in x.std(0).tolist()]
    print(f"{name:>22}: mean {mean}, std {std}")

# %% [markdown]
# All three land on the target within sampling error of 20,000 points (standard error of
# the mean about $0.002$ and $0.014$; DDIM and Euler with 50 steps carry a small
# discretisation error on top).
#
# `````{exercise-start}
# :label: ex-diff-x0
# `````
#
# A sampler's every step starts by asking: which clean image does this noise estimate imply?
# Write `my_predict_x0(x_t, eps_hat, alpha_bar)` ($x_t$ and $\hat\epsilon$ of shape $(B, D)$,
# $\bar\alpha_t$ of shape $(B,)$).
#
# `````{exercise-end}
# `````

# %%
def my_predict_x0(x_t, eps_hat, alpha_bar):
    raise NotImplementedError


check_predict_x0(my_predict_x0)

# %% [markdown]
# `````{solution-start} ex-diff-x0
# :class: dropdown
# `````

# %%
def my_predict_x0(x_t, eps_hat, alpha_bar):
    a = alpha_bar[:, None]
    return (x_t - (1 - a).sqrt() * eps_hat) / a.sqrt()


check_predict_x0(my_predict_x0)

# %% [markdown]
# `````{solution-end}
# `````
#
# ## 3. A diffusion model on the ring of Gaussians
#
# Back to the GAN chapter's test case: eight tight Gaussians (standard deviation 0.02) on a
# circle of radius 2, where GANs drop modes. The denoiser is a small MLP that gets the time
# through a sinusoidal embedding (`MLPDenoiser`); it is trained with the noise loss above for
# {glue:text}`diff_toy_steps` steps per seed, and sampled with DDPM's 1000 steps. The GAN is the GAN
# chapter's recipe, trained here for {glue:text}`diff_toy_gan_steps` steps; modes are counted as
# there (a mode is covered when at least 1% of the samples lie within 3 standard deviations of it;
# "high quality" is the share of samples within 3 standard deviations of some centre).

# %% tags=["nbval-ignore-output"]
ring_data, centers = ring_of_gaussians(
    20_000, generator=torch.Generator().manual_seed(0)
)
RING_STD = 0.02
TOY_BOX = 2.5  # the noise samplers clip their guess of x0 to the data's box
glue("diff_toy_steps", f"{cfg.toy.steps:,}")
glue("diff_toy_gan_steps", f"{cfg.toy_gan.steps:,}")


def train_toy(objective, seed):
    torch.manual_seed(seed)  # the network's initial weights
    run = replace(cfg.toy, objective=objective, seed=seed, device="cpu")
    return train_diffusion(MLPDenoiser(cfg.toy_net), ring_data, run)


def sample_toy(result, sampler, steps, seed, n=None, **kw):
    """n points from a trained 2-D model: "ddpm", "ddim" (eta = 0) or "flow" (Euler)."""
    gen = torch.Generator().manual_seed(1000 + seed)
    shape = (n or cfg.toy_eval_n, 2)
    if sampler == "flow":
        kw = dict(method="euler", **kw)
    else:
        kw = dict(method=sampler, schedule=result.schedule, clip_x0=TOY_BOX, **kw)
    return sample(result.sampling_model, shape, steps=steps, generator=gen, **kw)


def coverage(points):
    c = count_modes(points, centers, RING_STD)
    return c.n_covered, c.high_quality_fraction


t0 = time.perf_counter()
toy = {"eps": {}, "flow": {}, "gan": {}}
for seed in cfg.seeds:
    toy["eps"][seed] = train_toy("eps", seed)
    toy["flow"][seed] = train_toy("flow_matching", seed)
    torch.manual_seed(seed)
    G, D = ToyGenerator(ToyGANConfig()), ToyDiscriminator(ToyGANConfig())
    toy["gan"][seed] = train_gan(G, D, ring_data, replace(cfg.toy_gan, seed=seed))
toy_seconds = {
    k: sum(r.seconds for r in runs.values()) / len(cfg.seeds) for k, runs in toy.items()
}
print(f"trained {3 * len(cfg.seeds)} models in {time.perf_counter() - t0:.0f} s")
print("training seconds per model:", {k: round(v, 1) for k, v in toy_seconds.items()})


# %% tags=["nbval-ignore-output"]
ring_rows = {}
for seed in cfg.seeds:
    gan_last = toy["gan"][seed].snapshots[-4:]  # as in the GAN chapter
    gan_cov = [coverage(points) for _, points in gan_last]
    ring_rows.setdefault("GAN (last 4 snapshots)", []).append(
        tuple(sum(c[i] for c in gan_cov) / len(gan_cov) for i in (0, 1))
    )
    ring_rows.setdefault("DDPM, 1000 steps", []).append(
        coverage(sample_toy(toy["eps"][seed], "ddpm", 1000, seed))
    )
    ring_rows.setdefault("flow, 100 Euler steps", []).append(
        coverage(sample_toy(toy["flow"][seed], "flow", 100, seed))
    )
print(f"mean ± std over seeds {cfg.seeds}, {cfg.toy_eval_n} samples each\n")
print(f"{'model':>24} {'modes of 8':>12} {'high quality':>14}")
for name, rows in ring_rows.items():
    (m_modes, s_modes), (m_hq, s_hq) = (mean_std([r[i] for r in rows]) for i in (0, 1))
    print(f"{name:>24} {m_modes:6.2f} ± {s_modes:4.2f} {m_hq:8.0%} ± {s_hq:3.0%}")
glue("diff_ring_ddpm_modes", mean_std([r[0] for r in ring_rows["DDPM, 1000 steps"]])[0])
glue(
    "diff_ring_gan_modes",
    mean_std([r[0] for r in ring_rows["GAN (last 4 snapshots)"]])[0],
)
glue(
    "diff_ring_ddpm_hq",
    100 * mean_std([r[1] for r in ring_rows["DDPM, 1000 steps"]])[0],
)
glue(
    "diff_ring_gan_hq",
    100 * mean_std([r[1] for r in ring_rows["GAN (last 4 snapshots)"]])[0],
)

# %% tags=["remove-cell"]
# Test: in every seed the diffusion and flow models cover at least 7 of the 8 modes
# (8 in every run we made) with a quarter of their samples or more on a mode (about
# half in our runs).
for name in ("DDPM, 1000 steps", "flow, 100 Euler steps"):
    for seed, (modes, hq) in zip(cfg.seeds, ring_rows[name], strict=True):
        assert modes >= 7, (name, seed, modes)
        assert hq > 0.25, (name, seed, hq)

# %% [markdown]
# The diffusion model covered {glue:text}`diff_ring_ddpm_modes:.2f` of 8 modes on average with
# {glue:text}`diff_ring_ddpm_hq:.0f` % of its samples close to a centre; the GAN
# {glue:text}`diff_ring_gan_modes:.2f` modes and {glue:text}`diff_ring_gan_hq:.0f` % (the spreads
# over seeds are printed above). Dropping a mode is hard for a diffusion model: its loss is a
# regression at *every* noisy point of space, not a game, and a mode the network ignored would
# cost it loss at every noise level. The price is paid at sampling time: a thousand network
# evaluations per sample instead of one. Two details of this toy matter. The noise model uses the
# cosine schedule (in our trials with the linear one, the same number of training steps placed
# far fewer samples this close to the centres), and its samplers clip their running guess of $x_0$ to the data's box,
# $[-2.5, 2.5]^2$, as image samplers clip it to the pixel range: early in sampling, when
# $\bar\alpha_t$ is almost 0, dividing by $\sqrt{\bar\alpha_t}$ turns a small error of the network
# into a huge guess. Here is where the samples come from: trajectories of 30 points, from
# the noise (grey) to the data.

# %% tags=["nbval-ignore-output"]
fig, axes = plt.subplots(1, 3, figsize=(12, 4))
_, traj_ddpm = sample_toy(toy["eps"][0], "ddpm", 1000, 0, n=30, return_trajectory=True)
_, traj_flow = sample_toy(toy["flow"][0], "flow", 100, 0, n=30, return_trajectory=True)
plot_toy_2d(
    ring_data[:2000],
    sample_toy(toy["eps"][0], "ddpm", 1000, 0),
    ax=axes[0],
    title="DDPM samples (seed 0)",
)
for ax, traj, title in (
    (axes[1], traj_ddpm, "DDPM trajectories"),
    (axes[2], traj_flow, "flow-matching trajectories"),
):
    ax.scatter(*ring_data[:2000].T, s=2, c="lightgrey")
    for i in range(traj.shape[1]):
        ax.plot(traj[:, i, 0], traj[:, i, 1], lw=0.6, alpha=0.8)
    ax.scatter(*traj[0].T, s=8, c="grey")
    ax.set(xlim=(-3.2, 3.2), ylim=(-3.2, 3.2), aspect="equal", title=title)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. Flow matching: a straight road from noise to data
#
# The DDPM trajectories wander: the sampler adds fresh noise at every step. DDIM removes that
# noise and follows an ordinary differential equation, the *probability-flow ODE* of Song et al.
# {cite:p}`song2021sde`, but the curved path it follows still needs many steps. **Flow
# matching** {cite:p}`lipman2023` (the same as **rectified flow** {cite:p}`liu2023flow`) chooses
# the path first, the straight line from a data point $x_0$ to a noise draw $x_1$,
#
# $$
# x_t = (1-t)\,x_0 + t\,x_1, \quad t\in[0,1], \qquad \frac{dx_t}{dt} = x_1 - x_0,
# $$
#
# and trains a network $v_\theta(x_t, t)$ to predict that velocity:
# $L = \E\,\lVert v_\theta(x_t, t) - (x_1 - x_0)\rVert^2$. The network cannot know which pair
# $(x_0, x_1)$ a point came from, so it learns the *average* velocity through each point,
# $v(x, t) = \E[x_1 - x_0 \mid x_t = x]$, and Lipman et al. prove that following this averaged
# field from noise at $t = 1$ back to $t = 0$ transports the noise distribution onto the data
# distribution. Sampling integrates $dx/dt = v_\theta(x, t)$ backwards with Euler steps:
#
# ```{literalinclude} ../aigc_course/sampling/diffusion.py
# :pyobject: euler_step
# :start-at: return x_t
# ```
#
# Straight *conditional* paths do not make a straight *learned* field: where the lines of
# different pairs cross, the averaged velocity bends. (Liu et al.'s "reflow" straightens it by
# retraining on the model's own noise-sample pairs.) How straight are the learned trajectories,
# and how does quality fall with fewer steps? Straightness here is the distance from start to
# end divided by the length of the path (1 = a straight line), over 2,000 trajectories of 100
# steps; DDIM (the deterministic sampler of
# the noise model) on the same 100 steps for comparison.

# %% tags=["nbval-ignore-output"]
def straightness(traj):
    length = (traj[1:] - traj[:-1]).norm(dim=-1).sum(0)
    return float(((traj[-1] - traj[0]).norm(dim=-1) / length).mean())


for name, sampler, key in (
    ("flow, Euler", "flow", "flow"),
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
# Now quality against the number of network evaluations (NFE; one per step for all three
# samplers here), for each trained model and seed:

# %% tags=["nbval-ignore-output"]
sweep_toy = {}
for sampler, key in (("flow", "flow"), ("ddim", "eps"), ("ddpm", "eps")):
    for steps in cfg.toy_steps:
        if sampler == "flow" and steps > 100:
            continue
        cov = [coverage(sample_toy(toy[key][s], sampler, steps, s)) for s in cfg.seeds]
        sweep_toy[sampler, steps] = (
            mean_std([c[0] for c in cov]),
            mean_std([c[1] for c in cov]),
        )
print(f"mean ± std over seeds {cfg.seeds}\n")
print(f"{'sampler':>8} {'NFE':>5} {'modes of 8':>12} {'high quality':>14}")
for (sampler, steps), ((mm, sm), (mh, sh)) in sweep_toy.items():
    print(f"{sampler:>8} {steps:5d} {mm:6.2f} ± {sm:4.2f} {mh:8.0%} ± {sh:3.0%}")
glue("diff_toy_flow20_hq", 100 * sweep_toy["flow", 20][1][0])
glue("diff_toy_ddpm20_hq", 100 * sweep_toy["ddpm", 20][1][0])
glue("diff_toy_ddim20_hq", 100 * sweep_toy["ddim", 20][1][0])

# %% [markdown]
# One step of any of the samplers puts every sample near the *mean* of the data given the
# noise, the middle of the ring: no mode is reached. With 20 evaluations,
# {glue:text}`diff_toy_flow20_hq:.0f` % of the flow model's samples land within three standard
# deviations of a centre, {glue:text}`diff_toy_ddim20_hq:.0f` % of DDIM's and
# {glue:text}`diff_toy_ddpm20_hq:.0f` % of DDPM's; compare the differences between samplers with
# the spreads over seeds before reading a ranking into them. Two things to notice: more steps are
# not always better here (with 1000 steps the small errors of a network trained for seconds add
# up over many steps), and on this toy, the straight-path training of flow matching buys no
# straighter trajectories than DDIM's. Section 5 repeats the comparison on images, where the
# number of steps costs real time.
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
# training, 10% of the labels are replaced by a "null" label (section 7 uses this).
#
# The loop is the one of the whole course (`train_diffusion` on the package's training core,
# with an EMA of the weights); here it runs for {glue:text}`diff_demo_steps` steps, enough to see it
# work and to time it on this machine.

# %% tags=["nbval-ignore-output"]
train = load_mnist("train")
test = load_mnist("test")
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
print(f"UNet: {n_unet_params:,} parameters; {len(train.images):,} training images")
print(
    f"{demo.steps} steps of batch {cfg.unet_demo.batch_size} in {demo.seconds:.0f} s"
    f" ({demo.steps / demo.seconds:.2f} steps/s on {device})"
)
plot_curves({"flow-matching loss": demo.history["loss"]}, smooth=10)
plt.show()

# %% [markdown]
# The shipped networks are the same UNet trained the same way for longer: one with flow
# matching and one with the noise loss (DDPM; linear schedule, $T = 1000$), with the same data,
# steps and batch size, so the sampler sweep below compares the two objectives on equal terms.

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
glue("diff_unet_minutes", shipped["mnist_flow_matching_unet"].meta["seconds"] / 60)

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


@torch.no_grad()
def sample_unet(sampler, steps, n, seed, labels=None, weight=None):
    """n images in [0, 1] and the seconds per image; labels None = unconditional."""
    gen = torch.Generator(device).manual_seed(seed)
    out, t0 = [], time.perf_counter()
    for start in range(0, n, cfg.chunk):
        b = min(cfg.chunk, n - start)
        y = (torch.full((b,), 10) if labels is None else labels[start : start + b]).to(
            device
        )
        if sampler == "flow":
            model = (
                flow_unet
                if weight is None
                else ClassifierFreeGuidance(flow_unet, weight)
            )
            kw = dict(method="euler")
        else:
            model = eps_unet
            kw = dict(method=sampler, schedule=eps_schedule, clip_x0=1.0)
        x = sample(model, (b, 1, 28, 28), steps=steps, labels=y, generator=gen, **kw)
        out.append(from_signed(x.clamp(-1, 1)).cpu())
    return torch.cat(out), (time.perf_counter() - t0) / n


torch.manual_seed(0)
grid, _ = sample_unet("flow", 50, 40, seed=0)
show_images(grid, nrow=10, title="flow matching, 50 Euler steps, unconditional")
plt.show()

# %% [markdown]
# **The sampler sweep.** Each row: {glue:text}`diff_n_sweep` images from one sampler at one
# number of steps, against the same reference; seconds per image as measured here.

# %% tags=["nbval-ignore-output"]
glue("diff_n_sweep", f"{cfg.n_sweep:,}")
sweep = {"real vs real": real_row(cfg.n_sweep)}
cost = {}
for sampler, steps_list in (
    ("flow", cfg.flow_steps),
    ("ddim", cfg.ddim_steps),
    ("ddpm", cfg.ddpm_steps),
):
    for steps in steps_list:
        images, sec = sample_unet(sampler, steps, cfg.n_sweep, seed=1)
        name = f"{sampler} {steps} steps"
        sweep[name] = evaluate_samples(images, reference, judge, cfg.evaluation)
        cost[name] = (steps, sec)
print(
    metrics_table(
        sweep,
        {
            k: {"NFE": str(v[0]), "ms/img": f"{1000 * v[1]:.0f}"}
            for k, v in cost.items()
        },
    )
)
best_flow = min((k for k in sweep if k.startswith("flow")), key=lambda k: sweep[k].fid)
best_eps = min((k for k in sweep if k.startswith("dd")), key=lambda k: sweep[k].fid)
glue("diff_best_flow", best_flow)
glue("diff_best_flow_fid", sweep[best_flow].fid)
glue("diff_best_eps", best_eps)
glue("diff_best_eps_fid", sweep[best_eps].fid)
glue("diff_sweep_real_fid", sweep["real vs real"].fid)
glue("diff_ddim10_fid", sweep["ddim 10 steps"].fid)
glue("diff_ddpm10_fid", sweep["ddpm 10 steps"].fid)

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for sampler, marker in (("flow", "o"), ("ddim", "s"), ("ddpm", "^")):
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
# {glue:text}`diff_best_flow_fid:.1f`, the best noise-model setting {glue:text}`diff_best_eps` with
# {glue:text}`diff_best_eps_fid:.1f` (real vs real: {glue:text}`diff_sweep_real_fid:.1f`); at 10
# steps, DDIM scored {glue:text}`diff_ddim10_fid:.1f` and DDPM {glue:text}`diff_ddpm10_fid:.1f`.
# Read each row with its cost: the NFE column is the number of UNet evaluations per image, and
# the time per image follows it. Three cautions before drawing conclusions. These are *one*
# trained network per objective (the spread over training seeds would take hours to measure on
# this CPU); a few hundred images per row make FID noisy by several points; and the samples are
# *unconditional*, through the null label that the networks saw in only 10% of their training
# steps. Section 7 samples the same flow network *with* labels: its FID drops to about the
# real-vs-real floor. Published comparisons (DDIM's paper, the flow-matching papers) train for
# days on far more data, where DDPM needs hundreds of steps and DDIM and flow models far fewer.
#
# `````{exercise-start}
# :label: ex-diff-ddim
# `````
#
# Write `my_ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_prev)`: one deterministic DDIM step
# ($\eta = 0$) from noise level $\bar\alpha_t$ to the less noisy level $\bar\alpha_{t'}$ (two
# floats): predict $\hat x_0$, then put it back at the new level with the *same* noise estimate.
#
# `````{exercise-end}
# `````

# %%
def my_ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_prev):
    raise NotImplementedError


check_ddim_step(my_ddim_step)

# %% [markdown]
# `````{solution-start} ex-diff-ddim
# :class: dropdown
# `````

# %%
def my_ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_prev):
    x0_hat = (x_t - (1 - alpha_bar_t) ** 0.5 * eps_hat) / alpha_bar_t**0.5
    return alpha_bar_prev**0.5 * x0_hat + (1 - alpha_bar_prev) ** 0.5 * eps_hat


check_ddim_step(my_ddim_step)

# %% [markdown]
# `````{solution-end}
# `````
#
# The package's version also handles $\eta > 0$ (fresh noise, DDPM at $\eta = 1$) and clipping:
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
# The comparison: decode samples of the latent flow, or decode samples of the VAE's own prior
# $\mathcal N(0, I)$, the usual way to sample a VAE.

# %% tags=["nbval-ignore-output"]
vae_p = load_pretrained("mnist_vae")
vae = vae_p.model
with torch.no_grad():
    mu, _ = vae.encode(to_unit(train.images))
z_mean, z_std = mu.mean(0), mu.std(0)
print(f"VAE codes: per-dimension std {z_std.min():.2f} to {z_std.max():.2f} (prior: 1)")
t0 = time.perf_counter()
torch.manual_seed(0)
latent = train_diffusion(
    MLPDenoiser(cfg.latent_net),
    (mu - z_mean) / z_std,
    replace(cfg.latent, device="cpu"),
)
print(f"latent flow: {latent.steps} steps in {latent.seconds:.0f} s")


@torch.no_grad()
def decode(z):
    return torch.sigmoid(vae.decode(z))


def latent_samples(n, seed):
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    z = flow_matching_sample(latent.sampling_model, (n, 20), steps=50, generator=gen)
    return decode(z * z_std + z_mean), (time.perf_counter() - t0) / n


def prior_samples(n, seed):
    t0 = time.perf_counter()
    z = torch.randn(n, 20, generator=torch.Generator().manual_seed(seed))
    return decode(z), (time.perf_counter() - t0) / n


latent_rows = {"real vs real": real_row(cfg.n_sweep)}
for name, fn in (("VAE prior", prior_samples), ("VAE + latent flow", latent_samples)):
    latent_rows[name] = evaluate_samples(
        fn(cfg.n_sweep, 3)[0], reference, judge, cfg.evaluation
    )
print(metrics_table(latent_rows))
glue("diff_latent_fid", latent_rows["VAE + latent flow"].fid)
glue("diff_prior_fid", latent_rows["VAE prior"].fid)
fig, axes = plt.subplots(1, 2, figsize=(10, 2.4))
show_images(prior_samples(20, 4)[0], nrow=10, ax=axes[0], title="VAE prior")
show_images(latent_samples(20, 4)[0], nrow=10, ax=axes[1], title="VAE + latent flow")
plt.show()

# %% [markdown]
# Sampling the VAE's latent space with a learned flow instead of the prior lowered the FID from
# {glue:text}`diff_prior_fid:.1f` to {glue:text}`diff_latent_fid:.1f`. Why does it help? The
# encoder's codes have about the prior's spread per dimension (printed above), but they do not
# fill $\mathcal N(0, I)$ evenly: they gather in regions, roughly one per kind of digit, and prior
# samples that fall between them decode to blends of digits.
# The latent flow learns where the codes actually are. The decoder still limits the result: the
# samples are as blurry as the VAE's reconstructions, because the decoder, not the diffusion
# model, makes the pixels (Stable Diffusion's autoencoder is trained with perceptual and
# adversarial losses for exactly this reason). The win is the cost: 50 steps of a tiny MLP in
# 20 dimensions instead of a UNet on 784 pixels.
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
# label. Each guided step costs two network evaluations. We ask for
# {glue:text}`diff_n_guided` images, an equal number of each digit, and measure the **hit rate**
# (the share the judge classifies as the requested digit) and FID.

# %% tags=["nbval-ignore-output"]
glue("diff_n_guided", f"{cfg.n_guided:,}")
requested = torch.arange(cfg.n_guided) % 10
guided = {"real vs real": real_row(cfg.n_guided)}
hits = {}
for w in cfg.guidance:
    images, sec = sample_unet(
        "flow", cfg.guidance_steps, cfg.n_guided, seed=5, labels=requested, weight=w
    )
    guided[f"w = {w:g}"] = evaluate_samples(images, reference, judge, cfg.evaluation)
    pred = classifier_features(judge, images).probs.argmax(1)
    hits[f"w = {w:g}"] = {
        "hit rate": f"{float((pred == requested).double().mean()):.1%}",
        "ms/img": f"{1000 * sec:.0f}",
    }
print(f"flow matching, {cfg.guidance_steps} Euler steps per image\n")
print(metrics_table(guided, hits))
best_w = max(hits, key=lambda k: float(hits[k]["hit rate"].rstrip("%")))
glue("diff_cfg_best_w", best_w)
glue("diff_cfg_best_hit", hits[best_w]["hit rate"])
glue("diff_cfg_w0_hit", hits["w = 0"]["hit rate"])
fig, axes = plt.subplots(1, 2, figsize=(10, 2.4))
for ax, w in zip(axes, (0.0, cfg.guidance[-1]), strict=True):
    images, _ = sample_unet(
        "flow", cfg.guidance_steps, 20, seed=6, labels=torch.arange(20) % 10, weight=w
    )
    show_images(images, nrow=10, ax=ax, title=f"digits 0-9, w = {w:g}")
plt.show()

# %% [markdown]
# Without guidance ($w = 0$) the requested digit was hit {glue:text}`diff_cfg_w0_hit` of the
# time; the best weight in this sweep, {glue:text}`diff_cfg_best_w`, reached
# {glue:text}`diff_cfg_best_hit`. Read the FID and recall columns too: as $w$ grows the samples
# become cleaner, thicker, more prototypical digits and less varied, and FID, which rewards
# matching the real variety, rose with every step of $w$ in this sweep. Note also the first row:
# told the digit and not guided, the flow model's FID is about that of real images, since it no
# longer has to get the class proportions right by itself. Image generators expose $w$ as the "guidance
# scale" (with the convention $1 + w$; 7.5 is Stable Diffusion's default).
#
# ## 8. All the models on one table
#
# The case study trained a DCGAN and a VAE for 30 seconds each. Here are they again (the DCGAN
# trained here with the case study's recipe, once per seed; the VAE is the shipped one, the case
# study's recipe trained for about as long), next to this chapter's models, on
# {glue:text}`diff_n_compare` images per row, {glue:text}`diff_compare_steps` sampler steps for the
# UNets.

# %% tags=["nbval-ignore-output"]
glue("diff_n_compare", f"{cfg.n_compare:,}")
glue("diff_compare_steps", str(cfg.compare_steps))
x_signed = to_signed(train.images)
gan_fids, gan_rows, gan_images = [], {}, {}
for seed in cfg.seeds:
    torch.manual_seed(seed)
    G, D = DCGANGenerator(cfg.dcgan), DCGANDiscriminator(cfg.dcgan)
    result = train_gan(G, D, x_signed, replace(cfg.gan, seed=seed, device=str(device)))
    t0 = time.perf_counter()
    with torch.no_grad():
        x = result.ema_generator.sample(
            cfg.n_compare, generator=torch.Generator().manual_seed(seed)
        )
    gan_images[seed] = from_signed(x).cpu()
    gan_rows[seed] = (result.seconds, (time.perf_counter() - t0) / cfg.n_compare)
    gan_fids.append(
        evaluate_samples(gan_images[seed], reference, judge, cfg.evaluation)
    )

compare = {"real vs real": real_row(cfg.n_compare)}
extra = {"real vs real": {"train s": "-", "ms/img": "-"}}
best_gan_seed = min(range(len(cfg.seeds)), key=lambda i: gan_fids[i].fid)
compare["DCGAN (best seed)"] = gan_fids[best_gan_seed]
extra["DCGAN (best seed)"] = {
    "train s": f"{gan_rows[cfg.seeds[best_gan_seed]][0]:.0f}",
    "ms/img": f"{1000 * gan_rows[cfg.seeds[best_gan_seed]][1]:.2f}",
}
vae_images, vae_sec = prior_samples(cfg.n_compare, 7)
compare["VAE"] = evaluate_samples(vae_images, reference, judge, cfg.evaluation)
extra["VAE"] = {
    "train s": f"{vae_p.meta['seconds']:.0f}",
    "ms/img": f"{1000 * vae_sec:.2f}",
}
lat_images, lat_sec = latent_samples(cfg.n_compare, 8)
compare["VAE + latent flow"] = evaluate_samples(
    lat_images, reference, judge, cfg.evaluation
)
extra["VAE + latent flow"] = {
    "train s": f"{vae_p.meta['seconds'] + latent.seconds:.0f}",
    "ms/img": f"{1000 * lat_sec:.2f}",
}
unet_images = {}
for name, sampler, key in (
    (f"DDIM {cfg.compare_steps} steps", "ddim", "mnist_eps_unet"),
    (f"flow {cfg.compare_steps} steps", "flow", "mnist_flow_matching_unet"),
):
    unet_images[name], sec = sample_unet(
        sampler, cfg.compare_steps, cfg.n_compare, seed=9
    )
    compare[name] = evaluate_samples(
        unet_images[name], reference, judge, cfg.evaluation
    )
    extra[name] = {
        "train s": f"{shipped[key].meta['seconds']:.0f}",
        "ms/img": f"{1000 * sec:.1f}",
    }
name = f"flow {cfg.compare_steps} steps, labels 0-9"
unet_images[name], sec = sample_unet(
    "flow",
    cfg.compare_steps,
    cfg.n_compare,
    seed=9,
    labels=torch.arange(cfg.n_compare) % 10,
)
compare[name] = evaluate_samples(unet_images[name], reference, judge, cfg.evaluation)
extra[name] = {
    "train s": f"{shipped['mnist_flow_matching_unet'].meta['seconds']:.0f}",
    "ms/img": f"{1000 * sec:.1f}",
}
print(metrics_table(compare, extra))
fids = [m.fid for m in gan_fids]
print(
    f"\nDCGAN FID over seeds {cfg.seeds}: "
    + ", ".join(f"{f:.1f}" for f in fids)
    + f" (mean {mean_std(fids)[0]:.1f} ± {mean_std(fids)[1]:.1f})"
)
flow_name = f"flow {cfg.compare_steps} steps"
glue("diff_cmp_flow_fid", compare[flow_name].fid)
glue("diff_cmp_cond_fid", compare[f"{flow_name}, labels 0-9"].fid)
glue("diff_cmp_real_fid", compare["real vs real"].fid)
glue("diff_cmp_gan_fid_min", min(fids))
glue("diff_cmp_gan_fid_max", max(fids))
glue("diff_cmp_flow_ms", float(extra[flow_name]["ms/img"]))
glue("diff_cmp_gan_ms", float(extra["DCGAN (best seed)"]["ms/img"]))

# %% tags=["remove-cell"]
# Test (full mode): the flow model's FID beats the best GAN seed's (the quality
# bar); in quick mode (200 images, 10 steps) only that it beats an untrained-level FID.
if not aigc_course.quick_mode():
    assert compare[flow_name].fid < min(fids), (compare[flow_name].fid, fids)
assert compare[flow_name].fid < 300, compare[flow_name].fid

# %% [markdown]
# Sampled unconditionally, the flow-matching UNet reached FID {glue:text}`diff_cmp_flow_fid:.1f`,
# against {glue:text}`diff_cmp_gan_fid_min:.1f`–{glue:text}`diff_cmp_gan_fid_max:.1f` for the DCGAN
# across seeds. Told which digit to draw (the last row: the labels 0 to 9 in turn, no guidance),
# it reached {glue:text}`diff_cmp_cond_fid:.1f`, next to the real-vs-real
# {glue:text}`diff_cmp_real_fid:.1f`; that row has information the others lack (the class
# proportions of the reference are balanced like its labels), so it is not a like-for-like
# comparison. The best *unconditional* row is the small latent flow of section 6, which trained
# for seconds on top of the VAE: in this setting, a good latent space did more than a bigger
# network in pixel space. Nor is the rest a fair race, and the table says so in its
# last two columns: the UNet trained for {glue:text}`diff_unet_minutes:.0f` minutes against the GAN's
# half minute, and it needs {glue:text}`diff_cmp_flow_ms:.0f` ms per image against the GAN's
# {glue:text}`diff_cmp_gan_ms:.2f` ms, because every image costs {glue:text}`diff_compare_steps`
# UNet evaluations. What the comparison does show is how the families *spend* compute: a GAN
# gets its speed from one forward pass and pays with unstable training and dropped modes; a
# diffusion or flow model trains with a plain regression loss, covers the data, and pays at
# sampling time. Distillation methods (consistency models, rectified-flow "reflow") exist to
# cut the steps to a handful; the VAE's latent space, section 6, cuts the cost of each step.
#
# ## 9. Does a real-vs-generated detector catch diffusion samples?
#
# The applications chapter trained a small CNN to tell real test images from generated ones. We
# repeat that with this chapter's samples: detectors trained against the DCGAN's images or
# against the flow model's (half of each set, 8-bit like any image file), each tested on the
# held-out half of *both*, so the off-diagonal cells ask whether a detector trained on one
# family catches the other.

# %% tags=["nbval-ignore-output"]
def fit_detector(images, labels, seed):
    torch.manual_seed(seed)  # the detector's initial weights
    det = LeNetClassifier(ClassifierConfig(num_classes=2))
    run = replace(cfg.detector_train, seed=seed, device=str(device))
    train_classifier(det, images, labels, run)
    return det.cpu()


half = cfg.n_compare // 2
fakes = {"DCGAN": gan_images[cfg.seeds[best_gan_seed]], "flow": unet_images[flow_name]}
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
# ## What to remember
#
# * A diffusion model learns to undo a fixed noising process; the network predicts the noise
#   (equivalently the score) with a plain squared error, at every noise level.
# * DDPM samples with fresh noise at each of many steps; DDIM removes the noise and can skip
#   steps; flow matching learns straight-line velocities and samples well with few Euler steps.
# * Latent diffusion moves the work into an autoencoder's small latent space; classifier-free
#   guidance trades diversity for fidelity to the condition with one number, $w$.
# * Measured on the same data, sample count and metrics, the flow-matching UNet, and even more
#   the latent flow, beat the case study's GAN and VAE; the UNet also trained much longer and
#   samples much more slowly, and the table shows both.
