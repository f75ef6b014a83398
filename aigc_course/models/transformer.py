r"""A causal transformer, from scratch: a sequence of tokens in, next-token logits out.

One class serves pixels (tokens 0/1 and a start token) and characters alike. The layout is
GPT-2's as nanoGPT writes it: token and position embeddings, pre-LayerNorm blocks of
multi-head causal self-attention and an MLP, a final LayerNorm and a linear head (optionally
sharing the token embedding's weights). :meth:`CausalTransformer.generate` samples with a
key/value cache, so each new token costs one position's work instead of the whole prefix's.

Shapes: tokens (B, T) int64 with T <= ``block_size``; logits (B, T, V), row t predicting
token t + 1.

References
----------
Vaswani et al., "Attention is all you need", NeurIPS 2017. Radford et al., "Language models are
unsupervised multitask learners" (GPT-2), 2019. Karpathy, nanoGPT ``model.py`` (2022).
Chen et al., "Generative pretraining from pixels", ICML 2020 (pixels as tokens).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from aigc_course._check import (
    check_binary,
    check_bool,
    check_count,
    check_image_batch,
    check_real,
    check_sample_count,
    check_tokens,
)
from aigc_course.sampling.autoregressive import sample_next_token

__all__ = [
    "CausalSelfAttention",
    "CausalTransformer",
    "KVCache",
    "PixelTransformer",
    "TransformerConfig",
]


@dataclass(frozen=True)
class TransformerConfig:
    r"""Size of a :class:`CausalTransformer` (frozen, passed whole).

    Attributes
    ----------
    vocab_size : int
        V, the number of token ids (including special tokens such as a start token).
    block_size : int
        The context: the most tokens the model reads at once.
    n_layer, n_head, n_embd : int
        Blocks, attention heads, embedding width (a multiple of ``n_head``).
    dropout : float
        Dropout on attention weights and residual branches during training.
    tie_weights : bool
        Share the output head's weights with the token embedding (Press & Wolf, 2017).
    fused_attention : bool
        Compute attention with ``torch.nn.functional.scaled_dot_product_attention`` (the same
        function, tested equal, about 8x faster on a CPU at 784 positions) instead of the
        written-out :class:`CausalSelfAttention` math.
    """

    vocab_size: int
    block_size: int
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0
    tie_weights: bool = True
    fused_attention: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            check_count(getattr(self, name), f"TransformerConfig.{name}")
        check_real(self.dropout, "TransformerConfig.dropout", low=0.0, high=1.0, high_open=True)
        check_bool(self.tie_weights, "TransformerConfig.tie_weights")
        check_bool(self.fused_attention, "TransformerConfig.fused_attention")
        if self.n_embd % self.n_head:
            raise ValueError(
                f"TransformerConfig.n_embd ({self.n_embd}) must be a multiple of n_head "
                f"({self.n_head}): each head gets n_embd // n_head dimensions"
            )


class KVCache:
    r"""The keys and values of every layer for the tokens seen so far (one generation run).

    ``layers[i]`` is ``(k, v)``, each (B, n_head, S, head_dim), or None before the first call.
    """

    def __init__(self, n_layer: int) -> None:
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layer

    @property
    def length(self) -> int:
        r"""S, the number of positions cached."""
        first = self.layers[0]
        return 0 if first is None else first[0].shape[2]


class CausalSelfAttention(nn.Module):
    r"""Multi-head self-attention in which position t attends to positions <= t only.

    .. math::

        \mathrm{head}_h = \mathrm{softmax}\!\Big(\frac{Q_h K_h^\top}{\sqrt{d}} + M\Big) V_h,
        \qquad M_{ts} = 0 \text{ if } s \le t \text{ else } -\infty

    with :math:`Q_h, K_h, V_h` the h-th slices of :math:`xW_q, xW_k, xW_v` and
    :math:`d = \text{n\_embd} / \text{n\_head}`; the heads are concatenated and projected.
    Written out (not ``F.scaled_dot_product_attention``, which the tests use as the oracle).
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.n_head = cfg.n_head
        self.fused = cfg.fused_attention
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        self.attn_drop = nn.Dropout(cfg.dropout)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def forward(
        self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0
    ) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)  # (B, T, C) each
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if cache is not None:  # prepend the keys and values of the earlier positions
            if cache.layers[layer] is not None:
                past_k, past_v = cache.layers[layer]
                k, v = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
            cache.layers[layer] = (k, v)
        S = k.shape[2]  # query t (absolute position S - T + t) sees keys 0 .. S - T + t
        allowed = torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)
        if self.fused:
            p = self.attn_drop.p if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed, dropout_p=p)
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(k.shape[-1])  # (B, h, T, S)
            att = att.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
            y = self.attn_drop(att) @ v  # (B, h, T, d)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_drop(self.proj(y))


