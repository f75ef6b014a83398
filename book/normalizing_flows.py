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
# # Normalizing flows
#
# A {term}`VAE` scores an image only through a bound, and a {term}`GAN` does not score it at all. A
# {term}`normalizing flow <Normalizing flow>` (标准化流) {cite:p}`rezende2015,papamakarios2021` gives an
# **exact** log-likelihood *and* samples in one pass. It is an invertible map $z = f(x)$ from the data to
# a standard-normal base, built from layers whose Jacobian determinant is cheap; the density of $x$ then
# follows from the change-of-variables formula,
#
# $$
# \log p(x) = \log \mathcal N\bigl(f(x); 0, I\bigr) + \log\bigl|\det J_f(x)\bigr|,
# \qquad
# \log\bigl|\det J_f\bigr| = \sum_k \log\bigl|\det J_{f_k}\bigr| \text{ for } f = f_K \circ\dots\circ f_1 .
# $$
#
# Sampling runs the layers backwards: draw $z \sim \mathcal N(0, I)$ and compute $x = f^{-1}(z)$.
#
# This chapter checks the formula numerically (section 1), trains two small flows (affine and spline
# couplings) on the course's ring of Gaussians and compares their held-out negative log-likelihoods with
# the true density's (section 2),
# trains a RealNVP-style flow {cite:p}`dinh2017` on 8-bit MNIST and reports bits per dimension (section 3),
# puts every likelihood the course can measure today into one table (section 4), and ends with exercises.
# Nothing here is "flow matching", the diffusion chapter's velocity-regression model: every name in the
# package's `normalizing_flow` modules says *normalizing flow* or *coupling*.

# %% tags=["hide-input", "nbval-ignore-output"]
import math
import time
from dataclasses import dataclass, field, replace

import aigc_course
import torch
from aigc_course.data import (
    dequantize_unit,
    iterate_batches,
    load_mnist,
    ring_of_gaussians,
    to_unit,
)
from aigc_course.metrics import evaluate_autoregressive, evaluate_normalizing_flow
from aigc_course.metrics.seeds import compare_seeds
from aigc_course.models import MADE, MLPVAE, PixelCNN, PixelCNNConfig, VAEConfig
from aigc_course.models.baselines import PCAGaussian, PixelBernoulli
from aigc_course.models.normalizing_flow import (
    ActNorm,
    AffineCoupling,
    InvertibleConv1x1,
    LogitTransform,
    NormalizingFlow,
    NormalizingFlowConfig,
    Squeeze,
    alternating_mask,
    channel_mask,
    checkerboard_mask,
    standard_normal_log_prob,
)
from aigc_course.notebook import count_parameters, glue, mean_std, show_settings
from aigc_course.train import (
    MADE_RECIPE,
    PIXELCNN_RECIPE,
    BinarizedMNISTRecipe,
    VAETrainConfig,
    evaluate_vae,
    train_autoregressive,
    vae_step,
)
from aigc_course.train.normalizing_flow import (
    NormalizingFlowTrainConfig,
    train_normalizing_flow,
)
from aigc_course.viz import show_image_rows


def _ring_run():
    return NormalizingFlowTrainConfig(
        epochs=1000, batch_size=256, lr=2e-3, lr_schedule="cosine",
        max_seconds=25.0, progress=False,
    )  # fmt: skip


def _mnist_run():
    return NormalizingFlowTrainConfig(
        epochs=100,
        batch_size=64,
        lr=2e-3,
        lr_schedule="cosine",  # decays to 0 at the end of the time budget
        dequantize_levels=256,  # fresh uniform noise every step
        max_grad_norm=100.0,
        max_seconds=90.0,
        progress=False,
    )


@dataclass(frozen=True)
class FlowChapterConfig:
    ring_flow: NormalizingFlowConfig = NormalizingFlowConfig(
        data_shape=(2,), n_couplings=8, hidden=64
    )
    ring_spline: NormalizingFlowConfig = NormalizingFlowConfig(
        data_shape=(2,), n_couplings=6, hidden=64, coupling="spline", spline_bins=16
    )
    ring: NormalizingFlowTrainConfig = field(default_factory=_ring_run)
    ring_train: int = 20_000  # training points from the ring
    ring_test: int = 5_000  # held-out points
    entropy_samples: int = 200_000  # Monte Carlo samples of the true entropy
    mnist_flow: NormalizingFlowConfig = NormalizingFlowConfig(
        data_shape=(1, 28, 28), n_couplings=4, hidden=32, n_scales=2, logit_alpha=0.05
    )
    mnist: NormalizingFlowTrainConfig = field(default_factory=_mnist_run)
    vae: VAETrainConfig = VAETrainConfig(epochs=30, progress=False)  # as the AR chapter
    vae_seconds: float = 30.0  # wall-clock cap per VAE seed
    made: BinarizedMNISTRecipe = MADE_RECIPE  # as the autoregressive chapter
    pixelcnn: BinarizedMNISTRecipe = PIXELCNN_RECIPE
    pca_k: int = 32  # principal directions of the PCA Gaussian (as in Concepts)
    seeds: tuple[int, ...] = (0, 1, 2)  # training seeds of every trained model
    eval_images: int = 2000  # held-out test images scored per model
    k: int = 100  # importance samples per image for the VAE's IW bound
    timed_samples: int = 500  # samples drawn to time one-pass sampling
    timed_ar_samples: int = 8  # autoregressive samples: 784 network calls each


cfg = FlowChapterConfig()
if aigc_course.quick_mode():
    cfg = replace(
        cfg,
        ring=replace(cfg.ring, max_seconds=4.0),
        ring_test=2_000,
        entropy_samples=50_000,
        mnist=replace(cfg.mnist, max_seconds=20.0),
        vae=replace(cfg.vae, epochs=5),
        vae_seconds=8.0,
        made=replace(cfg.made, train=replace(cfg.made.train, max_seconds=8.0)),
        pixelcnn=BinarizedMNISTRecipe(
            PixelCNNConfig(channels=16, n_layers=2),
            replace(cfg.pixelcnn.train, max_seconds=8.0),
        ),
        seeds=(0, 1),
        eval_images=300,
        k=10,
        timed_samples=100,
        timed_ar_samples=2,
    )
device = "cpu"  # every model here is small; timings are CPU timings
# One thread: these models are too small to gain from more, and on a busy machine
# several threads can wait on each other and run many times slower.
torch.set_num_threads(1)
print("quick mode" if aigc_course.quick_mode() else "full mode", "on", device)
show_settings(cfg, width=16, align=">", sep=": ", wrap=None)

