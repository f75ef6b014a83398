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
# # Applications, measured
#
# The source article closes with a list of applications of {term}`AIGC` (art, virtual worlds, advertising,
# game design, medical imaging) and of challenges (compute, privacy, ethics, interpretability), in prose
# only. This chapter turns each item into a small demo on real data, and measures it. The models are
# small and the images are 28 x 28, so none of this is a product; the point is to see *what each
# application asks of a generative model*, and how to check whether a model delivers it.
#
# Almost every application needs **control**: not "an image", but "a sneaker", "a seven", "this item in
# another colour". So we start with {term}`conditional generation`, the article's "labels steer what is
# generated", and build everything else on it.
#
# | section | application | what is measured |
# |---|---|---|
# | 1 | controlled generation | how often the requested digit is produced |
# | 2 | design, advertising, e-commerce | requested garment class; variations of one item |
# | 3 | art and creative tools | interpolation, latent arithmetic (ink added) |
# | 4 | games and virtual worlds | variety of the generated assets |
# | 5 | medical imaging | test accuracy of a classifier trained with and without synthetic images |
# | 6 | AI-image detection | accuracy of a real-vs-generated classifier, on a seen and an unseen generator |
# | 7 | challenges | memorisation, compute time, latent traversals |

# %% tags=["hide-input", "nbval-ignore-output"]
import time
from dataclasses import dataclass, replace

import aigc_course
import torch
import torch.nn.functional as F
from aigc_course.data import (
    ImageData,
    load_fashion_mnist,
    load_mnist,
    to_signed,
    to_unit,
)
from aigc_course.metrics import (
    classifier_features,
    cross_detection,
    nearest_neighbours,
    precision_recall,
)
from aigc_course.models import (
    ClassifierConfig,
    ConditionalDiscriminator,
    ConditionalGANConfig,
    ConditionalGenerator,
    ConditionalVAE,
    ConditionalVAEConfig,
    LeNetClassifier,
)
from aigc_course.models.conditional import generate
from aigc_course.notebook import count_parameters, glue, mean_std, show_settings
from aigc_course.train import GANTrainConfig, train_gan, trained_classifier
from aigc_course.train.classifier import (
    ClassifierTrainConfig,
    classifier_accuracy,
    train_classifier,
)
from aigc_course.train.vae import VAETrainConfig, train_vae
from aigc_course.viz import show_image_rows


@dataclass(frozen=True)
class ApplicationsConfig:
    cvae: ConditionalVAEConfig = ConditionalVAEConfig(latent_dim=4, hidden=400)
    cvae_train: VAETrainConfig = VAETrainConfig(
        epochs=60, batch_size=64, lr=3e-3, progress=False
    )
    cgan: ConditionalGANConfig = ConditionalGANConfig(latent_dim=64, hidden=(256, 512))
    cgan_train: GANTrainConfig = GANTrainConfig(
        steps=4000, batch_size=64, n_fixed=100, progress=False
    )
    n_per_class: int = 100  # images requested per class when measuring
    fashion_cvae: ConditionalVAEConfig = ConditionalVAEConfig(latent_dim=2, hidden=400)
    fashion_n_train: int = 60_000  # Fashion-MNIST training images for the apparel model
    fashion_train: VAETrainConfig = VAETrainConfig(
        epochs=5, batch_size=32, lr=3e-3, progress=False
    )
    fashion_clf_n: int = 6000  # Fashion-MNIST judge's training images (both modes)
    fashion_clf_train: ClassifierTrainConfig = ClassifierTrainConfig(
        epochs=3, max_shift=0, progress=False
    )
    few_shot_per_class: int = 10
    few_shot_seeds: tuple[int, ...] = (0, 1, 2)
    few_shot_cvae_train: VAETrainConfig = VAETrainConfig(
        epochs=300, batch_size=20, lr=2e-3, progress=False
    )
    synthetic_per_class: int = 100
    few_shot_clf_train: ClassifierTrainConfig = ClassifierTrainConfig(
        epochs=40, batch_size=20, progress=False
    )
    detector_n: int = 2000  # real and generated training images of the detector, each
    detector_train: ClassifierTrainConfig = ClassifierTrainConfig(
        epochs=3, max_shift=0, progress=False
    )
    detector_seeds: tuple[int, ...] = (0, 1, 2)


cfg = ApplicationsConfig()
if aigc_course.quick_mode():
    cfg = replace(
        cfg,
        cvae_train=replace(cfg.cvae_train, epochs=20),
        cgan_train=replace(cfg.cgan_train, steps=800),
        fashion_n_train=6000,
        fashion_train=replace(cfg.fashion_train, epochs=8),
        few_shot_seeds=(0, 1),
        few_shot_cvae_train=replace(cfg.few_shot_cvae_train, epochs=100),
        few_shot_clf_train=replace(cfg.few_shot_clf_train, epochs=30),
        detector_n=500,
        detector_seeds=(0, 1),
    )
device = str(aigc_course.get_device())
timings = {}  # seconds of training, for the compute-cost table of section 7
print("quick mode" if aigc_course.quick_mode() else "full mode", "on", device)
show_settings(cfg, width=19, align=">", sep=": ", wrap=None)  # nested: what differs

# %% [markdown]
# The data: MNIST for digits (offline, the course falls back to 5,000 real training images, and says so) and
# the MNIST test split for everything that must be held out. The judge of "which digit is this?" is the small
# LeNet classifier of the case study (section 2, "The measuring instrument"), trained once on the training split and cached.

