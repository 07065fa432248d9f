-- Money safety (issue 12). Same schema for the other database in ../postgres/.

-- An operator may void a usage record that cannot be billed (audited, with a reason); a voided
-- record keeps its id (a resent record stays a duplicate) and is left out of settlement.
ALTER TABLE usage_records ADD COLUMN voided_at BIGINT;
ALTER TABLE usage_records ADD COLUMN voided_by BIGINT REFERENCES operators (id);
ALTER TABLE usage_records ADD COLUMN void_reason TEXT;

-- A month whose monthly bills are built: every day of it is settled (days without usage get a
-- 'done' settlement run with no bills), so no usage can arrive for it any more.
CREATE TABLE month_closings (
    month          TEXT    PRIMARY KEY,
    closed_at      BIGINT  NOT NULL,
    monthly_bills  BIGINT  NOT NULL
);

-- An online top-up still unpaid a day after it was opened is closed (a payment that arrives later
-- is still credited: the money is real).
ALTER TABLE top_ups ADD COLUMN closed_at BIGINT;
-- When reconciliation last asked the gateway about a pending top-up.
ALTER TABLE top_ups ADD COLUMN checked_at BIGINT;

-- What the gateway says that contradicts our books (a trade closed or refunded after we credited
-- it): raised once per top-up and kind, for an operator to resolve. Never ignored.
CREATE TABLE payment_flags (
    id             INTEGER PRIMARY KEY,
    top_up_id      BIGINT  NOT NULL REFERENCES top_ups (id),
    kind           TEXT    NOT NULL CHECK (kind IN ('closed_after_credit', 'refunded_after_credit', 'amount_mismatch')),
    detail         TEXT    NOT NULL,
    raised_at      BIGINT  NOT NULL,
    resolved_at    BIGINT,
    resolved_by    BIGINT  REFERENCES operators (id),
    resolution     TEXT,
    UNIQUE (top_up_id, kind)
);

-- The payment sandbox's own record of the trades it was paid (as Alipay keeps its trades), so it
-- can answer alipay.trade.query when its notification never arrived.
CREATE TABLE sandbox_trades (
    out_trade_no   TEXT    PRIMARY KEY,
    trade_no       TEXT    NOT NULL,
    total_amount   TEXT    NOT NULL,
    trade_status   TEXT    NOT NULL,
    paid_at        BIGINT  NOT NULL
);
