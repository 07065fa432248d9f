-- Top-ups a customer starts (issue 5): an online payment through Alipay (or its local sandbox), or
-- a bank transfer quoting a reference code. A top-up is credited to cash once, by the payment
-- notification or by the operator recording the transfer; the ledger transaction is linked here.
-- Same schema for the other database in ../postgres/.

CREATE TABLE top_ups (
    id                 INTEGER PRIMARY KEY,
    account_id         BIGINT  NOT NULL REFERENCES billing_accounts (id),
    method             TEXT    NOT NULL CHECK (method IN ('alipay', 'bank_transfer')),
    amount_fen         BIGINT  NOT NULL CHECK (amount_fen > 0),
    -- Alipay's out_trade_no, or the code the customer writes on the bank transfer.
    reference          TEXT    NOT NULL UNIQUE,
    status             TEXT    NOT NULL CHECK (status IN ('pending', 'paid')),
    created_at         BIGINT  NOT NULL,
    paid_at            BIGINT,
    provider_trade_no  TEXT,
    transaction_id     BIGINT  REFERENCES ledger_transactions (id)
);
CREATE INDEX top_ups_account ON top_ups (account_id, id);

-- Keys a payment gateway generates for itself (the sandbox's merchant and "Alipay" keys), kept
-- here so that every server process and every restart signs and verifies with the same ones.
CREATE TABLE gateway_keys (
    name            TEXT    PRIMARY KEY,
    private_key_pem TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
