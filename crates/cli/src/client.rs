//! Client commands: they talk to a running server's API with an API token.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use liveops_server::contract::access::{
    AuditPage, AuditView, KeysView, Me, ProjectView, RotatedKey, TokenView,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::cli::Global;
use crate::output;

/// What `liveops login` remembers.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Credentials {
    server: Option<String>,
    token: Option<String>,
}

fn credentials_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("liveops").join("credentials.toml"))
}

/// What liveops reads of an RFC 9457 problem document. An error may come
/// from a proxy rather than liveops, so every field may be missing, and a
/// body that is not a problem document reads as one with none.
#[derive(Debug, Default, Deserialize)]
struct ProblemText {
    title: Option<String>,
    detail: Option<String>,
}

impl ProblemText {
    /// What a failed answer says: its detail, else its title, else the
    /// body as it came.
    fn explain(body: &[u8]) -> String {
        let p: ProblemText = serde_json::from_slice(body).unwrap_or_default();
        p.detail
            .or(p.title)
            .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned())
    }
}

fn saved() -> Credentials {
    credentials_path()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| toml::from_str(&s).ok())
        .unwrap_or_default()
}

pub(crate) struct Client {
    http: reqwest::Client,
    server: String,
    token: String,
}

impl Client {
    /// The server's address, as the CLI reaches it.
    pub(crate) fn server(&self) -> &str {
        self.server.trim_end_matches('/')
    }

    pub(crate) fn new(g: &Global) -> anyhow::Result<Client> {
        let saved = saved();
        let server = g
            .server
            .clone()
            .or(saved.server)
            .context("no server: pass --server, set LIVEOPS_SERVER, or run `liveops login`")?;
        let token = std::env::var("LIVEOPS_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .or(saved.token)
            .context("no API token: set LIVEOPS_TOKEN or run `liveops login`")?;
        Client::with(server, token)
    }

    fn with(server: String, token: String) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("liveops-cli/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(Client {
            http,
            server: server.trim_end_matches('/').to_owned(),
            token,
        })
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.server);
        let mut req = self.http.request(method, &url).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        self.answer(req).await
    }

    /// Like [`Client::call`], read as the API contract's type for the answer.
    pub(crate) async fn call_as<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<T> {
        let v = self.call(method, path, body).await?;
        serde_json::from_value(v)
            .with_context(|| format!("{path} answered in a shape this liveops does not read"))
    }

    /// Like [`Client::call_raw`], read as the contract's type.
    pub(crate) async fn call_raw_as<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<T> {
        let v = self.call_raw(method, path, content_type, bytes).await?;
        serde_json::from_value(v)
            .with_context(|| format!("{path} answered in a shape this liveops does not read"))
    }

    /// Sends `bytes` as the body, with its content type.
    pub(crate) async fn call_raw(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.server);
        let req = self
            .http
            .request(method, &url)
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes);
        self.answer(req).await
    }

    async fn answer(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let resp = req
            .send()
            .await
            .with_context(|| format!("could not reach {}", self.server))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            let detail = ProblemText::explain(text.as_bytes());
            bail!("the server answered {status}: {detail}");
        }
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).context("the server sent a body that is not JSON")
    }

    /// GETs `path` as text (Markdown exports and the like).
    pub(crate) async fn text(&self, path: &str) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.server);
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("could not reach {}", self.server))?;
        let status = resp.status();
        let text = resp.text().await.context("the answer broke off")?;
        if !status.is_success() {
            let detail = ProblemText::explain(text.as_bytes());
            bail!("the server answered {status}: {detail}");
        }
        Ok(text)
    }

    /// GETs `path` and writes the body to `dest`; returns the bytes written.
    /// Downloads `path` into `dest`, counting the bytes on `bar` as they
    /// arrive.
    pub(crate) async fn download(
        &self,
        path: &str,
        dest: &std::path::Path,
        bar: &indicatif::ProgressBar,
    ) -> anyhow::Result<u64> {
        let url = format!("{}{path}", self.server);
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .timeout(std::time::Duration::from_secs(3600))
            .send()
            .await
            .with_context(|| format!("could not reach {}", self.server))?;
        let status = resp.status();
        let mut resp = resp;
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.context("the download broke off")? {
            bytes.extend_from_slice(&chunk);
            bar.inc(chunk.len() as u64);
        }
        if !status.is_success() {
            let detail = ProblemText::explain(&bytes);
            bail!("the server answered {status}: {detail}");
        }
        std::fs::write(dest, &bytes)
            .with_context(|| format!("could not write {}", dest.display()))?;
        Ok(bytes.len() as u64)
    }
}

