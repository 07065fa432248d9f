-- Change binding (issue 18, seed 003): a workspace moved from one account to another of the same
-- verified enterprise. Both accounts see the move in their history; bills already made stay with
-- the account they were charged to.
CREATE TABLE workspace_moves (
    id              INTEGER PRIMARY KEY,
    workspace_id    TEXT   NOT NULL,
    from_account_id BIGINT NOT NULL REFERENCES billing_accounts (id),
    to_account_id   BIGINT NOT NULL REFERENCES billing_accounts (id),
    -- The console user whose owner token asked for it.
    console_user    TEXT   NOT NULL,
    moved_at        BIGINT NOT NULL
);
CREATE INDEX workspace_moves_from ON workspace_moves (from_account_id, moved_at);
CREATE INDEX workspace_moves_to ON workspace_moves (to_account_id, moved_at);
