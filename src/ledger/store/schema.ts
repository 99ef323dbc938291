// The team ledger's SQLite schema, as an append-only list of migrations run when the
// object starts. Never edit a shipped entry: add a new one.
export const LEDGER_MIGRATIONS: ReadonlyArray<{ id: number; sql: string }> = [
  {
    id: 1,
    sql: `
      CREATE TABLE account (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        team_id TEXT NOT NULL,
        organization_id TEXT NOT NULL,
        status TEXT NOT NULL,
        budget_mode TEXT NOT NULL,
        credits_per_dollar REAL NOT NULL,
        tokens_per_credit INTEGER NOT NULL,
        cost_markup_percentage REAL NOT NULL,
        job_ttl_seconds INTEGER NOT NULL,
        credits_allocated INTEGER NOT NULL,
        credits_used INTEGER NOT NULL,
        credits_reserved INTEGER NOT NULL,
        -- Σ over open jobs of their hold (max(reserved, consumed)), in integer micro-credits.
        open_jobs_hold_micro INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
      );
      CREATE TABLE jobs (
        job_id TEXT PRIMARY KEY,
        job_type TEXT NOT NULL,
        user_id TEXT,
        status TEXT NOT NULL,
        metadata TEXT NOT NULL,
        error_message TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        completed_at TEXT,
        expires_at TEXT NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        reserved INTEGER NOT NULL,
        hold_micro INTEGER NOT NULL,
        credit_applied INTEGER NOT NULL DEFAULT 0,
        credits_charged INTEGER NOT NULL DEFAULT 0,
        refunded INTEGER NOT NULL DEFAULT 0,
        model_groups_used TEXT NOT NULL DEFAULT '[]',
        total_calls INTEGER NOT NULL DEFAULT 0,
        successful_calls INTEGER NOT NULL DEFAULT 0,
        failed_calls INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        total_tokens INTEGER NOT NULL DEFAULT 0,
        provider_cost_nano INTEGER NOT NULL DEFAULT 0,
        client_cost_nano INTEGER NOT NULL DEFAULT 0,
        latency_sum_ms INTEGER NOT NULL DEFAULT 0,
        latency_count INTEGER NOT NULL DEFAULT 0,
        summary TEXT
      );
      CREATE INDEX jobs_open_expiry ON jobs (expires_at_ms) WHERE status IN ('pending', 'in_progress');
      CREATE INDEX jobs_created ON jobs (created_at);
      CREATE TABLE calls (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        call_id TEXT NOT NULL UNIQUE,
        job_id TEXT NOT NULL,
        model_group TEXT NOT NULL,
        model_used TEXT,
        attempts TEXT NOT NULL,
        purpose TEXT,
        status TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL,
        completion_tokens INTEGER NOT NULL,
        total_tokens INTEGER NOT NULL,
        provider_cost_nano INTEGER,
        client_cost_nano INTEGER NOT NULL,
        cost_source TEXT NOT NULL,
        usage_estimated INTEGER NOT NULL,
        latency_ms INTEGER NOT NULL,
        error TEXT,
        stream INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX calls_job ON calls (job_id, seq);
      CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        transaction_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        amount INTEGER NOT NULL,
        reserved_change INTEGER NOT NULL,
        balance_before INTEGER NOT NULL,
        balance_after INTEGER NOT NULL,
        job_id TEXT,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE usage_monthly (
        period TEXT NOT NULL,
        job_type TEXT NOT NULL,
        jobs INTEGER NOT NULL DEFAULT 0,
        completed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        cancelled INTEGER NOT NULL DEFAULT 0,
        expired INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        credits_charged INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        total_tokens INTEGER NOT NULL DEFAULT 0,
        client_cost_nano INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (period, job_type)
      );
    `,
  },
  {
    id: 2,
    // New jobs and calls per minute; NULL means no limit.
    sql: "ALTER TABLE account ADD COLUMN rate_limit_per_minute INTEGER",
  },
  {
    id: 3,
    // Exactly-once: each money change's operation id, with what it answered (and, for some, a
    // kept text such as a sealed answer), written in the same transaction as the change.
    sql: `
      CREATE TABLE operations (
        op_id TEXT PRIMARY KEY,
        method TEXT NOT NULL,
        digest TEXT NOT NULL,
        result TEXT NOT NULL,
        kept TEXT,
        created_at_ms INTEGER NOT NULL
      );
      CREATE INDEX operations_created ON operations (created_at_ms);
      `,
  },
  {
    id: 4,
    // Who completes a job: 'team' (jobs/create) or 'gateway' (one-request jobs, closed only by
    // the gateway). And a call's upstream error text, kept apart from what the team is shown.
    sql: `
      ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'team';
      ALTER TABLE calls ADD COLUMN upstream_error TEXT;
    `,
  },
  {
    id: 6,
    // Who may use the team, decided here on every request: its keys (by keyed hash; valid_until_ms
    // NULL until a rotation retires the key) and its model groups with their models in priority order.
    sql: `
      CREATE TABLE access_keys (key_hash TEXT PRIMARY KEY, valid_until_ms INTEGER);
      CREATE TABLE access_groups (group_name TEXT PRIMARY KEY, models TEXT NOT NULL);
      -- One row once the keys and groups are here (pushed at creation, or loaded from D1 once).
      CREATE TABLE access_state (id INTEGER PRIMARY KEY CHECK (id = 1), loaded_at TEXT NOT NULL);
    `,
  },
  {
    id: 8,
    // Hard budgets (holds.ts). Existing teams keep today's rules (bounded overdraft, unpriced
    // calls allowed); new teams get what openAccount is given. call_holds_micro is Σ of the
    // holds of calls in flight, jobs.calls_hold_micro the same per job; a ledger row's
    // held_change_micro is its signed change to call_holds_micro.
    sql: `
      ALTER TABLE account ADD COLUMN overdraft TEXT NOT NULL DEFAULT 'bounded';
      ALTER TABLE account ADD COLUMN unpriced_calls TEXT NOT NULL DEFAULT 'allow';
      ALTER TABLE account ADD COLUMN tpm_limit INTEGER;
      ALTER TABLE account ADD COLUMN call_holds_micro INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN calls_hold_micro INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE ledger ADD COLUMN held_change_micro INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 9,
    // One row per admitted call holding money or tokens, until the call is recorded.
    sql: `
      CREATE TABLE call_holds (
        call_id TEXT PRIMARY KEY,
        job_id TEXT NOT NULL,
        hold_micro INTEGER NOT NULL,
        cap_nano INTEGER,
        prompt_tokens INTEGER NOT NULL,
        max_tokens INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL
      );
    `,
  },
  {
    id: 10,
    // Reports (usage-flush.ts): usage per day (of the job's creation, UTC) and job type, and per
    // day, model group and model that served ('' when none did); usage_dirty names the days whose
    // totals D1 has not yet been sent (version counts the changes, so a flush that raced one
    // leaves the day dirty). Filled from the jobs and calls kept here, so every team's history
    // is in them; usage_monthly is replaced (a month is the sum of its days).
    sql: `
      CREATE TABLE usage_daily (
        day TEXT NOT NULL,
        job_type TEXT NOT NULL,
        jobs INTEGER NOT NULL DEFAULT 0,
        completed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        cancelled INTEGER NOT NULL DEFAULT 0,
        expired INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        credits_charged INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        total_tokens INTEGER NOT NULL DEFAULT 0,
        client_cost_nano INTEGER NOT NULL DEFAULT 0,
        provider_cost_nano INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, job_type)
      );
      CREATE TABLE usage_models_daily (
        day TEXT NOT NULL,
        model_group TEXT NOT NULL,
        model TEXT NOT NULL,
        calls INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        total_tokens INTEGER NOT NULL DEFAULT 0,
        client_cost_nano INTEGER NOT NULL DEFAULT 0,
        provider_cost_nano INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, model_group, model)
      );
      CREATE TABLE usage_dirty (day TEXT PRIMARY KEY, version INTEGER NOT NULL, since_ms INTEGER NOT NULL);
      INSERT INTO usage_daily (day, job_type, jobs, completed, failed, cancelled, expired, credits_charged)
        SELECT substr(created_at, 1, 10), job_type, COUNT(*), SUM(status = 'completed'), SUM(status = 'failed'),
          SUM(status = 'cancelled'), SUM(status = 'expired'), SUM(CASE WHEN refunded = 1 THEN 0 ELSE credits_charged END)
        FROM jobs GROUP BY 1, 2;
      INSERT INTO usage_daily (day, job_type, calls, prompt_tokens, completion_tokens, total_tokens, client_cost_nano, provider_cost_nano)
        SELECT substr(j.created_at, 1, 10), j.job_type, COUNT(*), SUM(c.prompt_tokens), SUM(c.completion_tokens), SUM(c.total_tokens),
          SUM(c.client_cost_nano), SUM(COALESCE(c.provider_cost_nano, 0))
        FROM calls c JOIN jobs j ON j.job_id = c.job_id WHERE true GROUP BY 1, 2
        ON CONFLICT (day, job_type) DO UPDATE SET calls = excluded.calls, prompt_tokens = excluded.prompt_tokens,
          completion_tokens = excluded.completion_tokens, total_tokens = excluded.total_tokens,
          client_cost_nano = excluded.client_cost_nano, provider_cost_nano = excluded.provider_cost_nano;
      INSERT INTO usage_models_daily (day, model_group, model, calls, prompt_tokens, completion_tokens, total_tokens, client_cost_nano,
          provider_cost_nano)
        SELECT substr(j.created_at, 1, 10), c.model_group, COALESCE(c.model_used, ''), COUNT(*), SUM(c.prompt_tokens),
          SUM(c.completion_tokens), SUM(c.total_tokens), SUM(c.client_cost_nano), SUM(COALESCE(c.provider_cost_nano, 0))
        FROM calls c JOIN jobs j ON j.job_id = c.job_id GROUP BY 1, 2, 3;
      INSERT INTO usage_dirty (day, version, since_ms) SELECT DISTINCT day, 1, 0 FROM usage_daily;
      DROP TABLE usage_monthly;
    `,
  },
  {
    id: 20,
    // Webhooks (webhook-outbox.ts): the team's endpoints (its own and its organization's) with
    // whether the balance is now below each one's threshold / exhausted (so a crossing fires
    // once), and the outbox of events, born in the same transaction as the change they tell of.
    sql: `
      CREATE TABLE webhook_endpoints (
        scope TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        low_balance_threshold INTEGER,
        secret TEXT NOT NULL,
        below_low INTEGER NOT NULL,
        exhausted INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      CREATE TABLE webhook_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL,
        scope TEXT NOT NULL,
        event_type TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at_ms INTEGER NOT NULL,
        next_attempt_ms INTEGER,
        last_attempt_ms INTEGER,
        last_status INTEGER,
        last_error TEXT,
        delivered_at_ms INTEGER,
        attempt_log TEXT NOT NULL DEFAULT '[]'
      );
      CREATE INDEX webhook_outbox_pending ON webhook_outbox (scope, seq) WHERE state = 'pending';
      CREATE INDEX webhook_outbox_created ON webhook_outbox (created_at_ms);
    `,
  },
  {
    id: 30,
    // Holds that heal (holds.ts, unrecorded.ts): every admitted call has a hold row until it is
    // recorded, with the time by which it must be (past it the alarm settles it from its hold),
    // the run of the object that placed it, its choices (n), group and whether it streams. Holds
    // placed before this get 15 minutes from when they were placed. No index: the table holds only
    // the calls in flight, and every write to it is on a call's path. And per team what a job that
    // ends unfinished is charged (NULL: the budget mode's default).
    sql: `
      ALTER TABLE call_holds ADD COLUMN choices INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE call_holds ADD COLUMN deadline_ms INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE call_holds ADD COLUMN incarnation TEXT NOT NULL DEFAULT '';
      ALTER TABLE call_holds ADD COLUMN model_group TEXT NOT NULL DEFAULT '';
      ALTER TABLE call_holds ADD COLUMN stream INTEGER NOT NULL DEFAULT 0;
      UPDATE call_holds SET deadline_ms = created_at_ms + 900000;
      ALTER TABLE account ADD COLUMN unfinished_jobs TEXT;
      `,
  },
  {
    id: 260,
    // Grants (rules/grants.ts, changes/grant-ledger.ts): the team's credits as grants with a
    // source, priority and expiry. grant_moves is every signed change to a grant's remaining
    // credits (grant_id NULL: the team's overdraft), each with the ledger row it belongs to, so
    // Σ moves = Σ ledger amounts; a trigger applies each move to its grant, so a grant's
    // remaining is the sum of its moves by construction. grant_holds is what an
    // open job holds of a grant that ended while it held. allowance is the plan that renews a
    // plan grant each period; a plan grant's (allowance_id, plan_period_ms, plan_kind) is unique,
    // so a period is renewed once however often the alarm runs. A team from before grants gets
    // one paid grant holding what it had left (and its overdraft, if it was over).
    sql: `
      CREATE TABLE grants (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        grant_id TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        credits INTEGER NOT NULL,
        remaining INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        expires_at_ms INTEGER,
        created_at_ms INTEGER NOT NULL,
        reason TEXT NOT NULL,
        external_ref TEXT UNIQUE,
        allowance_id TEXT,
        plan_period_ms INTEGER,
        plan_kind TEXT,
        ended TEXT,
        ended_at_ms INTEGER,
        notice_sent INTEGER NOT NULL DEFAULT 0
      );
      CREATE UNIQUE INDEX grants_plan_period ON grants (allowance_id, plan_period_ms, plan_kind) WHERE allowance_id IS NOT NULL;
      CREATE TABLE grant_moves (
        seq INTEGER PRIMARY KEY,
        ledger_seq INTEGER,
        grant_id TEXT,
        kind TEXT NOT NULL,
        credits INTEGER NOT NULL,
        job_id TEXT,
        at_ms INTEGER NOT NULL
      );
      CREATE INDEX grant_moves_ledger ON grant_moves (ledger_seq);
      CREATE INDEX grant_moves_job ON grant_moves (job_id) WHERE job_id IS NOT NULL;
      CREATE TRIGGER grant_moves_apply AFTER INSERT ON grant_moves WHEN NEW.grant_id IS NOT NULL AND NEW.credits <> 0
      BEGIN
        UPDATE grants SET remaining = remaining + NEW.credits WHERE grant_id = NEW.grant_id;
      END;
      CREATE TABLE grant_holds (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL,
        grant_id TEXT NOT NULL,
        credits INTEGER NOT NULL,
        UNIQUE (job_id, grant_id)
      );
      CREATE TABLE allowance (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        allowance_id TEXT NOT NULL,
        credits INTEGER NOT NULL,
        period TEXT NOT NULL,
        anchor INTEGER NOT NULL,
        rollover_max INTEGER,
        priority INTEGER NOT NULL,
        period_start_ms INTEGER NOT NULL,
        period_end_ms INTEGER NOT NULL,
        created_at_ms INTEGER NOT NULL,
        updated_at_ms INTEGER NOT NULL
      );
      ALTER TABLE account ADD COLUMN grant_notice_seconds INTEGER NOT NULL DEFAULT 259200;
      INSERT INTO grants (grant_id, source, credits, remaining, priority, created_at_ms, reason)
        SELECT lower(substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8' || substr(h, 18, 3) || '-' || substr(h, 21, 12)),
          'paid', MAX(0, credits_allocated - credits_used), 0, 50,
          CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), 'Credits held before grants'
        FROM account, (SELECT hex(randomblob(16)) AS h) WHERE id = 1;
      INSERT INTO grant_moves (ledger_seq, grant_id, kind, credits, at_ms)
        SELECT NULL, grant_id, 'grant', credits, created_at_ms FROM grants;
      INSERT INTO grant_moves (ledger_seq, grant_id, kind, credits, at_ms)
        SELECT NULL, NULL, 'charge', credits_allocated - credits_used, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
        FROM account WHERE id = 1 AND credits_allocated - credits_used < 0;
    `,
  },
  {
    id: 270,
    // Named keys with budgets (key-store.ts, period-budgets.ts). A key (team_keys) has one or more
    // secrets (access_keys, by keyed hash: several while a rotation's grace runs). A job belongs
    // to the key that opened it and to the end user it was opened for, whose period budgets its
    // hold and its charges count against (period_budgets). budget_policy is the team's alert
    // thresholds, recharge rule and end-user budget; recharge_requests the requests the object
    // made, kept so that each is applied once however late it is acted on. usage_keys_daily is
    // usage per day and key, as usage_daily is per job type. The access list is marked for a
    // reload from D1, which knows each secret's key.
    sql: `
      ALTER TABLE access_keys ADD COLUMN key_id TEXT;
      CREATE TABLE team_keys (
        key_id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        key_prefix TEXT NOT NULL,
        model_groups TEXT,
        expires_at_ms INTEGER,
        revoked_at_ms INTEGER,
        created_at TEXT NOT NULL,
        last_used_at_ms INTEGER
      );
      DELETE FROM access_state;
      ALTER TABLE jobs ADD COLUMN key_id TEXT;
      ALTER TABLE jobs ADD COLUMN end_user TEXT;
      CREATE INDEX jobs_key_holding ON jobs (key_id) WHERE hold_micro <> 0;
      CREATE INDEX jobs_end_user_holding ON jobs (end_user) WHERE hold_micro <> 0;
      CREATE TABLE period_budgets (
        subject_kind TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        budget_micro INTEGER NOT NULL,
        period TEXT NOT NULL,
        window_start_ms INTEGER NOT NULL,
        spent_micro INTEGER NOT NULL DEFAULT 0,
        alerted_percent INTEGER NOT NULL DEFAULT 0,
        exhausted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (subject_kind, subject_id)
      );
      CREATE INDEX period_budgets_window ON period_budgets (period, window_start_ms);
      CREATE TABLE budget_policy (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        alert_thresholds TEXT NOT NULL DEFAULT '[]',
        recharge_below INTEGER,
        recharge_target INTEGER,
        recharge_open TEXT,
        end_user_credits INTEGER,
        end_user_period TEXT
      );
      CREATE TABLE recharge_requests (
        idempotency_key TEXT PRIMARY KEY,
        amount INTEGER NOT NULL,
        requested_at_ms INTEGER NOT NULL,
        applied_at_ms INTEGER,
        applied_credits INTEGER,
        result TEXT
      );
      CREATE TABLE usage_keys_daily (
        day TEXT NOT NULL,
        key_id TEXT NOT NULL,
        jobs INTEGER NOT NULL DEFAULT 0,
        completed INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        cancelled INTEGER NOT NULL DEFAULT 0,
        expired INTEGER NOT NULL DEFAULT 0,
        calls INTEGER NOT NULL DEFAULT 0,
        credits_charged INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        total_tokens INTEGER NOT NULL DEFAULT 0,
        client_cost_nano INTEGER NOT NULL DEFAULT 0,
        provider_cost_nano INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, key_id)
      );
    `,
  },
  {
    id: 280,
    // Labels (calls/labels.ts): a call's tags (JSON list) and end user (its job's, migration 270),
    // also on its hold (so a call settled from its hold keeps them); the tags its job gathered
    // (rules/job-tags.ts); and usage per day (of the job's creation, UTC) and tag, and per day and
    // end user ('' for calls without one), bumped with each recorded call like usage_models_daily.
    sql: `
      ALTER TABLE calls ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE calls ADD COLUMN end_user TEXT;
      ALTER TABLE call_holds ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE call_holds ADD COLUMN end_user TEXT;
      ALTER TABLE jobs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
      CREATE TABLE usage_tags_daily (
        day TEXT NOT NULL,
        tag TEXT NOT NULL,
        calls INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        total_tokens INTEGER NOT NULL DEFAULT 0,
        client_cost_nano INTEGER NOT NULL DEFAULT 0,
        provider_cost_nano INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, tag)
      );
      CREATE TABLE usage_end_users_daily (
        day TEXT NOT NULL,
        end_user TEXT NOT NULL,
        calls INTEGER NOT NULL DEFAULT 0,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0,
        total_tokens INTEGER NOT NULL DEFAULT 0,
        client_cost_nano INTEGER NOT NULL DEFAULT 0,
        provider_cost_nano INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, end_user)
      );
    `,
  },
  {
    id: 290,
    // Response caches (cache-hits.ts): a group's cache setting as JSON (NULL: none). A call
    // answered from the cache is `cached`, with the client and provider cost it saved; its job
    // counts its hits and savings, and the tokens its hits are not billed for (charged in
    // consumption_tokens on total_tokens - unbilled_tokens).
    sql: `
      ALTER TABLE access_groups ADD COLUMN cache TEXT;
      ALTER TABLE calls ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE calls ADD COLUMN saved_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE calls ADD COLUMN saved_provider_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN cache_saved_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE jobs ADD COLUMN unbilled_tokens INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 291,
    // The usage aggregates count response cache hits and what they saved (client and provider cost).
    sql: `
      ALTER TABLE usage_daily ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_daily ADD COLUMN cache_saved_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_daily ADD COLUMN cache_saved_provider_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_models_daily ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_models_daily ADD COLUMN cache_saved_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_models_daily ADD COLUMN cache_saved_provider_nano INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 292,
    // The usage per key (migration 270) counts them too: a call's usage is bumped per key as per job type.
    sql: `
      ALTER TABLE usage_keys_daily ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_keys_daily ADD COLUMN cache_saved_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_keys_daily ADD COLUMN cache_saved_provider_nano INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 293,
    // And the usage per tag and per end user (migration 280).
    sql: `
      ALTER TABLE usage_tags_daily ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_tags_daily ADD COLUMN cache_saved_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_tags_daily ADD COLUMN cache_saved_provider_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_end_users_daily ADD COLUMN cache_hits INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_end_users_daily ADD COLUMN cache_saved_nano INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE usage_end_users_daily ADD COLUMN cache_saved_provider_nano INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    id: 300,
    // Alerts on the plan allowance (changes/allowance-alerts.ts): the highest threshold of the
    // team's alerts that fired for the allowance's current period, so each fires once per
    // period. Grants (260), keys (270), labels (280) and response caches (290-293) touch tables of their own: any order they were applied in works.
    sql: `
      CREATE TABLE allowance_alert (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        allowance_id TEXT NOT NULL,
        period_start_ms INTEGER NOT NULL,
        alerted_percent INTEGER NOT NULL
      );
    `,
  },
  {
    id: 310,
    // Speculative admission (calls/speculation.ts): whether the team's calls may go upstream while
    // their admission is on its way (1, the default), and how many such calls were aborted because
    // the admission refused them or admitted them otherwise.
    sql: `
      ALTER TABLE account ADD COLUMN speculative_admission INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE account ADD COLUMN speculative_aborts INTEGER NOT NULL DEFAULT 0;
    `,
  },
];
