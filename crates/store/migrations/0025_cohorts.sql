-- Cohorts: named groups of persons. `kind` is behavioural, property or
-- static; `definition` is the rule as JSON (empty for static cohorts, whose
-- distinct ids are in cohort_members). cohort_sizes keeps one size per
-- cohort and day (days since 1970-01-01, UTC), as measured that day.
CREATE TABLE cohorts (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE cohort_members (
    cohort_id TEXT NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    distinct_id TEXT NOT NULL,
    PRIMARY KEY (cohort_id, distinct_id)
);
CREATE TABLE cohort_sizes (
    cohort_id TEXT NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    day BIGINT NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (cohort_id, day)
);