# %% [markdown]
# ## 1. The change of variables, checked numerically
#
# If $x$ has density $p_x$ and $y = g(x)$ is invertible and differentiable, then
# $p_y(y) = p_x\bigl(g^{-1}(y)\bigr)\,\bigl|\det J_{g^{-1}}(y)\bigr|$: probability mass is conserved, so
# where $g$ stretches space the density thins out by the stretch factor, the absolute
# {term}`Jacobian determinant <Jacobian determinant>` (雅可比行列式).
#
# **In 1-D.** Take $x \sim \mathcal N(0, 1)$ and $y = e^x$. Then $g^{-1}(y) = \log y$,
# $|dg^{-1}/dy| = 1/y$, and $p_y(y) = \mathcal N(\log y; 0, 1) / y$ (the log-normal density). A histogram
# of many samples of $y$ should match it:

# %% tags=["nbval-ignore-output"]
gen = torch.Generator().manual_seed(0)
x1 = torch.randn(400_000, generator=gen, dtype=torch.float64)
y1 = torch.exp(x1)
edges = torch.linspace(0.05, 4.0, 80, dtype=torch.float64)
counts = torch.histc(y1, bins=79, min=0.05, max=4.0)
width = edges[1] - edges[0]
hist_density = counts / (len(y1) * width)
mid = 0.5 * (edges[1:] + edges[:-1])
formula = torch.exp(-0.5 * torch.log(mid) ** 2 - 0.5 * math.log(2 * math.pi)) / mid
err_1d = float((hist_density - formula).abs().max() / formula.max())
fig, ax = plt.subplots(figsize=(6, 3))
ax.bar(mid, hist_density, width=float(width), color="0.8", label="histogram of e^x")
ax.plot(mid, formula, "k", label="N(log y) / y")
ax.set_xlabel("y")
ax.set_ylabel("density")
ax.legend()
plt.show()
print(f"largest histogram - formula gap: {err_1d:.1%} of the peak density")
glue("nf_err_1d", 100 * err_1d)

# %% [markdown]
# The gap, {glue:text}`nf_err_1d:.1f`% of the peak, is the histogram's own sampling noise and bin width:
# the formula is exact.
#
# **In 2-D**, with one of the package's layers. An {term}`affine coupling layer <Coupling layer>` (耦合层)
# {cite:p}`dinh2017` keeps one part of its input, $x_{m}$ (mask $m = 1$), and scales and shifts the rest
# with functions of the kept part,
#
# $$
# y = m \odot x + (1 - m) \odot \bigl(x \odot e^{s(m \odot x)} + t(m \odot x)\bigr),
# \qquad \log|\det J| = \sum_d (1 - m_d)\, s_d(m \odot x).
# $$
#
# Its Jacobian is triangular (the kept coordinates do not depend on the others), so the determinant is the
# product of the diagonal, $e^{s}$, whatever networks $s$ and $t$ are. This is the package's layer:
#
# ```{literalinclude} ../aigc_course/models/normalizing_flow.py
# :pyobject: AffineCoupling
# :start-at: def _s_t
# ```
#
# We give a 2-D coupling random weights, push Gaussian samples through it, and compare the fraction of
# samples that land in a box with the integral of the change-of-variables density over that box (a fine
# grid sum): the density $p_y(y) = \mathcal N(f^{-1}(y); 0, I)\, e^{-\log|\det J_f(f^{-1}(y))|}$.


# %% tags=["nbval-ignore-output"]
def randomize(layer, scale=0.5, seed=0):
    """Random weights: a new coupling is the identity (its last layer starts at 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return layer


torch.manual_seed(0)
coupling2d = randomize(AffineCoupling(alternating_mask(2, 1), hidden=16)).double()
with torch.no_grad():
    z2 = torch.randn(400_000, 2, generator=gen, dtype=torch.float64)
    y2, _ = coupling2d(z2)
    # the box [-0.5, 1] x [0, 1.5]: [lo, hi] per axis
    box = torch.tensor([[-0.5, 1.0], [0.0, 1.5]], dtype=torch.float64)
    inside = ((y2 >= box[:, 0]) & (y2 <= box[:, 1])).all(1)
    mc = inside.double().mean().item()
    n = 400
    u = [torch.linspace(lo, hi, n + 1, dtype=torch.float64) for lo, hi in box]
    cu = [0.5 * (a[1:] + a[:-1]) for a in u]
    grid = torch.stack(torch.meshgrid(*cu, indexing="ij"), -1).reshape(-1, 2)
    x_back = coupling2d.inverse(grid)
    _, log_det = coupling2d(x_back)
    density = torch.exp(standard_normal_log_prob(x_back) - log_det)
    cell = float((box[0, 1] - box[0, 0]) * (box[1, 1] - box[1, 0])) / n**2
    integral = (density.sum() * cell).item()
mc_se = math.sqrt(mc * (1 - mc) / len(y2))
print(f"P(y in box): Monte Carlo {mc:.4f} ± {mc_se:.4f}, formula {integral:.4f}")
glue("nf_box_mc", mc)
glue("nf_box_formula", integral)

# %% tags=["remove-cell"]
# Test: the formula's box probability is within 4 standard errors (plus the grid's
# quadrature error) of the Monte Carlo fraction.
assert abs(mc - integral) < 4 * mc_se + 1e-3, (mc, integral, mc_se)
assert err_1d < 0.05, err_1d

# %% [markdown]
# The two agree to within the Monte Carlo error ({glue:text}`nf_box_mc:.4f` against
# {glue:text}`nf_box_formula:.4f`).
#
# **Every layer, against autograd.** Each of the package's layers returns its output *and* its
# $\log|\det J|$, and has an exact inverse. The next cell gives each one random weights and compares, on a
# small input, its log-determinant with $\log|\det|$ of the full Jacobian that
# `torch.autograd.functional.jacobian` computes, and `inverse(forward(x))` with `x`.


# %% tags=["nbval-ignore-output"]
def autograd_log_det(layer, x):
    """log|det| of the (D x D) Jacobian of one example's forward map."""
    jac = torch.autograd.functional.jacobian(lambda v: layer(v)[0], x)
    d = x.numel()
    return torch.linalg.slogdet(jac.reshape(d, d))[1].item()


