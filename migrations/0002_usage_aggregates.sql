CREATE TABLE `team_usage_daily` (
	`team_id` text NOT NULL,
	`organization_id` text NOT NULL,
	`day` text NOT NULL,
	`job_type` text NOT NULL,
	`jobs` integer NOT NULL,
	`completed` integer NOT NULL,
	`failed` integer NOT NULL,
	`cancelled` integer NOT NULL,
	`expired` integer NOT NULL,
	`calls` integer NOT NULL,
	`credits_charged` integer NOT NULL,
	`prompt_tokens` integer NOT NULL,
	`completion_tokens` integer NOT NULL,
	`total_tokens` integer NOT NULL,
	`client_cost_nano` integer NOT NULL,
	`provider_cost_nano` integer NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`team_id`, `day`, `job_type`)
);
--> statement-breakpoint
CREATE INDEX `team_usage_daily_org_day_idx` ON `team_usage_daily` (`organization_id`,`day`);