//! The web UI in a real browser: Debian's chromium driven through chromedriver.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use liveops_core::Area;
use serde_json::json;

use crate::helpers::{Backend, artifacts_dir, spawn_app};

pub(crate) struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start_chromedriver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver is not installed: run scripts/test.sh, which installs chromium-driver",
        );
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, port }
}

pub(crate) async fn open_browser(driver: &Driver, profile: &std::path::Path) -> Client {
    // Several crates in the test build bring rustls; name the provider once.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("connect to chromedriver")
}

/// Waits for the browser to land on a path that `want` accepts: a click
/// returns before the navigation it starts (form post, redirect) finishes.
pub(crate) async fn wait_path(c: &Client, want: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let path = c.current_url().await.expect("url").path().to_owned();
        if want(&path) || start.elapsed() > Duration::from_secs(30) {
            return path;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(
        artifacts_dir("screenshots").join(format!("{name}.png")),
        png,
    )
    .expect("save");
}

/// The text of an element that a navigation now under way will show.
async fn text_when(client: &Client, css: &str) -> String {
    let start = Instant::now();
    loop {
        match client.find(Locator::Css(css)).await {
            Ok(e) => return e.text().await.expect("text"),
            Err(e) => {
                assert!(start.elapsed() < Duration::from_secs(15), "{css}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Waits until the element's text contains `needle`, across the
/// navigation a click starts (the element may be missing or stale meanwhile).
pub(crate) async fn wait_text(client: &Client, css: &str, needle: &str) -> String {
    let start = Instant::now();
    loop {
        if let Ok(e) = client.find(Locator::Css(css)).await
            && let Ok(t) = e.text().await
            && t.contains(needle)
        {
            return t;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{css} never showed {needle:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_signs_in_switches_project_and_opens_every_area() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let _ = app.project("Shop", &ada).await;
    let _ = app.project("Blog", &ada).await;
    let driver = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = open_browser(&driver, profile.path()).await;

    // A deep link leads through the login page and back.
    c.goto(&app.url("/p/shop/support")).await.expect("goto");
    assert!(
        wait_path(&c, |p| p.starts_with("/login"))
            .await
            .starts_with("/login")
    );
    shot(&c, "01-login").await;
    c.find(Locator::Css("#email"))
        .await
        .expect("email")
        .send_keys("ada@example.com")
        .await
        .expect("type");
    c.find(Locator::Css("#password"))
        .await
        .expect("password")
        .send_keys("correct horse battery")
        .await
        .expect("type");
    c.find(Locator::Css("button[type=submit]"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("click");
    assert_eq!(
        wait_path(&c, |p| p == "/p/shop/support").await,
        "/p/shop/support"
    );
    assert_eq!(text_of(&c, "main h1").await, Area::Support.title());
    shot(&c, "02-shop-support").await;

    // Switch project from the header; the area in view stays.
    c.find(Locator::Css("details.switcher summary"))
        .await
        .expect("switcher")
        .click()
        .await
        .expect("open");
    shot(&c, "03-switcher-open").await;
    c.find(Locator::LinkText("Blog"))
        .await
        .expect("Blog link")
        .click()
        .await
        .expect("switch");
    assert_eq!(
        wait_path(&c, |p| p == "/p/blog/support").await,
        "/p/blog/support"
    );
    assert!(
        text_of(&c, "details.switcher summary")
            .await
            .contains("Blog")
    );

    // Every area from the navigation, each with its empty state.
    for (i, area) in Area::ALL.into_iter().enumerate() {
        c.find(Locator::Css(&format!(
            "nav.areas a[href='/p/blog/{}']",
            area.slug()
        )))
        .await
        .expect("nav link")
        .click()
        .await
        .expect("click");
        let want = format!("/p/blog/{}", area.slug());
        assert_eq!(wait_path(&c, |p| p == want).await, want);
        assert_eq!(text_of(&c, "main h1").await, area.title());
        let empty = text_of(&c, &format!("div.empty[data-area='{}']", area.slug())).await;
        assert!(!empty.is_empty());
        let current = text_of(&c, "nav.areas a[aria-current=page]").await;
        assert_eq!(current, area.title());
        shot(&c, &format!("{:02}-area-{}", i + 10, area.slug())).await;
    }

    // Settings: make a token in the form; its secret is shown once.
    c.find(Locator::Css("nav.areas a[href='/p/blog/settings']"))
        .await
        .expect("settings")
        .click()
        .await
        .expect("click");
    c.find(Locator::Css("#token-name"))
        .await
        .expect("name")
        .send_keys("laptop")
        .await
        .expect("type");
    c.find(Locator::XPath("//button[text()='Create token']"))
        .await
        .expect("create")
        .click()
        .await
        .expect("click");
    let secret = text_when(&c, "code.secret").await;
    assert!(secret.starts_with("lo_pat_"), "{secret}");
    shot(&c, "30-settings-token").await;

    // Sign out: back at the login page, and the project pages are closed.
    c.find(Locator::XPath("//button[text()='Sign out']"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("click");
    assert!(
        wait_path(&c, |p| p.starts_with("/login"))
            .await
            .starts_with("/login")
    );
    c.goto(&app.url("/p/blog")).await.expect("goto");
    assert!(
        wait_path(&c, |p| p.starts_with("/login"))
            .await
            .starts_with("/login")
    );
    c.close().await.expect("close browser");
    app.stop().await;
}

/// Signs ada in through the login page and waits to land on `next`.
pub(crate) async fn sign_in_to(c: &Client, app: &crate::helpers::TestApp, next: &str) {
    c.goto(&app.url(&format!("/login?next={next}")))
        .await
        .expect("login");
    fill(c, "#email", "ada@example.com").await;
    fill(c, "#password", "correct horse battery").await;
    click(c, "//button[@type='submit']").await;
    wait_path(c, |p| p == next).await;
}

pub(crate) async fn fill(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .send_keys(text)
        .await
        .expect("type");
}

pub(crate) async fn click(c: &Client, xpath: &str) {
    c.find(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("{xpath}: {e}"))
        .click()
        .await
        .expect("click");
}

/// The analytics page charts real events and runs a funnel from its form;
/// a ticket is opened and answered from the support pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_charts_analytics_and_works_a_ticket() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let (_, key) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/projects/shop/ingest-key",
            &admin,
            None,
        )
        .await;
    let now = jiff::Timestamp::now();
    let mut batch = Vec::new();
    for p in 0..40 {
        for (i, e) in ["visit", "signup", "pay"]
            .iter()
            .enumerate()
            .take(1 + p % 3)
        {
            let at = now - jiff::SignedDuration::from_hours((p % 20) as i64 * 24 + 3 - i as i64);
            // Payments carry an amount, for the trends' property math.
            let properties = if *e == "pay" {
                json!({"amount": p})
            } else {
                json!({})
            };
            batch.push(json!({"event": e, "distinct_id": format!("p{p}"),
                "timestamp": at.to_string(), "properties": properties}));
        }
    }
    let resp = app
        .http
        .post(app.url("/batch/"))
        .json(&json!({"api_key": key["ingest_key"], "batch": batch}))
        .send()
        .await
        .expect("ingest");
    assert_eq!(resp.status(), 200);

    let driver = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = open_browser(&driver, profile.path()).await;
    c.goto(&app.url("/p/shop/analytics")).await.expect("goto");
    wait_path(&c, |p| p.starts_with("/login")).await;
    fill(&c, "#email", "ada@example.com").await;
    fill(&c, "#password", "correct horse battery").await;
    click(&c, "//button[@type='submit']").await;
    assert_eq!(
        wait_path(&c, |p| p == "/p/shop/analytics").await,
        "/p/shop/analytics"
    );
    // The active-users chart is drawn, with a point per day.
    let points = c
        .find_all(Locator::Css("#active svg.lines circle"))
        .await
        .expect("points");
    assert!(points.len() >= 30, "{} points", points.len());
    assert!(text_of(&c, "table.lifecycle").await.contains("New"));
    assert!(c.find(Locator::Css("#stickiness svg.bars")).await.is_ok());
    shot(&c, "40-analytics").await;
    fill(&c, "#steps", "visit\nsignup\npay").await;
    click(&c, "//button[text()='Run funnel']").await;
    wait_path(&c, |p| p == "/p/shop/analytics").await;
    let start = Instant::now();
    while c.find(Locator::Css("table.funnel")).await.is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "no funnel table");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = text_of(&c, "table.funnel tbody tr:first-child").await;
    assert!(first.contains("visit") && first.contains("40"), "{first}");
    let last = text_of(&c, "table.funnel tbody tr:last-child").await;
    assert!(last.contains("pay") && last.contains("13"), "{last}");
    // A third of them only visited: their drop-off path is empty.
    let paths = text_of(&c, "table.paths").await;
    assert!(
        paths.contains("(nothing more)") && paths.contains("14"),
        "{paths}"
    );
    c.find(Locator::Css("#funnel"))
        .await
        .expect("funnel section")
        .click()
        .await
        .ok();
    shot(&c, "41-analytics-funnel").await;
    // Trends take property filters beyond equality.
    c.goto(&app.url("/p/shop/analytics?event=visit&where=plan%21%3F"))
        .await
        .expect("goto");
    let trends = text_of(&c, "table.trends tbody").await;
    assert!(trends.contains("40"), "{trends}");
    c.goto(&app.url("/p/shop/analytics?where=amount%3Elots"))
        .await
        .expect("goto");
    let refusal = text_of(&c, "body").await;
    assert!(refusal.contains("not a number"), "{refusal}");
    // Revenue per visitor: the sum of the payments' amounts over the
    // visitors, as a formula line of its own.
    c.goto(&app.url(
        "/p/shop/analytics?event=pay&math=sum&property=amount&event_b=visit&math_b=persons&formula=A+%2F+B",
    ))
    .await
    .expect("goto");
    let formula = text_of(&c, "table.trends tr.formula").await;
    assert!(formula.contains("A / B"), "{formula}");
    let drawn = c
        .find_all(Locator::Css("#trends svg.lines polyline"))
        .await
        .expect("lines");
    assert!(!drawn.is_empty(), "the formula is drawn");
    c.find(Locator::Css("#trends"))
        .await
        .expect("trends section")
        .click()
        .await
        .ok();
    shot(&c, "42-analytics-formula").await;

    // Performance: a request with an N+1 of item lookups, over OTLP; its
    // route, its query, and the trace's waterfall.
    let start = jiff::Timestamp::now().as_nanosecond() as i64 - 3_000_000_000;
    let span = |id: u64,
                parent: Option<u64>,
                name: &str,
                at: i64,
                ms: i64,
                attrs: serde_json::Value| {
        json!({"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": format!("{id:016x}"),
               "parentSpanId": parent.map(|p| format!("{p:016x}")).unwrap_or_default(),
               "name": name, "kind": if parent.is_some() { 3 } else { 2 },
               "startTimeUnixNano": at.to_string(), "endTimeUnixNano": (at + ms * 1_000_000).to_string(),
               "attributes": attrs})
    };
    let mut spans = vec![span(
        1,
        None,
        "GET /orders",
        start,
        120,
        json!([
        {"key": "http.route", "value": {"stringValue": "/orders"}},
        {"key": "http.request.method", "value": {"stringValue": "GET"}},
        {"key": "http.response.status_code", "value": {"intValue": 200}}]),
    )];
    for k in 0..7u64 {
        let stmt = if k == 0 {
            "SELECT id FROM orders"
        } else {
            "SELECT * FROM items WHERE order_id = $1"
        };
        spans.push(span(
            k + 2,
            Some(1),
            "SELECT",
            start + 1_000_000 + k as i64 * 15_000_000,
            12,
            json!([
            {"key": "db.system", "value": {"stringValue": "postgresql"}},
            {"key": "db.statement", "value": {"stringValue": stmt}}]),
        ));
    }
    let resp = app
        .http
        .post(app.url("/v1/traces"))
        .bearer_auth(app.key(&shop, "server").await)
        .header("content-type", "application/json")
        .body(
            json!({"resourceSpans": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "shop"}}]},
            "scopeSpans": [{"spans": spans}]}]})
            .to_string(),
        )
        .send()
        .await
        .expect("spans");
    assert_eq!(resp.status(), 200);
    c.goto(&app.url("/p/shop/performance?last=1h"))
        .await
        .expect("goto");
    let routes = text_of(&c, "table.routes tbody").await;
    assert!(routes.contains("GET /orders"), "{routes}");
    assert!(c.find(Locator::Css("#latency svg.lines")).await.is_ok());
    let patterns = text_of(&c, "#report").await;
    assert!(patterns.contains("N+1 queries (1)"), "{patterns}");
    shot(&c, "42-performance").await;
    c.find(Locator::Css("table.queries tbody tr:first-child a"))
        .await
        .expect("trace link")
        .click()
        .await
        .expect("click");
    wait_path(&c, |p| p.contains("/performance/traces/")).await;
    let bars = c
        .find_all(Locator::Css("svg.waterfall rect"))
        .await
        .expect("bars");
    assert_eq!(bars.len(), 8, "the request and its seven queries");
    shot(&c, "43-performance-trace").await;

    // Tickets: open one from the form, then reply.
    c.goto(&app.url("/p/shop/support/tickets"))
        .await
        .expect("goto");
    fill(&c, "#t-subject", "Card declined").await;
    fill(&c, "#t-requester", "cus@example.org").await;
    fill(&c, "#t-body", "My card is declined at checkout").await;
    click(&c, "//button[text()='Open ticket']").await;
    assert_eq!(
        wait_path(&c, |p| p == "/p/shop/support/tickets/1").await,
        "/p/shop/support/tickets/1"
    );
    fill(&c, "#reply", "We are looking into it").await;
    click(&c, "//button[text()='Send']").await;
    let start = Instant::now();
    loop {
        let page = c.source().await.expect("source");
        if page.contains("We are looking into it") {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "reply not shown");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text_of(&c, "table.sla").await.contains("met"));
    shot(&c, "42-ticket").await;
    c.close().await.expect("close browser");
    app.stop().await;
}

/// A customer's page embeds the feedback widget; the feedback it sends is
/// linked to a backlog item as a vote from the UI, and the release holding
/// the item is frozen and shipped from its page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_takes_feedback_from_the_widget_to_a_shipped_release() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let (_, key) = app
        .send(
            reqwest::Method::POST,
            "/api/v1/projects/shop/ingest-key",
            &admin,
            None,
        )
        .await;
    let key = key["ingest_key"].as_str().expect("key").to_owned();
    let api = |p: &str| format!("/api/v1/projects/shop{p}");
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            &api("/backlog"),
            &admin,
            Some(json!({"title": "Export orders to CSV", "kind": "enhancement"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            &api("/releases"),
            &admin,
            Some(json!({"kind": "minor", "version": "2.3.0"})),
        )
        .await;
    assert_eq!(status, 201);

    let driver = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = open_browser(&driver, profile.path()).await;
    // The customer's own page, with nothing but our script tag.
    let page = format!(
        "<!doctype html><title>Shop</title><h1>Shop</h1>\
         <script src=\"{}\" data-project=\"shop\" data-key=\"{key}\" data-distinct-id=\"user-7\"></script>",
        app.url("/feedback/widget.js")
    );
    // Served from another origin, as the customer's site would be.
    let site = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind site");
    let site_url = format!("http://{}/", site.local_addr().expect("addr"));
    let html = axum::response::Html(page);
    let site_task = tokio::spawn(async move {
        let app = axum::Router::new().route("/", axum::routing::get(move || async move { html }));
        let _ = axum::serve(site, app).await;
    });
    c.goto(&site_url).await.expect("customer page");
    let start = Instant::now();
    let button = loop {
        match c.find(Locator::Css("button[data-liveops=feedback]")).await {
            Ok(b) => break b,
            Err(e) => {
                if start.elapsed() > Duration::from_secs(15) {
                    let html = c
                        .execute("return document.documentElement.outerHTML", vec![])
                        .await;
                    panic!("no widget: {e}; {html:?}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    button.click().await.expect("open the form");
    let frame = loop {
        match c.find(Locator::Css("iframe[title='Send feedback']")).await {
            Ok(f) => break f,
            Err(e) => {
                assert!(start.elapsed() < Duration::from_secs(15), "no frame: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    frame.enter_frame().await.expect("into the frame");
    let start = Instant::now();
    while c.find(Locator::Css("textarea[name=body]")).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no form in the frame"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fill(
        &c,
        "textarea[name=body]",
        "I need to export my orders as CSV",
    )
    .await;
    fill(&c, "input[name=email]", "ana@shop.example").await;
    shot(&c, "60-feedback-widget").await;
    // A person takes a moment (the server's clock moves on); the form
    // refuses bot-speed sends as spam.
    app.clock.advance(Duration::from_secs(5));
    click(&c, "//button[text()='Send']").await;
    // The frame navigates to the answer; elements of the form go stale.
    let start = Instant::now();
    let mut thanks = String::new();
    while thanks != "Thank you" && start.elapsed() < Duration::from_secs(15) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Ok(h) = c.find(Locator::Css("h1")).await {
            thanks = h.text().await.unwrap_or_default();
        }
    }
    assert_eq!(thanks, "Thank you");
    c.enter_parent_frame().await.expect("out of the frame");

    // The team links it to the item it duplicates, from the suggestion.
    c.goto(&app.url("/p/shop/feedback")).await.expect("goto");
    wait_path(&c, |p| p.starts_with("/login")).await;
    fill(&c, "#email", "ada@example.com").await;
    fill(&c, "#password", "correct horse battery").await;
    click(&c, "//button[@type='submit']").await;
    assert_eq!(
        wait_path(&c, |p| p == "/p/shop/feedback").await,
        "/p/shop/feedback"
    );
    let row = wait_text(
        &c,
        "table.feedback tr[data-feedback='1']",
        "ana@shop.example",
    )
    .await;
    assert!(row.contains("form"), "{row}");
    click(
        &c,
        "//table[contains(@class,'feedback')]//a[contains(text(),'export my orders')]",
    )
    .await;
    wait_path(&c, |p| p == "/p/shop/feedback/1").await;
    wait_text(&c, "section.suggestions", "Export orders to CSV").await;
    click(&c, "//button[text()='Link as a vote']").await;
    wait_text(&c, "p.meta", "linked").await;
    c.goto(&app.url("/p/shop/feedback/backlog/1"))
        .await
        .expect("goto");
    wait_text(&c, "p.meta", "1 votes").await;
    wait_text(&c, "ul.votes", "ana@shop.example").await;
    // Scheduled into 2.3.0 and done, from the item's form.
    c.find(Locator::Css("select[name=release]"))
        .await
        .expect("release select")
        .select_by_value("2.3.0")
        .await
        .expect("pick release");
    c.find(Locator::Css("select[name=status]"))
        .await
        .expect("status select")
        .select_by_value("done")
        .await
        .expect("pick status");
    // Public: it may show in the changelog.
    c.find(Locator::Css("input[name=public]"))
        .await
        .expect("public box")
        .click()
        .await
        .expect("tick public");
    click(&c, "//button[text()='Save']").await;
    wait_text(&c, "p.meta", "release 2.3.0").await;
    shot(&c, "61-backlog-item").await;
    c.goto(&app.url("/p/shop/releases/2.3.0"))
        .await
        .expect("goto");
    click(&c, "//button[text()='Freeze']").await;
    wait_text(&c, "p.meta", "frozen").await;
    click(&c, "//button[text()='Ship']").await;
    wait_text(&c, "p.meta", "shipped").await;
    wait_text(&c, "section.notes", "Export orders to CSV (#1)").await;
    shot(&c, "62-release").await;
    // The changelog is off until the project turns it on.
    let (status, _) = app
        .send(
            reqwest::Method::PUT,
            &api("/public-pages"),
            &admin,
            Some(json!({"status_page": false, "changelog": true})),
        )
        .await;
    assert_eq!(status, 200);
    c.goto(&app.url("/changelog/shop")).await.expect("goto");
    wait_text(&c, "section.changelog", "2.3.0").await;
    wait_text(&c, "section.changelog", "Export orders to CSV").await;
    c.close().await.expect("close browser");
    site_task.abort();
    app.stop().await;
}

/// A postmortem worked in the browser: drafted from the incident page,
/// written, a timeline entry starred, an action item added, then asked for
/// review, signed off and published.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_drafts_writes_and_publishes_a_postmortem() {
    // The job would draft it on its own; this test drafts it by hand.
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, |c| c.job_tick_ms = 60_000).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let api = |p: &str| format!("/api/v1/projects/shop{p}");
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            &api("/incidents"),
            &admin,
            Some(json!({"title": "Checkout slow", "severity": "sev2"})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = app
        .send(
            reqwest::Method::POST,
            &api("/incidents/1/resolve"),
            &admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    // The drafting job drafts for incidents resolved within the week: a
    // week on, it leaves this one to the button, however the rounds fall.
    app.clock.advance(Duration::from_secs(8 * 24 * 3600));
    // A token made now, since the first has expired by then.
    let admin = app.token(&ada, &shop, "read,write,admin").await;

    let driver = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = open_browser(&driver, profile.path()).await;
    sign_in_to(&c, &app, "/p/shop/support/incidents/1").await;
    click(&c, "//button[text()='Draft the postmortem']").await;
    assert_eq!(
        wait_path(&c, |p| p == "/p/shop/reviews/postmortems/1").await,
        "/p/shop/reviews/postmortems/1"
    );
    let lede = wait_text(&c, "p.lede", "SEV2").await;
    assert!(lede.contains("draft"), "{lede}");
    fill(
        &c,
        "textarea[name=root_causes]",
        "A cache stampede after the deploy.",
    )
    .await;
    click(&c, "//button[text()='Save the postmortem']").await;
    wait_text(&c, "main", "A cache stampede after the deploy.").await;
    click(
        &c,
        "(//table[contains(@class,'timeline')]//button[text()='Star'])[1]",
    )
    .await;
    wait_text(&c, "table.timeline tr.starred", "★").await;
    fill(&c, "form.stack input[name=title]", "Add request coalescing").await;
    click(&c, "//button[text()='Add an action item']").await;
    wait_text(&c, "ul.actions", "Add request coalescing").await;
    click(&c, "//button[text()='Ask for review']").await;
    wait_text(&c, "p.lede", "in review").await;
    click(&c, "//button[text()='Sign off']").await;
    wait_text(&c, "main", "Signed off by ada@example.com").await;
    click(&c, "//button[text()='Publish']").await;
    let lede = wait_text(&c, "p.lede", "published").await;
    assert!(lede.contains("published"), "{lede}");
    // Published: the sections are read-only text now.
    assert!(
        c.find(Locator::Css("textarea[name=root_causes]"))
            .await
            .is_err()
    );
    shot(&c, "postmortem-published").await;
    // The action item is a backlog item that points back.
    let (_, item) = app.get(&api("/backlog/1"), &admin).await;
    assert_eq!(item["item"]["title"], "Add request coalescing");
    assert_eq!(item["item"]["postmortem"], 1);
    c.close().await.expect("close browser");
    app.stop().await;
}

/// A new server as a new user meets it: sign-in leads to the setup page,
/// which makes the first admin with the token from the log; with data in
/// every area, the project's overview shows how the product is doing now.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sets_up_the_first_admin_and_reads_the_overview() {
    use reqwest::Method;
    let app = spawn_app(Backend::Sqlite).await;
    let driver = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = open_browser(&driver, profile.path()).await;
    first_admin(&c, &app, Some("40-setup")).await;

    // Data in every area, through the API.
    let ada = app
        .state
        .db
        .user_by_email(&liveops_core::Email::parse("ada@example.com").expect("email"))
        .await
        .expect("the first admin");
    assert!(ada.is_admin);
    let (shop, _) = app.project("Shop", &ada).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let ok = |got: (u16, serde_json::Value), want: u16| assert_eq!(got.0, want, "{}", got.1);
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/schedules",
            &admin,
            Some(json!({"name": "Primary", "time_zone": "UTC", "layers": [
                {"members": ["ada@example.com"], "start": "2020-01-06T00:00", "shift": "1w"}]})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/incidents",
            &admin,
            Some(json!({"title": "Checkout errors", "severity": "sev2"})),
        )
        .await,
        201,
    );
    let (_, key) = app
        .send(
            Method::POST,
            "/api/v1/projects/shop/ingest-key",
            &admin,
            None,
        )
        .await;
    let key = key["ingest_key"].as_str().expect("key").to_owned();
    for person in ["u1", "u2", "u3"] {
        let resp = app
            .http
            .post(app.url("/capture/"))
            .json(&json!({"api_key": key, "event": "$pageview", "distinct_id": person}))
            .send()
            .await
            .expect("capture");
        assert_eq!(resp.status(), 200);
    }
    let server_key = crate::helpers::server_key(&app, &admin).await;
    let resp = app
        .http
        .post(app.url("/v1/traces"))
        .bearer_auth(&server_key)
        .header("content-type", "application/json")
        .body(crate::performance::requests("GET /pay", 60, 20, 6, 9).to_string())
        .send()
        .await
        .expect("spans");
    assert_eq!(resp.status(), 200);
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/performance/slos",
            &admin,
            Some(
                json!({"name": "payments available", "kind": "availability", "objective": 0.99,
                "route": "GET /pay"}),
            ),
        )
        .await,
        201,
    );
    let next_week = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 7))
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/releases/trains",
            &admin,
            Some(json!({"name": "weekly", "cadence": "weekly", "first_release": next_week.to_string(),
                "freeze_days": 2})),
        )
        .await,
        201,
    );
    ok(
        app.send(
            Method::POST,
            "/api/v1/projects/shop/releases",
            &admin,
            Some(json!({"kind": "minor", "version": "1.4.0", "train": "weekly"})),
        )
        .await,
        201,
    );

    let (status, glance) = app.get("/api/v1/projects/shop/overview", &admin).await;
    assert_eq!(status, 200, "{glance}");
    assert_eq!(glance["active_today"], 3, "{glance}");
    assert_eq!(glance["incidents"][0]["number"], 1);
    assert_eq!(glance["next_release"]["version"], "1.4.0");
    c.goto(&app.url("/p/shop")).await.expect("overview");
    let incidents = text_when(&c, "#glance-incidents").await;
    assert!(
        incidents.contains("#1 Checkout errors") && incidents.contains("ada@example.com (Primary)"),
        "{incidents}"
    );
    assert!(
        text_of(&c, "#glance-users .figure").await == "3",
        "{}",
        text_of(&c, "#glance-users").await
    );
    let traffic = text_of(&c, "#glance-traffic").await;
    assert!(
        traffic.contains("12.0 per minute") && traffic.contains("Errors: 10.0 %"),
        "{traffic}"
    );
    assert!(
        text_of(&c, "#glance-slos")
            .await
            .contains("payments available")
    );
    let release = text_of(&c, "#glance-release").await;
    let freeze = next_week
        .checked_sub(jiff::Span::new().days(2))
        .expect("date");
    assert!(
        release.contains("1.4.0") && release.contains(&format!("freezes {freeze}")),
        "{release}"
    );
    assert!(
        text_of(&c, "#glance-security")
            .await
            .contains("past their patch SLA")
    );
    shot(&c, "41-overview").await;
    c.find(Locator::Css("#glance-incidents h2 a"))
        .await
        .expect("link")
        .click()
        .await
        .expect("click");
    assert_eq!(
        wait_path(&c, |p| p == "/p/shop/support").await,
        "/p/shop/support"
    );
    c.close().await.expect("close browser");
    app.stop().await;
}

/// A fresh server's setup page makes ada@example.com its first admin,
/// who then signs in (`shot` names a screenshot of the filled form).
async fn first_admin(c: &Client, app: &crate::helpers::TestApp, shot_name: Option<&str>) {
    c.goto(&app.url("/login")).await.expect("goto");
    assert_eq!(wait_path(c, |p| p == "/setup").await, "/setup");
    fill(c, "#token", &app.state.setup_token).await;
    fill(c, "#email", "ada@example.com").await;
    fill(c, "#password", "correct horse battery").await;
    fill(c, "#again", "correct horse battery").await;
    if let Some(name) = shot_name {
        shot(c, name).await;
    }
    click(c, "//button[@type='submit']").await;
    assert_eq!(wait_path(c, |p| p == "/login").await, "/login");
    fill(c, "#email", "ada@example.com").await;
    fill(c, "#password", "correct horse battery").await;
    click(c, "//button[@type='submit']").await;
    wait_path(c, |p| p != "/login").await;
}

/// Types into a field after clearing what it holds.
async fn replace_text(c: &Client, css: &str, text: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.expect("clear");
    e.send_keys(text).await.expect("type");
}

/// Picks an option of a select by its value.
async fn choose(c: &Client, css: &str, value: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("{css} = {value}: {e}"));
}

/// Opens a settings form, fills it and saves; back on the configuration
/// page, which says what was saved.
async fn add_setting(
    c: &Client,
    app: &crate::helpers::TestApp,
    kind: &str,
    fields: &[(&str, &str)],
) -> String {
    c.goto(&app.url(&format!("/p/shop/settings/configure/{kind}")))
        .await
        .expect("form");
    for (name, value) in fields {
        let css = format!("#field-{name}");
        let tag = c
            .find(Locator::Css(&css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
            .tag_name()
            .await
            .expect("tag");
        if tag == "select" {
            choose(c, &css, value).await;
        } else {
            replace_text(c, &css, value).await;
        }
    }
    click(
        c,
        "//form[contains(@class,'settings-form')]//button[@type='submit']",
    )
    .await;
    wait_text(c, "div.notice", "Saved").await
}

/// A new user sets liveops up in the browser alone: the first admin, a
/// project, a second person, a status component, a schedule of two people
/// (a mistake in it is shown beside its field, with what was typed kept;
/// the saved one previews two weeks), a policy, an Alertmanager integration
/// (its URL shown once, with the receiver to paste) and an SLO. A test
/// alert to that URL then pages whoever is on call by e-mail, through a
/// real SMTP server, and the link in the mail acknowledges it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sets_up_on_call_from_nothing_and_a_page_is_acknowledged_from_its_mail() {
    let smtp = crate::smtp::SmtpServer::start().await;
    let public = "http://liveops.example.org";
    let app = smtp.app("liveops <pages@example.com>", Some(public)).await;
    let driver = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = open_browser(&driver, profile.path()).await;

    first_admin(&c, &app, None).await;

    // A project, from the welcome page; it opens on getting started.
    fill(&c, "#project-name", "Shop").await;
    click(&c, "//form[@id='new-project']//button").await;
    assert_eq!(
        wait_path(&c, |p| p == "/p/shop/start").await,
        "/p/shop/start"
    );

    // A second person, with a first password.
    c.goto(&app.url("/p/shop/settings"))
        .await
        .expect("settings");
    fill(&c, "#member-email", "bob@example.com").await;
    fill(&c, "#member-password", "correct horse battery").await;
    click(&c, "//form[@id='add-member']//button").await;
    wait_text(&c, "main", "bob@example.com").await;

    add_setting(&c, &app, "components", &[("name", "Checkout")]).await;

    // A schedule with a time zone that does not exist: the problem is
    // beside that field, and the layers typed stay.
    let layer = "ada@example.com,bob@example.com start=2020-01-06T09:00 shift=1w";
    c.goto(&app.url("/p/shop/settings/configure/schedules"))
        .await
        .expect("form");
    fill(&c, "#field-name", "Primary").await;
    fill(&c, "#field-time_zone", "Mars/Olympus").await;
    fill(&c, "#field-layers", layer).await;
    click(
        &c,
        "//form[contains(@class,'settings-form')]//button[@type='submit']",
    )
    .await;
    let problem = text_when(&c, "#field-time_zone-error").await;
    assert!(problem.contains("Mars/Olympus"), "{problem}");
    let kept = c
        .find(Locator::Css("#field-layers"))
        .await
        .expect("layers")
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert_eq!(kept.trim(), layer);
    shot(&c, "50-field-error").await;
    replace_text(&c, "#field-time_zone", "Europe/Berlin").await;
    click(
        &c,
        "//form[contains(@class,'settings-form')]//button[@type='submit']",
    )
    .await;
    wait_text(&c, "div.notice", "Saved").await;
    c.goto(&app.url("/p/shop/settings/configure/schedules?name=Primary"))
        .await
        .expect("edit");
    let preview = text_when(&c, "section.preview").await;
    assert!(
        preview.contains("ada@example.com") && preview.contains("bob@example.com"),
        "{preview}"
    );

    add_setting(
        &c,
        &app,
        "policies",
        &[("name", "Default"), ("levels", "schedule:Primary after=5m")],
    )
    .await;
    add_setting(
        &c,
        &app,
        "integrations",
        &[
            ("name", "Alertmanager"),
            ("kind", "alertmanager"),
            ("policy", "Default"),
            ("component", "Checkout"),
        ],
    )
    .await;
    let url = text_of(&c, "code.integration-url").await;
    let receiver = text_when(&c, "section.snippet").await;
    assert!(
        receiver.contains("webhook_configs") && receiver.contains(&url),
        "{receiver}"
    );
    shot(&c, "51-integration").await;
    // Its form shows the same address again, with the receiver to paste.
    c.goto(&app.url("/p/shop/settings/configure/integrations?name=Alertmanager"))
        .await
        .expect("edit");
    let again = text_when(&c, "#integration-address code.integration-url").await;
    assert_eq!(again, url);
    add_setting(
        &c,
        &app,
        "slos",
        &[
            ("name", "Checkout availability"),
            ("kind", "availability"),
            ("objective", "0.999"),
        ],
    )
    .await;
    let all = text_when(&c, "main").await;
    for want in [
        "Checkout",
        "Primary",
        "Default",
        "Alertmanager",
        "Checkout availability",
    ] {
        assert!(all.contains(want), "{want} in {all}");
    }

    // A test alert pages whoever is on call, by e-mail.
    let path = url
        .strip_prefix(public)
        .unwrap_or_else(|| panic!("not under the public URL: {url}"))
        .to_owned();
    let resp = app
        .http
        .post(app.url(&path))
        .json(&json!({"version": "4", "status": "firing", "receiver": "liveops",
            "groupKey": "{}:{alertname=\"CheckoutDown\"}", "groupLabels": {}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
            "alerts": [{"status": "firing", "labels": {"alertname": "CheckoutDown", "severity": "critical"},
                "annotations": {"summary": "Checkout is down"}, "startsAt": "2026-12-06T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "c0ffee"}]}))
        .send()
        .await
        .expect("alert");
    assert!(resp.status().is_success(), "{}", resp.status());
    let start = Instant::now();
    let link = loop {
        let found = smtp.messages().iter().find_map(|m| {
            m["body"].as_str().and_then(|b| {
                b.lines()
                    .find_map(|l| l.strip_prefix("Acknowledge: "))
                    .map(str::to_owned)
            })
        });
        if let Some(l) = found {
            break l;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "no page by mail");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let path = link
        .strip_prefix(public)
        .unwrap_or_else(|| panic!("not under the public URL: {link}"))
        .to_owned();
    c.goto(&app.url(&path)).await.expect("open the link");
    text_when(&c, "section.act form button").await;
    click(&c, "//section[contains(@class,'act')]//form//button").await;
    let done = wait_text(&c, "section.act", "acknowledged").await;
    assert!(done.contains("is now acknowledged"), "{done}");
    shot(&c, "52-acknowledged").await;
    let shop = app.state.db.project_by_slug("shop").await.expect("shop");
    let ada = app
        .state
        .db
        .user_by_email(&liveops_core::Email::parse("ada@example.com").expect("email"))
        .await
        .expect("ada");
    let token = app.token(&ada, &shop, "read").await;
    let (_, detail) = app.get("/api/v1/projects/shop/incidents/1", &token).await;
    assert_eq!(detail["incident"]["state"], "acknowledged", "{detail}");
    c.close().await.expect("close browser");
    app.stop().await;
}

/// An error a Python service sent, followed in chromium: the list shows
/// it, its page shows the stack trace with the app's frames marked, it is
/// resolved in the next release from its page, and an admin adds a
/// grouping rule from the list's settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_follows_an_error_to_its_stack_trace_and_resolves_it() {
    let app = spawn_app(Backend::Sqlite).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let (_, dsn) = app
        .get("/api/v1/projects/shop/support/errors/dsn", &admin)
        .await;
    let event = json!({
        "event_id": "0123456789abcdef0123456789abcdef",
        "release": "shop@2.1.0", "environment": "production", "platform": "python",
        "user": {"id": "cus_42"},
        "exception": {"values": [{"type": "ZeroDivisionError", "value": "division by zero",
            "stacktrace": {"frames": [
                {"module": "flask.app", "function": "dispatch", "lineno": 880, "in_app": false},
                {"module": "shop.cart", "function": "average_price", "lineno": 42, "in_app": true,
                 "context_line": "    return total / count", "pre_context": ["def average_price(items):", "    total = sum(items)"],
                 "post_context": [], "vars": {"count": "0", "total": "0"}}
            ]}}]}
    });
    assert_eq!(crate::helpers::store_event(&app, &dsn, &event).await, 200);

    let driver = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = open_browser(&driver, profile.path()).await;
    sign_in_to(&c, &app, "/p/shop/support/errors").await;
    let listed = wait_text(&c, "table.issues", "ZeroDivisionError").await;
    assert!(listed.contains("unresolved"), "{listed}");
    let dsn_shown = text_of(&c, "code.dsn").await;
    assert_eq!(dsn_shown, dsn["dsn"].as_str().expect("dsn"));
    shot(&c, "errors-list").await;
    click(
        &c,
        "//table[contains(@class,'issues')]//a[contains(text(),'ZeroDivisionError')]",
    )
    .await;
    wait_path(&c, |p| p == "/p/shop/support/errors/1").await;
    let frames = wait_text(&c, "ol.frames", "average_price").await;
    assert!(
        frames.contains("in app") && frames.contains("return total / count"),
        "{frames}"
    );
    let app_frames = c
        .find_all(Locator::Css("li.frame[data-in-app=true]"))
        .await
        .expect("frames");
    assert_eq!(app_frames.len(), 1, "one in-app frame, marked");
    shot(&c, "error-issue").await;
    click(&c, "//button[text()='Resolve in the next release']").await;
    let state = wait_text(&c, "main", "resolved for shop@2.1.0").await;
    assert!(state.contains("by ada@example.com"), "{state}");

    c.goto(&app.url("/p/shop/support/errors"))
        .await
        .expect("list");
    fill(&c, "input[name=pattern]", "Timeout*").await;
    fill(&c, "input[name=fingerprint]", "timeouts").await;
    click(&c, "//button[text()='Add the rule']").await;
    wait_text(&c, "ul.rules", "Timeout*").await;
    let (_, rules) = app
        .get(
            "/api/v1/projects/shop/support/errors/grouping-rules",
            &admin,
        )
        .await;
    assert_eq!(rules[0]["fingerprint"], json!(["timeouts"]));
    c.close().await.expect("close browser");
    app.stop().await;
}
