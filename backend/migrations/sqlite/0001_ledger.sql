-- The ledger store (issue 3). Money is BIGINT fen; every timestamp is BIGINT microseconds since
-- the Unix epoch, UTC. The same schema exists for PostgreSQL in ../postgres/.

CREATE TABLE idempotency_keys (
    key        TEXT    PRIMARY KEY,
    operation  TEXT    NOT NULL,
    request    TEXT    NOT NULL,
    response   TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

CREATE TABLE billing_accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    cash_fen    BIGINT  NOT NULL DEFAULT 0 CHECK (cash_fen >= 0),
    arrears_fen BIGINT  NOT NULL DEFAULT 0 CHECK (arrears_fen >= 0),
    created_at  BIGINT  NOT NULL,
    CHECK (cash_fen = 0 OR arrears_fen = 0)
);

CREATE TABLE ledger_transactions (
    id         INTEGER PRIMARY KEY,
    account_id BIGINT  NOT NULL REFERENCES billing_accounts (id),
    kind       TEXT    NOT NULL,
    memo       TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL
);
CREATE INDEX ledger_transactions_account ON ledger_transactions (account_id, id);

CREATE TABLE instruments (
    id                INTEGER PRIMARY KEY,
    account_id        BIGINT  NOT NULL REFERENCES billing_accounts (id),
    kind              TEXT    NOT NULL CHECK (kind IN ('regular_voucher', 'discount_voucher', 'prepaid_card')),
    origin            TEXT    NOT NULL CHECK (origin IN ('issued', 'activation_code', 'card_gift', 'purchased', 'assigned')),
    face_value_fen    BIGINT  NOT NULL CHECK (face_value_fen > 0),
    balance_fen       BIGINT  NOT NULL CHECK (balance_fen >= 0 AND balance_fen <= face_value_fen),
    valid_from        BIGINT  NOT NULL,
    valid_until       BIGINT  NOT NULL,
    activated_at      BIGINT  NOT NULL,
    expired_at        BIGINT,
    transaction_id    BIGINT  NOT NULL REFERENCES ledger_transactions (id),
    CHECK (valid_until > valid_from)
);
CREATE INDEX instruments_account ON instruments (account_id, kind);
CREATE INDEX instruments_to_expire ON instruments (valid_until) WHERE expired_at IS NULL;

CREATE TABLE activation_code_batches (
    id             INTEGER PRIMARY KEY,
    face_value_fen BIGINT  NOT NULL CHECK (face_value_fen > 0),
    validity       TEXT    NOT NULL,
    redeem_by      BIGINT  NOT NULL,
    code_count     BIGINT  NOT NULL CHECK (code_count > 0),
    created_at     BIGINT  NOT NULL
);

CREATE TABLE activation_codes (
    id            INTEGER PRIMARY KEY,
    batch_id      BIGINT  NOT NULL REFERENCES activation_code_batches (id),
    code          TEXT    NOT NULL UNIQUE,
    redeemed_by   BIGINT  REFERENCES billing_accounts (id),
    redeemed_at   BIGINT,
    instrument_id BIGINT  REFERENCES instruments (id)
);

-- A payment or bank receipt credits cash once, whatever idempotency key it arrives under.
CREATE TABLE cash_receipts (
    source         TEXT    NOT NULL CHECK (source IN ('online_payment', 'bank_transfer')),
    reference      TEXT    NOT NULL,
    transaction_id BIGINT  NOT NULL REFERENCES ledger_transactions (id),
    PRIMARY KEY (source, reference)
);

CREATE TABLE bills (
    id             INTEGER PRIMARY KEY,
    account_id     BIGINT  NOT NULL REFERENCES billing_accounts (id),
    workspace_id   TEXT    NOT NULL,
    bill_date      TEXT    NOT NULL,
    settlement     TEXT    NOT NULL CHECK (settlement IN ('account', 'cloud')),
    charged_at     BIGINT  NOT NULL,
    total_fen      BIGINT  NOT NULL CHECK (total_fen >= 0),
    transaction_id BIGINT  NOT NULL REFERENCES ledger_transactions (id),
    idempotency_key TEXT    NOT NULL,
    UNIQUE (workspace_id, bill_date)
);
CREATE INDEX bills_account ON bills (account_id, bill_date);

CREATE TABLE bill_lines (
    id         INTEGER PRIMARY KEY,
    bill_id    BIGINT  NOT NULL REFERENCES bills (id),
    line_no    BIGINT  NOT NULL,
    item       TEXT    NOT NULL,
    amount_fen BIGINT  NOT NULL CHECK (amount_fen >= 0),
    UNIQUE (bill_id, line_no)
);

CREATE TABLE postings (
    id             INTEGER PRIMARY KEY,
    transaction_id BIGINT  NOT NULL REFERENCES ledger_transactions (id),
    account_id     BIGINT  NOT NULL REFERENCES billing_accounts (id),
    ledger_account TEXT    NOT NULL CHECK (ledger_account IN ('customer_cash', 'arrears_receivable', 'instrument',
                        'revenue', 'payment_clearing', 'breakage', 'cloud_receivable', 'promotion', 'partner_clearing')),
    instrument_id  BIGINT  REFERENCES instruments (id),
    bill_line_id   BIGINT  REFERENCES bill_lines (id),
    amount_fen     BIGINT  NOT NULL CHECK (amount_fen <> 0),
    CHECK ((ledger_account = 'instrument') = (instrument_id IS NOT NULL))
);
CREATE INDEX postings_transaction ON postings (transaction_id);
CREATE INDEX postings_account ON postings (account_id, ledger_account);
CREATE INDEX postings_instrument ON postings (instrument_id) WHERE instrument_id IS NOT NULL;

-- The ledger is append-only: corrections are reversals, never edits.
CREATE TRIGGER postings_append_only_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'postings are append-only'); END;
CREATE TRIGGER postings_append_only_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'postings are append-only'); END;
CREATE TRIGGER ledger_transactions_append_only_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_append_only_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
