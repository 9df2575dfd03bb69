//! Cohorts end to end: behavioural, property and static cohorts defined
//! through the API, the CLI and the page; used as the filter of trends,
//! funnels, active users, feedback and error issues, and as the breakdown
//! of trends and funnels; their sizes over time; every number checked against counts
//! made by hand from the seeded events.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{
    Backend, assert_problem, shop_with_ingest_key, spawn_app, storage_stories, store_event,
};

const DAY: i64 = 86_400_000;

fn iso(ms: i64) -> String {
    liveops_server::state::format_ms(ms)
}

fn counts(line: &Value) -> Vec<u64> {
    line["points"]
        .as_array()
        .map(|p| p.iter().filter_map(|x| x["events"].as_u64()).collect())
        .unwrap_or_default()
}

async fn cohorts_filter_and_break_down(backend: Backend) {
    let app = spawn_app(backend).await;
    let (admin, key) = shop_with_ingest_key(&app).await;
    // Day 0 is today (UTC); every event is at 10:00 of an earlier day.
    let today = app.now_ms().div_euclid(DAY) * DAY;
    let at = |days_ago: i64| iso(today - days_ago * DAY + 10 * 3_600_000);
    let mut n = 0;
    let mut ev = |name: &str, who: &str, days_ago: i64, extra: Value| {
        n += 1;
        let mut e = json!({"event": name, "distinct_id": who, "uuid": format!("e{n}"),
            "timestamp": at(days_ago), "properties": {}});
        if let (Some(e), Some(x)) = (e.as_object_mut(), extra.as_object()) {
            e.extend(x.clone());
        }
        e
    };
    let pro = json!({"$set": {"plan": "pro"}});
    let free = json!({"$set": {"plan": "free"}});
    // Pia viewed on each of the last three days and ordered yesterday;
    // Quin viewed twice; Zed viewed 20 days ago and yesterday; Uma only
    // signed up.
    let batch = vec![
        ev("$pageview", "pia", 3, pro.clone()),
        ev("$pageview", "pia", 2, json!({})),
        ev("$pageview", "pia", 1, json!({})),
        ev("order", "pia", 1, json!({"properties": {"$revenue": 30}})),
        ev("$pageview", "quin", 2, free),
        ev("$pageview", "quin", 1, json!({})),
        ev("$pageview", "zed", 20, json!({})),
        ev("$pageview", "zed", 1, json!({})),
        ev("signup", "uma", 1, pro),
    ];
    let resp = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": key, "batch": batch}))
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), 200);
    let api = "/api/v1/projects/shop/analytics";
    let create = |body: Value| {
        let (app, admin) = (&app, admin.clone());
        async move {
            app.send(
                Method::POST,
                "/api/v1/projects/shop/analytics/cohorts",
                &admin,
                Some(body),
            )
            .await
        }
    };

    // Definitions that cannot work are refused, saying why.
    for (body, says) in [
        (
            json!({"name": "X", "kind": "behavioural", "event": "$pageview", "min_count": 0}),
            "at least 1",
        ),
        (
            json!({"name": "X", "kind": "behavioural", "event": "$pageview", "days": 0}),
            "1 to 3650 days",
        ),
        (
            json!({"name": "X", "kind": "property", "where": "plan"}),
            "operator",
        ),
        (json!({"name": "X", "kind": "static"}), "distinct ids"),
        (
            json!({"name": "X", "kind": "sometimes"}),
            "unknown cohort kind",
        ),
        (
            json!({"name": "a,b", "kind": "property", "where": "plan=pro"}),
            "without commas",
        ),
        (
            json!({"name": "X", "kind": "property", "where": "plan=pro", "distinct_ids": ["u"]}),
            "only a static cohort",
        ),
    ] {
        let got = create(body.clone()).await;
        assert_problem(&got, 422);
        let detail = got.1["detail"].as_str().unwrap_or("");
        assert!(detail.contains(says), "{body}: {detail}");
    }

    // Regulars (by the CLI): two views or more in the last 7 days — Pia
    // and Quin; Zed's first view is too old.
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "cohort",
            "create",
            "--project",
            "shop",
            "--name",
            "Regulars",
            "--did",
            "$pageview",
            "--at-least",
            "2",
            "--days",
            "7",
        ],
    );
    assert!(out.contains("Regulars") && out.contains("2"), "{out}");
    let (status, lapsed) = create(json!({"name": "Lapsed", "kind": "behavioural",
        "event": "$pageview", "days": 7, "did": false}))
    .await;
    assert_eq!(status, 201, "{lapsed}");
    assert_eq!(lapsed["size"], 1, "only Uma viewed nothing: {lapsed}");
    let (status, pro_cohort) =
        create(json!({"name": "Pro", "kind": "property", "where": "plan=pro"})).await;
    assert_eq!(status, 201, "{pro_cohort}");
    assert_eq!(pro_cohort["size"], 2, "Pia and Uma: {pro_cohort}");
    let dup = create(json!({"name": "Pro", "kind": "property", "where": "plan=free"})).await;
    assert_problem(&dup, 409);
    // Static, from a CSV file through the CLI: Ghost has sent nothing yet
    // and stands for himself.
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("vip.csv");
    std::fs::write(&csv, "distinct_id\nzed\n\"uma\"\nghost\nzed\n").expect("csv");
    let csv_arg = csv.display().to_string();
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "cohort",
            "create",
            "--project",
            "shop",
            "--name",
            "VIP",
            "--csv",
            csv_arg.as_str(),
        ],
    );
    assert!(out.contains("static"), "{out}");
    let (status, list) = app.get(&format!("{api}/cohorts"), &admin).await;
    assert_eq!(status, 200, "{list}");
    let sizes: Vec<(String, u64, u64)> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap_or("").to_owned(),
                c["size"].as_u64().unwrap_or(99),
                c["listed"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(
        sizes,
        [
            ("Lapsed".into(), 1, 0),
            ("Pro".into(), 2, 0),
            ("Regulars".into(), 2, 0),
            ("VIP".into(), 3, 3)
        ]
    );
    let (status, detail) = app.get(&format!("{api}/cohorts/Regulars"), &admin).await;
    assert_eq!(status, 200, "{detail}");
    let mut who: Vec<String> = detail["persons"]
        .as_array()
        .expect("persons")
        .iter()
        .flat_map(|p| p["distinct_ids"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d.as_str().map(str::to_owned))
        .collect();
    who.sort();
    assert_eq!(who, ["pia", "quin"]);
    assert_eq!(
        detail["cohort"]["rule"],
        "did $pageview at least 2 times in the last 7 days"
    );

    // $pageview per day for the last four days, broken down by cohorts:
    // Regulars 1, 2, 2, 0 (Pia, then Pia and Quin); Pro 1, 1, 1, 0 (Pia;
    // Uma never viewed).
    let range = format!(
        "from={}&to={}",
        &iso(today - 3 * DAY)[..10],
        &iso(today + DAY)[..10]
    );
    let (status, t) = app
        .get(
            &format!(
                "{api}/trends?event=%24pageview&breakdown_type=cohort&breakdown=Regulars,Pro&{range}"
            ),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{t}");
    assert_eq!(t["series"][0]["value"], "Regulars");
    assert_eq!(counts(&t["series"][0]), [1, 2, 2, 0]);
    assert_eq!(t["series"][1]["value"], "Pro");
    assert_eq!(counts(&t["series"][1]), [1, 1, 1, 0]);
    // Kept to one cohort: Zed's views do not count.
    let (_, kept) = app
        .get(
            &format!("{api}/trends?event=%24pageview&in_cohort=Regulars&{range}"),
            &admin,
        )
        .await;
    assert_eq!(counts(&kept["series"][0]), [1, 2, 2, 0]);
    let (_, everyone) = app
        .get(&format!("{api}/trends?event=%24pageview&{range}"), &admin)
        .await;
    assert_eq!(counts(&everyone["series"][0]), [1, 2, 3, 0]);
    for (q, status, says) in [
        ("in_cohort=Nobody", 404, "no cohort `Nobody`"),
        ("breakdown_type=cohort", 422, "needs the cohorts"),
        (
            "breakdown_type=person&breakdown=plan",
            422,
            "breakdown_type",
        ),
    ] {
        let got = app.get(&format!("{api}/trends?{q}&{range}"), &admin).await;
        assert_problem(&got, status);
        let detail = got.1["detail"].as_str().unwrap_or("");
        assert!(detail.contains(says), "{q}: {detail}");
    }
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "trends",
            "--project",
            "shop",
            "--event",
            "$pageview",
            "--by-cohort",
            "Regulars,Pro",
            "--from",
            &iso(today - 3 * DAY)[..10],
            "--to",
            &iso(today + DAY)[..10],
        ],
    );
    assert!(out.contains("Regulars") && out.contains("Pro"), "{out}");

    // The web overview and revenue kept to a cohort: the Regulars' five
    // views of seven; Pia's 30 euros for the Regulars, nothing for VIP.
    let (_, web) = app
        .get(&format!("{api}/web?in_cohort=Regulars"), &admin)
        .await;
    assert_eq!(web["page_views"], 5, "{web}");
    let (_, web) = app.get(&format!("{api}/web"), &admin).await;
    assert_eq!(web["page_views"], 7, "{web}");
    for (cohort, paid) in [("Regulars", 30.0), ("VIP", 0.0)] {
        let (status, r) = app
            .get(&format!("{api}/revenue?in_cohort={cohort}"), &admin)
            .await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["revenue"].as_f64(), Some(paid), "{cohort}: {r}");
    }

    // A funnel from a view to an order: Regulars 2 then 1 (Pia), Pro 1
    // then 1; kept to Regulars, 2 then 1.
    let funnel = |extra: Value| {
        let (app, admin) = (&app, admin.clone());
        let mut body =
            json!({"steps": ["$pageview", "order"], "from": &iso(today - 10 * DAY)[..10]});
        if let (Some(b), Some(x)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(x.clone());
        }
        async move {
            app.send(
                Method::POST,
                "/api/v1/projects/shop/analytics/funnel",
                &admin,
                Some(body),
            )
            .await
        }
    };
    let (status, f) =
        funnel(json!({"breakdown_type": "cohort", "breakdown": "Regulars,Pro"})).await;
    assert_eq!(status, 200, "{f}");
    let steps = |v: &Value| -> Vec<u64> {
        v["steps"]
            .as_array()
            .map(|s| s.iter().filter_map(|x| x["persons"].as_u64()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        steps(&f),
        [3, 1],
        "Pia, Quin and Zed viewed, Pia ordered: {f}"
    );
    assert_eq!(f["breakdown"][0]["value"], "Regulars");
    assert_eq!(steps(&f["breakdown"][0]), [2, 1]);
    assert_eq!(f["breakdown"][1]["value"], "Pro");
    assert_eq!(steps(&f["breakdown"][1]), [1, 1]);
    let (_, f) = funnel(json!({"in_cohort": "Regulars"})).await;
    assert_eq!(steps(&f), [2, 1]);
    let both = funnel(json!({"breakdown": "plan", "in_cohort": "Nobody"})).await;
    assert_problem(&both, 404);

    // Daily retention of a first view, broken down by cohorts: of the
    // Regulars, Pia (first view three days ago) came back on each of the
    // next two days, and Quin (two days ago) the next day; later cohorts
    // have fewer periods to come back in.
    let (status, r) = app
        .send(
            Method::POST,
            &format!("{api}/retention"),
            &admin,
            Some(
                json!({"start_event": "$pageview", "interval": "day", "periods": 3,
                "from": &iso(today - 3 * DAY)[..10], "breakdown_type": "cohort",
                "breakdown": "Regulars,Pro"}),
            ),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["breakdown"][0]["value"], "Regulars");
    let counts = |c: &Value| -> Vec<Vec<u64>> {
        c.as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        row["counts"]
                            .as_array()
                            .map(|n| n.iter().filter_map(Value::as_u64).collect())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        counts(&r["breakdown"][0]["cohorts"]),
        [vec![1, 1, 1], vec![1, 1], vec![0]]
    );
    assert_eq!(r["breakdown"][1]["value"], "Pro");
    assert_eq!(
        counts(&r["breakdown"][1]["cohorts"]),
        [vec![1, 1, 1], vec![0, 0], vec![0]]
    );
    let wrong = app
        .send(
            Method::POST,
            &format!("{api}/retention"),
            &admin,
            Some(json!({"start_event": "$pageview", "breakdown": "Regulars"})),
        )
        .await;
    assert_problem(&wrong, 422);

    // Active users kept to Pro: Pia alone two and three days ago, Pia and
    // Uma yesterday.
    let from = &iso(today - 3 * DAY)[..10];
    let to = &iso(today)[..10];
    let (_, active) = app
        .get(
            &format!("{api}/active?in_cohort=Pro&from={from}&to={to}"),
            &admin,
        )
        .await;
    let dau: Vec<u64> = active
        .as_array()
        .expect("days")
        .iter()
        .filter_map(|d| d["dau"].as_u64())
        .collect();
    assert_eq!(dau, [1, 1, 2], "{active}");
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "active",
            "--project",
            "shop",
            "--in-cohort",
            "Pro",
            "--from",
            from,
            "--to",
            to,
        ],
    );
    assert!(
        out.lines()
            .any(|l| l.contains(&iso(today - DAY)[..10]) && l.contains(" 2")),
        "{out}"
    );
    compare_cohorts(&app, &admin, today).await;

    // Regulars at the end of each of the last six days, from the events:
    // nobody until Pia's second view, then Pia, then Pia and Quin.
    let (status, sizes) = app
        .get(
            &format!(
                "{api}/cohorts/Regulars/sizes?from={}&to={}",
                &iso(today - 5 * DAY)[..10],
                &iso(today + DAY)[..10]
            ),
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{sizes}");
    let got: Vec<Option<u64>> = sizes
        .as_array()
        .expect("sizes")
        .iter()
        .map(|s| s["size"].as_u64())
        .collect();
    assert_eq!(got, [Some(0), Some(0), Some(0), Some(1), Some(2), Some(2)]);
    // A property cohort's history is what the housekeeping job measured:
    // nothing before its first round, today's size after it.
    let pro_sizes = format!("{api}/cohorts/Pro/sizes?from={}", &iso(today - DAY)[..10]);
    let (_, before) = app.get(&pro_sizes, &admin).await;
    assert_eq!(
        before,
        json!([{"date": &iso(today - DAY)[..10], "size": null}, {"date": &iso(today)[..10], "size": null}])
    );
    liveops_server::jobs::housekeeping::tick(&app.state).await;
    let (_, after) = app.get(&pro_sizes, &admin).await;
    assert_eq!(after[1]["size"], 2, "{after}");
    let out = app.cli(
        &admin,
        &["analytics", "cohort", "sizes", "--project", "shop", "Pro"],
    );
    assert!(
        out.lines().last().is_some_and(|l| l.ends_with('2')),
        "{out}"
    );

    // Feedback from the Pro cohort: Pia's, not Quin's nor the anonymous one.
    for (who, text) in [
        (Some("pia"), "Export to CSV please"),
        (Some("quin"), "Dark mode"),
        (None, "Anonymous idea"),
    ] {
        let (status, v) = app
            .send(
                Method::POST,
                "/api/v1/projects/shop/feedback",
                &admin,
                Some(json!({"body": text, "distinct_id": who})),
            )
            .await;
        assert_eq!(status, 201, "{v}");
    }
    let (status, fb) = app
        .get("/api/v1/projects/shop/feedback?in_cohort=Pro", &admin)
        .await;
    assert_eq!(status, 200, "{fb}");
    let bodies: Vec<&str> = fb
        .as_array()
        .expect("feedback")
        .iter()
        .filter_map(|f| f["body"].as_str())
        .collect();
    assert_eq!(bodies, ["Export to CSV please"]);

    // Error issues that reached the Pro cohort: Pia's KeyError, not Quin's
    // ValueError.
    let (status, dsn) = app
        .get("/api/v1/projects/shop/support/errors/dsn", &admin)
        .await;
    assert_eq!(status, 200, "{dsn}");
    for (ty, who) in [("KeyError", "pia"), ("ValueError", "quin")] {
        let event = json!({"exception": [{"type": ty, "value": "x",
            "stacktrace": {"frames": [{"function": "charge", "module": "shop", "in_app": true}]}}],
            "user": {"id": who}});
        assert_eq!(store_event(&app, &dsn, &event).await, 200);
    }
    let (status, issues) = app
        .get(
            "/api/v1/projects/shop/support/errors/issues?in_cohort=Pro",
            &admin,
        )
        .await;
    assert_eq!(status, 200, "{issues}");
    let titles: Vec<&str> = issues
        .as_array()
        .expect("issues")
        .iter()
        .filter_map(|i| i["title"].as_str())
        .collect();
    assert!(
        titles.len() == 1 && titles[0].starts_with("KeyError"),
        "{issues}"
    );

    // The pages: the list, a cohort's page, and the analytics page kept to
    // a cohort.
    let (_, html) = crate::ui::root_page(&app.base, "/p/shop/analytics/cohorts").await;
    assert!(html.contains("Regulars") && html.contains("VIP"), "{html}");
    let id = detail["cohort"]["id"].as_str().unwrap_or("");
    let (_, html) =
        crate::ui::root_page(&app.base, &format!("/p/shop/analytics/cohorts/{id}")).await;
    assert!(
        html.contains("<strong id=\"cohort-size\">2</strong>"),
        "{html}"
    );
    let (_, html) = crate::ui::root_page(&app.base, "/p/shop/analytics?cohort=Pro").await;
    assert!(html.contains("id=\"cohort-note\""), "{html}");
    let (_, html) = crate::ui::root_page(&app.base, "/p/shop/analytics?cohort=Nobody").await;
    assert!(html.contains("no cohort"), "{html}");

    // Deleting: by the CLI, then it is gone.
    let out = app.cli(
        &admin,
        &[
            "analytics",
            "cohort",
            "delete",
            "--project",
            "shop",
            "Lapsed",
        ],
    );
    assert!(out.contains("deleted"), "{out}");
    let gone = app.get(&format!("{api}/cohorts/Lapsed"), &admin).await;
    assert_problem(&gone, 404);
    let (_, audit) = app.get("/api/v1/projects/shop/audit", &admin).await;
    let text = audit.to_string();
    assert!(
        text.contains("analytics.cohort.create") && text.contains("analytics.cohort.delete"),
        "{text}"
    );
    app.stop().await;
}

