//! A ClickHouse server over its HTTP interface: statements as the request
//! body, rows in and out as `JSONEachRow`, and in also as `RowBinary`.
//! Only what every release from 18.16 on understands is used, so the same
//! requests work on Debian's package and on current servers.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::rowbinary::{self, Columns};
use crate::{Result, TelemetryError};

/// Where the server is and who we are to it, read from a URL such as
/// `http://user:secret@127.0.0.1:8123/liveops` (the path names the
/// database; `liveops` when it is empty).
#[derive(Clone)]
pub struct Endpoint {
    base: url::Url,
    user: Option<String>,
    password: Option<String>,
    database: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("base", &self.base.as_str())
            .field("user", &self.user)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Reads a ClickHouse URL; anything but a plain `http`/`https` URL
    /// with a database name of letters, digits and `_` is refused.
    pub fn parse(raw: &str) -> Result<Endpoint> {
        let bad = |why: &str| TelemetryError::Config(format!("the ClickHouse URL {why}"));
        let url = url::Url::parse(raw).map_err(|e| bad(&format!("does not parse: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("must start with http:// or https://"));
        }
        if url.host_str().is_none() {
            return Err(bad("names no host"));
        }
        let database = match url.path().trim_matches('/') {
            "" => "liveops".to_owned(),
            name => name.to_owned(),
        };
        if !is_identifier(&database) {
            return Err(bad("path must be a database name (letters, digits and _)"));
        }
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|d| d.into_owned())
                .map_err(|_| bad("holds a user or password that does not decode"))
        };
        let user = match url.username() {
            "" => None,
            u => Some(decode(u)?),
        };
        let password = url.password().map(decode).transpose()?;
        let mut base = url.clone();
        base.set_path("/");
        base.set_query(None);
        let _ = base.set_username("");
        let _ = base.set_password(None);
        Ok(Endpoint {
            base,
            user,
            password,
            database,
        })
    }

    /// The database liveops keeps its tables in.
    pub fn database(&self) -> &str {
        &self.database
    }
}

/// True for a name that may stand in SQL unquoted: a letter or `_`, then
/// letters, digits and `_`.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}

/// A connection pool to one server (reqwest keeps the connections alive).
/// Its calls block: the store's callers run them on blocking threads.
#[derive(Debug, Clone)]
pub struct Client {
    endpoint: Endpoint,
    http: reqwest::blocking::Client,
    /// Settings sent with every request beside [`SETTINGS`].
    extra: Vec<(String, String)>,
    /// Where every statement sent is noted, when a test asks.
    journal: Option<Journal>,
}

/// The statements a client sent, in order (inserts by their table).
pub type Journal = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// Settings sent with every request: 64-bit numbers as JSON numbers, not
/// strings, so rows read back into `i64` and `u64` fields; and room for
/// the long `IN` lists an ingest batch's ids make (256 KiB by default).
const SETTINGS: [(&str, &str); 2] = [
    ("output_format_json_quote_64bit_integers", "0"),
    ("max_query_size", "67108864"),
];

