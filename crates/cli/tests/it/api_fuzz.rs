//! schemathesis, from PyPI, fuzzes the API from its own OpenAPI document.
//! (Named to sort first: it is the longest test, so it starts first and
//! the others run beside it.)

use std::process::Command;

use crate::helpers::{Backend, spawn_app, venv};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_or_schema_violations() {
    let app = spawn_app(Backend::Sqlite).await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let (ops, _) = app.project("Ops", &root).await;
    let token = app.token(&root, &ops, "read,write,admin").await;
    let report = crate::helpers::artifacts_dir("schemathesis");
    let schema = app.url("/api/v1/openapi.json");
    let bin = venv().join("bin").join("schemathesis");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args([
                "run",
                &schema,
                "--header",
                &format!("Authorization: Bearer {token}"),
                "--checks",
                "not_a_server_error,response_schema_conformance,content_type_conformance",
                "--max-examples",
                "20",
                "--seed",
                "1",
                // One worker: hypothesis is not thread-safe, and two once
                // raced in its lambda-source cache (a KeyError inside
                // schemathesis, not a finding).
                "--workers",
                "1",
                "--generation-database",
                "none",
                "--no-color",
                "--report",
                "junit",
                "--report-dir",
                &report.display().to_string(),
            ])
            .env_remove("SCHEMATHESIS_HOOKS")
            .output()
            .expect("run schemathesis")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    app.stop().await;
}