def layer_check(name, layer, shape, low=None):
    layer = randomize(layer.double(), seed=len(name))
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, *shape, generator=g, dtype=torch.float64)
    if low is not None:  # the logit layer wants inputs in (0, 1)
        x = torch.rand(1, *shape, generator=g, dtype=torch.float64)
    layer.train()(x)  # ActNorm initialises from this batch
    layer.eval()
    with torch.no_grad():
        y, log_det = layer(x)
        inverse_error = (layer.inverse(y) - x).abs().max().item()
    exact = autograd_log_det(layer, x)
    return name, log_det.item(), exact, inverse_error


torch.manual_seed(0)
small_flow = NormalizingFlow(
    NormalizingFlowConfig(
        data_shape=(1, 4, 4), n_couplings=2, hidden=8, n_scales=2, logit_alpha=0.05,
        invertible_conv=True,
    )
)  # fmt: skip
checks = [
    layer_check("coupling, vector", AffineCoupling(alternating_mask(6), 8), (6,)),
    layer_check(
        "coupling, checkerboard",
        AffineCoupling(checkerboard_mask(4, 4), 8, channels=2),
        (2, 4, 4),
    ),
    layer_check(
        "coupling, channel mask",
        AffineCoupling(channel_mask(4), 8, channels=4),
        (4, 2, 2),
    ),
    layer_check("ActNorm", ActNorm(3), (3, 2, 2)),
    layer_check("invertible 1x1 conv", InvertibleConv1x1(4), (4, 2, 2)),
    layer_check("squeeze", Squeeze(), (1, 4, 4)),
    layer_check("logit transform", LogitTransform(0.05), (1, 3, 3), low=0.0),
    layer_check(f"flow of {len(small_flow.layers)} layers", small_flow, (1, 4, 4), 0.0),
]
print(f"{'layer':24s}{'log|det J|':>12s}{'autograd':>12s}{'|x - f^-1(f(x))|':>18s}")
for name, ld, exact, inv in checks:
    print(f"{name:24s}{ld:12.6f}{exact:12.6f}{inv:18.1e}")
worst_det = max(abs(ld - exact) for _, ld, exact, _ in checks)
worst_inv = max(inv for *_, inv in checks)
glue("nf_worst_det", f"{worst_det:.0e}")
glue("nf_worst_inv", f"{worst_inv:.0e}")
glue("nf_n_layers_checked", len(checks))

# %% tags=["remove-cell"]
# Test: every layer's log-determinant matches autograd's and its inverse is exact to
# float64 tolerance.
assert worst_det < 1e-8, checks
assert worst_inv < 1e-8, checks

# %% [markdown]
# All {glue:text}`nf_n_layers_checked` rows agree: the largest log-determinant discrepancy is
# {glue:text}`nf_worst_det` nats and the largest reconstruction error {glue:text}`nf_worst_inv`, both float64
# round-off. The 1x1 convolution and ActNorm are Glow's {cite:p}`kingma2018` additions: a learned channel
# mixing and a per-channel affine map initialised from the first batch; squeeze is a permutation
# (log-determinant 0) that lets channel masks pair pixels a checkerboard mask cannot.

# %% [markdown]
# ## 2. A flow on the ring of Gaussians
#
# The toy of the GAN and diffusion chapters: eight Gaussians of standard deviation 0.02 on a circle of
# radius 2. Its density is known,
# $p(x) = \frac18 \sum_k \mathcal N(x; \mu_k, 0.02^2 I)$, so we know the best held-out negative
# log-likelihood any model can reach: the density's entropy $H = -\E_p[\log p(x)]$, which we estimate by
# Monte Carlo from the formula; on a fixed set of held-out points the model's NLL minus the true density's
# NLL on the same points is a Monte Carlo estimate of $\mathrm{KL}(p\,\|\,p_\theta) \ge 0$, the gap we
# report.
#
# We train two flows of the package, each with ActNorm before every coupling and alternating masks, by
# maximum likelihood with Adam on the same wall-clock budget (the learning rate decays on a cosine to the
# end of the budget):
#
# - **affine**: {glue:text}`nf_ring_affine_couplings` RealNVP couplings, each a shift and a scale of one
#   coordinate given the other;
# - **spline**: {glue:text}`nf_ring_spline_couplings` *neural spline* couplings {cite:p}`durkan2019`: the
#   transformed coordinate goes through a monotone rational-quadratic spline with
#   {glue:text}`nf_ring_spline_bins` bins on $[-3, 3]$ whose knots, heights and slopes the conditioner
#   sets, so one layer can stretch different pieces of the line differently (the identity outside the
#   interval; its inverse is the root of a quadratic).
#
# ```{literalinclude} ../aigc_course/models/spline_coupling.py
# :pyobject: SplineCoupling._transform
# ```
#
# One training step is the package's, the same for both:
#
# ```{literalinclude} ../aigc_course/train/normalizing_flow.py
# :pyobject: normalizing_flow_step
# ```

# %% tags=["nbval-ignore-output"]
RING_STD = 0.02
ring_x, centers = ring_of_gaussians(
    cfg.ring_train, std=RING_STD, generator=torch.Generator().manual_seed(0)
)
ring_test, _ = ring_of_gaussians(
    cfg.ring_test, std=RING_STD, generator=torch.Generator().manual_seed(1)
)


def ring_log_density(x):
    """The true log-density of the mixture, nats, (B,)."""
    d2 = (x[:, None, :].double() - centers[None].double()).pow(2).sum(-1)
    log_comp = -d2 / (2 * RING_STD**2) - math.log(2 * math.pi * RING_STD**2)
    return torch.logsumexp(log_comp, 1) - math.log(len(centers))


big, _ = ring_of_gaussians(
    cfg.entropy_samples, std=RING_STD, generator=torch.Generator().manual_seed(2)
)
neg_log_p = -ring_log_density(big)
entropy = neg_log_p.mean().item()
entropy_se = (neg_log_p.std() / len(big) ** 0.5).item()
# the modes barely overlap, so H is close to log 8 + log(2 pi e sigma^2)
closed_form = math.log(8) + 1 + math.log(2 * math.pi * RING_STD**2)
print(f"true entropy {entropy:.3f} ± {entropy_se:.3f} nats (Monte Carlo)")
print(f"separated-modes formula {closed_form:.3f} nats")
true_nll = -ring_log_density(ring_test).mean().item()
print(f"the true density's NLL on the {len(ring_test)} held-out points: {true_nll:.3f}")
glue("nf_ring_entropy", entropy)
glue("nf_ring_entropy_se", entropy_se)

