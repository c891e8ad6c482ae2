/** A gpu-worker process: `npx tsx gpu-worker/worker.ts` (configuration from the environment, see src/worker/config.ts). */
import { main } from "./src/worker/main.js";

await main();
