// Loads a model package with onnxruntime-node and reproduces PyTorch's reference.json: encoder and
// connector outputs, first-step logits and greedy tokens (KV cache), once per case and once with all
// cases in one left-padded batch. Independent of the worker's TypeScript runtime on purpose: it
// checks the exported graphs and the package contract themselves (used by smoke.sh and export).
//
//   node gpu-worker/training/run_reference.mjs <package dir> [reference.json]
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

const require = createRequire(join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../../package.json"));
const ort = require("onnxruntime-node");

const pkg = process.argv[2];
const ref = JSON.parse(readFileSync(process.argv[3] ?? join(pkg, "reference.json"), "utf8"));
const man = JSON.parse(readFileSync(join(pkg, "manifest.json"), "utf8"));
const vocab = JSON.parse(readFileSync(join(pkg, man.tokenizer), "utf8")).model.vocab;
const dec = man.decoder;
const kv = dec.kvCache;
const sessions = {};
const sess = async (g) => (sessions[g] ??= await ort.InferenceSession.create(join(pkg, g)));
const name = (t, i) => t.replaceAll("{i}", String(i));

let failures = 0;
const fail = (msg) => {
  failures++;
  console.error("FAIL " + msg);
};

function tokenize(text) {
  return (text.toLowerCase().match(/\w+|[^\w\s]+/gu) ?? []).map((w) => vocab[w] ?? dec.specialTokens.unk);
}
const i64 = (ids, dims) => new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), dims);

async function embedTokens(ids) {
  const s = await sess(dec.embedGraph);
  const out = await s.run({ input_ids: i64(ids, [1, ids.length]) });
  return Array.from({ length: ids.length }, (_, t) => out.inputs_embeds.data.slice(t * dec.hiddenSize, (t + 1) * dec.hiddenSize));
}

function summary(t) {
  let sum = 0, sq = 0;
  for (const v of t.data) { sum += v; sq += v * v; }
  const n = t.data.length, mean = sum / n;
  return { norm: Math.sqrt(sq), mean, std: Math.sqrt(Math.max(0, sq / n - mean * mean)) };
}
function near(a, b, tol, what) {
  const e = Math.abs(a - b);
  if (!(e <= tol * Math.max(1, Math.abs(b)))) fail(`${what}: ${a} vs ${b}`);
}

// --- encodings -> spans: arrays of Float32Array(hidden)
const spans = {};
for (const [key, enc] of Object.entries(ref.encodings)) {
  const [kind, id] = key.split(":");
  let h;
  if (kind === "vision") {
    const e = man.encoders.find((x) => x.modality === "image");
    const img = ref.images[id];
    const S = e.image.size;
    const px = new Float32Array(3 * S * S);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < S; y++)
        for (let x = 0; x < S; x++)
          px[c * S * S + y * S + x] = (img.pixels[(y * S + x) * 3 + c] / 255 - e.image.mean[c]) / e.image.std[c];
    h = (await (await sess(e.graph)).run({ pixel_values: new ort.Tensor("float32", px, [1, 3, S, S]) })).last_hidden_state;
  } else {
    const e = man.encoders.find((x) => x.modality === "text");
    const ids = tokenize(enc.text);
    if (JSON.stringify(ids) !== JSON.stringify(enc.input_ids)) fail(`tokenizer: ${ids} vs ${enc.input_ids}`);
    h = (await (await sess(e.graph)).run({ input_ids: i64(ids, [1, ids.length]), attention_mask: i64(ids.map(() => 1), [1, ids.length]) })).last_hidden_state;
  }
  const conn = man.connectors.find((c) => c.encoder === kind);
  const v = (await (await sess(conn.graph)).run({ encoder_hidden_states: h })).inputs_embeds;
  for (const [what, t, want] of [["encode", h, enc.encode], ["connect", v, enc.connect]]) {
    const s = summary(t);
    near(s.norm, want.norm, 1e-4, `${key} ${what} norm`);
    near(s.mean, want.mean, 1e-3, `${key} ${what} mean`);
  }
  const n = v.dims[1];
  spans[key] = Array.from({ length: n }, (_, p) => v.data.slice(p * dec.hiddenSize, (p + 1) * dec.hiddenSize));
}

async function promptEmbeds(c) {
  const rows = await embedTokens([dec.specialTokens.bos]);
  for (const seg of c.segments) {
    if (seg.span) rows.push(...spans[seg.span]);
    else rows.push(...(await embedTokens(tokenize(seg.text))));
  }
  return rows;
}