# %% tags=["nbval-ignore-output"]
ring_nets = {"affine": cfg.ring_flow, "spline": cfg.ring_spline}
ring_flows, ring_nll, ring_seconds = {}, {}, {}
for kind, net in ring_nets.items():
    ring_flows[kind], ring_nll[kind], ring_seconds[kind] = [], [], []
    for seed in cfg.seeds:
        torch.manual_seed(seed)  # the initial weights
        flow = NormalizingFlow(net)
        t0 = time.perf_counter()
        result = train_normalizing_flow(flow, ring_x, replace(cfg.ring, seed=seed))
        ring_seconds[kind].append(time.perf_counter() - t0)
        flow.eval()
        with torch.no_grad():
            ring_nll[kind].append(-flow.log_prob(ring_test).mean().item())
        ring_flows[kind].append(flow)
        print(
            f"{kind} seed {seed}: {result.steps} steps in"
            f" {ring_seconds[kind][-1]:.0f} s,"
            f" held-out NLL {ring_nll[kind][-1]:.3f} nats"
        )
n_seeds = len(cfg.seeds)
ring_cmp = {
    kind: compare_seeds(
        ring_nll[kind], [true_nll] * n_seeds, names=(f"{kind} NLL", "true NLL"),
        unit=" nats",
    )
    for kind in ring_nets
}  # fmt: skip
spline_vs_affine = compare_seeds(
    ring_nll["spline"], ring_nll["affine"], names=("spline", "affine"), unit=" nats"
)
for kind in ring_nets:
    print(ring_cmp[kind])
    m, sd = mean_std(ring_nll[kind])
    glue(f"nf_ring_{kind}_nll", m)
    glue(f"nf_ring_{kind}_nll_std", sd)
    glue(f"nf_ring_{kind}_gap", ring_cmp[kind].diff)
    glue(f"nf_ring_{kind}_gap_low", ring_cmp[kind].low)
    glue(f"nf_ring_{kind}_gap_high", ring_cmp[kind].high)
    glue(f"nf_ring_{kind}_params", count_parameters(ring_flows[kind][0]))
    glue(f"nf_ring_{kind}_seconds", sum(ring_seconds[kind]) / n_seeds)
    glue(f"nf_ring_{kind}_couplings", ring_nets[kind].n_couplings)
print(spline_vs_affine)
glue("nf_ring_spline_bins", cfg.ring_spline.spline_bins)
glue("nf_ring_true_nll", true_nll)
glue("nf_ring_seeds", n_seeds)
glue("nf_ring_spline_verdict", spline_vs_affine.verdict)

# %% tags=["remove-cell"]
# Test: every seed learned something: its held-out NLL beats a single Gaussian fitted to
# the ring, 1 + log(2 pi) + log det(cov) / 2 nats, and stays above the true density's
# NLL on the same points minus a Monte Carlo margin (no model beats the truth but by
# noise). In full mode, the claims of the text: the spline flow is within 0.1 nats of
# the truth on every seed, and the affine flow is not.
gauss_nll = 1 + math.log(2 * math.pi) + 0.5 * torch.logdet(torch.cov(ring_x.T)).item()
for kind in ring_nets:
    assert all(true_nll - 0.05 < v < gauss_nll for v in ring_nll[kind]), ring_nll
if not aigc_course.quick_mode():
    assert all(v - true_nll < 0.1 for v in ring_nll["spline"]), ring_nll
    assert all(v - true_nll > 0.1 for v in ring_nll["affine"]), ring_nll

# %% tags=["nbval-ignore-output"]
lim, n_grid = 2.6, 300
axis = torch.linspace(-lim, lim, n_grid)
gx, gy = torch.meshgrid(axis, axis, indexing="xy")
grid = torch.stack([gx.flatten(), gy.flatten()], 1)
true_density = ring_log_density(grid).reshape(n_grid, n_grid).exp()
panels = [("true density", true_density)]
with torch.no_grad():
    for kind in ring_nets:
        learned = ring_flows[kind][0].log_prob(grid).reshape(n_grid, n_grid).exp()
        panels.append((f"{kind} flow (seed {cfg.seeds[0]})", learned))
    g0 = torch.Generator().manual_seed(0)
    samples = ring_flows["spline"][0].sample(2000, generator=g0)
fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
for ax, (title, img) in zip(axes[:3], panels, strict=True):
    ax.imshow(img.sqrt(), extent=(-lim, lim, -lim, lim), origin="lower", cmap="magma")
    ax.set_title(title + "\n(square root of the density)", fontsize=10)
axes[3].scatter(*samples.T, s=1, alpha=0.4, color="k")
axes[3].set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
axes[3].set_title("spline flow samples", fontsize=10)
plt.show()

# %% [markdown]
# Over {glue:text}`nf_ring_seeds` seeds and about {glue:text}`nf_ring_spline_seconds:.0f` s of training
# each, the **spline** flow ({glue:text}`nf_ring_spline_params` parameters) reaches a held-out NLL of
# {glue:text}`nf_ring_spline_nll:.3f` ± {glue:text}`nf_ring_spline_nll_std:.3f` nats against the true
# density's {glue:text}`nf_ring_true_nll:.3f` on the same points (its entropy, by Monte Carlo, is
# {glue:text}`nf_ring_entropy:.3f` ± {glue:text}`nf_ring_entropy_se:.3f`): a gap of
# {glue:text}`nf_ring_spline_gap:.3f` nats (95% interval {glue:text}`nf_ring_spline_gap_low:.3f` to
# {glue:text}`nf_ring_spline_gap_high:.3f`), within the 0.1 nats we aimed for. The **affine** flow
# ({glue:text}`nf_ring_affine_params` parameters, the same budget) stays at
# {glue:text}`nf_ring_affine_nll:.2f` ± {glue:text}`nf_ring_affine_nll_std:.2f` nats, a gap of
# {glue:text}`nf_ring_affine_gap:.2f` nats ({glue:text}`nf_ring_affine_gap_low:.2f` to
# {glue:text}`nf_ring_affine_gap_high:.2f`); spline against affine: {glue:text}`nf_ring_spline_verdict`.
#
# The density maps show why. Both flows are *continuous, invertible* deformations of one Gaussian blob,
# so neither can cut the density to zero between the modes; they can only thin it. An affine coupling
# moves and stretches a whole coordinate at once, so pulling mass into eight blobs of width 0.02 takes many
# layers: within the budget its density is still smeared along curved bands between the modes, and some
# modes get little mass, which is where its likelihood falls short. A
# spline coupling stretches each of its bins by its own factor, so a few layers squeeze the mass into the
# modes and nearly empty the space between them. What a flow gives, and a GAN does not, is the number
# itself: we know exactly how far each model is from the truth.

