"""Export a MetaLM checkpoint as a model package (ARCHITECTURE.md section 5).

    /usr/bin/python3 gpu-worker/training/export.py --ckpt gpu-worker/training/runs/full/final.pt \
        --out gpu-worker/models/metalm-tiny --name metalm-tiny --version 0.1.0

Writes one ONNX graph per part (opset 17, dynamic batch and lengths), tokenizer.json and
manifest.json (sha256 of every other file), then checks PyTorch against onnxruntime (through
check_onnx.mjs, run by node) on random inputs, including a decoder call with past length 0 and
left padding.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import Config, MetaLM  # noqa: E402
import vocab  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 17
IMAGE_MEAN = [0.5, 0.5, 0.5]
IMAGE_STD = [0.5, 0.5, 0.5]
PROMPTS = {
    "vqa": "question: {question} answer:",
    "caption": "caption:",
    "explain": "hypothesis: {hypothesis} it is",
    "nli": "Label:",
    "nliPremise": "Premise: {premise} Hypothesis: {hypothesis}",
}


class _Connector(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, encoder_hidden_states):
        return self.m(encoder_hidden_states)


class _Embed(nn.Module):
    def __init__(self, dec):
        super().__init__()
        self.dec = dec

    def forward(self, input_ids):
        return self.dec.embed(input_ids)


class _DecoderKV(nn.Module):
    """Flat signature for ONNX: (inputs_embeds, attention_mask, position_ids, k0, v0, k1, v1, …)."""

    def __init__(self, dec):
        super().__init__()
        self.dec = dec
        self.n = len(dec.blocks)

    def forward(self, inputs_embeds, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(self.n)]
        logits, presents = self.dec(inputs_embeds, attention_mask, position_ids, past)
        out = [logits]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def kv_names(n: int):
    ins, outs = [], []
    for i in range(n):
        ins += [f"past_key_values.{i}.key", f"past_key_values.{i}.value"]
        outs += [f"present.{i}.key", f"present.{i}.value"]
    return ins, outs


def _export(module, args, path, input_names, output_names, dynamic_axes):
    module.eval()
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True)


def export_graphs(model: MetaLM, out: str) -> None:
    c = model.c
    model.eval()
    s = c.image_size
    _export(model.vision, (torch.randn(2, 3, s, s),), os.path.join(out, "vision_encoder.onnx"),
            ["pixel_values"], ["last_hidden_state"],
            {"pixel_values": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    ids = torch.randint(4, c.vocab_size, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.long)
    _export(model.text, (ids, mask), os.path.join(out, "text_encoder.onnx"),
            ["input_ids", "attention_mask"], ["last_hidden_state"],
            {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
             "last_hidden_state": {0: "batch", 1: "sequence"}})
    for name, conn, n in (("vision_connector.onnx", model.vision_connector, c.vis_positions),
                          ("text_connector.onnx", model.text_connector, 7)):
        _export(_Connector(conn), (torch.randn(2, n, c.enc_hidden),), os.path.join(out, name),
                ["encoder_hidden_states"], ["inputs_embeds"],
                {"encoder_hidden_states": {0: "batch", 1: "positions"}, "inputs_embeds": {0: "batch", 1: "positions"}})
    _export(_Embed(model.decoder), (ids,), os.path.join(out, "embed.onnx"), ["input_ids"], ["inputs_embeds"],
            {"input_ids": {0: "batch", 1: "sequence"}, "inputs_embeds": {0: "batch", 1: "sequence"}})
    # decoder: traced with past 3 and 2 new positions so no length is baked in
    b, past_len, t = 2, 3, 2
    past = []
    for _ in range(c.dec_layers):
        past += [torch.randn(b, c.dec_heads, past_len, c.head_dim), torch.randn(b, c.dec_heads, past_len, c.head_dim)]
    emb = torch.randn(b, t, c.hidden)
    am = torch.ones(b, past_len + t, dtype=torch.long)
    pos = torch.arange(past_len, past_len + t).unsqueeze(0).expand(b, t).contiguous()
    pin, pout = kv_names(c.dec_layers)
    dyn = {"inputs_embeds": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "total_sequence"},
           "position_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}}
    for nme in pin:
        dyn[nme] = {0: "batch", 2: "past_sequence"}
    for nme in pout:
        dyn[nme] = {0: "batch", 2: "total_sequence"}
    _export(_DecoderKV(model.decoder), (emb, am, pos, *past), os.path.join(out, "decoder.onnx"),
            ["inputs_embeds", "attention_mask", "position_ids", *pin], ["logits", *pout], dyn)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def manifest_for(c: Config, name: str, version: str) -> dict:
    return {
        "format": "metalm-package/1",
        "name": name,
        "version": version,
        "files": {},
        "tokenizer": "tokenizer.json",
        "encoders": [
            {"name": "vision", "modality": "image", "graph": "vision_encoder.onnx", "hiddenSize": c.enc_hidden,
             "positions": c.vis_positions,
             "image": {"size": c.image_size, "mean": IMAGE_MEAN, "std": IMAGE_STD}},
            {"name": "text", "modality": "text", "graph": "text_encoder.onnx", "hiddenSize": c.enc_hidden,
             "maxLength": c.txt_max_len},
        ],
        "connectors": [
            {"name": "vision", "encoder": "vision", "graph": "vision_connector.onnx"},
            {"name": "text", "encoder": "text", "graph": "text_connector.onnx"},
        ],
        "decoder": {
            "graph": "decoder.onnx", "embedGraph": "embed.onnx", "vocabSize": c.vocab_size,
            "hiddenSize": c.hidden, "maxPositions": c.max_positions,
            "specialTokens": {"pad": vocab.PAD, "bos": vocab.BOS, "eos": vocab.EOS, "unk": vocab.UNK},
            "kvCache": {"layers": c.dec_layers, "heads": c.dec_heads, "headDim": c.head_dim,
                        "pastKey": "past_key_values.{i}.key", "pastValue": "past_key_values.{i}.value",
                        "presentKey": "present.{i}.key", "presentValue": "present.{i}.value"},
        },
        "prompts": dict(PROMPTS),
    }


# Files in a package folder that are generated FROM the package (the TS evaluation's report) and
# so cannot be pinned by its manifest: regenerating them must not invalidate the package.
UNPINNED = {"manifest.json", "EVAL.md"}


def write_manifest(out: str, manifest: dict) -> dict:
    files = {}
    for fn in sorted(os.listdir(out)):
        p = os.path.join(out, fn)
        if fn in UNPINNED or not os.path.isfile(p):
            continue
        files[fn] = sha256_file(p)
    manifest = dict(manifest)
    manifest["files"] = files
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return manifest


# ---------------------------------------------------------------- PyTorch vs onnxruntime check

def _save(d: str, key: str, arr: np.ndarray) -> dict:
    fn = f"{key}.bin"
    arr = np.ascontiguousarray(arr)
    arr.astype(arr.dtype.newbyteorder("<")).tofile(os.path.join(d, fn))
    dtype = {np.dtype("float32"): "float32", np.dtype("int64"): "int64"}[arr.dtype]
    return {"file": fn, "dtype": dtype, "shape": list(arr.shape)}


def check_cases(model: MetaLM, seed: int = 0) -> List[dict]:
    """Random inputs for every graph with PyTorch outputs: a list of (graph, inputs, outputs)."""
    c = model.c
    g = torch.Generator().manual_seed(seed)
    model.eval()
    cases = []
    with torch.no_grad():
        px = torch.rand(3, 3, c.image_size, c.image_size, generator=g) * 2 - 1
        h = model.vision(px)
        cases.append(("vision_encoder.onnx", {"pixel_values": px}, {"last_hidden_state": h}))
        cases.append(("vision_connector.onnx", {"encoder_hidden_states": h}, {"inputs_embeds": model.vision_connector(h)}))
        ids = torch.randint(4, c.vocab_size, (2, 9), generator=g)
        mask = torch.tensor([[1] * 9, [1] * 6 + [0] * 3])
        th = model.text(ids, mask)
        cases.append(("text_encoder.onnx", {"input_ids": ids, "attention_mask": mask}, {"last_hidden_state": th}))
        cases.append(("text_connector.onnx", {"encoder_hidden_states": th}, {"inputs_embeds": model.text_connector(th)}))
        cases.append(("embed.onnx", {"input_ids": ids}, {"inputs_embeds": model.decoder.embed(ids)}))
        pin, pout = kv_names(c.dec_layers)
        # (a) past length 0, batch 2, the second row left-padded by 2
        t = 6
        emb = torch.randn(2, t, c.hidden, generator=g)
        am = torch.tensor([[1] * t, [0, 0] + [1] * (t - 2)])
        pos = (am.cumsum(1) - 1).clamp(min=0)
        empty = [torch.zeros(2, c.dec_heads, 0, c.head_dim) for _ in range(2 * c.dec_layers)]
        # the exported graph masks causally by position (model.Decoder's docstring): PyTorch runs the
        # same rule here, so padding query rows compare like with like; real rows must match the
        # training rule (by index) exactly
        past0 = [(empty[2 * i], empty[2 * i + 1]) for i in range(c.dec_layers)]
        by_index, _ = model.decoder(emb, am, pos, past0)
        model.decoder.causal_by_position = True
        try:
            logits, presents = model.decoder(emb, am, pos, past0)
        finally:
            model.decoder.causal_by_position = False
        real = am.bool()
        assert torch.equal(logits[real], by_index[real]), "causal mask by position differs from by index on real rows"
        ins = {"inputs_embeds": emb, "attention_mask": am, "position_ids": pos}
        outs = {"logits": logits}
        for i in range(c.dec_layers):
            ins[pin[2 * i]], ins[pin[2 * i + 1]] = empty[2 * i], empty[2 * i + 1]
            outs[pout[2 * i]], outs[pout[2 * i + 1]] = presents[i]
        # padded query rows are garbage by design; compare them anyway (finite, deterministic)
        cases.append(("decoder.onnx", ins, outs))
        # (b) one new position on top of (a)'s cache
        emb2 = torch.randn(2, 1, c.hidden, generator=g)
        am2 = torch.cat([am, torch.ones(2, 1, dtype=torch.long)], 1)
        pos2 = pos[:, -1:] + 1
        logits2, presents2 = model.decoder(emb2, am2, pos2, presents)
        ins = {"inputs_embeds": emb2, "attention_mask": am2, "position_ids": pos2}
        outs = {"logits": logits2}
        for i in range(c.dec_layers):
            ins[pin[2 * i]], ins[pin[2 * i + 1]] = presents[i]
            outs[pout[2 * i]], outs[pout[2 * i + 1]] = presents2[i]
        cases.append(("decoder.onnx", ins, outs))
        # incremental == full (PyTorch side, the property the runtime relies on)
        full, _ = model.decoder(torch.cat([emb, emb2], 1), am2, torch.cat([pos, pos2], 1), None)
        err = (full[:, -1] - logits2[:, -1]).abs().max().item()
        assert err < 1e-4, f"KV-cache step differs from the full pass by {err}"
    return cases


def check_onnx(model: MetaLM, pkg: str, atol: float = 1e-4, rtol: float = 1e-3) -> None:
    cases = check_cases(model)
    with tempfile.TemporaryDirectory() as d:
        spec = []
        for n, (graph, ins, outs) in enumerate(cases):
            spec.append({
                "graph": graph,
                "inputs": {k: _save(d, f"c{n}_in_{k}", v.numpy()) for k, v in ins.items()},
                "outputs": {k: _save(d, f"c{n}_out_{k}", v.numpy()) for k, v in outs.items()},
                "atol": atol, "rtol": rtol,
            })
        with open(os.path.join(d, "cases.json"), "w") as f:
            json.dump(spec, f)
        r = subprocess.run(["node", os.path.join(HERE, "check_onnx.mjs"), pkg, d], capture_output=True, text=True)
        sys.stdout.write(r.stdout)
        if r.returncode != 0:
            sys.stderr.write(r.stderr)
            raise RuntimeError("PyTorch and onnxruntime disagree (see above)")


def export_package(model: MetaLM, out: str, name: str, version: str, check: bool = True,
                   extra: Optional[Dict[str, object]] = None, reference: bool = True) -> dict:
    """Export graphs + tokenizer (+ reference.json, + extra JSON files), check them, then write the
    manifest last. reference.json = PyTorch's results on fixed inputs (make_fixture.build_reference);
    run_reference.mjs then reproduces them with onnxruntime-node (greedy, KV cache, batched)."""
    extra = dict(extra or {})
    if reference and "reference.json" not in extra:
        from make_fixture import build_reference
        extra["reference.json"] = build_reference(model.cpu().eval())
    os.makedirs(out, exist_ok=True)
    for fn in os.listdir(out):
        p = os.path.join(out, fn)
        if os.path.isfile(p) and (fn.endswith(".onnx") or fn.endswith(".json")):
            os.remove(p)
    model = model.cpu().eval()
    export_graphs(model, out)
    vocab.write_tokenizer(os.path.join(out, "tokenizer.json"))
    for fn, obj in extra.items():
        with open(os.path.join(out, fn), "w") as f:
            if isinstance(obj, str):
                f.write(obj)
            else:
                json.dump(obj, f, indent=1)
                f.write("\n")
    manifest = write_manifest(out, manifest_for(model.c, name, version))
    if check:
        check_onnx(model, out)
        if "reference.json" in extra:
            r = subprocess.run(["node", os.path.join(HERE, "run_reference.mjs"), out], capture_output=True, text=True)
            sys.stdout.write(r.stdout)
            if r.returncode != 0:
                sys.stderr.write(r.stderr)
                raise RuntimeError("onnxruntime-node did not reproduce reference.json (see above)")
    return manifest


def load_checkpoint(path: str) -> MetaLM:
    """A train.py checkpoint (.pt) or its numpy twin (.npz, written by any PyTorch version)."""
    if path.endswith(".npz"):
        arrays = np.load(path)
        meta = json.loads(bytes(arrays["__config__"]).decode())
        model = MetaLM(Config.from_dict(meta["config"]))
        model.load_state_dict({k: torch.from_numpy(arrays[k].copy()) for k in arrays.files if k != "__config__"})
        return model
    ck = torch.load(path, map_location="cpu")
    model = MetaLM(Config.from_dict(ck["config"]))
    model.load_state_dict(ck["model"])
    return model


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default="metalm-tiny")
    ap.add_argument("--version", default="0.1.0")
    ap.add_argument("--no-check", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    model = load_checkpoint(a.ckpt)
    m = export_package(model, a.out, a.name, a.version, check=not a.no_check)
    total = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    print(f"exported {a.name} {a.version} to {a.out}: {len(m['files']) + 1} files, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
