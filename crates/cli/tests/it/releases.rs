//! Release notes from a real git repository, standalone: Conventional
//! Commits between a tag and HEAD, their sections, and the bump.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::cli::Place;
use crate::helpers::Backend;

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
