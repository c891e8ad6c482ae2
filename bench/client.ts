/**
 * What the API client costs per call, against a stub server in this process (it answers at once,
 * so the numbers are the client's work plus loopback HTTP): a VQA-sized `createRun` (a 30 KB image
 * as a multipart part, `Prefer: wait`) sent four ways, interleaved in rounds:
 *  - `sdk`: MetalmClient as it is on Node (cli/transport.ts: node:http, keep-alive, bytes body);
 *  - `sdk+fetch`: MetalmClient with `{ fetch }` (the global fetch, undici, the same bytes body);
 *  - `fetch+FormData`: what the client did before: fetch with a FormData body;
 *  - `floor`: node:http with the body built before the clock starts (the least a call costs here).
 * Prints, per way, wall time and CPU (client + stub) per call.
 *
 * Run: npx tsx bench/client.ts [--calls 1000] [--rounds 3]
 */
import { createServer, Agent, request } from "node:http";
import type { AddressInfo } from "node:net";
import { loadavg } from "node:os";
import { MetalmClient } from "../cli/client.js";
import { multipartBody } from "../cli/transport.js";

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const CALLS = arg("calls", 1000);
const ROUNDS = arg("rounds", 3);

const image = new Uint8Array(30_000).map((_, i) => (i * 31) % 251);
const answer = JSON.stringify({ id: "run_x", status: "succeeded", outputs: { answer: "red" } });
const server = createServer((req, res) => {
  req.on("data", () => {});
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(answer);
  });
});
server.listen(0, "127.0.0.1");
await new Promise((r) => server.once("listening", r));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const spec = { version: 1, steps: [] } as never;
const body = { spec, inputs: { question: "what color is the circle?" } };
const sdk = new MetalmClient(base, { validate: false, apiKey: "mlk_bench" });
const sdkFetch = new MetalmClient(base, { validate: false, apiKey: "mlk_bench", fetch });
const prebuilt = await multipartBody({ request: JSON.stringify(body) }, { image });
const agent = new Agent({ keepAlive: true });

const ways: Record<string, () => Promise<unknown>> = {
  sdk: () => sdk.createRun({ ...body, files: { image } }, { wait: 60 }),
  "sdk+fetch": () => sdkFetch.createRun({ ...body, files: { image } }, { wait: 60 }),
  "fetch+FormData": async () => {
    const form = new FormData();
    form.set("request", JSON.stringify(body));
    form.set("image", new Blob([image]), "image");
    const res = await fetch(`${base}/v1/runs`, { method: "POST", body: form, headers: { authorization: "Bearer mlk_bench", prefer: "wait=60" } });
    return res.json();
  },
  floor: () =>
    new Promise<unknown>((resolve, reject) => {
      const req = request(
        `${base}/v1/runs`,
        {
          method: "POST",
          agent,
          headers: { authorization: "Bearer mlk_bench", prefer: "wait=60", "content-type": prebuilt.contentType, "content-length": prebuilt.body.byteLength },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString())));
        },
      );
      req.on("error", reject);
      req.end(prebuilt.body);
    }),
};

console.log(
  `bench/client: ${CALLS} calls × ${ROUNDS} rounds per way, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")}`,
);
const res: Record<string, { wall: number[]; cpu: number[] }> = {};
for (const [name, fn] of Object.entries(ways)) {
  res[name] = { wall: [], cpu: [] };
  for (let i = 0; i < 200; i++) await fn(); // warm-up: JIT, connections
}
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, fn] of Object.entries(ways)) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) await fn();
    const c = process.cpuUsage(c0);
    res[name]!.wall.push(((performance.now() - t0) / CALLS) * 1000);
    res[name]!.cpu.push((c.user + c.system) / CALLS);
  }
}
console.log("way               wall µs/call (best, per round)        CPU µs/call (best, per round)");
for (const [name, { wall, cpu }] of Object.entries(res)) {
  const fmt = (xs: number[]) =>
    `${Math.min(...xs)
      .toFixed(0)
      .padStart(5)}  (${xs.map((x) => x.toFixed(0)).join(", ")})`;
  console.log(`${name.padEnd(16)}  ${fmt(wall).padEnd(36)}  ${fmt(cpu)}`);
}
console.log(`load average at end ${loadavg()[0]!.toFixed(2)}`);
server.close();
agent.destroy();
process.exit(0);
