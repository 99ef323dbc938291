CREATE TABLE `group_usage_daily` (
	`team_id` text NOT NULL,
	`day` text NOT NULL,
	`model_group` text NOT NULL,
	`calls` integer NOT NULL,
	`cache_hits` integer NOT NULL,
	`cache_saved_nano` integer NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`team_id`, `day`, `model_group`)
);
--> statement-breakpoint
CREATE INDEX `group_usage_daily_group_day_idx` ON `group_usage_daily` (`model_group`,`day`);--> statement-breakpoint
ALTER TABLE `model_groups` ADD `cache_ttl_seconds` integer;--> statement-breakpoint
ALTER TABLE `model_groups` ADD `cache_scope` text;--> statement-breakpoint
ALTER TABLE `model_groups` ADD `cache_hit_price_percent` integer;--> statement-breakpoint
ALTER TABLE `team_usage_daily` ADD `cache_hits` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `team_usage_daily` ADD `cache_saved_nano` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `team_usage_daily` ADD `cache_saved_provider_nano` integer DEFAULT 0 NOT NULL;