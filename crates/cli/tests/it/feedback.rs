//! Feedback to backlog to release, end to end: the public form and its
//! spam and rate limits, duplicate suggestions and merges, votes and
//! scores, trains, capacity, freeze and ship, deployments, notes with API
//! changes, the public changelog and its Atom feed, hotfixes for incidents,
//! imports and ticket conversion. The stories after the form start from the
//! same triaged backlog ([`triaged`]), each checking one part.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, TestApp, assert_problem, shop_with_ingest_key, spawn_app, spawn_app_with,
    storage_stories,
};

const SPEC_1_0: &str = r##"openapi: 3.0.3
info: {title: Shop, version: 1.0.0}
paths:
  /orders:
    get:
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [open, paid, shipped]}}
      responses:
        "200":
          description: Orders
          content:
            application/json:
              schema:
                type: array
                items: {$ref: "#/components/schemas/Order"}
  /orders/{id}/export:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: CSV}
components:
  schemas:
    Order:
      type: object
      required: [id, total]
      properties:
        id: {type: string}
        total: {type: number}
        currency: {type: string}
"##;

/// 1.1.0 removes the per-order export (breaking) and adds a bulk one.
const SPEC_1_1: &str = r##"openapi: 3.0.3
info: {title: Shop, version: 1.1.0}
paths:
  /orders:
    get:
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [open, paid, shipped]}}
      responses:
        "200":
          description: Orders
          content:
            application/json:
              schema:
                type: array
                items: {$ref: "#/components/schemas/Order"}
  /orders/export:
    get:
      responses:
        "200": {description: CSV}
components:
  schemas:
    Order:
      type: object
      required: [id, total]
      properties:
        id: {type: string}
        total: {type: number}
        currency: {type: string}
