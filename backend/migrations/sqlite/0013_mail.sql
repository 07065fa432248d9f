-- Mail (issue 16): the transactional outbox, the one-time links of account recovery and address
-- confirmation, and what each account wants to be told.

-- A message is written here in the transaction of the event that causes it, already rendered
-- (subject, plain text, HTML, in the account's language). The sender takes due messages
-- (next_attempt_at passed, neither sent nor failed), moves next_attempt_at past its lease before
-- it talks to the mail server, and marks the outcome. dedupe_key makes an alert that could be
-- raised twice (a reminder, an expiring voucher, a flagged payment) a single message.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    account_id      BIGINT  REFERENCES billing_accounts (id),
    kind            TEXT    NOT NULL,
    dedupe_key      TEXT    UNIQUE,
    recipient       TEXT    NOT NULL,
    language        TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT,
    sent_at         BIGINT,
    failed_at       BIGINT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_account ON outbox (account_id, created_at);

-- Only a SHA-256 of a link's token is stored: a copy of this table resets no password.
CREATE TABLE email_tokens (
    token_sha256 TEXT    PRIMARY KEY,
    purpose      TEXT    NOT NULL CHECK (purpose IN ('password_reset', 'confirm_email')),
    customer_id  BIGINT  NOT NULL REFERENCES customers (id),
    email        TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    used_at      BIGINT
);
CREATE INDEX email_tokens_customer ON email_tokens (customer_id, purpose, created_at);

-- Flags are 0/1. A missing row means the defaults: every alert on, threshold 100.00.
CREATE TABLE notification_settings (
    account_id                BIGINT PRIMARY KEY REFERENCES billing_accounts (id),
    low_balance_threshold_fen BIGINT NOT NULL CHECK (low_balance_threshold_fen >= 0),
    low_balance               BIGINT NOT NULL DEFAULT 1,
    arrears                   BIGINT NOT NULL DEFAULT 1,
    top_up_credited           BIGINT NOT NULL DEFAULT 1,
    expiring                  BIGINT NOT NULL DEFAULT 1,
    daily_cost                BIGINT NOT NULL DEFAULT 1,
    updated_at                BIGINT NOT NULL
);

-- An address nobody has proven receives nothing but its confirmation link. Addresses given
-- before this migration were never proven either.
ALTER TABLE customers ADD COLUMN email_confirmed_at BIGINT;
-- The language mail is written in (a BCP 47 tag the pages use: 'zh-CN' or 'en').
ALTER TABLE customers ADD COLUMN language TEXT NOT NULL DEFAULT 'zh-CN';
-- The high-consumption alert: a day's bill of the workspace above this many fen.
ALTER TABLE workspaces ADD COLUMN daily_cost_alert_fen BIGINT;