# %% [markdown]
# ## 3. MNIST in bits per dimension
#
# **Dequantisation.** A flow is a density on real vectors, but an 8-bit image is discrete: a density could
# put infinite mass on the 256 grid values. The standard fix {cite:p}`theis2016` is
# {term}`dequantisation <Dequantization>` (去量化): train on $y = (k + u)/256$ with $u \sim \mathcal U[0,1)$
# drawn afresh every step, a continuous version of each image spread over its bin. By Jensen's inequality
# the density $p$ then bounds the discrete likelihood, $-\log P(k) \le \E_u[-\log p(y)] + D \log 256$, and in
# {term}`bits per dimension <Bits per dimension>` (比特每维) the bin width costs exactly
# $\log_2 256 = 8$ bits: a uniform density on $[0,1)^{784}$ scores 8.0.
#
# ```{literalinclude} ../aigc_course/metrics/likelihood.py
# :pyobject: dequantized_bits_per_dim
# :start-at: return
# ```
#
# **The model.** A logit transform maps $[0, 1]$ to the real line (its log-determinant belongs to the
# density, so scores stay on the $[0,1]$ scale); then {glue:text}`nf_mnist_couplings` checkerboard
# couplings on the 28 x 28 image, a squeeze to 4 x 14 x 14, {glue:text}`nf_mnist_couplings` channel-mask
# couplings and {glue:text}`nf_mnist_couplings` checkerboard couplings at that scale, each coupling preceded
# by ActNorm: RealNVP's
# multi-scale design {cite:p}`dinh2017`, much smaller. It trains on the course's 5,000 training images for a
# fixed wall-clock budget per seed, and is scored on held-out test images (one dequantisation draw each).

# %% tags=["nbval-ignore-output"]
train, test = load_mnist("train"), load_mnist("test")
x_train, x_test = to_unit(train.images), to_unit(test.images)  # on the grid k / 255
# the test split is ordered by writer group: score a random subset, the same for all
scored = torch.randperm(len(x_test), generator=torch.Generator().manual_seed(2))
x_eval = x_test[scored[: cfg.eval_images]]
print(f"train {tuple(x_train.shape)}; models are scored on {len(x_eval)} test images")

mnist_flows, flow_bpd, flow_sem, flow_seconds, flow_steps = [], [], [], [], []
for seed in cfg.seeds:
    torch.manual_seed(seed)
    flow = NormalizingFlow(cfg.mnist_flow)
    t0 = time.perf_counter()
    result = train_normalizing_flow(flow, x_train, replace(cfg.mnist, seed=seed))
    flow_seconds.append(time.perf_counter() - t0)
    flow_steps.append(result.steps)
    ev = evaluate_normalizing_flow(flow.eval(), x_eval, seed=seed)
    flow_bpd.append(ev.bits_per_dim)
    flow_sem.append(ev.bits_per_dim_sem)
    mnist_flows.append(flow)
    print(f"seed {seed}: {result.steps} steps in {flow_seconds[-1]:.0f} s; {ev}")
flow_params = count_parameters(mnist_flows[0])
glue("nf_mnist_bpd", mean_std(flow_bpd)[0])
glue("nf_mnist_bpd_std", mean_std(flow_bpd)[1])
glue("nf_mnist_bpd_sem", max(flow_sem))
glue("nf_mnist_seconds", sum(flow_seconds) / len(flow_seconds))
glue("nf_mnist_steps", min(flow_steps))
glue("nf_mnist_params", f"{flow_params:,}")
glue("nf_mnist_couplings", cfg.mnist_flow.n_couplings)
glue("nf_mnist_gap_target", mean_std(flow_bpd)[0] - 1.3)

# %% tags=["remove-cell"]
# Test: every seed learned far more than the uniform density (8 bits/dim); in full mode
# it is also far below an independent-pixel Gaussian (about 5 bits/dim).
limit = 6.0 if aigc_course.quick_mode() else 3.0
assert all(1.0 < b < limit for b in flow_bpd), flow_bpd

# %% tags=["nbval-ignore-output"]
flow = mnist_flows[0]
with torch.no_grad():
    samples = flow.sample(8, generator=torch.Generator().manual_seed(0))
    z = torch.randn(8, *flow.latent_shape, generator=torch.Generator().manual_seed(0))
    z = 0.7 * z  # temperature 0.7
    cooled = flow.inverse(z).clamp(0, 1)
    # interpolate between two test images in the base space
    pair = dequantize_unit(x_eval[:2], generator=torch.Generator().manual_seed(0))
    z_pair, _ = flow(pair)
    w = torch.linspace(0, 1, 8).view(-1, 1, 1, 1)
    path = flow.inverse((1 - w) * z_pair[:1] + w * z_pair[1:]).clamp(0, 1)
show_image_rows(
    {
        "test images": x_eval[:8],
        "flow samples, T = 1": samples,
        "flow samples, T = 0.7": cooled,
        "interpolation in z": path,
    },
    nrow=8,
)
plt.show()

# %% [markdown]
# Over {glue:text}`nf_mnist_steps`+ steps per seed (about {glue:text}`nf_mnist_seconds:.0f` s each) the flow
# reaches {glue:text}`nf_mnist_bpd:.3f` ± {glue:text}`nf_mnist_bpd_std:.3f` bits/dim over the seeds (the
# standard error over test images is at most {glue:text}`nf_mnist_bpd_sem:.3f`). That is
# {glue:text}`nf_mnist_gap_target:.2f` bits/dim above the 1.3 we aimed for, and further above the
# published 1.06 (RealNVP) and 1.05 (Glow) {cite:p}`dinh2017,kingma2018`, which train models hundreds of
# times larger on 50,000-60,000 images for days on GPUs. We do not meet the 1.3 target in a CPU budget of
# minutes with {glue:text}`nf_mnist_params` parameters and 5,000 images; the chapter says so rather than
# quote a number it did not measure.
#
# **Where a flow spends its capacity.** The samples look much worse than "under 2 bits per pixel" suggests:
# blotchy strokes on a speckled background. Bits/dim average over all 784 pixels, and most MNIST pixels are
# background. A flow must put density on every dequantised value of every pixel, so a large part of its
# likelihood is earned by modelling the background and the dequantisation noise precisely, not the
# strokes; the invertibility constraint also keeps every latent dimension alive, so there is no "ignore
# this detail" the way a VAE's decoder can. Sampling at a lower temperature (scaling $z$ by 0.7, as Glow
# does) trades diversity for cleaner images. The next cell makes the point with a number: the score of a
# blank image.

