DROP INDEX `runs_status_updated`;--> statement-breakpoint
ALTER TABLE `runs` ADD `deadline_at` integer;--> statement-breakpoint
CREATE INDEX `runs_status_deadline` ON `runs` (`status`,`deadline_at`);--> statement-breakpoint
CREATE INDEX `jobs_deadline` ON `jobs` (`status`,`deadline_at`);