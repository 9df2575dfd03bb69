-- Alerts on saved insights: when the insight's headline number goes above
-- or below `value`, or moves by `value` per cent against the period
-- before (`condition` above, below or change), the people on call in
-- `tier` are told through their notification rules, at `severity`.
-- `firing` (0 or 1), `last_value`, `checked_at` and `fired_at` are what the
-- last check found.
CREATE TABLE insight_alerts (
    insight_id TEXT PRIMARY KEY REFERENCES saved_insights (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    condition TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    tier TEXT NOT NULL,
    severity TEXT NOT NULL,
    firing BIGINT NOT NULL,
    last_value DOUBLE PRECISION,
    checked_at BIGINT,
    fired_at BIGINT
);
