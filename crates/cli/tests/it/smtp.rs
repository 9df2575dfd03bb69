//! E-mail leaves through a real SMTP server: aiosmtpd from PyPI, keeping what
//! it receives in a Maildir that the test reads back.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, spawn_app_with};

/// aiosmtpd listening on a free loopback port, killed on drop.
struct SmtpServer {
    child: Child,
    venv: PathBuf,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    async fn start() -> SmtpServer {
        let venv = PathBuf::from(std::env::var("LIVEOPS_TEST_VENV").expect(
            "LIVEOPS_TEST_VENV is not set: run the tests with scripts/test.sh, which builds the venv",
        ));
        let dir = tempfile::tempdir().expect("tempdir");
        let maildir = dir.path().join("mail");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(venv.join("bin").join("python"))
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
                &maildir.display().to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd");
        let server = SmtpServer {
            child,
            venv,
            port,
            maildir,
            _dir: dir,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not start listening on {port}");
    }

    /// The messages received so far, decoded by Python's own `email`
    /// package: subject, to, from and the plain-text body of each.
    fn messages(&self) -> Vec<serde_json::Value> {
        let files: Vec<String> = ["new", "cur"]
            .iter()
            .flat_map(|d| {
                std::fs::read_dir(self.maildir.join(d))
                    .into_iter()
                    .flatten()
            })
            .flatten()
            .map(|e| e.path().display().to_string())
            .collect();
        if files.is_empty() {
            return Vec::new();
        }
        let script = "import sys, json, email\n\
            from email import policy\n\
            out = []\n\
            for p in sys.argv[1:]:\n\
            \x20   m = email.message_from_bytes(open(p, 'rb').read(), policy=policy.default)\n\
            \x20   out.append({'subject': str(m['subject']), 'to': str(m['to']), 'from': str(m['from']),\n\
            \x20               'body': m.get_body(('plain',)).get_content()})\n\
            print(json.dumps(out))\n";
        let out = Command::new(self.venv.join("bin").join("python"))
            .arg("-c")
            .arg(script)
            .args(&files)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).expect("parsed mail")
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A status-page subscriber by e-mail receives the incident's public updates
/// through SMTP, and the delivery log says they were sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_get_email_through_a_real_smtp_server() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port;
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.job_tick_ms = 100;
        c.smtp_url = Some(liveops_server::config::Secret::new(format!(
            "smtp://127.0.0.1:{port}"
        )));
        c.smtp_from = "liveops <status@example.com>".into();
        c.public_url = Some("http://status.example.org".into());
    })
    .await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    let admin = app.token(&root, &shop, "read,write,admin").await;
    let (status, _) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/components",
            &admin,
            Some(json!({"name": "Checkout"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .send(
            Method::PUT,
            "/api/v1/projects/shop/public-pages",
            &admin,
            Some(json!({"status_page": true, "changelog": false})),
        )
        .await;
    assert_eq!(status, 200);
    let resp = app
        .http
        .post(app.url("/status/shop/subscribe"))
        .json(&json!({"kind": "email", "address": "customer@example.org"}))
        .send()
        .await
        .expect("subscribe");
    assert_eq!(resp.status(), 202);
    // The confirmation arrives by mail; its link opens a page whose button
    // confirms.
    let start = std::time::Instant::now();
    let link = loop {
        let found = smtp.messages().iter().find_map(|m| {
            m["body"].as_str().and_then(|b| {
                b.split_whitespace()
                    .find(|w| w.starts_with("http://status.example.org/status/shop/confirm?"))
                    .map(str::to_owned)
            })
        });
        if let Some(l) = found {
            break l;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no confirmation mail"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let query = link
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("")
        .to_owned();
    let resp = app
        .http
        .post(app.url("/status/shop/confirm"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(query)
        .send()
        .await
        .expect("confirm");
    assert_eq!(resp.status(), 200);
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Checkout slow", "severity": "sev3", "components": ["Checkout"]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents/1/updates",
            &admin,
            Some(json!({"body": "We found a slow database query", "stage": "identified"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let start = std::time::Instant::now();
    let wanted = |m: &serde_json::Value| {
        m["body"]
            .as_str()
            .is_some_and(|b| b.contains("We found a slow database query"))
    };
    let mut mail = Vec::new();
    while start.elapsed() < Duration::from_secs(20) {
        mail = smtp.messages();
        if mail.iter().any(wanted) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let update = mail
        .iter()
        .find(|m| wanted(m))
        .unwrap_or_else(|| panic!("no e-mail arrived; got {mail:?}"));
    assert_eq!(update["to"], "customer@example.org", "{update}");
    assert_eq!(update["from"], "liveops <status@example.com>", "{update}");
    assert!(
        update["body"]
            .as_str()
            .is_some_and(|b| b.contains("http://status.example.org/status/shop/unsubscribe?")),
        "{update}"
    );
    assert!(
        update["subject"]
            .as_str()
            .is_some_and(|s| s.starts_with("[status] Checkout slow")),
        "{update}"
    );
    let (_, detail) = app.get("/api/v1/projects/shop/incidents/1", &admin).await;
    let sent = detail["deliveries"].as_array().is_some_and(|ds| {
        ds.iter()
            .any(|d| d["channel"] == "email" && d["state"] == "sent")
    });
    assert!(sent, "{detail}");
    app.stop().await;
}
