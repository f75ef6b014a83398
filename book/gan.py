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
# # Generative adversarial networks
#
# The baselines of the Concepts chapter were limited by the *form* of their density: independent pixels,
# or one Gaussian. A {term}`GAN` (生成对抗网络), introduced by Goodfellow et al. in 2014
# {cite:p}`goodfellow2014`, drops the density altogether. (The source article dates GANs to the 1980s;
# they are a 2014 invention, although the idea of learning a generator against a learned critic has older
# relatives.) A {term}`generator` $G$ turns noise $z \sim \mathcal N(0, I)$ into an image $G(z)$, and it
# is trained by a second network, the {term}`discriminator` $D$, that learns to tell training images from
# generated ones. Neither network ever computes a {term}`likelihood <Likelihood>`.
#
# This chapter trains GANs on a 2-D toy problem, where everything can be seen, then on MNIST; shows the two
# classic failure modes; and corrects the loss functions of the source article. Every toy experiment whose
# result we draw a conclusion from runs from several random seeds, and prints its spread.
#
# The chapter's settings (a frozen dataclass; quick mode, `AIGC_QUICK=1`, shrinks the budgets):

# %% tags=["hide-input", "nbval-ignore-output"]
import copy
import math
import time
from dataclasses import dataclass, replace

import aigc_course
import torch
from aigc_course.data import load_mnist, ring_of_gaussians, to_signed
from aigc_course.interactive import figure_frame, frame_player
from aigc_course.losses import generator_loss_nonsaturating, generator_loss_saturating
from aigc_course.metrics import count_modes
from aigc_course.models import (
    DCGANConfig,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGANConfig,
    MLPGenerator,
    ToyDiscriminator,
    ToyGANConfig,
    ToyGenerator,
)
from aigc_course.notebook import glue, show_settings
from aigc_course.train import GANTrainConfig, train_gan
from aigc_course.train.gan import discriminator_step, generator_step
from aigc_course.viz import plot_curves, plot_toy_2d, show_image_rows
from matplotlib.figure import Figure


@dataclass(frozen=True)
class GANChapterConfig:
    ring_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    ring: GANTrainConfig = GANTrainConfig(
        steps=3000,
        batch_size=256,
        lr_d=1e-3,
        lr_g=1e-3,
        betas=(0.5, 0.9),
        n_fixed=2000,
        snapshot_every=250,  # samples from the fixed noise for the mode counts
        progress=False,
    )
    frame_every: int = 500  # steps between the pictures of D in section 2
    collapse_seeds: tuple[int, ...] = (0, 1, 2)  # the collapsing setting of section 3
    collapse_betas: tuple[float, float] = (0.9, 0.999)  # Adam's default momentum
    collapse_lr_g: float = 3e-3  # three times the discriminator's rate
    last_snapshots: int = 4  # mode counts are averaged over this many last snapshots
    article_steps: int = 1000  # ring steps with the article's discriminator loss
    line_seeds: tuple[int, ...] = (0, 1, 2)
    line_d_steps: int = 300  # discriminator-only steps that make D confident
    line_steps: int = 1000  # alternating steps after that, per loss and optimiser
    line_sgd_lr: float = 0.01
    mlp: GANTrainConfig = GANTrainConfig(
        steps=5000, batch_size=64, snapshot_every=1000, progress=False
    )
    dcgan: GANTrainConfig = GANTrainConfig(
        steps=2500, batch_size=64, snapshot_every=500, progress=False
    )


cfg = GANChapterConfig()
if aigc_course.quick_mode():
    cfg = replace(
        cfg,
        ring_seeds=(0, 1),
        ring=replace(cfg.ring, steps=1500),
        article_steps=500,
        line_seeds=(0, 1),  # line_steps stays: the hidden test checks its outcome
        mlp=replace(cfg.mlp, steps=600, snapshot_every=200),
        dcgan=replace(cfg.dcgan, steps=300, snapshot_every=100),
    )
device = aigc_course.get_device()
cfg = replace(
    cfg,
    mlp=replace(cfg.mlp, device=str(device)),
    dcgan=replace(cfg.dcgan, device=str(device)),
)
show_settings(cfg)

# %% [markdown]
# (gan-two-players)=
# ## 1. Two players
#
# $D(x) = \sigma(\ell(x))$ is the probability, according to the discriminator, that $x$ is a training image;
# $\ell(x)$ is its logit. The two networks play a minimax game on the value function
#
# $$
# \min_G \max_D \; V(D, G) = \E_{x\sim p_\text{data}}[\log D(x)] + \E_{z\sim p_z}[\log(1 - D(G(z)))].
# $$
#
# For a fixed $G$, the best discriminator is $D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_G(x)}$,
# and plugging it in gives $V(D^*, G) = 2\,\mathrm{JSD}(p_\text{data}\,\|\,p_G) - \log 4$: the generator
# minimises the {term}`Jensen-Shannon divergence` between the data and its samples, and the game's equilibrium
# is $p_G = p_\text{data}$ with $D = 1/2$ everywhere {cite:p}`goodfellow2014` (Theorem 1). Both results are
# derived, and checked numerically, in the loss-math chapter ({ref}`lossmath-dstar`).
#
# **The losses.** The discriminator *maximises* $V$, so its loss is $-V$: binary cross-entropy with target 1
# for real images and 0 for generated ones,
#
# $$
# L_D = -\E_x[\log D(x)] - \E_z[\log(1 - D(G(z)))].
# $$
#
# The generator could minimise $V$'s second term, $L_G^\text{minimax} = \E_z[\log(1 - D(G(z)))]$, but
# Goodfellow et al. point out that this "saturates" early in training, and recommend the
# **non-saturating** loss $L_G^\text{NS} = -\E_z[\log D(G(z))]$. Both have the same fixed point: at
# $p_G = p_\text{data}$ the optimal discriminator is the constant $1/2$, so neither loss gives the generator
# a gradient there (section 3 shows where they differ; {ref}`lossmath-ns` derives it). All losses are
# computed from **logits**, using $-\log\sigma(\ell) = \operatorname{softplus}(-\ell)$ and
# $-\log(1-\sigma(\ell)) = \operatorname{softplus}(\ell)$, which stay finite where `log(sigmoid(l))`
# underflows:
#
# ```{literalinclude} ../aigc_course/losses/gan.py
# :pyobject: discriminator_loss
# :start-at: real_term =
# ```
#
# ```{literalinclude} ../aigc_course/losses/gan.py
# :pyobject: generator_loss_nonsaturating
# :start-at: return
# ```
#
# **The algorithm** {cite:p}`goodfellow2014` (Algorithm 1): alternate a discriminator step on a batch of
# real and a batch of generated examples with a generator step on fresh noise. These are the package's
# two updates:
#
# ```{literalinclude} ../aigc_course/train/gan.py
# :pyobject: discriminator_step
# ```
#
# ```{literalinclude} ../aigc_course/train/gan.py
# :pyobject: generator_step
# ```
#
# and one step of `train_gan` is $k$ discriminator updates (`d_steps`, usually 1) followed by one generator
# update (the `y` arguments carry class labels for the conditional GANs of the applications chapter):
#
# ```{literalinclude} ../aigc_course/train/gan.py
# :pyobject: gan_step
# ```
#
# The loop around it adds a fixed noise batch for progress pictures, a history of the losses and of
# $D(x)$, $D(G(z))$, a NaN guard, checkpoints, a time budget and a per-step callback.

