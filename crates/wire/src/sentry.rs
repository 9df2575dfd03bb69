//! The Sentry protocol as the official SDKs speak it: DSNs, the
//! `X-Sentry-Auth` header, envelopes (a JSON header line, then items, each a
//! JSON header line and a payload of `length` bytes or up to the next
//! newline) and the event payload, read into what error tracking keeps.
//!
//! The event reader is lenient where SDKs differ (a timestamp as RFC 3339
//! or as seconds, `exception` as a list or as `{"values": […]}`, tags as an
//! object or as pairs, the message as a string or as `logentry`) and strict
//! where the shape is wrong: a payload that is not a JSON object is refused.

use liveops_core::performance::{DbCall, HttpCall, Span, SpanKind};
use liveops_core::support::errors::{Exception, Frame as CoreFrame};
use serde_json::{Map, Value};

/// The largest event Sentry takes, decompressed.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SentryError {
    #[error("the envelope's header line is not a JSON object")]
    EnvelopeHeader,
    #[error("item {0}: its header line is not a JSON object with a `type`")]
    ItemHeader(usize),
    #[error("item {0}: its length runs past the end of the envelope")]
    ItemLength(usize),
    #[error("item {0}: its payload is not followed by a newline")]
    ItemEnd(usize),
    #[error("the event is not a JSON object: {0}")]
    Event(String),
    #[error("the event is larger than {MAX_EVENT_BYTES} bytes")]
    TooLarge,
    #[error("`{0}` is not a DSN like https://KEY@HOST/PROJECT")]
    Dsn(String),
    #[error("the Sentry auth header has no sentry_key")]
    NoKey,
    #[error("the body does not decompress: {0}")]
    Compression(String),
    #[error("the body is larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("content encoding `{0}` is not supported: send gzip, deflate or none")]
    Encoding(String),
}

/// The largest envelope taken, decompressed.
pub const MAX_ENVELOPE_BYTES: usize = 20 * 1024 * 1024;

/// A request body unpacked by its `Content-Encoding`: gzip, deflate (zlib,
/// or raw deflate as some clients send it) or none; at most `limit` bytes
/// decompressed.
pub fn unpack(body: &[u8], encoding: Option<&str>, limit: usize) -> Result<Vec<u8>, SentryError> {
    use std::io::Read;
    let encoding = encoding
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let cap = limit as u64 + 1;
    let mut out = Vec::new();
    let read = match encoding.as_str() {
        "" | "identity" => {
            out = body.to_vec();
            Ok(0)
        }
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(body)
            .take(cap)
            .read_to_end(&mut out),
        "deflate" => match flate2::read::ZlibDecoder::new(body)
            .take(cap)
            .read_to_end(&mut out)
        {
            Ok(n) => Ok(n),
            Err(_) => {
                out.clear();
                flate2::read::DeflateDecoder::new(body)
                    .take(cap)
                    .read_to_end(&mut out)
            }
        },
        other => return Err(SentryError::Encoding(other.to_owned())),
    };
    read.map_err(|e| SentryError::Compression(e.to_string()))?;
    if out.len() > limit {
        return Err(SentryError::BodyTooLarge(limit));
    }
    Ok(out)
}

// ---------------------------------------------------------------- DSN and auth

/// What a DSN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dsn {
    pub public_key: String,
    pub host: String,
    /// The last path segment: the project's number.
    pub project: String,
}

pub fn parse_dsn(dsn: &str) -> Result<Dsn, SentryError> {
    let bad = || SentryError::Dsn(dsn.to_owned());
    let u = url::Url::parse(dsn.trim()).map_err(|_| bad())?;
    let key = u.username();
    let host = u.host_str().ok_or_else(bad)?;
    let project = u
        .path_segments()
        .and_then(|mut s| s.next_back())
        .filter(|p| !p.is_empty())
        .ok_or_else(bad)?;
    if key.is_empty() {
        return Err(bad());
    }
    let host = match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    Ok(Dsn {
        public_key: key.to_owned(),
        host,
        project: project.to_owned(),
    })
}

/// A DSN for a project: `http://KEY@HOST/NUMBER` under `base`
/// (`http://liveops.example.org`).
pub fn dsn(base: &str, public_key: &str, project: &str) -> Result<String, SentryError> {
    let mut u = url::Url::parse(base).map_err(|_| SentryError::Dsn(base.to_owned()))?;
    u.set_username(public_key)
        .map_err(|()| SentryError::Dsn(base.to_owned()))?;
    let path = format!("{}/{project}", u.path().trim_end_matches('/'));
    u.set_path(&path);
    Ok(u.to_string())
}

/// The `sentry_key` of an `X-Sentry-Auth` (or `Authorization: Sentry …`)
/// header: `Sentry sentry_version=7, sentry_key=KEY, sentry_client=…`.
pub fn auth_key(header: &str) -> Result<String, SentryError> {
    let rest = header.trim();
    let rest = rest
        .strip_prefix("Sentry ")
        .or_else(|| rest.strip_prefix("sentry "))
        .unwrap_or(rest);
    rest.split(',')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| k.trim() == "sentry_key")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or(SentryError::NoKey)
}

// ---------------------------------------------------------------- envelopes

/// One item of an envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// event, transaction, session, sessions, client_report, attachment, …
    pub ty: String,
    pub header: Map<String, Value>,
    pub payload: Vec<u8>,
}

/// An envelope: its header (`event_id`, `dsn`, `sent_at`, …) and items.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    pub header: Map<String, Value>,
    pub items: Vec<Item>,
}

impl Envelope {
    /// The DSN the envelope's header names, if any.
    pub fn dsn(&self) -> Option<&str> {
        self.header.get("dsn").and_then(Value::as_str)
    }
}

fn line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|b| *b == b'\n') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

