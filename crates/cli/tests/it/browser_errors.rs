//! A browser app's error, from the unchanged `@sentry/browser` to its
//! original source: the app is bundled and minified by esbuild with a
//! source map, its build is uploaded for the release with `liveops
//! sourcemaps upload`, the page runs in Debian's chromium and throws, and
//! the issue shows the original file, line, function and context, in the
//! API and on the issue page.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use reqwest::Method;
use serde_json::Value;

use crate::browser::{click, open_browser, shot, sign_in_to, start_chromedriver, wait_text};
use crate::helpers::{Backend, TestApp, spawn_app, storage_stories};

const RELEASE: &str = "shop-web@1.4.0";

/// The app as its developers wrote it: line 8 throws, inside
/// `computeTotal`, called by `checkout` from a click.
const APP_JS: &str = r#"import * as Sentry from "@sentry/browser";

Sentry.init({ dsn: window.LIVEOPS_DSN, release: "shop-web@1.4.0", environment: "production" });

function computeTotal(cart) {
  const prices = cart.items.map((item) => item.price);
  if (prices.some((p) => p === undefined)) {
    throw new TypeError("price missing for sku " + cart.items[0].sku);
  }
  return prices.reduce((a, b) => a + b, 0);
}

function checkout(cart) {
  const total = computeTotal(cart);
  document.getElementById("total").textContent = String(total);
}

document.getElementById("pay").addEventListener("click", function onPay() {
  checkout({ items: [{ sku: 42 }] });
});
"#;

/// Bundles and minifies the app with esbuild into `dir/dist`, with its map.
fn build(dir: &Path) -> PathBuf {
    let node = std::env::var("LIVEOPS_TEST_NODE_DIR").expect(
        "LIVEOPS_TEST_NODE_DIR is not set: run the tests with scripts/test.sh, which installs the JavaScript clients",
    );
    let modules = Path::new(&node).join("node_modules");
    std::fs::create_dir_all(dir.join("src")).expect("src");
    std::fs::write(dir.join("src/app.js"), APP_JS).expect("app.js");
    std::os::unix::fs::symlink(&modules, dir.join("node_modules")).expect("link node_modules");
    let out = std::process::Command::new(modules.join(".bin/esbuild"))
        .current_dir(dir)
        .args([
            "src/app.js",
            "--bundle",
            "--minify",
            "--sourcemap",
            "--outfile=dist/app.min.js",
            "--log-level=warning",
        ])
        .output()
        .expect("run esbuild");
    assert!(
        out.status.success(),
        "esbuild: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dist = dir.join("dist");
    let min = std::fs::read_to_string(dist.join("app.min.js")).expect("bundle");
    assert!(
        !min.contains("computeTotal"),
        "the bundle is minified: the function names are gone"
    );
    dist
}

/// Serves the page and its bundle at `/` and `/static/app.min.js` on a
/// loopback port of its own; the page's origin is not liveops'.
async fn serve_site(dist: PathBuf, dsn: String) -> String {
    let page = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Shop</title></head><body>\
         <p>Total: <span id=total>?</span></p><button id=pay>Pay</button>\
         <script>window.LIVEOPS_DSN = {};</script>\
         <script src=\"/static/app.min.js\"></script></body></html>",
        serde_json::to_string(&dsn).expect("dsn")
    );
    let bundle = std::fs::read(dist.join("app.min.js")).expect("bundle");
    let site = Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route(
            "/static/app.min.js",
            get(move || async move {
                ([(header::CONTENT_TYPE, "text/javascript")], bundle).into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, site).await;
    });
    format!("http://{addr}")
}

