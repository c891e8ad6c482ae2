#!/usr/bin/env bash
# CI smoke test of the training pipeline (< 3 min on 2 cores): tiny config, a few steps of every
# stage, ONNX export with the PyTorch-vs-onnxruntime check, then the exported package is loaded and
# run from Node (run_reference.mjs: greedy decoding with the KV cache, single and batched, must
# reproduce PyTorch's tokens); the package is imported back into a checkpoint that train.py --init
# loads (import_package.py). Needs Debian's python3-torch and the repo's node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-/usr/bin/python3}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
export PYTHONDONTWRITEBYTECODE=1
rm -rf gpu-worker/training/runs/smoke-ci
"$PY" -W ignore gpu-worker/training/train.py --recipe smoke --name smoke-ci --out "$OUT/pkg"
node gpu-worker/training/run_reference.mjs "$OUT/pkg"
# the package back into a checkpoint (import_package.py): its re-export must equal the package
"$PY" -W ignore gpu-worker/training/import_package.py --package "$OUT/pkg" --recipe smoke --out "$OUT/imported.npz"
"$PY" -W ignore -c 'import sys; sys.path.insert(0, "gpu-worker/training"); import export; export.load_checkpoint(sys.argv[1])' "$OUT/imported.npz"
"$PY" - "$OUT/pkg" <<'PY'
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
need = {"vision_encoder.onnx", "text_encoder.onnx", "vision_connector.onnx", "text_connector.onnx", "embed.onnx", "decoder.onnx", "tokenizer.json"}
missing = need - set(m["files"])
assert not missing, f"manifest lacks {missing}"
print(f"smoke ok: {m['name']} with {len(m['files'])} files")
PY
rm -rf gpu-worker/training/runs/smoke-ci
