/**
 * Property-based fuzzing of the public API (fast-check) in-process (`app.request`) on a real
 * SQLite file: ≥ 10 000 generated malformed specs, inputs, headers, paths and raw bodies. Every
 * answer must be below 500 and, when it is an error, in the one error shape
 * `{ error: { code, message, details } }`. FUZZ_SEED reproduces a run; FUZZ_SCALE scales the counts.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp, type EdgeApp } from "../../edge/app.js";
import { makeHarness, PNG_1PX, pngDataUrl, POOL_TOKEN, register, vqa, type Harness } from "../../edge/testing/harness.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261126);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);
const n = (k: number) => Math.max(1, Math.round(k * SCALE));
const ADMIN = "mla_fuzz-admin";

let h: Harness;
let app: EdgeApp;
let runId = "";
let cases = 0;
const statuses = new Map<number, number>();

beforeAll(async () => {
  h = makeHarness();
  // no default key: the fuzzer chooses the credentials; no waiting (Prefer: wait), no rate limit
  app = createApp({
    store: h.store,
    poolToken: POOL_TOKEN,
    adminKey: ADMIN,
    rateLimit: false,
    limits: { maxWaitS: 0, bodyBytes: 256 * 1024 },
    webhooks: { allowPrivate: false },
  });
  await register(h.app);
  const r = await h.app.request("/v1/runs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ spec: vqa(), inputs: { image: pngDataUrl() } }),
  });
  runId = ((await r.json()) as { id: string }).id;
  await h.app.request("/v1/workflows", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: "saved", spec: vqa() }) });
});
afterAll(() => {
  console.log(`[fuzz] seed ${SEED}: ${cases} cases, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`);
  h?.close();
});

async function send(path: string, init: RequestInit): Promise<void> {
  const res = await app.request(path, init);
  const text = await res.text();
  cases++;
  statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
  const where = `${init.method ?? "GET"} ${path} → ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, where).toBeLessThan(500);
  if (res.status >= 400 && init.method !== "HEAD") {
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`not JSON: ${where}`);
    }
    expect(typeof body?.error?.code, where).toBe("string");
    expect(typeof body.error.message, where).toBe("string");
    expect("details" in body.error, where).toBe(true);
    expect(Object.keys(body), where).toEqual(["error"]);
  }
}

const KEY = () => ({ authorization: `Bearer ${h.key.key}` });
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json", ...KEY(), ...headers },
  body: JSON.stringify(body),
});

/** Values that stress parsers: odd numbers, templates, huge/unicode strings, protos, nesting. */
const leaf = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(0, -1, 1e308, -0, 2 ** 53, 257, 256, 1.5, "", " ", null, true, false, [], {}),
  fc.constantFrom(
    "{{inputs.image}}",
    "{{steps.answer.text}}",
    "{{",
    "}}",
    "\\{{x}}",
    "{{ steps.see.tensor }}",
    "{{inputs.__proto__}}",
    "{{steps.nope.text}}",
    "__proto__",
    "constructor",
  ),
  fc.jsonValue({ maxDepth: 3 }),
);

type Path = (string | number)[];
function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) paths(x, [...at, Array.isArray(v) ? Number(k) : k], out);
  return out;
}
const BASE = vqa();
const BASE_PATHS = paths(BASE).slice(1);

function mutate(ms: { path: number; op: "set" | "delete" | "key"; value: unknown; key: string }[]): unknown {
  const spec = structuredClone(BASE) as any;
  for (const m of ms) {
    const p = BASE_PATHS[m.path % BASE_PATHS.length]!;
    let parent = spec;
    for (const k of p.slice(0, -1)) {
      if (!parent || typeof parent !== "object") break;
      parent = parent[k];
    }
    if (!parent || typeof parent !== "object") continue;
    const last = p.at(-1)!;
    if (m.op === "set") parent[last] = m.value;
    else if (m.op === "delete") Array.isArray(parent) ? parent.splice(Number(last), 1) : delete parent[last];
    else Object.defineProperty(parent, m.key, { value: m.value, enumerable: true, configurable: true, writable: true });
  }
  return spec;
}

