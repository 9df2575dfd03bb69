//! Feedback imports: CSV and JSON exports from community forums, social
//! media and survey tools, read by the column names those exports use.

use liveops_core::feedback::FeedbackKind;
use serde_json::Value;

/// One imported piece of feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    pub external_id: Option<String>,
    pub title: String,
    pub body: String,
    pub kind: Option<FeedbackKind>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub distinct_id: Option<String>,
    pub url: Option<String>,
    /// Milliseconds since the epoch.
    pub created_at: Option<i64>,
}

/// What an import file held: the rows read, and the ones refused with why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Import {
    /// (1-based row or record number, what it held).
    pub rows: Vec<(usize, Imported)>,
    /// (1-based row or record number, reason).
    pub rejected: Vec<(usize, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the CSV could not be read: {0}")]
    Csv(String),
    #[error("the CSV has no column for the feedback text (one of: {})", BODY.join(", "))]
    NoTextColumn,
    #[error("the JSON could not be read: {0}")]
    Json(String),
    #[error(
        "the JSON must be an array of objects, or an object with an `items`, `data`, `posts` or `results` array"
    )]
    JsonShape,
    #[error("the file holds more than {0} records")]
    TooMany(usize),
}

/// The most records one import takes.
pub const MAX_RECORDS: usize = 50_000;

const ID: &[&str] = &[
    "id",
    "external_id",
    "post_id",
    "tweet_id",
    "message_id",
    "comment_id",
];
const TITLE: &[&str] = &["title", "subject", "summary", "topic"];
const BODY: &[&str] = &[
    "body",
    "text",
    "content",
    "message",
    "description",
    "comment",
    "full_text",
    "feedback",
];
const KIND: &[&str] = &["kind", "type", "category"];
const NAME: &[&str] = &[
    "author",
    "author_name",
    "name",
    "user",
    "username",
    "user_name",
    "screen_name",
];
const EMAIL: &[&str] = &["email", "author_email", "user_email"];
const DISTINCT: &[&str] = &["distinct_id", "user_id"];
const URL: &[&str] = &["url", "link", "permalink", "html_url"];
const CREATED: &[&str] = &[
    "created_at",
    "created",
    "date",
    "timestamp",
    "time",
    "posted_at",
];

fn norm(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// Reads a timestamp in the forms exports use: RFC 3339, `YYYY-MM-DD
/// HH:MM:SS`, a bare date, Twitter's `Wed Oct 10 20:19:24 +0000 2018`, or
/// Unix seconds or milliseconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    if let Ok(n) = s.parse::<i64>() {
        return Some(if n > 100_000_000_000 { n } else { n * 1000 });
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_millisecond());
    }
    if let Ok(z) =
        jiff::fmt::strtime::parse("%a %b %d %H:%M:%S %z %Y", s).and_then(|t| t.to_timestamp())
    {
        return Some(z.as_millisecond());
    }
    None
}

