-- Dashboards: saved insights arranged in a grid, with a date range and
-- filters that apply to every tile. The range is the last `days` days, or
-- from `from_date` to `to_date` (YYYY-MM-DD, the end exclusive); with
-- neither, each insight keeps its own. `in_cohort` and `filter` (property
-- filters joined by `;`) are empty when unset. A tile spans `width` of the
-- grid's three columns. insight_goals holds the goal set on an insight's
-- headline number: `op` is `>=` or `<=`.
CREATE TABLE dashboards (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    days BIGINT,
    from_date TEXT NOT NULL,
    to_date TEXT NOT NULL,
    in_cohort TEXT NOT NULL,
    filter TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE dashboard_tiles (
    dashboard_id TEXT NOT NULL REFERENCES dashboards (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    insight_id TEXT NOT NULL REFERENCES saved_insights (id) ON DELETE CASCADE,
    width BIGINT NOT NULL,
    PRIMARY KEY (dashboard_id, position)
);
CREATE TABLE insight_goals (
    insight_id TEXT PRIMARY KEY REFERENCES saved_insights (id) ON DELETE CASCADE,
    op TEXT NOT NULL,
    target DOUBLE PRECISION NOT NULL
);
