# %% [markdown]
# **For the lead, not to be pasted.** The diffusion chapter's new exercise cells
# (review finding D-U8). `ex-diff-q-sample` and `ex-diff-flow` stay as they are. The
# three exercises below go, in this order, where `ex-diff-x0` is now: after the oracle
# check at the end of section 2 ("All three land on the target ..."), before section 3,
# whose first paragraph gives away the answer about one step. `ex-diff-x0` and
# `ex-diff-ddim` are removed (the loop exercise contains both formulas); so are
# `check_predict_x0` and `check_ddim_step` from the chapter's import cell.
#
# ruff: noqa: E402 (as in the chapters, a cell imports what it needs)

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
import torch

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
# Your loop, on 50 of the 1000 steps, with the exact noise predictor of a 2-D Gaussian,
# lands on that Gaussian:

# %%
from aigc_course.sampling import GaussianEpsilon, linear_schedule, sampling_timesteps

demo_sched = linear_schedule(1000)
demo_m = torch.tensor([1.5, -0.5], dtype=torch.float64)
demo_s = torch.tensor([0.25, 2.0], dtype=torch.float64)
demo_gen = torch.Generator().manual_seed(0)
demo_x_T = torch.randn(20_000, 2, dtype=torch.float64, generator=demo_gen)
demo_x = my_ddim_sample(
    demo_x_T,
    GaussianEpsilon(demo_m, demo_s, demo_sched),
    demo_sched,
    sampling_timesteps(1000, 50),
)
demo_mean = [round(v, 2) for v in demo_x.mean(0).tolist()]
demo_std = [round(v, 2) for v in demo_x.std(0).tolist()]
print(f"target: mean {demo_m.tolist()}, std {demo_s.tolist()}")
print(f"yours:  mean {demo_mean}, std {demo_std}")

# %% [markdown]
# `````{solution-end}
# `````
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

# %%
check_spread_prediction(steps="smaller", guidance="smaller")

# %% [markdown]
# `````{solution-end}
# `````
