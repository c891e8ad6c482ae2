"""The shapes world (../../../shared/SHAPES_WORLD.md): scenes, rendering, and task sequences.

- Scenes: three slots (left, middle, right), 1-3 objects, shape x colour; held-out combinations
  (purple triangle, cyan square, orange circle) never appear in training images (text-only tasks,
  from metalm-tiny 1.0 on, may name them: see `random_scene`).
- Rendering (batched, torch): supersampled anti-aliasing (or none), graded and tinted dark
  backgrounds, Gaussian noise, size (+-25%) and position jitter inside the slot, colour jitter +-25,
  several render sizes resized to the model input with PIL-like antialiased bilinear (as the worker
  does). `render_pil` is a second, independent drawing code (PIL ImageDraw) for robustness tests.
- Tasks: captioning, every VQA form, visual entailment with explanations, text NLI (premise =
  caption), text-span tasks, in-context sequences with an unstated task; each sample is a list of
  segments that train.py collates into decoder sequences.
"""
from __future__ import annotations

import math
import random
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from vocab import COLORS, SHAPES, SLOTS

RGB = {
    "red": (220, 40, 40), "green": (40, 180, 60), "blue": (40, 70, 220), "yellow": (230, 210, 40),
    "orange": (240, 140, 30), "purple": (150, 60, 190), "cyan": (40, 200, 210), "white": (235, 235, 235),
}
HELD_OUT = {("purple", "triangle"), ("cyan", "square"), ("orange", "circle")}
POS_PHRASE = {"left": "on the left", "middle": "in the middle", "right": "on the right"}
NUM = ["zero", "one", "two", "three"]
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles"}

Obj = Tuple[str, str]  # (color, shape)
Scene = Tuple[Optional[Obj], Optional[Obj], Optional[Obj]]


def art(color: str) -> str:
    return "an" if color == "orange" else "a"


def obj_phrase(o: Obj) -> str:
    return f"{art(o[0])} {o[0]} {o[1]}"


# ------------------------------------------------------------------------------------------ scenes

def random_scene(rng: random.Random, split: str = "train") -> Scene:
    """split 'train' / 'val' / 'test': no held-out combination; 'heldout': at least one; 'text':
    anything (text-only training data: SHAPES_WORLD.md keeps the held-out combinations out of
    training IMAGES; a language model that never read "an orange circle" will not write it, however
    clearly the image shows one)."""
    while True:
        n = rng.randint(1, 3)
        slots = rng.sample(range(3), n)
        s: List[Optional[Obj]] = [None, None, None]
        for i in slots:
            s[i] = (rng.choice(COLORS), rng.choice(SHAPES))
        has_ho = any(o in HELD_OUT for o in s if o)
        if split == "text" or (split == "heldout") == has_ho:
            return tuple(s)  # type: ignore[return-value]


def objects(scene: Scene) -> List[Tuple[str, Obj]]:
    return [(SLOTS[i], o) for i, o in enumerate(scene) if o]


def caption(scene: Scene) -> str:
    parts = [f"{obj_phrase(o)} {POS_PHRASE[slot]}" for slot, o in objects(scene)]
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


# --------------------------------------------------------------------------------------- rendering

# Placement ranges of SHAPES_WORLD.md: centre from 25% to 75% of the height and within the middle
# 60% of its third (slot centre +-10% of the width), bounding box 12-25% of the width. Training draws
# from slightly wider ranges so that the edges of the world's ranges are not the edges of the data.
PLACE = dict(cx=0.11, cy=(0.22, 0.78), box=(0.10, 0.27))
# bounding box -> the renderer's radius parameter, per shape (circle 2r, square 1.7r, triangle 2r wide)
BOX_TO_R = torch.tensor([0.5, 1 / 1.7, 0.5])
RENDER_CHOICES = [(64, 1), (64, 2), (64, 2), (64, 3), (48, 2), (56, 3), (80, 2), (96, 1), (96, 2), (128, 1)]


