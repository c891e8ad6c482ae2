#!/usr/bin/env bash
# Builds artifacts/gpu-bundle.tar.xz (≤ 60 MB) for bench/gpu/run.sh, and the same split into
# pieces of ≤ 14 MiB under artifacts/gpu-parts/ (part-aa, part-ab, …) for a device tool that copies
# at most 64 MiB per call, working tree included (bench/gpu/README.md). Both are git-ignored.
#
# Bundle (one top folder, gpu-bundle/):
#   node                      this machine's Node (the one that runs the repo: `command -v node`)
#   node_modules/             onnxruntime-node (JS + linux-x64 binding and libonnxruntime.so.1 only:
#                             its cpu and webgpu providers are built in) + onnxruntime-common (CJS)
#   bench.mjs                 bench/gpu/bench.ts and the gpu-worker code it drives, one esbuild file
#   models/metalm-tiny/       the model package, as shipped (sha256s checked by the loader)
#   debs/*.deb, debs/MANIFEST the Vulkan loader (libvulkan1) and the glvnd/X11 libraries the NVIDIA
#                             ICD's libGLX_nvidia.so.0 needs, from this machine's apt sources
#                             (Debian 12); run.sh installs each only where its soname is missing
#   BUILD.txt                 commit, versions, date
# Needs: node_modules in the checkout, apt-get (network to the Debian mirror), xz, split.
# Env: STAGE (staging folder; default a fresh one under /tmp, removed at the end).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
NM=$ROOT/node_modules
OUT=$ROOT/artifacts
STAGE=${STAGE:-$(mktemp -d /tmp/gpu-stage.XXXXXX)}
trap 'rm -rf "$STAGE"' EXIT
B=$STAGE/gpu-bundle
rm -rf "$B" && mkdir -p "$B"

echo "== bench.mjs (esbuild)"
# onnxruntime-node stays outside (a native addon that finds its .so by relative path); the banner
# gives bundled CommonJS modules (pngjs, zod's deps) a `require` inside the ESM bundle
"$NM/.bin/esbuild" bench/gpu/bench.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --outfile="$B/bench.mjs" --log-level=warning \
  --banner:js="import { createRequire as __gpuBenchRequire } from 'node:module'; const require = __gpuBenchRequire(import.meta.url);"

echo "== node + onnxruntime-node (linux-x64 only)"
NODE=$(command -v node)
cp "$(readlink -f "$NODE")" "$B/node"
ORT=$B/node_modules/onnxruntime-node
ORTC=$B/node_modules/onnxruntime-common
mkdir -p "$ORT/dist" "$ORT/bin/napi-v6/linux/x64" "$ORTC/dist"
cp "$NM/onnxruntime-node/package.json" "$ORT/"
cp "$NM"/onnxruntime-node/dist/*.js "$ORT/dist/"
cp "$NM"/onnxruntime-node/bin/napi-v6/linux/x64/{onnxruntime_binding.node,libonnxruntime.so.1} "$ORT/bin/napi-v6/linux/x64/"
cp "$NM/onnxruntime-common/package.json" "$ORTC/"
cp -r "$NM/onnxruntime-common/dist/cjs" "$ORTC/dist/"
find "$ORTC/dist" \( -name '*.map' -o -name '*.d.ts' \) -delete

echo "== model package"
mkdir -p "$B/models"
cp -r gpu-worker/models/metalm-tiny "$B/models/"

echo "== Vulkan loader debs (apt-get download)"
# deb package → the soname run.sh looks for in `ldconfig -p` before installing it
SONAMES="libvulkan1:libvulkan.so.1 libglvnd0:libGLdispatch.so.0 libglx0:libGLX.so.0 libegl1:libEGL.so.1 libgl1:libGL.so.1
  libopengl0:libOpenGL.so.0 libgles2:libGLESv2.so.2 libx11-6:libX11.so.6 libxext6:libXext.so.6 libxcb1:libxcb.so.1
  libxau6:libXau.so.6 libxdmcp6:libXdmcp.so.6 libbsd0:libbsd.so.0 libmd0:libmd.so.0"
mkdir -p "$B/debs"
(cd "$B/debs" && apt-get download $(for s in $SONAMES; do echo "${s%%:*}"; done) 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
echo "# deb  soname  version (apt-get download on $(. /etc/os-release && echo "$PRETTY_NAME")); run.sh installs a deb only where ldconfig -p lacks its soname" >"$B/debs/MANIFEST"
for s in $SONAMES; do
  pkg=${s%%:*} so=${s#*:}
  f=$(ls "$B"/debs/"${pkg}"_*.deb)
  ver=$(dpkg-deb -f "$f" Version)
  mv "$f" "$B/debs/$pkg.deb"
  echo "$pkg.deb $so $ver" >>"$B/debs/MANIFEST"
done

{
  echo "gpu-bundle built $(date -u +%FT%TZ) from $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- bench gpu-worker/src workflows || echo ' (+ uncommitted changes)')"
  echo "node $("$B/node" --version); onnxruntime-node $(node -p "require('$NM/onnxruntime-node/package.json').version"); model $(node -p "const m=require('$B/models/metalm-tiny/manifest.json'); m.name+' '+m.version")"
} >"$B/BUILD.txt"
cat "$B/BUILD.txt"
du -sh "$B"/* | sed 's/^/   /'

echo "== gpu-bundle.tar.xz (xz -9: a few minutes)"
mkdir -p "$OUT"
rm -rf "$OUT/gpu-parts" "$OUT/gpu-bundle.tar.xz"
tar -C "$STAGE" -cf - gpu-bundle | nice xz -9 -T2 >"$OUT/gpu-bundle.tar.xz"
mkdir -p "$OUT/gpu-parts"
split -b 14M -a 2 "$OUT/gpu-bundle.tar.xz" "$OUT/gpu-parts/part-"
SIZE=$(stat -c %s "$OUT/gpu-bundle.tar.xz")
echo "artifacts/gpu-bundle.tar.xz: $SIZE bytes ($(awk "BEGIN { printf \"%.1f\", $SIZE / 1e6 }") MB, $(awk "BEGIN { printf \"%.1f\", $SIZE / 1048576 }") MiB)"
(cd "$OUT" && sha256sum gpu-bundle.tar.xz gpu-parts/part-*)
if ((SIZE > 60000000)); then
  echo "FAIL: the bundle is over 60 MB"
  exit 1
fi
