ALTER TABLE `organizations` ADD `location_hint` text;--> statement-breakpoint
ALTER TABLE `organizations` ADD `jurisdiction` text;--> statement-breakpoint
ALTER TABLE `teams` ADD `location_hint` text;--> statement-breakpoint
ALTER TABLE `teams` ADD `jurisdiction` text;