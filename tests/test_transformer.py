"""The causal transformer against independent oracles: torch's attention, autograd, enumeration."""

import dataclasses
import itertools

import pytest
import torch
from torch.nn import functional as F

from aigc_course.models.transformer import (
    CausalSelfAttention,
    CausalTransformer,
    KVCache,
    TransformerConfig,
)

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

CFG = TransformerConfig(vocab_size=7, block_size=8, n_layer=2, n_head=2, n_embd=16)


def _model(cfg=CFG, seed=0):
    torch.manual_seed(seed)
    return CausalTransformer(cfg).eval()


def test_attention_matches_torch_scaled_dot_product_attention():
    torch.manual_seed(0)
    attn = CausalSelfAttention(CFG).eval()
    x = torch.randn(3, 6, CFG.n_embd)
    B, T, C = x.shape
    q, k, v = attn.qkv(x).split(C, dim=2)
    q, k, v = (t.view(B, T, CFG.n_head, -1).transpose(1, 2) for t in (q, k, v))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    expected = attn.proj(y.transpose(1, 2).reshape(B, T, C))
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fused", [False, True])
def test_causal_mask_by_autograd_jacobian(fused):
    """Output i does not depend on embedded input j > i, and does on some j <= i."""
    model = _model(dataclasses.replace(CFG, fused_attention=fused))
    T = CFG.block_size
    emb = torch.randn(1, T, CFG.n_embd, requires_grad=True)
    handle = model.tok_emb.register_forward_hook(lambda module, inputs, output: emb)
    try:
        logits = model(torch.zeros(1, T, dtype=torch.long))
        for i in range(T):
            (grad,) = torch.autograd.grad(logits[0, i].sum(), emb, retain_graph=True)
            per_input = grad[0].abs().sum(dim=1)  # (T,): influence of input j on output i
            assert torch.all(per_input[i + 1 :] == 0), f"output {i} sees the future"
            assert per_input[: i + 1].max() > 0
            assert per_input[i] > 0  # an output sees its own position
    finally:
        handle.remove()


@pytest.mark.parametrize("fused", [False, True])
def test_kv_cached_logits_equal_uncached_ones(fused):
    model = _model(dataclasses.replace(CFG, fused_attention=fused))
    tokens = torch.randint(
        0, CFG.vocab_size, (2, CFG.block_size), generator=torch.Generator().manual_seed(1)
    )
    full = model(tokens)
    cache = KVCache(CFG.n_layer)
    first = model(tokens[:, :3], cache)  # a prompt, then one token at a time
    steps = [model(tokens[:, t : t + 1], cache) for t in range(3, CFG.block_size)]
    torch.testing.assert_close(torch.cat([first, *steps], dim=1), full, rtol=1e-5, atol=1e-5)
    assert cache.length == CFG.block_size


@pytest.mark.parametrize("n_new", [5, 12])  # within the context, and past it (sliding window)
@pytest.mark.parametrize("options", [{}, {"temperature": 0.7, "top_k": 3}, {"top_p": 0.8}])
def test_kv_cached_and_uncached_samples_are_identical(n_new, options):
    model = _model()
    prompt = torch.tensor([[1, 2], [3, 4]])
    runs = [
        model.generate(
            prompt, n_new, generator=torch.Generator().manual_seed(5), use_cache=c, **options
        )
        for c in (True, False, True)
    ]
    assert runs[0].shape == (2, 2 + n_new)
    assert torch.equal(runs[0][:, :2], prompt)
    assert torch.equal(runs[0], runs[1]) and torch.equal(runs[0], runs[2])


def test_generation_is_seeded_and_restores_the_training_mode():
    model = _model().train()
    prompt = torch.zeros(1, 1, dtype=torch.long)
    a = model.generate(prompt, 6, generator=torch.Generator().manual_seed(0))
    b = model.generate(prompt, 6, generator=torch.Generator().manual_seed(0))
    c = model.generate(prompt, 6, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c) and model.training


