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

# %% [markdown]
# # Generative adversarial networks
#
# The baselines of the Concepts chapter were limited by the *form* of their density: independent pixels,
# or one Gaussian. A {term}`GAN` (生成对抗网络) {cite:p}`goodfellow2014` drops the density altogether.
# A {term}`generator` $G$ turns noise $z \sim \mathcal N(0, I)$ into an image $G(z)$, and it is trained
# by a second network, the {term}`discriminator` $D$, that learns to tell training images from generated
# ones. Neither network ever computes a {term}`likelihood <Likelihood>`.
#
# This chapter trains GANs on a 2-D toy problem, where everything can be seen, then on MNIST; shows the two
# classic failure modes; and corrects the loss functions of the source article.

# %% tags=["nbval-ignore-output"]
import math
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import aigc_course
import torch
from aigc_course.data import count_modes, load_mnist, ring_of_gaussians, to_signed
from aigc_course.losses import generator_loss_nonsaturating, generator_loss_saturating
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
from aigc_course.train import GANTrainConfig, train_gan
from aigc_course.viz import plot_curves, plot_toy_2d, show_image_rows


@dataclass(frozen=True)
class GANChapterConfig:
    ring_steps: int = 3000
    ring_chunk: int = 500  # steps between the snapshots of the ring run
    ring_seeds: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6, 7)
    ring: GANTrainConfig = GANTrainConfig(
        steps=3000,
        batch_size=256,
        lr_d=1e-3,
        lr_g=1e-3,
        betas=(0.5, 0.9),
        n_fixed=2000,
        progress=False,
    )
    mlp: GANTrainConfig = GANTrainConfig(
        steps=6000, batch_size=64, snapshot_every=1000, progress=False
    )
    dcgan: GANTrainConfig = GANTrainConfig(
        steps=3000, batch_size=64, snapshot_every=500, progress=False
    )


cfg = GANChapterConfig()
if aigc_course.quick_mode():
    cfg = replace(
        cfg,
        ring_seeds=(0, 1, 2),
        mlp=replace(cfg.mlp, steps=600, snapshot_every=200),
        dcgan=replace(cfg.dcgan, steps=300, snapshot_every=100),
    )
device = aigc_course.get_device()
print(cfg)
print("device:", device)

# %% [markdown]
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
# and plugging it in gives $V(D^*, G) = 2\,\mathrm{JS}(p_\text{data}\,\|\,p_G) - \log 4$: the generator
# minimises the {term}`Jensen-Shannon divergence` between the data and its samples, and the game's equilibrium is
# $p_G = p_\text{data}$ with $D = 1/2$ everywhere (Goodfellow et al., Theorem 1).
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
# **non-saturating** loss $L_G^\text{NS} = -\E_z[\log D(G(z))]$, which has the same fixed point
# (section 3 shows why). All losses are computed from **logits**, using
# $-\log\sigma(\ell) = \operatorname{softplus}(-\ell)$ and $-\log(1-\sigma(\ell)) = \operatorname{softplus}(\ell)$,
# which stay finite where `log(sigmoid(l))` underflows:
#
# ```{literalinclude} ../aigc_course/losses/gan.py
# :pyobject: discriminator_loss
# :start-at: real_term =
# ```
#
# ```{literalinclude} ../aigc_course/losses/gan.py
# :pyobject: generator_loss_nonsaturating
# :start-at: _check_logits
# ```
#
# **The algorithm** (Goodfellow et al., Algorithm 1): alternate a discriminator step on a batch of real and
# a batch of generated examples with a generator step on fresh noise. This is the inner loop of the
# package's `train_gan`, which adds a fixed noise batch for progress pictures, a history of the losses and of
# $D(x)$, $D(G(z))$, a NaN guard and checkpoints:
#
# ```{literalinclude} ../aigc_course/train/gan.py
# :start-after: try:
# :end-before: one device-to-host transfer
# :dedent:
# ```

# %% [markdown]
# ## 2. A GAN on a ring of Gaussians
#
# The data: 8 Gaussians of standard deviation 0.02 on a circle of radius 2, a standard test bed
# {cite:p}`metz2017`. The generator maps 2-D noise through a small MLP to 2-D points; the discriminator is
# an MLP from 2-D points to a logit. We train in chunks of `ring_chunk` steps, resuming each time from the
# checkpoint the previous chunk wrote, so that we can draw the samples and the discriminator between chunks.

