CREATE TABLE `team_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`team_id` text NOT NULL,
	`name` text NOT NULL,
	`key_prefix` text NOT NULL,
	`model_groups` text,
	`budget_credits` integer,
	`budget_period` text,
	`expires_at` text,
	`revoked_at` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`team_id`) REFERENCES `teams`(`team_id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `team_keys_team_idx` ON `team_keys` (`team_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `team_keys_live_name_uq` ON `team_keys` (`team_id`,`name`) WHERE revoked_at IS NULL;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `team_key_id` text;--> statement-breakpoint
CREATE INDEX `api_keys_team_key_idx` ON `api_keys` (`team_key_id`);--> statement-breakpoint
-- Each existing team's key becomes its first named key, `default` (a UUID v4 made in SQL), and its secrets belong to it.
INSERT INTO `team_keys` (`key_id`, `team_id`, `name`, `key_prefix`, `created_at`, `updated_at`)
SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2) || '-'
    || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
  t.`team_id`, 'default',
  COALESCE((SELECT a.`key_prefix` FROM `api_keys` a WHERE a.`team_id` = t.`team_id` ORDER BY a.`created_at` DESC LIMIT 1), 'sk-'),
  t.`created_at`, t.`created_at`
FROM `teams` t;--> statement-breakpoint
UPDATE `api_keys` SET `team_key_id` = (SELECT k.`key_id` FROM `team_keys` k WHERE k.`team_id` = `api_keys`.`team_id` AND k.`name` = 'default');