# %% tags=["nbval-ignore-output"]
blank = torch.zeros(2, 1, 28, 28)
blank_bpd = [evaluate_normalizing_flow(f, blank).bits_per_dim for f in mnist_flows]
print(f"a blank image: {mean_std(blank_bpd)[0]:.3f} bits/dim", end=" ")
print(f"(test digits: {mean_std(flow_bpd)[0]:.3f})")
glue("nf_blank_bpd", mean_std(blank_bpd)[0])
better = mean_std(blank_bpd)[0] < mean_std(flow_bpd)[0]
glue("nf_blank_reading", "better than" if better else "worse than")

# %% tags=["remove-cell"]
# Test: the point the text makes: a blank image scores better than real digits.
assert all(b < f for b, f in zip(blank_bpd, flow_bpd, strict=True)), blank_bpd

# %% [markdown]
# An empty image, which looks nothing like a digit, scores {glue:text}`nf_blank_bpd:.3f` bits/dim,
# {glue:text}`nf_blank_reading` the {glue:text}`nf_mnist_bpd:.3f` of real test digits: likelihood rewards
# predicting the many easy pixels well. The same effect makes flows trained on one data set give *higher*
# likelihood to simpler images from another {cite:p}`nalisnick2019`, and it is why this course measures sample quality separately (the case
# study) instead of reading it off bits/dim {cite:p}`theis2016`.

# %% [markdown]
# ## 4. One likelihood table
#
# Every model in the course that has a likelihood, scored on the **same** held-out test images. Binary and
# 8-bit data are different problems (a binary pixel carries at most 1 bit, an 8-bit pixel 8), so the table
# has two blocks that must never be compared with each other:
#
# - **Binarised** (nats per image): one fixed Bernoulli draw of the test split, of which the same subset
#   is scored, the VAE and autoregressive chapters' protocol (dynamic binarisation in training). Rows: the
#   Concepts chapter's independent-pixel Bernoulli, fitted to one binarised draw of the training images;
#   the VAE chapter's fully connected VAE (negative ELBO and importance-weighted bound, $K$ in the settings
#   above); and the autoregressive chapter's MADE and PixelCNN, trained here from the package's recipes
#   (`MADE_RECIPE`, `PIXELCNN_RECIPE`), whose numbers are exact.
# - **8-bit** (bits per dimension, uniform dequantisation, the $D \log 256$ offset included): the Concepts
#   chapter's PCA Gaussian ($k$ = 32, a closed-form fit) and this chapter's flow, scored with the same
#   dequantisation noise.
#
# A diffusion model's variational bound is not in the table: the package has no evaluation of it that fits
# a CPU budget yet (it needs the bound's terms at hundreds of noise levels per image), so that family is
# missing here rather than estimated.
# Each row gives its training images, parameters, training seconds, sampling milliseconds per image on this
# CPU, and the score with its spread over seeds; published full-MNIST numbers are a separate context column,
# from models trained on 50,000-60,000 images.


# %% tags=["nbval-ignore-output"]
def fit_vae(seed):
    """The VAE chapter's MLP VAE (d = 20), dynamically binarised, on a time cap."""
    torch.manual_seed(seed)
    model = MLPVAE(VAEConfig(latent_dim=20)).train()
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
            vae_step(model, opt, xb, eps, beta=cfg.vae.beta)
        if time.perf_counter() - t0 > cfg.vae_seconds:
            break
    return model.eval(), time.perf_counter() - t0, epoch + 1


def fitted_numbers(model):
    """Parameters of a closed-form fit: its stored tensors (they are buffers)."""
    return count_parameters(model) + sum(b.numel() for b in model.buffers())


def fit_ar(build, recipe, seed):
    """A MADE or PixelCNN trained by the package's recipe: (model, seconds)."""
    torch.manual_seed(seed)
    model = build(recipe.model)
    result = train_autoregressive(model, x_train, replace(recipe.train, seed=seed))
    return model.eval(), result.seconds


def ms_per_image(sample, n=cfg.timed_samples):
    """Wall-clock milliseconds per sample, after one warm-up call."""
    with torch.no_grad():
        sample(2)
        t0 = time.perf_counter()
        sample(n)
    return 1000 * (time.perf_counter() - t0) / n


# the VAE and autoregressive chapters' protocol: one fixed draw of the whole test split,
# then the same scored subset, so these rows are on the images those chapters score
x_test_bin = torch.bernoulli(x_test, generator=torch.Generator().manual_seed(1))
x_eval_bin = x_test_bin[scored[: cfg.eval_images]]
x_train_bin = torch.bernoulli(x_train, generator=torch.Generator().manual_seed(0))
g = torch.Generator().manual_seed(0)

# binarised block
t0 = time.perf_counter()
pixel = PixelBernoulli.fit(x_train_bin, alpha=1.0)
pixel_seconds = time.perf_counter() - t0
with torch.no_grad():
    pixel_nll = -pixel.log_prob(x_eval_bin).mean().item()
vae_runs = [fit_vae(s) for s in cfg.seeds]
vae_evals = [
    evaluate_vae(m, x_eval_bin, binarized=True, k=cfg.k, seed=s)
    for (m, _, _), s in zip(vae_runs, cfg.seeds, strict=True)
]
vae = vae_runs[0][0]
vae_seconds = sum(s for _, s, _ in vae_runs) / len(vae_runs)
ar_builds = {"MADE": (MADE, cfg.made), "PixelCNN": (PixelCNN, cfg.pixelcnn)}
ar_runs = {
    name: [fit_ar(build, recipe, s) for s in cfg.seeds]
    for name, (build, recipe) in ar_builds.items()
}
ar_nll = {
    name: [evaluate_autoregressive(m, x_eval_bin).nats_per_example for m, _ in runs]
    for name, runs in ar_runs.items()
}


def vae_sample(n):
    logits = vae.decode(torch.randn(n, 20, generator=g))
    return torch.bernoulli(torch.sigmoid(logits), generator=g)


# 8-bit block
t0 = time.perf_counter()
pca = PCAGaussian.fit(dequantize_unit(x_train, generator=g), k=cfg.pca_k)
pca_seconds = time.perf_counter() - t0
pca_bpd = evaluate_normalizing_flow(pca, x_eval, seed=cfg.seeds[0]).bits_per_dim