# %% tags=["nbval-ignore-output"]
data_gen = torch.Generator().manual_seed(0)
ring_data, centers = ring_of_gaussians(20_000, generator=data_gen)
RING_STD = 0.02
toy_cfg = ToyGANConfig()


def train_ring_in_chunks(train_cfg, seed=0, chunk=cfg.ring_chunk, total=cfg.ring_steps):
    """Train a fresh toy GAN, returning (step, samples, a copy of D's weights) after every chunk."""
    torch.manual_seed(seed)  # the networks' initial weights
    G, D = ToyGenerator(toy_cfg), ToyDiscriminator(toy_cfg)
    frames = []
    with tempfile.TemporaryDirectory() as tmp:
        for steps in range(chunk, total + 1, chunk):
            run_cfg = replace(
                train_cfg, steps=steps, seed=seed, checkpoint_path=Path(tmp) / "ring.pt"
            )
            result = train_gan(G, D, ring_data, run_cfg, resume=True)
            D_copy = ToyDiscriminator(toy_cfg)
            D_copy.load_state_dict(D.state_dict())
            frames.append((steps, result.snapshots[-1][1], D_copy))
    return result, frames


t0 = time.perf_counter()
ring_result, frames = train_ring_in_chunks(cfg.ring)
print(f"{cfg.ring_steps} steps in {time.perf_counter() - t0:.1f} s")
fig, axes = plt.subplots(1, len(frames), figsize=(2.3 * len(frames), 2.5))
for ax, (step, samples, D_frame) in zip(axes, frames, strict=False):
    cov = count_modes(samples, centers, RING_STD)
    plot_toy_2d(
        ring_data[:2000],
        samples,
        D_frame,
        ax=ax,
        title=f"step {step}: {cov.n_covered}/8 modes",
    )
fig.suptitle(
    "samples (orange) over D's probability 'real' (red = fake, blue = real)",
    fontsize=10,
)
plt.show()

# %% [markdown]
# The background is the discriminator's opinion: blue where it believes "real", red where "fake". The
# generator's samples move towards blue regions, which makes the discriminator redraw its map, and so on.
# We measure success by counting modes: a mode is *covered* if at least 1% of 2,000 samples land within
# 3 standard deviations of its centre {cite:p}`srivastava2017`.

# %% tags=["nbval-ignore-output"]
final = count_modes(ring_result.snapshots[-1][1], centers, RING_STD)
print(
    f"after {cfg.ring_steps} steps: {final.n_covered} of 8 modes covered, "
    f"{final.high_quality_fraction:.0%} of samples within 3 std of a centre"
)
print("samples per mode:", final.counts.tolist())

# %% tags=["remove-cell"]
# Test: the non-saturating GAN covers at least 6 of the 8 modes (also in quick mode).
assert final.n_covered >= 6, final

# %% [markdown]
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
# ## 3. Failure modes, shown
#
# ### Mode collapse (模式崩溃)
#
# Nothing in the GAN objective, as optimised step by step, forces the generator to cover *all* of the data.
# If it finds a region the discriminator currently accepts, it can put all its samples there; the
# discriminator then rejects that region, and the generator hops to another: {term}`mode collapse <Mode collapse>`. The same settings as above,
# started from different random seeds:

# %% tags=["nbval-ignore-output"]
seed_results = {}
for seed in cfg.ring_seeds:
    torch.manual_seed(seed)
    G, D = ToyGenerator(toy_cfg), ToyDiscriminator(toy_cfg)
    res = train_gan(G, D, ring_data, replace(cfg.ring, seed=seed, steps=cfg.ring_steps))
    seed_results[seed] = (res, count_modes(res.snapshots[-1][1], centers, RING_STD))
    print(f"seed {seed}: {seed_results[seed][1].n_covered} of 8 modes")
fig, axes = plt.subplots(1, len(seed_results), figsize=(2.3 * len(seed_results), 2.5))
for ax, (seed, (res, cov)) in zip(axes, seed_results.items(), strict=False):
    plot_toy_2d(
        ring_data[:2000],
        res.snapshots[-1][1],
        ax=ax,
        title=f"seed {seed}: {cov.n_covered}/8",
    )
plt.show()

