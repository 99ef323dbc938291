CREATE TABLE `api_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`key_hash` text NOT NULL,
	`key_prefix` text NOT NULL,
	`created_at` text NOT NULL,
	`expires_at` text,
	`revoked_at` text,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`team_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_hash_uq` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_team_idx` ON `api_keys` (`team_id`);--> statement-breakpoint
CREATE TABLE `idempotency_records` (
	`scope` text NOT NULL,
	`idempotency_key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer,
	`body` text,
	`created_at` text NOT NULL,
	PRIMARY KEY(`scope`, `idempotency_key`)
);
--> statement-breakpoint
CREATE TABLE `model_group_models` (
	`group_name` text NOT NULL,
	`model_name` text NOT NULL,
	`priority` integer NOT NULL,
	PRIMARY KEY(`group_name`, `model_name`),
	FOREIGN KEY (`group_name`) REFERENCES `model_groups`(`group_name`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `model_groups` (
	`group_name` text PRIMARY KEY NOT NULL,
	`display_name` text NOT NULL,
	`description` text,
	`status` text DEFAULT 'active' NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `model_pricing` (
	`model_name` text PRIMARY KEY NOT NULL,
	`input_per_million_usd` real NOT NULL,
	`output_per_million_usd` real NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')) NOT NULL
);
--> statement-breakpoint
CREATE TABLE `organizations` (
	`organization_id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`metadata` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `team_model_groups` (
	`team_id` text NOT NULL,
	`group_name` text NOT NULL,
	`assigned_at` text NOT NULL,
	PRIMARY KEY(`team_id`, `group_name`),
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`team_id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`group_name`) REFERENCES `model_groups`(`group_name`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `team_model_groups_group_idx` ON `team_model_groups` (`group_name`);--> statement-breakpoint
CREATE TABLE `teams` (
	`team_id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`team_alias` text,
	`status` text DEFAULT 'active' NOT NULL,
	`metadata` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`organization_id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `teams_organization_idx` ON `teams` (`organization_id`);