//! Release notes from a real git repository, standalone: Conventional
//! Commits between a tag and HEAD, their sections, and the bump.

use std::path::Path;
use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::{Place, bootstrap};
use crate::helpers::{Backend, assert_problem, shop_with_ingest_key, spawn_app, storage_stories};

fn git(repo: &Path, args: &[&str]) {
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