/// Waits for the browser's event to be filed (the SDK sends it after the
/// click returns).
async fn first_issue(app: &TestApp, admin: &str) -> Value {
    let start = Instant::now();
    loop {
        let (_, list) = app
            .get("/api/v1/projects/shop/support/errors/issues", admin)
            .await;
        if let Some(i) = list.as_array().and_then(|l| l.first()) {
            return i.clone();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the browser's error never arrived"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn the_browser_sdk_error_is_shown_in_its_original_source(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", true)
        .await;
    let (shop, _) = app.project("Shop", &ada).await;
    let admin = app.token(&ada, &shop, "read,write,admin").await;
    let (_, d) = app
        .get("/api/v1/projects/shop/support/errors/dsn", &admin)
        .await;
    let dsn = d["dsn"].as_str().expect("dsn").to_owned();

    // The build, uploaded for the release with the CLI: the script names
    // its map, and both are kept under the path the page loads them from.
    let work = tempfile::tempdir().expect("work dir");
    let dist = build(work.path());
    let dist_arg = dist.to_str().expect("utf-8 path");
    let upload = [
        "sourcemaps",
        "upload",
        "--project",
        "shop",
        "--release",
        RELEASE,
        "--url-prefix",
        "~/static/",
        dist_arg,
    ];
    let out = app.cli(&admin, &upload);
    assert!(
        out.contains("~/static/app.min.js.map") && out.contains("new"),
        "{out}"
    );
    let out = app.cli(&admin, &upload);
    assert!(out.contains("replaced"), "uploading again replaces: {out}");
    let files_at = "/api/v1/projects/shop/support/errors/releases/shop-web%401.4.0/files";
    let (status, files) = app.get(files_at, &admin).await;
    assert_eq!(status, 200, "{files}");
    let kinds: Vec<(&str, &str)> = files
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap_or(""),
                f["kind"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("~/static/app.min.js", "source"),
            ("~/static/app.min.js.map", "map")
        ]
    );
    let listed = app.cli(
        &admin,
        &[
            "sourcemaps",
            "list",
            "--project",
            "shop",
            "--release",
            RELEASE,
        ],
    );
    assert!(listed.contains("~/static/app.min.js.map"), "{listed}");
    // A map that does not decode is refused with its name, and not kept.
    let bad = app
        .http
        .put(app.url(&format!("{files_at}?name=~%2Fstatic%2Fbroken.js.map")))
        .bearer_auth(&admin)
        .body(r#"{"version":3,"sources":[],"mappings":7}"#)
        .send()
        .await
        .expect("upload");
    let (status, problem) = crate::helpers::status_json(bad).await;
    assert_eq!(status, 422, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("~/static/broken.js.map") && d.contains("not a source map")),
        "{problem}"
    );
    let (_, files) = app.get(files_at, &admin).await;
    assert_eq!(files.as_array().map(Vec::len), Some(2));

    // The page, in chromium, on an origin of its own: a click throws.
    let site = serve_site(dist, dsn).await;
    let driver = start_chromedriver();
    let profile = tempfile::tempdir().expect("profile dir");
    let c = open_browser(&driver, profile.path()).await;
    c.goto(&format!("{site}/")).await.expect("open the shop");
    wait_text(&c, "#pay", "Pay").await;
    click(&c, "//button[@id='pay']").await;
    let issue = first_issue(&app, &admin).await;
    assert_eq!(
        issue["title"], "TypeError: price missing for sku 42",
        "{issue}"
    );
    let n = issue["number"].as_i64().expect("number");

    // The API gives the original frames, innermost last as Sentry keeps them.
    let (_, detail) = app
        .get(
            &format!("/api/v1/projects/shop/support/errors/issues/{n}"),
            &admin,
        )
        .await;
    let frames = detail["events"][0]["exceptions"][0]["frames"]
        .as_array()
        .expect("frames")
        .clone();
    let mine: Vec<&Value> = frames.iter().filter(|f| f["in_app"] == true).collect();
    let top = mine.last().expect("an in-app frame");
    assert_eq!(top["filename"], "src/app.js", "{frames:#?}");
    assert_eq!(top["function"], "computeTotal", "{frames:#?}");
    assert_eq!(top["lineno"], 8, "{frames:#?}");
    assert_eq!(
        top["context_line"],
        "    throw new TypeError(\"price missing for sku \" + cart.items[0].sku);"
    );
    // Five lines before, the blank one among them.
    assert_eq!(
        top["pre_context"]
            .as_array()
            .map(|p| p.iter().filter(|l| *l == "").count()),
        Some(1),
        "{top}"
    );
    assert_eq!(
        top["pre_context"].as_array().and_then(|p| p.last()),
        Some(&Value::from("  if (prices.some((p) => p === undefined)) {"))
    );
    assert_eq!(top["sourcemap"], "~/static/app.min.js.map");
    assert!(
        top["minified"]
            .as_str()
            .is_some_and(|m| m.starts_with(&format!("{site}/static/app.min.js:"))),
        "{top}"
    );
    let caller = mine.get(mine.len().wrapping_sub(2)).expect("the caller");
    assert_eq!(caller["function"], "checkout", "{frames:#?}");
    assert_eq!(caller["lineno"], 14, "{frames:#?}");
    assert!(
        frames
            .iter()
            .filter(|f| f["filename"]
                .as_str()
                .is_some_and(|x| x.contains("node_modules/@sentry")))
            .all(|f| f["in_app"] == false),
        "the SDK's own frames are not the app's: {frames:#?}"
    );

    // The issue page shows the same, with where the minified code was.
    sign_in_to(&c, &app, &format!("/p/shop/support/errors/{n}")).await;
    let shown = wait_text(&c, "ol.frames", "computeTotal").await;
    assert!(
        shown.contains("src/app.js")
            && shown.contains("throw new TypeError(\"price missing for sku \"")
            && shown.contains("mapped by ~/static/app.min.js.map"),
        "{shown}"
    );
    c.execute(
        "document.querySelector('ol.frames li.frame[data-in-app=true]').scrollIntoView()",
        vec![],
    )
    .await
    .expect("scroll to the frames");
    shot(&c, "error-sourcemapped").await;
    c.close().await.expect("close browser");

    // A release's files can go, one by one or all together.
    app.cli(
        &admin,
        &[
            "sourcemaps",
            "delete",
            "--project",
            "shop",
            "--release",
            RELEASE,
            "--all",
        ],
    );
    let (_, files) = app.get(files_at, &admin).await;
    assert_eq!(files, serde_json::json!([]));
    let (status, _) = app
        .send(
            Method::DELETE,
            &format!("{files_at}?all=true"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 404, "nothing left to delete");
    app.stop().await;
}

storage_stories!(the_browser_sdk_error_is_shown_in_its_original_source);
