-- Saved insights: a question asked of the analytics under a name, kept
-- per project. `kind` says which (trends, funnel, retention, stickiness,
-- lifecycle, active, web, revenue); `query` is its request as the API takes
-- it, as JSON.
CREATE TABLE saved_insights (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    query TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