# %% tags=["nbval-ignore-output"]
mnist, mnist_test = load_mnist("train"), load_mnist("test")
x_train, y_train = to_unit(mnist.images), mnist.labels  # (N, 1, 28, 28) in [0, 1]
x_test, y_test = to_unit(mnist_test.images), mnist_test.labels
judge = trained_classifier(mnist, mnist_test)

# %% [markdown]
# ## 1. Controlled generation
#
# A conditional model learns $p(x \mid y)$, the distribution of images *of class* $y$, by giving the label to
# every network {cite:p}`mirza2014`:
#
# * the {term}`conditional GAN`'s generator gets $[z, \operatorname{onehot}(y)]$; its discriminator is a
#   {term}`projection discriminator` {cite:p}`miyato2018`, which scores the image features $\phi(x)$ with a
#   class-independent term plus their inner product with a learned embedding of the class, so "a real image,
#   but of the wrong class" is judged fake:
#
# ```{literalinclude} ../aigc_course/models/conditional.py
# :pyobject: ConditionalDiscriminator.forward
# ```
#
# * the {term}`conditional VAE` {cite:p}`sohn2015` gives the one-hot label to the encoder and to the decoder, and
#   maximises the conditional {term}`ELBO`
#   $\mathbb E_{q(z\mid x,y)}[\log p(x\mid z,y)] - \mathrm{KL}(q(z\mid x,y)\,\|\,\mathcal N(0, I))$:
#
# ```{literalinclude} ../aigc_course/models/conditional.py
# :pyobject: ConditionalVAE._decoder_input
# ```
#
# `train_gan` and `train_vae` take the labels as one extra argument, `labels=y_train`: real batches then come with
# their labels, and the GAN's generated batches with labels drawn uniformly from the ten classes.

# %% tags=["nbval-ignore-output"]
torch.manual_seed(0)
cvae = ConditionalVAE(cfg.cvae)
t0 = time.perf_counter()
train_vae(cvae, x_train, replace(cfg.cvae_train, device=device), labels=y_train)
timings["conditional VAE, MNIST"] = time.perf_counter() - t0

torch.manual_seed(0)
cgan_G, cgan_D = ConditionalGenerator(cfg.cgan), ConditionalDiscriminator(cfg.cgan)
t0 = time.perf_counter()
train_gan(
    cgan_G,
    cgan_D,
    to_signed(mnist.images),
    replace(cfg.cgan_train, device=device),
    labels=y_train,
)
timings["conditional GAN, MNIST"] = time.perf_counter() - t0
cvae.cpu(), cgan_G.cpu()
for name, seconds in timings.items():
    print(f"{name}: trained in {seconds:.0f} s")

# %% [markdown]
# Now ask each model for ten images of each digit, one row per requested digit:

