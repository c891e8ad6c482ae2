"""MetaLM (tiny): bidirectional expert encoders docked to a causal decoder through connectors.

Mechanism (see ../../../shared/METALM.md and ARCHITECTURE.md section 5):
- vision encoder: small conv stem -> G x G patches (P = G*G positions) -> bidirectional transformer;
- text encoder: token + position embeddings -> bidirectional transformer with a padding mask;
- connectors: vision = 3-layer MLP, text = linear; one output vector per encoder position;
- decoder: causal transformer, learned absolute positions, output softmax tied to the input
  embedding. Connected spans are spliced into the decoder input at their positions (no
  cross-attention); positions count every decoder input position, spans included.

Every module here is exported to ONNX by export.py with the I/O names of ARCHITECTURE.md.
"""
from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

def exporting() -> bool:
    """True while torch.onnx.export traces the model: the export-only code paths below then emit
    graphs without shape arithmetic (no Shape/Gather/Range/Concat on int64 sizes), so every node can
    run on a GPU execution provider (onnxruntime puts such int64 islands on the CPU, which forces a
    device sync in the middle of each call). Training never takes these paths."""
    return torch.onnx.is_in_onnx_export()


class _StaticReshape(torch.autograd.Function):
    """x.reshape(shape) where 0 copies x's size at that index (ONNX Reshape semantics), exported as
    one Reshape whose shape is a constant: no Shape/Gather/Concat to compute sizes the graph knows."""

    @staticmethod
    def forward(ctx, x, shape):  # noqa: ARG004 (ctx: autograd.Function's signature)
        return x.reshape([x.shape[i] if s == 0 else s for i, s in enumerate(shape)])

    @staticmethod
    def symbolic(g, x, shape):
        return g.op("Reshape", x, g.op("Constant", value_t=torch.tensor(list(shape), dtype=torch.int64)))


def static_reshape(x: torch.Tensor, *shape: int) -> torch.Tensor:
    return _StaticReshape.apply(x, tuple(shape))


def index_as_float(idx: torch.Tensor, n: int) -> torch.Tensor:
    """An int64 tensor with values in [0, n) as float32, exported as a Gather from the constant
    table 0..n-1: the WebGPU provider has no int64 Cast kernel (a Cast would run on the CPU), while
    a Gather with int64 indices runs on the device. Exact for these small integers."""
    return torch.arange(n, dtype=torch.float32, device=idx.device)[idx]


# Large finite negative instead of -inf: a fully masked row (a left-padding query) then gives a
# uniform softmax instead of NaN, in PyTorch and in onnxruntime alike.
NEG = -1e9


@dataclasses.dataclass
class Config:
    vocab_size: int = 128
    # decoder
    hidden: int = 128
    dec_layers: int = 4
    dec_heads: int = 4
    max_positions: int = 256
    # encoders
    enc_hidden: int = 128
    vis_layers: int = 3
    vis_heads: int = 4
    image_size: int = 64
    grid: int = 4  # patch grid G x G
    # > 0: the vision encoder reads the G x G patches with this many learned query tokens and outputs
    # only those (its positions); the first three are the slot tokens (left, middle, right) that the
    # auxiliary slot loss binds. 0: the encoder outputs its G * G patch states (metalm-tiny <= 0.2).
    vis_queries: int = 0
    stem_channels: Tuple[int, ...] = (32, 64)
    txt_layers: int = 2
    txt_heads: int = 4
    txt_max_len: int = 64
    mlp_ratio: int = 4
    dropout: float = 0.0

    @property
    def vis_positions(self) -> int:
        return self.vis_queries or self.grid * self.grid

    @property
    def head_dim(self) -> int:
        return self.hidden // self.dec_heads

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["stem_channels"] = list(self.stem_channels)
        return d

    @staticmethod
    def from_dict(d: dict) -> "Config":
        d = dict(d)
        if "stem_channels" in d:
            d["stem_channels"] = tuple(d["stem_channels"])
        return Config(**d)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        assert dim % heads == 0
        self.heads = heads
        self.head_dim = dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)

    def split(self, x: torch.Tensor) -> torch.Tensor:
        if exporting():
            return static_reshape(x, 0, -1, self.heads, self.head_dim).transpose(1, 2)
        b, t, _ = x.shape
        return x.view(b, t, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, bias: torch.Tensor,
                past: Optional[Tuple[torch.Tensor, torch.Tensor]] = None):
        """bias: additive mask broadcastable to [B, heads, T, past+T]."""
        qkv = self.qkv(x)
        if exporting():  # constant slices instead of chunk's size arithmetic
            d = self.heads * self.head_dim
            q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
        else:
            q, k, v = qkv.chunk(3, dim=-1)
        q, k, v = self.split(q), self.split(k), self.split(v)
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        scores = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim)) + bias
        att = torch.softmax(scores, dim=-1)
        y = torch.matmul(att, v)
        if exporting():
            return self.out(static_reshape(y.transpose(1, 2), 0, 0, -1)), (k, v)
        b, h, t, d = y.shape
        y = y.transpose(1, 2).reshape(b, t, h * d)
        return self.out(y), (k, v)


