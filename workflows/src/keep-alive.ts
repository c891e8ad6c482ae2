/**
 * When a Node HTTP client of the service may send a failed request once more: it was written on a
 * kept-alive connection (`req.reusedSocket`) that the server closed at that moment — its idle
 * timeout racing the write — so it failed before any answer with ECONNRESET, EPIPE or "socket hang
 * up". The server never read it (it had closed the connection), so sending it again on a new
 * connection cannot run a call twice; Node's documentation of `reusedSocket` advises that retry.
 * One rule for both clients: the API client's `nodeFetch` (cli/transport.ts) and the worker's
 * `EdgeClient` (gpu-worker/src/worker/edge-client.ts); each retries once at most.
 *
 * @example if (!retried && lostToIdleClose(err, req.reusedSocket, answered)) resend();
 */
export function lostToIdleClose(e: { code?: string; message?: string }, reusedSocket: boolean, answered: boolean): boolean {
  return reusedSocket && !answered && (e.code === "ECONNRESET" || e.code === "EPIPE" || e.message === "socket hang up");
}
