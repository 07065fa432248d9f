-- The support center and the attachment store (issue 18). Attachments live in the database, so
-- every server process sees them and a backup holds them; they are served only to the account they
-- belong to and to operators.
CREATE TABLE attachments (
    id                   INTEGER PRIMARY KEY,
    -- The customer's account it belongs to: the uploader's, or the ticket's once attached to a
    -- ticket. NULL only for an operator's upload not attached yet.
    account_id           BIGINT REFERENCES billing_accounts (id),
    uploaded_by_operator BIGINT REFERENCES operators (id),
    -- Set when a message (or an enterprise submission) takes it; an attachment is used once.
    ticket_id            BIGINT,
    message_id           BIGINT,
    used_for             TEXT CHECK (used_for IN ('ticket', 'licence')),
    -- Found from the content, never from the name.
    kind                 TEXT   NOT NULL CHECK (kind IN ('png', 'jpg', 'pdf', 'xlsx', 'zip', 'txt')),
    file_name            TEXT   NOT NULL,
    size_bytes           BIGINT NOT NULL,
    sha256               TEXT   NOT NULL,
    content              BLOB   NOT NULL,
    uploaded_at          BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id);
CREATE INDEX attachments_unused ON attachments (uploaded_at) WHERE used_for IS NULL;

CREATE TABLE tickets (
    id          INTEGER PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES billing_accounts (id),
    ticket_type TEXT   NOT NULL CHECK (ticket_type IN ('billing', 'payment', 'invoice', 'account', 'cancel_account', 'other')),
    title       TEXT   NOT NULL,
    state       TEXT   NOT NULL CHECK (state IN ('open', 'in_progress', 'replied', 'closed', 'withdrawn')),
    assigned_to BIGINT REFERENCES operators (id),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    -- The last operator reply: a replied ticket closes itself 7 days after it.
    replied_at  BIGINT,
    closed_at   BIGINT,
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    rated_at    BIGINT
);
CREATE INDEX tickets_account ON tickets (account_id, created_at);
CREATE INDEX tickets_state ON tickets (state, updated_at);

CREATE TABLE ticket_messages (
    id          INTEGER PRIMARY KEY,
    ticket_id   BIGINT NOT NULL REFERENCES tickets (id),
    author      TEXT   NOT NULL CHECK (author IN ('customer', 'operator')),
    operator_id BIGINT REFERENCES operators (id),
    body        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX ticket_messages_ticket ON ticket_messages (ticket_id, id);

-- The business licence an enterprise submission carries, and a submission the customer withdrew
-- (SQLite changes a CHECK only by making the table again).
CREATE TABLE enterprise_verifications_new (
    account_id            BIGINT PRIMARY KEY REFERENCES billing_accounts (id),
    state                 TEXT   NOT NULL CHECK (state IN ('pending_review', 'verified', 'rejected', 'withdrawn')),
    enterprise_name       TEXT   NOT NULL,
    credit_code           TEXT   NOT NULL,
    contact_name          TEXT   NOT NULL,
    contact_phone         TEXT   NOT NULL,
    rejection_reason      TEXT,
    submitted_at          BIGINT NOT NULL,
    reviewed_at           BIGINT,
    reviewed_by           BIGINT REFERENCES operators (id),
    licence_attachment_id BIGINT REFERENCES attachments (id)
);
INSERT INTO enterprise_verifications_new (account_id, state, enterprise_name, credit_code, contact_name,
    contact_phone, rejection_reason, submitted_at, reviewed_at, reviewed_by)
SELECT account_id, state, enterprise_name, credit_code, contact_name, contact_phone, rejection_reason,
    submitted_at, reviewed_at, reviewed_by FROM enterprise_verifications;
DROP TABLE enterprise_verifications;
ALTER TABLE enterprise_verifications_new RENAME TO enterprise_verifications;
CREATE INDEX enterprise_verifications_state ON enterprise_verifications (state, submitted_at);
CREATE INDEX enterprise_verifications_code ON enterprise_verifications (credit_code);