# %% [markdown]
# ## 2. A GAN on a ring of Gaussians
#
# The data: 8 Gaussians of standard deviation 0.02 on a circle of radius 2, a standard test bed
# {cite:p}`metz2017`. The generator maps 2-D noise through a small MLP to 2-D points; the discriminator is
# an MLP from 2-D points to a logit. To watch training, we pass `train_gan` an `on_step` callback: after
# every `frame_every` steps it keeps a copy of the discriminator, and the config's `snapshot_every` keeps
# the generator's samples from a fixed batch of noise.

# %% tags=["nbval-ignore-output"]
data_gen = torch.Generator().manual_seed(0)
ring_data, centers = ring_of_gaussians(20_000, generator=data_gen)
RING_STD = 0.02
toy_cfg = ToyGANConfig()

torch.manual_seed(0)  # the networks' initial weights
G, D = ToyGenerator(toy_cfg), ToyDiscriminator(toy_cfg)
frames = []  # (step, a copy of D)


def keep_discriminator(step, state):
    if step % cfg.frame_every == 0:
        frames.append((step, copy.deepcopy(D)))


t0 = time.perf_counter()
ring_result = train_gan(
    G, D, ring_data, replace(cfg.ring, seed=0), on_step=keep_discriminator
)
print(f"{cfg.ring.steps} steps in {time.perf_counter() - t0:.1f} s")
samples_at = dict(ring_result.snapshots)
fig, axes = plt.subplots(1, len(frames), figsize=(2.3 * len(frames), 2.5))
for ax, (step, D_frame) in zip(axes, frames, strict=True):
    cov = count_modes(samples_at[step], centers, RING_STD)
    title = f"step {step}: {cov.n_covered}/8 modes"
    plot_toy_2d(ring_data[:2000], samples_at[step], D_frame, ax=ax, title=title)
fig.suptitle(
    "samples (orange) over D's probability 'real' (red: fake, white: 1/2, blue: real)",
    fontsize=10,
)
plt.show()

# %% [markdown]
# The same run as a replay you can step through (it plays in the published book as well: the
# frames are this run's snapshots, drawn here and stored with the page):

# %% tags=["nbval-ignore-output"]
replay, replay_captions = [], []
for step, D_frame in frames:
    snapshot = Figure(figsize=(3, 3))
    plot_toy_2d(ring_data[:2000], samples_at[step], D_frame, ax=snapshot.subplots())
    covered = count_modes(samples_at[step], centers, RING_STD).n_covered
    replay.append(figure_frame(snapshot))
    replay_captions.append(f"step {step}: {covered} of 8 modes covered")
frame_player(
    replay,
    replay_captions,
    name="gan-ring-replay",
    scale=1,
    interval_ms=700,
    caption="The ring GAN's training, replayed from this run's snapshots: samples"
    " (orange) over the discriminator's belief D(x) (blue: real, red: fake).",
)

# %% [markdown]
# The background is the discriminator's opinion, $D(x)$: red where it says "fake", white where it says
# $1/2$, blue where it says "real". Where the generator puts samples but there are no data, the
# discriminator learns to say "fake"; where there are data but no samples, it says "real" ($D^* \to 1$ in
# section 1's formula), and the generator's samples move up that gradient towards the uncovered data, which
# makes the discriminator redraw its map, and so on. Far from both, the loss does not constrain $D$ at all:
# the red there is the network's extrapolation. Once the samples sit on a mode, the mode shows up white, not blue: where generated and real
# points overlap the discriminator cannot tell them apart, and $D^* = 1/2$ there, as the theory predicts.
#
# We measure success by counting modes: a sample is *high quality* if it lies within 3 standard deviations
# of a centre {cite:p}`srivastava2017`, and a mode is *covered* if at least 1% of 2,000 samples are
# high-quality samples of that mode (a threshold in the spirit of {cite:t}`lin2018`, who use 20 of 2,500).
# Report both numbers: a generator can touch every mode and still put most of its samples between them.

# %% tags=["nbval-ignore-output"]
def mode_coverage(result, last=cfg.last_snapshots):
    """Mean modes covered and mean high-quality fraction over the last snapshots."""
    covs = [count_modes(s, centers, RING_STD) for _, s in result.snapshots[-last:]]
    n_modes = sum(c.n_covered for c in covs) / len(covs)
    return n_modes, sum(c.high_quality_fraction for c in covs) / len(covs)


counts = [
    count_modes(s, centers, RING_STD).n_covered for _, s in ring_result.snapshots[1:]
]
final = count_modes(ring_result.snapshots[-1][1], centers, RING_STD)
print("modes covered at each snapshot:", counts)
print(
    f"after {cfg.ring.steps} steps: {final.n_covered} of 8 modes covered,",
    f"{final.high_quality_fraction:.0%} of samples within 3 std of a centre",
)
print("high-quality samples per mode:", final.counts.tolist())

# %% [markdown]
# The count moves from snapshot to snapshot: GAN training does not settle on a fixed point here; the two
# networks keep chasing each other. A single snapshot is therefore a noisy measurement, and from now on we
# report the mean over the last `last_snapshots` snapshots, and over several seeds.
#
# `````{exercise-start}
# :label: ex-gan-modes
# `````
#
# Write `my_count_modes(samples, centers, std)`: the number of centres that have at least 1% of the samples
# within `3 * std` of them (count each sample for its nearest centre only).
#
# `````{exercise-end}
# `````