def row(name, params, seconds, ms, scores, published):
    """One table row; scores has one value per seed (or one for a closed-form fit)."""
    m, s = mean_std(scores) if len(scores) > 1 else (scores[0], float("nan"))
    spread = "(one fit)" if len(scores) == 1 else f"± {s:.3f}"
    return (name, f"{len(x_train):,}", f"{params:,}", f"{seconds:.1f}", f"{ms:.3f}",
            f"{m:.3f} {spread}", published)  # fmt: skip


vae_ms = ms_per_image(vae_sample)
binarised = [
    row("independent pixels", fitted_numbers(pixel), pixel_seconds,
        ms_per_image(lambda n: pixel.sample(n, generator=g)), [pixel_nll], "-"),
    row("VAE, negative ELBO", count_parameters(vae), vae_seconds, vae_ms,
        [e.neg_elbo for e in vae_evals], "-"),
    row(f"VAE, IW bound K={cfg.k}", count_parameters(vae), vae_seconds, vae_ms,
        [e.iw_nll for e in vae_evals], "86.76 (K=5000)"),
] + [
    row(f"{name} (exact)", count_parameters(runs[0][0]),
        sum(sec for _, sec in runs) / len(runs),
        ms_per_image(lambda n, m=runs[0][0]: m.sample(n, generator=g),
                     cfg.timed_ar_samples),
        ar_nll[name], published)
    for (name, runs), published in zip(ar_runs.items(), ("88.0", "81.3"), strict=True)
]  # fmt: skip
eight_bit = [
    row(f"PCA Gaussian, k={cfg.pca_k}", fitted_numbers(pca), pca_seconds,
        ms_per_image(lambda n: pca.sample(n, generator=g)), [pca_bpd], "-"),
    row("RealNVP-style flow", flow_params, sum(flow_seconds) / len(flow_seconds),
        ms_per_image(lambda n: flow.sample(n, generator=g)), flow_bpd,
        "1.06 RealNVP, 1.05 Glow"),
]  # fmt: skip
head = ("model", "train imgs", "params", "train s", "ms/img", "score", "published")
widths = (24, 11, 10, 8, 8, 19, 24)


def show(title, rows):
    print(title)
    print("".join(f"{h:<{w}}" for h, w in zip(head, widths, strict=True)))
    for r in rows:
        print("".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)))
    print()


show(f"BINARISED MNIST: nats per image on {len(x_eval)} test images", binarised)
show(f"8-BIT MNIST: bits/dim on {len(x_eval)} test images (dequantised)", eight_bit)
print(f"spread: ± sample std over {len(cfg.seeds)} training seeds")
vae_iw = [e.iw_nll for e in vae_evals]
pca_cmp = compare_seeds(
    flow_bpd, [pca_bpd] * len(flow_bpd), names=("flow", "PCA Gaussian"),
    unit=" bits/dim",
)  # fmt: skip
vae_cmp = compare_seeds(
    vae_iw, [pixel_nll] * len(vae_iw), names=("VAE IW", "pixels"), unit=" nats"
)
best_ar = min(ar_nll, key=lambda name: mean_std(ar_nll[name])[0])
ar_cmp = compare_seeds(
    ar_nll[best_ar], vae_iw, names=(f"{best_ar} exact", "VAE IW bound"), unit=" nats"
)
print(pca_cmp)
print(vae_cmp)
print(ar_cmp)
for name, values in ar_nll.items():
    glue(f"nf_table_{name.lower()}", mean_std(values)[0])
    glue(f"nf_table_{name.lower()}_std", mean_std(values)[1])
glue("nf_table_best_ar", best_ar)
glue("nf_table_ar_gap", ar_cmp.diff)
glue("nf_table_ar_verdict", ar_cmp.verdict)
glue("nf_table_pixel_nll", pixel_nll)
glue("nf_table_vae_iw", mean_std(vae_iw)[0])
glue("nf_table_vae_iw_std", mean_std(vae_iw)[1])
glue("nf_table_vae_epochs", min(e for _, _, e in vae_runs))
glue("nf_table_pca_bpd", pca_bpd)
glue("nf_table_flow_minus_pca", pca_cmp.diff)
glue("nf_table_flow_minus_pca_low", pca_cmp.low)
glue("nf_table_flow_minus_pca_high", pca_cmp.high)
glue("nf_table_flow_verdict", pca_cmp.verdict)
glue("nf_table_vae_verdict", vae_cmp.verdict)
glue("nf_table_n_eval", len(x_eval))

# %% tags=["remove-cell"]
# Test: the orderings the text relies on hold in every seed: the VAE beats
# independent pixels by over 10 nats; the flow beats the PCA Gaussian.
assert all(v < pixel_nll - 10 for v in vae_iw), (vae_iw, pixel_nll)
assert all(b < pca_bpd for b in flow_bpd), (flow_bpd, pca_bpd)

# %% [markdown]
# **Reading the table.** In the binarised block the VAE's importance-weighted bound is
# {glue:text}`nf_table_vae_iw:.1f` ± {glue:text}`nf_table_vae_iw_std:.1f` nats (after
# {glue:text}`nf_table_vae_epochs` epochs, the autoregressive chapter's recipe), against
# {glue:text}`nf_table_pixel_nll:.1f` nats for independent pixels; the paired 95% interval of the difference
# over the seeds gives: {glue:text}`nf_table_vae_verdict`. The exact likelihoods of the autoregressive
# models are {glue:text}`nf_table_made:.1f` ± {glue:text}`nf_table_made_std:.1f` nats (MADE) and
# {glue:text}`nf_table_pixelcnn:.1f` ± {glue:text}`nf_table_pixelcnn_std:.1f` (PixelCNN); the better one,
# {glue:text}`nf_table_best_ar`, against the VAE's IW bound: {glue:text}`nf_table_ar_verdict`. Their
# price is in the ms/image column: 784 network evaluations per sample. In the 8-bit block the flow's exact likelihood
# and the PCA Gaussian's {glue:text}`nf_table_pca_bpd:.3f` bits/dim differ by
# {glue:text}`nf_table_flow_minus_pca:.2f` bits/dim (95% interval
# {glue:text}`nf_table_flow_minus_pca_low:.2f` to {glue:text}`nf_table_flow_minus_pca_high:.2f`):
# {glue:text}`nf_table_flow_verdict`. A number in one block says nothing about a number in the other.
# Every row was produced here, by the chapters' own models and recipes, on the same
# {glue:text}`nf_table_n_eval` test images (the autoregressive chapter scores the same images with the
# same seeds: its MADE and PixelCNN rows agree with these to the printed digit, its VAE rows within
# a few tenths of a nat); the published column is context, not a comparison (60,000 training images, far larger models).
#
# ## 5. What each family gives up
#
# What the table and the earlier chapters measured, family by family (sample quality is measured where the
# samples are grey-level images of the same kind: the case study's classifier-FID for the GAN and the VAE,
# the diffusion chapter's table for the diffusion models and the DCGAN; the binarised and dequantised
# models of this table are not scored on it):
#
# - A **flow** gives an exact likelihood and one-pass sampling (the table's ms/image), and pays with an
#   architecture constrained to be invertible, with as many latent dimensions as pixels: capacity goes into
#   every pixel, and the samples look worse than the bits/dim suggest (section 3).
# - A **VAE** samples in one pass too and has a smaller latent space, but gives only a bound on the
#   likelihood (tightened by importance sampling) and blurry means.
# - An **autoregressive** model gives the best exact likelihood of the table and pays at sampling time:
#   one network evaluation per pixel, in order (the autoregressive chapter measures the cost against the
#   GAN's one evaluation and the diffusion samplers' tens).
# - A **GAN** gives no likelihood at all; a **diffusion model** gives the best samples of the course but a
#   likelihood only through a bound that costs hundreds of network evaluations per image.
#
# The sampling cost of every row of the table, measured above on this CPU:

