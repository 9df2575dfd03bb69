-- Security boundaries (SQLite). Tokens may be instance tokens (no project);
-- SQLite cannot drop NOT NULL, so the table is rebuilt with the same rows.
CREATE TABLE api_tokens_next (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
INSERT INTO api_tokens_next SELECT id, user_id, project_id, name, token_hash, hint, scopes,
    created_at, expires_at, last_used_at, revoked_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_next RENAME TO api_tokens;
CREATE INDEX api_tokens_project ON api_tokens (project_id);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
