/**
 * The Node transport: node:http(s) with a `lookup` that refuses private, loopback, link-local and
 * metadata addresses among everything DNS returns (checked when connecting, so DNS rebinding
 * cannot swap the address after a check), IP literals checked up front, no redirects (node:http
 * never follows them), and one deadline for connect + answer.
 *
 * @example
 * createApp({ store, poolToken, webhooks: { transport: nodeTransport } });
 */
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { isBlockedAddress, isIpLiteral, urlProblem } from "./ssrf.js";
import { RESPONSE_LOG_BYTES, SendError, type Transport } from "./transport.js";

/** A `lookup` that fails with `EBLOCKED` when any resolved address is blocked. */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, "", 4);
    const bad = addresses.find((a) => isBlockedAddress(a.address));
    if (bad || addresses.length === 0) {
      const e = Object.assign(new Error(`${hostname} resolves to ${bad?.address ?? "nothing"}, a private, loopback, link-local or reserved address`), {
        code: "EBLOCKED",
      });
      return callback(e, "", 4);
    }
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

export const nodeTransport: Transport = (req) =>
  new Promise((resolve, reject) => {
    const problem = urlProblem(req.url, req.allowPrivate);
    if (problem) return reject(new SendError("blocked_address", problem));
    const u = new URL(req.url);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    if (!req.allowPrivate && isIpLiteral(host) && isBlockedAddress(host)) return reject(new SendError("blocked_address", `address ${host} is not allowed`));
    const mod = u.protocol === "https:" ? https : http;
    let settled = false;
    const fail = (e: SendError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      r.destroy();
      reject(e);
    };
    const r = mod.request(
      u,
      {
        method: "POST",
        headers: { ...req.headers, "content-length": String(Buffer.byteLength(req.body)) },
        ...(req.allowPrivate ? {} : { lookup: guardedLookup }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (b: Buffer) => {
          if (size < RESPONSE_LOG_BYTES) chunks.push(b);
          size += b.length;
          if (size > 64 * 1024) res.destroy(); // we only log the start
        });
        const done = () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8").slice(0, RESPONSE_LOG_BYTES) });
        };
        res.on("end", done);
        res.on("close", done);
        res.on("error", done);
      },
    );
    const timer = setTimeout(() => fail(new SendError("timeout", `no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
    r.on("error", (e: NodeJS.ErrnoException) =>
      fail(e.code === "EBLOCKED" ? new SendError("blocked_address", e.message) : new SendError("network_error", `${e.code ?? ""} ${e.message}`.trim())),
    );
    r.end(req.body);
  });
