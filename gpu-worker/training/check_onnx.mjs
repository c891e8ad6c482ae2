// PyTorch vs onnxruntime: runs the exported graphs of a package on inputs saved by export.py and
// compares with the PyTorch outputs saved alongside.
//
//   node gpu-worker/training/check_onnx.mjs <package dir> <cases dir>
//
// <cases dir>/cases.json: [{ graph, inputs: {name: {file, dtype, shape}}, outputs: {...}, atol, rtol }]
// with raw little-endian .bin files. Exits 1 on any mismatch, missing input/output name or NaN.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

// resolve onnxruntime-node from the repository's node_modules, wherever node is started from
const require = createRequire(join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../../package.json"));
const ort = require("onnxruntime-node");

const [pkg, dir] = process.argv.slice(2);
if (!pkg || !dir) {
  console.error("usage: node check_onnx.mjs <package dir> <cases dir>");
  process.exit(2);
}

function load(spec) {
  const buf = readFileSync(join(dir, spec.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data = spec.dtype === "int64" ? new BigInt64Array(ab) : new Float32Array(ab);
  return new ort.Tensor(spec.dtype, data, spec.shape);
}

const cases = JSON.parse(readFileSync(join(dir, "cases.json"), "utf8"));
const sessions = new Map();
let failed = 0;
for (const [n, c] of cases.entries()) {
  if (!sessions.has(c.graph)) sessions.set(c.graph, await ort.InferenceSession.create(join(pkg, c.graph)));
  const s = sessions.get(c.graph);
  const feeds = {};
  for (const [k, v] of Object.entries(c.inputs)) feeds[k] = load(v);
  const missing = s.inputNames.filter((k) => !(k in feeds));
  const extra = Object.keys(feeds).filter((k) => !s.inputNames.includes(k));
  if (missing.length || extra.length) {
    console.error(`case ${n} ${c.graph}: input names differ (missing ${missing}, extra ${extra})`);
    failed++;
    continue;
  }
  const out = await s.run(feeds);
  for (const [k, spec] of Object.entries(c.outputs)) {
    const got = out[k];
    if (!got) {
      console.error(`case ${n} ${c.graph}: no output "${k}" (outputs: ${s.outputNames})`);
      failed++;
      continue;
    }
    const want = load(spec);
    if (got.dims.join(",") !== want.dims.join(",")) {
      console.error(`case ${n} ${c.graph} ${k}: shape ${got.dims} != ${want.dims}`);
      failed++;
      continue;
    }
    let maxErr = 0;
    let bad = 0;
    for (let i = 0; i < want.data.length; i++) {
      const a = got.data[i];
      const b = want.data[i];
      const err = Math.abs(a - b);
      if (!(err <= c.atol + c.rtol * Math.abs(b))) bad++;
      if (!(err <= maxErr)) maxErr = err;
    }
    const tag = bad ? "FAIL" : "ok";
    console.log(`${tag} case ${n} ${c.graph} ${k} [${got.dims}] max|err|=${maxErr.toExponential(2)}`);
    if (bad) failed++;
  }
}
if (failed) {
  console.error(`${failed} mismatches`);
  process.exit(1);
}
console.log(`onnx check: ${cases.length} cases agree with PyTorch`);
