//! The web UI over plain HTTP: sign-in, CSRF, throttling and the area pages.

use reqwest::Client;

use crate::helpers::{Backend, spawn_app, storage_stories};

/// Pulls `name="field" value="…"` out of a page.
pub fn hidden_value(html: &str, field: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{field}\" value=\""))?;
    let rest = &html[at + field.len() + 15..];
    rest.split('"').next().map(str::to_owned)
}

/// Signs in through the login form and returns the session's CSRF token.
pub async fn sign_in(browser: &Client, base: &str, email: &str, password: &str) -> String {
    let form = browser
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("body");
    let csrf = hidden_value(&form, "csrf").expect("login csrf");
    let resp = browser
        .post(format!("{base}/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf", &csrf),
            ("next", "/"),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), 303, "sign-in failed");
    let page = browser.get(format!("{base}/")).send().await.expect("home");
    let location = page
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or("/")
        .to_owned();
    let html = browser
        .get(format!("{base}{location}"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("body");
    hidden_value(&html, "_csrf").expect("session csrf in the page")
}

fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

async fn sign_in_shows_projects_and_areas(backend: Backend) {
    let app = spawn_app(backend).await;
    let ada = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let _ = app.project("Shop", &ada).await;
    let b = browser();

    // Signed-out visitors are sent to the login page, keeping where they were going.
    let resp = b.get(app.url("/p/shop/support")).send().await.expect("get");
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers().get("location").and_then(|l| l.to_str().ok()),
        Some("/login?next=%2Fp%2Fshop%2Fsupport")
    );

    // A wrong password is refused with a message and no session.
    let form = b
        .get(app.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("body");
    let csrf = hidden_value(&form, "csrf").expect("csrf");
    let wrong = b
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@example.com"),
            ("password", "nope nope nope"),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 401);
    assert!(
        wrong
            .text()
            .await
            .expect("body")
            .contains("Wrong e-mail address or password")
    );

    // A forged form (no matching CSRF cookie) is refused.
    let forged = Client::new()
        .post(app.url("/login"))
        .form(&[
            ("email", "ada@example.com"),
            ("password", "correct horse battery"),
            ("csrf", "x"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), 403);

    let session_csrf = sign_in(&b, &app.base, "ada@example.com", "correct horse battery").await;
    let cookie_header = b.get(app.url("/p/shop")).send().await.expect("overview");
    assert_eq!(cookie_header.status(), 200);
    for area in liveops_core::Area::ALL {
        let page = b
            .get(app.url(&format!("/p/shop/{}", area.slug())))
            .send()
            .await
            .expect("area");
        assert_eq!(page.status(), 200, "{}", area.slug());
        let html = page.text().await.expect("body");
        assert!(html.contains(area.title()), "{}", area.slug());
        assert!(
            html.contains(&format!("data-area=\"{}\"", area.slug())),
            "{}",
            area.slug()
        );
    }
    let missing = b
        .get(app.url("/p/blog/support"))
        .send()
        .await
        .expect("other project");
    assert_eq!(missing.status(), 404);

    // Sign-out needs the session's CSRF token and ends the session.
    let out = b
        .post(app.url("/logout"))
        .form(&[("_csrf", session_csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 303);
    let after = b.get(app.url("/p/shop")).send().await.expect("after");
    assert_eq!(after.status(), 303);
    app.stop().await;
}

async fn repeated_failed_sign_ins_lock_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let _ = app
        .user("ada@example.com", "correct horse battery", false)
        .await;
    let b = browser();
    let form = b
        .get(app.url("/login"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("body");
    let csrf = hidden_value(&form, "csrf").expect("csrf");
    let attempt = |password: &'static str| {
        let b = b.clone();
        let csrf = csrf.clone();
        let url = app.url("/login");
        async move {
            b.post(url)
                .form(&[
                    ("email", "ada@example.com"),
                    ("password", password),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .expect("post")
                .status()
                .as_u16()
        }
    };
    for _ in 0..10 {
        assert_eq!(attempt("wrong password!").await, 401);
    }
    // Locked: even the right password is refused for now.
    assert_eq!(attempt("correct horse battery").await, 429);
    // And the address itself runs out of attempts.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(attempt("wrong password!").await);
    }
    assert!(statuses.contains(&429));
    app.stop().await;
}

storage_stories!(
    sign_in_shows_projects_and_areas,
    repeated_failed_sign_ins_lock_the_account
);
