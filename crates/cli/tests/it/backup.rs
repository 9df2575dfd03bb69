//! Backups taken while the server works, restored to a working server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::cli::{Place, bootstrap};
use crate::helpers::{Backend, fresh_postgres_database, postgres_admin_url, storage_stories};

async fn backup_under_write_load_restores_to_a_working_server(backend: Backend) {
    let place = Place::new(backend).await;
    let (slug, token) = bootstrap(&place);
    let server = place.serve();
    let http = reqwest::Client::new();
    let tokens_url = server.url(&format!("/api/v1/projects/{slug}/tokens"));

    // Writers create tokens as fast as they can while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, url, token, stop, made) = (
            http.clone(),
            tokens_url.clone(),
            token.clone(),
            stop.clone(),
            made.clone(),
        );
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let resp = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "name": format!("load-{w}-{i}"), "scopes": ["read"] }))
                    .send()
                    .await
                    .expect("create token");
                assert_eq!(resp.status(), 201);
                let body: Value = resp.json().await.expect("json");
                acknowledged.push(body["token"]["id"].as_str().expect("id").to_owned());
                made.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
            acknowledged
        }));
    }
    // Some tokens made before the backup starts, more while it runs.
    let made_by = |n: usize| {
        let made = made.clone();
        async move {
            let start = std::time::Instant::now();
            while made.load(Ordering::Relaxed) < n {
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "the writers stalled"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    made_by(20).await;
    let before: usize = {
        let (_, list) = list_tokens(&http, &tokens_url, &token).await;
        list.len()
    };
    let dest = place.dir.path().join("backup");
    let dest_str = dest.to_str().expect("utf-8 path").to_owned();
    let p = place
        .cmd(&["backup", &dest_str, "--format", "json"])
        .output()
        .expect("backup");
    assert!(
        p.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&p.stderr)
    );
    let manifest: Value = serde_json::from_slice(&p.stdout).expect("json");
    assert_eq!(manifest["telemetry"], true, "{manifest}");
    // The backup holds every hash and all the data: the owner's alone.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dest)
            .expect("backup dir")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        // The instance key stays out of the backup, which holds the values
        // it seals; the operator keeps it apart (README).
        assert!(!dest.join("secret.key").exists());
    }
    let so_far = made.load(Ordering::Relaxed);
    made_by(so_far + 20).await;
    stop.store(true, Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.expect("writer").len();
    }
    assert!(written > before, "the load kept writing during the backup");

    // A restore into a live data directory is refused.
    let refused = place.run(&["restore", &dest_str]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop the server"));
    server.stop();

    // Restore into a brand-new place and start a server there.
    let target = Place {
        dir: tempfile::tempdir().expect("tempdir"),
        database_url: match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                Some(fresh_postgres_database(&postgres_admin_url().expect("url")).await)
            }
        },
    };
    let restored = target.run(&["restore", &dest_str]);
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    // Without the instance key the restored state was sealed with, the
    // server refuses to start and says why; with the kept copy, it starts.
    let refused = target.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("same `secret_key`"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    std::fs::copy(
        place.data_dir().join("secret.key"),
        target.data_dir().join("secret.key"),
    )
    .expect("put the kept key in place");
    let server = target.serve();
    let (status, list) = list_tokens(
        &http,
        &server.url(&format!("/api/v1/projects/{slug}/tokens")),
        &token,
    )
    .await;
    assert_eq!(status, 200, "the old token works on the restored server");
    // Everything acknowledged before the backup began is there, and the
    // snapshot is consistent: every token has its audit entry.
    assert!(list.len() >= before, "{} < {before}", list.len());
    assert!(list.len() <= written + 1);
    let audit: Value = http
        .get(server.url(&format!("/api/v1/projects/{slug}/audit?limit=500")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    let creates = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["action"] == "token.create")
        .count();
    assert_eq!(creates, list.len().min(500));
    let ready = http
        .get(server.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    server.stop();
}

async fn list_tokens(http: &reqwest::Client, url: &str, token: &str) -> (u16, Vec<Value>) {
    let resp = http.get(url).bearer_auth(token).send().await.expect("list");
    let status = resp.status().as_u16();
    let list: Value = resp.json().await.unwrap_or(Value::Null);
    (status, list.as_array().cloned().unwrap_or_default())
}

storage_stories!(backup_under_write_load_restores_to_a_working_server);