# %% tags=["nbval-ignore-output"]
def request_each_class(model, n, seed=0, classes=10):
    r"""n images of every class, class after class, and the requested labels."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.cat([generate(model, n, k, generator=gen) for k in range(classes)])
    return images, torch.arange(classes).repeat_interleave(n)


shown = {
    name: request_each_class(model, 10)[0]
    for name, model in (("conditional VAE", cvae), ("conditional GAN", cgan_G))
}
show_image_rows(
    {f"{name} (row k: digit k requested)": imgs for name, imgs in shown.items()},
    nrow=10,
    width=5,
)
plt.show()

# %% [markdown]
# Looking is not measuring. The {term}`hit rate` is the share of images that the judge classifies as the class
# that was requested. Real test images give a reference level, not a ceiling: the judge makes mistakes on them
# too, and prototypical generated digits, or digits like the 5,000 training images that both the judge and the
# generators were trained on, can score above it:

# %% tags=["nbval-ignore-output"]
def hit_rate(images, requested, classifier=judge):
    probs = classifier_features(classifier, images).probs
    return (probs.argmax(dim=1) == requested).double().mean().item(), probs


requests = {
    name: request_each_class(model, cfg.n_per_class)
    for name, model in (("conditional VAE", cvae), ("conditional GAN", cgan_G))
}
hits = {name: hit_rate(*req)[0] for name, req in requests.items()}
hits["real test images"] = hit_rate(x_test[:2000], y_test[:2000])[0]
for name, rate in hits.items():
    print(f"{name:>17}: {rate:6.1%} of images are the requested digit")
glue("app_hit_vae", 100 * hits["conditional VAE"])
glue("app_hit_gan", 100 * hits["conditional GAN"])
per_class = {
    name: [hit_rate(imgs[req == k], req[req == k])[0] for k in range(10)]
    for name, (imgs, req) in requests.items()
}
print("per requested digit:", *range(10), sep="     ")
for name, rates in per_class.items():
    print(f"{name:>17}:", " ".join(f"{r:5.0%}" for r in rates))

# %% tags=["remove-cell"]
# Test: the conditional VAE produces the requested digit at least 90% of the time
# (also in quick mode).
assert hits["conditional VAE"] >= 0.90, hits

# %% [markdown]
# Both models follow the request most of the time. A conditional VAE could also ignore the label, by storing
# the digit's identity in $z$ instead; its decoder would then draw a random digit from a random $z$. We gave it
# only four latent dimensions, too few to store both the digit and its style comfortably, so the label is the
# cheaper place for the identity. (Try `latent_dim=16` in the settings and measure the hit rate again.)
#
# `````{exercise-start}
# :label: ex-app-hit-rate
# `````
#
# Write `my_hit_rate(probs, requested)`: given a classifier's probabilities `probs` (N, K) for N generated
# images and the requested classes `requested` (N,), return the share of images whose most probable class is
# the requested one.
#
# `````{exercise-end}
# `````

# %%
from aigc_course.exercises import (
    check_class_accuracy,
    check_interpolation,
    check_mean_pairwise_distance,
)


def my_hit_rate(probs, requested):
    raise NotImplementedError


check_class_accuracy(my_hit_rate)

# %% [markdown]
# `````{solution-start} ex-app-hit-rate
# :class: dropdown
# `````

# %%
def my_hit_rate(probs, requested):
    return (probs.argmax(dim=1) == requested).float().mean().item()


check_class_accuracy(my_hit_rate)

# %% [markdown]
# `````{solution-end}
# `````
#
# ## 2. Design, advertising and e-commerce
#
# A shop wants pictures of products in a category, and variants of one product. Fashion-MNIST
# {cite:p}`xiao2017` has 70,000 grey-scale 28 x 28 photos of Zalando articles in ten categories. Offline, the
# course reads it from Debian's `dataset-fashion-mnist` package (`apt-get install dataset-fashion-mnist`); the
# line below says where it came from. We train the same conditional VAE on it, and a LeNet judge on
# `fashion_clf_n` of its training images.

# %% tags=["nbval-ignore-output"]
from aigc_course.data import FASHION_MNIST_CLASSES

fashion, fashion_test = load_fashion_mnist("train"), load_fashion_mnist("test")
xf_train = to_unit(fashion.images[: cfg.fashion_n_train])
yf_train = fashion.labels[: cfg.fashion_n_train]
xf_test, yf_test = to_unit(fashion_test.images), fashion_test.labels

torch.manual_seed(0)
fashion_cvae = ConditionalVAE(cfg.fashion_cvae)
t0 = time.perf_counter()
train_vae(
    fashion_cvae, xf_train, replace(cfg.fashion_train, device=device), labels=yf_train
)
timings["conditional VAE, Fashion-MNIST"] = time.perf_counter() - t0
fashion_cvae.cpu()
seconds = timings["conditional VAE, Fashion-MNIST"]
print(f"conditional VAE on {len(xf_train):,} Fashion-MNIST images: {seconds:.0f} s")

judge_subset = ImageData(
    fashion.images[: cfg.fashion_clf_n],
    fashion.labels[: cfg.fashion_clf_n],
    fashion.source,
    fashion.name,
    fashion.split,
    fashion.location,
)
fashion_judge = trained_classifier(
    judge_subset, fashion_test, train_cfg=cfg.fashion_clf_train
)

# %% tags=["nbval-ignore-output"]
f_images, f_requested = request_each_class(fashion_cvae, cfg.n_per_class)
f_rate, _ = hit_rate(f_images, f_requested, fashion_judge)
f_real, _ = hit_rate(xf_test[:2000], yf_test[:2000], fashion_judge)
print(f"requested category produced: {f_rate:.1%}")
print(f"the judge on real test images: {f_real:.1%}")
glue("app_fashion_rate", 100 * f_rate)
glue("app_fashion_judge", 100 * f_real)
show_image_rows(
    {
        f"{FASHION_MNIST_CLASSES[k]}": f_images[
            k * cfg.n_per_class : k * cfg.n_per_class + 12
        ]
        for k in range(10)
    },
    nrow=12,
    width=7,
)
plt.show()

# %% [markdown]
# Compare the hit rate, {glue:text}`app_fashion_rate:.1f` %, with the judge's accuracy on real photos,
# {glue:text}`app_fashion_judge:.1f` %: the judge is a LeNet trained for only 3 epochs on 6,000 images, and it
# confuses shirts, pullovers and coats even on real photos, so part of the shortfall is the judge's. The
# VAE's blurry images are also further from the photos the judge was trained on, and the VAE itself is small
# (two latent dimensions) and briefly trained. The grid shows the rest: most images in a row are the requested
# category, some are not. A better judge (more epochs, more images) would separate the two causes.
#
# **Variations of one item.** Encode a real product photo with its category, $q(z \mid x, y) =
# \mathcal N(\mu, \sigma^2)$. Decoding $\mu$ gives the model's reconstruction of that item; decoding codes near
# $\mu$ gives variants of it. Decoding $\mu$ with *every* category shows how much of the item the code holds: if
# the label alone decided the category, we would see ten different garments in the boot's brightness and size;
# where the boot's shape survives, part of the category is stored in $z$.

# %% tags=["nbval-ignore-output"]
boot = int((yf_test == FASHION_MNIST_CLASSES.index("Ankle boot")).nonzero()[0])
item, item_label = xf_test[boot : boot + 1], yf_test[boot : boot + 1]
with torch.no_grad():
    mu, logvar = fashion_cvae.encode(item, item_label)
    gen = torch.Generator().manual_seed(1)
    near = mu + 0.7 * torch.randn(10, mu.shape[1], generator=gen)
    variants = torch.sigmoid(
        fashion_cvae.decode(torch.cat([mu, near]), item_label.expand(11))
    )
    other = torch.sigmoid(fashion_cvae.decode(mu.expand(10, -1), torch.arange(10)))
show_image_rows(
    {
        "the real item, its reconstruction, then 10 variants (codes near it)": (
            torch.cat([item, variants])
        ),
        "the same code decoded as each of the 10 categories": other,
    },
    nrow=12,
    width=7,
)
plt.show()

# %% [markdown]
# The variants are plausible and blurry: a VAE's decoder outputs the *mean* image given $z$, which averages away
# texture. Product pictures would need a sharper model (the GAN chapter's models, or diffusion models) and far
# more resolution. Two things carry over unchanged: control comes from conditioning, and a code from the encoder
# is a handle on one particular item.
#
# ## 3. Art and creative tools
#
# Artists use generators as instruments: walking through the {term}`latent space` to morph one image into
# another ({term}`latent interpolation`), and adding directions to codes ({term}`latent arithmetic`).
#
# `````{exercise-start}
# :label: ex-app-interpolation
# `````
#
# Write `my_interpolate(z0, z1, steps)`: `steps` evenly spaced codes on the straight line from `z0` to `z1`
# (both included), as a tensor of shape `(steps, d)`.
#
# `````{exercise-end}
# `````

# %%
def my_interpolate(z0, z1, steps):
    raise NotImplementedError


check_interpolation(my_interpolate)

# %% [markdown]
# `````{solution-start} ex-app-interpolation
# :class: dropdown
# `````

# %%
def my_interpolate(z0, z1, steps):
    t = torch.linspace(0, 1, steps).view(-1, 1)
    return (1 - t) * z0 + t * z1


check_interpolation(my_interpolate)

# %% [markdown]
# `````{solution-end}
# `````
#
# Interpolating between two random codes, and decoding the *same* path as four different digits: the style
# changes along the row, the digit stays what was asked for.

# %% tags=["nbval-ignore-output"]
from aigc_course.models import latent_path  # the package's version of the exercise

gen = torch.Generator().manual_seed(3)
z0, z1 = torch.randn(2, cfg.cvae.latent_dim, generator=gen)
path = latent_path(z0, z1, 10)
with torch.no_grad():
    rows = {
        f"digit {k}": torch.sigmoid(cvae.decode(path, torch.full((10,), k)))
        for k in (2, 3, 5, 8)
    }
show_image_rows(rows, nrow=10, width=7)
plt.show()

# %% [markdown]
# **Latent arithmetic.** Which direction of $z$ means "more ink"? Encode the training images, take the mean code
# of the quarter with the most ink minus that of the quarter with the least, and add multiples of this
# direction to new codes. The judge-free measurement: the mean pixel intensity of the decoded images.

# %% tags=["nbval-ignore-output"]
with torch.no_grad():
    mu_train, _ = cvae.encode(x_train, y_train)
ink = x_train.mean(dim=(1, 2, 3))
low, high = ink.quantile(0.25), ink.quantile(0.75)
ink_direction = mu_train[ink >= high].mean(0) - mu_train[ink <= low].mean(0)
alphas = torch.linspace(-1.5, 1.5, 7)
z = torch.randn(200, cfg.cvae.latent_dim, generator=torch.Generator().manual_seed(4))
labels = torch.arange(200) % 10
gallery, ink_by_digit = [], []
with torch.no_grad():
    for a in alphas:
        imgs = torch.sigmoid(cvae.decode(z + a * ink_direction, labels))
        gallery.append(imgs[:10])
        per_image = imgs.mean(dim=(1, 2, 3))
        ink_by_digit.append([per_image[labels == k].mean().item() for k in range(10)])
ink_by_digit = torch.tensor(ink_by_digit)  # (alphas, digits)
print("mean ink of the decoded images, by digit (rows) and alpha (columns)")
print("alpha:", " ".join(f"{a:6.2f}" for a in alphas.tolist()))
for k in range(10):
    print(f"    {k}:", " ".join(f"{v:6.3f}" for v in ink_by_digit[:, k].tolist()))
print(" all:", " ".join(f"{v:6.3f}" for v in ink_by_digit.mean(1).tolist()))
rises = (ink_by_digit.diff(dim=0) > 0).all(dim=0)
print(f"ink rises with alpha at every step for {int(rises.sum())} of 10 digits")
glue("app_ink_digits", int(rises.sum()))
show_image_rows(
    {
        f"z + {a:.1f} x ink direction": g
        for a, g in zip(alphas.tolist(), gallery, strict=False)
    },
    nrow=10,
    width=6,
)
plt.show()

# %% [markdown]
# The direction was found from data, without any label for "thickness", and it transfers across digits: the
# ink rises with $\alpha$ at every step for {glue:text}`app_ink_digits` of the 10 digits, though at the largest
# $\alpha$ some digits (look at the 1s) turn into blots rather than bolder strokes. That is what makes latent
# arithmetic a creative tool. It is also a warning: the same procedure finds a direction for
# *any* attribute that can be measured on the training data, including attributes of people.
#
# ## 4. Games and virtual worlds
#
# Procedural content needs *variety*: a thousand trees in a forest should not be one tree. A generator that
# repeats itself ({term}`mode collapse`, within a class) is useless here even if each image is good. Two
# measurements in the judge's feature space: the mean distance between two images of the same class (higher =
# more varied; real images set the scale), and {term}`precision and recall` against real images
# {cite:p}`kynkaanniemi2019`, where recall is the share of real images that have a generated image nearby.
#
# `````{exercise-start}
# :label: ex-app-diversity
# `````
#
# Write `my_mean_pairwise_distance(features)`: the mean Euclidean distance between the rows of `features`
# (N, F), over all pairs of *different* rows.
#
# `````{exercise-end}
# `````

# %%
def my_mean_pairwise_distance(features):
    raise NotImplementedError


check_mean_pairwise_distance(my_mean_pairwise_distance)

# %% [markdown]
# `````{solution-start} ex-app-diversity
# :class: dropdown
# `````

# %%
def my_mean_pairwise_distance(features):
    return (
        F.pdist(features).mean().item()
    )  # pdist lists each pair of different rows once


check_mean_pairwise_distance(my_mean_pairwise_distance)

# %% [markdown]
# `````{solution-end}
# `````

# %% tags=["nbval-ignore-output"]
# the package's version of the exercise, so this runs whether or not it is solved
from aigc_course.metrics import mean_pairwise_distance


def per_class(images_of, k, start=0):
    return images_of[k][start : start + cfg.n_per_class]


test_by_class = [x_test[y_test == k] for k in range(10)]
# the yardstick: real images against *other* real images of the same classes
real_reference = torch.cat([per_class(test_by_class, k) for k in range(10)])
sets = {
    "real test images": torch.cat(
        [per_class(test_by_class, k, start=cfg.n_per_class) for k in range(10)]
    ),
    **{name: imgs for name, (imgs, _) in requests.items()},
}
real_features = classifier_features(judge, real_reference).features
print(f"{'':>17}  within-class distance  precision  recall")
variety = {}
for name, imgs in sets.items():
    feats = classifier_features(judge, imgs).features
    n = cfg.n_per_class
    per_class_distance = [
        mean_pairwise_distance(feats[k * n : (k + 1) * n]) for k in range(10)
    ]
    pr = precision_recall(real_features, feats, k=3)
    variety[name] = (sum(per_class_distance) / 10, pr.precision, pr.recall)
    print(
        f"{name:>17}  {variety[name][0]:21.2f}  {pr.precision:9.2f}  {pr.recall:6.2f}"
    )
for name, (distance, precision, recall) in variety.items():
    key = name.split()[-1].lower()  # "images", "vae", "gan"
    glue(f"app_var_{key}_precision", precision)
    glue(f"app_var_{key}_recall", recall)
    glue(f"app_var_{key}_distance", distance)

# %% [markdown]
# Read the columns together. The real row is measured against a *different* set of real test images of the same
# classes and size, so it shows what precision and recall look like for data that is exactly as good as real:
# precision {glue:text}`app_var_images_precision:.2f`, recall {glue:text}`app_var_images_recall:.2f`, well
# below 1 with only 100 images per class, because a finite set does not cover another finite set. Against that
# yardstick, the conditional VAE's precision was {glue:text}`app_var_vae_precision:.2f` and its recall
# {glue:text}`app_var_vae_recall:.2f`; the conditional GAN's {glue:text}`app_var_gan_precision:.2f` and
# {glue:text}`app_var_gan_recall:.2f`. A generator can buy precision with variety: prototypical, slightly
# blurred digits can land inside the real balls more often than real digits do, while their within-class
# distances (VAE {glue:text}`app_var_vae_distance:.1f`, GAN {glue:text}`app_var_gan_distance:.1f`, real
# {glue:text}`app_var_images_distance:.1f`) show how much less they vary. The textbook story ("the GAN's loss
# punishes blur but not repetition, the VAE's punishes missing modes but not blur") predicts a higher recall
# for the VAE; compare it with the recall column of this run (one training seed per model) before believing
# it. This is why we report these numbers and do not assert them.
#
# ## 5. Medical imaging, done carefully
#
# Labelled medical images are scarce and expensive: each label is an expert's time, and each image is a
# patient's data. A proposal that comes up again and again {cite:p}`fridadar2018`: train a conditional generator
# on the few labelled images and add its samples, {term}`synthetic data`, to the classifier's training set as a
# learned {term}`data augmentation`. We test the idea with MNIST
# as a stand-in (a digit is not a lesion, see the caveats below) and 10 labelled images per class
# ({term}`few-shot learning`):
#
# 1. **real only**: a LeNet classifier trained on the 100 real images (with random shifts, a standard
#    augmentation);
# 2. **real + synthetic**: the same, plus 100 images per class from a conditional VAE trained on *the same
#    100 images*;
# 3. **real + synthetic from a model that saw more labels**: the synthetic images come from section 1's model,
#    trained on all the labelled training images. This row is **not a fair comparison**: the generator smuggles
#    the labels of thousands of images into the classifier. Papers that report large gains from synthetic data
#    need to be read with this row in mind.
#
# In rows 2 and 3 the real images are repeated so that every batch is half real and half synthetic, and the
# classifier trains until each real image has been seen as often as in row 1: the synthetic images come on
# top, instead of diluting the real ones. A fourth line is the honest upper control: the judge, the same
# LeNet trained on all 5,000 labelled training images. All are tested on the 10,000 real test images, and the
# whole experiment is repeated for several seeds (a new draw of the 100 images, new networks).

# %% tags=["nbval-ignore-output"]
def few_shot_subset(per_class, seed):
    gen = torch.Generator().manual_seed(seed)
    idx = []
    for k in range(10):
        of_class = (y_train == k).nonzero()[:, 0]
        idx.append(of_class[torch.randperm(len(of_class), generator=gen)[:per_class]])
    idx = torch.cat(idx)
    return x_train[idx], y_train[idx]


def train_and_test(images, labels, seed, epochs=None):
    train_cfg = replace(cfg.few_shot_clf_train, seed=seed, device=device)
    if epochs is not None:
        train_cfg = replace(train_cfg, epochs=epochs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        clf = LeNetClassifier(ClassifierConfig())
    train_classifier(clf, images, labels, train_cfg)
    return classifier_accuracy(clf.cpu(), x_test, y_test)


def with_synthetic(x_real, y_real, x_synth, y_synth, seed):
    """Half real, half synthetic batches; each real image seen as often as alone."""
    copies = len(x_synth) // len(x_real)
    images = torch.cat([x_real.repeat(copies, 1, 1, 1), x_synth])
    labels = torch.cat([y_real.repeat(copies), y_synth])
    epochs = max(1, round(cfg.few_shot_clf_train.epochs / copies))
    return train_and_test(images, labels, seed, epochs)


few_shot = {
    "real only": [],
    "real + synthetic (same 100 images)": [],
    "real + synthetic (model saw all labels)": [],
}
few_shot_models = []
t0 = time.perf_counter()
for seed in cfg.few_shot_seeds:
    x_few, y_few = few_shot_subset(cfg.few_shot_per_class, seed)
    torch.manual_seed(seed)
    small_cvae = ConditionalVAE(cfg.cvae)
    train_vae(
        small_cvae,
        x_few,
        replace(cfg.few_shot_cvae_train, seed=seed, device=device),
        labels=y_few,
    )
    small_cvae.cpu()
    few_shot_models.append((small_cvae, x_few, y_few))
    n = cfg.synthetic_per_class
    synth_small, y_synth = request_each_class(small_cvae, n, seed=seed)
    synth_big, _ = request_each_class(cvae, n, seed=seed)
    few_shot["real only"].append(train_and_test(x_few, y_few, seed))
    for key, synth in (
        ("real + synthetic (same 100 images)", synth_small),
        ("real + synthetic (model saw all labels)", synth_big),
    ):
        few_shot[key].append(with_synthetic(x_few, y_few, synth, y_synth, seed))
timings["few-shot experiment (all models)"] = time.perf_counter() - t0


print(f"test accuracy on {len(x_test):,} real test images;")
print(f"{cfg.few_shot_per_class} labelled images per class; seeds {cfg.few_shot_seeds}")
for name, accs in few_shot.items():
    m, sd = mean_std(accs)
    each = "  ".join(f"{a:.1%}" for a in accs)
    print(f"  {name:<40} {each}   mean {m:.1%} ± {sd:.1%}")
judge_acc = classifier_accuracy(judge, x_test, y_test)
print(f"  {'control: LeNet on all 5,000 labels (judge)':<40} {judge_acc:.1%}")
glue("app_aug_real_min", 100 * min(few_shot["real only"]))
glue("app_aug_real_max", 100 * max(few_shot["real only"]))
change = [
    b - a
    for a, b in zip(
        few_shot["real only"],
        few_shot["real + synthetic (same 100 images)"],
        strict=True,
    )
]
glue("app_aug_change", 100 * mean_std(change)[0])
glue("app_aug_change_std", 100 * mean_std(change)[1])
glue("app_aug_worse", sum(c < 0 for c in change))
glue("app_aug_seeds", len(change))
glue("app_aug_judge", 100 * judge_acc)

# %% [markdown]
# The honest comparison is row 2 against row 1. Adding synthetic images from a generator trained on the same
# 100 images changed the test accuracy by {glue:text}`app_aug_change:+.1f` ± {glue:text}`app_aug_change_std:.1f`
# points (mean ± std over seeds of the paired difference), and lowered it in {glue:text}`app_aug_worse` of
# {glue:text}`app_aug_seeds` seeds. A generator trained on the same 100 images can only recombine what those
# images contain; it can smooth the classifier's decision boundaries (a learned augmentation), or it can add its
# own mistakes, for example a "4" that looks like a "9" but carries the label 4. Row 3 is better because of the
# extra labels, not because of generation, and the control shows what those labels are worth when used
# directly: {glue:text}`app_aug_judge:.1f` %.
#
# ```{admonition} Caveats of synthetic data in medicine
# :class: warning
# * **No new information.** A generator trained on the labelled set cannot know anything that the set does not
#   contain; rare findings that are missing from it stay missing.
# * **Label noise.** A synthetic image inherits the label that was requested, whether or not the generator
#   produced that finding; an expert never checked it.
# * **Artefacts and shortcuts.** A classifier can learn to recognise generator artefacts instead of anatomy,
#   and then fail on real scans.
# * **Privacy is not automatic.** A generator trained on 100 patients can reproduce their images (section 7
#   measures exactly this), so synthetic data may still be personal data.
# * **Evaluation must be on real, held-out patients**, ideally from another hospital, and the gain must be
#   compared with honest baselines (classic augmentation, more labels) {cite:p}`chen2021synthetic`.
# ```
#
# ## 6. AI-image detection
#
# "Is this image generated?" ({term}`AI-image detection`, the article's "AI图片识别") is a classification problem: train a classifier on real images (label 0) and
# generated ones (label 1), and measure it on images it has not seen. Both sets are saved as 8-bit images
# first, as any image file would be, so the detector cannot cheat on the number of grey levels. The real images
# come from the test split, which no generator has seen.

# %% tags=["nbval-ignore-output"]
def fit_detector(images, labels, seed):
    """A two-class LeNet initialised from seed, trained: real (0) vs generated (1)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        detector = LeNetClassifier(ClassifierConfig(num_classes=2))
    run = replace(cfg.detector_train, seed=seed, device=device)
    train_classifier(detector, images, labels, run)
    return detector.cpu()