"##;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Posts the public form the way a browser does.
async fn form(app: &TestApp, fields: &[(&str, &str)]) -> (u16, String) {
    let resp = app
        .http
        .post(app.url("/feedback/shop"))
        .form(fields)
        .send()
        .await
        .expect("form post");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

async fn votes(app: &TestApp, admin: &str, n: i64) -> Value {
    let (status, v) = app
        .get(&format!("/api/v1/projects/shop/backlog/{n}"), admin)
        .await;
    assert_eq!(status, 200, "{v}");
    v
}
/// The project's API path `p`.
fn api(p: &str) -> String {
    format!("/api/v1/projects/shop{p}")
}

/// The shop with two backlog items, and feedback from the public form and a
/// script that has been linked, promoted and merged into them.
async fn triaged(backend: Backend) -> (TestApp, String, String) {
    let app = spawn_app_with(backend, |c| {
        c.public_url = Some("https://shop.example".into());
    })
    .await;
    let (admin, key) = shop_with_ingest_key(&app).await;

    // The backlog already holds a request and an unrelated idea.
    for (title, kind) in [
        (
            "Export orders to CSV with the currency column",
            "enhancement",
        ),
        ("Dark mode for the dashboard", "enhancement"),
    ] {
        let (status, i) = app
            .send(
                Method::POST,
                &api("/backlog"),
                &admin,
                Some(json!({"title": title, "kind": kind})),
            )
            .await;
        assert_eq!(status, 201, "{i}");
        assert_eq!(i["status"], "triage");
    }

    // The form page itself, framable by any site.
    let page = app
        .http
        .get(app.url(&format!(
            "/feedback/shop/form?key={key}&distinct_id=user-42"
        )))
        .send()
        .await
        .expect("form page");
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(csp.contains("frame-ancestors *"), "{csp}");
    assert!(page.headers().get("x-frame-options").is_none());
    let html = page.text().await.expect("html");
    assert!(html.contains("name=\"website\""), "the honeypot is there");
    assert!(html.contains("value=\"user-42\""));
    let widget = app
        .http
        .get(app.url("/feedback/widget.js"))
        .send()
        .await
        .expect("widget");
    assert!(
        widget
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("text/javascript"))
    );

    // A person sends feedback through the public form.
    let opened = (now_ms() - 20_000).to_string();
    let (status, body) = form(
        &app,
        &[
            ("key", key.as_str()),
            ("t", opened.as_str()),
            ("website", ""),
            ("kind", "enhancement"),
            ("body", "Please let me export my orders as a CSV file"),
            ("email", "ana@shop.example"),
            ("distinct_id", "user-42"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Thank you"));
    let (_, list) = app.get(&api("/feedback"), &admin).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    let f = &list[0];
    assert_eq!(
        (f["source"].as_str(), f["state"].as_str()),
        (Some("form"), Some("new"))
    );
    assert_eq!(f["reporter"]["distinct_id"], "user-42");
    assert_eq!(f["reporter"]["email"], "ana@shop.example");

    // The reporter is a known analytics person: the team sees what they did.
    let resp = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": key, "batch": [
            {"event": "orders_viewed", "distinct_id": "user-42"},
            {"event": "export_clicked", "distinct_id": "user-42"}]}))
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status().as_u16(), 200);

    // liveops suggests the existing item as a duplicate; linking is a vote.
    let (_, detail) = app.get(&api("/feedback/1"), &admin).await;
    let did: Vec<&str> = detail["activity"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["event"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        did.contains(&"orders_viewed") && did.contains(&"export_clicked"),
        "{detail}"
    );
    assert_eq!(detail["suggestions"][0]["item"], 1, "{detail}");
    assert!(
        detail["suggestions"]
            .as_array()
            .is_some_and(|s| s.iter().all(|s| s["item"] != 2)),
        "dark mode is not a duplicate: {detail}"
    );
    let (status, linked) = app
        .send(
            Method::POST,
            &api("/feedback/1/actions"),
            &admin,
            Some(json!({"action": "link", "item": 1})),
        )
        .await;
    assert_eq!(status, 200, "{linked}");
    assert_eq!(
        (linked["state"].as_str(), linked["item"].as_i64()),
        (Some("linked"), Some(1))
    );
    assert_eq!(votes(&app, &admin, 1).await["item"]["votes"], 1);

    // A second customer's script posts JSON; someone makes it a new item,
    // which liveops then flags as a duplicate of #1; one call merges it.
    let resp = app
        .http
        .post(app.url("/feedback/shop"))
        .header("x-liveops-key", &key)
        .json(
            &json!({"kind": "feature", "body": "CSV export of my orders, with currency",
            "email": "bo@shop.example"}),
        )
        .send()
        .await
        .expect("json post");
    assert_eq!(resp.status().as_u16(), 201);
    let (status, promoted) = app
        .send(
            Method::POST,
            &api("/feedback/2/actions"),
            &admin,
            Some(json!({"action": "promote"})),
        )
        .await;
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(promoted["item"], 3);
    let three = votes(&app, &admin, 3).await;
    assert_eq!(three["duplicates"][0]["item"], 1, "{three}");
    let (status, merged) = app
        .send(
            Method::POST,
            &api("/backlog/3/merge"),
            &admin,
            Some(json!({"into": 1})),
        )
        .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(
        (merged["votes"].as_i64(), merged["voters"].as_i64()),
        (Some(2), Some(2))
    );
    let three = votes(&app, &admin, 3).await;
    assert_eq!(
        (
            three["item"]["status"].as_str(),
            three["item"]["merged_into"].as_i64()
        ),
        (Some("merged"), Some(1))
    );
    assert_problem(
        &app.send(
            Method::POST,
            &api("/backlog/1/merge"),
            &admin,
            Some(json!({"into": 1})),
        )
        .await,
        422,
    );

    (app, admin, key)
}

async fn feedback_from_the_form_reaches_the_backlog(backend: Backend) {
    let (app, _, _) = triaged(backend).await;
    app.stop().await;
}