def scene_params(scenes: Sequence[Scene], rng: torch.Generator, base_override: Optional[torch.Tensor] = None,
                 render_size: Optional[int] = None, ss: Optional[int] = None, noise: Optional[float] = None) -> dict:
    """Everything random about a batch's rendering, drawn on the CPU (cheap; data-loader workers do
    it), so that `raster` can draw the pixels on any device."""
    b = len(scenes)

    def pick(options):
        return options[int(torch.randint(len(options), (1,), generator=rng))]

    if render_size is None:
        # (render size, supersampling): at most 192 px drawn, then resized to the model input
        render_size, ss0 = pick(RENDER_CHOICES)
        ss = ss or ss0
    present = torch.tensor([[o is not None for o in s] for s in scenes], dtype=torch.float32)
    shape = torch.tensor([[SHAPES.index(o[1]) if o else 0 for o in s] for s in scenes])
    base = torch.tensor([[RGB[o[0]] if o else (0, 0, 0) for o in s] for s in scenes], dtype=torch.float32)
    if base_override is not None:
        base = torch.where(torch.isnan(base_override), base, base_override)
    color = (base + (torch.rand(b, 3, 3, generator=rng) * 50 - 25)).clamp(0, 255)
    lo, hi = PLACE["box"]
    box = lo + torch.rand(b, 3, generator=rng) * (hi - lo)
    r = box * BOX_TO_R[shape]
    cx = (torch.arange(3).float() + 0.5) / 3 + (torch.rand(b, 3, generator=rng) * 2 - 1) * PLACE["cx"]
    ylo, yhi = PLACE["cy"]
    cy = ylo + torch.rand(b, 3, generator=rng) * (yhi - ylo)
    # background: gray 15..90, slight tint, linear gradient
    bg = torch.cat([15 + torch.rand(b, 1, generator=rng) * 75, (torch.rand(b, 3, generator=rng) * 2 - 1) * 6,
                    (torch.rand(b, 2, generator=rng) * 2 - 1) * 18], 1)  # [B, 6]: gray, tint rgb, gx, gy
    if noise is None:
        sigma = torch.rand(b, generator=rng) * 10 * (torch.rand(b, generator=rng) < 0.8)
    else:
        sigma = torch.full((b,), float(noise))
    return dict(present=present, shape=shape, color=color, r=r, cx=cx, cy=cy, bg=bg, sigma=sigma,
                render_size=int(render_size), ss=int(ss or 2))


def raster(p: dict, out_size: int, device=None, gen: Optional[torch.Generator] = None) -> torch.Tensor:
    """Draw `scene_params` output -> float RGB 0..255 [B,3,out,out] on `device`. Objects are painted
    left to right (a later object covers an earlier one where large neighbours touch)."""
    device = device or torch.device("cpu")
    t = {k: (v.to(device) if torch.is_tensor(v) else v) for k, v in p.items()}
    b = t["present"].shape[0]
    render_size, ss = t["render_size"], t["ss"]
    h = render_size * ss
    coords = (torch.arange(h, dtype=torch.float32, device=device) + 0.5) / h
    dx = coords.view(1, 1, 1, h) - t["cx"].view(b, 3, 1, 1)  # [B,3,1,W]
    dy = coords.view(1, 1, h, 1) - t["cy"].view(b, 3, 1, 1)  # [B,3,H,1]
    rr = t["r"].view(b, 3, 1, 1)
    circ = (dx * dx + dy * dy) <= rr * rr
    sq = (dx.abs() <= 0.85 * rr) & (dy.abs() <= 0.85 * rr)
    tri = (dy <= 0.75 * rr) & (dx.abs() <= (dy + rr) / 1.75)
    sh = t["shape"].view(b, 3, 1, 1)
    m = torch.where(sh == 0, circ, torch.where(sh == 1, sq, tri)).float() * t["present"].view(b, 3, 1, 1)  # [B,3,H,W]
    bgp = t["bg"]
    bg = (bgp[:, 0].view(b, 1, 1, 1) + bgp[:, 1:4].view(b, 3, 1, 1)
          + bgp[:, 4].view(b, 1, 1, 1) * (coords.view(1, 1, 1, h) - 0.5)
          + bgp[:, 5].view(b, 1, 1, 1) * (coords.view(1, 1, h, 1) - 0.5))
    img = bg.clamp(5, 100).expand(b, 3, h, h)
    for s in range(3):
        ms = m[:, s:s + 1]
        img = img * (1 - ms) + ms * t["color"][:, s].view(b, 3, 1, 1)
    if ss > 1:
        img = F.avg_pool2d(img, ss)
    if render_size != out_size:
        img = F.interpolate(img, size=(out_size, out_size), mode="bilinear", align_corners=False,
                            antialias=render_size > out_size)
    noise = torch.randn(img.shape, generator=gen, device=device) if gen is not None else torch.randn(img.shape, device=device)
    img = img + noise * t["sigma"].view(b, 1, 1, 1)
    return img.clamp(0, 255)