n_fake = 2 * cfg.detector_n
fake_sets = {}
for name, model, seed in (
    ("conditional VAE", cvae, 10),
    ("conditional GAN", cgan_G, 11),
):
    imgs, _ = request_each_class(model, n_fake // 10, seed=seed)
    fake_sets[name] = imgs[
        torch.randperm(n_fake, generator=torch.Generator().manual_seed(seed))
    ]


t0 = time.perf_counter()
# fit on test images 0..n and generated images 0..n; score on images n..2n of each
result = cross_detection(
    fit_detector,
    classifier_accuracy,
    x_test,
    fake_sets,
    n=cfg.detector_n,
    seeds=cfg.detector_seeds,
)
detection, baseline = result.accuracy, result.threshold  # baseline: grey-share rule
timings["real-vs-generated detectors (all seeds)"] = time.perf_counter() - t0
print("accuracy on held-out images, half real, half generated (50% = guessing);")
print(f"LeNet detector: mean ± std over seeds {cfg.detector_seeds};")
print("one-number detector: the best threshold on the share of grey pixels\n")
names = list(fake_sets)
print(f"{'trained against':>18} | " + " | ".join(f"tested on {n:>15}" for n in names))
for trained_on in names:
    cells = []
    for tested_on in names:
        m, sd = mean_std(detection[trained_on, tested_on])
        cells.append(f"{m:18.1%} ± {sd:4.1%}")
    print(f"{trained_on:>18} | " + " | ".join(cells))
    cells = [f"{baseline[trained_on, t]:25.1%}" for t in names]
    print(f"{'(grey-share rule)':>18} | " + " | ".join(cells))
cross = [mean_std(detection[a, b])[0] for a in names for b in names if a != b]
glue("app_det_cross_min", 100 * min(cross))
glue("app_det_cross_max", 100 * max(cross))
same = [mean_std(detection[a, a])[0] for a in names]
glue("app_det_same_min", 100 * min(same))

# %% [markdown]
# On the diagonal, the detector faces the generator it was trained against; off the diagonal, a generator it has
# never seen. Detection of *known* generators of this size is easy (at least {glue:text}`app_det_same_min:.1f` %
# on the diagonal, averaged over seeds), and against the unseen generator the accuracy was
# {glue:text}`app_det_cross_min:.1f`–{glue:text}`app_det_cross_max:.1f` %. What does the detector use? The
# one-number rule beneath each row, a threshold on the share of grey pixels, is a hint: where it comes close to
# the LeNet, blur (many grey pixels, the VAE) or its absence is most of what separates the sets. Compare the
# off-diagonal cells as well: trained against the VAE, the LeNet falls towards guessing on the unseen GAN,
# while the grey-share rule, one hand-chosen feature, keeps most of its accuracy. A learned detector can pick up
# traces specific to the generator it saw, and a simple feature can transfer better; what else the LeNet uses
# we have not measured.
#
# Whether a detector generalises to unseen generators depends on what it was trained on. Wang et al. found that a
# detector trained on one CNN generator (ProGAN) with blur and JPEG augmentation generalised surprisingly well to
# other CNN generators of its time {cite:p}`wang2020cnn`; later work showed such detectors failing on new model
# families such as diffusion models {cite:p}`ojha2023`. Detection is an **arms race**:
#
# * a detector is a discriminator, and a GAN's generator is *trained* to fool a discriminator, so any published
#   detector can be used as one more loss term for the next generator;
# * detectors learn the artefacts of the generators they were trained on, which change with every new model;
# * simple post-processing (resizing, compression, noise) erases many such traces.
#
# Watermarks added at generation time and provenance metadata do not have to win this race, which is why
# they are being standardised; they only work when the generator's owner cooperates.
#
# ## 7. Challenges
#
# **Privacy: memorisation.** A generator that copies its training images leaks them
# ({term}`memorisation`); large image generators have been shown to reproduce some training images
# {cite:p}`carlini2023`. The check: the pixel distance from each generated image to its nearest training image,
# compared with the same distance for real images that were *not* trained on. Much smaller distances for the
# generated images suggest copying; blur alone also lowers pixel distances (a blurred image is close to many
# images), so for the blurry VAEs look at the pairs as well. The few-shot model of section 5, trained on only 100 images, is the risky case.

# %% tags=["nbval-ignore-output"]
def median_nn(queries, reference):
    return nearest_neighbours(queries, reference)[0].median().item()


held_out = torch.cat(  # as many new images of the same classes, never trained on
    [x_test[y_test == k][200 : 200 + cfg.few_shot_per_class] for k in range(10)]
)
rows = [
    ("real test images -> training set", median_nn(x_test[:1000], x_train)),
    (
        "conditional VAE -> training set",
        median_nn(requests["conditional VAE"][0], x_train),
    ),
    (
        "conditional GAN -> training set",
        median_nn(requests["conditional GAN"][0], x_train),
    ),
]
print("median distance to the nearest image (pixels in [0, 1], 784 of them)")
for name, d in rows:
    print(f"  {name:<36} {d:5.2f}")
ratios = {"few-shot VAE samples": [], "real test images": []}
for small_cvae, x_few, _ in few_shot_models:
    small_samples, _ = request_each_class(small_cvae, 20, seed=5)
    for name, queries in (
        ("few-shot VAE samples", small_samples),
        ("real test images", x_test[:1000]),
    ):
        ratios[name].append(median_nn(queries, x_few) / median_nn(queries, held_out))
print("\nto its 100 training images / to 100 held-out images of the same digits:")
for name, values in ratios.items():
    m, sd = mean_std(values)
    print(f"  {name:<22} ratio {m:.2f} ± {sd:.2f} over seeds {cfg.few_shot_seeds}")
glue("app_mem_ratio", mean_std(ratios["few-shot VAE samples"])[0])
glue("app_mem_ratio_real", mean_std(ratios["real test images"])[0])
small_cvae, x_few, y_few = few_shot_models[0]
small_samples, _ = request_each_class(small_cvae, 20, seed=5)
_, nearest = nearest_neighbours(small_samples[::20], x_few)
show_image_rows(
    {
        "few-shot VAE samples": small_samples[::20],
        "their nearest training images": x_few[nearest],
    },
    nrow=10,
    width=6,
)
plt.show()

# %% [markdown]
# Blur alone lowers pixel distances to *any* set of digits, so the fair question is whether a sample lies closer
# to the images its model was trained on than to as many new images of the same digits. For the few-shot VAE
# the ratio of those two distances was {glue:text}`app_mem_ratio:.2f` on average, against
# {glue:text}`app_mem_ratio_real:.2f` for real test images, which were trained on by nobody. A ratio well below
# the real images' means the model is reproducing its training images, not just drawing blurry digits; the pairs
# above show which ones (and where a sample's nearest training image is a different digit, the sample is not a
# copy). With 100 training images some reproduction is what a generative model *should* be expected to do; with
# medical images, it means the "synthetic" data set contains the patients.
#
# **Ethics and copyright.** The models in this course were trained on MNIST and Fashion-MNIST, which were
# published for research (Fashion-MNIST's images are Zalando's product photos, released under the MIT licence).
# Large generators are trained on billions of scraped images whose authors were not asked, which raises open
# legal questions (is training a copy? who owns an output that resembles a protected work?) and practical ones:
# generated images of real people without consent (deepfakes), and the flooding of image collections with
# unlabelled synthetic images. The latent-arithmetic demo above shows how little it takes to steer attributes;
# the detection demo shows that flagging the results afterwards is unreliable. Disclosing what data a model was
# trained on, and marking generated images at the source, are the practical answers in use today.
#
# **Compute cost.** Every training run of this chapter was timed (on this machine, with the settings printed at
# the top); the number of parameters sets the memory, and the time multiplied by the hardware's power draw is
# the energy {cite:p}`strubell2019`.

# %% tags=["nbval-ignore-output"]
print(f"{'training run':<36} {'seconds':>8}")
for name, seconds in timings.items():
    print(f"{name:<36} {seconds:8.1f}")
print(f"parameters: conditional VAE {count_parameters(cvae):,}")
print(f"            conditional GAN {count_parameters(cgan_G, cgan_D):,}", end=" ")
print(f"(generator {count_parameters(cgan_G):,})")
print(f"            LeNet judge {count_parameters(judge):,}")
print(f"{torch.get_num_threads()} CPU threads; device {device}")

# %% [markdown]
# These models have about a million parameters and train in seconds to minutes on a CPU. Current image
# generators have billions, and their training is measured in thousands of GPU-days; the cost scales with
# parameters times training images times steps, and it is paid again for every re-training and, at a smaller
# scale, for every generated image.
#
# **Interpretability: {term}`latent traversals <latent traversal>`.** What does each latent coordinate control? Start from $z = 0$, move
# one coordinate at a time from $-2$ to $2$, and decode with a fixed digit: one row per coordinate.

# %% tags=["nbval-ignore-output"]
values = torch.linspace(-2, 2, 9)
traversal = {}
with torch.no_grad():
    for digit in (4, 7):
        for d in range(cfg.cvae.latent_dim):
            z = torch.zeros(len(values), cfg.cvae.latent_dim)
            z[:, d] = values
            traversal[f"digit {digit}, z[{d}] from -2 to 2"] = torch.sigmoid(
                cvae.decode(z, torch.full((len(values),), digit))
            )
show_image_rows(traversal, nrow=9, width=5)
plt.show()

# %% [markdown]
# Because the digit is given by the label, the four coordinates only describe *style*: typically slant, width
# and stroke thickness, mixed together. Nothing in the ELBO asks for one meaning per coordinate, so some rows
# mix several effects and they change from one training run to the next. A traversal is a picture of the model,
# not an explanation of it; models such as the $\beta$-VAE {cite:p}`higgins2017` add pressure towards separate
# factors, at a price in reconstruction quality.
#
# **What you should see.** In full mode on a CPU, the hit rates were {glue:text}`app_hit_vae:.1f` % (conditional
# VAE) and {glue:text}`app_hit_gan:.1f` % (conditional GAN), and a few-shot classifier on 100 real images reached
# {glue:text}`app_aug_real_min:.1f`–{glue:text}`app_aug_real_max:.1f` % test accuracy across our seeds; expect
# your numbers within a few points of these. Quick mode (`AIGC_QUICK=1`) trains every model for less time and
# uses fewer seeds, so its hit rates and accuracies are lower and noisier. With the full 60,000 MNIST training
# images the judge and the generators improve, and the few-shot experiment is unchanged (it draws 100 images
# either way).
#
# ## Summary
#
# * Conditional generation, a label given to every network, is what turns a generator into a tool: the
#   conditional VAE produced the requested digit in the great majority of cases, as measured by a separate
#   classifier.
# * Each application asks for a different measurement: hit rate for control, within-class distance and recall for
#   variety, held-out accuracy for augmentation and for detection, nearest-neighbour distance for privacy.
# * Synthetic training data helps only relative to an honest baseline, and a generator trained with extra labels
#   makes an unfair one; generated data can contain its training images.
# * Detectors catch known generators and are not guaranteed to catch new ones; a one-number baseline shows what
#   they rely on.
#
# The works cited are listed on the [References](references.md) page.
