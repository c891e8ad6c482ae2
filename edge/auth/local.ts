/**
 * Keys of a local (Node) instance. The admin key is `ADMIN_KEY`, else the one kept in
 * `DATA_DIR/admin.key`, else a new one written there (mode 0600). The development key is
 * `DEV_API_KEY` (stored for tenant `local` if new), else the one kept in `DATA_DIR/dev-api.key`,
 * else — on a fresh database without any key — a new one for tenant `local`, written there.
 * A revoked development key stays revoked. Both files live next to the SQLite file they unlock.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_TENANT, apiKeys } from "../../db/schema.js";
import type { Store } from "../../db/driver.js";
import { createApiKey, findApiKey, generateKey } from "./keys.js";

export interface LocalKeys {
  adminKey: string;
  /** True when this start generated the admin key. */
  adminKeyCreated: boolean;
  /** The development key (tenant `local`), when one is known and not revoked. */
  devKey?: string;
  devKeyCreated: boolean;
}

const readKey = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim() || undefined : undefined);

export async function localKeys(store: Store, env: NodeJS.ProcessEnv, dataDir: string): Promise<LocalKeys> {
  const adminFile = join(dataDir, "admin.key");
  let adminKey = env.ADMIN_KEY || readKey(adminFile);
  const adminKeyCreated = !adminKey;
  if (!adminKey) {
    adminKey = `mla_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
    writeFileSync(adminFile, adminKey + "\n", { mode: 0o600 });
  }

  const devFile = join(dataDir, "dev-api.key");
  let devKey = env.DEV_API_KEY || readKey(devFile);
  let devKeyCreated = false;
  if (env.DEV_API_KEY) {
    await createApiKey(store, { tenantId: DEFAULT_TENANT, name: "development (DEV_API_KEY)", key: env.DEV_API_KEY });
  } else if (devKey) {
    if (!(await findApiKey(store, devKey))) devKey = undefined; // revoked (or from another database)
  } else {
    const [any] = await store.db.select({ id: apiKeys.id }).from(apiKeys).limit(1);
    if (!any) {
      devKey = generateKey();
      await createApiKey(store, { tenantId: DEFAULT_TENANT, name: "development", key: devKey });
      writeFileSync(devFile, devKey + "\n", { mode: 0o600 });
      devKeyCreated = true;
    }
  }
  return { adminKey, adminKeyCreated, devKey, devKeyCreated };
}
