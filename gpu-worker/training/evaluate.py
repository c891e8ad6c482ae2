"""Quick PyTorch evaluation on the validation split (greedy, batched, left-padded, KV cache — the
same decoding path the TypeScript runtime uses). The shipped tables come from the TS runtime on the
committed test sets; this is the training-time gauge.

    /usr/bin/python3 gpu-worker/training/evaluate.py --ckpt gpu-worker/training/runs/full/final.pt
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import defaultdict
from typing import Dict, List, Sequence, Tuple

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data as D  # noqa: E402
import vocab as V  # noqa: E402
from model import MetaLM  # noqa: E402


@torch.no_grad()
def prompt_embeds(model: MetaLM, prompts: List[list], device, gen: torch.Generator) -> List[torch.Tensor]:
    """Each prompt (segments without the target) -> its decoder input embeddings [L, Hd], bos first."""
    c = model.c
    scenes = [seg[1] for p in prompts for seg in p if seg[0] == "img"]
    texts = [V.encode(seg[1])[: c.txt_max_len] for p in prompts for seg in p if seg[0] == "tspan"]
    vis = txt = None
    if scenes:
        vis = []
        for i in range(0, len(scenes), 256):
            px = D.normalize(D.render(scenes[i:i + 256], c.image_size, gen)).to(device)
            vis.append(model.vision_connector(model.vision(px)))
        vis = torch.cat(vis, 0)
    if texts:
        txt = []
        for t in texts:
            ids = torch.tensor([t], device=device)
            txt.append(model.text_connector(model.text(ids, torch.ones_like(ids)))[0])
    out = []
    vi = ti = 0
    for p in prompts:
        parts = [model.decoder.embed(torch.tensor([V.BOS], device=device))]
        for seg in p:
            if seg[0] == "img":
                parts.append(vis[vi])
                vi += 1
            elif seg[0] == "tspan":
                parts.append(txt[ti])
                ti += 1
            else:
                parts.append(model.decoder.embed(torch.tensor(V.encode(seg[1]), device=device)))
        out.append(torch.cat(parts, 0))
    return out


@torch.no_grad()
def greedy_batch(model: MetaLM, embeds: List[torch.Tensor], max_new: int, device) -> List[List[int]]:
    dec = model.decoder
    b = len(embeds)
    lmax = max(e.shape[0] for e in embeds)
    x = torch.zeros(b, lmax, model.c.hidden, device=device)
    mask = torch.zeros(b, lmax, dtype=torch.long, device=device)
    for i, e in enumerate(embeds):
        x[i, lmax - e.shape[0]:] = e
        mask[i, lmax - e.shape[0]:] = 1
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    logits, past = dec(x, mask, pos)
    out = [[] for _ in range(b)]
    done = torch.zeros(b, dtype=torch.bool, device=device)
    last_pos = pos[:, -1:]
    for _ in range(max_new):
        nxt = logits[:, -1].argmax(-1)
        for i in range(b):
            if not done[i]:
                out[i].append(int(nxt[i]))
        done |= nxt == V.EOS
        if bool(done.all()):
            break
        mask = torch.cat([mask, torch.ones(b, 1, dtype=torch.long, device=device)], 1)
        last_pos = last_pos + 1
        logits, past = dec(dec.embed(nxt[:, None]), mask, last_pos, past)
    return [[t for t in o if t != V.EOS] for o in out]


def generate(model, prompts, max_new, device, gen, bs: int = 128) -> List[str]:
    res = []
    for i in range(0, len(prompts), bs):
        emb = prompt_embeds(model, prompts[i:i + bs], device, gen)
        res += [V.decode(t) for t in greedy_batch(model, emb, max_new, device)]
    return res


def split_sample(sample: list) -> Tuple[list, str]:
    """Training sample -> (prompt segments, target text): the target is the trailing weight-1 text."""
    k = len(sample)
    while k > 0 and sample[k - 1][0] == "txt" and sample[k - 1][2] >= 1.0:
        k -= 1
    return sample[:k], " ".join(seg[1] for seg in sample[k:])


@torch.no_grad()
def quick_eval(model: MetaLM, tasks: Sequence[str], device, n_per: int = 60, seed: int = 4242) -> Dict[str, object]:
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    res: Dict[str, object] = {}
    for task in tasks:
        rng = random.Random(seed + len(task))
        if task == "vqa":
            for split in ("val", "heldout"):
                prompts, tgts, forms = [], [], []
                for f in D.VQA_FORMS:
                    for _ in range(n_per):
                        s = D.task_vqa(rng, split, form=f)
                        p, t = split_sample(s)
                        prompts.append(p)
                        tgts.append(t)
                        forms.append(f)
                outs = generate(model, prompts, 6, device, gen)
                per = defaultdict(list)
                for o, t, f in zip(outs, tgts, forms):
                    per[f].append(o == t)
                accs = {f: round(sum(v) / len(v), 3) for f, v in per.items()}
                allv = [x for v in per.values() for x in v]
                res[f"vqa_{split}"] = {"overall": round(sum(allv) / len(allv), 3), **accs}
        elif task == "caption":
            for split in ("val", "heldout"):
                prompts, tgts = zip(*[split_sample(D.task_caption(rng, split)) for _ in range(2 * n_per)])
                outs = generate(model, list(prompts), 32, device, gen)
                res[f"caption_{split}"] = round(sum(o == t for o, t in zip(outs, tgts)) / len(outs), 3)
                res.setdefault("caption_examples", []).append([outs[0], tgts[0]])
        elif task in ("ve", "ve_noexpl"):
            prompts, tgts = zip(*[split_sample(D.TASKS[task](rng, "val")) for _ in range(3 * n_per)])
            outs = generate(model, list(prompts), 24, device, gen)
            lab = sum(o.split(" ")[0] == t.split(" ")[0] for o, t in zip(outs, tgts)) / len(outs)
            res[task] = {"label": round(lab, 3), "exact": round(sum(o == t for o, t in zip(outs, tgts)) / len(outs), 3),
                         "example": [outs[0], tgts[0]]}
        elif task in ("icl", "icl_text"):
            r = {}
            for k in (0, 1, 4):
                prompts, tgts = zip(*[split_sample(D.task_icl(rng, "val", k=k, as_text=task == "icl_text"))
                                      for _ in range(2 * n_per)])
                outs = generate(model, list(prompts), 4, device, gen)
                r[f"k{k}"] = round(sum(o == t for o, t in zip(outs, tgts)) / len(outs), 3)
            res[task] = r
        elif task in ("nli_span", "nli_text"):
            prompts, tgts = zip(*[split_sample(D.TASKS[task](rng, "val")) for _ in range(3 * n_per)])
            outs = generate(model, list(prompts), 3, device, gen)
            res[task] = round(sum(o == t for o, t in zip(outs, tgts)) / len(outs), 3)
        elif task == "text_span":
            prompts, tgts = zip(*[split_sample(D.task_text_span(rng, "val")) for _ in range(2 * n_per)])
            outs = generate(model, list(prompts), 32, device, gen)
            res[task] = round(sum(o == t for o, t in zip(outs, tgts)) / len(outs), 3)
    if was_training:
        model.train()
    return res


@torch.no_grad()
def testset_eval(model: MetaLM, tdir: str, device) -> Dict[str, object]:
    """VQA / caption / VE exact match per split on the committed test sets (testsets/), images
    loaded from PNG and resized with PIL bilinear (as the worker does). A PyTorch cross-check of
    what the TypeScript evaluation measures."""
    from PIL import Image
    c = model.c
    model.eval()
    vis = {}
    ims = [json.loads(x) for x in open(os.path.join(tdir, "images.jsonl"))]
    for i in range(0, len(ims), 64):
        batch = []
        for im in ims[i:i + 64]:
            p = Image.open(os.path.join(tdir, "images", im["file"])).convert("RGB").resize((c.image_size, c.image_size), Image.BILINEAR)
            batch.append(torch.tensor(list(p.getdata()), dtype=torch.float32).view(c.image_size, c.image_size, 3).permute(2, 0, 1))
        v = model.vision_connector(model.vision(D.normalize(torch.stack(batch)).to(device)))
        for im, row in zip(ims[i:i + 64], v):
            vis[im["file"]] = row

    def run(recs, text_of, max_new):
        emb = []
        for r in recs:
            parts = [model.decoder.embed(torch.tensor([V.BOS], device=device)), vis[r["image"]],
                     model.decoder.embed(torch.tensor(V.encode(text_of(r)), device=device))]
            emb.append(torch.cat(parts, 0))
        out = []
        for i in range(0, len(emb), 128):
            out += [V.decode(t) for t in greedy_batch(model, emb[i:i + 128], max_new, device)]
        return out

    res: Dict[str, object] = {}
    vqa = [json.loads(x) for x in open(os.path.join(tdir, "vqa.jsonl"))]
    outs = run(vqa, lambda r: f"question: {r['question']} answer:", 6)
    per = defaultdict(list)
    for r, o in zip(vqa, outs):
        per[(r["split"], "overall")].append(o == r["answer"])
        per[(r["split"], r["form"])].append(o == r["answer"])
    for (split, f), v in sorted(per.items()):
        res.setdefault(f"vqa_{split}", {})[f] = round(sum(v) / len(v), 3)
    cap = [json.loads(x) for x in open(os.path.join(tdir, "caption.jsonl"))]
    outs = run(cap, lambda r: "caption:", 32)
    per = defaultdict(list)
    for r, o in zip(cap, outs):
        per[r["split"]].append(o == r["caption"])
    res["caption_exact"] = {k: round(sum(v) / len(v), 3) for k, v in per.items()}
    ve = [json.loads(x) for x in open(os.path.join(tdir, "ve.jsonl"))]
    outs = run(ve, lambda r: f"hypothesis: {r['hypothesis']} it is", 24)
    per = defaultdict(list)
    for r, o in zip(ve, outs):
        per[r["split"]].append(o.split(" ")[0] == r["label"])
    res["ve_label"] = {k: round(sum(v) / len(v), 3) for k, v in per.items()}
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--tasks", default="vqa,caption,ve,icl,nli_span")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--testsets", action="store_true", help="evaluate on the committed test sets instead")
    a = ap.parse_args()
    torch.set_num_threads(1)
    import export
    model = export.load_checkpoint(a.ckpt)
    if a.testsets:
        print(json.dumps(testset_eval(model, os.path.join(HERE, "testsets"), torch.device("cpu")), indent=1))
        return
    print(json.dumps(quick_eval(model, a.tasks.split(","), torch.device("cpu"), a.n), indent=1))


if __name__ == "__main__":
    main()
