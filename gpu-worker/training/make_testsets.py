"""Write the fixed test sets for the TypeScript evaluation: gpu-worker/training/testsets/.

    /usr/bin/python3 gpu-worker/training/make_testsets.py

Deterministic (seeded). Images are PNG files; every task is a JSON-lines file whose records name
their images by file name (relative to testsets/images/). Splits:
  - "in-domain": the training renderer (random_scene 'test' split; no held-out combination);
  - "held-out": scenes with at least one held-out combination (purple triangle, cyan square,
    orange circle), training renderer;
  - "other-renderer": PIL ImageDraw drawing code never used in training, sizes 64/128/256.
See testsets/README.md for the record formats.
"""
from __future__ import annotations

import json
import os
import random
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import data as D  # noqa: E402

OUT = os.path.join(HERE, "testsets")
SEED = 20260


def save_png(img255: torch.Tensor, path: str):
    from PIL import Image
    arr = img255.round().clamp(0, 255).byte().permute(1, 2, 0).contiguous().numpy()
    Image.fromarray(arr, "RGB").save(path, optimize=True)


def main():
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    for fn in os.listdir(os.path.join(OUT, "images")):
        os.remove(os.path.join(OUT, "images", fn))
    rng = random.Random(SEED)
    gen = torch.Generator().manual_seed(SEED)
    images = []  # {file, split, size, renderer, scene}

    def add(scene, split, size, renderer, idx):
        fn = f"{split}-{idx:04d}.png"
        if renderer == "pil":
            D.render_pil(scene, size, SEED + idx, noise=3.0 if size <= 128 else 0.0).save(os.path.join(OUT, "images", fn), optimize=True)
        else:
            ss = 2 if size <= 128 else 1
            img = D.render([scene], out_size=size, rng=gen, render_size=size, ss=ss,
                           noise=float(torch.randint(0, 6, (1,), generator=gen)) if size == 64 else 1.0)[0]
            save_png(img, os.path.join(OUT, "images", fn))
        images.append({"file": fn, "split": split, "size": size, "renderer": renderer,
                       "scene": [None if o is None else {"color": o[0], "shape": o[1]} for o in scene]})

    plan = [("in-domain", "test", 160, [64] * 6 + [96, 128]),
            ("held-out", "heldout", 90, [64] * 6 + [96, 128]),
            ("other-renderer", "test", 60, [64, 128, 256])]
    for split, scene_split, n, sizes in plan:
        for i in range(n):
            add(D.random_scene(rng, scene_split), split, sizes[i % len(sizes)], "pil" if split == "other-renderer" else "torch", i)

    def scene_of(im):
        return tuple(None if o is None else (o["color"], o["shape"]) for o in im["scene"])

    recs = {"caption": [], "vqa": [], "ve": [], "nli": [], "icl": []}
    for im in images:
        s = scene_of(im)
        recs["caption"].append({"image": im["file"], "split": im["split"], "caption": D.caption(s)})
        for f in D.VQA_FORMS:
            cands = D.vqa_candidates(s, f, rng, "heldout" if im["split"] == "held-out" else "test")
            if cands:
                q, a = rng.choice(cands)
                recs["vqa"].append({"image": im["file"], "split": im["split"], "form": f, "question": q, "answer": a})
        for label in D.LABELS:
            h, e = D.hypothesis(s, label, rng, "heldout" if im["split"] == "held-out" else "test")
            recs["ve"].append({"image": im["file"], "split": im["split"], "hypothesis": h, "label": label, "explanation": e})
    for i in range(300):
        p, h, label = D.nli_example(rng, "test")
        recs["nli"].append({"id": i, "premise": p, "hypothesis": h, "label": label})
    pool = [im for im in images if im["split"] == "in-domain"]
    tasks = list(D.ICL_TASKS)
    for i in range(240):
        task = tasks[i % len(tasks)]
        usable = [im for im in pool if D.ICL_TASKS[task](scene_of(im)) is not None]
        chosen = rng.sample(usable, 5)
        items = [{"image": im["file"], "caption": D.caption(scene_of(im)), "answer": D.ICL_TASKS[task](scene_of(im))} for im in chosen]
        recs["icl"].append({"id": i, "task": task, "demos": items[:4], "query": items[4]})

    with open(os.path.join(OUT, "images.jsonl"), "w") as f:
        for im in images:
            f.write(json.dumps(im) + "\n")
    for k, v in recs.items():
        with open(os.path.join(OUT, f"{k}.jsonl"), "w") as f:
            for r in v:
                f.write(json.dumps(r) + "\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(OUT) for fn in fns)
    print(f"testsets: {len(images)} images, " + ", ".join(f"{k} {len(v)}" for k, v in recs.items())
          + f"; {total / 1e6:.2f} MB in {OUT}")


if __name__ == "__main__":
    main()
