-- Customers (the login of a billing account), operators, sessions, sign-in failures, operator API
-- tokens and the operator audit log (issue 4). Same schema for PostgreSQL in ../postgres/.

CREATE TABLE customers (
    id                  INTEGER PRIMARY KEY,
    billing_account_id  BIGINT  NOT NULL UNIQUE REFERENCES billing_accounts (id),
    username            TEXT    NOT NULL UNIQUE,
    email               TEXT    NOT NULL UNIQUE,
    phone               TEXT,
    contact_name        TEXT,
    company             TEXT,
    password_hash       TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL
);

CREATE TABLE operators (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

-- Only a SHA-256 of the session id is stored: a copy of this table opens no session.
CREATE TABLE sessions (
    id_sha256      TEXT    PRIMARY KEY,
    principal_kind TEXT    NOT NULL CHECK (principal_kind IN ('customer', 'operator')),
    principal_id   BIGINT  NOT NULL,
    csrf_token     TEXT    NOT NULL,
    created_at     BIGINT  NOT NULL,
    last_seen_at   BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX sessions_principal ON sessions (principal_kind, principal_id);

CREATE TABLE sign_in_failures (
    id      INTEGER PRIMARY KEY,
    scope   TEXT   NOT NULL,
    subject TEXT   NOT NULL,
    at      BIGINT NOT NULL
);
CREATE INDEX sign_in_failures_lookup ON sign_in_failures (scope, subject, at);

CREATE TABLE operator_tokens (
    id           INTEGER PRIMARY KEY,
    operator_id  BIGINT  NOT NULL REFERENCES operators (id),
    token_sha256 TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    operator_id BIGINT  NOT NULL REFERENCES operators (id),
    action      TEXT    NOT NULL,
    account_id  BIGINT  REFERENCES billing_accounts (id),
    detail      TEXT    NOT NULL,
    client      TEXT    NOT NULL,
    at          BIGINT  NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account_id, at);

CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