// --- batched greedy decoding with left padding and the KV cache
async function greedy(prompts, maxTokens) {
  const d = await sess(dec.graph);
  const B = prompts.length, H = dec.hiddenSize;
  const L = Math.max(...prompts.map((p) => p.length));
  let mask = [], pos = [];
  const x = new Float32Array(B * L * H);
  prompts.forEach((p, b) => {
    const pad = L - p.length;
    p.forEach((row, t) => x.set(row, (b * L + pad + t) * H));
    for (let t = 0; t < L; t++) {
      mask.push(t < pad ? 0 : 1);
      pos.push(Math.max(0, t - pad));
    }
  });
  const feeds = { inputs_embeds: new ort.Tensor("float32", x, [B, L, H]), attention_mask: i64(mask, [B, L]), position_ids: i64(pos, [B, L]) };
  for (let i = 0; i < kv.layers; i++) {
    feeds[name(kv.pastKey, i)] = new ort.Tensor("float32", new Float32Array(0), [B, kv.heads, 0, kv.headDim]);
    feeds[name(kv.pastValue, i)] = new ort.Tensor("float32", new Float32Array(0), [B, kv.heads, 0, kv.headDim]);
  }
  let out = await d.run(feeds);
  let T = L;
  const V = dec.vocabSize;
  const first = prompts.map((_, b) => out.logits.data.slice((b * T + T - 1) * V, (b * T + T) * V));
  const toks = prompts.map(() => []);
  const done = prompts.map(() => false);
  let last = prompts.map((p) => p.length - 1);
  for (let step = 0; step < maxTokens; step++) {
    const next = [];
    for (let b = 0; b < B; b++) {
      const row = out.logits.data.subarray((b * T + T - 1) * V, (b * T + T) * V);
      let best = 0;
      for (let v = 1; v < V; v++) if (row[v] > row[best]) best = v;
      next.push(best);
      if (!done[b]) toks[b].push(best);
      if (best === dec.specialTokens.eos) done[b] = true;
    }
    if (done.every(Boolean) || step === maxTokens - 1) break;
    const e = new Float32Array(B * H);
    for (let b = 0; b < B; b++) e.set((await embedTokens([next[b]]))[0], b * H);
    const m2 = [];
    for (let b = 0; b < B; b++) m2.push(...mask.slice(b * (mask.length / B), (b + 1) * (mask.length / B)), 1);
    mask = m2;
    last = last.map((p) => p + 1);
    const f = { inputs_embeds: new ort.Tensor("float32", e, [B, 1, H]), attention_mask: i64(mask, [B, mask.length / B]), position_ids: i64(last, [B, 1]) };
    for (let i = 0; i < kv.layers; i++) {
      f[name(kv.pastKey, i)] = out[name(kv.presentKey, i)];
      f[name(kv.pastValue, i)] = out[name(kv.presentValue, i)];
    }
    out = await d.run(f);
    T = 1;
  }
  return { first, toks };
}

const prompts = [];
for (const c of ref.cases) prompts.push(await promptEmbeds(c));
for (const [mode, groups] of [["single", ref.cases.map((_, i) => [i])], ["batched", [ref.cases.map((_, i) => i)]]]) {
  for (const g of groups) {
    const maxTokens = Math.max(...g.map((i) => ref.cases[i].greedy.maxTokens));
    const { first, toks } = await greedy(g.map((i) => prompts[i]), maxTokens);
    g.forEach((ci, b) => {
      const c = ref.cases[ci];
      let err = 0;
      c.firstLogits.forEach((v, k) => (err = Math.max(err, Math.abs(v - first[b][k]))));
      if (err > 1e-3) fail(`${mode} ${c.name}: first-step logits differ by ${err}`);
      const want = c.greedy.tokens, got = toks[b].slice(0, want.length);
      if (JSON.stringify(got) !== JSON.stringify(want)) fail(`${mode} ${c.name}: greedy ${got} vs ${want}`);
      else console.log(`ok ${mode} ${c.name}: max|dlogit|=${err.toExponential(2)} tokens ${JSON.stringify(got)}`);
    });
  }
}
if (failures) {
  console.error(`${failures} failures`);
  process.exit(1);
}
console.log(`reference reproduced by onnxruntime-node (${ref.cases.length} cases, single and batched)`);
