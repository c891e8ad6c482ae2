// Worker-thread entry for the background WAL checkpointer (db/store.ts, `checkpointMs`). Plain ESM
// (no TypeScript) so it starts the same under `node --import tsx`, vitest and a bundled build.
// Its own connection to the database file runs a PASSIVE checkpoint every `intervalMs`: WAL frames
// are copied into the database file (and the WAL restarts) off the edge's event loop, so no
// request's commit pays for it. PASSIVE never waits for or blocks readers and writers; what it
// cannot copy yet (a reader still on old frames) is copied by a later tick.
// Counters in the shared Int32Array: [0] checkpoints run, [1] frames copied, [2] errors.
import { parentPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";

const { file, intervalMs, stats } = workerData;
const counts = new Int32Array(stats);
const db = new Database(file, { fileMustExist: true });
db.pragma("busy_timeout = 0");
db.pragma("synchronous = NORMAL");
let reported = false;
const tick = () => {
  try {
    const [r] = db.pragma("wal_checkpoint(PASSIVE)");
    Atomics.add(counts, 0, 1);
    if (r && r.checkpointed > 0) Atomics.add(counts, 1, r.checkpointed);
    reported = false;
  } catch (e) {
    // a full disk, a busy lock held past the call: the next tick tries again; said once per streak
    Atomics.add(counts, 2, 1);
    if (!reported) console.error(JSON.stringify({ msg: "sqlite: background checkpoint failed; retrying", error: String(e?.message ?? e) }));
    reported = true;
  }
};
const timer = setInterval(tick, intervalMs);
parentPort.on("message", (m) => {
  if (m !== "stop") return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
