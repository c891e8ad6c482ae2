/**
 * A webhook receiver for tests: a real HTTP server on loopback that verifies every request with
 * the `standardwebhooks` library (an outside implementation of the spec), records it, and answers
 * what the test says. It can go down and come back up on the same port.
 *
 * @example
 * const rx = await startReceiver(() => secret);
 * // … point an endpoint at rx.url, run something …
 * rx.received.map((m) => m.type); // ["run.started", "step.completed", …]
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface Received {
  id: string;
  timestamp: string;
  signatures: string[];
  type: string;
  body: any;
  raw: string;
  verified: boolean;
  verifyError?: string;
}

export type Answer = { status: number; delayMs?: number; headers?: Record<string, string> };

export interface Receiver {
  url: string;
  port: number;
  /** Every request that arrived (verified or not), in order. */
  received: Received[];
  answer: (r: Received, req: IncomingMessage) => Answer;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(secrets: () => string[] | string, port = 0): Promise<Receiver> {
  let server: Server | undefined;
  const rx: Receiver = {
    url: "",
    port,
    received: [],
    answer: () => ({ status: 204 }),
    async down() {
      if (!server) return;
      const s = server;
      server = undefined;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    },
    async up() {
      if (server) return;
      const s = createServer((req, res) => void handle(req, res));
      await new Promise<void>((resolve, reject) => {
        s.once("error", reject);
        s.listen(rx.port, "127.0.0.1", () => resolve());
      });
      server = s;
      rx.port = (s.address() as AddressInfo).port;
      rx.url = `http://127.0.0.1:${rx.port}/hook`;
    },
    close() {
      return rx.down();
    },
  };
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    const rec: Received = {
      id: headers["webhook-id"] ?? "",
      timestamp: headers["webhook-timestamp"] ?? "",
      signatures: (headers["webhook-signature"] ?? "").split(" ").filter(Boolean),
      type: "",
      body: undefined,
      raw,
      verified: false,
    };
    const list = secrets();
    for (const secret of Array.isArray(list) ? list : [list]) {
      try {
        rec.body = new Webhook(secret).verify(raw, headers);
        rec.verified = true;
        break;
      } catch (e) {
        rec.verifyError = (e as Error).message;
      }
    }
    if (!rec.verified) {
      try {
        rec.body = JSON.parse(raw);
      } catch {
        /* keep raw */
      }
    }
    rec.type = rec.body?.type ?? "";
    rx.received.push(rec);
    const a = rx.answer(rec, req);
    if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
    if (res.destroyed) return;
    res.writeHead(a.status, a.headers).end(a.status === 204 ? undefined : "ok");
  }
  await rx.up();
  return rx;
}
