//! In Chromium: three insights saved from the analytics page, a dashboard
//! made of them, a goal and an alert set on one, and, once an order pushes
//! it over the line, the alert seen firing on the dashboard (and queued for
//! the person on call).

use fantoccini::Locator;
use serde_json::json;

use crate::browser::{
    click, fill, open_browser, shot, sign_in_to, start_chromedriver, wait_path, wait_text,
};
use crate::helpers::{Backend, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_builds_a_dashboard_sets_a_goal_and_sees_its_alert_fire() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", true)
        .await;
    let (shop, key) = app.project("Shop", &ada).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let now = app.now_ms();
    let at = |back_ms: i64| liveops_server::state::format_ms(now - back_ms);
    let order = |n: u32, amount: i64| {
        json!({"event": "order", "distinct_id": format!("u{n}"), "uuid": format!("o{n}"),
            "timestamp": at(1_000), "properties": {"amount": amount}})
    };
    let send = |batch: Vec<serde_json::Value>| {
        let (app, key) = (&app, key.clone());
        async move {
            let resp = app
                .http
                .post(app.url("/batch/"))
                .json(&json!({"api_key": key, "batch": batch}))
                .send()
                .await
                .expect("ingest");
            assert_eq!(resp.status(), 200);
        }
    };
    send(vec![
        json!({"event": "$pageview", "distinct_id": "u1", "uuid": "v1", "timestamp": at(2_000), "properties": {}}),
        json!({"event": "$pageview", "distinct_id": "u2", "uuid": "v2", "timestamp": at(2_000), "properties": {}}),
        order(1, 10),
        order(2, 20),
    ])
    .await;
    // Ada is on call for L1 and wants SEV3 and worse by e-mail at once.
    let mine = app.instance_token(&ada, "read,write").await;
    let (status, v) = app
        .send(reqwest::Method::POST, "/api/v1/me/notification-rules", &mine,
            Some(json!({"kind": "email", "address": "ada-pager@example.com", "min_severity": "sev3", "delay_secs": 0})))
        .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/projects/shop/tiers/l1",
            &admin,
            Some(json!({"members": ["ada@example.com"]})),
        )
        .await;
    assert_eq!(status, 200, "{v}");

    let driver = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = open_browser(&driver, profile.path()).await;
    // Three insights, saved from the analytics page's forms.
    sign_in_to(&c, &app, "/p/shop/analytics").await;
    c.goto(&app.url("/p/shop/analytics?event=order&math=sum&property=amount"))
        .await
        .expect("analytics");
    fill(
        &c,
        "section#trends form.save-insight input[name=name]",
        "Order value",
    )
    .await;
    click(&c, "//section[@id='trends']//button[text()='Save insight']").await;
    wait_text(&c, "h1", "Order value").await;
    c.goto(&app.url("/p/shop/analytics?event=%24pageview&math=persons"))
        .await
        .expect("analytics");
    fill(
        &c,
        "section#trends form.save-insight input[name=name]",
        "Visitors",
    )
    .await;
    click(&c, "//section[@id='trends']//button[text()='Save insight']").await;
    wait_text(&c, "h1", "Visitors").await;
    c.goto(&app.url("/p/shop/analytics?steps=%24pageview%0Aorder"))
        .await
        .expect("analytics");
    fill(
        &c,
        "section#funnel form.save-insight input[name=name]",
        "Checkout",
    )
    .await;
    click(&c, "//section[@id='funnel']//button[text()='Save insight']").await;
    wait_text(&c, "h1", "Checkout").await;

    // A dashboard of the three, the order value two columns wide.
    c.goto(&app.url("/p/shop/analytics/dashboards"))
        .await
        .expect("dashboards");
    fill(&c, "#d-name", "Sales").await;
    for (name, width) in [("Order value", "2"), ("Visitors", "1"), ("Checkout", "1")] {
        c.find(Locator::XPath(&format!(
            "//form[@id='new-dashboard']//label[contains(., '{name}')]/select"
        )))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .select_by_value(width)
        .await
        .expect("width");
    }
    click(&c, "//button[text()='Make dashboard']").await;
    let board = wait_path(&c, |p| p.starts_with("/p/shop/analytics/dashboards/")).await;
    wait_text(&c, "section.tile[data-insight='Checkout']", "Checkout").await;

    // On the order value: a goal of 50 and an alert above 40, for L1.
    click(&c, "//section[@data-insight='Order value']//h2/a").await;
    wait_text(&c, "h1", "Order value").await;
    fill(&c, "form.goal input[name=target]", "50").await;
    click(&c, "//button[text()='Set goal']").await;
    wait_text(&c, "p.headline", "goal").await;
    c.find(Locator::Css("form.alert select[name=condition]"))
        .await
        .expect("condition")
        .select_by_value("above")
        .await
        .expect("above");
    fill(&c, "form.alert input[name=value]", "40").await;
    click(&c, "//button[text()='Set alert']").await;
    wait_text(&c, "p.alert", "above 40").await;

    // 30 so far: the goal is not met and the alert is quiet.
    c.goto(&app.url(&board)).await.expect("board");
    let tile = wait_text(&c, "section.tile[data-insight='Order value']", "not met").await;
    assert!(tile.contains("30.00") && tile.contains("quiet"), "{tile}");
    // A 25 order: 55 crosses both lines; the next check fires the alert.
    send(vec![order(3, 25)]).await;
    liveops_server::jobs::housekeeping::tick(&app.state).await;
    app.clock.advance(std::time::Duration::from_secs(61));
    c.goto(&app.url(&board)).await.expect("board");
    let tile = wait_text(&c, "section.tile[data-insight='Order value']", "firing").await;
    assert!(tile.contains("55.00") && tile.contains("met"), "{tile}");
    assert!(!tile.contains("not met"), "{tile}");
    shot(&c, "dashboard-alert-firing").await;
    let told: Vec<String> = app
        .state
        .db
        .deliveries_for_project(&shop.id, 50)
        .await
        .expect("outbox")
        .into_iter()
        .filter(|d| d.subject.contains("Order value"))
        .map(|d| d.target)
        .collect();
    assert_eq!(told, ["ada-pager@example.com"]);
    c.close().await.expect("close");
    app.stop().await;
}