const mutation = fc.record({
  path: fc.nat(),
  op: fc.constantFrom("set" as const, "delete" as const, "key" as const),
  value: leaf,
  key: fc.oneof(fc.string(), fc.constantFrom("__proto__", "extra", "params", "retry", "timeoutMs")),
});
const specArb = fc.oneof(
  { weight: 6, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }).map(mutate) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        inputs: fc.dictionary(fc.string({ maxLength: 8 }), fc.record({ type: fc.constantFrom("image", "text", "number", "audio"), default: fc.option(leaf) })),
        steps: fc.array(
          fc.record(
            {
              id: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom("a", "b", "see", "dock")),
              op: fc.constantFrom("encode", "connect", "decode", "explain", "train"),
              model: fc.constantFrom("metalm-tiny", "nope", 3),
              encoder: fc.constantFrom("vision", "text", "smell"),
              image: fc.constantFrom("{{inputs.image}}", "{{inputs.q}}", "x"),
              from: fc.constantFrom("a", "b", "see"),
              segments: fc.array(fc.oneof(fc.record({ span: fc.string({ maxLength: 5 }) }), fc.record({ text: leaf })), { maxLength: 3 }),
              params: fc.dictionary(fc.constantFrom("maxTokens", "temperature", "topP", "topK", "seed", "stop", "x"), leaf),
            },
            { requiredKeys: ["id", "op"] },
          ),
          { maxLength: 6 },
        ),
        outputs: fc.dictionary(fc.string({ maxLength: 6 }), leaf),
      },
      { requiredKeys: [] },
    ),
  },
);

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
function pngClaiming(w: number, hgt: number) {
  const b = Buffer.from(PNG_1PX);
  b.writeUInt32BE(w >>> 0, 16);
  b.writeUInt32BE(hgt >>> 0, 20);
  return b;
}
const inputValue = fc.oneof(
  leaf,
  fc.uint8Array({ maxLength: 64 }).map(b64),
  fc.uint8Array({ maxLength: 64 }).map((b) => `data:image/png;base64,${b64(b)}`),
  fc.constantFrom(pngDataUrl(), "data:image/png,notbase64", "data:;base64,", "data:image/png;base64,====", "iVBORw0KGgo", "/9j/"),
  fc.tuple(fc.nat(), fc.nat()).map(([w, hh]) => b64(pngClaiming(w, hh))),
  fc
    .oneof(fc.string(), fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: 64, maxLength: 64 }), fc.constant("0".repeat(64)))
    .map((sha256) => ({ sha256 })),
);
const inputsArb = fc.oneof(fc.dictionary(fc.constantFrom("image", "question", "n", "__proto__", "x"), inputValue), leaf);