def render(scenes: Sequence[Scene], out_size: int = 64, rng: Optional[torch.Generator] = None,
           render_size: Optional[int] = None, ss: Optional[int] = None, noise: Optional[float] = None,
           base_override: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Batched renderer on the CPU -> float RGB 0..255 [B,3,out,out]. Unset options are drawn at
    random (one draw per batch for sizes, per image for everything else)."""
    rng = rng or torch.Generator().manual_seed(0)
    return raster(scene_params(scenes, rng, base_override, render_size, ss, noise), out_size, gen=rng)


def render_pil(scene: Scene, size: int, seed: int, noise: float = 4.0):
    """Independent drawing code (PIL ImageDraw, no supersampling, other jitter). Returns a PIL RGB image."""
    from PIL import Image, ImageDraw
    rng = random.Random(seed)
    g = rng.randint(20, 80)
    im = Image.new("RGB", (size, size), (g, g, g + rng.randint(-5, 5)))
    d = ImageDraw.Draw(im)
    for i, o in enumerate(scene):
        if not o:
            continue
        col = tuple(max(0, min(255, v + rng.randint(-20, 20))) for v in RGB[o[0]])
        box = size * rng.uniform(0.12, 0.25)
        r = box / 1.7 if o[1] == "square" else box / 2
        cx = size * (i + 0.5) / 3 + rng.uniform(-0.1, 0.1) * size
        cy = size * rng.uniform(0.25, 0.75)
        if o[1] == "circle":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
        elif o[1] == "square":
            q = r * 0.85
            d.rectangle([cx - q, cy - q, cx + q, cy + q], fill=col)
        else:
            d.polygon([(cx, cy - r), (cx - r, cy + 0.75 * r), (cx + r, cy + 0.75 * r)], fill=col)
    if noise > 0:
        t = torch.tensor(list(im.getdata()), dtype=torch.float32)
        t = (t + torch.randn(t.shape, generator=torch.Generator().manual_seed(seed)) * noise).clamp(0, 255).round().byte()
        im = Image.frombytes("RGB", (size, size), bytes(t.flatten().tolist()))
    return im


HELD_OUT_RGB = {s: RGB[c] for c, s in HELD_OUT}  # shape -> the colour it never wears in training


def off_palette_colors(scenes: Sequence[Scene], rng: random.Random, p: float = 0.5):
    """Shape-learning augmentation for the vision pretraining: with probability p an object is drawn in a
    random bright colour (not a world colour, so its colour target is dropped). Colours within 100 of
    the held-out colour of that shape are rejected, so no held-out combination is ever drawn.
    Returns (override [B,3,3] with NaN = keep, mask [B,3] of overridden objects)."""
    ov = torch.full((len(scenes), 3, 3), float("nan"))
    mask = torch.zeros(len(scenes), 3, dtype=torch.bool)
    for b, s in enumerate(scenes):
        for i, o in enumerate(s):
            if o is None or rng.random() >= p:
                continue
            while True:
                c = [rng.randint(0, 255) for _ in range(3)]
                if max(c) < 110:
                    continue
                h = HELD_OUT_RGB[o[1]]
                if sum((x - y) ** 2 for x, y in zip(c, h)) ** 0.5 < 100:
                    continue
                break
            ov[b, i] = torch.tensor(c, dtype=torch.float32)
            mask[b, i] = True
    return ov, mask


def normalize(img255: torch.Tensor) -> torch.Tensor:
    """0..255 -> the model's pixel_values (mean 0.5, std 0.5)."""
    return img255 / 127.5 - 1.0


def slot_targets(scenes: Sequence[Scene]) -> torch.Tensor:
    """[B,3,3]: present (0/1), shape index, colour index (shape/colour -100 when empty)."""
    t = torch.full((len(scenes), 3, 3), -100, dtype=torch.long)
    for b, s in enumerate(scenes):
        for i, o in enumerate(s):
            t[b, i, 0] = int(o is not None)
            if o:
                t[b, i, 1] = SHAPES.index(o[1])
                t[b, i, 2] = COLORS.index(o[0])
    return t


# -------------------------------------------------------------------------------------------- VQA

VQA_FORMS = ["color_of_shape", "shape_at", "color_at", "what_at", "count_all", "count_shape",
             "count_color", "exists", "where"]


def _allowed(c: str, s: str, split: str) -> bool:
    return split in ("heldout", "text") or (c, s) not in HELD_OUT


def absent_object(scene: Scene, rng: random.Random, split: str = "train") -> Obj:
    """An object not in the scene, mostly a hard negative: a present colour on another shape, a
    present shape in another colour (the binding errors a model makes), else any absent object."""
    objs = [o for _, o in objects(scene)]
    have = set(objs)
    for _ in range(100):
        kind = rng.random()
        ref = rng.choice(objs)
        if kind < 0.4:
            o = (ref[0], rng.choice(SHAPES))
        elif kind < 0.8:
            o = (rng.choice(COLORS), ref[1])
        else:
            o = (rng.choice(COLORS), rng.choice(SHAPES))
        if o not in have and _allowed(*o, split):
            return o
    raise RuntimeError("no absent object found")


def vqa_candidates(scene: Scene, form: str, rng: random.Random, split: str = "train") -> List[Tuple[str, str]]:
    objs = objects(scene)
    out: List[Tuple[str, str]] = []
    if form == "color_of_shape":
        for s in SHAPES:
            found = [o for _, o in objs if o[1] == s]
            if len(found) == 1:
                out.append((f"what color is the {s}?", found[0][0]))
    elif form == "shape_at":
        out = [(f"what shape is {POS_PHRASE[slot]}?", o[1]) for slot, o in objs]
    elif form == "color_at":
        out = [(f"what color is the object {POS_PHRASE[slot]}?", o[0]) for slot, o in objs]
    elif form == "what_at":
        out = [(f"what is {POS_PHRASE[SLOTS[i]]}?", obj_phrase(o) if o else "nothing") for i, o in enumerate(scene)]
    elif form == "count_all":
        out = [("how many objects are there?", NUM[len(objs)])]
    elif form == "count_shape":
        out = [(f"how many {PLURAL[s]} are there?", NUM[sum(o[1] == s for _, o in objs)]) for s in SHAPES]
    elif form == "count_color":
        present = sorted({o[0] for _, o in objs})
        absent = [c for c in COLORS if c not in present]
        cols = present + rng.sample(absent, min(len(absent), max(1, len(present))))
        out = [(f"how many {c} objects are there?", NUM[sum(o[0] == c for _, o in objs)]) for c in cols]
    elif form == "exists":
        have = {o for _, o in objs}
        yes = [(f"is there {obj_phrase(o)}?", "yes") for o in sorted(have)]
        no = [(f"is there {obj_phrase(o)}?", "no") for o in (absent_object(scene, rng, split) for _ in range(max(1, len(yes))))]
        out = yes + no
    elif form == "where":
        for slot, o in objs:
            if sum(p == o for _, p in objs) == 1:
                out.append((f"where is the {o[0]} {o[1]}?", POS_PHRASE[slot]))
    return out


def vqa_sample(scene: Scene, rng: random.Random, form: Optional[str] = None, split: str = "train"):
    forms = [form] if form else rng.sample(VQA_FORMS, len(VQA_FORMS))
    for f in forms:
        c = vqa_candidates(scene, f, rng, split)
        if c:
            q, a = rng.choice(c)
            return f, q, a
    return None


# ------------------------------------------------------------------------ entailment / explanations

NEUTRAL = [
    ("is made of {m}", ["wood", "metal", "plastic", "glass", "paper"], "the image does not show what the {s} is made of"),
    ("is {m}", ["heavy", "light"], "the image does not show the weight of the {s}"),
    ("is {m}", ["hot", "cold"], "the image does not show the temperature of the {s}"),
    ("belongs to a {m}", ["child", "teacher"], "the image does not show the owner of the {s}"),
    ("is {m}", ["soft", "hard"], "the image does not show how the {s} feels"),
]


def _count_phrase(n: int, s: str) -> str:
    if n == 0:
        return f"there is no {s}"
    if n == 1:
        return f"there is one {s}"
    return f"there are {NUM[n]} {PLURAL[s]}"


def hypothesis(scene: Scene, label: str, rng: random.Random, split: str = "train") -> Tuple[str, str]:
    """(hypothesis, explanation) with the given label for this scene."""
    objs = objects(scene)
    have = {o for _, o in objs}
    for _ in range(100):
        # "exists" twice: `there is <answer>` is the hypothesis of the vqa-then-explain chain
        kind = rng.choice(["at", "shape_color", "count_shape", "exists", "exists", "count_all"])
        if label == "neutral":
            slot, o = rng.choice(objs)
            tmpl, fills, expl = rng.choice(NEUTRAL)
            return f"the {o[0]} {o[1]} " + tmpl.format(m=rng.choice(fills)), expl.format(s=o[1])
        if kind == "at":
            i = rng.randrange(3)
            slot, o = SLOTS[i], scene[i]
            if label == "entailment":
                if not o:
                    continue
                h = (o[0], o[1])
                return f"there is {obj_phrase(h)} {POS_PHRASE[slot]}", f"the {o[1]} {POS_PHRASE[slot]} is {o[0]}"
            h = rng.choice(objs)[1] if rng.random() < 0.4 else (rng.choice(COLORS), rng.choice(SHAPES))
            if o and rng.random() < 0.5:  # same colour or same shape as the object really there
                h = (o[0], rng.choice(SHAPES)) if rng.random() < 0.5 else (rng.choice(COLORS), o[1])
            if h == o or not _allowed(*h, split):
                continue
            ex = f"the object {POS_PHRASE[slot]} is {obj_phrase(o)}" if o else f"there is nothing {POS_PHRASE[slot]}"
            return f"there is {obj_phrase(h)} {POS_PHRASE[slot]}", ex
        if kind == "shape_color":
            s = rng.choice(SHAPES)
            found = [(slot, o) for slot, o in objs if o[1] == s]
            if len(found) > 1:
                continue
            if label == "entailment":
                if not found:
                    continue
                slot, o = found[0]
                return f"the {s} is {o[0]}", f"the {s} {POS_PHRASE[slot]} is {o[0]}"
            c = rng.choice(COLORS)
            if not _allowed(c, s, split):
                continue
            if not found:
                return f"the {s} is {c}", f"there is no {s}"
            slot, o = found[0]
            if o[0] == c:
                continue
            return f"the {s} is {c}", f"the {s} {POS_PHRASE[slot]} is {o[0]}"
        if kind == "count_shape":
            s = rng.choice(SHAPES)
            n = sum(o[1] == s for _, o in objs)
            k = n if label == "entailment" else rng.choice([x for x in range(4) if x != n])
            if k == 0:
                continue  # "there are zero circles" is not a form of this world
            return _count_phrase(k, s), _count_phrase(n, s)
        if kind == "count_all":
            n = len(objs)
            k = n if label == "entailment" else rng.choice([x for x in (1, 2, 3) if x != n])
            h = "there is one object" if k == 1 else f"there are {NUM[k]} objects"
            e = "there is one object" if n == 1 else f"there are {NUM[n]} objects"
            return h, e
        if kind == "exists":
            if label == "entailment":
                slot, o = rng.choice(objs)
                return f"there is {obj_phrase(o)}", f"the {o[1]} {POS_PHRASE[slot]} is {o[0]}"
            h = absent_object(scene, rng, split)
            return f"there is {obj_phrase(h)}", f"there is no {h[0]} {h[1]}"
    raise RuntimeError("no hypothesis found")


LABELS = ["entailment", "contradiction", "neutral"]


# ------------------------------------------------------------------------------------- in-context

ICL_TASKS: Dict[str, Callable[[Scene], Optional[str]]] = {
    "color_middle": lambda s: s[1][0] if s[1] else None,
    "color_left": lambda s: s[0][0] if s[0] else None,
    "color_right": lambda s: s[2][0] if s[2] else None,
    "shape_left": lambda s: s[0][1] if s[0] else None,
    "shape_middle": lambda s: s[1][1] if s[1] else None,
    "shape_right": lambda s: s[2][1] if s[2] else None,
    "count_objects": lambda s: NUM[sum(o is not None for o in s)],
    "count_circles": lambda s: NUM[sum(bool(o) and o[1] == "circle" for o in s)],
}


def icl_scenes(task: str, n: int, rng: random.Random, split: str = "train") -> List[Tuple[Scene, str]]:
    out = []
    while len(out) < n:
        s = random_scene(rng, split if split != "heldout" else "test")
        a = ICL_TASKS[task](s)
        if a is not None:
            out.append((s, a))
    return out


# ---------------------------------------------------------------------------- training sequences
# A sample is a list of segments:
#   ("img", scene)          an image span (vision encoder -> connector), not a loss target
#   ("tspan", text)         a text span (text encoder -> connector), not a loss target
#   ("txt", text, weight)   decoder tokens; each token's loss is weighted (0 = context only)
# train.py prepends bos and appends eos (weight 1) unless a sample ends with ("noeos",).

PROMPT_W = 0.1  # weight of prompt/question tokens (predictable only in part); answers weigh 1


def task_caption(rng, split="train"):
    s = random_scene(rng, split)
    return [("img", s), ("txt", "caption:", PROMPT_W), ("txt", caption(s), 1.0)]


def task_vqa(rng, split="train", form=None):
    while True:
        s = random_scene(rng, split)
        r = vqa_sample(s, rng, form, split)
        if r:
            f, q, a = r
            return [("img", s), ("txt", f"question: {q} answer:", PROMPT_W), ("txt", a, 1.0)]


def task_ve(rng, split="train", explain=True):
    s = random_scene(rng, split)
    label = rng.choice(LABELS)
    h, e = hypothesis(s, label, rng, split)
    out = [("img", s), ("txt", f"hypothesis: {h} it is", PROMPT_W), ("txt", label, 1.0)]
    if explain:
        out.append(("txt", f"because {e}", 1.0))
    return out


def text_split(split: str) -> str:
    return "text" if split == "train" else split


def nli_example(rng, split="train"):
    split = text_split(split)
    s = random_scene(rng, split)
    label = rng.choice(LABELS)
    h, _ = hypothesis(s, label, rng, split)
    return caption(s), h, label


def task_nli_span(rng, split="train"):
    """MetaLM text NLI: the premise/hypothesis go through the text encoder."""
    p, h, label = nli_example(rng, split)
    return [("tspan", f"premise: {p} hypothesis: {h}"), ("txt", "label:", PROMPT_W), ("txt", label, 1.0)]


def task_nli_text(rng, split="train"):
    """GPT baseline text NLI: everything is decoder text."""
    p, h, label = nli_example(rng, split)
    return [("txt", f"premise: {p} hypothesis: {h} label:", PROMPT_W), ("txt", label, 1.0)]


def task_text_span(rng, split="train"):
    """Semi-causal text pretraining: a caption through the text encoder, then a question about it
    (or the caption itself) in the decoder."""
    split = text_split(split)
    s = random_scene(rng, split)
    if rng.random() < 0.3:
        return [("tspan", caption(s)), ("txt", "caption:", PROMPT_W), ("txt", caption(s), 1.0)]
    r = vqa_sample(s, rng, None, split)
    f, q, a = r
    return [("tspan", caption(s)), ("txt", f"question: {q} answer:", PROMPT_W), ("txt", a, 1.0)]


def task_icl(rng, split="train", k=None, as_text=False):
    task = rng.choice(list(ICL_TASKS))
    k = rng.randint(0, 4) if k is None else k
    items = icl_scenes(task, k + 1, rng, split)
    seq = []
    for s, a in items:
        if as_text:
            seq += [("txt", f"caption: {caption(s)} answer:", PROMPT_W), ("txt", a, 1.0)]
        else:
            seq += [("img", s), ("txt", "answer:", PROMPT_W), ("txt", a, 1.0)]
    return seq


def task_text_lm(rng, split="train"):
    """Plain text: captions and question/answer pairs about a captioned scene (GPT baseline pretraining)."""
    s = random_scene(rng, split)
    r = vqa_sample(s, rng, None, split)
    f, q, a = r
    return [("txt", f"caption: {caption(s)} question: {q} answer:", PROMPT_W), ("txt", a, 1.0)]


TASKS = {
    "caption": task_caption, "vqa": task_vqa, "ve": task_ve,
    "ve_noexpl": lambda rng, split="train": task_ve(rng, split, explain=False),
    "nli_span": task_nli_span, "nli_text": task_nli_text, "text_span": task_text_span,
    "icl": task_icl, "icl_text": lambda rng, split="train": task_icl(rng, split, as_text=True),
    "text_lm": task_text_lm,
}
