/**
 * How one webhook request is sent. The dispatcher never follows redirects (a 3xx is a failed
 * attempt), bounds every request by a timeout, and reads at most 1 KiB of the answer for the log.
 *
 * `fetchTransport` (the default; Workers): checks the URL without DNS (`urlProblem`: scheme,
 * names, IP literals) — Workers' own fetch cannot reach private networks. Node uses
 * transport-node.ts, which also checks every address DNS returns, at connect time.
 */
import { urlProblem } from "./ssrf.js";

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivate: boolean;
}
export interface SendResponse {
  status: number;
  body: string;
}
export type Transport = (req: SendRequest) => Promise<SendResponse>;

/** A failed attempt that got no HTTP answer (`blocked_address`, `timeout`, `network_error`). */
export class SendError extends Error {
  constructor(
    readonly code: "blocked_address" | "timeout" | "network_error",
    message: string,
  ) {
    super(message);
  }
}

export const RESPONSE_LOG_BYTES = 1024;

export const fetchTransport: Transport = async (req) => {
  const problem = urlProblem(req.url, req.allowPrivate);
  if (problem) throw new SendError("blocked_address", problem);
  let res: Response;
  try {
    res = await fetch(req.url, { method: "POST", headers: req.headers, body: req.body, redirect: "manual", signal: AbortSignal.timeout(req.timeoutMs) });
  } catch (e) {
    const name = (e as Error).name;
    if (name === "TimeoutError" || name === "AbortError") throw new SendError("timeout", `no answer within ${req.timeoutMs} ms`);
    throw new SendError("network_error", (e as Error).message);
  }
  let text = "";
  try {
    text = (await res.text()).slice(0, RESPONSE_LOG_BYTES);
  } catch {
    /* the status is what counts */
  }
  return { status: res.status, body: text };
};
