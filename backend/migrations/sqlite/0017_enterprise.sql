-- Enterprise (real-name) verification (issue 18, PRODUCT.md §1): the account's current
-- submission and where its review stands; every decision is also in the audit log.
CREATE TABLE enterprise_verifications (
    account_id       BIGINT PRIMARY KEY REFERENCES billing_accounts (id),
    state            TEXT   NOT NULL CHECK (state IN ('pending_review', 'verified', 'rejected')),
    enterprise_name  TEXT   NOT NULL,
    -- Checked (GB 32100-2015) and upper-case; change binding compares it between accounts.
    credit_code      TEXT   NOT NULL,
    contact_name     TEXT   NOT NULL,
    contact_phone    TEXT   NOT NULL,
    rejection_reason TEXT,
    submitted_at     BIGINT NOT NULL,
    reviewed_at      BIGINT,
    reviewed_by      BIGINT REFERENCES operators (id)
);
CREATE INDEX enterprise_verifications_state ON enterprise_verifications (state, submitted_at);
CREATE INDEX enterprise_verifications_code ON enterprise_verifications (credit_code);
