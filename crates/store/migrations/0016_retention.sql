-- How long a project keeps spans and metrics, per kind, when it has said:
-- `days` NULL keeps everything; no row means the kind's default. (Events
-- keep their setting in analytics_settings.)
CREATE TABLE telemetry_retention (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    days BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, kind)
);