const printable = (s: string) => s.replace(/[^\x20-\x7e\x80-\xff]/g, "");
const headerArb = fc.record(
  {
    "idempotency-key": fc.string({ maxLength: 300 }).map(printable),
    prefer: fc.oneof(fc.string().map(printable), fc.constantFrom("wait=0", "wait=abc", "wait=99999999", "respond-async, wait=1", 'wait="2"')),
    "content-type": fc.constantFrom(
      "application/json",
      "text/plain",
      "multipart/form-data",
      "multipart/form-data; boundary=x",
      "application/json; charset=utf-16",
      "",
    ),
    "last-event-id": fc.oneof(fc.string().map(printable), fc.constantFrom("0", "-1", "99999999999999999999", "1e3")),
    authorization: fc.oneof(
      { weight: 4, arbitrary: fc.constant("KEY") },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.string().map(printable),
          fc.constantFrom("Bearer", "Bearer ", "Basic abc", `Bearer ${POOL_TOKEN}`, `Bearer ${ADMIN}`, "Bearer mlk_x"),
        ),
      },
    ),
    cookie: fc.oneof(fc.string().map(printable), fc.constantFrom("metalm_key=", "metalm_key=mlk_nope", "metalm_key=%zz")),
    "x-api-key": fc.string().map(printable),
  },
  { requiredKeys: [] },
);
const segment = fc.oneof(
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
  fc.constantFrom("", "..", "%00", "run_x", "saved", "%2F", "1", "0", "-1", "99999999999", "RUNID"),
);
const query = fc.dictionary(
  fc.constantFrom("status", "workflow", "tag", "createdAfter", "createdBefore", "cursor", "limit", "version", "lastEventId", "tenantId", "key", "x"),
  fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("-1", "0", "1e99", "succeeded", "queued", "NaN", "eyJ4IjoxfQ", "2026-01-01")),
  { maxKeys: 3 },
);
const pathArb = fc
  .tuple(
    fc.constantFrom(
      "/v1/runs",
      "/v1/runs/$",
      "/v1/runs/$/cancel",
      "/v1/runs/$/rerun",
      "/v1/runs/$/events",
      "/v1/runs/$/webhooks",
      "/v1/workflows",
      "/v1/workflows/$",
      "/v1/workflows/$/versions",
      "/v1/workflows/$/versions/$",
      "/v1/plan",
      "/v1/models",
      "/v1/webhooks/endpoints",
      "/v1/webhooks/endpoints/$",
      "/v1/webhooks/endpoints/$/secret",
      "/v1/webhooks/endpoints/$/rotate-secret",
      "/v1/webhooks/deliveries/$/redeliver",
      "/v1/admin/keys",
      "/v1/admin/keys/$",
      "/v1/admin/worker-credentials",
      "/v1/admin/worker-credentials/$",
      "/v1/pool/register",
      "/v1/pool/lease",
      "/v1/pool/heartbeat",
      "/v1/pool/results",
      "/v1/pool/progress",
      "/v1/pool/blobs/$",
      "/v1/$",
      "/metrics",
      "/openapi.json",
      "/healthz",
    ),
    segment,
    segment,
    query,
  )
  .map(([tpl, a, b, q]) => {
    let i = 0;
    const p = tpl.replace(/\$/g, () => (i++ === 0 ? a : b)).replace("RUNID", () => runId);
    const qs = new URLSearchParams(q).toString();
    return qs ? `${p}?${qs}` : p;
  });

const FAST = { seed: SEED, endOnFailure: true } as const;

