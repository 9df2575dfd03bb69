//! Deployments, pull requests and releases from GitHub, GitLab and a CI
//! system's signed call: payloads built from the providers' documented
//! schemas, posted the way each host signs them, giving deployments with
//! their commits, lead time in its stages, links to what commits fix or
//! revert, and shipped releases. A delivery with a bad signature is
//! refused with 401 and records nothing.

use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, shop_with_ingest_key, spawn_app, status_json, storage_stories,
};

const HOUR: i64 = 3_600;

/// A time `hours` after `t0`, as RFC 3339.
fn at(t0: Timestamp, hours: i64) -> String {
    (t0 + SignedDuration::from_secs(hours * HOUR)).to_string()
}

/// GitLab's own spelling, `2026-12-01 10:00:00 UTC`.
fn gitlab_at(t0: Timestamp, hours: i64) -> String {
    (t0 + SignedDuration::from_secs(hours * HOUR))
        .strftime("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

fn sha(c: char) -> String {
    std::iter::repeat_n(c, 40).collect()
}

async fn github(
    app: &TestApp,
    secret: &str,
    event: &str,
    delivery: &str,
    body: &Value,
) -> (u16, Value) {
    let raw = body.to_string();
    let resp = app
        .http
        .post(app.url("/ingest/github/shop"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", delivery)
        .header(
            "x-hub-signature-256",
            liveops_server::signing::sign(secret, raw.as_bytes()),
        )
        .body(raw)
        .send()
        .await
        .expect("post");
    status_json(resp).await
}

async fn gitlab(app: &TestApp, token: &str, event: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .http
        .post(app.url("/ingest/gitlab/shop"))
        .header("x-gitlab-event", event)
        .header("x-gitlab-token", token)
        .json(body)
        .send()
        .await
        .expect("post");
    status_json(resp).await
}

async fn secret(app: &TestApp, admin: &str, provider: &str) -> String {
    let (status, made) = app
        .send(
            Method::PUT,
            &format!("/api/v1/projects/shop/releases/webhooks/{provider}"),
            admin,
            None,
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        made["path"],
        if provider == "ci" {
            "/ingest/deployments/shop".to_owned()
        } else {
            format!("/ingest/{provider}/shop")
        }
    );
    made["secret"].as_str().expect("secret").to_owned()
}

async fn deployments(app: &TestApp, admin: &str) -> Vec<Value> {
    let (_, list) = app
        .get("/api/v1/projects/shop/releases/deployments", admin)
        .await;
    list.as_array().expect("deployments").clone()
}

fn repo() -> Value {
    json!({"id": 1, "name": "checkout", "full_name": "acme/checkout", "default_branch": "main"})
}

async fn github_webhooks_give_deployments_and_lead_time_stages(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let key = secret(&app, &admin, "github").await;
    let t0 = Timestamp::now() - SignedDuration::from_hours(72);
    let (_, inc) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Totals are wrong", "severity": "sev2"})),
        )
        .await;
    let incident = inc["number"].as_i64().expect("incident");
    let (_, ticket) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/tickets",
            &admin,
            Some(json!({"subject": "My total is off", "requester": "cu@example.com", "body": "Twice the price"})),
        )
        .await;
    let ticket = ticket["number"].as_i64().expect("ticket");

    // GitHub's ping on creating the hook is answered and records nothing.
    let (status, ping) = github(
        &app,
        &key,
        "ping",
        "d-0",
        &json!({"zen": "Keep it logically awesome.", "hook_id": 1}),
    )
    .await;
    assert_eq!((status, ping["recorded"].clone()), (200, json!("ignored")));

    // Two commits on a branch, the second fixing the incident and ticket.
    let commit = |id: &str, message: &str, hours: i64| {
        json!({"id": id, "tree_id": sha('f'), "distinct": true, "message": message,
            "timestamp": at(t0, hours), "url": "https://github.com/acme/checkout/commit/x",
            "author": {"name": "Ada", "email": "ada@example.com", "username": "ada"},
            "added": [], "removed": [], "modified": ["totals.rs"]})
    };
    let c1 = commit(&sha('1'), "Round totals once", 0);
    let c2 = commit(
        &sha('2'),
        &format!("Cache totals\n\nFixes incident #{incident}, closes ticket #{ticket}"),
        1,
    );
    let push = |branch: &str, commits: Vec<Value>| {
        let after = commits
            .last()
            .map(|c| c["id"].clone())
            .unwrap_or(json!(sha('0')));
        json!({"ref": format!("refs/heads/{branch}"), "before": sha('0'), "after": after,
            "created": false, "deleted": false, "forced": false, "repository": repo(),
            "pusher": {"name": "ada"}, "commits": commits})
    };
    let (status, pushed) = github(
        &app,
        &key,
        "push",
        "d-1",
        &push("totals", vec![c1.clone(), c2.clone()]),
    )
    .await;
    assert_eq!(status, 200, "{pushed}");
    assert_eq!(
        pushed["links"],
        json!([format!("incident #{incident}"), format!("ticket #{ticket}")])
    );
    // The pull request, opened and then merged.
    let pr = |state: &str, merged: bool| {
        json!({"action": if merged { "closed" } else { "opened" }, "number": 7,
            "repository": repo(), "sender": {"login": "ada"},
            "pull_request": {"number": 7, "title": "Cache totals", "state": state,
                "merged": merged, "created_at": at(t0, 2), "updated_at": at(t0, 5),
                "closed_at": if merged { json!(at(t0, 5)) } else { Value::Null },
                "merged_at": if merged { json!(at(t0, 5)) } else { Value::Null },
                "merge_commit_sha": sha('3'), "user": {"login": "ada"},
                "head": {"ref": "totals", "sha": sha('2')}, "base": {"ref": "main", "sha": sha('0')}}})
    };
    for (delivery, body) in [("d-2", pr("open", false)), ("d-3", pr("closed", true))] {
        let (status, got) = github(&app, &key, "pull_request", delivery, &body).await;
        assert_eq!(
            (status, got["recorded"].clone()),
            (200, json!("pull_request"))
        );
    }
    // The merge reaches main: the branch's commits and the merge commit.
    let merge = commit(&sha('3'), "Merge pull request #7 from acme/totals", 5);
    let (status, _) = github(
        &app,
        &key,
        "push",
        "d-4",
        &push("main", vec![c1, c2, merge]),
    )
    .await;
    assert_eq!(status, 200);

    // A bad signature is refused before anything is read or recorded.
    let deploy = json!({"action": "created", "repository": repo(),
        "deployment": {"id": 9, "sha": sha('3'), "ref": "main", "task": "deploy",
            "environment": "production", "created_at": at(t0, 6), "creator": {"login": "ci"}},
        "deployment_status": {"id": 10, "state": "success", "environment": "production",
            "created_at": at(t0, 6), "updated_at": at(t0, 6)}});
    let (status, refused) = github(
        &app,
        "lo_hook_not-the-secret",
        "deployment_status",
        "d-5",
        &deploy,
    )
    .await;
    assert_problem(&(status, refused), 401);
    let unsigned = app
        .http
        .post(app.url("/ingest/github/shop"))
        .header("x-github-event", "deployment_status")
        .json(&deploy)
        .send()
        .await
        .expect("post");
    assert_problem(&status_json(unsigned).await, 401);
    assert!(deployments(&app, &admin).await.is_empty());

    // The deployment carries the three commits and takes #7 to production.
    let (status, got) = github(&app, &key, "deployment_status", "d-5", &deploy).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["recorded"], "deployment");
    assert_eq!(got["pull_requests"], json!([7]));
    // GitHub redelivers: nothing is recorded twice.
    let (_, again) = github(&app, &key, "deployment_status", "d-5", &deploy).await;
    assert_eq!(again["recorded"], "duplicate");
    let list = deployments(&app, &admin).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["service"], "checkout");
    assert_eq!(list[0]["commits"], 3);
    assert_eq!(list[0]["commit"], json!(sha('3')));
    assert_eq!(list[0]["lead_time_secs"], 6 * HOUR);

    // Lead time in stages: two hours coding, three in review, one to deploy.
    let (status, lt) = app
        .get("/api/v1/projects/shop/improvement/dora/lead-time", &admin)
        .await;
    assert_eq!(status, 200, "{lt}");
    let want = json!({"service": "checkout", "changes": 1, "coding_secs": 2 * HOUR,
        "review_secs": 3 * HOUR, "deploy_secs": HOUR, "total_secs": 6 * HOUR});
    assert_eq!(lt["services"], json!([want]));
    assert_eq!(lt["overall"]["changes"], 1);
    // The same from the CLI.
    let table = app.cli(&admin, &["dora", "--project", "shop", "--stages"]);
    assert!(
        table.contains("checkout") && table.contains("2.0 h") && table.contains("3.0 h"),
        "{table}"
    );
    let listed = app.cli(&admin, &["deploy", "pull-requests", "--project", "shop"]);
    assert!(
        listed.contains("checkout#7") && listed.contains("merged"),
        "{listed}"
    );
    let senders = app.cli(&admin, &["deploy", "webhooks", "--project", "shop"]);
    assert!(senders.contains("/ingest/github/shop"), "{senders}");
    let (_, prs) = app
        .get("/api/v1/projects/shop/releases/pull-requests", &admin)
        .await;
    assert_eq!(prs[0]["state"], "merged");
    assert_eq!(prs[0]["review_secs"], 3 * HOUR);
    let b = crate::ui::browser();
    crate::ui::sign_in(&b, &app.base, "root@example.com", "correct horse battery").await;
    let html = b
        .get(app.url("/p/shop/improvement"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("Lead time in stages"), "{html}");

    // The commit is linked from the incident and the ticket.
    let (_, detail) = app
        .get(
            &format!("/api/v1/projects/shop/incidents/{incident}"),
            &admin,
        )
        .await;
    assert!(
        detail["links"]
            .as_array()
            .expect("links")
            .contains(&json!({"kind": "commit", "target": "checkout@2222222"})),
        "{detail}"
    );
    let (_, t) = app
        .get(&format!("/api/v1/projects/shop/tickets/{ticket}"), &admin)
        .await;
    assert_eq!(t["fixed_by"], json!(["checkout@2222222"]));

    // A second deployment, blamed for an incident, is then reverted: the
    // revert links to that incident.
    let c4 = commit(&sha('4'), "Prefetch carts", 10);
    github(&app, &key, "push", "d-6", &push("main", vec![c4])).await;
    let mut second = deploy.clone();
    second["deployment"]["sha"] = json!(sha('4'));
    second["deployment_status"]["created_at"] = json!(at(t0, 11));
    let (_, got) = github(&app, &key, "deployment_status", "d-7", &second).await;
    let deployment = got["deployment"].as_str().expect("deployment").to_owned();
    let (_, inc2) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Carts load slowly", "severity": "sev3"})),
        )
        .await;
    let incident2 = inc2["number"].as_i64().expect("incident");
    let (status, _) = app
        .send(
            Method::POST,
            &format!("/api/v1/projects/shop/incidents/{incident2}/links"),
            &admin,
            Some(json!({"kind": "deployment", "target": deployment})),
        )
        .await;
    assert_eq!(status, 200);
    let revert = commit(
        &sha('5'),
        &format!(
            "Revert \"Prefetch carts\"\n\nThis reverts commit {}.",
            sha('4')
        ),
        12,
    );
    let (_, got) = github(&app, &key, "push", "d-8", &push("main", vec![revert])).await;
    assert_eq!(got["links"], json!([format!("incident #{incident2}")]));
    // The second deployment carried only the new commit.
    let list = deployments(&app, &admin).await;
    assert_eq!(list[0]["commits"], 1);

    // A published release ships that version; a draft changes nothing.
    let release = |tag: &str, draft: bool| {
        json!({"action": "published", "repository": repo(),
            "release": {"id": 3, "tag_name": tag, "name": tag, "draft": draft,
                "prerelease": false, "target_commitish": "main",
                "created_at": at(t0, 12), "published_at": at(t0, 13)}})
    };
    let (_, got) = github(&app, &key, "release", "d-9", &release("v1.3.0", true)).await;
    assert_eq!(got["recorded"], "ignored");
    let (status, got) = github(&app, &key, "release", "d-10", &release("v1.3.0", false)).await;
    assert_eq!(
        (status, got["release"].clone()),
        (200, json!("1.3.0")),
        "{got}"
    );
    let (_, rel) = app
        .get("/api/v1/projects/shop/releases/1.3.0", &admin)
        .await;
    assert_eq!(rel["state"], "shipped", "{rel}");

    // A payload that does not read is a 400 that says why.
    let (status, bad) = github(&app, &key, "push", "d-11", &json!({"ref": 5})).await;
    assert_problem(&(status, bad.clone()), 400);
    assert!(
        bad["detail"].as_str().expect("detail").contains("ref"),
        "{bad}"
    );

    // Without the secret, nothing is taken.
    let (status, _) = app
        .send(
            Method::DELETE,
            "/api/v1/projects/shop/releases/webhooks/github",
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = github(&app, &key, "push", "d-12", &push("main", vec![])).await;
    assert_eq!(status, 401);
    app.stop().await;
}

async fn gitlab_webhooks_give_deployments_and_releases(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let token = secret(&app, &admin, "gitlab").await;
    // Whole seconds: GitLab writes some times without fractions.
    let t0 = Timestamp::from_second(Timestamp::now().as_second() - 48 * HOUR).expect("t0");
    let project = json!({"id": 15, "name": "Checkout", "path_with_namespace": "acme/checkout",
        "default_branch": "main", "web_url": "https://gitlab.example.com/acme/checkout"});
    let commit = |id: &str, message: &str, hours: i64| {
        json!({"id": id, "message": message, "title": message, "timestamp": at(t0, hours),
            "url": format!("https://gitlab.example.com/acme/checkout/-/commit/{id}"),
            "author": {"name": "Bo", "email": "bo@example.com"}})
    };
    let push = |branch: &str, commits: Vec<Value>| {
        json!({"object_kind": "push", "event_name": "push", "before": sha('0'),
            "after": commits.last().map(|c| c["id"].clone()), "ref": format!("refs/heads/{branch}"),
            "checkout_sha": commits.last().map(|c| c["id"].clone()), "user_username": "bo",
            "project_id": 15, "project": project, "commits": commits,
            "total_commits_count": 1})
    };
    let (status, _) = gitlab(
        &app,
        &token,
        "Push Hook",
        &push("speedup", vec![commit(&sha('a'), "Speed up search", 0)]),
    )
    .await;
    assert_eq!(status, 200);
    // A wrong token is refused and records nothing.
    let (status, refused) = gitlab(
        &app,
        "wrong",
        "Push Hook",
        &push("other", vec![commit(&sha('e'), "Nope", 0)]),
    )
    .await;
    assert_problem(&(status, refused), 401);
    let mr = |state: &str, action: &str| {
        json!({"object_kind": "merge_request", "event_type": "merge_request",
            "user": {"username": "bo", "name": "Bo"}, "project": project,
            "object_attributes": {"iid": 4, "title": "Speed up search", "state": state,
                "action": action, "created_at": gitlab_at(t0, 4), "updated_at": gitlab_at(t0, 8),
                "merge_commit_sha": if state == "merged" { json!(sha('b')) } else { Value::Null },
                "source_branch": "speedup", "target_branch": "main",
                "last_commit": {"id": sha('a'), "timestamp": at(t0, 0)}}})
    };
    for body in [mr("opened", "open"), mr("merged", "merge")] {
        let (status, got) = gitlab(&app, &token, "Merge Request Hook", &body).await;
        assert_eq!(
            (status, got["recorded"].clone()),
            (200, json!("pull_request")),
            "{got}"
        );
    }
    gitlab(
        &app,
        &token,
        "Push Hook",
        &push(
            "main",
            vec![
                commit(&sha('a'), "Speed up search", 0),
                commit(&sha('b'), "Merge branch 'speedup' into 'main'", 8),
            ],
        ),
    )
    .await;
    // GitLab's deployment hook: a running one is ignored, a success counts.
    // Its time carries an offset, and the full id is only in commit_url.
    let deployment = |status: &str| {
        let local = (t0 + SignedDuration::from_secs(10 * HOUR))
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(2)))
            .strftime("%Y-%m-%d %H:%M:%S %z")
            .to_string();
        json!({"object_kind": "deployment", "status": status, "status_changed_at": local,
            "deployment_id": 15, "deployable_id": 796, "environment": "production",
            "project": project, "short_sha": &sha('b')[..8],
            "user": {"username": "bo"}, "commit_url": format!("https://gitlab.example.com/acme/checkout/-/commit/{}", sha('b')),
            "commit_title": "Merge branch 'speedup' into 'main'", "ref": "main"})
    };
    let (_, running) = gitlab(&app, &token, "Deployment Hook", &deployment("running")).await;
    assert_eq!(running["recorded"], "ignored");
    let (status, got) = gitlab(&app, &token, "Deployment Hook", &deployment("success")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["pull_requests"], json!([4]));
    let list = deployments(&app, &admin).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["commits"], 2);
    let (_, lt) = app
        .get("/api/v1/projects/shop/improvement/dora/lead-time", &admin)
        .await;
    assert_eq!(
        lt["services"],
        json!([{"service": "checkout", "changes": 1, "coding_secs": 4 * HOUR,
            "review_secs": 4 * HOUR, "deploy_secs": 2 * HOUR, "total_secs": 10 * HOUR}])
    );
    // A release created from a tag ships that version.
    let (status, got) = gitlab(
        &app,
        &token,
        "Release Hook",
        &json!({"object_kind": "release", "action": "create", "tag": "v2.0.0", "name": "2.0",
            "created_at": gitlab_at(t0, 11), "released_at": gitlab_at(t0, 11),
            "project": project, "commit": {"id": sha('b')}}),
    )
    .await;
    assert_eq!(
        (status, got["release"].clone()),
        (200, json!("2.0.0")),
        "{got}"
    );
    app.stop().await;
}

