-- The console's side (issue 15). A workspace bound with an owner token the console signed
-- (console_bound = 1) may report usage with the console's service token. An unbound workspace
-- keeps its row, because its usage history refers to it: unbound_at is set and its key no longer
-- matches anything; binding it again (by any account) takes the row over.
ALTER TABLE workspaces ADD COLUMN console_bound BIGINT NOT NULL DEFAULT 0;
ALTER TABLE workspaces ADD COLUMN unbound_at BIGINT;
