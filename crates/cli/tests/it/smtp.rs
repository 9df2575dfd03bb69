//! E-mail leaves through a real SMTP server: aiosmtpd from PyPI, keeping what
//! it receives in a Maildir that the test reads back.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Backend, spawn_app_with};

/// aiosmtpd listening on a free loopback port, killed on drop.
pub(crate) struct SmtpServer {
    child: Child,
    venv: PathBuf,
    port: u16,
    maildir: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpServer {
    pub(crate) async fn start() -> SmtpServer {
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
    /// package: subject, to, from, the threading headers and the plain-text
    /// body of each.
    pub(crate) fn messages(&self) -> Vec<serde_json::Value> {
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
            \x20               'message_id': str(m['message-id'] or ''), 'in_reply_to': str(m['in-reply-to'] or ''),\n\
            \x20               'references': str(m['references'] or ''), 'reply_to': str(m['reply-to'] or ''),\n\
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

impl SmtpServer {
    /// A server that sends its mail here, from `from`, with links under
    /// `public_url`; the jobs tick often so the outbox runs at once.
    pub(crate) async fn app(
        &self,
        from: &str,
        public_url: Option<&str>,
    ) -> crate::helpers::TestApp {
        let port = self.port;
        spawn_app_with(Backend::Sqlite, |c| {
            c.job_tick_ms = 100;
            c.smtp_url = Some(liveops_server::config::Secret::new(format!(
                "smtp://127.0.0.1:{port}"
            )));
            c.smtp_from = from.into();
            c.public_url = public_url.map(str::to_owned);
        })
        .await
    }
}

/// A status-page subscriber by e-mail receives the incident's public updates
/// through SMTP, and the delivery log says they were sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_get_email_through_a_real_smtp_server() {
    let smtp = SmtpServer::start().await;
    let app = smtp
        .app(
            "liveops <status@example.com>",
            Some("http://status.example.org"),
        )
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

/// A page by e-mail carries links to acknowledge, escalate and resolve; the
/// acknowledge link, read from the mail aiosmtpd received, opens a page
/// whose button acknowledges the incident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_by_email_is_acknowledged_from_its_link() {
    let smtp = SmtpServer::start().await;
    let app = smtp
        .app(
            "liveops <pages@example.com>",
            Some("http://liveops.example.org"),
        )
        .await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let ann = app
        .user("ann@example.com", "correct horse battery", false)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    app.member(&shop, &ann, liveops_core::Role::Responder).await;
    let admin = app.token(&root, &shop, "read,write,admin").await;
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/policies",
            &admin,
            Some(json!({"name": "Ann", "levels": [{"notify": ["user:ann@example.com"], "delay_secs": 600}]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Payments fail", "severity": "sev1", "policy": "Ann"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let start = std::time::Instant::now();
    let link = loop {
        let found = smtp.messages().iter().find_map(|m| {
            (m["to"] == "ann@example.com")
                .then(|| m["body"].as_str())
                .flatten()
                .and_then(|b| {
                    b.lines()
                        .find_map(|l| l.strip_prefix("Acknowledge: "))
                        .map(str::to_owned)
                })
        });
        if let Some(l) = found {
            break l;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "no page by mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let path = link
        .strip_prefix("http://liveops.example.org")
        .unwrap_or_else(|| panic!("not a link of the public URL: {link}"))
        .to_owned();
    let page = app
        .http
        .get(app.url(&path))
        .send()
        .await
        .expect("open link");
    assert_eq!(page.status(), 200);
    let (_, detail) = app.get("/api/v1/projects/shop/incidents/1", &admin).await;
    assert_eq!(detail["incident"]["state"], "triggered");
    let done = app.http.post(app.url(&path)).send().await.expect("press");
    assert_eq!(done.status(), 200);
    let (_, detail) = app.get("/api/v1/projects/shop/incidents/1", &admin).await;
    assert_eq!(detail["incident"]["state"], "acknowledged", "{detail}");
    app.stop().await;
}

/// A ticket's e-mail conversation: a customer's mail opens it, an agent's
/// reply reaches the customer through SMTP threaded under their mail (an
/// internal note never does), and the customer's answer threads back in,
/// trimmed of its quote, and reopens the solved ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_is_a_conversation_by_email() {
    let smtp = SmtpServer::start().await;
    let app = smtp.app("Shop support <support@shop.example>", None).await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    let admin = app.token(&root, &shop, "read,write,admin").await;
    let mail_key = app.key(&shop, "mail").await;
    let inbound = |body: serde_json::Value| {
        let req = app
            .http
            .post(app.url("/ingest/email"))
            .bearer_auth(&mail_key)
            .json(&body);
        async move { crate::helpers::status_json(req.send().await.expect("mail")).await }
    };
    let (status, opened) = inbound(json!({"from": "Cu Stomer <cu@customer.example>",
        "subject": "My total is wrong", "text": "It doubled.\n\n-- \nCu", "message_id": "<m1@customer.example>"}))
    .await;
    assert_eq!(
        (status, opened["threaded"].clone()),
        (201, json!(false)),
        "{opened}"
    );
    let action = |body: serde_json::Value| {
        app.send(
            Method::POST,
            "/api/v1/projects/shop/support/tickets/1/actions",
            &admin,
            Some(body),
        )
    };
    let (status, _) =
        action(json!({"action": "note", "body": "Internal: looks like the tax bug"})).await;
    assert_eq!(status, 200);
    let (status, _) =
        action(json!({"action": "reply", "body": "We fixed the total; please try again."})).await;
    assert_eq!(status, 200);
    let (status, _) = action(json!({"action": "solve"})).await;
    assert_eq!(status, 200);

    let start = std::time::Instant::now();
    let reply = loop {
        if let Some(m) = smtp
            .messages()
            .into_iter()
            .find(|m| m["to"] == "cu@customer.example")
        {
            break m;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no reply by mail"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(reply["subject"], "Re: [#1] My total is wrong");
    assert_eq!(reply["in_reply_to"], "<m1@customer.example>", "{reply}");
    assert!(
        reply["references"]
            .as_str()
            .is_some_and(|r| r.contains("<m1@customer.example>")),
        "{reply}"
    );
    let message_id = reply["message_id"].as_str().expect("message id").to_owned();
    assert!(
        message_id.starts_with("<ticket-1-") && message_id.ends_with("@shop.example>"),
        "{reply}"
    );
    let reply_to = reply["reply_to"].as_str().expect("reply-to").to_owned();
    assert!(
        reply_to.starts_with("support+t-") && reply_to.ends_with("@shop.example"),
        "{reply}"
    );
    assert!(
        reply["body"]
            .as_str()
            .is_some_and(|b| b.contains("We fixed the total")),
        "{reply}"
    );
    // The note was never mailed.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = smtp.messages();
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(!all[0]["body"].as_str().unwrap_or("").contains("tax bug"));

    // The customer answers the reply: it threads in, trimmed, and reopens.
    let (status, answered) = inbound(json!({"from": "cu@customer.example",
        "subject": "Re: [#1] My total is wrong",
        "text": "Still doubled, sorry.\n\nOn Sun, 6 Dec 2026, Shop support <support@shop.example> wrote:\n> We fixed the total; please try again.",
        "message_id": "<m2@customer.example>", "in_reply_to": message_id, "to": reply_to}))
    .await;
    assert_eq!(status, 200, "{answered}");
    assert_eq!(
        answered,
        json!({"ticket": 1, "threaded": true, "reopened": true})
    );
    let (_, t) = app
        .get("/api/v1/projects/shop/support/tickets/1", &admin)
        .await;
    assert_eq!(t["ticket"]["status"], "open", "{t}");
    let comments = t["comments"].as_array().expect("comments");
    assert!(
        comments
            .iter()
            .any(|c| c["author"] == "cu@customer.example" && c["body"] == "Still doubled, sorry."),
        "{t}"
    );
    // By References alone (a client that drops In-Reply-To), and by the
    // token alone, mail still threads; mail about nothing opens a ticket.
    let (_, by_refs) = inbound(json!({"from": "cu@customer.example", "subject": "again",
        "text": "Any news?", "references": "<m1@customer.example> <m2@customer.example>"}))
    .await;
    assert_eq!(by_refs["ticket"], 1, "{by_refs}");
    let (_, by_token) = inbound(json!({"from": "cu@customer.example", "subject": "again",
        "text": "Hello?", "to": format!("Support <{reply_to}>")}))
    .await;
    assert_eq!(by_token["threaded"], true, "{by_token}");
    let (status, fresh) = inbound(
        json!({"from": "other@customer.example", "subject": "New problem",
        "text": "Login fails"}),
    )
    .await;
    assert_eq!((status, fresh["ticket"].clone()), (201, json!(2)));
    app.stop().await;
}

impl SmtpServer {
    /// Sends `raw` (a whole RFC 5322 message) through this server, as a
    /// mail client would, with Python's smtplib.
    fn send_raw(&self, from: &str, to: &str, raw: &str) {
        let script = "import smtplib, sys\n\
            s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))\n\
            s.sendmail(sys.argv[2], [sys.argv[3]], sys.stdin.read().encode())\n\
            s.quit()\n";
        let mut child = Command::new(self.venv.join("bin").join("python"))
            .arg("-c")
            .arg(script)
            .arg(self.port.to_string())
            .arg(from)
            .arg(to)
            .stdin(Stdio::piped())
            .spawn()
            .expect("run python");
        std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), raw.as_bytes())
            .expect("write mail");
        drop(child.stdin.take());
        assert!(child.wait().expect("smtplib").success(), "smtplib failed");
    }

    /// The names of the files in the Maildir's `dir` (`new` or `cur`).
    fn files(&self, dir: &str) -> Vec<String> {
        std::fs::read_dir(self.maildir.join(dir))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}

/// Support mail delivered to a Maildir (here by a real SMTP server,
/// aiosmtpd) becomes tickets without any webhook: a new message opens one,
/// the same message again is taken once, an answer threads into its
/// ticket, and a message that cannot be a ticket is set aside, trashed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_mail_from_a_maildir_becomes_tickets() {
    let inbound = SmtpServer::start().await;
    let maildir = inbound.maildir.clone();
    let app = spawn_app_with(Backend::Sqlite, |c| {
        c.job_tick_ms = 100;
        c.inbound_maildir = Some(maildir);
        c.inbound_maildir_project = Some("shop".into());
    })
    .await;
    let root = app
        .user("root@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &root).await;
    let admin = app.token(&root, &shop, "read,write,admin").await;
    let first = "From: Cus Tomer <cus@example.org>\r\n\
        To: support@shop.example\r\n\
        Subject: Cannot pay\r\n\
        Message-ID: <first@example.org>\r\n\
        \r\n\
        My card is declined.\r\n";
    inbound.send_raw("cus@example.org", "support@shop.example", first);
    inbound.send_raw("cus@example.org", "support@shop.example", first);
    let answer = "From: cus@example.org\r\n\
        To: support@shop.example\r\n\
        Subject: Re: Cannot pay\r\n\
        Message-ID: <second@example.org>\r\n\
        In-Reply-To: <first@example.org>\r\n\
        \r\n\
        It works with another card.\r\n";
    inbound.send_raw("cus@example.org", "support@shop.example", answer);
    inbound.send_raw(
        "nobody@example.org",
        "support@shop.example",
        "Subject: who am I\r\n\r\nno sender\r\n",
    );
    let start = std::time::Instant::now();
    loop {
        if inbound.files("new").is_empty() && inbound.files("cur").len() == 4 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the Maildir was not read: new {:?}, cur {:?}",
            inbound.files("new"),
            inbound.files("cur")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, list) = app
        .get("/api/v1/projects/shop/support/tickets", &admin)
        .await;
    let tickets = list.as_array().expect("tickets");
    assert_eq!(tickets.len(), 1, "{list}");
    assert_eq!(tickets[0]["subject"], "Cannot pay", "{list}");
    let (_, detail) = app
        .get("/api/v1/projects/shop/support/tickets/1", &admin)
        .await;
    let text = detail.to_string();
    assert!(
        text.contains("My card is declined.") && text.contains("It works with another card."),
        "{detail}"
    );
    let cur = inbound.files("cur");
    assert_eq!(
        cur.iter().filter(|f| f.ends_with(":2,S")).count(),
        3,
        "{cur:?}"
    );
    assert_eq!(
        cur.iter().filter(|f| f.ends_with(":2,T")).count(),
        1,
        "{cur:?}"
    );
    app.stop().await;
}
