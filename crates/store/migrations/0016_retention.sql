-- How long a project keeps each kind of telemetry (events, spans, metrics),
-- when it has said: `days` NULL keeps everything; no row means the kind's
-- default. Event retention moves here from analytics_settings, which is no
-- longer read.
CREATE TABLE telemetry_retention (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    days BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, kind)
);
INSERT INTO telemetry_retention (project_id, kind, days, updated_at)
    SELECT project_id, 'events', retention_days, updated_at FROM analytics_settings;
