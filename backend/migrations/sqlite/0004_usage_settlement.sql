-- Workspaces, their usage, prices, the nightly settlement and monthly bills (issue 6).
-- Same schema for the other database in ../postgres/.

-- A workspace of the SaaS console bound to one billing account. Its API key is shown once; only
-- its SHA-256 is kept (the key is 256 random bits, so a fast hash is enough).
CREATE TABLE workspaces (
    workspace_id   TEXT    PRIMARY KEY,
    account_id     BIGINT  NOT NULL REFERENCES billing_accounts (id),
    name           TEXT    NOT NULL,
    settlement     TEXT    NOT NULL DEFAULT 'account' CHECK (settlement IN ('account', 'cloud')),
    key_hash       TEXT    NOT NULL UNIQUE,
    -- The first characters of the key, so a customer can tell keys apart.
    key_prefix     TEXT    NOT NULL,
    bound_at       BIGINT  NOT NULL,
    key_rotated_at BIGINT  NOT NULL
);
CREATE INDEX workspaces_account ON workspaces (account_id, workspace_id);

-- Usage as reported; a record id counts once per workspace. Quantities are exact decimal strings.
CREATE TABLE usage_records (
    id             INTEGER PRIMARY KEY,
    workspace_id   TEXT    NOT NULL REFERENCES workspaces (workspace_id),
    record_id      TEXT    NOT NULL,
    usage_day      TEXT    NOT NULL,
    item           TEXT    NOT NULL,
    retention_days BIGINT,
    quantity       TEXT    NOT NULL,
    received_at    BIGINT  NOT NULL,
    UNIQUE (workspace_id, record_id)
);
CREATE INDEX usage_records_day ON usage_records (usage_day, workspace_id);

-- Price list versions loaded by operators, on top of the catalog shipped with the server.
CREATE TABLE price_versions (
    version        TEXT    PRIMARY KEY,
    effective_from TEXT    NOT NULL UNIQUE,
    price_list     TEXT    NOT NULL,
    loaded_at      BIGINT  NOT NULL
);

-- One row per settled (or being settled) day. A process settles a day only while it holds the
-- lease; a crashed run's lease runs out and another process resumes where it stopped.
CREATE TABLE settlement_runs (
    usage_day      TEXT    PRIMARY KEY,
    status         TEXT    NOT NULL CHECK (status IN ('running', 'done')),
    lease_owner    TEXT,
    lease_until    BIGINT,
    started_at     BIGINT  NOT NULL,
    finished_at    BIGINT,
    bills          BIGINT  NOT NULL DEFAULT 0,
    failures       TEXT    NOT NULL DEFAULT ''
);

-- What a settled line priced: the day's quantity, billable units, unit price and price version.
-- Empty for lines of bills charged directly (POST /api/v1/plan-style charges before issue 6).
ALTER TABLE bill_lines ADD COLUMN retention_days BIGINT;
ALTER TABLE bill_lines ADD COLUMN quantity TEXT;
ALTER TABLE bill_lines ADD COLUMN units TEXT;
ALTER TABLE bill_lines ADD COLUMN unit_price TEXT;
ALTER TABLE bill_lines ADD COLUMN price_version TEXT;

-- A workspace's month, assembled from its daily bills once the month has ended.
CREATE TABLE monthly_bills (
    id             INTEGER PRIMARY KEY,
    account_id     BIGINT  NOT NULL REFERENCES billing_accounts (id),
    workspace_id   TEXT    NOT NULL,
    month          TEXT    NOT NULL,
    daily_bills    BIGINT  NOT NULL,
    total_fen      BIGINT  NOT NULL CHECK (total_fen >= 0),
    voucher_fen    BIGINT  NOT NULL,
    card_fen       BIGINT  NOT NULL,
    cash_fen       BIGINT  NOT NULL,
    arrears_fen    BIGINT  NOT NULL,
    cloud_fen      BIGINT  NOT NULL,
    built_at       BIGINT  NOT NULL,
    UNIQUE (account_id, workspace_id, month)
);
CREATE INDEX monthly_bills_account ON monthly_bills (account_id, month);
