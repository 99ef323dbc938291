CREATE TABLE `webhooks` (
	`scope` text NOT NULL,
	`owner_id` text NOT NULL,
	`url` text NOT NULL,
	`events` text NOT NULL,
	`low_balance_threshold` integer,
	`secret_sealed` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`scope`, `owner_id`)
);