pub async fn login(g: &Global, token_stdin: bool) -> anyhow::Result<()> {
    let server = g
        .server
        .clone()
        .context("pass --server or set LIVEOPS_SERVER to the liveops address")?;
    let token = if token_stdin {
        let mut t = String::new();
        std::io::stdin().read_to_string(&mut t)?;
        t.trim().to_owned()
    } else {
        std::env::var("LIVEOPS_TOKEN").context("set LIVEOPS_TOKEN or pass --token-stdin")?
    };
    let client = Client::with(server.clone(), token.clone())?;
    let me: Me = client.call_as(Method::GET, "/api/v1/me", None).await?;
    let path = credentials_path().context("no home directory to keep credentials in")?;
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        // Private from the moment it exists: never made open, then narrowed.
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let creds = Credentials {
        server: Some(server),
        token: Some(token),
    };
    // A fresh file, 0600 from creation; an older one is replaced whole, so
    // a file someone left readable does not keep its mode.
    let tmp = path.with_extension("toml.new");
    let _ = std::fs::remove_file(&tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(toml::to_string(&creds)?.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    output::record(
        g.format,
        &[
            ("logged_in_as", json!(me.email)),
            ("credentials", json!(path.display().to_string())),
        ],
    );
    Ok(())
}

pub async fn whoami(g: &Global) -> anyhow::Result<()> {
    let path = "/api/v1/me";
    let v = Client::new(g)?.call(Method::GET, path, None).await?;
    match g.format {
        crate::cli::Format::Json => println!("{v}"),
        crate::cli::Format::Table | crate::cli::Format::Sarif => {
            let me: Me = read_as(path, &v)?;
            let slugs: Vec<&str> = me.projects.iter().map(|p| p.slug.as_str()).collect();
            output::record(
                g.format,
                &[
                    ("email", json!(me.email)),
                    ("admin", json!(me.is_admin)),
                    ("via", json!(me.authenticated_by)),
                    ("projects", json!(slugs)),
                ],
            );
        }
    }
    Ok(())
}

pub async fn project_list(g: &Global) -> anyhow::Result<()> {
    let path = "/api/v1/projects";
    let list = Client::new(g)?.call(Method::GET, path, None).await?;
    let projects: Vec<ProjectView> = read_as(path, &list)?;
    let rows: Vec<Vec<String>> = projects
        .into_iter()
        .map(|p| vec![p.slug, p.name, p.role, p.created_at])
        .collect();
    output::table(g.format, &list, &["SLUG", "NAME", "ROLE", "CREATED"], &rows);
    Ok(())
}

/// The project's keys as hints, or one replaced and printed once.
pub async fn project_keys(g: &Global, project: &str, rotate: Option<&str>) -> anyhow::Result<()> {
    let client = Client::new(g)?;
    if let Some(purpose) = rotate {
        let rotated: RotatedKey = client
            .call_as(
                Method::POST,
                &format!("/api/v1/projects/{project}/keys/{purpose}"),
                None,
            )
            .await?;
        output::record(
            g.format,
            &[
                ("purpose", json!(rotated.purpose)),
                ("key", json!(rotated.key)),
            ],
        );
        return Ok(());
    }
    let path = format!("/api/v1/projects/{project}/keys");
    let v = client.call(Method::GET, &path, None).await?;
    let keys: KeysView = read_as(&path, &v)?;
    let rows: Vec<Vec<String>> = keys
        .keys
        .into_iter()
        .map(|k| vec![k.purpose, format!("{}…", k.hint)])
        .collect();
    output::table(g.format, &v, &["PURPOSE", "STARTS"], &rows);
    Ok(())
}

/// Turns the public pages on or off; what is not named keeps its setting.
pub async fn public_pages(
    g: &Global,
    project: &str,
    status_page: Option<crate::cli::OnOff>,
    changelog: Option<crate::cli::OnOff>,
) -> anyhow::Result<()> {
    let client = Client::new(g)?;
    let current: ProjectView = client
        .call_as(Method::GET, &format!("/api/v1/projects/{project}"), None)
        .await?;
    let on = |flag: Option<crate::cli::OnOff>, now: bool| match flag {
        Some(f) => f == crate::cli::OnOff::On,
        None => now,
    };
    let body = json!({
        "status_page": on(status_page, current.status_page_public),
        "changelog": on(changelog, current.changelog_public),
    });
    let updated: ProjectView = client
        .call_as(
            Method::PUT,
            &format!("/api/v1/projects/{project}/public-pages"),
            Some(body),
        )
        .await?;
    output::record(
        g.format,
        &[
            ("status_page", json!(updated.status_page_public)),
            ("changelog", json!(updated.changelog_public)),
        ],
    );
    Ok(())
}

pub async fn token_list(g: &Global, project: &str) -> anyhow::Result<()> {
    let path = format!("/api/v1/projects/{project}/tokens");
    let list = Client::new(g)?.call(Method::GET, &path, None).await?;
    let tokens: Vec<TokenView> = read_as(&path, &list)?;
    let rows: Vec<Vec<String>> = tokens.into_iter().map(token_row).collect();
    output::table(
        g.format,
        &list,
        &[
            "ID",
            "NAME",
            "USER",
            "SCOPES",
            "EXPIRES",
            "LAST USED",
            "REVOKED",
        ],
        &rows,
    );
    Ok(())
}

/// A token as a row of `liveops token list`.
fn token_row(t: TokenView) -> Vec<String> {
    vec![
        t.id,
        t.name,
        t.user,
        t.scopes.join(","),
        t.expires_at,
        or_dash(t.last_used_at),
        or_dash(t.revoked_at),
    ]
}

/// An absent value as a person reads it.
fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

pub async fn token_revoke(g: &Global, project: &str, id: &str) -> anyhow::Result<()> {
    Client::new(g)?
        .call(
            Method::DELETE,
            &format!("/api/v1/projects/{project}/tokens/{id}"),
            None,
        )
        .await?;
    output::record(g.format, &[("revoked", json!(id))]);
    Ok(())
}

pub async fn audit_list(g: &Global, project: &str, limit: i64) -> anyhow::Result<()> {
    let path = format!("/api/v1/projects/{project}/audit?limit={limit}");
    let page = Client::new(g)?.call(Method::GET, &path, None).await?;
    let read: AuditPage = read_as(&path, &page)?;
    let rows: Vec<Vec<String>> = read.entries.into_iter().map(audit_row).collect();
    output::table(
        g.format,
        &page,
        &["AT", "ACTOR", "ACTION", "TARGET", "FROM"],
        &rows,
    );
    Ok(())
}

/// An audit entry as a row of `liveops audit`.
fn audit_row(e: AuditView) -> Vec<String> {
    vec![e.at, e.actor, e.action, or_dash(e.target), or_dash(e.ip)]
}

/// An answer from `path` read as the API contract's type for it.
pub(crate) fn read_as<T: serde::de::DeserializeOwned>(path: &str, v: &Value) -> anyhow::Result<T> {
    T::deserialize(v)
        .with_context(|| format!("{path} answered in a shape this liveops does not read"))
}

/// Escapes a value for a URL's path segment or query: spaces as `%20`,
/// which both read as a space (a `+` would stay a `+` in a path).
pub(crate) fn esc(v: &str) -> String {
    url::form_urlencoded::byte_serialize(v.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
