"""Build the tiny random-weight package gpu-worker/fixtures/tiny/ (+ reference.json) for runtime tests.

    /usr/bin/python3 gpu-worker/training/make_fixture.py [--out gpu-worker/fixtures/tiny]

Same export code and vocabulary as the shipped model; weights are random (seeded) but scaled up so
that greedy choices are well separated (no near-ties that float noise could flip). reference.json
holds PyTorch's results on fixed inputs: encoder/connector summaries, first-step logits, greedy
tokens and their log-probs, for the TypeScript runtime to reproduce.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, MetaLM  # noqa: E402
import export  # noqa: E402
import vocab  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

TINY = Config(vocab_size=vocab.VOCAB_SIZE, hidden=32, dec_layers=2, dec_heads=2, max_positions=128,
              enc_hidden=32, vis_layers=2, vis_heads=2, image_size=32, grid=2, stem_channels=(8, 16),
              txt_layers=2, txt_heads=2, txt_max_len=64, mlp_ratio=2)


def tiny_model(seed: int = 1234) -> MetaLM:
    torch.manual_seed(seed)
    m = MetaLM(TINY)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.5 if "tok" in name else 0.25)
    return m.eval()


def fixed_images(size: int = 32):
    """Two size x size RGB images (HWC uint8 as lists): dark background, coloured blocks in the slots
    (coordinates given for 32 px and scaled)."""
    def img(objs, bg):
        px = [[list(bg) for _ in range(size)] for _ in range(size)]
        for (x0, y0, x1, y1, rgb) in objs:
            for y in range(y0 * size // 32, y1 * size // 32):
                for x in range(x0 * size // 32, x1 * size // 32):
                    px[y][x] = list(rgb)
        return [v for row in px for p in row for v in p]
    a = img([(2, 12, 9, 19, (220, 40, 40)), (23, 11, 30, 18, (40, 70, 220))], (30, 30, 30))
    b = img([(12, 10, 20, 20, (230, 210, 40))], (60, 55, 50))
    return {"a": a, "b": b}


def pixel_values(pixels: List[int], c: Config) -> torch.Tensor:
    t = torch.tensor(pixels, dtype=torch.float32).view(c.image_size, c.image_size, 3).permute(2, 0, 1)
    mean = torch.tensor(export.IMAGE_MEAN).view(3, 1, 1)
    std = torch.tensor(export.IMAGE_STD).view(3, 1, 1)
    return ((t / 255.0 - mean) / std).unsqueeze(0)


def summary(t: torch.Tensor) -> dict:
    return {"shape": list(t.shape), "norm": t.norm().item(), "mean": t.mean().item(), "std": t.std(unbiased=False).item(),
            "first": [round(v, 6) for v in t.flatten()[:8].tolist()]}


@torch.no_grad()
def greedy(model: MetaLM, embeds: torch.Tensor, max_new: int):
    """Greedy decoding with the KV cache (as the runtime does); checked against no-cache decoding."""
    dec = model.decoder
    t = embeds.shape[1]
    am = torch.ones(1, t, dtype=torch.long)
    logits, past = dec(embeds, am, torch.arange(t).unsqueeze(0))
    first = logits[0, -1]
    ids, logprobs, margins = [], [], []
    seq = embeds
    step_logits = first
    for _ in range(max_new):
        lp = torch.log_softmax(step_logits, -1)
        top = torch.topk(step_logits, 2)
        margins.append((top.values[0] - top.values[1]).item())
        nxt = int(top.indices[0])
        ids.append(nxt)
        logprobs.append(lp[nxt].item())
        if nxt == vocab.EOS:
            break
        e = dec.embed(torch.tensor([[nxt]]))
        seq = torch.cat([seq, e], 1)
        n = seq.shape[1]
        am = torch.ones(1, n, dtype=torch.long)
        out, past = dec(e, am, torch.tensor([[n - 1]]), past)
        step_logits = out[0, -1]
        full, _ = dec(seq, am, torch.arange(n).unsqueeze(0))
        assert (full[0, -1] - step_logits).abs().max() < 1e-4
    return first, ids, logprobs, min(margins)


@torch.no_grad()
def build_reference(model: MetaLM) -> dict:
    c = model.c
    images = fixed_images(c.image_size)
    enc = {}
    spans = {}
    for k, px in images.items():
        h = model.vision(pixel_values(px, c))
        v = model.vision_connector(h)
        enc[f"vision:{k}"] = {"encode": summary(h), "connect": summary(v)}
        spans[f"vision:{k}"] = v
    premise = "Premise: a red circle on the left Hypothesis: the circle is red"
    tids = torch.tensor([vocab.encode(premise)])
    th = model.text(tids, torch.ones_like(tids))
    tv = model.text_connector(th)
    enc["text:premise"] = {"text": premise, "input_ids": tids[0].tolist(), "encode": summary(th), "connect": summary(tv)}
    spans["text:premise"] = tv

    cases_spec = [
        ("vqa", [{"span": "vision:a"}, {"text": "question: what color is the circle? answer:"}]),
        ("caption", [{"span": "vision:b"}, {"text": "caption:"}]),
        ("nli", [{"span": "text:premise"}, {"text": "Label:"}]),
        ("in-context", [{"span": "vision:a"}, {"text": "answer: red"}, {"span": "vision:b"}, {"text": "answer:"}]),
        ("text-only", [{"text": "question: what is on the left? answer:"}]),
    ]
    cases = []
    min_margin = float("inf")
    for name, segs in cases_spec:
        parts = [model.decoder.embed(torch.tensor([[vocab.BOS]]))]
        layout = [{"token": vocab.BOS}]
        for s in segs:
            if "span" in s:
                parts.append(spans[s["span"]])
                layout.append({"span": s["span"], "positions": spans[s["span"]].shape[1]})
            else:
                ids = vocab.encode(s["text"])
                parts.append(model.decoder.embed(torch.tensor([ids])))
                layout.append({"text": s["text"], "tokens": ids})
        embeds = torch.cat(parts, 1)
        first, ids, logprobs, margin = greedy(model, embeds, 8)
        min_margin = min(min_margin, margin)
        cases.append({
            "name": name, "segments": segs, "layout": layout, "promptLength": embeds.shape[1],
            "firstLogits": [round(v, 6) for v in first.tolist()],
            "greedy": {"maxTokens": 8, "tokens": ids, "text": vocab.decode(ids), "logprobs": [round(v, 6) for v in logprobs],
                       "finishReason": "eos" if ids and ids[-1] == vocab.EOS else "length"},
        })
    return {
        "about": "PyTorch results of the tiny random-weight package on fixed inputs (make_fixture.py). "
                 "Decoder input = bos, then the segments in order: a span is the connector output of the named "
                 "encoding, a text segment its tokens (tokenizer.json, no specials). position_ids 0..n-1, spans included. "
                 "Greedy: argmax over the full vocabulary (no token suppressed, specials included) each step, stop after eos (eos is listed in tokens) or maxTokens.",
        "preprocess": "pixel_values[0][c][y][x] = (pixels[(y*width+x)*3+c]/255 - mean[c]) / std[c]; images are already size x size",
        "images": {k: {"width": c.image_size, "height": c.image_size, "channels": 3, "pixels": v} for k, v in images.items()},
        "encodings": enc,
        "cases": cases,
        "minGreedyMargin": min_margin,
        "tolerance": {"logits": 1e-4},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "gpu-worker", "fixtures", "tiny"))
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = tiny_model()
    ref = build_reference(model)
    print(f"min top-2 logit margin along greedy paths: {ref['minGreedyMargin']:.4f}")
    m = export.export_package(model, a.out, "metalm-tiny-fixture", "0.0.1", check=True, extra={"reference.json": ref})
    total = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    print(f"fixture: {len(m['files']) + 1} files, {total / 1e6:.2f} MB in {a.out}")
    for cs in ref["cases"]:
        print(f"  {cs['name']}: {cs['greedy']['tokens']} {cs['greedy']['text']!r}")


if __name__ == "__main__":
    main()