async fn the_form_keeps_bots_aside_and_limits_senders(backend: Backend) {
    let (app, admin, key) = triaged(backend).await;
    // Bots: the honeypot and a too-fast submission are kept aside as spam.
    let (status, _) = form(
        &app,
        &[
            ("key", key.as_str()),
            ("body", "cheap pills"),
            ("website", "http://spam.example"),
        ],
    )
    .await;
    assert_eq!(status, 200, "bots are not told");
    let just_now = now_ms().to_string();
    let (status, _) = form(
        &app,
        &[
            ("key", key.as_str()),
            ("body", "great app"),
            ("t", just_now.as_str()),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let (_, spam) = app.get(&api("/feedback?state=spam"), &admin).await;
    let signals: Vec<&str> = spam
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["spam_signal"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(signals, vec!["too_fast", "honeypot"]);
    let (_, visible) = app.get(&api("/feedback"), &admin).await;
    assert_eq!(
        visible.as_array().map(Vec::len),
        Some(2),
        "spam stays out of triage"
    );
    // A wrong key, an empty message and an unknown kind are refused.
    let (status, _) = form(&app, &[("key", "nope"), ("body", "hi")]).await;
    assert_eq!(status, 401);
    let (status, _) = form(&app, &[("key", key.as_str()), ("body", "  ")]).await;
    assert_eq!(status, 422);
    let (status, _) = form(
        &app,
        &[("key", key.as_str()), ("body", "x"), ("kind", "rant")],
    )
    .await;
    assert_eq!(status, 422);
    // Ten from one address in ten minutes, then 429.
    let mut limited = None;
    for n in 0..10 {
        let (status, _) = form(&app, &[("key", key.as_str()), ("body", "one more thing")]).await;
        if status == 429 {
            limited = Some(n);
            break;
        }
    }
    assert!(limited.is_some(), "the rate limit answers 429");

    app.stop().await;
}

/// The team scores item #1 by RICE; bad inputs say what is wrong.
async fn score(app: &TestApp, admin: &str) {
    // Scores: RICE with the team's inputs; bad inputs say what is wrong.
    let (status, scored) = app
        .send(
            Method::PATCH,
            &api("/backlog/1"),
            admin,
            Some(
                json!({"score": {"method": "rice", "reach": 500, "impact": 2,
                "confidence": 80, "effort": 3}}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{scored}");
    assert_eq!(scored["score"]["value"], 266.67);
    assert_problem(
        &app.send(
            Method::PATCH,
            &api("/backlog/1"),
            admin,
            Some(
                json!({"score": {"method": "rice", "reach": 500, "impact": 1.5,
                "confidence": 80, "effort": 3}}),
            ),
        )
        .await,
        422,
    );
    assert_problem(
        &app.send(
            Method::PATCH,
            &api("/backlog/1"),
            admin,
            Some(json!({"status": "released"})),
        )
        .await,
        409,
    );
    let (_, ranked) = app.get(&api("/backlog"), admin).await;
    assert_eq!(
        ranked[0]["number"], 1,
        "the scored item ranks first: {ranked}"
    );
    assert_eq!(
        ranked.as_array().map(Vec::len),
        Some(2),
        "merged items are hidden"
    );
}

async fn backlog_items_are_scored_and_ranked(backend: Backend) {
    let (app, admin, _) = triaged(backend).await;
    score(&app, &admin).await;
    app.stop().await;
}

async fn feedback_becomes_a_release(backend: Backend) {
    let (app, admin, _) = triaged(backend).await;
    score(&app, &admin).await;
    // Release 1.0.0 shipped with its API; 1.1.0 rides a biweekly train.
    let (status, train) = app
        .send(
            Method::POST,
            &api("/trains"),
            &admin,
            Some(
                json!({"name": "web", "cadence": "biweekly", "first_release": "2026-11-04",
                "freeze_days": 2}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{train}");
    assert_eq!(train["next"].as_array().map(Vec::len), Some(6));
    let ics = app
        .http
        .get(app.url(&api("/trains/web/calendar.ics")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("calendar")
        .text()
        .await
        .expect("ics");
    assert!(ics.starts_with("BEGIN:VCALENDAR"), "{ics}");
    assert!(ics.contains("SUMMARY:web code freeze") && ics.contains("SUMMARY:web release"));
    assert_problem(
        &app.send(
            Method::POST,
            &api("/trains"),
            &admin,
            Some(json!({"name": "x", "cadence": "daily", "first_release": "2026-11-04"})),
        )
        .await,
        422,
    );
    let (status, r) = app
        .send(
            Method::POST,
            &api("/releases"),
            &admin,
            Some(json!({"kind": "major", "version": "1.0.0"})),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    let put = app
        .http
        .put(app.url(&api("/releases/1.0.0/openapi")))
        .bearer_auth(&admin)
        .body(SPEC_1_0)
        .send()
        .await
        .expect("put spec");
    assert_eq!(put.status().as_u16(), 204);
    let (status, _) = app
        .send(
            Method::POST,
            &api("/releases/1.0.0/state"),
            &admin,
            Some(json!({"state": "shipped"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_problem(
        &app.send(
            Method::POST,
            &api("/releases"),
            &admin,
            Some(json!({"kind": "minor", "version": "1.0.5"})),
        )
        .await,
        422,
    );
    let (status, r) = app
        .send(
            Method::POST,
            &api("/releases"),
            &admin,
            Some(json!({"kind": "minor", "train": "web", "capacity": 2})),
        )
        .await;
    assert_eq!(status, 201, "{r}");
    assert_eq!(r["version"], "1.1.0", "the next minor after 1.0.0");
    assert_eq!(r["train"], "web");
    assert!(r["planned_for"].is_string());
    let (status, r) = app
        .send(
            Method::POST,
            &api("/releases/1.1.0/items"),
            &admin,
            Some(json!({"items": [1, 2]})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(r["capacity_warning"]["planned"], 3.0, "{r}");
    assert_eq!(r["capacity_warning"]["unestimated"], 1);
    assert_problem(
        &app.send(
            Method::POST,
            &api("/releases/1.1.0/items"),
            &admin,
            Some(json!({"items": [99]})),
        )
        .await,
        422,
    );
    let (status, _) = app
        .send(
            Method::POST,
            &api("/releases/1.1.0/state"),
            &admin,
            Some(json!({"state": "frozen"})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, late) = app
        .send(
            Method::POST,
            &api("/backlog"),
            &admin,
            Some(json!({"title": "Gift cards"})),
        )
        .await;
    assert_eq!(status, 201, "{late}");
    assert_problem(
        &app.send(
            Method::POST,
            &api("/releases/1.1.0/items"),
            &admin,
            Some(json!({"items": [4]})),
        )
        .await,
        409,
    );
    let (status, _) = app
        .send(
            Method::PATCH,
            &api("/backlog/1"),
            &admin,
            Some(json!({"status": "done"})),
        )
        .await;
    assert_eq!(status, 200);
    let put = app
        .http
        .put(app.url(&api("/releases/1.1.0/openapi")))
        .bearer_auth(&admin)
        .body(SPEC_1_1)
        .send()
        .await
        .expect("put spec");
    assert_eq!(put.status().as_u16(), 204);
    let put = app
        .http
        .put(app.url(&api("/releases/1.1.0/openapi")))
        .bearer_auth(&admin)
        .body("openapi: [")
        .send()
        .await
        .expect("put spec");
    assert_eq!(
        put.status().as_u16(),
        422,
        "a malformed document is refused"
    );

    // Deployed with its commits, then shipped.
    let (status, d) = app
        .send(
            Method::POST,
            &api("/deployments"),
            &admin,
            Some(json!({"service": "web", "version": "1.1.0", "commit": "abcdef1",
                "commits": [
                    {"sha": "abcdef1", "message": "feat(orders): bulk CSV export", "committed_at": "2026-11-27T10:00:00Z"},
                    {"sha": "abcdef0", "message": "fix: totals round to the cent", "committed_at": "2026-11-26T10:00:00Z"}]})),
        )
        .await;
    assert_eq!(status, 201, "{d}");
    let (status, shipped) = app
        .send(
            Method::POST,
            &api("/releases/1.1.0/state"),
            &admin,
            Some(json!({"state": "shipped"})),
        )
        .await;
    assert_eq!(status, 200, "{shipped}");
    assert_eq!(
        shipped["carried_over"],
        json!([2]),
        "dark mode was not done"
    );
    assert_eq!(shipped["release"]["state"], "shipped");
    assert_eq!(votes(&app, &admin, 1).await["item"]["status"], "released");
    assert_problem(
        &app.send(
            Method::POST,
            &api("/releases/1.1.0/state"),
            &admin,
            Some(json!({"state": "shipped"})),
        )
        .await,
        409,
    );

    // The notes: the item, the commits, and the API change that breaks
    // clients in a minor release.
    let (status, notes) = app.get(&api("/releases/1.1.0/notes"), &admin).await;
    assert_eq!(status, 200, "{notes}");
    let md = notes["markdown"].as_str().unwrap_or("");
    assert!(md.contains("## [1.1.0] - "), "{md}");
    assert!(
        md.contains("### Added\n\n- Export orders to CSV with the currency column (#1)"),
        "{md}"
    );
    assert!(md.contains("- orders: bulk CSV export"), "{md}");
    assert!(
        md.contains("### Fixed\n\n- totals round to the cent"),
        "{md}"
    );
    assert!(
        md.contains("### Removed\n\n- **Breaking:** API: `GET /orders/{id}/export`"),
        "{md}"
    );
    assert!(
        !md.contains("Dark mode"),
        "carried-over work is not in the notes"
    );
    assert_eq!(notes["api_base"], "1.0.0");
    let ids: Vec<&str> = notes["api_changes"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        ids.contains(&"api-path-removed-without-deprecation"),
        "{ids:?}"
    );
    assert!(ids.contains(&"endpoint-added"), "{ids:?}");
    assert!(
        notes["version_problem"]
            .as_str()
            .is_some_and(|p| p.contains("2.0.0")),
        "{notes}"
    );

    // The public changelog and its feed, once the project turns them on,
    // show the item marked public.
    let (status, v) = app
        .send(
            Method::PATCH,
            &api("/backlog/1"),
            &admin,
            Some(json!({"public": true})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = app
        .send(
            Method::PUT,
            &api("/public-pages"),
            &admin,
            Some(json!({"status_page": false, "changelog": true})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let page = app
        .http
        .get(app.url("/changelog/shop"))
        .send()
        .await
        .expect("changelog");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(
        html.contains("1.1.0") && html.contains("Export orders to CSV"),
        "{html}"
    );
    let feed = app
        .http
        .get(app.url("/changelog/shop/feed.atom"))
        .send()
        .await
        .expect("feed");
    assert!(
        feed.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with("application/atom+xml"))
    );
    let xml = feed.text().await.expect("xml");
    assert!(xml.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
    assert_eq!(xml.matches("<entry>").count(), 2, "{xml}");
    assert!(
        xml.find("<title>1.1.0</title>") < xml.find("<title>1.0.0</title>"),
        "newest first"
    );
    assert!(xml.contains("Export orders to CSV"));
    assert!(
        xml.contains("<link rel=\"self\" href=\"https://shop.example/changelog/shop/feed.atom\"/>"),
        "{xml}"
    );

    // A hotfix for an incident: opened from the hotfix request, shipped,
    // and recorded on the incident and in the notes.
    let (status, inc) = app
        .send(
            Method::POST,
            &api("/incidents"),
            &admin,
            Some(json!({"title": "Checkout fails for EUR orders", "severity": "sev2"})),
        )
        .await;
    assert_eq!(status, 201, "{inc}");
    let n = inc["number"].as_i64().expect("incident number");
    let (status, _) = app
        .send(
            Method::POST,
            &api(&format!("/incidents/{n}/hotfix")),
            &admin,
            Some(json!({"reason": "currency rounding"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, hf) = app
        .send(
            Method::POST,
            &api("/hotfixes"),
            &admin,
            Some(json!({"incident": n})),
        )
        .await;
    assert_eq!(status, 201, "{hf}");
    assert_eq!(
        (hf["version"].as_str(), hf["kind"].as_str()),
        (Some("1.1.1"), Some("hotfix"))
    );
    assert_eq!(hf["incident"], n);
    let (status, _) = app
        .send(
            Method::POST,
            &api("/releases/1.1.1/state"),
            &admin,
            Some(json!({"state": "shipped"})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, fixes) = app.get(&api("/releases/1.1.1/fixes"), &admin).await;
    assert_eq!(fixes["incidents"][0]["number"], n, "{fixes}");
    let (_, notes) = app.get(&api("/releases/1.1.1/notes"), &admin).await;
    assert!(
        notes["markdown"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("Incident #{n}: Checkout fails for EUR orders"))),
        "{notes}"
    );
    assert_problem(
        &app.send(
            Method::POST,
            &api("/hotfixes"),
            &admin,
            Some(json!({"incident": 999})),
        )
        .await,
        422,
    );
    app.stop().await;
}

/// Imports take community exports once each, and tickets become feedback.
async fn feedback_imports_and_tickets(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, _) = shop_with_ingest_key(&app).await;
    let csv = "Post ID,Title,Content,Category,Author,Email,Created At\n\
               101,CSV export,\"Please add the currency, too\",Feature Request,Ana,ana@shop.example,2026-11-20T10:00:00Z\n\
               102,,Checkout crashes on Safari,bug,Bo,,2026-11-21 09:30:00\n\
               103,,,idea,Cy,,\n";
    let import = |body: &'static str, ct: &'static str| {
        app.http
            .post(app.url("/api/v1/projects/shop/feedback/import?source=discourse"))
            .bearer_auth(&admin)
            .header("content-type", ct)
            .body(body)
            .send()
    };
    let (status, v) =
        crate::helpers::status_json(import(csv, "text/csv").await.expect("import")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["imported"].as_i64(), v["already_imported"].as_i64()),
        (Some(2), Some(0))
    );
    assert_eq!(v["rejected"][0]["record"], 3);
    let (_, again) =
        crate::helpers::status_json(import(csv, "text/csv").await.expect("import")).await;
    assert_eq!(
        (
            again["imported"].as_i64(),
            again["already_imported"].as_i64()
        ),
        (Some(0), Some(2))
    );
    let (status, bad) = crate::helpers::status_json(
        import("id,author\n1,Ana\n", "text/csv")
            .await
            .expect("import"),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let (status, _) =
        crate::helpers::status_json(import("<xml/>", "application/xml").await.expect("import"))
            .await;
    assert_eq!(status, 415);
    let (_, list) = app.get("/api/v1/projects/shop/feedback", &admin).await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(2),
        "nothing half-imported: {list}"
    );
    assert_eq!(list[1]["source"], "import:discourse");
    assert_eq!(list[1]["created_at"], "2026-11-20T10:00:00Z");

    let (status, t) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/tickets",
            &admin,
            Some(
                json!({"subject": "Invoices lack the VAT number", "requester": "dee@shop.example",
                "body": "Our accountant needs the VAT number on every invoice."}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{t}");
    let path = format!("/api/v1/projects/shop/tickets/{}/feedback", t["number"]);
    let (status, f) = app
        .send(
            Method::POST,
            &path,
            &admin,
            Some(json!({"kind": "enhancement"})),
        )
        .await;
    assert_eq!(status, 201, "{f}");
    assert_eq!(f["feedback"]["source"], "ticket");
    assert_eq!(f["feedback"]["reporter"]["email"], "dee@shop.example");
    assert!(
        f["feedback"]["body"]
            .as_str()
            .is_some_and(|b| b.contains("VAT number on every"))
    );
    assert_problem(
        &app.send(Method::POST, &path, &admin, Some(json!({}))).await,
        409,
    );
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/feedback",
            &admin,
            Some(json!({"body": ""})),
        )
        .await,
        422,
    );
    assert_problem(
        &app.send(
            Method::POST,
            "/api/v1/projects/shop/backlog",
            &admin,
            Some(json!({"title": "x", "kind": "epic"})),
        )
        .await,
        422,
    );
    app.stop().await;
}

storage_stories!(
    feedback_from_the_form_reaches_the_backlog,
    the_form_keeps_bots_aside_and_limits_senders,
    backlog_items_are_scored_and_ranked,
    feedback_becomes_a_release,
    feedback_imports_and_tickets
);

/// The client commands: feedback in, a vote, a score, a release planned,
/// scheduled, shipped and described.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_and_release_commands_work_against_a_server() {
    use crate::cli::{Place, bootstrap};
    let place = Place::new(Backend::Sqlite).await;
    let (slug, token) = bootstrap(&place);
    let server = place.serve();
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
    let json = |args: &[&str]| -> Value {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let (ok, out, err) = run(&all);
        assert!(ok, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    };
    let item = json(&[
        "backlog",
        "add",
        "--project",
        &slug,
        "--title",
        "Bulk refunds for orders",
    ]);
    assert_eq!(item["number"], 1);
    let (ok, _, err) = run(&[
        "feedback",
        "add",
        "--project",
        &slug,
        "--body",
        "I want to refund many orders at once",
        "--email",
        "eve@shop.example",
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("possible duplicates") && err.contains("#1 Bulk refunds"),
        "{err}"
    );
    let linked = json(&["feedback", "link", "--project", &slug, "1", "--item", "1"]);
    assert_eq!(linked["item"], 1);
    let scored = json(&[
        "backlog",
        "update",
        "--project",
        &slug,
        "1",
        "--ice",
        "8,6,5",
        "--status",
        "done",
    ]);
    assert_eq!(
        (scored["score"]["value"].as_f64(), scored["votes"].as_i64()),
        (Some(240.0), Some(1))
    );
    let (ok, _, err) = run(&["backlog", "update", "--project", &slug, "1", "--ice", "8,6"]);
    assert!(!ok && err.contains("--ice takes 3 numbers"), "{err}");
    let r = json(&["release", "plan", "--project", &slug, "--kind", "minor"]);
    assert_eq!(r["version"], "0.1.0");
    let r = json(&["release", "schedule", "--project", &slug, "0.1.0", "1"]);
    assert_eq!(r["items"][0]["number"], 1);
    let shipped = json(&["release", "ship", "--project", &slug, "0.1.0"]);
    assert_eq!(shipped["release"]["state"], "shipped");
    let (ok, notes, err) = run(&["release", "notes", "--project", &slug, "--release", "0.1.0"]);
    assert!(ok, "{err}");
    assert!(
        notes.contains("## [0.1.0]") && notes.contains("- Bulk refunds for orders (#1)"),
        "{notes}"
    );
    let (ok, table, _) = run(&["backlog", "list", "--project", &slug, "--all"]);
    assert!(ok && table.contains("released"), "{table}");
    let (ok, _, err) = run(&["release", "ship", "--project", &slug, "0.1.0"]);
    assert!(!ok && err.contains("409"), "{err}");
    server.stop();
}
