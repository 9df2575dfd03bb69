-- Features: a name for one or more events, for adoption and usage reports.
CREATE TABLE analytics_features (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- Event names, one per line.
    events TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Per-project analytics settings: how long events are kept.
CREATE TABLE analytics_settings (
    project_id TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    retention_days BIGINT,
    updated_at BIGINT NOT NULL
);
