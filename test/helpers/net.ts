/** Network helpers shared by the tests that start real processes. */
import { createServer } from "node:net";

/** A loopback TCP port that was free a moment ago (the OS picks it; the probe socket is closed). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