fn object(line: &[u8]) -> Option<Map<String, Value>> {
    let trimmed = line.strip_suffix(b"\r").unwrap_or(line);
    match serde_json::from_slice::<Value>(trimmed).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Reads an envelope. A framing mistake (a header that is not JSON, a
/// length past the end) refuses all of it, since nothing after it can be
/// read reliably.
pub fn parse_envelope(bytes: &[u8]) -> Result<Envelope, SentryError> {
    let (first, mut rest) = line(bytes);
    let header = object(first).ok_or(SentryError::EnvelopeHeader)?;
    let mut items = Vec::new();
    while !rest.is_empty() {
        let (head, after) = line(rest);
        if head.iter().all(u8::is_ascii_whitespace) {
            // Trailing newlines between or after items.
            rest = after;
            continue;
        }
        let n = items.len() + 1;
        let item_header = object(head).ok_or(SentryError::ItemHeader(n))?;
        let ty = item_header
            .get("type")
            .and_then(Value::as_str)
            .ok_or(SentryError::ItemHeader(n))?
            .to_owned();
        let (payload, next) = match item_header.get("length").and_then(Value::as_u64) {
            Some(len) => {
                let len = usize::try_from(len).map_err(|_| SentryError::ItemLength(n))?;
                if len > after.len() {
                    return Err(SentryError::ItemLength(n));
                }
                let (p, tail) = after.split_at(len);
                match tail.first() {
                    None => (p, tail),
                    Some(b'\n') => (p, &tail[1..]),
                    Some(b'\r') if tail.get(1) == Some(&b'\n') => (p, &tail[2..]),
                    Some(_) => return Err(SentryError::ItemEnd(n)),
                }
            }
            None => line(after),
        };
        items.push(Item {
            ty,
            header: item_header,
            payload: payload.to_vec(),
        });
        rest = next;
    }
    Ok(Envelope { header, items })
}

// ---------------------------------------------------------------- events

/// A frame with what the issue page shows beside grouping's part.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    pub core: CoreFrame,
    pub abs_path: Option<String>,
    pub colno: Option<u32>,
    pub context_line: Option<String>,
    pub pre_context: Vec<String>,
    pub post_context: Vec<String>,
    /// Local variables, as the SDK sent them.
    pub vars: Option<Value>,
    /// For a frame a source map moved: the map, and where the minified
    /// code was (`url:line:column`).
    pub sourcemap: Option<String>,
    pub minified: Option<String>,
}

/// An exception with its full frames.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExceptionDetail {
    pub ty: String,
    pub value: Option<String>,
    pub module: Option<String>,
    pub frames: Vec<Frame>,
}

impl ExceptionDetail {
    /// What grouping reads of it.
    pub fn to_core(&self) -> Exception {
        Exception {
            ty: self.ty.clone(),
            value: self.value.clone(),
            module: self.module.clone(),
            frames: self.frames.iter().map(|f| f.core.clone()).collect(),
        }
    }
}

/// An error event, read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    pub event_id: Option<String>,
    /// Milliseconds since the epoch, when the SDK said.
    pub timestamp_ms: Option<i64>,
    pub level: String,
    pub platform: Option<String>,
    pub message: Option<String>,
    pub exceptions: Vec<ExceptionDetail>,
    pub fingerprint: Option<Vec<String>>,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub server_name: Option<String>,
    pub transaction: Option<String>,
    /// How the SDK named the transaction: `route`, `url`, `component`, …
    pub transaction_source: Option<String>,
    /// Tags as sent, plus those liveops breaks issues down by.
    pub tags: Vec<(String, String)>,
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    pub user_ip: Option<String>,
    pub contexts: Option<Value>,
    pub breadcrumbs: Vec<Value>,
    pub request: Option<Value>,
}

impl Event {
    /// The route of the request the event happened in, named as the
    /// performance area names the same request's span (a transaction
    /// named by its route template, else the request's method and path);
    /// else the transaction's name.
    pub fn route(&self) -> Option<String> {
        let template = self
            .transaction
            .as_deref()
            .filter(|_| self.transaction_source.as_deref() == Some("route"));
        if let Some(r) = &self.request {
            let path = text(r.get("url"))
                .and_then(|u| url::Url::parse(&u).ok().map(|u| u.path().to_owned()));
            let method = text(r.get("method")).map(|m| m.to_ascii_uppercase());
            if let Some(route) = liveops_core::performance::span::http_route(
                method.as_deref(),
                template,
                path.as_deref(),
            ) {
                return Some(route);
            }
        }
        self.transaction.clone()
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The items of a list Sentry sends either bare or as `{"values": [...]}`.
fn values(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(a)) => a,
        Some(Value::Object(o)) => match o.get("values") {
            Some(Value::Array(a)) => a,
            _ => &[],
        },
        _ => &[],
    }
}

/// The same, taken out of the event rather than copied.
fn take_values(v: Option<Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a,
        Some(Value::Object(mut o)) => match o.remove("values") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|x| text(Some(x))).collect(),
        _ => Vec::new(),
    }
}

/// Source lines as sent, blank ones kept (they are part of the context).
fn lines(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

fn timestamp_ms(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_f64().map(|s| (s * 1000.0).round() as i64),
        Value::String(s) => match s.parse::<jiff::Timestamp>() {
            Ok(t) => Some(t.as_millisecond()),
            // Sentry also takes an RFC 3339 time without a zone, as UTC.
            Err(_) => format!("{s}Z")
                .parse::<jiff::Timestamp>()
                .ok()
                .map(|t| t.as_millisecond()),
        },
        _ => None,
    }
}

fn frame(v: &Value) -> Frame {
    let u32_of = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    Frame {
        core: CoreFrame {
            module: text(v.get("module")),
            function: text(v.get("function")),
            filename: text(v.get("filename")).or_else(|| text(v.get("abs_path"))),
            lineno: u32_of("lineno"),
            in_app: v.get("in_app").and_then(Value::as_bool),
        },
        abs_path: text(v.get("abs_path")),
        colno: u32_of("colno"),
        context_line: text(v.get("context_line")),
        pre_context: lines(v.get("pre_context")),
        post_context: lines(v.get("post_context")),
        vars: v.get("vars").filter(|x| x.is_object()).cloned(),
        sourcemap: text(v.get("data").and_then(|d| d.get("sourcemap"))),
        minified: text(v.get("data").and_then(|d| d.get("minified"))),
    }
}

fn exception(v: &Value) -> Option<ExceptionDetail> {
    let ty = text(v.get("type"));
    let value = text(v.get("value"));
    if ty.is_none() && value.is_none() {
        return None;
    }
    let frames = v
        .get("stacktrace")
        .and_then(|s| s.get("frames"))
        .and_then(Value::as_array)
        .map(|fs| fs.iter().filter(|f| f.is_object()).map(frame).collect())
        .unwrap_or_default();
    Some(ExceptionDetail {
        ty: ty.unwrap_or_else(|| "Error".to_owned()),
        value,
        module: text(v.get("module")),
        frames,
    })
}

fn tags(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(o)) => o
            .iter()
            .filter_map(|(k, x)| Some((k.clone(), text(Some(x))?)))
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|pair| {
                let p = pair.as_array()?;
                Some((text(p.first())?, text(p.get(1))?))
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Reads an event payload.
pub fn parse_event(bytes: &[u8]) -> Result<Event, SentryError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(SentryError::TooLarge);
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| SentryError::Event(e.to_string()))?;
    event_from(v)
}

/// Reads what the intake needs of an event payload: what grouping, the
/// issue's counts and its tags read. Breadcrumbs, the request, contexts
/// other than the browser, OS and runtime names, and each frame's local
/// variables, context lines and source-map notes are left out (the issue
/// page reads them from the stored payload with [`parse_event`]). The
/// payload's bulk is skipped without building a JSON tree of it; the
/// fields kept are read by the same code as [`parse_event`], so they come
/// out the same. A payload of an unusual shape is read in full.
pub fn parse_event_summary(bytes: &[u8]) -> Result<Event, SentryError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(SentryError::TooLarge);
    }
    match summary::reduced(bytes) {
        Some(v) => event_from(v),
        None => parse_event(bytes),
    }
}

