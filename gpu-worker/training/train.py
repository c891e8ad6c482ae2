"""Train MetaLM-tiny on the shapes world (semi-causal LM), then export it as a model package.

    /usr/bin/python3 gpu-worker/training/train.py --recipe full  --name full          # shipped model
    /usr/bin/python3 gpu-worker/training/train.py --recipe smoke --name smoke         # CI, < 3 min
    /usr/bin/python3 gpu-worker/training/train.py --recipe gpt   --name gpt           # GPT baseline
    /usr/bin/python3 gpu-worker/training/train.py --recipe ve_noexpl --name ve_noexpl --init runs/full/vision.pt

Stages (each resumable from gpu-worker/training/runs/<name>/, checkpointed every few minutes):
  1. vision: pretrain the vision encoder alone on slot attributes (per slot: present / shape / colour
     heads). The prototype's decoder ignored the image until its encoder really saw.
  2. main: semi-causal LM on a task mixture (captioning, VQA, visual entailment with explanations,
     in-context sequences, text-span tasks) with a curriculum (short grounded tasks first). The
     vision encoder's stem and first block stay frozen; an auxiliary slot loss keeps it grounded.
     Loss only on decoder tokens outside encoded spans (prompt tokens down-weighted).
  3. nli: text NLI with the decoder FROZEN: only the text encoder and text connector are trained
     (the paper's MNLI setting); the decoder never saw NLI before.
Stage lengths are budgets in minutes (or steps), so the recipe ends on time on a shared CPU.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

# OpenMP threads that spin while the CPU is shared make a step 10-20x slower (measured); passive
# waiting (and 1 thread by default) keeps throughput stable next to other processes.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data as D  # noqa: E402
import vocab as V  # noqa: E402
from model import Config, MetaLM, count_params  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))

FULL = Config(vocab_size=V.VOCAB_SIZE, hidden=128, dec_layers=4, dec_heads=4, max_positions=256,
              enc_hidden=128, vis_layers=3, vis_heads=4, image_size=64, grid=4, stem_channels=(16, 32, 64),
              txt_layers=2, txt_heads=4, txt_max_len=64, mlp_ratio=4)
# metalm-tiny 1.x: an 8 x 8 patch grid read by three slot query tokens (left, middle, right) -> the
# decoder sees 3 image positions whose meaning is fixed by the shared slot head (binding), not 16
# grid cells that cut across the slots.
SLOTS1 = Config(vocab_size=V.VOCAB_SIZE, hidden=128, dec_layers=4, dec_heads=4, max_positions=256,
                enc_hidden=128, vis_layers=4, vis_heads=4, image_size=64, grid=8, vis_queries=3,
                stem_channels=(16, 32, 64), txt_layers=2, txt_heads=4, txt_max_len=64, mlp_ratio=4)
SMOKE = Config(vocab_size=V.VOCAB_SIZE, hidden=32, dec_layers=2, dec_heads=2, max_positions=256,
               enc_hidden=32, vis_layers=2, vis_heads=2, image_size=32, grid=4, vis_queries=3, stem_channels=(8, 16),
               txt_layers=1, txt_heads=2, txt_max_len=64, mlp_ratio=2)

MAIN_MIX = {"vqa": 0.36, "caption": 0.16, "ve": 0.2, "icl": 0.16, "text_span": 0.12}
EARLY_MIX = {"vqa": 0.6, "caption": 0.3, "text_span": 0.1}  # curriculum: short, grounded tasks first

RECIPES = {
    # metalm-tiny 1.x, sized for one GPU (an H200: minutes are GPU minutes; batches ~6x the CPU
    # recipes'; --data-workers builds batches on the CPU cores). On a CPU use --minutes-scale.
    "slots": dict(config=SLOTS1, vision=dict(minutes=1.0, batch=512, lr=2e-3, off_palette=0.5),
                  main=dict(minutes=5.0, tokens=14000, max_batch=400, lr=2e-3, mix=MAIN_MIX, early=0.1),
                  nli=dict(minutes=0.5, tokens=14000, max_batch=400, lr=2e-3), export="metalm-tiny"),
    # minutes per stage (None = use steps); tokens per batch; lr
    "full": dict(config=FULL, vision=dict(minutes=7.0, batch=64, lr=1e-3),
                 main=dict(minutes=36.0, tokens=2600, max_batch=96, lr=1.5e-3, mix=MAIN_MIX, early=0.15),
                 nli=dict(minutes=5.0, tokens=2400, max_batch=96, lr=1.5e-3), export="metalm-tiny"),
    # v2: vision pretraining with off-palette colours (colour-invariant shape detectors)
    "full2": dict(config=FULL, vision=dict(minutes=8.0, batch=64, lr=1e-3, off_palette=0.5),
                  main=dict(minutes=34.0, tokens=2000, max_batch=72, lr=1.5e-3, mix=MAIN_MIX, early=0.15),
                  nli=dict(minutes=4.0, tokens=2400, max_batch=96, lr=1.5e-3), export="metalm-tiny"),
    # continuation of a finished `full` run (--init runs/full/main.pt): more main steps at a lower
    # peak lr, then the frozen-decoder NLI stage again (the decoder it docks to has changed)
    "cont": dict(config=FULL, vision="init",
                 main=dict(minutes=25.0, tokens=2600, max_batch=96, lr=6e-4, mix=MAIN_MIX, early=0.0),
                 nli=dict(minutes=6.0, tokens=2400, max_batch=96, lr=1.5e-3), export="metalm-tiny"),
    "smoke": dict(config=SMOKE, vision=dict(steps=15, batch=32, lr=2e-3, off_palette=0.5),
                  main=dict(steps=25, tokens=600, max_batch=16, lr=2e-3, mix=MAIN_MIX, early=0.2),
                  nli=dict(steps=8, tokens=600, max_batch=16, lr=2e-3), export="metalm-smoke"),
    # decoder-only GPT baseline of the same decoder size: text LM + in-context with captions as
    # text, then full fine-tuning on text NLI (every weight trained)
    # continuation of `slots` (--init its final.npz): text-only tasks now name the held-out
    # combinations (text_span up-weighted), lower peak lr, then a longer frozen-decoder NLI stage
    "slots_cont": dict(config=SLOTS1, vision="init",
                       main=dict(minutes=3.0, tokens=14000, max_batch=400, lr=8e-4, early=0.0,
                                 mix={"vqa": 0.34, "caption": 0.14, "ve": 0.18, "icl": 0.12, "text_span": 0.22}),
                       nli=dict(minutes=1.0, tokens=14000, max_batch=400, lr=2e-3), export="metalm-tiny"),
    # a CPU continuation of the shipped 1.0 run (--init its final.npz) for a machine without a GPU:
    # smaller batches, low peak lr, text-only tasks (which may name the held-out combinations) up-weighted
    "slots_cpu": dict(config=SLOTS1, vision="init",
                      main=dict(minutes=80.0, tokens=3200, max_batch=96, lr=3e-4, early=0.0,
                                mix={"vqa": 0.34, "caption": 0.12, "ve": 0.16, "icl": 0.10, "text_span": 0.28}),
                      nli=dict(minutes=6.0, tokens=3200, max_batch=96, lr=1e-3), export="metalm-tiny"),
    # the GPT baseline on the same GPU budget as `slots` (same batch sizes and main-stage minutes)
    "gpt_gpu": dict(config=FULL, vision=None,
                    main=dict(minutes=5.0, tokens=14000, max_batch=400, lr=2e-3,
                              mix={"text_lm": 0.5, "icl_text": 0.5}, early=0.0),
                    nli_full=dict(minutes=0.5, tokens=14000, max_batch=400, lr=1e-3), export="gpt-baseline"),
    "gpt": dict(config=FULL, vision=None,
                main=dict(minutes=8.0, tokens=2600, max_batch=64, lr=1.5e-3,
                          mix={"text_lm": 0.5, "icl_text": 0.5}, early=0.0),
                nli_full=dict(minutes=4.0, tokens=2600, max_batch=64, lr=1e-3), export="gpt-baseline"),
    # visual entailment without explanations vs with: same budget, same init (the stage-1 encoder)
    "ve_noexpl": dict(config=FULL, vision="init",
                      main=dict(minutes=6.0, tokens=2600, max_batch=96, lr=1.5e-3, mix={"ve_noexpl": 1.0}, early=0.0),
                      export="metalm-ve-noexpl"),
    "ve_expl": dict(config=FULL, vision="init",
                    main=dict(minutes=6.0, tokens=2600, max_batch=96, lr=1.5e-3, mix={"ve": 1.0}, early=0.0),
                    export="metalm-ve-expl"),
}
APPROX_LEN = {"vqa": 34, "caption": 32, "ve": 40, "ve_noexpl": 30, "icl": 55, "text_span": 34,
              "nli_span": 6, "nli_text": 36, "icl_text": 90, "text_lm": 40}
CKPT_EVERY_S = 180  # --ckpt-every
WARMUP_STEPS = 60
STAGE_SALT = {"vision": 1, "main": 2, "nli": 3, "nli_full": 4}


def log(f, msg: str):
    if f is None:
        return  # ranks > 0 stay quiet
    line = f"[{time.strftime('%H:%M:%S')}] {msg}"
    print(line, flush=True)
    if f:
        f.write(line + "\n")
        f.flush()


# ---------------------------------------------------------------------------------------- batches

class Batch:
    """One training batch, built on the CPU (in a data-loader process when --data-workers > 0).
    Images are carried as rendering parameters and drawn on the training device by `to()`: a GPU
    draws a batch of images in well under a millisecond, while a CPU process drawing them was what
    bounded training on a GPU (about 14 steps/s, measured on an H200)."""

    KEYS = ("ids", "span", "w", "mask", "slots", "tids", "tmask")

    def __init__(self, samples: List[list], c: Config, gen: torch.Generator, device=None):
        scenes: List[D.Scene] = []
        texts: List[List[int]] = []
        seqs, spans, weights = [], [], []
        p = c.vis_positions
        for smp in samples:
            ids, sp, w = [V.BOS], [-1], [0.0]
            for seg in smp:
                if seg[0] == "img":
                    scenes.append(seg[1])
                    j = len(scenes) - 1
                    ids += [V.PAD] * p
                    sp += [("v", j * p + q) for q in range(p)]
                    w += [0.0] * p
                elif seg[0] == "tspan":
                    t = V.encode(seg[1])[: c.txt_max_len]
                    texts.append(t)
                    m = len(texts) - 1
                    ids += [V.PAD] * len(t)
                    sp += [("t", m, q) for q in range(len(t))]
                    w += [0.0] * len(t)
                else:
                    t = V.encode(seg[1])
                    ids += t
                    sp += [-1] * len(t)
                    w += [seg[2]] * len(t)
            ids.append(V.EOS)
            sp.append(-1)
            w.append(1.0)
            seqs.append(ids[: c.max_positions])
            spans.append(sp[: c.max_positions])
            weights.append(w[: c.max_positions])
        b, t = len(seqs), max(len(s) for s in seqs)
        lt = max([len(x) for x in texts], default=0)
        nv = len(scenes) * p
        self.ids = torch.full((b, t), V.PAD, dtype=torch.long)
        self.span = torch.full((b, t), -1, dtype=torch.long)
        self.w = torch.zeros(b, t)
        self.mask = torch.zeros(b, t, dtype=torch.long)
        for i, (s, sp, w) in enumerate(zip(seqs, spans, weights)):
            n = len(s)
            self.ids[i, :n] = torch.tensor(s)
            self.mask[i, :n] = 1
            self.w[i, :n] = torch.tensor(w)
            self.span[i, :n] = torch.tensor([
                -1 if x == -1 else (x[1] if x[0] == "v" else nv + x[1] * lt + x[2]) for x in sp])
        self.image_size = c.image_size
        self.render = D.scene_params(scenes, gen) if scenes else None
        self.pixels = None
        self.slots = D.slot_targets(scenes) if scenes else None
        self.tids = self.tmask = None
        if texts:
            self.tids = torch.full((len(texts), lt), V.PAD, dtype=torch.long)
            self.tmask = torch.zeros(len(texts), lt, dtype=torch.long)
            for i, x in enumerate(texts):
                self.tids[i, : len(x)] = torch.tensor(x)
                self.tmask[i, : len(x)] = 1
        if device is not None:
            self.to(device)

    def to(self, device) -> "Batch":
        if self.render is not None and self.pixels is None:
            self.pixels = D.normalize(D.raster(self.render, self.image_size, device))
        for k in self.KEYS:
            v = getattr(self, k)
            if v is not None:
                setattr(self, k, v.to(device, non_blocking=True))
        return self

    # crossing a process boundary as numpy arrays: torch's own pickling would pass every tensor
    # through a shared-memory file descriptor (thousands of them in flight)
    def __getstate__(self):
        return {k: _np(v) for k, v in self.__dict__.items()}

    def __setstate__(self, st):
        self.__dict__.update({k: _torch(v) for k, v in st.items()})


class VisionBatch(Batch):
    """Stage-1 batch: scenes as rendering parameters + slot targets."""

    KEYS = ("slots",)

    def __init__(self, scenes, c: Config, gen: torch.Generator, override=None, slots=None):
        self.image_size = c.image_size
        self.render = D.scene_params(scenes, gen, override)
        self.pixels = None
        self.slots = slots if slots is not None else D.slot_targets(scenes)


def _np(v):
    if torch.is_tensor(v):
        return ("t", v.numpy())
    if isinstance(v, dict):
        return ("d", {k: _np(x) for k, x in v.items()})
    return ("v", v)


def _torch(v):
    kind, x = v
    if kind == "t":
        return torch.from_numpy(x)
    if kind == "d":
        return {k: _torch(y) for k, y in x.items()}
    return x


def forward_batch(model: MetaLM, bt: Batch, slot_head: Optional[nn.Module] = None):
    """Returns (weighted LM loss, answer-token loss, aux slot loss or None)."""
    vecs = []
    aux = None
    if bt.pixels is not None:
        h = model.vision(bt.pixels)
        vecs.append(model.vision_connector(h).reshape(-1, model.c.hidden))
        if slot_head is not None:
            aux = slot_loss(slot_head(h), bt.slots)[0]
    if bt.tids is not None:
        th = model.text(bt.tids, bt.tmask)
        vecs.append(model.text_connector(th).reshape(-1, model.c.hidden))
    span_vectors = torch.cat(vecs, 0) if vecs else None
    logits = model.forward_sequences(bt.ids, bt.span, span_vectors, bt.mask)
    ce = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), bt.ids[:, 1:].reshape(-1), reduction="none")
    w = bt.w[:, 1:].reshape(-1)
    loss = (ce * w).sum() / w.sum().clamp(min=1e-6)
    ans = (w >= 1.0).float()
    ans_loss = (ce * ans).sum() / ans.sum().clamp(min=1)
    return loss, ans_loss, aux


# ------------------------------------------------------------------------------------- slot heads

class SlotHead(nn.Module):
    """Per-slot present / shape / colour classifiers. With query tokens: ONE linear head shared by
    the three slot tokens (token i must describe slot i, in the same code for every slot: this is
    what binds colour to place); without: over the flattened encoder output."""

    def __init__(self, c: Config):
        super().__init__()
        self.per_token = c.vis_queries >= 3
        self.ln = nn.LayerNorm(c.enc_hidden)
        self.proj = nn.Linear(c.enc_hidden if self.per_token else c.vis_positions * c.enc_hidden,
                              13 if self.per_token else 3 * (2 + 3 + 8))

    def forward(self, h):
        if self.per_token:
            return self.proj(self.ln(h[:, :3]))
        return self.proj(self.ln(h).flatten(1)).view(-1, 3, 13)


def slot_loss(logits, tgt):
    pres = F.cross_entropy(logits[..., :2].reshape(-1, 2), tgt[..., 0].reshape(-1))
    shp = F.cross_entropy(logits[..., 2:5].reshape(-1, 3), tgt[..., 1].reshape(-1), ignore_index=-100)
    col = F.cross_entropy(logits[..., 5:].reshape(-1, 8), tgt[..., 2].reshape(-1), ignore_index=-100)
    with torch.no_grad():
        m = tgt[..., 0] == 1
        acc = {
            "present": (logits[..., :2].argmax(-1) == tgt[..., 0]).float().mean().item(),
            "shape": (logits[..., 2:5].argmax(-1) == tgt[..., 1])[m].float().mean().item(),
            "color": (logits[..., 5:].argmax(-1) == tgt[..., 2])[m].float().mean().item(),
        }
    return pres + shp + col, acc


# --------------------------------------------------------------------------------------- schedule

class Budget:
    """Progress in [0,1] by steps or by wall-clock minutes (resumable: elapsed time is saved)."""

    def __init__(self, steps: Optional[int] = None, minutes: Optional[float] = None):
        self.steps, self.seconds = steps, (minutes * 60 if minutes else None)

    def progress(self, step: int, elapsed: float) -> float:
        if self.steps:
            return min(1.0, step / self.steps)
        return min(1.0, elapsed / self.seconds)

    def eta(self, step: int, elapsed: float) -> float:
        p = self.progress(step, elapsed)
        return elapsed * (1 - p) / max(p, 1e-9)


def lr_at(base: float, p: float, warm: float = 0.0) -> float:
    if p < warm:
        return base * p / warm
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (p - warm) / (1 - warm))))


def sample_task(mix: Dict[str, float], rng: random.Random) -> str:
    r, acc = rng.random() * sum(mix.values()), 0.0
    for k, v in mix.items():
        acc += v
        if r <= acc:
            return k
    return k


# ------------------------------------------------------------------------------------ data loading

class BatchMaker:
    """The CPU batch of one step, from (seed, stage, step, rank) alone, so that any process can
    build it (picklable: data-loader processes call it) and a resumed run sees the same data."""

    def __init__(self, kind: str, cfg: dict, c: Config, seed: int, stage: str, rank: int = 0, world: int = 1):
        self.kind, self.cfg, self.c, self.seed, self.stage, self.rank, self.world = kind, cfg, c, seed, stage, rank, world

    def __call__(self, step: int, p: float):
        cfg, c = self.cfg, self.c
        rng = random.Random(self.seed * 1_000_003 + step * 7919 + STAGE_SALT.get(self.stage, 0) + 104_729 * self.rank)
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + step + 15_485_863 * self.rank)
        if self.kind == "vision":
            scenes = [D.random_scene(rng) for _ in range(max(2, cfg["batch"] // self.world))]
            tgt = D.slot_targets(scenes)
            ov = None
            if cfg.get("off_palette"):
                ov, mask = D.off_palette_colors(scenes, rng, cfg["off_palette"])
                tgt[..., 2][mask] = -100
            return VisionBatch(scenes, c, gen, ov, tgt)
        if self.kind == "main":
            task = sample_task(EARLY_MIX if p < cfg.get("early", 0) else cfg["mix"], rng)
        else:
            task = self.kind
        n = max(2, min(cfg["max_batch"], cfg["tokens"] // APPROX_LEN[task]) // self.world)
        return Batch([D.TASKS[task](rng) for _ in range(n)], c, gen)


def _loader_init():
    torch.set_num_threads(1)


class Prefetcher:
    """Builds the next `lookahead` steps' batches in `workers` processes while the device trains.
    Batches come back in step order; a step's curriculum progress is the one known when it was
    submitted (a few steps early)."""

    def __init__(self, maker: BatchMaker, workers: int, start: int, lookahead: int = 0):
        import multiprocessing as mp
        from collections import deque
        self.maker = maker
        self.pool = mp.get_context("spawn").Pool(workers, initializer=_loader_init)
        self.lookahead = lookahead or 3 * workers
        self.pending = deque()
        self.next = start

    def get(self, step: int, p: float):
        while len(self.pending) < self.lookahead:
            self.pending.append((self.next, self.pool.apply_async(self.maker, (self.next, p))))
            self.next += 1
        s, fut = self.pending.popleft()
        assert s == step, f"prefetcher out of step: {s} != {step}"
        return fut.get()

    def close(self):
        self.pool.terminate()
        self.pool.join()


# --------------------------------------------------------------------------------------- training

class Trainer:
    def __init__(self, args, recipe: dict, rank: int = 0, world: int = 1):
        self.args, self.recipe = args, recipe
        self.rank, self.world = rank, world
        self.dir = args.run_dir or os.path.join(HERE, "runs", args.name)
        os.makedirs(self.dir, exist_ok=True)
        self.logf = open(os.path.join(self.dir, "train.log"), "a") if rank == 0 else None
        self.device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu else "cpu")
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True
        torch.manual_seed(args.seed)
        self.model = MetaLM(recipe["config"]).to(self.device)
        self.slot_head = SlotHead(recipe["config"]).to(self.device)

    # -- data parallelism over processes (one thread each): on a shared CPU, processes get a fair
    # share each, so N single-thread processes outrun one N-thread process that waits on barriers
    def dist_max(self, x: float) -> float:
        if self.world == 1:
            return x
        import torch.distributed as dist
        t = torch.tensor([x], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return float(t[0])

    def sync_grads(self, params: List[nn.Parameter]):
        if self.world == 1:
            return
        import torch.distributed as dist
        flat = torch.cat([(q.grad if q.grad is not None else torch.zeros_like(q)).reshape(-1) for q in params])
        dist.all_reduce(flat)
        flat /= self.world
        i = 0
        for q in params:
            n = q.numel()
            q.grad = flat[i:i + n].view_as(q).clone()
            i += n

    def barrier(self):
        if self.world > 1:
            import torch.distributed as dist
            dist.barrier()

    def ckpt_path(self, stage: str) -> str:
        return os.path.join(self.dir, f"{stage}.pt")

    def save(self, stage: str, state: dict, final: bool = False):
        path = self.ckpt_path(stage if final else stage + ".partial")
        tmp = path + ".tmp"
        torch.save({"config": self.model.c.to_dict(), "model": self.model.state_dict(),
                    "slot_head": self.slot_head.state_dict(), **state}, tmp)
        os.replace(tmp, path)

    def load_into(self, path: str):
        if path.endswith(".npz"):
            import export
            self.model.load_state_dict(export.load_checkpoint(path).state_dict())
            return {}
        ck = torch.load(path, map_location=self.device)
        self.model.load_state_dict(ck["model"])
        if "slot_head" in ck:
            self.slot_head.load_state_dict(ck["slot_head"])
        return ck

    def run_stage(self, stage: str, cfg: dict, params: List[nn.Parameter], make_batch: BatchMaker, step_fn,
                  evaluate=None, groups: Optional[List[dict]] = None):
        """Generic loop: resumable, logged (loss, steps/s, ETA), checkpointed every CKPT_EVERY_S."""
        final = self.ckpt_path(stage)
        if os.path.exists(final):
            log(self.logf, f"[{stage}] done already, loading {final}")
            self.load_into(final)
            return
        opt = torch.optim.AdamW(groups or params, lr=cfg["lr"], weight_decay=0.01, betas=(0.9, 0.98))
        budget = Budget(cfg.get("steps"), cfg.get("minutes"))
        step, elapsed = 0, 0.0
        partial = self.ckpt_path(stage + ".partial")
        if os.path.exists(partial):
            ck = self.load_into(partial)
            opt.load_state_dict(ck["opt"])
            step, elapsed = ck["step"], ck["elapsed"]
            log(self.logf, f"[{stage}] resumed at step {step} ({elapsed / 60:.1f} min)")
        n_train = sum(p.numel() for p in params)
        log(self.logf, f"[{stage}] start: {n_train / 1e6:.2f}M trainable params, budget "
                       f"{cfg.get('steps') or ''}{' steps' if cfg.get('steps') else str(cfg.get('minutes')) + ' min'}")
        t0 = time.time() - elapsed
        last_ck = time.time()
        last_log, last_step = time.time(), step
        ema = None
        pref: Optional[Prefetcher] = None
        while True:
            elapsed = time.time() - t0
            p = self.dist_max(budget.progress(step, elapsed))  # every rank stops at the same step
            if p >= 1.0:
                break
            for g in opt.param_groups:
                g["lr"] = lr_at(cfg["lr"], p) * min(1.0, (step + 1) / WARMUP_STEPS) * g.get("lr_scale", 1.0)
            if pref is None and self.args.data_workers > 0:
                pref = Prefetcher(make_batch, self.args.data_workers, step)
            bt = (pref.get(step, p) if pref else make_batch(step, p)).to(self.device)
            loss, info = step_fn(bt)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            self.sync_grads(params)
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            step += 1
            ema = dict(info) if ema is None else {**ema, **{k: 0.95 * ema.get(k, v) + 0.05 * v for k, v in info.items()}}
            now = time.time()
            if now - last_log > 30 or step == 1:
                sps = (step - last_step) / (now - last_log)
                last_log, last_step = now, step
                eta = budget.eta(step, now - t0)
                log(self.logf, f"[{stage}] step {step} {100 * p:.0f}% " + " ".join(f"{k}={v:.3f}" for k, v in ema.items())
                    + f" lr={opt.param_groups[0]['lr']:.2e} {sps:.2f} steps/s ETA {eta / 60:.1f} min")
            if self.dist_max(float(now - last_ck > self.args.ckpt_every)) > 0:
                if self.rank == 0:
                    self.save(stage, {"opt": opt.state_dict(), "step": step, "elapsed": now - t0})
                    save_npz(self.model, os.path.join(self.dir, f"{stage}.partial.npz"), self.args.recipe)
                last_ck = now
        if pref:
            pref.close()
        log(self.logf, f"[{stage}] finished: {step} steps in {(time.time() - t0) / 60:.1f} min "
                       f"({step / max(time.time() - t0, 1e-9):.2f} steps/s)")
        if self.rank == 0:
            self.save(stage, {"step": step, "elapsed": time.time() - t0}, final=True)
            save_npz(self.model, os.path.join(self.dir, f"{stage}.npz"), self.args.recipe)
            for f in (partial, os.path.join(self.dir, f"{stage}.partial.npz")):
                if os.path.exists(f):
                    os.remove(f)
            if evaluate:
                evaluate()
        self.barrier()

    # -- stage 1
    def stage_vision(self, cfg):
        m, c = self.model, self.model.c
        params = list(m.vision.parameters()) + list(self.slot_head.parameters())

        make_batch = BatchMaker("vision", cfg, c, self.args.seed, "vision", self.rank, self.world)

        def step_fn(bt):
            loss, acc = slot_loss(self.slot_head(m.vision(bt.pixels)), bt.slots)
            return loss, {"loss": loss.item(), **acc}

        def evaluate():
            self.eval_slots()

        self.run_stage("vision", cfg, params, make_batch, step_fn, evaluate)

    @torch.no_grad()
    def eval_slots(self, n: int = 512):
        m, c = self.model, self.model.c
        m.eval()
        rng = random.Random(999)
        gen = torch.Generator().manual_seed(999)
        res = {}
        for split in ("val", "heldout"):
            scenes = [D.random_scene(rng, split) for _ in range(n)]
            h = m.vision(D.normalize(D.render(scenes, c.image_size, gen)).to(self.device))
            _, acc = slot_loss(self.slot_head(h), D.slot_targets(scenes).to(self.device))
            res[split] = acc
        m.train()
        log(self.logf, f"[eval] slot accuracy: {json.dumps(res)}")
        self.slot_eval = res
        return res

    # -- stage 2
    def stage_main(self, cfg, vision_frozen_blocks: int = 1):
        m, c = self.model, self.model.c
        use_aux = self.recipe.get("vision") is not None
        # Freeze the encoder's stem and first block only if pretraining made it really see shapes;
        # otherwise keep it all trainable (at 0.3x lr) and let the auxiliary slot loss go on teaching it.
        shape_acc = (getattr(self, "slot_eval", None) or self.eval_slots())["val"]["shape"] if use_aux else 0.0
        if shape_acc >= 0.9:
            log(self.logf, f"[main] vision shape accuracy {shape_acc:.3f}: stem and first block frozen")
            for prm in m.vision.stem.parameters():
                prm.requires_grad_(False)
            for blk in m.vision.blocks[:vision_frozen_blocks]:
                for prm in blk.parameters():
                    prm.requires_grad_(False)
            m.vision.pos.requires_grad_(False)
        else:
            log(self.logf, f"[main] vision shape accuracy {shape_acc:.3f} < 0.9: vision encoder stays trainable")
        vis = [q for q in m.vision.parameters() if q.requires_grad]
        rest = (list(m.vision_connector.parameters()) + list(m.decoder.parameters()) + list(m.text.parameters())
                + list(m.text_connector.parameters()))
        head = list(self.slot_head.parameters()) if use_aux else []
        groups = [{"params": rest}, {"params": vis + head, "lr_scale": 0.3}]
        params = rest + vis + head
        mix = cfg["mix"]

        make_batch = BatchMaker("main", cfg, c, self.args.seed, "main", self.rank, self.world)

        def step_fn(bt):
            loss, ans, aux = forward_batch(m, bt, self.slot_head if use_aux else None)
            info = {"loss": loss.item(), "ans": ans.item()}
            if aux is not None:
                info["slot"] = aux.item()
                loss = loss + 0.2 * aux
            return loss, info

        self.run_stage("main", cfg, params, make_batch, step_fn,
                       lambda: self.eval_all(["vqa", "caption", "ve", "icl"] if "vqa" in mix else list(mix)), groups)

    # -- stage 3
    def stage_nli(self, cfg, frozen_decoder: bool = True, task: str = "nli_span"):
        m, c = self.model, self.model.c
        for prm in m.parameters():
            prm.requires_grad_(False)
        train = list(m.text.parameters()) + list(m.text_connector.parameters()) if frozen_decoder else list(m.decoder.parameters())
        for prm in train:
            prm.requires_grad_(True)

        stage = "nli" if frozen_decoder else "nli_full"
        make_batch = BatchMaker(task, cfg, c, self.args.seed, stage, self.rank, self.world)

        def step_fn(bt):
            loss, ans, _ = forward_batch(m, bt)
            return loss, {"loss": loss.item(), "ans": ans.item()}

        self.run_stage(stage, cfg, train, make_batch, step_fn,
                       lambda: self.eval_all([task]))
        for prm in m.parameters():
            prm.requires_grad_(True)

    # -- quick PyTorch evaluation (the real tables come from the TypeScript runtime)
    @torch.no_grad()
    def eval_all(self, tasks: Sequence[str], n: int = 0):
        import evaluate as E
        res = E.quick_eval(self.model, tasks, self.device, n_per=n or (12 if self.args.recipe == "smoke" else 60))
        log(self.logf, "[eval] " + json.dumps(res))
        with open(os.path.join(self.dir, "eval.json"), "a") as f:
            f.write(json.dumps({"time": time.time(), **res}) + "\n")
        return res


def save_npz(model: MetaLM, path: str, recipe: str):
    """The weights as plain numpy arrays + the config as JSON: readable by any PyTorch version (a
    checkpoint written by the GPU machine's PyTorch 2.x is exported by Debian's 1.13 here)."""
    import numpy as np
    arrays = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
    arrays["__config__"] = np.frombuffer(json.dumps({"config": model.c.to_dict(), "recipe": recipe}).encode(), dtype=np.uint8)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipe", default="full", choices=list(RECIPES))
    ap.add_argument("--name", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", default=None, help="checkpoint to start from (e.g. a finished vision stage)")
    ap.add_argument("--threads", type=int, default=1, help="threads per process")
    ap.add_argument("--procs", type=int, default=1, help="data-parallel processes (gloo all-reduce)")
    ap.add_argument("--cpu", action="store_true")
    ap.add_argument("--out", default=None, help="package folder (default gpu-worker/models/<export name>)")
    ap.add_argument("--minutes-scale", type=float, default=1.0, help="scale every stage's minute budget")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--ckpt-every", type=float, default=CKPT_EVERY_S, help="seconds between partial checkpoints")
    ap.add_argument("--data-workers", type=int, default=0,
                    help="processes building batches ahead of the device (use on a GPU; 0 = in the training loop)")
    ap.add_argument("--run-dir", default=None, help="checkpoint/log folder (default gpu-worker/training/runs/<name>)")
    args = ap.parse_args()
    args.name = args.name or args.recipe
    recipe = dict(RECIPES[args.recipe])
    for k in ("vision", "main", "nli", "nli_full"):
        if isinstance(recipe.get(k), dict) and recipe[k].get("minutes"):
            recipe[k] = dict(recipe[k], minutes=recipe[k]["minutes"] * args.minutes_scale)
    if args.procs > 1:
        import torch.multiprocessing as mp
        port = 29500 + os.getpid() % 1000
        mp.spawn(run, nprocs=args.procs, args=(args.procs, port, args, recipe), join=True)
    else:
        run(0, 1, 0, args, recipe)


def run(rank: int, world: int, port: int, args, recipe: dict):
    torch.set_num_threads(args.threads)
    if world > 1:
        import torch.distributed as dist
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    tr = Trainer(args, recipe, rank, world)
    c = tr.model.c
    log(tr.logf, f"recipe {args.recipe} -> runs/{args.name} on {tr.device}, {world} process(es) x {torch.get_num_threads()} thread(s); "
                 f"params: total {count_params(tr.model) / 1e6:.2f}M (vision {count_params(tr.model.vision) / 1e6:.2f}M, "
                 f"text {count_params(tr.model.text) / 1e6:.2f}M, decoder {count_params(tr.model.decoder) / 1e6:.2f}M)")
    t_start = time.time()
    if args.init:
        tr.load_into(args.init)
        log(tr.logf, f"initialised from {args.init}")
    if isinstance(recipe.get("vision"), dict):
        tr.stage_vision(recipe["vision"])
    if recipe.get("main"):
        tr.stage_main(recipe["main"])
    if recipe.get("nli"):
        tr.stage_nli(recipe["nli"], frozen_decoder=True)
    if recipe.get("nli_full"):
        tr.stage_nli(recipe["nli_full"], frozen_decoder=False, task="nli_text")
    if rank != 0:
        return
    final = os.path.join(tr.dir, "final.pt")
    torch.save({"config": c.to_dict(), "model": tr.model.state_dict(), "recipe": args.recipe}, final)
    save_npz(tr.model, os.path.join(tr.dir, "final.npz"), args.recipe)
    log(tr.logf, f"training done in {(time.time() - t_start) / 60:.1f} min -> {final}")
    if not args.no_export:
        import export
        out = args.out or os.path.join(ROOT, "gpu-worker", "models", recipe["export"])
        m = export.export_package(tr.model.cpu(), out, recipe["export"], "0.1.0", check=True)
        total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out))
        log(tr.logf, f"exported {recipe['export']} to {out} ({total / 1e6:.2f} MB, {len(m['files'])} files + manifest)")


if __name__ == "__main__":
    main()
