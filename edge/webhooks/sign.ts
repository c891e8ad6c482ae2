/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): `webhook-signature` is a
 * space-separated list of `v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<body>")>`, one per
 * secret that is currently valid (several during a rotation). Secrets are `whsec_<base64 bytes>`.
 * Web Crypto only (Node and Workers).
 *
 * @example
 * const secret = newSecret();
 * const h = await signedHeaders([secret], "msg_1", 1_700_000_000, '{"type":"run.completed"}');
 * new Webhook(secret).verify(body, h); // standardwebhooks accepts it
 */
export const SECRET_PREFIX = "whsec_";

export function newSecret(): string {
  return SECRET_PREFIX + Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64");
}

function secretBytes(secret: string): Uint8Array {
  const b64 = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  return new Uint8Array(Buffer.from(b64, "base64"));
}

export async function sign(secret: string, id: string, timestampS: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", secretBytes(secret) as Uint8Array<ArrayBuffer>, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestampS}.${body}`));
  return `v1,${Buffer.from(mac).toString("base64")}`;
}

/** The three Standard Webhooks headers (+ content type) for one attempt. */
export async function signedHeaders(secrets: string[], id: string, timestampS: number, body: string): Promise<Record<string, string>> {
  const sigs = await Promise.all(secrets.map((s) => sign(s, id, timestampS, body)));
  return {
    "content-type": "application/json",
    "user-agent": "metalm-webhooks/1",
    "webhook-id": id,
    "webhook-timestamp": String(timestampS),
    "webhook-signature": sigs.join(" "),
  };
}