/// The parts of an event the intake reads, as raw JSON slices.
mod summary {
    use serde::{Deserialize, Deserializer};
    use serde_json::value::RawValue;
    use serde_json::{Map, Value};

    type Raw<'a> = Option<&'a RawValue>;

    /// A field as present, `null` included (an absent one is `None`), as
    /// a JSON tree would have it.
    fn keep<'de, D: Deserializer<'de>>(d: D) -> Result<Raw<'de>, D::Error> {
        <&RawValue>::deserialize(d).map(Some)
    }

    /// Structs of raw fields, each kept as present (`null` included).
    macro_rules! raw_fields {
        ($($name:ident { $($field:ident $(= $json:literal)?),* $(,)? })*) => {$(
            #[derive(Deserialize)]
            struct $name<'a> {
                $(
                    #[serde(borrow, default, deserialize_with = "keep")]
                    $(#[serde(rename = $json)])?
                    $field: Raw<'a>,
                )*
            }

            impl<'a> $name<'a> {
                /// Each field by its name in the JSON.
                #[allow(dead_code)]
                fn pairs(&self) -> Vec<(&'static str, Raw<'a>)> {
                    vec![$((raw_fields!(@json $field $($json)?), self.$field)),*]
                }
            }
        )*};
        (@json $field:ident $json:literal) => { $json };
        (@json $field:ident) => { stringify!($field) };
    }

    raw_fields! {
        Top {
            event_id, timestamp, level, platform, logentry, message, exception,
            fingerprint, release, environment, server_name, transaction,
            transaction_info, tags, user, contexts,
        }
        Values { values }
        Exception { ty = "type", value, module, stacktrace }
        Stacktrace { frames }
        Frame { module, function, filename, abs_path, lineno, colno, in_app }
        Contexts { browser, os, runtime }
        Named { name }
    }

    /// A struct from a JSON object only: serde would also take a list,
    /// field by field, which a JSON tree would not read as one.
    fn object<'a, T: Deserialize<'a>>(text: &'a str) -> Option<T> {
        if !text.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(text).ok()
    }

    fn tree(raw: &RawValue) -> Option<Value> {
        serde_json::from_str(raw.get()).ok()
    }

    /// Puts each present field into `o`, as its JSON tree.
    fn put(o: &mut Map<String, Value>, fields: &[(&str, Raw<'_>)]) -> Option<()> {
        for (k, raw) in fields {
            if let Some(r) = raw {
                o.insert((*k).to_owned(), tree(r)?);
            }
        }
        Some(())
    }

    /// A list sent bare or as `{"values": [...]}`, as raw items; `None`
    /// for any other shape (read in full then).
    fn items(raw: &RawValue) -> Option<Vec<&RawValue>> {
        match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
            Ok(list) => Some(list),
            Err(_) => {
                let v: Values<'_> = object(raw.get())?;
                match v.values {
                    Some(r) => serde_json::from_str(r.get()).ok(),
                    None => Some(Vec::new()),
                }
            }
        }
    }

    fn frame(raw: &RawValue) -> Option<Value> {
        let f: Frame<'_> = object(raw.get())?;
        let mut o = Map::new();
        put(&mut o, &f.pairs())?;
        Some(Value::Object(o))
    }

    fn exception(raw: &RawValue) -> Option<Value> {
        let x: Exception<'_> = object(raw.get())?;
        let mut o = Map::new();
        let mut pairs = x.pairs();
        pairs.retain(|(k, _)| *k != "stacktrace");
        put(&mut o, &pairs)?;
        if let Some(st) = x.stacktrace {
            let st: Stacktrace<'_> = object(st.get())?;
            let mut s = Map::new();
            if let Some(frames) = st.frames {
                let list: Vec<&RawValue> = serde_json::from_str(frames.get()).ok()?;
                let frames = list.into_iter().map(frame).collect::<Option<Vec<_>>>()?;
                s.insert("frames".into(), Value::Array(frames));
            }
            o.insert("stacktrace".into(), Value::Object(s));
        }
        Some(Value::Object(o))
    }

    /// The event with only the fields the intake reads, or `None` when its
    /// shape is unusual enough that only a full read is sure to read it as
    /// [`super::parse_event`] does.
    pub(super) fn reduced(bytes: &[u8]) -> Option<Value> {
        let text = std::str::from_utf8(bytes).ok()?;
        let top: Top<'_> = object(text)?;
        let mut o = Map::new();
        // The exception and contexts are read below, only in part.
        let mut pairs = top.pairs();
        pairs.retain(|(k, _)| !matches!(*k, "exception" | "contexts"));
        put(&mut o, &pairs)?;
        if let Some(raw) = top.exception {
            let list = items(raw)?
                .into_iter()
                .map(exception)
                .collect::<Option<Vec<_>>>()?;
            o.insert("exception".into(), Value::Array(list));
        }
        if let Some(raw) = top.contexts {
            let c: Contexts<'_> = object(raw.get())?;
            let mut m = Map::new();
            for (k, ctx) in [("browser", c.browser), ("os", c.os), ("runtime", c.runtime)] {
                if let Some(ctx) = ctx {
                    let n: Named<'_> = object(ctx.get())?;
                    let mut named = Map::new();
                    put(&mut named, &n.pairs())?;
                    m.insert(k.into(), Value::Object(named));
                }
            }
            o.insert("contexts".into(), Value::Object(m));
        }
        Some(Value::Object(o))
    }
}

/// An event from its JSON tree.
fn event_from(v: Value) -> Result<Event, SentryError> {
    let Value::Object(mut o) = v else {
        return Err(SentryError::Event("it is not an object".into()));
    };
    // What the event keeps whole is taken out, not copied.
    let contexts = o.remove("contexts").filter(Value::is_object);
    let request = o.remove("request").filter(Value::is_object);
    let breadcrumbs = take_values(o.remove("breadcrumbs"));
    let message = match o.get("logentry").or_else(|| o.get("message")) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Object(m)) => text(m.get("formatted")).or_else(|| text(m.get("message"))),
        _ => None,
    };
    let user = o.get("user");
    let fingerprint = match o.get("fingerprint") {
        Some(Value::Array(_)) => Some(strings(o.get("fingerprint"))).filter(|f| !f.is_empty()),
        _ => None,
    };
    let mut event = Event {
        event_id: text(o.get("event_id")),
        timestamp_ms: timestamp_ms(o.get("timestamp")),
        level: text(o.get("level")).unwrap_or_else(|| "error".to_owned()),
        platform: text(o.get("platform")),
        message,
        exceptions: values(o.get("exception"))
            .iter()
            .filter_map(exception)
            .collect(),
        fingerprint,
        release: text(o.get("release")),
        environment: text(o.get("environment")),
        server_name: text(o.get("server_name")),
        transaction: text(o.get("transaction")),
        transaction_source: o
            .get("transaction_info")
            .and_then(|i| text(i.get("source"))),
        tags: tags(o.get("tags")),
        user_id: user.and_then(|u| text(u.get("id"))),
        user_email: user.and_then(|u| text(u.get("email"))),
        user_ip: user.and_then(|u| text(u.get("ip_address"))),
        contexts,
        breadcrumbs,
        request,
    };
    // The tags issues break down by, from where the SDK keeps them.
    let ctx = |name: &str| {
        event
            .contexts
            .as_ref()
            .and_then(|c| c.get(name))
            .and_then(|c| text(c.get("name")))
    };
    for (tag, value) in [
        ("release", event.release.clone()),
        ("environment", event.environment.clone()),
        ("server_name", event.server_name.clone()),
        ("browser", ctx("browser")),
        ("os", ctx("os")),
        ("runtime", ctx("runtime")),
    ] {
        if let Some(value) = value
            && !event.tags.iter().any(|(k, _)| k == tag)
        {
            event.tags.push((tag.to_owned(), value));
        }
    }
    Ok(event)
}

