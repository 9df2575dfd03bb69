//! The Sentry protocol as the official SDKs speak it: DSNs, the
//! `X-Sentry-Auth` header, envelopes (a JSON header line, then items, each a
//! JSON header line and a payload of `length` bytes or up to the next
//! newline) and the event payload, read into what error tracking keeps.
//!
//! The event reader is lenient where SDKs differ (a timestamp as RFC 3339
//! or as seconds, `exception` as a list or as `{"values": […]}`, tags as an
//! object or as pairs, the message as a string or as `logentry`) and strict
//! where the shape is wrong: a payload that is not a JSON object is refused.

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
    /// Tags as sent, plus those liveops breaks issues down by.
    pub tags: Vec<(String, String)>,
    pub user_id: Option<String>,
    pub user_email: Option<String>,
    pub user_ip: Option<String>,
    pub contexts: Option<Value>,
    pub breadcrumbs: Vec<Value>,
    pub request: Option<Value>,
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn values(v: Option<&Value>) -> Vec<Value> {
    match v {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::Object(o)) => match o.get("values") {
            Some(Value::Array(a)) => a.clone(),
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
        pre_context: strings(v.get("pre_context")),
        post_context: strings(v.get("post_context")),
        vars: v.get("vars").filter(|x| x.is_object()).cloned(),
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
    let Value::Object(o) = &v else {
        return Err(SentryError::Event("it is not an object".into()));
    };
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
        tags: tags(o.get("tags")),
        user_id: user.and_then(|u| text(u.get("id"))),
        user_email: user.and_then(|u| text(u.get("email"))),
        user_ip: user.and_then(|u| text(u.get("ip_address"))),
        contexts: o.get("contexts").filter(|c| c.is_object()).cloned(),
        breadcrumbs: values(o.get("breadcrumbs")),
        request: o.get("request").filter(|r| r.is_object()).cloned(),
    };
    // The tags issues break down by, from where the SDK keeps them.
    let contexts = event.contexts.clone();
    let ctx = |name: &str| {
        contexts
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn events_read_as_sdks_write_them() {
        let python = serde_json::json!({
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
        });
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
}
