CREATE TABLE `worker_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`prefix` text NOT NULL,
	`hash` text NOT NULL,
	`tenants` text,
	`models` text,
	`created_at` integer NOT NULL,
	`revoked_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `worker_credentials_hash` ON `worker_credentials` (`hash`);--> statement-breakpoint
ALTER TABLE `workers` ADD `credential_id` text DEFAULT 'pool' NOT NULL;