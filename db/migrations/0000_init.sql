CREATE TABLE `blobs` (
	`sha256` text PRIMARY KEY NOT NULL,
	`mime` text NOT NULL,
	`size` integer NOT NULL,
	`data` blob NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text DEFAULT 'local' NOT NULL,
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`step_idx` integer NOT NULL,
	`model` text NOT NULL,
	`op` text NOT NULL,
	`payload` text NOT NULL,
	`status` text NOT NULL,
	`lease_id` text,
	`leased_by` text,
	`leased_at` integer,
	`lease_expires_at` integer,
	`deadline_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`backoff_ms` integer NOT NULL,
	`timeout_ms` integer NOT NULL,
	`available_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `jobs_ready` ON `jobs` (`status`,`available_at`);--> statement-breakpoint
CREATE INDEX `jobs_expiry` ON `jobs` (`status`,`lease_expires_at`);--> statement-breakpoint
CREATE INDEX `jobs_run` ON `jobs` (`run_id`);--> statement-breakpoint
CREATE TABLE `run_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` text NOT NULL,
	`tenant_id` text DEFAULT 'local' NOT NULL,
	`type` text NOT NULL,
	`step_id` text,
	`data` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `run_events_run` ON `run_events` (`run_id`,`id`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text DEFAULT 'local' NOT NULL,
	`workflow_id` text,
	`workflow_version` integer,
	`name` text,
	`spec` text NOT NULL,
	`inputs` text NOT NULL,
	`catalog` text NOT NULL,
	`status` text NOT NULL,
	`rev` integer DEFAULT 0 NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`idempotency_key` text,
	`parent_run_id` text,
	`rerun_from` text,
	`created_at` integer NOT NULL,
	`started_at` integer,
	`finished_at` integer,
	`updated_at` integer NOT NULL,
	`outputs` text,
	`error` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `runs_tenant_idem` ON `runs` (`tenant_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `runs_tenant_created` ON `runs` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `runs_tenant_status_created` ON `runs` (`tenant_id`,`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `runs_tenant_workflow_created` ON `runs` (`tenant_id`,`workflow_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `runs_status_updated` ON `runs` (`status`,`updated_at`);--> statement-breakpoint
CREATE TABLE `steps` (
	`run_id` text NOT NULL,
	`step_id` text NOT NULL,
	`tenant_id` text DEFAULT 'local' NOT NULL,
	`idx` integer NOT NULL,
	`op` text NOT NULL,
	`model` text,
	`status` text NOT NULL,
	`value_deps` text NOT NULL,
	`tensor_deps` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`max_attempts` integer NOT NULL,
	`backoff_ms` integer NOT NULL,
	`timeout_ms` integer NOT NULL,
	`cache_key` text,
	`cache_hit` integer DEFAULT false NOT NULL,
	`cached_from` text,
	`no_cache` integer DEFAULT false NOT NULL,
	`worker_id` text,
	`queued_at` integer,
	`started_at` integer,
	`finished_at` integer,
	`queue_ms` integer,
	`compute_ms` integer,
	`output` text,
	`receipt` text,
	`error` text,
	PRIMARY KEY(`run_id`, `step_id`)
);
--> statement-breakpoint
CREATE INDEX `steps_memo` ON `steps` (`tenant_id`,`cache_key`,`status`);--> statement-breakpoint
CREATE TABLE `workers` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text DEFAULT 'local' NOT NULL,
	`execution_provider` text NOT NULL,
	`ort_version` text NOT NULL,
	`models` text NOT NULL,
	`lease_ms` integer NOT NULL,
	`registered_at` integer NOT NULL,
	`last_seen_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `workflows` (
	`tenant_id` text DEFAULT 'local' NOT NULL,
	`id` text NOT NULL,
	`version` integer NOT NULL,
	`name` text,
	`description` text,
	`spec` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `id`, `version`)
);
