//! Release notes from a real git repository, standalone: Conventional
//! Commits between a tag and HEAD, their sections, and the bump.

use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Place, bootstrap};
use crate::helpers::{Backend, assert_problem, shop_with_ingest_key, spawn_app, storage_stories};

/// Runs git in `repo` as a fixed author; fails the test when git does.
pub(crate) fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn commit(repo: &Path, message: &str) {
    git(repo, &["commit", "--allow-empty", "-q", "-m", message]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_notes_come_from_conventional_commits_since_a_tag() {
    let place = Place::new(Backend::Sqlite).await;
    let repo = place.dir.path().join("shop");
    std::fs::create_dir_all(&repo).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    commit(&repo, "feat: first release");
    git(&repo, &["tag", "v0.9.1"]);
    commit(&repo, "fix(cart): totals round to the cent");
    commit(&repo, "feat: dark mode");
    commit(&repo, "docs: a typo");
    commit(&repo, "tidy things up");
    commit(
        &repo,
        "refactor!: drop the v1 API\n\nBREAKING CHANGE: clients must move to /api/v2",
    );
    let repo_arg = repo.display().to_string();
    let out = place.run(&[
        "release",
        "notes",
        "--repo",
        &repo_arg,
        "--from",
        "v0.9.1",
        "--date",
        "2026-11-28",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("## [0.10.0] - 2026-11-28"), "{md}");
    assert!(md.contains("### Added\n\n- dark mode"), "{md}");
    assert!(
        md.contains("### Changed\n\n- **Breaking:** drop the v1 API"),
        "{md}"
    );
    assert!(
        md.contains("### Fixed\n\n- cart: totals round to the cent"),
        "{md}"
    );
    assert!(
        !md.contains("first release") && !md.contains("typo"),
        "{md}"
    );
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(
        note.contains("5 commits, 4 conventional; suggested bump: minor (0.9.1 → 0.10.0)"),
        "{note}"
    );

    let json: Value = serde_json::from_slice(
        &place
            .run(&[
                "release", "notes", "--repo", &repo_arg, "--from", "v0.9.1", "--format", "json",
            ])
            .stdout,
    )
    .expect("json");
    assert_eq!(json["bump"], "minor");
    assert_eq!(json["next"], "0.10.0");
    assert_eq!(json["skipped"], 1);

    // Bad input says what is wrong.
    let out = place.run(&["release", "notes", "--repo", &repo_arg, "--from", "v9.9.9"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`v9.9.9` names no commit"));
    let out = place.run(&["release", "notes", "--repo", "/nonexistent/repo"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a git repository"));
}

/// Deployments keep their commits, give lead time, and refuse bad input.
async fn deployments_record_their_commits(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let path = "/api/v1/projects/shop/deployments";
    let (status, d) = app
        .send(
            Method::POST,
            path,
            &admin,
            Some(json!({"service": "api", "version": "1.4.0", "commit": "ABCDEF1",
                "deployed_at": "2026-11-28T12:00:00Z",
                "commits": [
                    {"sha": "abcdef1", "message": "feat: x", "committed_at": "2026-11-28T10:00:00Z"},
                    {"sha": "abcdef0", "message": "fix: y", "committed_at": "2026-11-27T12:00:00Z"}]})),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    assert_eq!(d["commits"], 2);
    assert_eq!(d["commit"], "abcdef1");
    assert_eq!(d["environment"], "production");
    assert_eq!(d["lead_time_secs"], 86_400, "from the oldest commit");
    let (status, _) = app
        .send(
            Method::POST,
            path,
            &admin,
            Some(json!({"service": "api", "version": "1.4.1", "environment": "staging"})),
        )
        .await;
    assert_eq!(status, 201);
    let (_, list) = app
        .get(&format!("{path}?environment=production"), &admin)
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let (_, all) = app.get(path, &admin).await;
    assert_eq!(all[0]["version"], "1.4.1", "newest deployment (now) first");
    assert_eq!(all[1]["version"], "1.4.0");
    for bad in [
        json!({"service": "api", "version": ""}),
        json!({"service": "api", "version": "1", "commit": "xyz"}),
        json!({"service": "api", "version": "1", "deployed_at": "soon"}),
        json!({"service": "api", "version": "1", "commits": [
            {"sha": "abcdef9", "message": "a", "committed_at": "2026-11-28T10:00:00Z"},
            {"sha": "abcdef9", "message": "a", "committed_at": "2026-11-28T10:00:00Z"}]}),
    ] {
        assert_problem(&app.send(Method::POST, path, &admin, Some(bad)).await, 422);
    }
    assert_problem(&app.get(&format!("{path}?limit=0"), &admin).await, 422);
    let (_, after) = app.get(path, &admin).await;
    assert_eq!(
        after.as_array().map(Vec::len),
        Some(2),
        "nothing half-written"
    );
    app.stop().await;
}

storage_stories!(deployments_record_their_commits);

/// `liveops deploy record --repo` sends the commits since the service's
/// last deployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_record_reads_the_commits_since_the_last_deployment() {
    let place = Place::new(Backend::Sqlite).await;
    let (slug, token) = bootstrap(&place);
    let server = place.serve();
    let repo = place.dir.path().join("api");
    std::fs::create_dir_all(&repo).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    commit(&repo, "feat: one");
    commit(&repo, "fix: two");
    let repo_arg = repo.display().to_string();
    let record = |version: &str| {
        let out = place
            .cmd(&[
                "deploy",
                "record",
                "--project",
                &slug,
                "--service",
                "api",
                "--version",
                version,
                "--repo",
                &repo_arg,
                "--format",
                "json",
            ])
            .env("LIVEOPS_SERVER", &server.base)
            .env("LIVEOPS_TOKEN", &token)
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("json")
    };
    assert_eq!(record("1.0.0")["commits"], 2);
    commit(&repo, "feat: three");
    let second = record("1.1.0");
    assert_eq!(second["commits"], 1, "only what the last deployment lacked");
    server.stop();
}

/// A repository with no tags has no last release to start from: the error
/// says what to pass instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_notes_without_tags_say_what_to_pass() {
    let place = Place::new(Backend::Sqlite).await;
    let repo = place.dir.path().join("untagged");
    std::fs::create_dir_all(&repo).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    commit(&repo, "feat: first");
    let repo_arg = repo.display().to_string();
    let out = place.run(&["release", "notes", "--repo", &repo_arg]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("has no tags") && err.contains("--all"),
        "{err}"
    );
    let out = place.run(&["release", "notes", "--repo", &repo_arg, "--all"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("- first"));
    // With tags, the newest one on the history is the default start.
    git(&repo, &["tag", "v1.0.0"]);
    commit(&repo, "fix: second");
    let out = place.run(&["release", "notes", "--repo", &repo_arg, "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["from"], "v1.0.0");
    assert_eq!(v["commits"], 1);
    assert_eq!(v["next"], "1.0.1");
}

/// `docs stale` flags the page whose API path changed after its last edit,
/// and not the page edited since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_stale_flags_pages_whose_api_changed_since_their_edit() {
    let place = Place::new(Backend::Sqlite).await;
    let repo = place.dir.path().join("site");
    std::fs::create_dir_all(repo.join("docs/guides")).expect("dirs");
    git(&repo, &["init", "-q", "-b", "main"]);
    let spec = |export: &str| {
        format!(
            "openapi: 3.0.3\ninfo: {{title: Shop, version: 1.0.0}}\npaths:\n  /orders:\n    get:\n      responses:\n        \"200\": {{description: ok}}\n  {export}:\n    get:\n      responses:\n        \"200\": {{description: csv}}\n"
        )
    };
    std::fs::write(repo.join("openapi.yaml"), spec("/orders/{id}/export")).expect("spec");
    std::fs::write(
        repo.join("docs/guides/export.md"),
        "# Exports\n\nDownload one with `GET /api/v1/orders/42/export`.\n",
    )
    .expect("page");
    std::fs::write(
        repo.join("docs/orders.md"),
        "# Orders\n\nList them with `GET /orders`.\n",
    )
    .expect("page");
    git(&repo, &["add", "."]);
    commit(&repo, "docs: orders and exports");
    // The export endpoint moves; only the spec changes.
    std::fs::write(repo.join("openapi.yaml"), spec("/exports/orders/{id}")).expect("spec");
    git(&repo, &["add", "."]);
    commit(&repo, "feat!: move exports");
    let repo_arg = repo.display().to_string();
    let out = place.run(&[
        "docs",
        "stale",
        "--repo",
        &repo_arg,
        "--spec",
        "openapi.yaml",
        "--docs",
        "docs",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v[0]["page"], "docs/guides/export.md");
    assert_eq!(v[0]["paths"], json!(["/orders/{id}/export"]));
    // Updating the page clears it.
    std::fs::write(
        repo.join("docs/guides/export.md"),
        "# Exports\n\nDownload one with `GET /exports/orders/42`.\n",
    )
    .expect("page");
    git(&repo, &["add", "."]);
    commit(&repo, "docs: new export path");
    let out = place.run(&[
        "docs",
        "stale",
        "--repo",
        &repo_arg,
        "--spec",
        "openapi.yaml",
        "--docs",
        "docs",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = place.run(&[
        "docs",
        "stale",
        "--repo",
        &repo_arg,
        "--spec",
        "missing.yaml",
        "--docs",
        "docs",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.yaml"));
}

/// Decision records imported from a folder, listed for the release whose
/// making they fall in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adrs_are_imported_from_a_folder_and_listed_per_release() {
    let place = Place::new(Backend::Sqlite).await;
    let (slug, token) = bootstrap(&place);
    let server = place.serve();
    let dir = place.dir.path().join("adr");
    std::fs::create_dir_all(&dir).expect("dir");
    let today = jiff::Zoned::now().date();
    std::fs::write(
        dir.join("0001-record-decisions.md"),
        "# 1. Record architecture decisions\n\nDate: 2020-01-01\n\n## Status\n\nAccepted\n",
    )
    .expect("adr");
    std::fs::write(
        dir.join("0002-use-postgres.md"),
        format!("# 2. Keep state in PostgreSQL\n\nDate: {today}\n\n## Status\n\nAccepted\n\n## Decision\n\nWe use PostgreSQL when a URL is set.\n"),
    )
    .expect("adr");
    std::fs::write(dir.join("README.md"), "Decision records live here.\n").expect("readme");
    let run = |args: &[&str]| {
        let out = place
            .cmd(args)
            .env("LIVEOPS_SERVER", &server.base)
            .env("LIVEOPS_TOKEN", &token)
            .output()
            .expect("run");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let dir_arg = dir.display().to_string();
    let (ok, out, err) = run(&[
        "docs",
        "adr",
        "import",
        "--project",
        &slug,
        &dir_arg,
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["imported"], 2);
    assert_eq!(v["skipped"][0]["reason"], "it has no `# Title` heading");
    let (ok, _, err) = run(&[
        "release",
        "plan",
        "--project",
        &slug,
        "--kind",
        "minor",
        "--version",
        "0.2.0",
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&[
        "docs",
        "adr",
        "list",
        "--project",
        &slug,
        "--release",
        "0.2.0",
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    let numbers: Vec<i64> = v
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["number"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(
        numbers,
        vec![1, 2],
        "no release shipped before 0.2.0, so every dated record is its own"
    );
    let (ok, _, err) = run(&["release", "ship", "--project", &slug, "0.2.0"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["release", "plan", "--project", &slug, "--kind", "minor"]);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&[
        "docs",
        "adr",
        "list",
        "--project",
        &slug,
        "--release",
        "0.3.0",
        "--format",
        "json",
    ]);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        v.as_array().map(Vec::len),
        Some(0),
        "0.2.0 shipped today with both: {v}"
    );
    server.stop();
}
