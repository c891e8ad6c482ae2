/**
 * The outside world of the workerd tests (Node side, wired in vitest.workers.config.ts): every
 * outbound `fetch` of the Worker lands in `outbound` — a webhook receiver that records each request
 * and fails the first attempt to any `/flaky` path with a 500 — and the `HOOKS` service binding lets
 * tests read the record (`GET /`) or clear it (`DELETE /`).
 */
import { Response, type Request } from "miniflare";

export interface Received {
  url: string;
  headers: Record<string, string>;
  body: string;
  status: number;
}

const received: Received[] = [];
const seen = new Set<string>();

export async function outbound(req: Request): Promise<Response> {
  const body = await req.text();
  const key = `${req.url} ${req.headers.get("webhook-id")}`;
  const status = new URL(req.url).pathname.endsWith("/flaky") && !seen.has(key) ? 500 : 200;
  seen.add(key);
  received.push({ url: req.url, headers: Object.fromEntries(req.headers), body, status });
  return new Response(status === 200 ? "ok" : "try again", { status });
}

export function hooksBinding(req: Request): Response {
  if (req.method === "DELETE") received.length = 0;
  return Response.json(received);
}