/// Active users, stickiness, lifecycle, the web overview and revenue, each
/// compared between Regulars (Pia, Quin) and Pro (Pia, Uma), over the
/// three days before today.
async fn compare_cohorts(app: &crate::helpers::TestApp, admin: &str, today: i64) {
    let api = "/api/v1/projects/shop/analytics";
    let from = &iso(today - 3 * DAY)[..10];
    let to = &iso(today)[..10];
    let by = "breakdown_type=cohort&breakdown=Regulars,Pro";
    let per_cohort = |rows: &Value, field: &str| -> Vec<(String, Vec<u64>)> {
        let mut out: Vec<(String, Vec<u64>)> = Vec::new();
        for r in rows.as_array().into_iter().flatten() {
            let c = r["cohort"].as_str().unwrap_or("(none)").to_owned();
            let n = r[field].as_u64().unwrap_or(999);
            match out.last_mut() {
                Some((last, ns)) if *last == c => ns.push(n),
                _ => out.push((c, vec![n])),
            }
        }
        out
    };
    let line = |c: &str, ns: &[u64]| (c.to_owned(), ns.to_vec());
    // DAU: Regulars Pia, then Pia and Quin twice; Pro Pia, Pia, then Pia
    // and Uma.
    let (status, active) = app
        .get(&format!("{api}/active?{by}&from={from}&to={to}"), admin)
        .await;
    assert_eq!(status, 200, "{active}");
    assert_eq!(
        per_cohort(&active, "dau"),
        [line("Regulars", &[1, 2, 2]), line("Pro", &[1, 1, 2])]
    );
    // Days active of three: Regulars Pia 3, Quin 2; Pro Pia 3, Uma 1.
    let (status, sticky) = app
        .get(&format!("{api}/stickiness?{by}&from={from}&to={to}"), admin)
        .await;
    assert_eq!(status, 200, "{sticky}");
    assert_eq!(
        per_cohort(&sticky, "persons"),
        [line("Regulars", &[0, 1, 1]), line("Pro", &[1, 0, 1])]
    );
    // Daily lifecycle: Pia is new three days ago, Quin two days ago, Uma
    // yesterday; after that each is returning.
    let (status, life) = app
        .get(
            &format!("{api}/lifecycle?{by}&interval=day&periods=3&from={from}"),
            admin,
        )
        .await;
    assert_eq!(status, 200, "{life}");
    assert_eq!(
        per_cohort(&life, "new"),
        [line("Regulars", &[1, 1, 0]), line("Pro", &[1, 0, 1])]
    );
    assert_eq!(
        per_cohort(&life, "returning"),
        [line("Regulars", &[0, 1, 2]), line("Pro", &[0, 1, 1])]
    );
    // Page views in the last 30 days: the Regulars' five (each its own
    // session, a day apart) and Pia's three for Pro; the whole is all seven.
    let (status, web) = app.get(&format!("{api}/web?{by}"), admin).await;
    assert_eq!(status, 200, "{web}");
    assert_eq!(web["page_views"], 7, "{web}");
    let b = &web["breakdown"];
    assert_eq!(
        (
            &b[0]["value"],
            &b[0]["page_views"],
            &b[0]["visitors"],
            &b[0]["sessions"]
        ),
        (&json!("Regulars"), &json!(5), &json!(2), &json!(5)),
        "{web}"
    );
    assert_eq!(b[0]["bounce_rate"].as_f64(), Some(1.0), "{web}");
    assert_eq!(
        (&b[1]["value"], &b[1]["page_views"], &b[1]["visitors"]),
        (&json!("Pro"), &json!(3), &json!(1)),
        "{web}"
    );
    // Pia's 30 for each; VIP (Zed, Uma, Ghost) paid nothing.
    let (status, r) = app
        .get(
            &format!("{api}/revenue?breakdown_type=cohort&breakdown=Regulars,VIP"),
            admin,
        )
        .await;
    assert_eq!(status, 200, "{r}");
    let paid: Vec<(String, f64, u64)> = r["breakdown"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            (
                l["value"].as_str().unwrap_or("").to_owned(),
                l["revenue"].as_f64().unwrap_or(-1.0),
                l["payers"].as_u64().unwrap_or(99),
            )
        })
        .collect();
    assert_eq!(paid, [("Regulars".into(), 30.0, 1), ("VIP".into(), 0.0, 0)]);
    // Only named cohorts compare here, and a comparison names them.
    for (path, says) in [
        (
            "active?breakdown_type=person&breakdown=plan",
            "named cohorts only",
        ),
        ("stickiness?breakdown=plan", "named cohorts only"),
        ("lifecycle?breakdown_type=cohort", "needs the cohorts"),
        (
            "web?breakdown_type=cohort&breakdown=Nobody",
            "no cohort `Nobody`",
        ),
        (
            "revenue?breakdown_type=event&breakdown=plan",
            "named cohorts only",
        ),
    ] {
        let got = app.get(&format!("{api}/{path}"), admin).await;
        let status = if says.starts_with("no cohort") {
            404
        } else {
            422
        };
        assert_problem(&got, status);
        let detail = got.1["detail"].as_str().unwrap_or("");
        assert!(detail.contains(says), "{path}: {detail}");
    }
    // The CLI puts each row's cohort first.
    let out = app.cli(
        admin,
        &[
            "analytics",
            "stickiness",
            "--project",
            "shop",
            "--by-cohort",
            "Regulars,Pro",
            "--from",
            from,
            "--to",
            to,
        ],
    );
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["Regulars", "2", "1"],
            vec!["Regulars", "3", "1"],
            vec!["Pro", "1", "1"],
            vec!["Pro", "3", "1"]
        ],
        "{out}"
    );
    let out = app.cli(
        admin,
        &[
            "analytics",
            "revenue",
            "show",
            "--project",
            "shop",
            "--by-cohort",
            "Regulars,VIP",
        ],
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("Regulars") && l.contains("30.00")),
        "{out}"
    );
    // A saved insight of active users by cohort draws a DAU line per cohort.
    let query = json!({"from": from, "to": to, "breakdown_type": "cohort",
        "breakdown": "Regulars,Pro"});
    let (status, saved) = app
        .send(
            Method::POST,
            &format!("{api}/insights"),
            admin,
            Some(json!({"name": "DAU by cohort", "kind": "active", "query": query})),
        )
        .await;
    assert_eq!(status, 201, "{saved}");
    let link = saved["link"].as_str().unwrap_or("");
    let (_, html) = crate::ui::root_page(&app.base, link).await;
    assert!(
        html.contains("DAU Regulars") && html.contains("DAU Pro"),
        "{html}"
    );
}

storage_stories!(cohorts_filter_and_break_down);
