DROP INDEX `runs_tenant_idem`;--> statement-breakpoint
CREATE UNIQUE INDEX `runs_tenant_idem` ON `runs` (`tenant_id`,`idempotency_key`) WHERE "runs"."idempotency_key" IS NOT NULL;--> statement-breakpoint
DROP INDEX `steps_memo`;--> statement-breakpoint
CREATE INDEX `steps_memo` ON `steps` (`tenant_id`,`cache_key`) WHERE "steps"."status" = 'succeeded';