/**
 * Request and response schemas of the webhook API (edge/webhooks/routes.ts): the handlers parse
 * bodies with them and /openapi.json shows them.
 */
import { z } from "@hono/zod-openapi";
import { WEBHOOK_DELIVERY_STATUSES } from "../../db/schema.js";
import { WEBHOOK_EVENT_TYPES } from "../../workflows/index.js";

const Events = z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).max(WEBHOOK_EVENT_TYPES.length);
export const CreateEndpointBody = z
  .strictObject({
    url: z.string().min(1).max(2048),
    events: Events.optional(),
    description: z.string().max(500).optional(),
    enabled: z.boolean().optional(),
  })
  .meta({ id: "CreateWebhookEndpoint" });
export const PatchEndpointBody = CreateEndpointBody.partial().meta({ id: "PatchWebhookEndpoint" });
export const RotateSecretBody = z
  .strictObject({
    graceSeconds: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600)
      .optional(),
  })
  .meta({ id: "RotateWebhookSecret" });

export const EndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    enabled: z.boolean(),
    disabledReason: z.string().nullable(),
    createdAt: z.number(),
    updatedAt: z.number(),
  })
  .meta({ id: "WebhookEndpoint" });
export const SecretSchema = z
  .object({ secret: z.string().openapi({ example: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }), previous: z.array(z.object({ expiresAt: z.number() })) })
  .meta({ id: "WebhookSecret" });
const Attempt = z.object({
  attempt: z.number(),
  at: z.number(),
  durationMs: z.number(),
  status: z.number().nullable(),
  error: z.string().nullable(),
  response: z.string().nullable(),
});
const Delivery = z.object({
  id: z.string(),
  endpointId: z.string(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number(),
  nextAttemptAt: z.number().nullable(),
  lastStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.number().nullable(),
  log: z.array(Attempt),
});
export const DeliveryLogSchema = z
  .object({
    runId: z.string(),
    messages: z.array(
      z.object({
        id: z.string().openapi({ description: "the webhook-id" }),
        type: z.enum(WEBHOOK_EVENT_TYPES),
        createdAt: z.number(),
        deliveries: z.array(Delivery),
      }),
    ),
  })
  .meta({ id: "WebhookDeliveryLog" });
export const RedeliveredSchema = z.object({
  id: z.string(),
  messageId: z.string(),
  endpointId: z.string(),
  status: z.literal("pending"),
  nextAttemptAt: z.number(),
});