async fn a_ci_system_records_deployments_by_signed_call(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let key = secret(&app, &admin, "ci").await;
    let post = |signature: Option<String>, delivery: Option<&str>, raw: String| {
        let mut req = app
            .http
            .post(app.url("/ingest/deployments/shop"))
            .header("content-type", "application/json");
        if let Some(s) = signature {
            req = req.header("x-liveops-signature", s);
        }
        if let Some(d) = delivery {
            req = req.header("x-liveops-delivery", d);
        }
        async move { status_json(req.body(raw).send().await.expect("post")).await }
    };
    let body = json!({"service": "search", "version": "4.1.0", "commit": sha('c'),
        "commits": [{"sha": sha('c'), "message": "Faster ranking", "committed_at": "2026-12-01T09:00:00Z"}]})
    .to_string();
    let sign = |raw: &str| liveops_server::signing::sign(&key, raw.as_bytes());
    assert_problem(&post(None, None, body.clone()).await, 401);
    assert_problem(
        &post(
            Some(liveops_server::signing::sign("guess", body.as_bytes())),
            None,
            body.clone(),
        )
        .await,
        401,
    );
    assert!(deployments(&app, &admin).await.is_empty());
    let (status, got) = post(Some(sign(&body)), Some("run-81"), body.clone()).await;
    assert_eq!(
        (status, got["recorded"].clone()),
        (200, json!("deployment")),
        "{got}"
    );
    let (_, again) = post(Some(sign(&body)), Some("run-81"), body.clone()).await;
    assert_eq!(again["recorded"], "duplicate");
    // A signed body that is not a deployment says why, and records nothing.
    let bad = json!({"service": "search", "version": "", "commit": "zz"}).to_string();
    let got = post(Some(sign(&bad)), Some("run-82"), bad).await;
    assert_problem(&got, 422);
    let list = deployments(&app, &admin).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["version"], "4.1.0");
    // The list of senders, for the settings.
    let (_, senders) = app
        .get("/api/v1/projects/shop/releases/webhooks", &admin)
        .await;
    assert_eq!(senders[0]["provider"], "ci");
    assert!(senders[0].get("secret").is_none(), "{senders}");

    // The same in the browser: the connections page connects GitHub and
    // shows its secret once, which then verifies a delivery.
    let b = crate::ui::browser();
    let csrf = crate::ui::sign_in(&b, &app.base, "root@example.com", "correct horse battery").await;
    let page = b
        .get(app.url("/p/shop/settings/connections"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("/ingest/github/shop") && page.contains("/ingest/slack/shop"),
        "{page}"
    );
    let resp = b
        .post(app.url("/p/shop/settings/connections/github"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .expect("connect");
    assert_eq!(resp.status(), 200);
    let page = resp.text().await.expect("html");
    let shown = page
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the secret, once")
        .to_owned();
    let (status, got) = github(
        &app,
        &shown,
        "ping",
        "ui-1",
        &json!({"zen": "Design for failure.", "hook_id": 2}),
    )
    .await;
    assert_eq!((status, got["recorded"].clone()), (200, json!("ignored")));
    let again = b
        .get(app.url("/p/shop/settings/connections"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(!again.contains(&shown), "the secret shows only once");
    app.stop().await;
}

storage_stories!(
    github_webhooks_give_deployments_and_lead_time_stages,
    gitlab_webhooks_give_deployments_and_releases,
    a_ci_system_records_deployments_by_signed_call,
);
