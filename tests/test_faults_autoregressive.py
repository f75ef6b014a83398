"""Bad input and faults of the autoregressive surface (issue 23): clear errors naming the argument."""

import dataclasses

import pytest
import torch

from aigc_course.data.poems import CharTokenizer
from aigc_course.models.autoregressive import (
    MADE,
    MADEConfig,
    MaskedLinear,
    PixelCNNConfig,
    pixelcnn_mask,
)
from aigc_course.models.transformer import (
    CausalTransformer,
    KVCache,
    PixelTransformer,
    TransformerConfig,
)
from aigc_course.train import AutoregressiveTrainConfig, TrainingDiverged, train_autoregressive

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

GPT = TransformerConfig(vocab_size=6, block_size=4, n_layer=1, n_head=2, n_embd=8)
CFG = AutoregressiveTrainConfig(steps=3, batch_size=4, progress=False)


def _gpt():
    torch.manual_seed(0)
    return CausalTransformer(GPT)


def _made():
    torch.manual_seed(0)
    return MADE(MADEConfig(image_shape=(1, 3, 3), hidden=(8,)))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: TransformerConfig(vocab_size=0, block_size=4), "vocab_size"),
        (
            lambda: TransformerConfig(vocab_size=5, block_size=4, n_head=3, n_embd=8),
            "multiple of n_head",
        ),
        (lambda: TransformerConfig(vocab_size=5, block_size=4, dropout=1.0), "dropout"),
        (lambda: TransformerConfig(vocab_size=5, block_size=4, tie_weights=1), "tie_weights"),
        (lambda: MADEConfig(image_shape=(3, 28, 28)), "image_shape"),
        (lambda: MADEConfig(hidden=()), "hidden"),
        (lambda: PixelCNNConfig(kernel=4), "kernel must be odd"),
        (lambda: PixelCNNConfig(n_layers=-1), "n_layers"),
        (lambda: pixelcnn_mask(3, "C"), "kind"),
        (lambda: pixelcnn_mask(2, "A"), "odd"),
        (
            lambda: MaskedLinear(3, 2).set_mask(torch.ones(3, 2)),
            "mask must have the weight's shape",
        ),
        (lambda: MaskedLinear(3, 2).set_mask(torch.ones(6)), "mask"),
        (lambda: PixelTransformer(GPT, (1, 2, 2)), "vocab_size=3"),
        (
            lambda: PixelTransformer(dataclasses.replace(GPT, vocab_size=3), (1, 3, 3)),
            r"block_size >= 9",
        ),
        (
            lambda: PixelTransformer(dataclasses.replace(GPT, vocab_size=3), (2, 2, 1)),
            "image_shape",
        ),
        (lambda: AutoregressiveTrainConfig(steps=0), "steps"),
        (lambda: AutoregressiveTrainConfig(grad_clip=0.0), "grad_clip"),
        (lambda: AutoregressiveTrainConfig(lr_schedule="linear"), "lr_schedule"),
        (lambda: AutoregressiveTrainConfig(dynamic_binarization="yes"), "dynamic_binarization"),
    ],
)
def test_bad_configurations(make, match):
    with pytest.raises((TypeError, ValueError), match=match):
        make()


def test_a_prompt_longer_than_the_context_is_refused():
    with pytest.raises(ValueError, match=r"prompt has 5 tokens, longer than the context of 4"):
        _gpt().generate(torch.zeros(1, 5, dtype=torch.long), 1)


def test_a_cache_run_past_the_context_is_refused():
    model, cache = _gpt(), KVCache(GPT.n_layer)
    model(torch.zeros(1, 3, dtype=torch.long), cache)
    with pytest.raises(ValueError, match="exceed the context block_size=4"):
        model(torch.zeros(1, 2, dtype=torch.long), cache)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"temperature": 0}, "temperature"),
        ({"top_k": 0}, "top_k"),
        ({"top_p": 1.5}, "top_p"),
        ({"vocab_limit": 0}, "vocab_limit"),
        ({"use_cache": 1}, "use_cache"),
    ],
)
def test_bad_sampling_options_fail_before_any_work(kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        _gpt().generate(torch.zeros(1, 1, dtype=torch.long), 2, **kwargs)


def test_unknown_characters_become_the_unknown_token_at_sampling_time():
    tok = CharTokenizer(["abc"])
    model = CausalTransformer(dataclasses.replace(GPT, vocab_size=tok.vocab_size, block_size=8))
    prompt = torch.tensor([tok.encode("xa", eos=False)])
    assert prompt[0, 1] == tok.UNK
    out = model.generate(prompt, 3, generator=torch.Generator().manual_seed(0))
    assert out.shape == (1, 6) and tok.decode(out[0]).startswith("□a")


@pytest.mark.parametrize(
    ("model", "data", "cfg", "match"),
    [
        (_made, lambda: torch.rand(8, 1, 3, 3), CFG, "binary images"),
        (_made, lambda: torch.rand(8, 1, 4, 4).round(), CFG, r"\(B, 1, 3, 3\)"),
        (
            _made,
            lambda: torch.rand(8, 1, 3, 3) * 2,
            dataclasses.replace(CFG, dynamic_binarization=True),
            r"\[0, 1\]",
        ),
        (_gpt, lambda: torch.full((8, 5), 9), CFG, "token ids in"),
        (_gpt, lambda: torch.zeros(8, 6, dtype=torch.long), CFG, "longer than the context"),
        (_gpt, lambda: torch.zeros(8, 5), CFG, "int64"),
        (lambda: torch.nn.Linear(2, 2), lambda: torch.zeros(8, 2), CFG, "conditional_log_probs"),
        (_made, lambda: torch.zeros(8, 1, 3, 3), {"steps": 3}, "AutoregressiveTrainConfig"),
        (_made, lambda: [[0.0]], CFG, "data must be a torch.Tensor"),
    ],
)
def test_bad_training_input_is_refused_before_training(model, data, cfg, match):
    with pytest.raises((TypeError, ValueError), match=match):
        train_autoregressive(model(), data(), cfg)


def test_a_diverging_run_names_the_step():
    model = _made()
    with torch.no_grad():
        model.layers[-1].bias.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="negative log-likelihood"):
        train_autoregressive(model, torch.zeros(8, 1, 3, 3), dataclasses.replace(CFG, log_every=1))


def test_a_bad_example_after_the_first_batch_is_found_before_training():
    data = torch.zeros(12, 1, 3, 3)
    data[10, 0, 1, 1] = 0.5
    with pytest.raises(ValueError, match="data must be binary"):
        train_autoregressive(_made(), data, CFG)
    tokens = torch.zeros(12, 5, dtype=torch.long)
    tokens[11, 2] = 6
    with pytest.raises(ValueError, match=r"token ids in \[0, 5\]"):
        train_autoregressive(_gpt(), tokens, CFG)
