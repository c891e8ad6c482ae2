#!/usr/bin/env bash
# One bounded training run on a lent GPU machine (PyTorch + CUDA, no network, no Node): trains
# metalm-tiny (recipe `slots`) and the GPT baseline on the same budget (recipe `gpt_gpu`) side by
# side on one GPU, data built by CPU worker processes, and leaves the weights as numpy archives
# (readable by the PyTorch 1.13 that exports them to ONNX here) plus the logs in $OUT:
#   $OUT/m/final.npz (or the latest partial one if the run was cut), $OUT/m/m.log,
#   $OUT/g/main.npz (gpt-baseline-lm), $OUT/g/final.npz (gpt-baseline), $OUT/g/g.log
# Env: LIMIT (seconds before both runs are interrupted; default 520), SCALE (--minutes-scale),
# MW / GW (data workers of the two runs), RECIPE (default slots) and INIT (a checkpoint to start
# from, e.g. RECIPE=slots_cont INIT=gpu-worker/training/runs/gpu1/m/final.npz), GPT=0 (no baseline).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT/m" "$OUT/g"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
PY=${PYTHON:-python3}
LIMIT=${LIMIT:-520}
SCALE=${SCALE:-1}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null | tee "$OUT/gpu.txt"
"$PY" -c "import torch, os; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'cpus', os.cpu_count())" | tee -a "$OUT/gpu.txt"
rm -rf /tmp/m /tmp/g
timeout -s INT "$LIMIT" "$PY" -W ignore gpu-worker/training/train.py --recipe "${RECIPE:-slots}" --name m --run-dir /tmp/m ${INIT:+--init "$INIT"} \
  --data-workers "${MW:-10}" --ckpt-every 60 --minutes-scale "$SCALE" --no-export > "$OUT/m/m.log" 2>&1 &
M=$!
[ "${GPT:-1}" = 1 ] && timeout -s INT "$LIMIT" "$PY" -W ignore gpu-worker/training/train.py --recipe gpt_gpu --name gpt --run-dir /tmp/g \
  --data-workers "${GW:-3}" --ckpt-every 60 --minutes-scale "$SCALE" --no-export > "$OUT/g/g.log" 2>&1 &
G=$!
[ "${GPT:-1}" = 1 ] || G=
wait $M; echo "metalm run exit $?" | tee -a "$OUT/gpu.txt"
[ "${GPT:-1}" = 1 ] && { wait $G; echo "gpt run exit $?" | tee -a "$OUT/gpu.txt"; }
latest() { ls -t "$@" 2>/dev/null | head -1; }
if [ -f /tmp/m/final.npz ]; then cp /tmp/m/final.npz "$OUT/m/"; else f=$(latest /tmp/m/*.npz); [ -n "$f" ] && cp "$f" "$OUT/m/"; fi
[ -f /tmp/g/main.npz ] && cp /tmp/g/main.npz "$OUT/g/"
if [ -f /tmp/g/final.npz ]; then cp /tmp/g/final.npz "$OUT/g/"; fi
ls -la "$OUT" "$OUT/m" "$OUT/g"
tail -n 8 "$OUT/m/m.log" "$OUT/g/g.log"