def test_conditional_log_probs_are_log_softmax_terms():
    model = _model()
    tokens = torch.tensor([[0, 3, 1, 6, 2]])
    logits = model(tokens[:, :-1])
    expected = torch.log_softmax(logits, dim=-1)[0, torch.arange(4), tokens[0, 1:]]
    torch.testing.assert_close(model.conditional_log_probs(tokens)[0], expected)
    torch.testing.assert_close(model.log_prob(tokens), expected.sum()[None])


def test_chain_rule_probabilities_sum_to_one_over_all_sequences():
    """Brute-force enumeration: sum over all V^3 continuations of p(x_1:3 | x_0) is 1."""
    cfg = TransformerConfig(vocab_size=3, block_size=3, n_layer=1, n_head=1, n_embd=8)
    model = _model(cfg)
    seqs = torch.tensor([[0, *s] for s in itertools.product(range(3), repeat=3)])
    with torch.no_grad():
        total = torch.logsumexp(model.log_prob(seqs).double(), dim=0)
    assert abs(float(total)) < 1e-5


def test_weight_tying_is_optional():
    tied, untied = _model(), _model(TransformerConfig(**{**CFG.__dict__, "tie_weights": False}))
    assert tied.head.weight is tied.tok_emb.weight
    assert untied.head.weight is not untied.tok_emb.weight
    n = sum(p.numel() for p in tied.parameters())
    assert sum(p.numel() for p in untied.parameters()) == n + CFG.vocab_size * CFG.n_embd


def _pixel_gpt(seed=0, shape=(1, 2, 3)):
    from aigc_course.models.transformer import PixelTransformer

    torch.manual_seed(seed)
    D = shape[1] * shape[2]
    cfg = TransformerConfig(vocab_size=3, block_size=D, n_layer=1, n_head=2, n_embd=8)
    return PixelTransformer(cfg, shape)


def test_pixel_transformer_is_a_normalised_distribution_over_binary_images():
    """Brute force over all 2^6 images, and the chain-rule terms by marginals."""
    model = _pixel_gpt()
    xs = torch.tensor(list(itertools.product((0.0, 1.0), repeat=6))).view(-1, 1, 2, 3)
    with torch.no_grad():
        joint = model.log_prob(xs).double()
        terms = model.conditional_log_probs(xs).double()
    assert abs(float(torch.logsumexp(joint, 0))) < 1e-5
    flat, p = xs.flatten(1), joint.exp()
    for i in (0, 13, 63):
        for d in range(6):
            prefix = (flat[:, :d] == flat[i, :d]).all(dim=1)
            upto = prefix & (flat[:, d] == flat[i, d])
            assert abs(float(terms[i, d]) - float((p[upto].sum() / p[prefix].sum()).log())) < 1e-5


def test_pixel_transformer_samples_binary_images_cached_or_not():
    model = _pixel_gpt()
    a = model.sample(5, generator=torch.Generator().manual_seed(0))
    b = model.sample(5, generator=torch.Generator().manual_seed(0), use_cache=False)
    assert a.shape == (5, 1, 2, 3) and torch.equal(a, b) and torch.all((a == 0) | (a == 1))
    assert model.sample(0).shape == (0, 1, 2, 3)


def test_pixel_transformer_trains_with_dynamic_binarisation():
    from aigc_course.train import AutoregressiveTrainConfig, train_autoregressive

    grey = torch.rand(16, 1, 2, 3, generator=torch.Generator().manual_seed(0))
    cfg = AutoregressiveTrainConfig(
        steps=4, batch_size=8, progress=False, dynamic_binarization=True
    )
    result = train_autoregressive(_pixel_gpt(), grey, cfg)
    assert result.steps == 4 and all(v > 0 for v in result.history["nll"])


def test_fused_attention_gives_the_written_out_logits():
    tokens = torch.randint(
        0, CFG.vocab_size, (3, CFG.block_size), generator=torch.Generator().manual_seed(4)
    )
    plain = _model()
    fused = _model(dataclasses.replace(CFG, fused_attention=True))
    fused.load_state_dict(plain.state_dict())
    torch.testing.assert_close(fused(tokens), plain(tokens), rtol=1e-5, atol=1e-5)