class Block(nn.Module):
    """Pre-LayerNorm transformer block."""

    def __init__(self, dim: int, heads: int, mlp_ratio: int, dropout: float):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, bias, past=None):
        a, present = self.attn(self.ln1(x), bias, past)
        x = x + self.drop(a)
        x = x + self.drop(self.mlp(self.ln2(x)))
        return x, present


class VisionEncoder(nn.Module):
    """pixel_values [B,3,S,S] (normalized) -> last_hidden_state [B, P, He]; bidirectional."""

    def __init__(self, c: Config):
        super().__init__()
        # stem: [optional stride-1 conv], two stride-2 convs, then a k x k patch conv to G x G
        chans = list(c.stem_channels)
        k = c.image_size // 4 // c.grid
        assert k >= 1 and k * 4 * c.grid == c.image_size, "image_size must be 4 * grid * k"
        layers: List[nn.Module] = []
        cin = 3
        if len(chans) == 3:
            layers += [nn.Conv2d(3, chans[0], 3, stride=1, padding=1), nn.GELU()]
            cin = chans.pop(0)
        c1, c2 = chans
        layers += [nn.Conv2d(cin, c1, 3, stride=2, padding=1), nn.GELU(),
                   nn.Conv2d(c1, c2, 3, stride=2, padding=1), nn.GELU(),
                   nn.Conv2d(c2, c.enc_hidden, k, stride=k)]
        self.stem = nn.Sequential(*layers)
        self.n_queries = c.vis_queries
        self.pos = nn.Parameter(torch.zeros(1, c.grid * c.grid, c.enc_hidden))
        if c.vis_queries:
            self.queries = nn.Parameter(torch.randn(1, c.vis_queries, c.enc_hidden) * 0.02)
            # Soft horizontal window for the three slot queries: query i's attention logit to a patch
            # falls with the squared distance between the patch's column and slot i's centre (-8 at
            # the neighbouring slot's centre). Per-slot pooling as a prior, not a mask: content still
            # decides, so an object whose centre is off-centre in its third is still found. Without
            # it the queries must first break their symmetry, which took hundreds of steps.
            g, p, k = c.grid, c.grid * c.grid, c.vis_queries
            col = (torch.arange(p) % g).float().add(0.5).div(g)  # patch column centre, 0..1
            bias = torch.zeros(p + k, p + k)
            for i in range(min(k, 3)):
                bias[p + i, :p] = -72.0 * (col - (i + 0.5) / 3) ** 2
            self.register_buffer("slot_bias", bias.view(1, 1, p + k, p + k), persistent=False)
        self.blocks = nn.ModuleList([Block(c.enc_hidden, c.vis_heads, c.mlp_ratio, c.dropout) for _ in range(c.vis_layers)])
        self.ln = nn.LayerNorm(c.enc_hidden)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        x = self.stem(pixel_values)  # [B, He, G, G]
        if exporting():
            x = static_reshape(x, 0, 0, -1).transpose(1, 2) + self.pos
            if self.n_queries:
                # the queries repeated per batch row without Shape -> Expand: 0 * (n patch states)
                # broadcasts them to [B, n, He] (exact: the states are finite)
                x = torch.cat([x, x[:, :self.n_queries] * 0.0 + self.queries], 1)
        else:
            x = x.flatten(2).transpose(1, 2) + self.pos  # row-major: position = row * G + col
            if self.n_queries:
                x = torch.cat([x, self.queries.expand(x.shape[0], -1, -1)], 1)
        bias = self.slot_bias if self.n_queries else 0.0
        for blk in self.blocks:
            x, _ = blk(x, bias)
        x = self.ln(x)
        return x[:, -self.n_queries:] if self.n_queries else x


class TextEncoder(nn.Module):
    """input_ids, attention_mask [B,T] -> last_hidden_state [B,T,He]; bidirectional, own embeddings."""

    def __init__(self, c: Config):
        super().__init__()
        self.tok = nn.Embedding(c.vocab_size, c.enc_hidden)
        self.pos = nn.Embedding(c.txt_max_len, c.enc_hidden)
        self.blocks = nn.ModuleList([Block(c.enc_hidden, c.txt_heads, c.mlp_ratio, c.dropout) for _ in range(c.txt_layers)])
        self.ln = nn.LayerNorm(c.enc_hidden)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if exporting():
            # 0, 1, … T-1 as a running count over the row instead of Range(Shape): same values
            # (int32 indices: WebGPU casts float to int32, not to int64)
            ones = index_as_float(attention_mask, 2) * 0.0 + 1.0
            pos = (torch.cumsum(ones, 1) - 1.0).to(torch.int32)
        else:
            t = input_ids.shape[1]
            pos = torch.arange(t, device=input_ids.device).unsqueeze(0)
        x = self.tok(input_ids) + self.pos(pos)
        m = index_as_float(attention_mask, 2) if exporting() else attention_mask.to(x.dtype)
        bias = (1.0 - m)[:, None, None, :] * NEG
        for blk in self.blocks:
            x, _ = blk(x, bias)
        return self.ln(x)


