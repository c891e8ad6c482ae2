/** The OpenAPI document lists the key, admin and webhook routes with their security schemes. */
import { afterEach, beforeEach, expect, it } from "vitest";
import { call, makeHarness, type Harness } from "../testing/harness.js";

let h: Harness;
beforeEach(() => (h = makeHarness()));
afterEach(() => h.close());

it("documents admin keys, webhook endpoints, the delivery log and redelivery", async () => {
  const doc = (await call(h.app, "/openapi.json")).body;
  for (const p of ["/v1/admin/keys", "/v1/admin/keys/{id}", "/v1/webhooks/endpoints", "/v1/webhooks/endpoints/{id}", "/v1/webhooks/endpoints/{id}/secret", "/v1/webhooks/endpoints/{id}/rotate-secret", "/v1/runs/{id}/webhooks", "/v1/webhooks/deliveries/{id}/redeliver"])
    expect(doc.paths[p], p).toBeDefined();
  expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(["apiKey", "adminKey", "poolToken"]));
  expect(doc.paths["/v1/webhooks/endpoints"].post.requestBody.content["application/json"].schema).toBeDefined();
});