describe("fuzzing the API: no 5xx, every error in the one shape", () => {
  it("malformed specs and inputs: POST /v1/runs, /v1/plan, /v1/workflows, rerun", async () => {
    await fc.assert(
      fc.asyncProperty(specArb, inputsArb, fc.constantFrom("/v1/runs", "/v1/plan", "/v1/workflows", "/v1/runs/RUNID/rerun"), async (spec, inputs, tpl) => {
        const path = tpl.replace("RUNID", runId);
        const body = path.endsWith("/rerun")
          ? { fromStep: (spec as any)?.steps?.[0]?.id ?? "answer", overrides: { steps: { answer: (spec as any)?.steps?.[2] ?? spec }, inputs } }
          : path === "/v1/workflows"
            ? { id: "fz", spec }
            : { spec, inputs };
        await send(path, json(body));
      }),
      { ...FAST, numRuns: n(4_000) },
    );
  }, 240_000);

  it("inputs against a valid spec and a saved workflow (JSON and multipart)", async () => {
    await fc.assert(
      fc.asyncProperty(
        inputsArb,
        fc.boolean(),
        fc.array(fc.tuple(fc.constantFrom("image", "question", "request", "inputs.image", "x"), fc.oneof(fc.string(), fc.uint8Array({ maxLength: 80 }))), {
          maxLength: 4,
        }),
        async (inputs, saved, parts) => {
          const body = saved ? { workflowId: "saved", inputs } : { spec: vqa(), inputs };
          await send("/v1/runs", json(body));
          const form = new FormData();
          for (const [name, v] of parts) form.append(name, typeof v === "string" ? v : new Blob([v as Uint8Array<ArrayBuffer>]));
          if (!parts.some(([p]) => p === "request")) form.set("request", JSON.stringify(body));
          await send("/v1/runs", { method: "POST", headers: KEY(), body: form });
        },
      ),
      { ...FAST, numRuns: n(1_500) },
    );
  }, 240_000);

  it("paths, methods, query strings and headers", async () => {
    await fc.assert(
      fc.asyncProperty(
        pathArb,
        fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"),
        headerArb,
        fc.option(fc.jsonValue({ maxDepth: 3 })),
        async (path, method, hdrs, body) => {
          // an SSE stream of the live run would stay open: only its 4xx paths are fuzzed
          if (path.includes(`${runId}/events`) && !hdrs["last-event-id"]) return;
          const headers: Record<string, string> = { ...hdrs };
          if (headers.authorization === "KEY") headers.authorization = `Bearer ${h.key.key}`;
          if (path.startsWith("/v1/admin") && hdrs.authorization === "KEY") headers.authorization = `Bearer ${ADMIN}`;
          const init: RequestInit = { method, headers };
          if (body !== null && method !== "GET" && method !== "HEAD") init.body = JSON.stringify(body);
          if (path.startsWith(`/v1/runs/${runId}/events`)) {
            const ctl = new AbortController();
            init.signal = ctl.signal;
            setTimeout(() => ctl.abort(), 50);
            const res = await app.request(path, init);
            cases++;
            expect(res.status).toBeLessThan(500);
            await res.body?.cancel().catch(() => {});
            return;
          }
          await send(path, init);
        },
      ),
      { ...FAST, numRuns: n(3_000) },
    );
  }, 240_000);

  it("raw bodies: garbage, truncated and wrongly-typed JSON, bytes", async () => {
    const valid = JSON.stringify({ spec: vqa(), inputs: { image: pngDataUrl() } });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.nat({ max: valid.length }).map((i) => valid.slice(0, i)),
          fc.constantFrom("null", "[]", "1", '"x"', "{", '{"spec":', '{"spec":null}', "\u0000", "{}".repeat(1000), "[".repeat(5000) + "]".repeat(5000)),
        ),
        fc.constantFrom(
          "/v1/runs",
          "/v1/plan",
          "/v1/workflows",
          "/v1/webhooks/endpoints",
          "/v1/runs/RUNID/rerun",
          "/v1/runs/RUNID/cancel",
          "/v1/admin/keys",
          "/v1/admin/worker-credentials",
          "/v1/pool/lease",
          "/v1/pool/results",
          "/v1/pool/register",
          "/ui/api/validate",
        ),
        fc.constantFrom("application/json", "text/plain", "multipart/form-data; boundary=zz", "application/x-www-form-urlencoded", undefined),
        async (body, tpl, type) => {
          const path = tpl.replace("RUNID", runId);
          const auth = path.startsWith("/v1/admin")
            ? { authorization: `Bearer ${ADMIN}` }
            : path.startsWith("/v1/pool")
              ? { authorization: `Bearer ${POOL_TOKEN}` }
              : KEY();
          await send(path, { method: "POST", headers: { ...auth, ...(type ? { "content-type": type } : {}) }, body });
        },
      ),
      { ...FAST, numRuns: n(1_600) },
    );
  }, 240_000);

  it("tried at least 10 000 cases (× FUZZ_SCALE)", () => {
    // always asserted: a smaller FUZZ_SCALE checks its share (the per-property counts scale the
    // same way, rounded), so a property that silently stops sending requests fails at any scale
    expect(cases).toBeGreaterThanOrEqual(SCALE >= 1 ? 10_000 : Math.floor(10_000 * SCALE * 0.95));
  });
});
