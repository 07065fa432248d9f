-- A day is settled in shards, each under its own lease, so several processes share one day: shard
-- k of n holds the workspaces of the accounts whose id is k modulo n (an account's bills stay in
-- one process, which holds its lock); shard n, the sweep, runs once the others are done and bills
-- whatever they missed (a workspace bound to another account meanwhile). The day's row in
-- settlement_runs says how many shards it has, chosen when its settlement starts, and becomes
-- 'done' when every shard is. Its own lease columns are no longer used.
ALTER TABLE settlement_runs ADD COLUMN shards BIGINT NOT NULL DEFAULT 1;

CREATE TABLE settlement_shards (
    usage_day   TEXT   NOT NULL REFERENCES settlement_runs (usage_day),
    shard       BIGINT NOT NULL CHECK (shard >= 0),
    status      TEXT   NOT NULL CHECK (status IN ('running', 'done')),
    lease_owner TEXT,
    lease_until BIGINT,
    finished_at BIGINT,
    bills       BIGINT NOT NULL DEFAULT 0,
    -- What the last run of the shard could not bill (JSON), until a run bills it.
    failures    TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (usage_day, shard)
);
