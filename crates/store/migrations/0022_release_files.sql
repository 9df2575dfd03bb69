-- Files uploaded for a release so its JavaScript errors can be shown in
-- their original source: source maps and the minified scripts they map.
-- Kept as text (both are UTF-8), by project, release and the name the
-- browser loads the file under (`~/path` or a URL). The digest names the
-- content, so nodes can cache a parsed map by it.
CREATE TABLE error_release_files (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    release TEXT NOT NULL,
    name TEXT NOT NULL,
    -- map | source
    kind TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    PRIMARY KEY (project_id, release, name)
);