# %%
from aigc_course.exercises import (
    check_count_modes,
    check_discriminator_loss,
    check_gradient_prediction,
    check_nonsaturating_loss,
)


def my_count_modes(samples, centers, std):
    raise NotImplementedError


check_count_modes(my_count_modes)

# %% [markdown]
# `````{solution-start} ex-gan-modes
# :class: dropdown
# `````

# %%
def my_count_modes(samples, centers, std):
    dist = torch.cdist(samples, centers)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)
    close = nearest_dist <= 3 * std
    counts = torch.bincount(nearest[close], minlength=len(centers))
    return int((counts >= 0.01 * len(samples)).sum())


check_count_modes(my_count_modes)

# %% [markdown]
# `````{solution-end}
# `````

# %% [markdown]
# (gan-failures)=
# ## 3. Failure modes, shown
#
# ### Mode collapse (模式坍缩)
#
# Nothing in the GAN objective, as optimised step by step, forces the generator to cover *all* of the data.
# If it finds a region the discriminator currently accepts, it can put all its samples there; the
# discriminator then rejects that region, and the generator hops to another:
# {term}`mode collapse <Mode collapse>`. The same settings as above, started from different random seeds
# (seed 0 is the run above):

# %% tags=["nbval-ignore-output"]
def train_ring(seed, **changes):
    """A fresh toy GAN trained on the ring; changes override fields of cfg.ring."""
    torch.manual_seed(seed)  # the networks' initial weights
    G, D = ToyGenerator(toy_cfg), ToyDiscriminator(toy_cfg)
    return train_gan(G, D, ring_data, replace(cfg.ring, seed=seed, **changes))


ns_runs = {0: ring_result}
for seed in cfg.ring_seeds[1:]:
    ns_runs[seed] = train_ring(seed)
ns_cov = {seed: mode_coverage(res) for seed, res in ns_runs.items()}
for seed, (n_modes, quality) in ns_cov.items():
    print(
        f"seed {seed}: {n_modes:.2f} of 8 modes, {quality:.0%} high-quality samples",
        f"(mean of the last {cfg.last_snapshots} snapshots)",
    )
ns_modes = torch.tensor([m for m, _ in ns_cov.values()])
ns_quality = torch.tensor([q for _, q in ns_cov.values()])
print(
    f"over {len(ns_runs)} seeds: modes {ns_modes.mean():.2f} +- {ns_modes.std():.2f}",
    f"(min {ns_modes.min():.2f}, max {ns_modes.max():.2f}),",
    f"high-quality {ns_quality.mean():.0%} (min {ns_quality.min():.0%},",
    f"max {ns_quality.max():.0%})",
)
glue("gan_ns_modes_mean", ns_modes.mean().item())
glue("gan_ns_modes_std", ns_modes.std().item())
glue("gan_ns_modes_min", ns_modes.min().item())
glue("gan_ns_modes_max", ns_modes.max().item())
glue("gan_ns_quality_min", 100 * ns_quality.min().item())
glue("gan_ns_quality_max", 100 * ns_quality.max().item())
glue("gan_n_ring_seeds", len(ns_runs))
fig, axes = plt.subplots(1, len(ns_runs), figsize=(2.3 * len(ns_runs), 2.5))
for ax, (seed, res) in zip(axes, ns_runs.items(), strict=True):
    cov = count_modes(res.snapshots[-1][1], centers, RING_STD)
    title = f"seed {seed}: {cov.n_covered}/8"
    plot_toy_2d(ring_data[:2000], res.snapshots[-1][1], ax=ax, title=title)
plt.show()

# %% [markdown]
# Over {glue:text}`gan_n_ring_seeds` seeds the generator covers
# {glue:text}`gan_ns_modes_mean:.1f` $\pm$ {glue:text}`gan_ns_modes_std:.1f` of the 8 modes (from
# {glue:text}`gan_ns_modes_min:.1f` to {glue:text}`gan_ns_modes_max:.1f`), and only
# {glue:text}`gan_ns_quality_min:.0f`-{glue:text}`gan_ns_quality_max:.0f`% of its samples are high-quality
# samples. Look at where the rest are: on the arcs *between* the modes. This is not a failure of one run
# but a property of the model. $G$ is a continuous function, and the Gaussian noise it transforms fills a
# connected space, so its samples also form one connected set: a generator cannot jump from one mode to the
# next without putting some mass on the bridge between them. When a seed covers fewer modes, look at its
# picture: in our runs such seeds had not collapsed onto a few points, they had dropped a mode or two and
# strung their samples along the arcs between the others.
#
# A complete collapse needs only a small change of settings. Below, the generator learns three times
# faster than the discriminator (rate {glue:text}`gan_collapse_lr_g` against 0.001) and both use Adam's
# default momentum $\beta_1 = 0.9$ instead of 0.5; everything else is as above, on
# {glue:text}`gan_collapse_n_seeds` seeds. To measure a collapse we add one number to the mode count:
# the *spread* of the samples, the root-mean-square distance from their mean (about 2 for the ring,
# whose radius is 2; near 0 when all samples sit in one clump):

# %% tags=["nbval-ignore-output"]
collapse_runs = {
    seed: train_ring(seed, betas=cfg.collapse_betas, lr_g=cfg.collapse_lr_g)
    for seed in cfg.collapse_seeds
}


def spread(samples):
    """Root-mean-square distance of the samples from their mean."""
    return (samples - samples.mean(0)).pow(2).sum(1).mean().sqrt().item()


def last_spreads(runs):
    return torch.tensor([spread(r.snapshots[-1][1]) for r in runs.values()])


collapse_modes = torch.tensor([mode_coverage(r)[0] for r in collapse_runs.values()])
collapse_spread, ns_spread = last_spreads(collapse_runs), last_spreads(ns_runs)
for seed, res in collapse_runs.items():
    n_modes, quality = mode_coverage(res)
    print(
        f"seed {seed}: {n_modes:.2f} of 8 modes, {quality:.0%} high-quality,",
        f"spread {spread(res.snapshots[-1][1]):.2f}",
    )
