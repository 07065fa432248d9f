-- The marketplace sandbox (issue 17; MARKETPLACE_SANDBOX=on only): the metering records it
-- received, as Alibaba's PushMeteringData carried them. A nonce is received once.
CREATE TABLE sandbox_metering (
    id           INTEGER PRIMARY KEY,
    instance_id  TEXT    NOT NULL,
    start_time   BIGINT  NOT NULL,
    end_time     BIGINT  NOT NULL,
    metering_key TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    nonce        TEXT    NOT NULL,
    received_at  BIGINT  NOT NULL,
    UNIQUE (nonce, instance_id, start_time)
);
