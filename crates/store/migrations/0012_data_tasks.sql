-- Data fixes that code runs once after the schema migrations (such as
-- sealing URLs stored in plain text); each records its name when done.
CREATE TABLE data_tasks (
    name TEXT PRIMARY KEY,
    done_at BIGINT NOT NULL
);