class Block(nn.Module):
    r"""Pre-LayerNorm block: :math:`x + \mathrm{attn}(\mathrm{LN}(x))`, then :math:`x + \mathrm{MLP}(\mathrm{LN}(x))`."""

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd)
        self.attn = CausalSelfAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.n_embd, 4 * cfg.n_embd),
            nn.GELU(),
            nn.Linear(4 * cfg.n_embd, cfg.n_embd),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0):
        x = x + self.attn(self.ln1(x), cache, layer)
        return x + self.mlp(self.ln2(x))


class CausalTransformer(nn.Module):
    r"""A GPT: :math:`p(x_{1:T}) = \prod_t p(x_t \mid x_{<t})`, each factor a softmax over V.

    Parameters
    ----------
    cfg : TransformerConfig

    Notes
    -----
    ``forward(tokens)`` returns logits (B, T, V); row t is the distribution of token t + 1
    given tokens 0..t. :meth:`conditional_log_probs` scores a sequence whose first token is
    given (a start token), :meth:`generate` continues a prompt.
    """

    def __init__(self, cfg: TransformerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.pos_emb = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.apply(self._init)
        if cfg.tie_weights:
            self.head.weight = self.tok_emb.weight

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)  # GPT-2's initialisation
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)

    def forward(self, tokens: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        r"""Logits (B, T, V) of the next token at each position; ``cache`` continues a run."""
        T = tokens.shape[1]
        start = 0 if cache is None else cache.length
        if start + T > self.cfg.block_size:
            raise ValueError(
                f"tokens: {start + T} positions exceed the context block_size="
                f"{self.cfg.block_size}: keep the last {self.cfg.block_size} tokens"
            )
        pos = torch.arange(start, start + T, device=tokens.device)
        x = self.drop(self.tok_emb(tokens) + self.pos_emb(pos))
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        return self.head(self.ln_f(x))

    def conditional_log_probs(self, tokens: torch.Tensor, *, validate: bool = True):
        r"""The chain-rule terms :math:`\log p(x_t \mid x_{<t})`, t = 1..T-1, in nats: (B, T-1).

        ``tokens`` (B, T), T in [2, block_size + 1]; token 0 is given (a start token) and not
        scored. Their sum over t is :math:`\log p(x_{1:T-1} \mid x_0)`. ``validate=False`` skips
        the value checks (a training loop checks its data once).
        """
        if validate:
            check_tokens(tokens, "tokens", self.cfg.vocab_size, max_length=self.cfg.block_size + 1)
            if tokens.shape[1] < 2:
                raise ValueError(
                    "tokens must hold at least 2 positions: a start token and one to score"
                )
        logits = self(tokens[:, :-1])
        return -F.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], reduction="none")

    def log_prob(self, tokens: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        r""":math:`\log p(x_{1:T-1} \mid x_0) = \sum_t \log p(x_t \mid x_{<t})` in nats, (B,)."""
        return self.conditional_log_probs(tokens, validate=validate).sum(dim=1)

    @torch.no_grad()
    def generate(
        self,
        prompt: torch.Tensor,
        n_new: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
        vocab_limit: int | None = None,
    ) -> torch.Tensor:
        r"""Ancestral sampling: append ``n_new`` tokens, each :math:`x_t \sim p(\cdot \mid x_{<t})`.

        Each step filters the last position's logits
        (:func:`~aigc_course.sampling.autoregressive.sample_next_token`: temperature, top-k,
        top-p) and draws from ``generator``. With ``use_cache`` the keys and values of the
        prefix are kept (:class:`KVCache`), so a step runs the network on one position; the
        tokens are the same as without the cache (up to float rounding of the logits). Once
        the sequence is longer than ``block_size`` the model sees its last ``block_size``
        tokens (the cache is rebuilt each step then, as positions shift).

        Parameters
        ----------
        prompt : tensor (B, T0) int64
            1 <= T0 <= block_size; e.g. a start token, or a poem's first line.
        n_new : int >= 0
        temperature, top_k, top_p
            See :func:`~aigc_course.sampling.autoregressive.filter_logits`.
        generator : torch.Generator, optional
        use_cache : bool
        vocab_limit : int, optional
            Draw only tokens ``< vocab_limit`` (the others' logits are dropped before the
            filters), e.g. pixels but not the start token.

        Returns
        -------
        tensor (B, T0 + n_new) int64: the prompt followed by the new tokens.
        """
        check_tokens(prompt, "prompt", self.cfg.vocab_size, max_length=self.cfg.block_size)
        n_new = check_count(n_new, "n_new", minimum=0)
        check_bool(use_cache, "use_cache")
        if vocab_limit is not None:
            vocab_limit = check_count(vocab_limit, "vocab_limit")
        options = {"temperature": temperature, "top_k": top_k, "top_p": top_p}
        sample_next_token(prompt.new_zeros(1, 1).float(), **options)  # checks the options
        was_training = self.training
        self.eval()
        try:
            return self._generate(prompt, n_new, options, generator, use_cache, vocab_limit)
        finally:
            self.train(was_training)

    def _generate(self, prompt, n_new, options, generator, use_cache, vocab_limit):
        device = next(self.parameters()).device
        tokens = prompt.to(device)
        cache, fed = None, 0  # fed: tokens the cache holds
        for _ in range(n_new):
            context = tokens[:, -self.cfg.block_size :]
            if not use_cache:
                logits = self(context)
            elif tokens.shape[1] > self.cfg.block_size or cache is None:
                cache = KVCache(self.cfg.n_layer)  # (re)build from the window
                logits, fed = self(context, cache), tokens.shape[1]
            else:
                logits, fed = self(tokens[:, fed:], cache), tokens.shape[1]
            last = logits[:, -1, :vocab_limit]
            nxt = sample_next_token(last, generator=generator, **options)
            tokens = torch.cat([tokens, nxt[:, None]], dim=1)
        return tokens


class PixelTransformer(nn.Module):
    r"""The causal transformer on binary images: an image GPT in miniature (Chen et al., 2020).

    An image (1, H, W) in {0, 1} is read in raster order as the tokens
    :math:`(s, x_1, \dots, x_D)` with the start token :math:`s = 2`
    (:meth:`tokens`), so the same :class:`CausalTransformer` (``vocab_size=3``,
    ``block_size >= D``) gives the D chain-rule terms of the image, and MADE, PixelCNN and this
    model are trained and scored alike (:func:`~aigc_course.train.autoregressive.train_autoregressive`,
    :func:`~aigc_course.metrics.likelihood.evaluate_autoregressive`). It follows the
    ``Generator`` protocol: ``sample(n, generator=...)`` returns (n, 1, H, W) binary images.

    Parameters
    ----------
    cfg : TransformerConfig
        With ``vocab_size == 3`` and ``block_size >= H * W``.
    image_shape : tuple of int
        (1, H, W).
    """

    START = 2
    data_range = (0.0, 1.0)

    def __init__(self, cfg: TransformerConfig, image_shape: tuple[int, int, int] = (1, 28, 28)):
        super().__init__()
        if len(image_shape) != 3 or image_shape[0] != 1:
            raise ValueError(f"image_shape must be (1, H, W), got {image_shape!r}")
        self.image_shape = tuple(check_count(v, "image_shape") for v in image_shape)
        D = math.prod(self.image_shape)
        if cfg.vocab_size != 3 or cfg.block_size < D:
            raise ValueError(
                f"a PixelTransformer needs TransformerConfig(vocab_size=3, block_size >= {D}) "
                f"(pixels 0, 1 and the start token 2), got vocab_size={cfg.vocab_size}, "
                f"block_size={cfg.block_size}"
            )
        self.transformer = CausalTransformer(cfg)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        r"""(B, 1, H, W) binary images -> (B, 1 + D) int64 tokens, the start token first."""
        flat = x.flatten(1).long()
        start = torch.full((flat.shape[0], 1), self.START, dtype=torch.long, device=x.device)
        return torch.cat([start, flat], dim=1)

    def conditional_log_probs(self, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        r""":math:`\log p(x_d \mid x_{<d})` in nats, (B, D), raster order.

        A softmax over the pixel values {0, 1} only (the start token's logit is dropped), so
        the probabilities of the :math:`2^D` images sum to 1.
        """
        check_image_batch(x, "PixelTransformer: x", self.image_shape)
        if validate:
            check_binary(x, "PixelTransformer: x", shape_hint="(B, 1, H, W)")
        tokens = self.tokens(x)
        logits = self.transformer(tokens[:, :-1])[..., : self.START]  # pixels only: 0 or 1
        return -F.cross_entropy(logits.transpose(1, 2), tokens[:, 1:], reduction="none")

    def log_prob(self, x: torch.Tensor, *, validate: bool = True) -> torch.Tensor:
        r"""Exact :math:`\log p(x)` in nats, (B,)."""
        return self.conditional_log_probs(x, validate=validate).sum(dim=1)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        labels: None = None,
        generator: torch.Generator | None = None,
        use_cache: bool = True,
        temperature: float = 1.0,
    ) -> torch.Tensor:
        r"""``n`` binary images (n, 1, H, W), drawn pixel by pixel (:meth:`CausalTransformer.generate`)."""
        n = check_sample_count(n)
        if labels is not None:
            raise TypeError("PixelTransformer is not conditional: it takes no labels")
        device = next(self.parameters()).device
        start = torch.full((max(n, 1), 1), self.START, dtype=torch.long, device=device)
        D = math.prod(self.image_shape)
        out = self.transformer.generate(
            start,
            D,
            generator=generator,
            use_cache=use_cache,
            temperature=temperature,
            vocab_limit=self.START,  # never draw the start token as a pixel
        )[:n, 1:]
        return out.float().view(n, *self.image_shape)
