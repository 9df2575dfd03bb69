//! The store's writes and reads, on SQLite and on PostgreSQL alike: each
//! test runs once per backend, on a database of its own. PostgreSQL comes
//! from `LIVEOPS_TEST_POSTGRES_URL` (scripts/test.sh sets it); without it
//! the PostgreSQL half is skipped, except under `CI=true`, where it fails.

use liveops_core::feedback::backlog::{ItemKind, ItemStatus};
use liveops_core::{ProjectName, Slug};
use liveops_store::feedback::{self, NewFeedback};
use liveops_store::releases::{self, DeployedCommit, NewDeployment, NewRelease};
use liveops_store::security::{self, NewCredential, NewFinding};
use liveops_store::{Db, StoreError, projects};

const NOW: i64 = 1_790_000_000_000;

/// A migrated database of its own on each backend that can run here.
async fn databases() -> Vec<(&'static str, Db, tempfile::TempDir)> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open_sqlite(&dir.path().join("state.db"))
        .await
        .expect("open sqlite");
    db.migrate().await.expect("migrate sqlite");
    out.push(("sqlite", db, dir));
    match std::env::var("LIVEOPS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(admin_url) => {
            let admin = Db::connect(&admin_url)
                .await
                .expect("connect to LIVEOPS_TEST_POSTGRES_URL");
            let name = format!("liveops_store_{}", liveops_store::new_id());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(admin.pool())
                .await
                .expect("create database");
            admin.close().await;
            let mut url = url::Url::parse(&admin_url).expect("postgres url");
            url.set_path(&format!("/{name}"));
            let db = Db::connect(url.as_str()).await.expect("connect");
            db.migrate().await.expect("migrate postgres");
            out.push(("postgres", db, tempfile::tempdir().expect("tempdir")));
        }
        None if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("CI=true but LIVEOPS_TEST_POSTGRES_URL is not set: start PostgreSQL")
        }
        None => eprintln!("LIVEOPS_TEST_POSTGRES_URL is not set: PostgreSQL skipped"),
    }
    out
}

async fn project(db: &Db, slug: &str) -> String {
    let mut conn = db.pool().acquire().await.expect("conn");
    projects::insert_project(
        &mut conn,
        &Slug::parse(slug).expect("slug"),
        &ProjectName::parse("Shop").expect("name"),
        &format!("hash-{slug}"),
        "hint",
        NOW,
    )
    .await
    .expect("project")
    .id
}

#[tokio::test]
async fn items_are_numbered_per_project_and_a_rolled_back_change_leaves_nothing() {
    for (backend, db, _dir) in databases().await {
        let (shop, blog) = (project(&db, "shop").await, project(&db, "blog").await);
        let mut tx = db.begin().await.expect("begin");
        let a = feedback::insert_item(&mut tx, &shop, ItemKind::Bug, "A", "", "ann", NOW)
            .await
            .expect("a");
        let b = feedback::insert_item(&mut tx, &shop, ItemKind::Enhancement, "B", "", "ann", NOW)
            .await
            .expect("b");
        let c = feedback::insert_item(&mut tx, &blog, ItemKind::Bug, "C", "", "ann", NOW)
            .await
            .expect("c");
        tx.commit().await.expect("commit");
        assert_eq!((a.number, b.number, c.number), (1, 2, 1), "{backend}");
        assert_eq!(a.status, ItemStatus::Triage, "{backend}");

        // A change dropped before its commit leaves no item behind.
        {
            let mut tx = db.begin().await.expect("begin");
            feedback::insert_item(&mut tx, &shop, ItemKind::Bug, "D", "", "ann", NOW)
                .await
                .expect("d");
        }
        let d = {
            let mut tx = db.begin().await.expect("begin");
            let d = feedback::insert_item(&mut tx, &shop, ItemKind::Bug, "D", "", "ann", NOW)
                .await
                .expect("d");
            tx.commit().await.expect("commit");
            d
        };
        assert_eq!(
            d.number, 3,
            "{backend}: the rolled-back number is free again"
        );
        let mut item = db.item(&shop, 3).await.expect("item");
        item.status = ItemStatus::Planned;
        item.title = "D, planned".into();
        let mut tx = db.begin().await.expect("begin");
        feedback::save_item(&mut tx, &item, NOW + 1)
            .await
            .expect("save");
        tx.commit().await.expect("commit");
        let saved = db.item(&shop, 3).await.expect("item");
        assert_eq!(saved.status, ItemStatus::Planned, "{backend}");
        assert_eq!(saved.title, "D, planned", "{backend}");
        assert_eq!(saved.updated_at, NOW + 1, "{backend}");
    }
}

