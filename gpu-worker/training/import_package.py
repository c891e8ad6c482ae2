"""A committed model package back into a training checkpoint (.npz), so a run can continue from
what is shipped rather than from a checkpoint that only ever lived on the machine that trained it.

    /usr/bin/python3 gpu-worker/training/import_package.py --package gpu-worker/models/metalm-tiny \
        --recipe slots --out gpu-worker/training/runs/shipped.npz
    /usr/bin/python3 gpu-worker/training/train.py --recipe slots_cpu --init gpu-worker/training/runs/shipped.npz ...

How: the package's graphs were written by export.py from a MetaLM of the recipe's config. Exporting a
freshly initialised MetaLM of that config with the same code (a probe) gives the same graphs with
other weights, initializer for initializer (same names, shapes and order). Each probe initializer
is matched to the parameter it holds — by value, as stored or transposed (torch.onnx folds a
Linear's weight into a MatMul constant) — and the package's value at that place is that
parameter's trained value. Initializers that are not a whole parameter (folded slices, shape
constants) are left out of the mapping. The result is checked, not trusted: the imported model is
exported again and every initializer of every graph must equal the package's exactly.

Only what the graphs hold comes back: the trainer's slot head (an auxiliary loss, never exported)
starts fresh when training resumes from the import. Needs the PyTorch and onnx that exported the
package (Debian's python3-torch 1.13 and python3-onnx).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Dict, List, Tuple

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import export  # noqa: E402
from model import Config, MetaLM  # noqa: E402

GRAPHS = ["vision_encoder.onnx", "text_encoder.onnx", "vision_connector.onnx", "text_connector.onnx",
          "embed.onnx", "decoder.onnx"]


def initializers(path: str) -> List[Tuple[str, np.ndarray]]:
    return [(i.name, numpy_helper.to_array(i)) for i in onnx.load(path).graph.initializer]


def probe_map(model: MetaLM, probe_dir: str) -> Dict[str, Dict[str, Tuple[str, bool]]]:
    """graph file -> initializer name -> (state_dict key, transposed) for the probe's export."""
    export.export_graphs(model, probe_dir)
    sd = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    by_shape: Dict[tuple, List[str]] = {}
    for k, v in sd.items():
        by_shape.setdefault(tuple(v.shape), []).append(k)
        if v.ndim == 2:
            by_shape.setdefault(tuple(v.T.shape), []).append(k)
    out: Dict[str, Dict[str, Tuple[str, bool]]] = {}
    for g in GRAPHS:
        m: Dict[str, Tuple[str, bool]] = {}
        for name, arr in initializers(os.path.join(probe_dir, g)):
            if arr.size < 2 or arr.dtype != np.float32:
                continue  # shape constants, scalars
            for k in by_shape.get(tuple(arr.shape), []):
                v = sd[k]
                if v.shape == arr.shape and np.array_equal(v, arr):
                    m[name] = (k, False)
                    break
                if v.ndim == 2 and v.T.shape == arr.shape and np.array_equal(v.T, arr):
                    m[name] = (k, True)
                    break
        out[g] = m
    return out


def import_package(pkg: str, config: Config, seed: int = 0) -> Tuple[MetaLM, List[str]]:
    torch.manual_seed(seed)
    model = MetaLM(config)
    model.eval()
    with torch.no_grad():  # distinct values everywhere: the exporter merges equal initializers (LayerNorm's ones)
        for v in model.state_dict().values():
            if v.is_floating_point():
                v.copy_(torch.randn_like(v))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    found: Dict[str, str] = {}
    with tempfile.TemporaryDirectory() as probe:
        mapping = probe_map(model, probe)
        for g in GRAPHS:
            probe_inits = initializers(os.path.join(probe, g))
            pkg_inits = initializers(os.path.join(pkg, g))
            if [(n, a.shape) for n, a in probe_inits] != [(n, a.shape) for n, a in pkg_inits]:
                raise SystemExit(f"{g}: the package's graph does not have this config's initializers "
                                 f"(wrong --recipe, or exported by other code)")
            for name, arr in pkg_inits:
                if name not in mapping[g]:
                    continue
                key, transposed = mapping[g][name]
                value = torch.from_numpy((arr.T if transposed else arr).copy())
                if key in found and not torch.equal(state[key], value):
                    raise SystemExit(f"{key}: {g}:{name} disagrees with {found[key]}")
                state[key] = value
                found.setdefault(key, f"{g}:{name}")
    missing = [k for k in state if k not in found]
    model.load_state_dict(state)
    return model, missing


def verify(model: MetaLM, pkg: str) -> int:
    """Export the imported model again: every initializer of every graph must equal the package's."""
    n = 0
    with tempfile.TemporaryDirectory() as again:
        export.export_graphs(model, again)
        for g in GRAPHS:
            a = initializers(os.path.join(again, g))
            b = initializers(os.path.join(pkg, g))
            for (na, xa), (nb, xb) in zip(a, b):
                if na != nb or xa.shape != xb.shape or not np.array_equal(xa, xb):
                    raise SystemExit(f"re-export differs from the package at {g}:{nb}")
                n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--package", required=True)
    ap.add_argument("--recipe", default="slots", help="train.py recipe whose config exported the package")
    ap.add_argument("--out", required=True, help=".npz checkpoint (train.py --init, export.py --ckpt)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    import train
    config = train.RECIPES[a.recipe]["config"]
    model, missing = import_package(a.package, config)
    n = verify(model, a.package)
    with open(os.path.join(a.package, "manifest.json")) as f:
        version = json.load(f).get("version", "?")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    train.save_npz(model, a.out, f"import:{os.path.basename(os.path.normpath(a.package))}@{version}")
    print(f"imported {a.package} ({version}) -> {a.out}: {len(model.state_dict()) - len(missing)} tensors from the graphs; "
          f"re-export equals the package at all {n} initializers"
          + (f"; not in any graph (left at init): {', '.join(missing)}" if missing else ""))


if __name__ == "__main__":
    main()