# %% tags=["nbval-ignore-output"]
rows = [r for r in binarised + eight_bit if not r[0].startswith("VAE, neg")]
# the VAE's two bounds share one sampler
cost = {"VAE" if r[0].startswith("VAE") else r[0]: float(r[4]) for r in rows}
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.barh(list(cost), list(cost.values()), color="tab:blue")
ax.set_xscale("log")
ax.set_xlabel("sampling time, ms per image (log scale)")
ax.invert_yaxis()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 6. Exercises
#
# Each checker runs your function on fresh random inputs, compares values (and gradients where the
# computation is differentiable) with the reference, and names the common mistakes it recognises.
#
# `````{exercise-start}
# :label: ex-nf-affine
# `````
#
# Write `my_affine_log_prob(x, a, b)`: the log-density of data `x` (B, D) under the flow
# $z = a \odot x + b$ with a standard-normal base, where `a` (D,) has no zero entries (some are negative)
# and `b` is (D,). Return one value per example, in nats.
#
# `````{exercise-end}
# `````

# %%
from aigc_course.exercises import (
    check_affine_flow_log_prob,
    check_coupling_inverse,
    check_coupling_log_det,
    check_dequantized_bits_per_dim,
)


def my_affine_log_prob(x, a, b):
    raise NotImplementedError


check_affine_flow_log_prob(my_affine_log_prob)

# %% [markdown]
# `````{solution-start} ex-nf-affine
# :class: dropdown
# `````


# %%
def my_affine_log_prob(x, a, b):
    z = a * x + b
    log_base = -0.5 * (z**2 + math.log(2 * math.pi)).sum(1)
    return log_base + torch.log(a.abs()).sum()


check_affine_flow_log_prob(my_affine_log_prob)

# %% [markdown]
# `````{solution-end}
# `````
#
# `````{exercise-start}
# :label: ex-nf-logdet
# `````
#
# Write `my_coupling_log_det(s, mask)`: the $\log|\det J|$ of an affine coupling, given the log-scales
# `s` (B, D) its conditioner produced and the mask (D,), 1 on the kept coordinates.
#
# `````{exercise-end}
# `````


# %%
def my_coupling_log_det(s, mask):
    raise NotImplementedError


check_coupling_log_det(my_coupling_log_det)

# %% [markdown]
# `````{solution-start} ex-nf-logdet
# :class: dropdown
# `````


# %%
def my_coupling_log_det(s, mask):
    return ((1 - mask) * s).sum(1)


check_coupling_log_det(my_coupling_log_det)

# %% [markdown]
# `````{solution-end}
# `````
#
# `````{exercise-start}
# :label: ex-nf-inverse
# `````
#
# Write `my_coupling_inverse(y, mask, s, t)`: the $x$ with
# $y = m \odot x + (1 - m) \odot (x \odot e^{s} + t)$, where `s` and `t` (B, D) are the conditioner's outputs
# on the kept part (which $x$ and $y$ share).
#
# `````{exercise-end}
# `````


# %%
def my_coupling_inverse(y, mask, s, t):
    raise NotImplementedError


check_coupling_inverse(my_coupling_inverse)

# %% [markdown]
# `````{solution-start} ex-nf-inverse
# :class: dropdown
# `````


# %%
def my_coupling_inverse(y, mask, s, t):
    return mask * y + (1 - mask) * (y - t) * torch.exp(-s)


check_coupling_inverse(my_coupling_inverse)

# %% [markdown]
# `````{solution-end}
# `````
#
# `````{exercise-start}
# :label: ex-nf-bpd
# `````
#
# Write `my_dequantized_bpd(log_density, num_dims, levels)`: bits per dimension of `levels`-valued images
# from the log-density (nats, one per image) of their dequantised versions in $[0, 1)^D$.
#
# `````{exercise-end}
# `````


# %%
def my_dequantized_bpd(log_density, num_dims, levels):
    raise NotImplementedError


check_dequantized_bits_per_dim(my_dequantized_bpd)

# %% [markdown]
# `````{solution-start} ex-nf-bpd
# :class: dropdown
# `````


# %%
def my_dequantized_bpd(log_density, num_dims, levels):
    nats = -log_density + num_dims * math.log(levels)
    return nats / (num_dims * math.log(2))


check_dequantized_bits_per_dim(my_dequantized_bpd)

# %% [markdown]
# `````{solution-end}
# `````
#
# ## Summary
#
# - A normalizing flow is an invertible map to a Gaussian; the change of variables makes its likelihood
#   exact, and sampling is one pass through the inverse.
# - Coupling layers make the Jacobian triangular, so $\log|\det J|$ is a sum of log-scales, whatever the
#   conditioner networks are; check every layer against autograd and its inverse on small inputs.
# - What the coupling does to the transformed coordinate matters: on the sharp ring, spline couplings
#   come within a few hundredths of a nat of the true density where affine ones stay a nat or more away
#   on the same budget.
# - Discrete images need dequantisation; with data on $[0, 1]$, 8-bit images pay exactly 8 bits/dim for
#   the bin width, and a uniform density scores 8.0.
# - Report likelihoods with their protocol (binarised in nats per image, 8-bit in bits/dim, never mixed),
#   their spread over seeds, and the training budget.
# - Good bits/dim is not good samples: a flow spends much of its capacity on background pixels and noise.