impl Client {
    /// A client for `endpoint`; `timeout` bounds each request.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Result<Client> {
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| TelemetryError::ClickHouse(format!("cannot make an HTTP client: {e}")))?;
        Ok(Client {
            endpoint,
            http,
            extra: Vec::new(),
            journal: None,
        })
    }

    /// The same client, noting every statement in `journal`.
    pub fn with_journal(mut self, journal: Journal) -> Client {
        self.journal = Some(journal);
        self
    }

    fn note(&self, sql: &str) {
        if let Some(j) = &self.journal {
            j.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(sql.to_owned());
        }
    }

    /// The same client, sending `name = value` with every request.
    pub fn with_setting(mut self, name: &str, value: &str) -> Client {
        self.extra.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn request(&self, in_database: bool, query: Option<&str>) -> reqwest::blocking::RequestBuilder {
        let mut params: Vec<(&str, &str)> = SETTINGS.to_vec();
        params.extend(self.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        if in_database {
            params.push(("database", &self.endpoint.database));
        }
        if let Some(q) = query {
            params.push(("query", q));
        }
        let mut req = self.http.post(self.endpoint.base.clone()).query(&params);
        if let Some(user) = &self.endpoint.user {
            req = req.basic_auth(user, self.endpoint.password.as_deref());
        }
        req
    }

    fn send(req: reqwest::blocking::RequestBuilder) -> Result<String> {
        let resp = req
            .send()
            .map_err(|e| TelemetryError::ClickHouse(format!("ClickHouse is unreachable: {e}")))?;
        let status = resp.status();
        let text = resp.text().map_err(|e| {
            TelemetryError::ClickHouse(format!("ClickHouse's answer broke off: {e}"))
        })?;
        if status.is_success() {
            Ok(text)
        } else {
            Err(TelemetryError::ClickHouse(format!(
                "ClickHouse answered {status}: {}",
                text.trim()
            )))
        }
    }

    /// Runs one statement that returns no rows, outside the database
    /// (for `CREATE DATABASE`).
    pub fn execute_global(&self, sql: &str) -> Result<()> {
        self.note(sql);
        Self::send(self.request(false, None).body(sql.to_owned())).map(drop)
    }

    /// Runs one statement that returns no rows, in the database.
    pub fn execute(&self, sql: &str) -> Result<()> {
        self.note(sql);
        Self::send(self.request(true, None).body(sql.to_owned())).map(drop)
    }

    /// Runs a query and reads each row of its answer into a `T`, by column
    /// name.
    pub fn rows<T: DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>> {
        self.note(sql);
        let body = format!("{sql}\nFORMAT JSONEachRow");
        let text = Self::send(self.request(true, None).body(body))?;
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|e| {
                    TelemetryError::ClickHouse(format!("a row ClickHouse sent does not read: {e}"))
                })
            })
            .collect()
    }

    /// Runs a query and hands each row of its answer to `f` as it
    /// arrives, so an answer of any size takes little memory.
    pub fn each_row<T: DeserializeOwned>(
        &self,
        sql: &str,
        mut f: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        use std::io::BufRead;
        self.note(sql);
        let body = format!("{sql}\nFORMAT JSONEachRow");
        let resp =
            self.request(true, None).body(body).send().map_err(|e| {
                TelemetryError::ClickHouse(format!("ClickHouse is unreachable: {e}"))
            })?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().unwrap_or_default();
            return Err(TelemetryError::ClickHouse(format!(
                "ClickHouse answered {status}: {}",
                text.trim()
            )));
        }
        let mut reader = std::io::BufReader::with_capacity(1 << 16, resp);
        let mut line = String::new();
        loop {
            line.clear();
            let n = reader.read_line(&mut line).map_err(|e| {
                TelemetryError::ClickHouse(format!("ClickHouse's answer broke off: {e}"))
            })?;
            if n == 0 {
                return Ok(());
            }
            if line.trim().is_empty() {
                continue;
            }
            // An error that strikes mid-answer arrives as text in the body.
            let row = serde_json::from_str(&line).map_err(|e| {
                TelemetryError::ClickHouse(format!(
                    "a row ClickHouse sent does not read ({e}): {}",
                    line.chars().take(300).collect::<String>()
                ))
            })?;
            f(row)?;
        }
    }

    /// Appends rows to `table`, one JSON object per row, in one request:
    /// ClickHouse stores the whole block or none of it.
    pub fn insert<T: Serialize>(&self, table: &str, rows: &[T]) -> Result<()> {
        self.insert_as(table, "FORMAT JSONEachRow", rows, |body, row| {
            serde_json::to_writer(&mut *body, row).map_err(|e| e.to_string())?;
            body.push(b'\n');
            Ok(())
        })
    }

    /// Appends rows to `table` as `RowBinary`, each checked against
    /// `columns` (the table's column list), in one request: cheaper than
    /// JSON to make and for ClickHouse to read, and stored whole or not at
    /// all.
    pub fn insert_binary<T: Serialize>(
        &self,
        table: &str,
        columns: &Columns,
        rows: &[T],
    ) -> Result<()> {
        let how = format!("({}) FORMAT RowBinary", columns.names());
        self.insert_as(table, &how, rows, |body, row| {
            rowbinary::write_row(body, columns, row).map_err(|e| e.to_string())
        })
    }

    /// One `INSERT INTO table how` request whose body `write` makes, row
    /// by row; nothing is sent for no rows.
    fn insert_as<T>(
        &self,
        table: &str,
        how: &str,
        rows: &[T],
        write: impl Fn(&mut Vec<u8>, &T) -> std::result::Result<(), String>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut body = Vec::with_capacity(rows.len() * 128);
        for row in rows {
            write(&mut body, row).map_err(|e| {
                TelemetryError::Ingest(format!("a row for {table} does not serialise: {e}"))
            })?;
        }
        let query = format!("INSERT INTO {table} {how}");
        Self::send(self.request(true, Some(&query)).body(body)).map(drop)
    }
}

/// A string as a ClickHouse SQL literal, quotes and backslashes escaped.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_the_server_the_user_and_the_database() {
        let e = Endpoint::parse("http://ops:s%40cret@127.0.0.1:8123/telemetry").expect("parses");
        assert_eq!(e.base.as_str(), "http://127.0.0.1:8123/");
        assert_eq!(e.user.as_deref(), Some("ops"));
        assert_eq!(e.password.as_deref(), Some("s@cret"));
        assert_eq!(e.database(), "telemetry");
        assert_eq!(
            Endpoint::parse("http://localhost:8123")
                .expect("parses")
                .database(),
            "liveops"
        );
        // The password never shows in debug output.
        assert!(!format!("{e:?}").contains("cret"));
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for (raw, why) in [
            ("clickhouse://localhost:9000", "http"),
            ("http://localhost:8123/a-b", "database name"),
            ("http://localhost:8123/x;DROP", "database name"),
            ("not a url", "parse"),
        ] {
            let err = Endpoint::parse(raw).expect_err(raw).to_string();
            assert!(err.contains(why), "{raw}: {err}");
        }
    }

    #[test]
    fn literals_escape_what_would_end_them() {
        assert_eq!(quote("it's"), r"'it\'s'");
        assert_eq!(quote(r"a\b"), r"'a\\b'");
        assert_eq!(quote("x\ny"), r"'x\ny'");
    }
}
