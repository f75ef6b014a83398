"""train_autoregressive on the loop core: learning, seeded runs, bit-identical resume."""

import dataclasses

import pytest
import torch

from aigc_course.models.autoregressive import MADE, MADEConfig, PixelCNN, PixelCNNConfig
from aigc_course.models.transformer import CausalTransformer, TransformerConfig
from aigc_course.train import (
    AutoregressiveTrainConfig,
    autoregressive_step,
    load_checkpoint,
    train_autoregressive,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

SHAPE = (1, 4, 4)
CFG = AutoregressiveTrainConfig(steps=8, batch_size=8, lr=1e-2, progress=False, log_every=2)


def _grey(n=32):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(0))


def _binary(n=32):
    return torch.bernoulli(_grey(n), generator=torch.Generator().manual_seed(1))


def _made(seed=0):
    torch.manual_seed(seed)
    return MADE(MADEConfig(image_shape=SHAPE, hidden=(32,)))


def _gpt(seed=0, dropout=0.1):
    torch.manual_seed(seed)
    cfg = TransformerConfig(
        vocab_size=5, block_size=7, n_layer=1, n_head=2, n_embd=16, dropout=dropout
    )
    return CausalTransformer(cfg)


def _tokens(n=32):
    # a learnable pattern: 0 then 1 2 3 4 1 2 3 (period 4), phase varying
    g = torch.Generator().manual_seed(2)
    phase = torch.randint(0, 4, (n, 1), generator=g)
    body = (phase + torch.arange(7)) % 4 + 1
    return torch.cat([torch.zeros(n, 1, dtype=torch.long), body], dim=1)


def _same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_the_step_descends_the_nll_per_dimension():
    model, x = _made(), _binary(8)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    out = autoregressive_step(model, opt, x)
    with torch.no_grad():
        expected = -model.log_prob(x).mean() / 16
    torch.testing.assert_close(out["nll"], expected)


def test_a_transformer_learns_a_periodic_sequence():
    result = train_autoregressive(
        _gpt(dropout=0.0), _tokens(), dataclasses.replace(CFG, steps=60, lr=3e-2)
    )
    nll = result.history["nll"]
    assert len(nll) == 60 and result.stopped_by == "steps"
    assert nll[-1] < 0.5 * nll[0]


@pytest.mark.parametrize(
    ("make", "data", "extra"),
    [
        (_made, _grey, {"dynamic_binarization": True}),  # the binarising generator is checkpointed
        (_gpt, _tokens, {}),  # so is the dropout generator
        (
            lambda seed=0: (
                torch.manual_seed(seed),
                PixelCNN(PixelCNNConfig(image_shape=SHAPE, channels=4, n_layers=1, first_kernel=3)),
            )[1],
            _binary,
            {"lr_schedule": "cosine"},
        ),
    ],
)
def test_resume_continues_bit_identically(tmp_path, make, data, extra):
    cfg = dataclasses.replace(CFG, **extra)
    ref = train_autoregressive(make(), data(), cfg)
    ck = dataclasses.replace(cfg, checkpoint_path=tmp_path / "ar.pt")
    first = train_autoregressive(make(), data(), ck, on_step=lambda step, state: step == 3)
    assert first.steps == 3 and first.stopped_by == "on_step"
    assert load_checkpoint(ck.checkpoint_path)["step"] == 3
    model = make(seed=9)
    rest = train_autoregressive(model, data(), ck, resume=True)
    assert rest.steps == 8 and rest.history == ref.history
    assert _same(model, ref.model)


def test_runs_are_seeded_and_dynamic_binarisation_draws_fresh_pixels():
    cfg = dataclasses.replace(CFG, dynamic_binarization=True)
    a = train_autoregressive(_made(), _grey(), cfg)
    b = train_autoregressive(_made(), _grey(), cfg)
    assert a.history == b.history and _same(a.model, b.model)
    c = train_autoregressive(_made(), _grey(), dataclasses.replace(cfg, seed=1))
    assert c.history != a.history


def test_time_budget_stops_the_run():
    result = train_autoregressive(
        _made(), _binary(), dataclasses.replace(CFG, steps=10_000, max_seconds=0.2)
    )
    assert result.stopped_by == "max_seconds" and result.steps < 10_000