print(
    f"over {len(collapse_runs)} seeds: modes {collapse_modes.mean():.2f}",
    f"+- {collapse_modes.std():.2f} (max {collapse_modes.max():.2f}),",
    f"spread {collapse_spread.mean():.2f} +- {collapse_spread.std():.2f}",
    f"(max {collapse_spread.max():.2f});",
    f"the settings above: spread {ns_spread.mean():.2f} +- {ns_spread.std():.2f}",
)
glue("gan_collapse_lr_g", f"{cfg.collapse_lr_g:g}")
glue("gan_collapse_n_seeds", len(collapse_runs))
glue("gan_collapse_modes_mean", collapse_modes.mean().item())
glue("gan_collapse_modes_std", collapse_modes.std().item())
glue("gan_collapse_modes_max", collapse_modes.max().item())
glue("gan_collapse_spread_mean", collapse_spread.mean().item())
glue("gan_collapse_spread_std", collapse_spread.std().item())
glue("gan_collapse_spread_max", collapse_spread.max().item())
glue("gan_ns_spread_mean", ns_spread.mean().item())
glue("gan_ns_spread_std", ns_spread.std().item())
fig, axes = plt.subplots(1, len(collapse_runs), figsize=(2.3 * len(collapse_runs), 2.5))
for ax, (seed, res) in zip(axes, collapse_runs.items(), strict=True):
    cov = count_modes(res.snapshots[-1][1], centers, RING_STD)
    title = f"seed {seed}: {cov.n_covered}/8"
    plot_toy_2d(ring_data[:2000], res.snapshots[-1][1], ax=ax, title=title)
plt.show()

# %% [markdown]
# With these settings the generator covers {glue:text}`gan_collapse_modes_mean:.1f` $\pm$
# {glue:text}`gan_collapse_modes_std:.1f` of the 8 modes (at most
# {glue:text}`gan_collapse_modes_max:.1f` on any seed, mean of the last snapshots), and the spread of
# its last samples is {glue:text}`gan_collapse_spread_mean:.2f` $\pm$
# {glue:text}`gan_collapse_spread_std:.2f` (at most {glue:text}`gan_collapse_spread_max:.2f`),
# against {glue:text}`gan_ns_spread_mean:.2f` $\pm$ {glue:text}`gan_ns_spread_std:.2f` for the runs
# above. Compare the two spreads before reading the pictures: a spread far below 2 is a collapse, every
# sample in one small region, whatever that region is. Where the clump sits depends on the seed and on
# the moment of the snapshot (look at the pictures); it need not sit on a mode, which is why the mode
# count alone can read 0 both for a clump and for samples scattered everywhere off the ring. The usual
# explanation is the hopping described above: the fast generator moves its whole batch towards wherever
# the discriminator currently says "real", the discriminator follows, and the clump moves on.
#
# Remedies studied in the literature include minibatch
# discrimination {cite:p}`salimans2016`, unrolled discriminators {cite:p}`metz2017` and packing several
# samples into one discriminator input {cite:p}`lin2018`. VAEs, which are trained to explain *every*
# training example, do not collapse this way; the loss-math chapter explains why in terms of the two
# directions of the KL divergence ({ref}`lossmath-ns`).
#
# (gan-vanishing)=
# ### The vanishing gradient of the minimax loss
#
# Early in training the generator is poor and the discriminator rejects its samples confidently:
# $D(G(z)) \approx 0$, a very negative logit $\ell$. What gradient does the generator then receive?
# Differentiate each generator loss with respect to the logit:
#
# $$
# \begin{gathered}
# \frac{\partial}{\partial \ell}\log(1 - \sigma(\ell)) = -\sigma(\ell) \xrightarrow[\ell\to-\infty]{} 0, \\
# \frac{\partial}{\partial \ell}\bigl(-\log\sigma(\ell)\bigr) = -(1 - \sigma(\ell))
# \xrightarrow[\ell\to-\infty]{} -1.
# \end{gathered}
# $$
#
# Autograd through the package's losses agrees:

# %%
logits = torch.linspace(-10, 10, 201, requires_grad=True)
n = len(logits)  # the losses are batch means: scale back to per-sample gradients
(grad_sat,) = torch.autograd.grad(generator_loss_saturating(logits) * n, logits)
(grad_ns,) = torch.autograd.grad(generator_loss_nonsaturating(logits) * n, logits)
d_of_g = torch.sigmoid(logits.detach())
for target in (1e-4, 1e-2, 0.5):
    i = int((d_of_g - target).abs().argmin())
    print(
        f"D(G(z)) = {d_of_g[i]:.4f}:  |dL/dl| minimax = {grad_sat[i].abs():.4f},",
        f"non-saturating = {grad_ns[i].abs():.4f}",
    )

# %% tags=["hide-input"]
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(d_of_g, grad_sat.abs(), label=r"minimax  $\log(1-D(G(z)))$")
ax.plot(d_of_g, grad_ns.abs(), label=r"non-saturating  $-\log D(G(z))$")
ax.set(
    xscale="log",
    xlabel="D(G(z)) (discriminator's belief that a fake is real)",
    ylabel="|dL_G / d logit|",
    title="generator gradient per sample",
)
ax.axvspan(d_of_g.min(), 0.01, color="grey", alpha=0.15)
ax.text(1.5e-4, 0.5, "D confidently\nrejects fakes", fontsize=8)
ax.legend(frameon=False)
ax.grid(alpha=0.3)
plt.show()

# %% [markdown]
# Where the generator most needs a signal (left of the plot) the minimax loss gives almost none. To see it on
# real networks, put the generator far from the data and let the discriminator win first: data from two
# Gaussians at $x = 6$ and $x = 10$, a 1-D generator whose first samples sit near 0, and `line_d_steps`
# discriminator steps with the generator frozen. Then measure the gradient each generator loss sends to the
# generator's weights:

# %% tags=["nbval-ignore-output"]
from aigc_course.data import two_gaussians_1d

line_data, _ = two_gaussians_1d(
    10_000, means=(6.0, 10.0), std=0.5, generator=torch.Generator().manual_seed(0)
)
line_cfg = ToyGANConfig(latent_dim=1, data_dim=1)


def d_step(G, D, opt_d, gen):
    """One discriminator update on a real batch and fresh noise."""
    real = line_data[torch.randint(len(line_data), (256,), generator=gen)]
    discriminator_step(G, D, opt_d, real, torch.randn(256, 1, generator=gen))


