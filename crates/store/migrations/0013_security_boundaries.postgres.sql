-- Security boundaries (PostgreSQL). Tokens may be instance tokens (no project).
ALTER TABLE api_tokens ALTER COLUMN project_id DROP NOT NULL;
CREATE INDEX api_tokens_user ON api_tokens (user_id);