// ---------------------------------------------------------------- exceptions from elsewhere

/// Whether a file belongs to the application rather than its libraries
/// or the runtime.
fn in_app_file(file: &str) -> bool {
    !(file.contains("site-packages")
        || file.contains("dist-packages")
        || file.contains("node_modules")
        || file.starts_with("node:")
        || file.starts_with("internal/")
        || file.starts_with('<'))
}

fn in_app_module(module: &str) -> bool {
    ![
        "java.",
        "javax.",
        "jdk.",
        "sun.",
        "kotlin.",
        "scala.",
        "org.springframework.",
    ]
    .iter()
    .any(|p| module.starts_with(p))
}

/// Frames from a stack trace as a language prints it (Python, Java and
/// the JVM's languages, JavaScript), innermost last as Sentry keeps them.
/// Lines of no known shape are skipped; none known, no frames.
pub fn stack_frames(text: &str) -> Vec<Value> {
    let mut python = Vec::new();
    let mut innermost_first = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("File \"") {
            // File "/app/cart.py", line 10, in checkout
            let mut parts = rest.splitn(2, "\", line ");
            let file = parts.next().unwrap_or("");
            let tail = parts.next().unwrap_or("");
            let (line_no, function) = tail.split_once(", in ").unwrap_or((tail, ""));
            python.push(serde_json::json!({
                "filename": file, "abs_path": file,
                "lineno": line_no.trim().parse::<u32>().ok(),
                "function": (!function.is_empty()).then(|| function.trim()),
                "in_app": in_app_file(file),
            }));
        } else if let Some(rest) = t.strip_prefix("at ") {
            // Java: at com.shop.Cart.checkout(Cart.java:10)
            // JavaScript: at checkout (/app/cart.js:10:5), or at /app/cart.js:10:5
            let (head, place) = match rest.rfind('(') {
                Some(i) if rest.ends_with(')') => (rest[..i].trim(), &rest[i + 1..rest.len() - 1]),
                _ => ("", rest),
            };
            let mut bits = place.rsplitn(3, ':');
            let last = bits.next().unwrap_or("");
            let mid = bits.next();
            let first = bits.next();
            let (file, line_no, col) = match (first, mid) {
                (Some(f), Some(l)) => (f, l.parse::<u32>().ok(), last.parse::<u32>().ok()),
                (None, Some(f)) => (f, last.parse::<u32>().ok(), None),
                _ => (place, None, None),
            };
            let java = head.contains('.') && !head.contains(' ') && file.ends_with(".java")
                || file.ends_with(".kt")
                || file.ends_with(".scala");
            let frame = if java {
                let (module, function) = head.rsplit_once('.').unwrap_or(("", head));
                serde_json::json!({
                    "module": module, "function": function, "filename": file,
                    "lineno": line_no, "in_app": in_app_module(module),
                })
            } else {
                serde_json::json!({
                    "function": (!head.is_empty()).then_some(head),
                    "filename": file, "abs_path": file,
                    "lineno": line_no, "colno": col, "in_app": in_app_file(file),
                })
            };
            innermost_first.push(frame);
        }
    }
    if !python.is_empty() {
        return python;
    }
    innermost_first.reverse();
    innermost_first
}

/// An error event in Sentry's shape for an exception that arrived another
/// way (an OpenTelemetry span event, a PostHog `$exception`), so it is
/// stored, grouped and shown like one an SDK sent.
#[derive(Debug, Clone, Default)]
pub struct Foreign<'a> {
    pub ty: Option<&'a str>,
    pub message: Option<&'a str>,
    /// Frames in Sentry's shape, innermost last.
    pub frames: Vec<Value>,
    pub timestamp_ms: i64,
    pub platform: &'a str,
    pub release: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub server_name: Option<&'a str>,
    pub transaction: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub tags: Vec<(String, String)>,
    pub contexts: Option<Value>,
    /// The sender's own fingerprint, if it gave one.
    pub fingerprint: Option<Vec<String>>,
    /// The sender's id for it, so a resend is known; a new one otherwise.
    pub event_id: Option<&'a str>,
}

impl Foreign<'_> {
    /// The event's payload, as an SDK would have sent it.
    pub fn payload(&self) -> Vec<u8> {
        let mut o = serde_json::json!({
            "event_id": self.event_id.map_or_else(uuid_hex, |id| id.replace('-', "")),
            "timestamp": self.timestamp_ms as f64 / 1000.0,
            "level": "error",
            "platform": self.platform,
        });
        let set = |o: &mut Value, k: &str, v: Option<&str>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                o[k] = Value::String(v.to_owned());
            }
        };
        set(&mut o, "release", self.release);
        set(&mut o, "environment", self.environment);
        set(&mut o, "server_name", self.server_name);
        set(&mut o, "transaction", self.transaction);
        if let Some(u) = self.user_id.filter(|u| !u.is_empty()) {
            o["user"] = serde_json::json!({"id": u});
        }
        if !self.tags.is_empty() {
            o["tags"] = Value::Object(
                self.tags
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            );
        }
        if let Some(c) = &self.contexts {
            o["contexts"] = c.clone();
        }
        if let Some(f) = &self.fingerprint {
            o["fingerprint"] = serde_json::json!(f);
        }
        if self.ty.is_some() || !self.frames.is_empty() {
            let mut e = serde_json::json!({"type": self.ty.unwrap_or("Error")});
            set(&mut e, "value", self.message);
            if !self.frames.is_empty() {
                e["stacktrace"] = serde_json::json!({"frames": self.frames});
            }
            o["exception"] = serde_json::json!({"values": [e]});
        } else if let Some(m) = self.message {
            o["message"] = Value::String(m.to_owned());
        }
        o.to_string().into_bytes()
    }
}