class VisionConnector(nn.Module):
    """3-layer MLP, one output per encoder position."""

    def __init__(self, c: Config):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(c.enc_hidden, c.hidden), nn.GELU(),
            nn.Linear(c.hidden, c.hidden), nn.GELU(),
            nn.Linear(c.hidden, c.hidden),
        )

    def forward(self, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        return self.net(encoder_hidden_states)


class TextConnector(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.proj = nn.Linear(c.enc_hidden, c.hidden)

    def forward(self, encoder_hidden_states: torch.Tensor) -> torch.Tensor:
        return self.proj(encoder_hidden_states)


class Decoder(nn.Module):
    """Causal decoder over inputs_embeds, with an explicit KV cache.

    attention_mask covers past + current positions (0 = padding); key j is visible to query i
    (absolute index past+i) iff j <= past+i and attention_mask[j] == 1.

    The exported graph states the same rule through positions instead of indices, so that it needs
    no sizes (Range over T and past+T): key j is visible to query i iff attention_mask[j] == 1 and
    its position (the count of real keys before it, cumsum(attention_mask) - 1) is <= position_ids[i].
    For every real query whose position_ids count the real positions before it (the runtime's
    contract) the two rules select exactly the same keys; padding queries differ, and their outputs
    are never used (their keys are masked for every later query). `causal_by_position` selects the
    exported rule in PyTorch too (export.py's checks compare like with like).
    """

    causal_by_position = False

    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(c.vocab_size, c.hidden)  # tied with the output softmax
        self.pos = nn.Embedding(c.max_positions, c.hidden)
        self.blocks = nn.ModuleList([Block(c.hidden, c.dec_heads, c.mlp_ratio, c.dropout) for _ in range(c.dec_layers)])
        self.ln = nn.LayerNorm(c.hidden)

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.tok(input_ids)

    def forward(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor, position_ids: torch.Tensor,
                past: Optional[List[Tuple[torch.Tensor, torch.Tensor]]] = None):
        dt = inputs_embeds.dtype
        if exporting() or self.causal_by_position:
            m = index_as_float(attention_mask, 2)  # [B, total]
            key_pos = torch.cumsum(m, 1) - 1.0
            q_pos = index_as_float(position_ids, self.c.max_positions)  # [B, T]
            causal = (key_pos[:, None, None, :] <= q_pos[:, None, :, None]).to(dt)  # [B, 1, T, total]
            allowed = causal * m[:, None, None, :]
        else:
            t = inputs_embeds.shape[1]
            total = attention_mask.shape[1]
            dev = inputs_embeds.device
            key_idx = torch.arange(total, device=dev)
            q_idx = torch.arange(t, device=dev) + (total - t)
            causal = (key_idx.unsqueeze(0) <= q_idx.unsqueeze(1)).to(dt)  # [T, total]
            allowed = causal.unsqueeze(0).unsqueeze(0) * attention_mask.to(dt)[:, None, None, :]
        bias = (1.0 - allowed) * NEG
        x = inputs_embeds + self.pos(position_ids)
        presents = []
        for i, blk in enumerate(self.blocks):
            x, present = blk(x, bias, None if past is None else past[i])
            presents.append(present)
        x = self.ln(x)
        logits = torch.matmul(x, self.tok.weight.t())
        return logits, presents


class MetaLM(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.vision = VisionEncoder(c)
        self.text = TextEncoder(c)
        self.vision_connector = VisionConnector(c)
        self.text_connector = TextConnector(c)
        self.decoder = Decoder(c)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def splice(self, input_ids: torch.Tensor, span_index: torch.Tensor, span_vectors: Optional[torch.Tensor]):
        """Decoder inputs: token embeddings, with span positions replaced by connector outputs.

        input_ids [B,T] (anything at span positions), span_index [B,T] = row of span_vectors
        [N, Hd] for span positions, -1 for tokens.
        """
        emb = self.decoder.embed(input_ids)
        if span_vectors is None:
            return emb
        is_span = span_index >= 0
        gathered = span_vectors[span_index.clamp(min=0)]
        return torch.where(is_span.unsqueeze(-1), gathered, emb)

    def forward_sequences(self, input_ids, span_index, span_vectors, attention_mask=None):
        b, t = input_ids.shape
        if attention_mask is None:
            attention_mask = torch.ones(b, t, dtype=torch.long, device=input_ids.device)
        pos = torch.arange(t, device=input_ids.device).unsqueeze(0).expand(b, t)
        logits, _ = self.decoder(self.splice(input_ids, span_index, span_vectors), attention_mask, pos)
        return logits


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
