-- A marketplace call's nonce is taken once (Huawei KooGallery signs a nonce and a timestamp
-- into every call; an Amazon SNS message has its MessageId): a captured call replayed within
-- its window (60 seconds, one hour) is refused. Rows older than two hours are deleted as new
-- ones arrive.
CREATE TABLE marketplace_nonces (
    cloud   TEXT   NOT NULL,
    nonce   TEXT   NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (cloud, nonce)
);
CREATE INDEX marketplace_nonces_seen ON marketplace_nonces (seen_at);

-- The marketplace sandbox's orders (MARKETPLACE_SANDBOX=on only): what its Query Order answers
-- for a KooGallery subscription it created.
CREATE TABLE sandbox_orders (
    id            INTEGER PRIMARY KEY,
    cloud         TEXT   NOT NULL,
    order_id      TEXT   NOT NULL,
    order_line_id TEXT   NOT NULL,
    customer_id   TEXT   NOT NULL,
    product_id    TEXT   NOT NULL,
    expire_time   TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    UNIQUE (cloud, order_id, order_line_id)
);

-- AWS Marketplace: the SNS Timestamp of the last subscription event applied (messages arrive
-- out of order; an older one changes nothing), and each metering record's Timestamp, assigned
-- once and one second apart per subscription (AWS counts one record per customer, dimension
-- and second).
ALTER TABLE cloud_subscriptions ADD COLUMN last_event_at BIGINT;
ALTER TABLE cloud_metering ADD COLUMN meter_timestamp BIGINT;
CREATE UNIQUE INDEX cloud_metering_meter_timestamp ON cloud_metering (subscription_id, meter_timestamp);