/// A PostHog `$exception` event's properties (`$exception_list`, or the
/// older `$exception_type` and `$exception_message`) as an error event
/// from `distinct_id` at `at_ms`; `None` when they name no exception.
pub fn posthog_exception(
    properties: &str,
    event_id: &str,
    distinct_id: &str,
    at_ms: i64,
) -> Option<Vec<u8>> {
    let p: Value = serde_json::from_str(properties).ok()?;
    let list = p.get("$exception_list").and_then(Value::as_array);
    let first = list.and_then(|l| l.first());
    let ty = first
        .and_then(|e| text(e.get("type")))
        .or_else(|| text(p.get("$exception_type")));
    let message = first
        .and_then(|e| text(e.get("value")))
        .or_else(|| text(p.get("$exception_message")));
    if ty.is_none() && message.is_none() {
        return None;
    }
    let frames = first
        .and_then(|e| e.get("stacktrace"))
        .and_then(|s| s.get("frames"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let fingerprint = match p.get("$exception_fingerprint") {
        Some(Value::String(f)) if !f.is_empty() => Some(vec![f.clone()]),
        Some(Value::Array(_)) => {
            Some(strings(p.get("$exception_fingerprint"))).filter(|f| !f.is_empty())
        }
        _ => None,
    };
    let url = text(p.get("$current_url"));
    let browser = text(p.get("$browser"));
    let os = text(p.get("$os"));
    let mut tags = Vec::new();
    if let Some(b) = &browser {
        tags.push(("browser".to_owned(), b.clone()));
    }
    if let Some(o) = &os {
        tags.push(("os".to_owned(), o.clone()));
    }
    let release = text(p.get("$app_version"));
    let foreign = Foreign {
        ty: ty.as_deref(),
        message: message.as_deref(),
        frames,
        timestamp_ms: at_ms,
        platform: "javascript",
        release: release.as_deref(),
        transaction: url.as_deref(),
        user_id: Some(distinct_id),
        tags,
        fingerprint,
        event_id: Some(event_id),
        ..Foreign::default()
    };
    Some(foreign.payload())
}

/// A new event id: 32 hex digits from the clock and a counter, unique in
/// this process.
fn uuid_hex() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("{t:016x}{:016x}", n ^ (u64::from(std::process::id()) << 40))
}

// ---------------------------------------------------------------- transactions

/// Seconds (a number, or RFC 3339 text) as nanoseconds since the epoch.
fn timestamp_ns(v: Option<&Value>) -> Option<i64> {
    match v? {
        // Whole seconds and the fraction apart: seconds since 1970 times
        // 1e9 would lose the fraction's last digits in one f64.
        Value::Number(n) => n.as_f64().filter(|s| s.is_finite()).map(|s| {
            (s.trunc() as i64).saturating_mul(1_000_000_000) + (s.fract() * 1e9).round() as i64
        }),
        other => timestamp_ms(Some(other)).map(|ms| ms.saturating_mul(1_000_000)),
    }
}

fn hex_id(v: Option<&Value>, len: usize) -> Option<String> {
    let s = text(v)?.to_ascii_lowercase().replace('-', "");
    (s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())).then_some(s)
}

/// Sentry's span statuses that mean the work failed (a 4xx maps to
/// others, like `not_found`, which are the caller's mistake).
fn failed(status: Option<&str>) -> bool {
    matches!(
        status,
        Some(
            "internal_error"
                | "unknown_error"
                | "unknown"
                | "unavailable"
                | "data_loss"
                | "deadline_exceeded"
                | "aborted"
        )
    )
}

fn span_of(
    v: &Value,
    trace_id: &str,
    service: &str,
    version: Option<&str>,
    host: Option<&str>,
    root: bool,
) -> Option<Span> {
    let span_id = hex_id(v.get("span_id"), 16)?;
    let start = timestamp_ns(v.get("start_timestamp"))?;
    let end = timestamp_ns(v.get("timestamp")).unwrap_or(start);
    let op = text(v.get("op")).unwrap_or_default();
    let description = text(v.get("description"));
    let data = v.get("data").filter(|d| d.is_object());
    let datum = |k: &str| data.and_then(|d| text(d.get(k)));
    let status = text(v.get("status"));
    let (kind, http, db) = if root || op.starts_with("http.server") {
        (SpanKind::Server, None, None)
    } else if op.starts_with("db") {
        let db = DbCall {
            system: datum("db.system").unwrap_or_else(|| "sql".to_owned()),
            statement: description.clone(),
            operation: datum("db.operation"),
            namespace: datum("db.name"),
            table: None,
        };
        (SpanKind::Client, None, Some(db))
    } else if op.starts_with("http.client") {
        // `GET https://api.example.com/x`, as the SDKs describe it.
        let (method, url) = description
            .as_deref()
            .and_then(|d| d.split_once(' '))
            .map_or((None, None), |(m, u)| {
                (Some(m.to_owned()), Some(u.to_owned()))
            });
        let http = HttpCall {
            method,
            route: None,
            path: url.and_then(|u| url::Url::parse(&u).ok().map(|u| u.path().to_owned())),
            status: datum("http.response.status_code").and_then(|s| s.parse().ok()),
            request_bytes: None,
            response_bytes: None,
        };
        (SpanKind::Client, Some(http), None)
    } else {
        (SpanKind::Internal, None, None)
    };
    let name = if root {
        String::new()
    } else {
        description.clone().unwrap_or_else(|| op.clone())
    };
    let attributes = serde_json::json!({"sentry.op": op, "sentry.status": status}).to_string();
    Some(Span {
        trace_id: trace_id.to_owned(),
        span_id,
        parent_id: hex_id(v.get("parent_span_id"), 16),
        service: service.to_owned(),
        version: version.map(str::to_owned),
        host: host.map(str::to_owned),
        name,
        kind,
        start_ns: start,
        duration_ns: (end - start).max(0),
        status_error: failed(status.as_deref()),
        http,
        db,
        attributes,
    })
}

