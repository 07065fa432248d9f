-- Issue 12: operator tokens expire and can be listed and revoked by id; operators can be disabled;
-- the rate limiter's table gets an index for its clean-up. Same schema for the other database in
-- ../sqlite/.

-- A disabled operator cannot sign in and none of its tokens or sessions work (NULL: enabled).
ALTER TABLE operators ADD COLUMN disabled_at BIGINT;

-- Every token expires (default 90 days after it is issued, at most 365). Tokens issued before this
-- migration expire 90 days after they were issued: no token lives for ever.
ALTER TABLE operator_tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE operator_tokens SET expires_at = created_at + 7776000000000;
-- When the token was last presented (written at most once a minute).
ALTER TABLE operator_tokens ADD COLUMN last_used_at BIGINT;
CREATE INDEX operator_tokens_operator ON operator_tokens (operator_id, id);

-- Each attempt deletes the rows older than the longest window.
CREATE INDEX sign_in_failures_at ON sign_in_failures (at);