# %% [markdown]
# Runs that differ only in their random seed end with different numbers of modes: some cover the ring, some
# have collapsed onto a few modes. Remedies studied in the literature include minibatch discrimination
# {cite:p}`salimans2016`, unrolled discriminators {cite:p}`metz2017` and packing several samples into one
# discriminator input; VAEs, which are trained to explain *every* training example, do not collapse this way.
#
# ### The vanishing gradient of the minimax loss
#
# Early in training the generator is poor and the discriminator rejects its samples confidently:
# $D(G(z)) \approx 0$, a very negative logit $\ell$. What gradient does the generator then receive?
# Differentiate each generator loss with respect to the logit:
#
# $$
# \frac{\partial}{\partial \ell}\log(1 - \sigma(\ell)) = -\sigma(\ell) \xrightarrow[\ell\to-\infty]{} 0,
# \qquad
# \frac{\partial}{\partial \ell}\bigl(-\log\sigma(\ell)\bigr) = -(1 - \sigma(\ell)) \xrightarrow[\ell\to-\infty]{} -1.
# $$
#
# Autograd through the package's losses agrees:

# %%
logits = torch.linspace(-10, 10, 201, requires_grad=True)
grad_sat = torch.autograd.grad(generator_loss_saturating(logits) * len(logits), logits)[
    0
]
grad_ns = torch.autograd.grad(
    generator_loss_nonsaturating(logits) * len(logits), logits
)[0]
d_of_g = torch.sigmoid(logits.detach())
for target in (1e-4, 1e-2, 0.5):
    i = int((d_of_g - target).abs().argmin())
    print(
        f"D(G(z)) = {d_of_g[i]:.4f}:  |dL/dl| minimax = {grad_sat[i].abs():.4f}, non-saturating = {grad_ns[i].abs():.4f}"
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
# Gaussians at $x = 6$ and $x = 10$, a 1-D generator whose first samples sit near 0, and 300 discriminator steps
# with the generator frozen. Then measure the gradient each generator loss sends to the generator's weights:

# %% tags=["nbval-ignore-output"]
from aigc_course.data import two_gaussians_1d
from aigc_course.losses import discriminator_loss

line_data, _ = two_gaussians_1d(
    10_000, means=(6.0, 10.0), std=0.5, generator=torch.Generator().manual_seed(0)
)
line_cfg = ToyGANConfig(latent_dim=1, data_dim=1)
torch.manual_seed(0)
G_line, D_line = ToyGenerator(line_cfg), ToyDiscriminator(line_cfg)
opt_d = torch.optim.Adam(D_line.parameters(), lr=1e-3, betas=(0.5, 0.9))
for step in range(300):  # the discriminator alone: G is frozen
    real = line_data[torch.randint(len(line_data), (256,))]
    with torch.no_grad():
        fake = G_line(torch.randn(256, 1))
    loss = discriminator_loss(D_line(real), D_line(fake))
    opt_d.zero_grad()
    loss.backward()
    opt_d.step()
fake_logits = D_line(G_line(torch.randn(256, 1)))
print(f"after 300 D steps: mean D(G(z)) = {torch.sigmoid(fake_logits).mean():.2e}")
for name, loss_fn in (
    ("minimax", generator_loss_saturating),
    ("non-saturating", generator_loss_nonsaturating),
):
    G_line.zero_grad()
    loss_fn(D_line(G_line(torch.randn(256, 1)))).backward()
    norm = torch.sqrt(sum((p.grad**2).sum() for p in G_line.parameters()))
    print(f"{name:15s} loss: |grad wrt G's weights| = {norm:.2e}")

# %% [markdown]
# The minimax gradient is smaller by many orders of magnitude: with plain gradient descent the minimax generator
# would not move. Adam hides part of the problem, because it divides every update by a running estimate of the
# gradient's own scale, so a uniformly tiny gradient still produces steps, until it falls below Adam's
# $\epsilon = 10^{-8}$. That is why, on the ring, the two losses behave alike once training is under way
# (the discriminator there never becomes that confident):

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
G_sat, D_sat = ToyGenerator(toy_cfg), ToyDiscriminator(toy_cfg)
sat = train_gan(
    G_sat,
    D_sat,
    ring_data,
    replace(cfg.ring, generator_loss="saturating", steps=cfg.ring_steps),
)
sat_cov = count_modes(sat.snapshots[-1][1], centers, RING_STD)
ns, ns_cov = seed_results[0]
print(
    f"non-saturating: {ns_cov.n_covered}/8 modes, mean D(G(z)) over the first 200 steps {sum(ns.history['d_fake'][:200]) / 200:.3f}"
)
print(
    f"minimax:        {sat_cov.n_covered}/8 modes, mean D(G(z)) over the first 200 steps {sum(sat.history['d_fake'][:200]) / 200:.3f}"
)
fig, axes = plt.subplots(
    1, 3, figsize=(10, 2.8), gridspec_kw={"width_ratios": [1, 1, 1.8]}
)
plot_toy_2d(
    ring_data[:2000],
    ns.snapshots[-1][1],
    ax=axes[0],
    title=f"non-saturating: {ns_cov.n_covered}/8",
)
plot_toy_2d(
    ring_data[:2000],
    sat.snapshots[-1][1],
    ax=axes[1],
    title=f"minimax: {sat_cov.n_covered}/8",
)
plot_curves(
    {
        "D(G(z)) non-saturating": ns.history["d_fake"],
        "D(G(z)) minimax": sat.history["d_fake"],
    },
    ylabel="D(G(z))",
    smooth=25,
    ax=axes[2],
)
fig.tight_layout()
plt.show()

# %% [markdown]
# The non-saturating loss is the safe default: it costs nothing, and it keeps the generator learning in exactly
# the situation, a winning discriminator, where the minimax loss fails.

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
# $|\partial_\ell \log(1-\sigma(\ell))| = \sigma(\ell) = D(G(z))$ and $|\partial_\ell \log\sigma(\ell)| = 1 - D(G(z))$:

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
# Two generator/discriminator pairs, both ending in $\tanh$, so the real images are scaled to $[-1, 1]$:
#
# * a **fully connected** pair. The source article's generator went $100 \to 128 \to 64 \to 784$: a
#   64-unit bottleneck just before the image, and no working discriminator. Ours widens as it goes
#   ($100\to256\to512\to1024\to784$, batch norm) and its discriminator mirrors it with LeakyReLU;
# * a **DCGAN** pair {cite:p}`radford2016`: transposed convolutions $7\times7 \to 14\times14 \to 28\times28$
#   in the generator, strided convolutions in the discriminator, batch norm, and weights initialised from
#   $\mathcal N(0, 0.02)$.
#
# ```{literalinclude} ../aigc_course/models/gan.py
# :pyobject: DCGANGenerator.__init__
# ```
#
# Both train with Adam, learning rate $2\cdot10^{-4}$, $\beta_1 = 0.5$ (the DCGAN settings).

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
mlp = train_gan(mlp_G, mlp_D, x_train, replace(cfg.mlp, device=str(device)))
print(
    f"fully connected GAN: {cfg.mlp.steps} steps in {time.perf_counter() - t0:.0f} s on {device}"
)
show_image_rows(
    {f"step {s}": img[:16] for s, img in mlp.snapshots[1:]}, nrow=16, width=9
)
plt.show()

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
dc_G, dc_D = DCGANGenerator(DCGANConfig()), DCGANDiscriminator(DCGANConfig())
t0 = time.perf_counter()
dcgan = train_gan(dc_G, dc_D, x_train, replace(cfg.dcgan, device=str(device)))
print(f"DCGAN: {cfg.dcgan.steps} steps in {time.perf_counter() - t0:.0f} s on {device}")
show_image_rows(
    {f"step {s}": img[:16] for s, img in dcgan.snapshots[1:]}, nrow=16, width=9
)
plt.show()

# %% [markdown]
# Each row shows the *same* 16 noise vectors at a later step, so you can watch individual digits form.
# The training curves:

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
for name, res in (("MLP", mlp), ("DCGAN", dcgan)):
    last = slice(-200, None)
    mean = lambda v: sum(v[last]) / len(v[last])  # noqa: E731
    print(
        f"{name}, last 200 steps: D loss {mean(res.history['d_loss']):.2f} (2 ln 2 = {2 * math.log(2):.2f} at equilibrium), "
        f"D(x) {mean(res.history['d_real']):.2f}, D(G(z)) {mean(res.history['d_fake']):.2f}"
    )

# %% [markdown]
# GAN losses do not go down like the likelihood of the Concepts chapter: each network's loss depends on the
# other, and a healthy run hovers with $D(x)$ somewhat above and $D(G(z))$ somewhat below $1/2$. A D loss that
# falls towards 0 (with $D(G(z)) \to 0$) means the discriminator has won and the generator gets no signal; a
# G loss that keeps climbing is the same thing seen from the other side.
#
# **Practical tips** (each is a field of `GANTrainConfig`, the model configs, or both):
#
# * Adam with $\beta_1 = 0.5$ and learning rate $2\cdot10^{-4}$ for both networks is the DCGAN default;
#   the larger momentum of $\beta_1 = 0.9$ often oscillates.
# * **One-sided label smoothing** (`real_label=0.9`) keeps D from becoming over-confident on real images
#   {cite:p}`salimans2016`; smooth only the real side.
# * **Batch norm** in the generator keeps the activations of early layers well scaled; our fully connected
#   generator collapsed to mostly "1"s without it.
# * Keep D and G of similar capacity; more D steps per G step (`d_steps`) help only if D lags behind.
# * Watch the samples from a fixed noise batch, not the losses.

# %% [markdown]
# ## 5. Correcting the source article
#
# The article gives
#
# $$
# L_D^\text{article} = -\E_x[\log D(x)] - \E_z[\log D(G(z))],
# \qquad
# L_G^\text{article} = -\E_x[\log D(x)] - \E_z[\log(1 - D(G(z)))].
# $$
#
# * Its $L_D$ has the wrong sign on the fake term: minimising $-\log D(G(z))$ *rewards* the discriminator
#   for calling generated samples real. The correct term is $-\log(1 - D(G(z)))$.
# * Its $L_G$ is the discriminator's (correct) loss, which the generator would have to *maximise*, and its first
#   term does not depend on $G$ at all; the generator minimises $\E_z[\log(1 - D(G(z)))]$ (minimax) or,
#   in practice, $-\E_z[\log D(G(z))]$ (non-saturating).
#
# What does training with the article's discriminator loss do? Same ring, same seed:

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
G_art, D_art = ToyGenerator(toy_cfg), ToyDiscriminator(toy_cfg)
article = train_gan(
    G_art, D_art, ring_data, replace(cfg.ring, d_loss="article", steps=cfg.ring_steps)
)
art_cov = count_modes(article.snapshots[-1][1], centers, RING_STD)
print(
    f"article's D loss: {art_cov.n_covered}/8 modes; final D(x) = {article.history['d_real'][-1]:.3f}, "
    f"D(G(z)) = {article.history['d_fake'][-1]:.3f}"
)
fig, axes = plt.subplots(1, 2, figsize=(8, 3), gridspec_kw={"width_ratios": [1, 1.8]})
plot_toy_2d(
    ring_data[:2000],
    article.snapshots[-1][1],
    D_art,
    ax=axes[0],
    title=f"article's loss: {art_cov.n_covered}/8",
)
plot_curves(
    {"D(x)": article.history["d_real"], "D(G(z))": article.history["d_fake"]},
    ylabel="mean probability 'real'",
    ax=axes[1],
    title="the discriminator calls everything real",
)
fig.tight_layout()
plt.show()

# %% [markdown]
# The discriminator quickly learns to answer "real" for everything ($D \approx 1$ on both), which is exactly what
# that loss rewards. A discriminator that says "real" everywhere carries no information about where the data
# are, so the generator's samples are never pulled onto the ring.
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
# **Change the architecture and predict the effect** (no checker: write your prediction down first). Build the
# article's fully connected generator, `MLPGANConfig(hidden=(128, 64), batchnorm=False)`, which narrows to 64
# units, train it for the same number of steps as above, and compare its samples and its $D(G(z))$ curve with
# those of the default configuration. Then put `batchnorm=True` back and change only the widths. Which of the
# two changes matters more?
#
# `````{exercise-end}
# `````
#
# ## Summary
#
# * A GAN trains a generator against a discriminator; at the optimum of the game the generator's
#   distribution equals the data's, and the discriminator outputs $1/2$ everywhere.
# * Compute every GAN loss from logits. The discriminator's loss is binary cross-entropy (real = 1, fake = 0);
#   the generator's practical loss is the non-saturating $-\log D(G(z))$, whose gradient does not vanish when
#   the discriminator wins.
# * GANs can collapse onto a few modes, and whether they do depends even on the random seed; count modes on
#   toy data, look at samples from fixed noise on images.
# * The source article's discriminator loss rewards calling fakes real: a discriminator trained with it learns nothing.
#
# The works cited are listed on the [References](references.md) page.