def confident_discriminator(seed):
    """A fresh 1-D generator, and a discriminator trained alone against it."""
    torch.manual_seed(seed)
    G, D = ToyGenerator(line_cfg), ToyDiscriminator(line_cfg)
    gen = torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    for _ in range(cfg.line_d_steps):  # the discriminator alone: G is frozen
        d_step(G, D, opt_d, gen)
    return G, D


G_line, D_line = confident_discriminator(0)
z = torch.randn(256, 1, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    mean_d_fake = torch.sigmoid(D_line(G_line(z))).mean()
print(f"after {cfg.line_d_steps} D steps: mean D(G(z)) = {mean_d_fake:.2e}")
for name, loss_fn in (
    ("minimax", generator_loss_saturating),
    ("non-saturating", generator_loss_nonsaturating),
):
    G_line.zero_grad()
    loss_fn(D_line(G_line(z))).backward()
    norm = torch.sqrt(sum((p.grad**2).sum() for p in G_line.parameters()))
    print(f"{name:15s} loss: |grad wrt G's weights| = {norm:.2e}")

# %% [markdown]
# The minimax gradient is smaller by many orders of magnitude. Does that stop training? It depends on the
# optimiser. Plain gradient descent (SGD) moves the weights by the learning rate times the gradient, so a
# tiny gradient means a tiny step. Adam, which this course uses everywhere, divides every update by a running
# estimate of the gradient's own scale, so a uniformly tiny gradient still produces steps of normal size
# (until it falls below Adam's $\epsilon = 10^{-8}$). Starting from this confident discriminator, train
# both players for `line_steps` more steps, with each generator loss and each optimiser for the generator
# (the discriminator keeps its Adam), from several seeds, and count the generated samples that reach the
# data (within 1.5 of a mode):

# %% tags=["nbval-ignore-output"]
def near_data(G, gen):
    """Fraction of 2,000 generated samples within 1.5 of a data mode (6 or 10)."""
    with torch.no_grad():
        x = G(torch.randn(2000, 1, generator=gen)).view(-1)
    return ((x - 6).abs().lt(1.5) | (x - 10).abs().lt(1.5)).float().mean().item()


def continue_training(G, D, loss_fn, optimiser, seed):
    """Alternate D and G steps from copies of (G, D); return the final near_data."""
    G, D = copy.deepcopy(G), copy.deepcopy(D)
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    if optimiser == "Adam":
        opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
    else:
        opt_g = torch.optim.SGD(G.parameters(), lr=cfg.line_sgd_lr)
    gen = torch.Generator().manual_seed(100 + seed)
    for _ in range(cfg.line_steps):
        d_step(G, D, opt_d, gen)
        z = torch.randn(256, 1, generator=gen)
        generator_step(G, D, opt_g, z, loss=loss_fn)
    return near_data(G, gen)


line_losses = {
    "minimax": generator_loss_saturating,
    "non-saturating": generator_loss_nonsaturating,
}
reached = {}  # (loss, optimiser) -> fraction near the data, one per seed
t0 = time.perf_counter()
for seed in cfg.line_seeds:
    G0, D0 = confident_discriminator(seed)
    for opt in ("Adam", "SGD"):
        for loss_name, loss_fn in line_losses.items():
            frac = continue_training(G0, D0, loss_fn, opt, seed)
            reached.setdefault((loss_name, opt), []).append(frac)
print(f"{len(cfg.line_seeds)} seeds x 4 runs in {time.perf_counter() - t0:.0f} s")
print(f"{'generator loss':15s} {'optimiser':9s} samples near the data, per seed")
for (loss_name, opt), fracs in reached.items():
    per_seed = ", ".join(f"{f:.0%}" for f in fracs)
    print(f"{loss_name:15s} {opt:9s} {per_seed}")
    key = f"gan_line_{loss_name[:2]}_{opt.lower()}"  # e.g. gan_line_mi_sgd
    glue(f"{key}_min", 100 * min(fracs))
    glue(f"{key}_max", 100 * max(fracs))
    lo, hi = round(100 * min(fracs)), round(100 * max(fracs))
    glue(f"{key}_range", f"{lo} %" if lo == hi else f"{lo}-{hi} %")

# %% [markdown]
# With SGD, the minimax generator stays where it started: only {glue:text}`gan_line_mi_sgd_range` of
# its samples reach the data (the range over the seeds), while the non-saturating one brings
# {glue:text}`gan_line_no_sgd_range` there. With Adam, the minimax generator does move:
# {glue:text}`gan_line_mi_adam_range` of its samples reach the data, against
# {glue:text}`gan_line_no_adam_range` for the non-saturating loss. Adam's rescaling turns the tiny
# gradient into steps of normal size; compare
# the two ranges to see how much of the gap it closes, and on how many seeds. So "the minimax loss fails"
# is true for plain gradient descent; with Adam it is slower or less reliable rather than stuck.
#
# On the ring the discriminator is never that confident: in the first 200 steps of the runs below, the mean
# $D(G(z))$ stays near $1/2$, so the minimax gradient, $D(G(z))$ per sample, is not small to begin with. Same
# ring, same Adam, both generator losses, the same seeds:

# %% tags=["nbval-ignore-output"]
mm_runs = {seed: train_ring(seed, generator_loss="saturating") for seed in ns_runs}
mm_modes = torch.tensor([mode_coverage(res)[0] for res in mm_runs.values()])


def early_d_fake(res):
    return sum(res.history["d_fake"][:200]) / 200


for name, runs, modes in (
    ("non-saturating", ns_runs, ns_modes),
    ("minimax", mm_runs, mm_modes),
):
    early = torch.tensor([early_d_fake(res) for res in runs.values()])
    print(
        f"{name:15s} modes {modes.mean():.2f} +- {modes.std():.2f}",
        f"(min {modes.min():.2f}, max {modes.max():.2f});",
        f"mean D(G(z)) over the first 200 steps {early.min():.2f}-{early.max():.2f}",
    )
glue("gan_mm_modes_mean", mm_modes.mean().item())
glue("gan_mm_modes_std", mm_modes.std().item())
glue("gan_mm_ns_diff", abs(mm_modes.mean() - ns_modes.mean()).item())
fig, axes = plt.subplots(
    1, 3, figsize=(10, 2.8), gridspec_kw={"width_ratios": [1, 1, 1.8]}
)
for ax, (name, res) in zip(
    axes, (("non-saturating", ns_runs[0]), ("minimax", mm_runs[0])), strict=False
):
    cov = count_modes(res.snapshots[-1][1], centers, RING_STD)
    title = f"{name}, seed 0: {cov.n_covered}/8"
    plot_toy_2d(ring_data[:2000], res.snapshots[-1][1], ax=ax, title=title)
plot_curves(
    {
        "D(G(z)) non-saturating": ns_runs[0].history["d_fake"],
        "D(G(z)) minimax": mm_runs[0].history["d_fake"],
    },
    ylabel="D(G(z)), seed 0",
    smooth=25,
    ax=axes[2],
)
fig.tight_layout()
plt.show()

# %% [markdown]
# With Adam on the ring the two losses cover {glue:text}`gan_ns_modes_mean:.1f` $\pm$
# {glue:text}`gan_ns_modes_std:.1f` (non-saturating) and {glue:text}`gan_mm_modes_mean:.1f` $\pm$
# {glue:text}`gan_mm_modes_std:.1f` (minimax) modes: compare the difference of the means,
# {glue:text}`gan_mm_ns_diff:.1f`, with the spreads before calling either loss better on this problem.
# The non-saturating loss remains the safe default: it costs nothing, it keeps the generator learning with
# any optimiser when the discriminator wins, and with plain SGD it is the difference between learning and
# not moving at all.

# %% tags=["remove-cell"]
# Test, on every seed: with SGD, the minimax generator facing a confident D leaves
# (almost) no samples near the data (its gradient is ~1e-7: at lr 0.01 for 1,000 steps
# the weights cannot move), while the non-saturating one brings most of them there.
assert max(reached[("minimax", "SGD")]) < 0.05, reached
assert min(reached[("non-saturating", "SGD")]) > 0.5, reached

# %% [markdown]
# `````{exercise-start}
# :label: ex-gan-gradient
# `````
#
# Predict, before running anything: for a single generated sample with $D(G(z)) = 0.001$, what is the
# magnitude of the gradient of each generator loss with respect to the discriminator's logit $\ell$?
# Answer with a pair `(minimax, non_saturating)`.
#
# `````{exercise-end}
# `````

# %%
check_gradient_prediction((0.0, 0.0))  # replace with your prediction

# %% [markdown]
# `````{solution-start} ex-gan-gradient
# :class: dropdown
# `````
#
# $|\partial_\ell \log(1-\sigma(\ell))| = \sigma(\ell) = D(G(z))$ and
# $|\partial_\ell \log\sigma(\ell)| = 1 - D(G(z))$:

# %%
check_gradient_prediction((0.001, 0.999))

# %% [markdown]
# `````{solution-end}
# `````
#
# `````{exercise-start}
# :label: ex-gan-ns-loss
# `````
#
# Implement the non-saturating generator loss from the discriminator's logits on generated samples,
# averaged over the batch. It must stay finite when the discriminator is certain (logits of $-200$).
#
# `````{exercise-end}
# `````

# %%
def my_generator_loss(fake_logits):
    raise NotImplementedError


check_nonsaturating_loss(my_generator_loss)

# %% [markdown]
# `````{solution-start} ex-gan-ns-loss
# :class: dropdown
# `````

# %%
import torch.nn.functional as F


def my_generator_loss(fake_logits):
    return F.softplus(-fake_logits).mean()  # -log sigmoid(l), computed stably


check_nonsaturating_loss(my_generator_loss)

# %% [markdown]
# `````{solution-end}
# `````

# %% [markdown]
# ## 4. MNIST
#
# Two generator/discriminator pairs. Both generators end in $\tanh$, so the real images are scaled to
# $[-1, 1]$; both discriminators output a logit:
#
# * a **fully connected** pair. The source article's generator went $100 \to 128 \to 64 \to 784$: a
#   64-unit bottleneck just before the image, and no working discriminator. Ours widens as it goes
#   ($100\to256\to512\to1024\to784$, batch norm) and its discriminator mirrors it with LeakyReLU;
# * a **DCGAN** pair {cite:p}`radford2016`: transposed convolutions $7\times7 \to 14\times14 \to 28\times28$
#   in the generator, strided convolutions in the discriminator, batch norm, and weights initialised from
#   $\mathcal N(0, 0.02^2)$ (standard deviation 0.02).
#
# ```{literalinclude} ../aigc_course/models/gan.py
# :pyobject: DCGANGenerator.__init__
# ```
#
# Both train with Adam, learning rate $2\cdot10^{-4}$, $\beta_1 = 0.5$ (the DCGAN settings). The data
# loader says below which images it found: without a network and without the full data set it falls back
# to 5,000 real training images, and the runs below then see each image many times.

# %% tags=["nbval-ignore-output"]
mnist = load_mnist("train")
x_train = to_signed(mnist.images)
print(
    "training images:",
    tuple(x_train.shape),
    f"range [{x_train.min():.0f}, {x_train.max():.0f}]",
)

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
mlp_G, mlp_D = MLPGenerator(MLPGANConfig()), MLPDiscriminator(MLPGANConfig())
t0 = time.perf_counter()
mlp = train_gan(mlp_G, mlp_D, x_train, cfg.mlp)
seconds = time.perf_counter() - t0
print(f"fully connected GAN: {cfg.mlp.steps} steps in {seconds:.0f} s on {device}")
show_image_rows(
    {f"step {s}": img[:16] for s, img in mlp.snapshots[1:]}, nrow=16, width=9
)
plt.show()

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
dc_G, dc_D = DCGANGenerator(DCGANConfig()), DCGANDiscriminator(DCGANConfig())
t0 = time.perf_counter()
dcgan = train_gan(dc_G, dc_D, x_train, cfg.dcgan)
seconds = time.perf_counter() - t0
print(f"DCGAN: {cfg.dcgan.steps} steps in {seconds:.0f} s on {device}")
show_image_rows(
    {f"step {s}": img[:16] for s, img in dcgan.snapshots[1:]}, nrow=16, width=9
)
plt.show()

# %% [markdown]
# Each row shows the *same* 16 noise vectors at a later step, so you can watch individual digits form.
# (How good are these samples, in numbers? The case study measures them with a classifier-based FID,
# {doc}`case_study`.) The training curves:

# %% tags=["nbval-ignore-output"]
fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
smooth = max(1, min(cfg.dcgan.steps, cfg.mlp.steps) // 30)
plot_curves(
    {
        "MLP: D loss": mlp.history["d_loss"],
        "MLP: G loss": mlp.history["g_loss"],
        "DCGAN: D loss": dcgan.history["d_loss"],
        "DCGAN: G loss": dcgan.history["g_loss"],
    },
    smooth=smooth,
    ax=axes[0],
    title="losses",
)
plot_curves(
    {
        "MLP: D(x)": mlp.history["d_real"],
        "MLP: D(G(z))": mlp.history["d_fake"],
        "DCGAN: D(x)": dcgan.history["d_real"],
        "DCGAN: D(G(z))": dcgan.history["d_fake"],
    },
    smooth=smooth,
    ylabel="mean probability 'real'",
    ax=axes[1],
    title="the discriminator's beliefs",
)
plt.show()


def last_mean(values, n=200):
    return sum(values[-n:]) / len(values[-n:])


print(f"2 ln 2 = {2 * math.log(2):.2f}: the D loss at the equilibrium D = 1/2")
for name, res in (("MLP", mlp), ("DCGAN", dcgan)):
    d_loss, d_real, d_fake = (
        last_mean(res.history[k]) for k in ("d_loss", "d_real", "d_fake")
    )
    print(
        f"{name:5s}, last 200 steps: D loss {d_loss:.2f},",
        f"D(x) {d_real:.2f}, D(G(z)) {d_fake:.2f}",
    )
    glue(f"gan_{name.lower()}_dloss", d_loss)
    glue(f"gan_{name.lower()}_dreal", d_real)
    glue(f"gan_{name.lower()}_dfake", d_fake)

# %% [markdown]
# GAN losses do not go down like the likelihood of the Concepts chapter: each network's loss depends on the
# other. At the equilibrium of the game $D = 1/2$ everywhere and the D loss is $2\ln 2 \approx 1.39$. These
# two runs (one seed each) end elsewhere: over their last 200 steps the D loss is
# {glue:text}`gan_mlp_dloss:.2f` (MLP) and {glue:text}`gan_dcgan_dloss:.2f` (DCGAN), with $D(x)$ at
# {glue:text}`gan_mlp_dreal:.2f` and {glue:text}`gan_dcgan_dreal:.2f` and $D(G(z))$ at
# {glue:text}`gan_mlp_dfake:.2f` and {glue:text}`gan_dcgan_dfake:.2f`. The discriminator is ahead, but it
# has not won, and the generator keeps learning: what matters is that the D loss does not fall towards 0 with
# $D(G(z)) \to 0$, which would mean the discriminator has won and (with the minimax loss) the generator gets
# no signal. A rising G loss alone is not that: with the non-saturating loss it only says that $D(G(z))$ is
# drifting down. On the 5,000-image offline subset the discriminator sees every training image many times
# and can start to memorise them, which pushes $D(x)$ up; with all 60,000 images this effect should be
# weaker (we have not measured it here).
#
# **Practical tips** (each is a field of `GANTrainConfig`, the model configs, or both):
#
# * Adam with $\beta_1 = 0.5$ and learning rate $2\cdot10^{-4}$ for both networks is the DCGAN default;
#   the larger momentum of $\beta_1 = 0.9$ often oscillates. Different learning rates for D and G (the
#   "two time-scale update rule") can help {cite:p}`heusel2017`.
# * **One-sided label smoothing** (`real_label=0.9`) keeps D from becoming over-confident on real images
#   {cite:p}`salimans2016`; smooth only the real side.
# * **Batch norm** in the generator keeps the activations of early layers well scaled. Try the fully
#   connected generator without it (`MLPGANConfig(batchnorm=False)`, the exercise at the end of this
#   chapter) and compare the variety of its digits.
# * Keep D and G of similar capacity; more D steps per G step (`d_steps`) help only if D lags behind.
# * When the discriminator wins too easily, change the objective rather than the learning rates: the
#   Wasserstein GAN {cite:p}`arjovsky2017wgan` with a gradient penalty {cite:p}`gulrajani2017`, or spectral
#   normalisation of D {cite:p}`miyato2018sn`.
# * Watch the samples from a fixed noise batch, not the losses.
#
# The applications chapter walks through the generator's latent space (interpolation between digits),
# {doc}`applications`.

# %% [markdown]
# (gan-errata)=
# ## 5. Correcting the source article
#
# The article gives
#
# $$
# \begin{gathered}
# L_D^\text{article} = -\E_x[\log D(x)] - \E_z[\log D(G(z))], \\
# L_G^\text{article} = -\E_x[\log D(x)] - \E_z[\log(1 - D(G(z)))].
# \end{gathered}
# $$
#
# * Its $L_D$ has the wrong *target* on the fake term. Binary cross-entropy with label $y$ is
#   $-y\log D - (1-y)\log(1-D)$; generated samples should get label 0, which gives $-\log(1 - D(G(z)))$, and
#   the article's $-\log D(G(z))$ is the term for label 1, "real". Minimising it *rewards* the
#   discriminator for calling generated samples real.
# * Its $L_G$ is the discriminator's (correct) loss, which the generator would have to *maximise*, and its
#   first term does not depend on $G$ at all; the generator minimises $\E_z[\log(1 - D(G(z)))]$ (minimax)
#   or, in practice, $-\E_z[\log D(G(z))]$ (non-saturating).
#
# What does training with the article's discriminator loss do? Same ring, the same seeds:

# %% tags=["nbval-ignore-output"]
art_runs = {
    seed: train_ring(seed, d_loss="article", steps=cfg.article_steps)
    for seed in ns_runs
}
art_real = torch.tensor(
    [last_mean(r.history["d_real"], 100) for r in art_runs.values()]
)
art_fake = torch.tensor(
    [last_mean(r.history["d_fake"], 100) for r in art_runs.values()]
)
art_modes = torch.tensor([mode_coverage(r)[0] for r in art_runs.values()])
print(
    f"article's D loss, {len(art_runs)} seeds, mean of the last 100 steps:",
    f"D(x) {art_real.min():.3f}-{art_real.max():.3f},",
    f"D(G(z)) {art_fake.min():.3f}-{art_fake.max():.3f};",
    f"modes covered {art_modes.min():.2f}-{art_modes.max():.2f}",
)
glue("gan_art_belief_min", min(art_real.min(), art_fake.min()).item())
belief = min(art_real.min(), art_fake.min()).item()
glue("gan_art_belief", "1.000 (saturated)" if belief >= 0.9995 else f"{belief:.3f}")
glue("gan_art_modes_max", art_modes.max().item())
article = art_runs[0]
fig, axes = plt.subplots(1, 2, figsize=(8, 3), gridspec_kw={"width_ratios": [1, 1.8]})
art_cov = count_modes(article.snapshots[-1][1], centers, RING_STD)
plot_toy_2d(
    ring_data[:2000],
    article.snapshots[-1][1],
    article.discriminator,
    ax=axes[0],
    title=f"article's loss, seed 0: {art_cov.n_covered}/8",
)
plot_curves(
    {"D(x)": article.history["d_real"], "D(G(z))": article.history["d_fake"]},
    ylabel="mean probability 'real'",
    ax=axes[1],
    title="the discriminator calls everything real (seed 0)",
)
fig.tight_layout()
plt.show()

# %% tags=["remove-cell"]
# Test, on every seed: the article's discriminator ends up calling both real and
# generated points real (its loss is minimised by D = 1 everywhere; margin: > 0.9).
assert bool((art_real > 0.9).all() and (art_fake > 0.9).all()), (art_real, art_fake)

# %% [markdown]
# On every seed the discriminator quickly learns to answer "real" for everything: over the last 100 steps
# the smallest of its mean $D$ values, on real and on generated points and over the seeds, is
# {glue:text}`gan_art_belief`, which is
# exactly what that loss rewards. A discriminator that says "real" everywhere carries no information about
# where the data are, so the generator's samples are never pulled onto the ring (at most
# {glue:text}`gan_art_modes_max:.1f` modes covered on any seed).
#
# `````{exercise-start}
# :label: ex-gan-d-loss
# `````
#
# Implement the (correct) discriminator loss from the logits on a real batch and on a generated batch (the
# two batches may differ in size). The checker recognises the article's version.
#
# `````{exercise-end}
# `````

# %%
def my_discriminator_loss(real_logits, fake_logits):
    raise NotImplementedError


check_discriminator_loss(my_discriminator_loss)

# %% [markdown]
# `````{solution-start} ex-gan-d-loss
# :class: dropdown
# `````

# %%
def my_discriminator_loss(real_logits, fake_logits):
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


check_discriminator_loss(my_discriminator_loss)

# %% [markdown]
# `````{solution-end}
# `````
#
# `````{exercise-start}
# :label: ex-gan-architecture
# `````
#
# **Change the architecture and predict the effect** (no checker: write your prediction down first). Build
# a fully connected generator like the article's, `MLPGANConfig(hidden=(128, 64), batchnorm=False)`, which
# narrows to 64 units, train it for the same number of steps as above, and compare its samples and its
# $D(G(z))$ curve with those of the default configuration. Then put `batchnorm=True` back and change only
# the widths. Which of the two changes matters more? Two caveats make this a rough comparison: the
# discriminator is built from the same `hidden` widths (reversed), so shrinking the generator shrinks the
# discriminator too (keep the default `MLPDiscriminator(MLPGANConfig())` to change only $G$); and the
# article's generator used ReLU, ours LeakyReLU. Run at least two seeds of each before you conclude.
#
# `````{exercise-end}
# `````
#
# ```{admonition} What you should see
# :class: tip
# Toy experiments, over our seeds (full mode): on the ring the non-saturating GAN covered
# {glue:text}`gan_ns_modes_mean:.1f` $\pm$ {glue:text}`gan_ns_modes_std:.1f` of 8 modes (from
# {glue:text}`gan_ns_modes_min:.1f` to {glue:text}`gan_ns_modes_max:.1f`), with
# {glue:text}`gan_ns_quality_min:.0f`-{glue:text}`gan_ns_quality_max:.0f`% high-quality samples; a run
# anywhere in that range, or a mode away from it, is normal. With SGD and a confident discriminator the
# minimax generator leaves almost no samples near the data, the non-saturating one most; with Adam both
# move ({glue:text}`gan_line_mi_adam_range` of the minimax generator's samples reached the data,
# {glue:text}`gan_line_no_adam_range` of the non-saturating one's). With the collapsing settings of
# section 3 the spread of the samples fell to {glue:text}`gan_collapse_spread_mean:.2f`, against
# {glue:text}`gan_ns_spread_mean:.2f` for the ring runs. The article's discriminator loss drives $D$ above
# 0.9 on everything. The MNIST runs are one seed each: the D loss over their last 200 steps was
# {glue:text}`gan_mlp_dloss:.2f` and {glue:text}`gan_dcgan_dloss:.2f`. Read them against
# $2\ln 2 \approx 1.39$, the loss of a discriminator that cannot tell real from fake (section 4): below
# it the discriminator is ahead, and a loss near 0 means it has won and the generator gets little to
# learn from. Quick mode (`AIGC_QUICK=1`) trains fewer steps on fewer seeds: expect fewer modes, and MNIST
# samples that are still blobs.
# ```
#
# ## Summary
#
# * A GAN trains a generator against a discriminator; at the optimum of the game the generator's
#   distribution equals the data's, and the discriminator outputs $1/2$ everywhere.
# * Compute every GAN loss from logits. The discriminator's loss is binary cross-entropy (real = 1,
#   fake = 0); the generator's practical loss is the non-saturating $-\log D(G(z))$, whose gradient does not
#   vanish when the discriminator wins. With plain SGD that is the difference between learning and standing
#   still; Adam's rescaling hides much of the minimax loss's problem.
# * GAN training does not converge to a fixed point; how many modes a run covers varies from snapshot to
#   snapshot and from seed to seed, and a continuous generator always puts some samples between the modes.
#   Count modes (and high-quality samples) on toy data over several seeds; look at samples from fixed noise
#   on images.
# * The source article's discriminator loss has the wrong target on the fake term: it rewards calling fakes
#   real, and a discriminator trained with it learns nothing.
#
# The works cited are listed on the [References](references.md) page.
