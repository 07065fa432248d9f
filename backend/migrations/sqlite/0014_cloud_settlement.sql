-- Cloud marketplace settlement (issue 17). A subscription arrives from a marketplace (Alibaba's
-- createInstance, …) under the buyer's cloud account id; instance_id is ours, unguessable: the
-- proof a buyer types in to settle a workspace through it. The first Billing Center account that
-- names it (with the matching cloud account id) owns it.
CREATE TABLE cloud_subscriptions (
    id               INTEGER PRIMARY KEY,
    cloud            TEXT    NOT NULL CHECK (cloud IN ('aliyun', 'aws', 'huawei')),
    cloud_account_id TEXT    NOT NULL,
    instance_id      TEXT    NOT NULL,
    -- The marketplace's own reference of the order (Alibaba orderBizId): a repeated
    -- createInstance answers the same instance.
    order_ref        TEXT    NOT NULL,
    product_code     TEXT    NOT NULL,
    sku_id           TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('active', 'expired', 'released')),
    valid_until      BIGINT,
    account_id       BIGINT  REFERENCES billing_accounts (id),
    created_at       BIGINT  NOT NULL,
    ended_at         BIGINT,
    UNIQUE (cloud, instance_id),
    UNIQUE (cloud, order_ref)
);
CREATE INDEX cloud_subscriptions_account ON cloud_subscriptions (account_id);

-- The subscription a cloud-settled workspace is charged to, and when its method last changed
-- (once per calendar month).
ALTER TABLE workspaces ADD COLUMN cloud_subscription_id BIGINT REFERENCES cloud_subscriptions (id);
ALTER TABLE workspaces ADD COLUMN settlement_changed_at BIGINT;

-- What a cloud-settled bill charged to the cloud, waiting to be pushed to the marketplace
-- (written in the bill's transaction; one per bill).
CREATE TABLE cloud_metering (
    id              INTEGER PRIMARY KEY,
    subscription_id BIGINT  NOT NULL REFERENCES cloud_subscriptions (id),
    bill_id         BIGINT  NOT NULL UNIQUE REFERENCES bills (id),
    usage_day       TEXT    NOT NULL,
    amount_fen      BIGINT  NOT NULL CHECK (amount_fen > 0),
    created_at      BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT,
    pushed_at       BIGINT
);
CREATE INDEX cloud_metering_due ON cloud_metering (next_attempt_at, id) WHERE pushed_at IS NULL;
