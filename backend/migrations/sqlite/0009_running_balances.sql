-- What each ledger transaction did to the customer's four balances and the balances right after
-- it, written with its postings by ledger::post_many under the account's lock, so the income and
-- expenditure statement and the latest movements read their own rows, not the whole history.
-- Append-only, like the ledger it summarises; `billing-center ledger check` proves it against the
-- postings.
CREATE TABLE transaction_balances (
    transaction_id     INTEGER PRIMARY KEY REFERENCES ledger_transactions (id),
    account_id         BIGINT NOT NULL REFERENCES billing_accounts (id),
    cash_change_fen    BIGINT NOT NULL,
    arrears_change_fen BIGINT NOT NULL,
    vouchers_change_fen BIGINT NOT NULL,
    cards_change_fen   BIGINT NOT NULL,
    cash_after_fen     BIGINT NOT NULL,
    arrears_after_fen  BIGINT NOT NULL,
    vouchers_after_fen BIGINT NOT NULL,
    cards_after_fen    BIGINT NOT NULL
);
CREATE INDEX transaction_balances_account ON transaction_balances (account_id, transaction_id);

-- The history written before: changes from the postings (the mapping of ledger accounts to
-- customer balances is ledger::CustomerBalance), balances after as running sums in id order.
INSERT INTO transaction_balances (transaction_id, account_id, cash_change_fen, arrears_change_fen,
    vouchers_change_fen, cards_change_fen, cash_after_fen, arrears_after_fen, vouchers_after_fen,
    cards_after_fen)
SELECT id, account_id, cash, arrears, vouchers, cards,
    CAST(SUM(cash) OVER (PARTITION BY account_id ORDER BY id) AS BIGINT),
    CAST(SUM(arrears) OVER (PARTITION BY account_id ORDER BY id) AS BIGINT),
    CAST(SUM(vouchers) OVER (PARTITION BY account_id ORDER BY id) AS BIGINT),
    CAST(SUM(cards) OVER (PARTITION BY account_id ORDER BY id) AS BIGINT)
FROM (
    SELECT t.id, t.account_id,
        CAST(COALESCE(SUM(CASE WHEN p.ledger_account = 'customer_cash' THEN p.amount_fen END), 0) AS BIGINT) AS cash,
        CAST(COALESCE(SUM(CASE WHEN p.ledger_account = 'arrears_receivable' THEN -p.amount_fen END), 0) AS BIGINT) AS arrears,
        CAST(COALESCE(SUM(CASE WHEN p.ledger_account = 'instrument' AND i.kind <> 'prepaid_card' THEN p.amount_fen END), 0) AS BIGINT) AS vouchers,
        CAST(COALESCE(SUM(CASE WHEN p.ledger_account = 'instrument' AND i.kind = 'prepaid_card' THEN p.amount_fen END), 0) AS BIGINT) AS cards
    FROM ledger_transactions t
    LEFT JOIN postings p ON p.transaction_id = t.id
    LEFT JOIN instruments i ON i.id = p.instrument_id
    GROUP BY t.id, t.account_id
) per_transaction;

-- A statement's period is a range of time within one account, read newest first.
CREATE INDEX ledger_transactions_account_time ON ledger_transactions (account_id, created_at, id);

CREATE TRIGGER transaction_balances_append_only_update BEFORE UPDATE ON transaction_balances
BEGIN SELECT RAISE(ABORT, 'transaction balances are append-only'); END;
CREATE TRIGGER transaction_balances_append_only_delete BEFORE DELETE ON transaction_balances
BEGIN SELECT RAISE(ABORT, 'transaction balances are append-only'); END;