fn clean(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// Builds a record from named fields, or says why it cannot.
fn record(get: &dyn Fn(&[&str]) -> Option<String>) -> Result<Imported, String> {
    let body = get(BODY).unwrap_or_default();
    let title = get(TITLE);
    if body.is_empty() && title.is_none() {
        return Err("it has no text".into());
    }
    let title = title.unwrap_or_else(|| {
        let first = body.lines().next().unwrap_or("").trim();
        let mut t: String = first.chars().take(80).collect();
        if first.chars().count() > 80 {
            t.push('…');
        }
        t
    });
    let kind = match get(KIND) {
        Some(k) => Some(FeedbackKind::parse(&k).ok_or_else(|| {
            format!("`{k}` is not a kind (bug, enhancement, question or praise)")
        })?),
        None => None,
    };
    let created_at = match get(CREATED) {
        Some(t) => Some(parse_time(&t).ok_or_else(|| format!("`{t}` is not a time"))?),
        None => None,
    };
    let email = get(EMAIL);
    if let Some(e) = &email
        && !e.contains('@')
    {
        return Err(format!("`{e}` is not an e-mail address"));
    }
    Ok(Imported {
        external_id: get(ID),
        title,
        body,
        kind,
        author_name: get(NAME),
        author_email: email,
        distinct_id: get(DISTINCT),
        url: get(URL),
        created_at,
    })
}

/// Reads a CSV export with a header row.
pub fn parse_csv(bytes: &[u8]) -> Result<Import, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::Csv(e.to_string()))?
        .iter()
        .map(norm)
        .collect();
    if !headers
        .iter()
        .any(|h| BODY.contains(&h.as_str()) || TITLE.contains(&h.as_str()))
    {
        return Err(ImportError::NoTextColumn);
    }
    let mut out = Import::default();
    for (i, row) in reader.records().enumerate() {
        let n = i + 1;
        if out.rows.len() + out.rejected.len() >= MAX_RECORDS {
            return Err(ImportError::TooMany(MAX_RECORDS));
        }
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                out.rejected.push((n, e.to_string()));
                continue;
            }
        };
        let get = |names: &[&str]| -> Option<String> {
            names.iter().find_map(|name| {
                headers
                    .iter()
                    .position(|h| h == name)
                    .and_then(|i| row.get(i))
                    .and_then(clean)
            })
        };
        match record(&get) {
            Ok(r) => out.rows.push((n, r)),
            Err(why) => out.rejected.push((n, why)),
        }
    }
    Ok(out)
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clean(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads a JSON export: an array of records, or an object holding one.
pub fn parse_json(bytes: &[u8]) -> Result<Import, ImportError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| ImportError::Json(e.to_string()))?;
    let records = match &v {
        Value::Array(a) => a,
        Value::Object(o) => ["items", "data", "posts", "results", "feedback"]
            .iter()
            .find_map(|k| o.get(*k).and_then(Value::as_array))
            .ok_or(ImportError::JsonShape)?,
        _ => return Err(ImportError::JsonShape),
    };
    if records.len() > MAX_RECORDS {
        return Err(ImportError::TooMany(MAX_RECORDS));
    }
    let mut out = Import::default();
    for (i, r) in records.iter().enumerate() {
        let n = i + 1;
        let Some(obj) = r.as_object() else {
            out.rejected.push((n, "it is not an object".into()));
            continue;
        };
        let fields: Vec<(String, &Value)> = obj.iter().map(|(k, v)| (norm(k), v)).collect();
        let get = |names: &[&str]| -> Option<String> {
            names.iter().find_map(|name| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .and_then(|(_, v)| match v {
                        // Nested authors: {"author": {"name": …, "email": …}}.
                        Value::Object(o) => {
                            let inner: &[&str] = if EMAIL.contains(name) {
                                &["email"]
                            } else {
                                &["name", "username", "screen_name", "login", "display_name"]
                            };
                            inner.iter().find_map(|k| o.get(*k).and_then(text_of))
                        }
                        v => text_of(v),
                    })
            })
        };
        // A nested author may also carry the e-mail address.
        let nested_email = || {
            ["author", "user"].iter().find_map(|k| {
                fields
                    .iter()
                    .find(|(f, _)| f == k)
                    .and_then(|(_, v)| v.get("email"))
                    .and_then(text_of)
            })
        };
        let get2 = |names: &[&str]| -> Option<String> {
            get(names).or_else(|| if names == EMAIL { nested_email() } else { None })
        };
        match record(&get2) {
            Ok(r) => out.rows.push((n, r)),
            Err(why) => out.rejected.push((n, why)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forum_csv_maps_by_its_headers() {
        let csv = "Post ID,Title,Content,Category,Author,Email,Created At,Link\n\
                   101,CSV export,\"Please add the currency, too\",Feature Request,Ana,ana@shop.example,2026-11-20T10:00:00Z,https://forum.example/t/101\n\
                   102,,Checkout crashes on Safari,bug,Bo,,2026-11-21 09:30:00,\n\
                   103,,,idea,Cy,,,\n\
                   104,Dark mode,Yes please,rant,Di,,,\n";
        let got = parse_csv(csv.as_bytes()).expect("csv");
        assert_eq!(got.rows.len(), 2, "{got:?}");
        let a = &got.rows[0].1;
        assert_eq!(a.external_id.as_deref(), Some("101"));
        assert_eq!(a.body, "Please add the currency, too");
        assert_eq!(a.kind, Some(FeedbackKind::Enhancement));
        assert_eq!(a.author_email.as_deref(), Some("ana@shop.example"));
        assert_eq!(a.created_at, Some(1_795_168_800_000));
        assert_eq!(a.url.as_deref(), Some("https://forum.example/t/101"));
        let b = &got.rows[1].1;
        assert_eq!(b.title, "Checkout crashes on Safari");
        assert_eq!(b.kind, Some(FeedbackKind::Bug));
        assert_eq!(b.created_at, Some(1_795_253_400_000));
        assert_eq!(got.rejected.len(), 2);
        assert_eq!(got.rejected[0], (3, "it has no text".into()));
        assert!(got.rejected[1].1.contains("`rant`"), "{:?}", got.rejected);
    }

    #[test]
    fn a_csv_without_text_is_refused_whole() {
        let e = parse_csv(b"id,author\n1,Ana\n").expect_err("no text");
        assert!(e.to_string().contains("no column"), "{e}");
    }

    #[test]
    fn social_json_with_nested_authors() {
        let json = br#"{"data": [
            {"id": "1850", "full_text": "The app logs me out every hour", "created_at": "Wed Oct 10 20:19:24 +0000 2018",
             "user": {"screen_name": "ana_shops", "email": "ana@shop.example"}},
            {"id": 7, "text": "Love it", "type": "praise", "timestamp": 1732780800},
            "not an object",
            {"id": 8, "text": "x", "created_at": "yesterday"}
        ]}"#;
        let got = parse_json(json).expect("json");
        assert_eq!(got.rows.len(), 2, "{got:?}");
        assert_eq!(got.rows[0].1.author_name.as_deref(), Some("ana_shops"));
        assert_eq!(
            got.rows[0].1.author_email.as_deref(),
            Some("ana@shop.example")
        );
        assert_eq!(got.rows[0].1.created_at, Some(1_539_202_764_000));
        assert_eq!(got.rows[0].1.title, "The app logs me out every hour");
        assert_eq!(got.rows[1].1.external_id.as_deref(), Some("7"));
        assert_eq!(got.rows[1].1.created_at, Some(1_732_780_800_000));
        assert_eq!(got.rejected.len(), 2);
        assert!(matches!(parse_json(b"42"), Err(ImportError::JsonShape)));
        assert!(matches!(parse_json(b"{"), Err(ImportError::Json(_))));
    }
}
