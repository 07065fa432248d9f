-- Consumption details page through an account's bills in (day, workspace) order and count their
-- lines from the bills alone, so a page reads its own rows and the total reads one index.
ALTER TABLE bills ADD COLUMN line_count BIGINT NOT NULL DEFAULT 0;
UPDATE bills SET line_count = (SELECT COUNT(*) FROM bill_lines l WHERE l.bill_id = bills.id);
CREATE INDEX bills_account_day_workspace ON bills (account_id, bill_date, workspace_id, line_count);
DROP INDEX bills_account;