/// Reads a `transaction` item into spans: the transaction itself (a
/// request when its operation is `http.server` or it carries a request),
/// then its child spans (database calls, outgoing HTTP, the rest
/// internal). The service is the release's package (`shop@1.2.0` →
/// `shop`, version `1.2.0`), else the server name.
pub fn parse_transaction(bytes: &[u8]) -> Result<Vec<Span>, SentryError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(SentryError::TooLarge);
    }
    let v: Value = serde_json::from_slice(bytes).map_err(|e| SentryError::Event(e.to_string()))?;
    let Value::Object(o) = &v else {
        return Err(SentryError::Event("it is not an object".into()));
    };
    let trace = o
        .get("contexts")
        .and_then(|c| c.get("trace"))
        .ok_or_else(|| SentryError::Event("a transaction needs contexts.trace".into()))?;
    let trace_id = hex_id(trace.get("trace_id"), 32).ok_or_else(|| {
        SentryError::Event("contexts.trace.trace_id must be 32 hex digits".into())
    })?;
    let release = text(o.get("release"));
    let (service, version) = match release.as_deref().and_then(|r| r.split_once('@')) {
        Some((pkg, ver)) => (pkg.to_owned(), Some(ver.to_owned())),
        None => (
            text(o.get("server_name")).unwrap_or_else(|| "app".to_owned()),
            release.clone(),
        ),
    };
    let host = text(o.get("server_name"));
    let mut root_value = trace.clone();
    if let Value::Object(m) = &mut root_value {
        for k in ["start_timestamp", "timestamp"] {
            if let Some(t) = o.get(k) {
                m.insert(k.to_owned(), t.clone());
            }
        }
    }
    let mut root = span_of(
        &root_value,
        &trace_id,
        &service,
        version.as_deref(),
        host.as_deref(),
        true,
    )
    .ok_or_else(|| SentryError::Event("the transaction needs a span id and a start".into()))?;
    let op = text(trace.get("op")).unwrap_or_default();
    let request = o.get("request").filter(|r| r.is_object());
    root.name = text(o.get("transaction")).unwrap_or_else(|| op.clone());
    if !(op.starts_with("http.server") || request.is_some()) {
        root.kind = SpanKind::Internal;
    } else {
        let url = request.and_then(|r| text(r.get("url")));
        let source = o
            .get("transaction_info")
            .and_then(|i| text(i.get("source")));
        let status = trace
            .get("data")
            .and_then(|d| text(d.get("http.response.status_code")))
            .or_else(|| {
                tags(o.get("tags"))
                    .into_iter()
                    .find(|(k, _)| k == "http.status_code")
                    .map(|(_, v)| v)
            })
            .and_then(|s| s.parse().ok());
        root.http = Some(HttpCall {
            method: request
                .and_then(|r| text(r.get("method")))
                .map(|m| m.to_ascii_uppercase()),
            route: (source.as_deref() == Some("route")).then(|| root.name.clone()),
            path: url.and_then(|u| url::Url::parse(&u).ok().map(|u| u.path().to_owned())),
            status,
            request_bytes: None,
            response_bytes: None,
        });
    }
    let mut out = vec![root];
    if let Some(Value::Array(spans)) = o.get("spans") {
        for s in spans {
            let tid = hex_id(s.get("trace_id"), 32).unwrap_or_else(|| trace_id.clone());
            if let Some(span) = span_of(
                s,
                &tid,
                &service,
                version.as_deref(),
                host.as_deref(),
                false,
            ) {
                out.push(span);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_names_its_route_as_its_transaction_span_would() {
        let read = |v: serde_json::Value| {
            parse_event(v.to_string().as_bytes())
                .expect("an event")
                .route()
        };
        let request =
            serde_json::json!({"method": "post", "url": "http://shop.test/orders/123?x=1"});
        assert_eq!(
            read(serde_json::json!({"transaction": "/orders/{id}",
                "transaction_info": {"source": "route"}, "request": request})),
            Some("POST /orders/{id}".to_owned())
        );
        assert_eq!(
            read(serde_json::json!({"transaction": "orders.create", "request": request})),
            Some("POST /orders/{id}".to_owned()),
            "a transaction that is not a route template gives way to the path"
        );
        assert_eq!(
            read(serde_json::json!({"transaction": "nightly-job"})),
            Some("nightly-job".to_owned())
        );
        assert_eq!(read(serde_json::json!({"message": "hi"})), None);
    }

    #[test]
    fn transactions_become_a_request_and_its_calls() {
        let t = serde_json::json!({
            "type": "transaction", "transaction": "/users/{id}",
            "transaction_info": {"source": "route"},
            "start_timestamp": 1_700_000_000.0, "timestamp": 1_700_000_000.25,
            "release": "shop@1.3.0", "server_name": "web-1",
            "request": {"method": "get", "url": "http://shop.example/users/7"},
            "contexts": {"trace": {"trace_id": "0af7651916cd43dd8448eb211c80319c",
                "span_id": "b7ad6b7169203331", "op": "http.server", "status": "internal_error",
                "data": {"http.response.status_code": "500"}}},
            "spans": [
                {"span_id": "00f067aa0ba902b7", "parent_span_id": "b7ad6b7169203331",
                 "op": "db", "description": "SELECT * FROM users WHERE id = 7",
                 "start_timestamp": 1_700_000_000.01, "timestamp": 1_700_000_000.02,
                 "data": {"db.system": "postgresql"}},
                {"span_id": "nothex", "start_timestamp": 1.0}
            ]
        });
        let spans = parse_transaction(t.to_string().as_bytes()).expect("spans");
        assert_eq!(spans.len(), 2, "the span without a hex id is left out");
        let root = &spans[0];
        assert!(root.is_request() && root.is_error());
        assert_eq!(root.route(), "GET /users/{id}");
        assert_eq!(root.service, "shop");
        assert_eq!(root.version.as_deref(), Some("1.3.0"));
        assert_eq!(root.duration_ns, 250_000_000);
        let db = &spans[1];
        assert_eq!(db.kind, SpanKind::Client);
        assert_eq!(db.parent_id.as_deref(), Some("b7ad6b7169203331"));
        assert_eq!(
            db.db.as_ref().map(|d| d.system.as_str()),
            Some("postgresql")
        );
        assert!(parse_transaction(b"{}").is_err());
        assert!(parse_transaction(b"[]").is_err());
    }

    #[test]
    fn posthog_exceptions_read_in_both_shapes() {
        let new = serde_json::json!({"$exception_list": [{"type": "TypeError", "value": "x is undefined",
            "stacktrace": {"type": "resolved", "frames": [{"filename": "app.js", "function": "pay", "lineno": 3, "in_app": true}]}}],
            "$browser": "Chrome", "$exception_fingerprint": "pay-broken"});
        let e = parse_event(
            &posthog_exception(&new.to_string(), "0190-aa", "u1", 5_000).expect("event"),
        )
        .expect("read");
        assert_eq!(e.exceptions[0].ty, "TypeError");
        assert_eq!(
            e.exceptions[0].frames[0].core.function.as_deref(),
            Some("pay")
        );
        assert_eq!(e.user_id.as_deref(), Some("u1"));
        assert_eq!(e.fingerprint, Some(vec!["pay-broken".to_owned()]));
        assert!(
            e.tags
                .contains(&("browser".to_owned(), "Chrome".to_owned()))
        );
        let old = serde_json::json!({"$exception_type": "Error", "$exception_message": "boom"});
        let e = parse_event(
            &posthog_exception(&old.to_string(), "0190-ab", "u2", 5_000).expect("event"),
        )
        .expect("read");
        assert_eq!(e.exceptions[0].value.as_deref(), Some("boom"));
        assert!(posthog_exception("{}", "x", "u", 0).is_none());
        assert!(posthog_exception("not json", "x", "u", 0).is_none());
    }

    #[test]
    fn printed_stack_traces_become_frames() {
        let py = "Traceback (most recent call last):\n  File \"/app/shop/cart.py\", line 10, in checkout\n    total()\n  File \"/usr/lib/python3/site-packages/x.py\", line 3, in total\nValueError: no";
        let f = stack_frames(py);
        assert_eq!(f.len(), 2);
        assert_eq!(f[0]["function"], "checkout");
        assert_eq!(f[0]["lineno"], 10);
        assert_eq!(f[0]["in_app"], true);
        assert_eq!(f[1]["in_app"], false);
        let java = "java.lang.IllegalStateException: no\n\tat com.shop.Cart.checkout(Cart.java:42)\n\tat java.base/java.lang.Thread.run(Thread.java:833)";
        let f = stack_frames(java);
        assert_eq!(f.len(), 2);
        assert_eq!(f[1]["module"], "com.shop.Cart", "innermost last");
        assert_eq!(f[1]["function"], "checkout");
        assert_eq!(f[1]["lineno"], 42);
        let js = "TypeError: x is undefined\n    at checkout (/app/cart.js:10:5)\n    at /app/node_modules/express/router.js:3:1";
        let f = stack_frames(js);
        assert_eq!(f.len(), 2);
        assert_eq!(f[1]["function"], "checkout");
        assert_eq!(f[1]["colno"], 5);
        assert_eq!(f[0]["in_app"], false);
        assert!(stack_frames("nothing here").is_empty());
        let event = Foreign {
            ty: Some("ValueError"),
            message: Some("no"),
            frames: stack_frames(py),
            timestamp_ms: 1_700_000_000_000,
            platform: "python",
            release: Some("1.0"),
            ..Foreign::default()
        };
        let read = parse_event(&event.payload()).expect("event");
        assert_eq!(read.exceptions[0].ty, "ValueError");
        assert_eq!(read.exceptions[0].frames.len(), 2);
        assert_eq!(read.timestamp_ms, Some(1_700_000_000_000));
        assert_eq!(read.release.as_deref(), Some("1.0"));
    }

    #[test]
    fn bodies_unpack_by_their_encoding() {
        use std::io::Write;
        let text = b"{\"a\":1}\n".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&text).expect("gzip");
        let gz = gz.finish().expect("gzip");
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&text).expect("zlib");
        let z = z.finish().expect("zlib");
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(&text).expect("deflate");
        let raw = raw.finish().expect("deflate");
        assert_eq!(unpack(&gz, Some("gzip"), 10_000).as_deref(), Ok(&text[..]));
        assert_eq!(
            unpack(&z, Some("deflate"), 10_000).as_deref(),
            Ok(&text[..])
        );
        assert_eq!(
            unpack(&raw, Some("Deflate"), 10_000).as_deref(),
            Ok(&text[..])
        );
        assert_eq!(unpack(&text, None, 10_000).as_deref(), Ok(&text[..]));
        assert_eq!(
            unpack(&gz, Some("gzip"), 10),
            Err(SentryError::BodyTooLarge(10))
        );
        assert!(matches!(
            unpack(b"nope", Some("gzip"), 100),
            Err(SentryError::Compression(_))
        ));
        assert_eq!(
            unpack(b"x", Some("br"), 100),
            Err(SentryError::Encoding("br".into()))
        );
    }

    #[test]
    fn dsns_and_auth_headers_read() {
        let d = parse_dsn("http://abc123@127.0.0.1:8080/42").expect("dsn");
        assert_eq!(
            d,
            Dsn {
                public_key: "abc123".into(),
                host: "127.0.0.1:8080".into(),
                project: "42".into()
            }
        );
        assert!(parse_dsn("http://127.0.0.1/42").is_err());
        assert!(parse_dsn("not a dsn").is_err());
        assert_eq!(
            dsn("http://liveops.example.org", "abc", "7").expect("dsn"),
            "http://abc@liveops.example.org/7"
        );
        assert_eq!(
            auth_key("Sentry sentry_version=7, sentry_client=sentry.python/2.0, sentry_key=abc123")
                .expect("key"),
            "abc123"
        );
        assert_eq!(auth_key("Sentry sentry_version=7"), Err(SentryError::NoKey));
    }

    #[test]
    fn envelopes_read_items_by_length_or_line() {
        let body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\",\"dsn\":\"https://e12d836b15bb49d7bbf99e64295d995b@sentry.io/42\"}\n\
{\"type\":\"attachment\",\"length\":10,\"content_type\":\"text/plain\",\"filename\":\"hello.txt\"}\n\
\xef\xbb\xbfHello\r\n\n\
{\"type\":\"event\",\"length\":41,\"content_type\":\"application/json\",\"filename\":\"application.log\"}\n\
{\"message\":\"hello world\",\"level\":\"error\"}\n";
        let e = parse_envelope(body).expect("envelope");
        assert_eq!(
            e.dsn(),
            Some("https://e12d836b15bb49d7bbf99e64295d995b@sentry.io/42")
        );
        assert_eq!(e.items.len(), 2);
        assert_eq!(e.items[0].ty, "attachment");
        assert_eq!(e.items[0].payload, b"\xef\xbb\xbfHello\r\n");
        assert_eq!(e.items[1].ty, "event");
        let ev = parse_event(&e.items[1].payload).expect("event");
        assert_eq!(ev.message.as_deref(), Some("hello world"));
        // Without a length, the payload runs to the end of its line.
        let e = parse_envelope(b"{}\n{\"type\":\"session\"}\n{\"started\":\"2020-02-07T14:16:00Z\"}\n{\"type\":\"client_report\"}\n{}")
            .expect("envelope");
        assert_eq!(e.items.len(), 2);
        assert_eq!(e.items[1].payload, b"{}");
        assert_eq!(parse_envelope(b"nope\n"), Err(SentryError::EnvelopeHeader));
        assert_eq!(
            parse_envelope(b"{}\n{\"length\":2}\n{}\n"),
            Err(SentryError::ItemHeader(1))
        );
        assert_eq!(
            parse_envelope(b"{}\n{\"type\":\"event\",\"length\":99}\n{}\n"),
            Err(SentryError::ItemLength(1))
        );
        assert_eq!(
            parse_envelope(b"{}\n{\"type\":\"event\",\"length\":1}\n{}\n"),
            Err(SentryError::ItemEnd(1))
        );
    }

    /// An event as the Python SDK sends it.
    fn python_event() -> Value {
        serde_json::json!({
            "event_id": "4f1b1d2f8c2e4e5f9a6b7c8d9e0f1a2b",
            "timestamp": "2026-12-06T10:00:00.123456Z",
            "level": "error",
            "platform": "python",
            "release": "shop@1.3.0",
            "environment": "production",
            "server_name": "web-1",
            "exception": {"values": [{
                "type": "ZeroDivisionError", "value": "division by zero", "module": null,
                "mechanism": {"type": "excepthook", "handled": false},
                "stacktrace": {"frames": [
                    {"filename": "app.py", "abs_path": "/srv/app.py", "function": "<module>",
                     "module": "__main__", "lineno": 12, "in_app": true,
                     "context_line": "    1 / 0", "pre_context": ["def f():"], "post_context": [],
                     "vars": {"x": "1"}}
                ]}
            }]},
            "tags": {"feature": "checkout"},
            "user": {"id": "u-7", "email": "ann@example.com", "ip_address": "127.0.0.1"},
            "contexts": {"os": {"name": "Linux"}, "runtime": {"name": "CPython", "version": "3.11.7"}},
            "breadcrumbs": {"values": [{"message": "clicked"}]},
            "fingerprint": ["{{ default }}", "checkout"]
        })
    }

    #[test]
    fn events_read_as_sdks_write_them() {
        let python = python_event();
        let e = parse_event(python.to_string().as_bytes()).expect("event");
        assert_eq!(e.timestamp_ms, Some(1_796_551_200_123));
        assert_eq!(e.exceptions[0].ty, "ZeroDivisionError");
        let f = &e.exceptions[0].frames[0];
        assert_eq!(f.core.module.as_deref(), Some("__main__"));
        assert_eq!(f.core.in_app, Some(true));
        assert_eq!(f.context_line.as_deref(), Some("    1 / 0"));
        assert_eq!(f.vars, Some(serde_json::json!({"x": "1"})));
        assert_eq!(e.user_email.as_deref(), Some("ann@example.com"));
        assert_eq!(e.breadcrumbs.len(), 1);
        assert_eq!(
            e.fingerprint.as_deref(),
            Some(&["{{ default }}".to_owned(), "checkout".to_owned()][..])
        );
        for (k, v) in [
            ("feature", "checkout"),
            ("release", "shop@1.3.0"),
            ("environment", "production"),
            ("os", "Linux"),
            ("runtime", "CPython"),
        ] {
            assert!(e.tags.contains(&(k.into(), v.into())), "{k}: {:?}", e.tags);
        }
        // Older shapes: seconds, a bare exception list, tag pairs, logentry.
        let old = serde_json::json!({
            "timestamp": 1_796_551_200.5,
            "exception": [{"type": "Error", "value": "boom"}],
            "tags": [["a", "b"]],
            "logentry": {"message": "user %s failed", "formatted": "user 7 failed"}
        });
        let e = parse_event(old.to_string().as_bytes()).expect("event");
        assert_eq!(e.timestamp_ms, Some(1_796_551_200_500));
        assert_eq!(e.exceptions.len(), 1);
        assert_eq!(e.tags, vec![("a".to_owned(), "b".to_owned())]);
        assert_eq!(e.message.as_deref(), Some("user 7 failed"));
        assert_eq!(e.level, "error");
        assert!(matches!(parse_event(b"[1, 2]"), Err(SentryError::Event(_))));
        assert!(matches!(parse_event(b"{"), Err(SentryError::Event(_))));
        let big = vec![b' '; MAX_EVENT_BYTES + 1];
        assert_eq!(parse_event(&big), Err(SentryError::TooLarge));
    }

    /// What the intake reads of an event, to compare the two readers.
    fn intake_view(e: &Event) -> String {
        let exceptions: Vec<_> = e
            .exceptions
            .iter()
            .map(|x| {
                let frames: Vec<_> = x
                    .frames
                    .iter()
                    .map(|f| (f.core.clone(), f.abs_path.clone(), f.colno))
                    .collect();
                (x.ty.clone(), x.value.clone(), x.module.clone(), frames)
            })
            .collect();
        format!(
            "{:?}",
            (
                (
                    &e.event_id,
                    e.timestamp_ms,
                    &e.level,
                    &e.platform,
                    &e.message
                ),
                exceptions,
                (&e.fingerprint, &e.release, &e.environment, &e.server_name),
                (&e.transaction, &e.transaction_source, &e.tags),
                (&e.user_id, &e.user_email, &e.user_ip),
            )
        )
    }

    #[test]
    fn the_intakes_summary_reads_what_the_full_reader_reads() {
        use serde_json::json;
        // The Python SDK's event, with more of what the summary skips or
        // reads differently: deeper variables, numbers where text is
        // usual, other contexts, a request, a route.
        let mut python = python_event();
        for (k, v) in [
            ("level", json!("warning")),
            ("tags", json!({"feature": "checkout", "n": 5, "empty": ""})),
            ("user", json!({"id": 7, "email": "ann@example.com"})),
            (
                "request",
                json!({"url": "http://shop/cart", "method": "post"}),
            ),
            ("fingerprint", json!(["{{ default }}", "checkout", 3])),
            ("transaction", json!("/cart")),
            ("transaction_info", json!({"source": "route"})),
        ] {
            python[k] = v;
        }
        python["contexts"]["device"] = json!({"model": "x"});
        python["exception"]["values"][0]["stacktrace"]["frames"][0]["vars"] =
            json!({"x": "1", "deep": {"a": [1, 2, {"b": null}]}});
        let events = [
            python,
            json!({"timestamp": 1_796_551_200.5, "exception": [{"type": "Error", "value": "boom"}],
                   "tags": [["a", "b"], ["c"]],
                   "logentry": {"message": "user %s failed", "formatted": "user 7 failed"}}),
            // A browser event with columns and a source-map note.
            json!({"platform": "javascript", "exception": {"values": [{"type": "TypeError",
                   "stacktrace": {"frames": [{"filename": "https://shop/app.min.js", "lineno": 1,
                   "colno": 3301, "function": "a", "data": {"sourcemap": "app.js.map"}}]}}]},
                   "contexts": {"browser": {"name": "Firefox", "version": "120"}},
                   "user": {"ip_address": "{{auto}}"}}),
            // A message only, with logentry null (the full reader then
            // reads no message).
            json!({"message": "payment 42 timed out", "logentry": null, "level": null}),
            json!({"message": {"formatted": "formatted text"}, "exception": {"values": 5}}),
            json!({"exception": {"other": []}, "contexts": {"browser": "Chrome"}}),
            json!({"exception": {"values": [{"type": "E", "stacktrace": {"frames": [1, {"function": "f"}]}}]}}),
            json!({"exception": {"values": [{"type": "E", "stacktrace": "none"}]}, "fingerprint": "x"}),
            json!({}),
        ];
        for e in &events {
            let text = e.to_string();
            let full = parse_event(text.as_bytes()).expect("full");
            let summary = parse_event_summary(text.as_bytes()).expect("summary");
            assert_eq!(intake_view(&summary), intake_view(&full), "{text}");
            // What the summary leaves out.
            assert!(
                summary.breadcrumbs.is_empty() && summary.request.is_none(),
                "{text}"
            );
            assert!(
                summary
                    .exceptions
                    .iter()
                    .flat_map(|x| &x.frames)
                    .all(|f| f.vars.is_none() && f.context_line.is_none()),
                "{text}"
            );
        }
        // The summary was taken, not the full read, for the first event.
        assert!(summary::reduced(events[0].to_string().as_bytes()).is_some());
        // A repeated key, which only a full read takes (the last wins).
        let twice = br#"{"release": "1.0", "release": "2.0"}"#;
        assert!(summary::reduced(twice).is_none());
        assert_eq!(
            parse_event_summary(twice)
                .expect("event")
                .release
                .as_deref(),
            Some("2.0")
        );
        // Refused alike.
        assert!(matches!(
            parse_event_summary(b"[1, 2]"),
            Err(SentryError::Event(_))
        ));
        assert!(matches!(
            parse_event_summary(b"{"),
            Err(SentryError::Event(_))
        ));
        let big = vec![b' '; MAX_EVENT_BYTES + 1];
        assert_eq!(parse_event_summary(&big), Err(SentryError::TooLarge));
    }
}
