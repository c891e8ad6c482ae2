// Worker-thread entry for image decoding (gpu-worker/src/image/decode-pool.ts). Plain ESM so it
// starts the same under `node --import tsx`, vitest and a bundled build; it registers tsx to load
// the TypeScript decoder and preprocessor, so there is one implementation of each.
import { parentPort } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { decodeImage } = await import("./decode.ts");
const { preprocessImage } = await import("./preprocess.ts");

parentPort.on("message", ({ id, bytes, maxPixels, spec }) => {
  try {
    const pixels = preprocessImage(decodeImage(bytes, { maxPixels }), spec);
    parentPort.postMessage({ id, pixels }, [pixels.buffer]);
  } catch (e) {
    parentPort.postMessage({ id, error: { name: e?.name, code: e?.code, message: e?.message ?? String(e) } });
  }
});
parentPort.postMessage({ ready: true });