#[tokio::test]
async fn feedback_is_imported_once_by_its_id_in_the_source() {
    for (backend, db, _dir) in databases().await {
        let shop = project(&db, "shop").await;
        let new = |external_id| NewFeedback {
            kind: None,
            title: "Export",
            body: "CSV please",
            source: "import:discourse",
            external_id,
            url: None,
            reporter_email: Some("ana@example.org"),
            reporter_name: None,
            distinct_id: None,
            ticket_id: None,
            spam_signal: None,
            created_at: NOW,
        };
        let mut tx = db.begin().await.expect("begin");
        let first = feedback::insert_feedback(&mut tx, &shop, &new(Some("t-1")))
            .await
            .expect("first");
        let again = feedback::insert_feedback(&mut tx, &shop, &new(Some("t-1")))
            .await
            .expect("again");
        let other = feedback::insert_feedback(&mut tx, &shop, &new(Some("t-2")))
            .await
            .expect("other");
        tx.commit().await.expect("commit");
        assert_eq!(first.map(|f| f.number), Some(1), "{backend}");
        assert!(
            again.is_none(),
            "{backend}: the same record is not imported twice"
        );
        assert_eq!(other.map(|f| f.number), Some(2), "{backend}");
        assert_eq!(
            db.feedback_list(&shop, None, None, 10)
                .await
                .expect("list")
                .len(),
            2,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn scans_open_keep_fix_and_reopen_findings_per_source() {
    for (backend, db, _dir) in databases().await {
        let shop = project(&db, "shop").await;
        let finding = |key: &str| NewFinding {
            kind: "vulnerability".into(),
            key: key.into(),
            title: format!("{key} is vulnerable"),
            severity: "high".into(),
            ..NewFinding::default()
        };
        let scan = |found: Vec<NewFinding>, source: &'static str, at: i64| {
            let (db, shop) = (&db, &shop);
            async move {
                let mut tx = db.begin().await.expect("begin");
                let o = security::record_scan(&mut tx, shop, "web", source, &found, at)
                    .await
                    .expect("scan");
                tx.commit().await.expect("commit");
                o
            }
        };
        let o = scan(vec![finding("a"), finding("b")], "audit", NOW).await;
        assert_eq!(o.opened, vec![1, 2], "{backend}");
        // Another source's scan leaves audit's findings alone.
        let o = scan(vec![finding("x")], "sarif:semgrep", NOW).await;
        assert_eq!((o.opened, o.fixed), (vec![3], vec![]), "{backend}");
        let o = scan(vec![finding("a")], "audit", NOW + 1).await;
        assert_eq!((o.still_present, o.fixed), (vec![1], vec![2]), "{backend}");
        let o = scan(vec![finding("a"), finding("b")], "audit", NOW + 2).await;
        assert_eq!(
            (o.still_present, o.reopened),
            (vec![1], vec![2]),
            "{backend}"
        );
        let b = db.security_finding(&shop, 2).await.expect("b");
        assert_eq!(
            (b.state.as_str(), b.opened_at),
            ("open", NOW + 2),
            "{backend}"
        );
        let mut tx = db.begin().await.expect("begin");
        security::accept_finding(&mut tx, &b.id, "behind the WAF", NOW + 10, "ann")
            .await
            .expect("accept");
        tx.commit().await.expect("commit");
        assert_eq!(
            db.expire_acceptances(NOW + 5).await.expect("expire"),
            0,
            "{backend}"
        );
        assert_eq!(
            db.expire_acceptances(NOW + 10).await.expect("expire"),
            1,
            "{backend}"
        );
    }
}

#[tokio::test]
async fn credentials_refresh_by_name_and_forget_warnings_on_a_new_expiry() {
    for (backend, db, _dir) in databases().await {
        let shop = project(&db, "shop").await;
        let cred = |expires_at| NewCredential {
            kind: "api_key".into(),
            name: "stripe".into(),
            owner: "ops@example.org".into(),
            system: "stripe".into(),
            expires_at: Some(expires_at),
            last_used_at: None,
            fingerprint: None,
        };
        let mut tx = db.begin().await.expect("begin");
        let c = security::upsert_credential(&mut tx, &shop, &cred(NOW + 1000), NOW)
            .await
            .expect("add");
        tx.commit().await.expect("commit");
        assert!(
            db.claim_credential_warning(&c.id, 30).await.expect("claim"),
            "{backend}"
        );
        assert!(
            !db.claim_credential_warning(&c.id, 30).await.expect("claim"),
            "{backend}"
        );
        // The same expiry keeps the warnings given; a renewed one clears them.
        for (expiry, claims_again) in [(NOW + 1000, false), (NOW + 9000, true)] {
            let mut tx = db.begin().await.expect("begin");
            security::upsert_credential(&mut tx, &shop, &cred(expiry), NOW)
                .await
                .expect("refresh");
            tx.commit().await.expect("commit");
            assert_eq!(
                db.claim_credential_warning(&c.id, 30).await.expect("claim"),
                claims_again,
                "{backend}: expiry {expiry}"
            );
        }
        assert_eq!(
            db.credentials(&shop).await.expect("list").len(),
            1,
            "{backend}"
        );
        let mut tx = db.begin().await.expect("begin");
        assert!(
            security::delete_credential(&mut tx, &shop, "stripe")
                .await
                .expect("delete")
        );
        assert!(
            !security::delete_credential(&mut tx, &shop, "stripe")
                .await
                .expect("again")
        );
        tx.commit().await.expect("commit");
    }
}

#[tokio::test]
async fn releases_and_deployments_are_unique_and_read_back() {
    for (backend, db, _dir) in databases().await {
        let shop = project(&db, "shop").await;
        let plan = NewRelease {
            version: "1.2.0",
            kind: "minor",
            train_id: None,
            planned_for: Some("2026-12-10"),
            capacity: Some(3.5),
            incident_id: None,
            created_by: "ann",
        };
        let mut tx = db.begin().await.expect("begin");
        let r = releases::insert_release(&mut tx, &shop, &plan, NOW)
            .await
            .expect("release");
        tx.commit().await.expect("commit");
        assert_eq!(
            (r.version.as_str(), r.capacity),
            ("1.2.0", Some(3.5)),
            "{backend}"
        );
        let mut tx = db.begin().await.expect("begin");
        let again = releases::insert_release(&mut tx, &shop, &plan, NOW).await;
        assert!(
            matches!(again, Err(StoreError::Conflict(_))),
            "{backend}: {again:?}"
        );
        drop(tx);
        let commits = vec![
            DeployedCommit {
                sha: "a".repeat(40),
                message: "feat: export".into(),
                committed_at: NOW - 7_200_000,
            },
            DeployedCommit {
                sha: "b".repeat(40),
                message: "fix: totals".into(),
                committed_at: NOW - 3_600_000,
            },
        ];
        let mut tx = db.begin().await.expect("begin");
        let d = releases::record_deployment(
            &mut tx,
            &shop,
            &NewDeployment {
                service: "web",
                version: "1.2.0",
                environment: "production",
                commit_sha: Some(&"b".repeat(40)),
                deployed_at: NOW,
                created_by: "ci",
                commits: &commits,
            },
            NOW,
        )
        .await
        .expect("deployment");
        tx.commit().await.expect("commit");
        assert_eq!(d.commits, 2, "{backend}");
        assert_eq!(d.first_commit_at, Some(NOW - 7_200_000), "{backend}");
        let mut tx = db.begin().await.expect("begin");
        releases::set_release_frozen(&mut tx, &r.id, true, NOW + 1)
            .await
            .expect("freeze");
        tx.commit().await.expect("commit");
        let frozen = db.release(&shop, "1.2.0").await.expect("release");
        assert_eq!(frozen.frozen_at, Some(NOW + 1), "{backend}");
    }
}

#[tokio::test]
async fn a_job_lease_has_one_holder_until_it_expires_or_is_given_up() {
    for (backend, db, _dir) in databases().await {
        let until = NOW + 30_000;
        assert!(
            db.take_lease("support", "a", NOW, until)
                .await
                .expect("a takes"),
            "{backend}"
        );
        assert!(
            !db.take_lease("support", "b", NOW + 1, NOW + 30_001)
                .await
                .expect("b waits"),
            "{backend}"
        );
        // The holder renews; another job is free for anyone.
        assert!(
            db.take_lease("support", "a", NOW + 10_000, NOW + 40_000)
                .await
                .expect("a renews"),
            "{backend}"
        );
        assert!(
            db.take_lease("performance", "b", NOW, until)
                .await
                .expect("b takes"),
            "{backend}"
        );
        // Past the renewed expiry, b takes the job over, and a no longer holds it.
        assert!(
            !db.take_lease("support", "b", NOW + 39_999, NOW + 70_000)
                .await
                .expect("b still waits"),
            "{backend}"
        );
        assert!(
            db.take_lease("support", "b", NOW + 40_000, NOW + 70_000)
                .await
                .expect("b takes over"),
            "{backend}"
        );
        assert!(
            !db.take_lease("support", "a", NOW + 40_001, NOW + 70_001)
                .await
                .expect("a lost it"),
            "{backend}"
        );
        // Giving the leases up frees them at once.
        assert_eq!(
            db.release_leases("b").await.expect("release"),
            2,
            "{backend}"
        );
        assert!(
            db.take_lease("performance", "a", NOW + 40_002, NOW + 70_002)
                .await
                .expect("a takes"),
            "{backend}"
        );
        let holders: Vec<(String, String)> = db
            .leases()
            .await
            .expect("leases")
            .into_iter()
            .map(|l| (l.job, l.holder))
            .collect();
        assert_eq!(
            holders,
            [
                ("performance".into(), "a".into()),
                ("support".into(), "b".into())
            ],
            "{backend}"
        );
    }
}

#[tokio::test]
async fn racing_nodes_never_both_take_a_lease() {
    for (backend, db, _dir) in databases().await {
        for round in 0..20_i64 {
            let job = format!("job-{round}");
            let takes = (0..4).map(|n| {
                let (db, job) = (db.clone(), job.clone());
                async move {
                    db.take_lease(&job, &format!("node-{n}"), NOW, NOW + 30_000)
                        .await
                        .expect("take")
                }
            });
            let won = futures::future::join_all(takes).await;
            assert_eq!(won.iter().filter(|w| **w).count(), 1, "{backend}: {won:?}");
        }
    }
}
