#!/usr/bin/env bash
# Runs the GPU check (bench/gpu/bench.ts, bundled by build.sh) on a machine with no Node.js and no
# network: unpacks the bundle to a temporary folder, installs the carried Vulkan loader debs only
# where `ldconfig -p` lacks their sonames, picks the NVIDIA Vulkan ICD, runs the bench, prints the
# table (and writes it to $OUT/gpu-bench.md, the whole log to $OUT/gpu-bench.log, when OUT is set).
#
#   bash bench/gpu/run.sh [bundle]        # from the repository root
#
# bundle: the tarball, or a folder of its pieces (part-aa, part-ab, …: concatenated in name order);
# default artifacts/gpu-bundle.tar.xz if present, else artifacts/gpu-parts/.
# Env: VK_DRIVER_FILES (used when no NVIDIA ICD is found: e.g. Mesa's lavapipe for a CPU-only
# check), GPU_RUN_DIR (unpack here; default a fresh /tmp/gpu-run.XXXXXX), GPU_RUN_KEEP=1 (keep it),
# GPU_BENCH_TIMEOUT_S (default 480), GPU_BENCH_* (passed to the bench: see bench/gpu/bench.ts).
# Exit: the bench's status (0 table; 3 INVALID: webgpu fell back to CPU; 4 tokens differ), 2 setup.
set -u -o pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SRC=${1:-}
if [ -z "$SRC" ]; then
  if [ -f "$ROOT/artifacts/gpu-bundle.tar.xz" ]; then SRC=$ROOT/artifacts/gpu-bundle.tar.xz; else SRC=$ROOT/artifacts/gpu-parts; fi
fi

main() {
  local start=$SECONDS
  echo "== gpu check $(date -u +%FT%TZ) on $(hostname), $(uname -srm), $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME"), uid $(id -u)"
  if command -v nvidia-smi >/dev/null 2>&1; then nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; else echo "nvidia-smi: none"; fi

  echo "== unpack $SRC"
  W=${GPU_RUN_DIR:-$(mktemp -d /tmp/gpu-run.XXXXXX)}
  mkdir -p "$W"
  [ "${GPU_RUN_KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
  if [ -d "$SRC" ]; then
    local parts=("$SRC"/part-*)
    [ -f "${parts[0]}" ] || { echo "no pieces in $SRC"; return 2; }
    echo "pieces: ${parts[*]##*/}"
    sha256sum "${parts[@]}" | sed 's/^/   /'
    cat "${parts[@]}" | tar -xJf - -C "$W" || { echo "FATAL: the pieces do not make a whole bundle (one missing or cut short?)"; return 2; }
  else
    sha256sum "$SRC" | sed 's/^/   /'
    tar -xJf "$SRC" -C "$W" || { echo "FATAL: cannot unpack $SRC"; return 2; }
  fi
  local G=$W/gpu-bundle
  cat "$G/BUILD.txt"
  "$G/node" --version >/dev/null || { echo "FATAL: the bundled node does not run here"; return 2; }

  echo "== Vulkan loader"
  local ldc installed=() have=()
  ldc=$(ldconfig -p 2>/dev/null)
  if grep -q "libvulkan" <<<"$ldc"; then
    echo "libvulkan present: $(grep -m1 'libvulkan.so.1 ' <<<"$ldc" | sed 's/.*=> //')"
  fi
  while read -r deb soname ver; do
    [[ -z "${deb:-}" || "$deb" == \#* ]] && continue
    # the loader only where no libvulkan at all; its companions (the NVIDIA ICD needs glvnd + X11) by soname
    if [ "$deb" = libvulkan1.deb ] && grep -q libvulkan <<<"$ldc"; then have+=("$soname"); continue; fi
    if grep -qF "$soname (libc6,x86-64" <<<"$ldc"; then have+=("$soname"); continue; fi
    if ! command -v dpkg >/dev/null 2>&1; then
      echo "WARNING: $soname missing and no dpkg to unpack $deb"
    elif [ "$(id -u)" = 0 ]; then
      dpkg -x "$G/debs/$deb" / && installed+=("$deb=$ver")
    else
      # not root: unpack beside the bundle and point the dynamic loader at it
      dpkg -x "$G/debs/$deb" "$W/root" && installed+=("$deb=$ver (in $W/root)")
    fi
  done <"$G/debs/MANIFEST"
  if ((${#installed[@]})); then
    if [ "$(id -u)" = 0 ]; then ldconfig; else export LD_LIBRARY_PATH="$W/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
  fi
  echo "present: ${have[*]:-none}"
  echo "installed from the bundle: ${installed[*]:-none}"

  echo "== Vulkan ICD"
  local icd=""
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd*.json /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json; do
    if [ -f "$f" ]; then icd=$f; break; fi
  done
  if [ -n "$icd" ]; then
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
    echo "NVIDIA ICD: $icd ($(tr -d '\n ' <"$icd" | grep -o '"library_path":"[^"]*"'))"
  else
    echo "no NVIDIA ICD; VK_DRIVER_FILES=${VK_DRIVER_FILES:-(unset: default search of the loader)}"
  fi
  # containers that mount the driver keep its libraries (libGLX_nvidia.so.0) here
  for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
    [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
  done

  echo "== bench (setup took $((SECONDS - start)) s)"
  unset NODE_OPTIONS NODE_PATH
  mkdir -p "$W/xdg" && chmod 700 "$W/xdg"
  local md=""
  [ -n "${OUT:-}" ] && md=$OUT/gpu-bench.md
  XDG_RUNTIME_DIR=$W/xdg GPU_BENCH_MODEL_DIR=$G/models/metalm-tiny GPU_BENCH_MD=$md \
    timeout -k 5 "${GPU_BENCH_TIMEOUT_S:-480}" "$G/node" "$G/bench.mjs"
  local rc=$?
  ((rc == 124)) && echo "TIMED OUT after ${GPU_BENCH_TIMEOUT_S:-480} s"
  echo "== done in $((SECONDS - start)) s, bench exit $rc"
  return $rc
}

if [ -n "${OUT:-}" ]; then
  mkdir -p "$OUT"
  main 2>&1 | tee "$OUT/gpu-bench.log"
  exit "${PIPESTATUS[0]}"
fi
main
