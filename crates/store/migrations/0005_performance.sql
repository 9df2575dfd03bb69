-- Findings from the performance detectors (N+1 queries, slow queries, large
-- payloads, cache candidates) and the release-regression check, one row per
-- pattern: kind, service, route and subject (the query fingerprint, or the
-- release for a regression; empty otherwise).
CREATE TABLE performance_findings (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    service TEXT NOT NULL,
    route TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL,
    example_trace TEXT,
    occurrences BIGINT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    -- open, resolved or ignored.
    status TEXT NOT NULL,
    UNIQUE (project_id, kind, service, route, subject)
);

-- How far (in span start time, nanoseconds) the detectors have scanned.
CREATE TABLE performance_scans (
    project_id TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    scanned_to BIGINT NOT NULL
);
