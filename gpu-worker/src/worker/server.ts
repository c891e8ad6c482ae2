/** `/healthz` and `/metrics` on the worker's own port (node:http: two routes need no framework). */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Worker } from "./worker.js";

export async function startHealthServer(worker: Worker, port: number, host: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (req.method === "GET" && url.pathname === "/healthz") {
      const ok = worker.registered && !worker.isStopping;
      res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          status: ok ? "ok" : worker.isStopping ? "stopping" : "starting",
          workerId: worker.cfg.workerId,
          models: [...worker.runtimes.keys()],
          executionProvider: worker.executionProvider,
          providers: Object.fromEntries(
            [...worker.runtimes.values()].map((rt) => [rt.name, { executionProvider: rt.pkg.executionProvider, providerFallbacks: rt.pkg.providerFallbacks }]),
          ),
          heldJobs: worker.heldJobs,
        }),
      );
      return;
    }
    if (req.method === "GET" && url.pathname === "/metrics" && worker.metrics) {
      worker.metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { "content-type": worker.metrics.registry.contentType });
          res.end(text);
        })
        .catch((e) => {
          res.writeHead(500);
          res.end(String(e));
        });
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { code: "not_found", message: `${req.method} ${url.pathname}` } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return { server, port: (server.address() as AddressInfo).port };
}
