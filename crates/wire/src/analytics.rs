//! Product-analytics ingest: PostHog capture bodies (posthog-python,
//! posthog-js and the raw API) and Segment's HTTP tracking API, decoded into
//! core events one by one, so that a bad event is refused with a reason and
//! the good ones around it are kept.

use std::io::Read;

use base64::Engine;
use jiff::Timestamp;
use liveops_core::analytics::event::{Event, Rejected, clip};
use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Why a whole body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is larger than {0} bytes once decompressed")]
    TooLarge(usize),
    #[error("the body could not be decompressed: {0}")]
    Compression(String),
    #[error("the body is not valid JSON: {0}")]
    Json(String),
    #[error("the batch is empty")]
    Empty,
    #[error("{0}")]
    Invalid(String),
}

/// How a PostHog client said it packed the body (`compression` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    /// `gzip` or `gzip-js`.
    Gzip,
    /// A form body `data=<base64 JSON>`.
    Base64,
}

impl Compression {
    pub fn from_hint(hint: Option<&str>) -> Compression {
        match hint {
            Some("gzip" | "gzip-js") => Compression::Gzip,
            Some("base64") => Compression::Base64,
            _ => Compression::None,
        }
    }
}

/// Unpacks a body: a base64 form, gzip (told or seen by its magic bytes),
/// or plain JSON (borrowed as it is); never more than `limit` bytes once
/// unpacked.
pub fn unpack(body: &[u8], hint: Compression, limit: usize) -> Result<Cow<'_, [u8]>, BodyError> {
    let form_data = body.starts_with(b"data=");
    let bytes: Cow<'_, [u8]> = if hint == Compression::Base64 || form_data {
        let field = url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "data")
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| BodyError::Invalid("the form has no `data` field".into()))?;
        Cow::Owned(
            base64::engine::general_purpose::STANDARD
                .decode(field.trim())
                .map_err(|e| BodyError::Compression(format!("bad base64: {e}")))?,
        )
    } else {
        Cow::Borrowed(body)
    };
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let mut reader = flate2::read::MultiGzDecoder::new(&bytes[..]).take(limit as u64 + 1);
        reader
            .read_to_end(&mut out)
            .map_err(|e| BodyError::Compression(e.to_string()))?;
        Cow::Owned(out)
    } else if hint == Compression::Gzip && !form_data {
        return Err(BodyError::Compression(
            "the body was said to be gzip but is not".into(),
        ));
    } else {
        bytes
    };
    if bytes.len() > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(bytes)
}

/// Events decoded from one request: each good or refused, in order.
#[derive(Debug)]
pub struct Decoded {
    /// The project key the body carries, if any (and the same for all).
    pub key: Option<String>,
    pub events: Vec<Result<Event, Rejected>>,
}

/// What decoding needs from the outside world.
pub struct Context<'a> {
    /// The server's clock, in milliseconds.
    pub now_ms: i64,
    /// Makes an id for an event that came without one.
    pub new_id: &'a mut dyn FnMut() -> String,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

fn parse_time(s: &str) -> Option<i64> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t.as_millisecond());
    }
    // A civil time with no offset is UTC, as PostHog reads it.
    s.parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond())
}

fn id_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => clip(s),
        Value::Number(n) => clip(&n.to_string()),
        _ => None,
    }
}

fn object_text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::Object(m)) if !m.is_empty() => Some(Value::Object(m.clone()).to_string()),
        _ => None,
    }
}

/// When an event happened: its `timestamp`, moved by the client's clock
/// skew when the batch says when it was sent, or `offset` ms before now.
fn event_time(
    ev: &Map<String, Value>,
    sent_at: Option<i64>,
    ctx_now: i64,
) -> Result<i64, Rejected> {
    if let Some(ts) = ev.get("timestamp").filter(|v| !v.is_null()) {
        let s = ts.as_str().unwrap_or_default();
        let at = parse_time(s).ok_or_else(|| Rejected::BadTimestamp(ts.to_string()))?;
        return Ok(match sent_at {
            Some(sent) => at + (ctx_now - sent),
            None => at,
        });
    }
    if let Some(offset) = ev.get("offset").and_then(Value::as_i64) {
        return Ok(ctx_now - offset);
    }
    Ok(ctx_now)
}

/// A PostHog body's outer shape; the events stay raw until each is read.
#[derive(Deserialize)]
struct PhTop<'a> {
    #[serde(borrow)]
    batch: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    api_key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    token: Option<Cow<'a, str>>,
    #[serde(rename = "sentAt", borrow)]
    sent_at: Option<Cow<'a, str>>,
    historical_migration: Option<bool>,
}

/// One PostHog event, reading only what liveops needs; `properties` stays
/// the sender's own text unless something must come out of it.
#[derive(Deserialize)]
struct PhEvent<'a> {
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    distinct_id: Option<Value>,
    #[serde(rename = "$distinct_id")]
    dollar_distinct_id: Option<Value>,
    #[serde(borrow)]
    uuid: Option<Cow<'a, str>>,
    timestamp: Option<Value>,
    offset: Option<i64>,
    #[serde(borrow)]
    token: Option<Cow<'a, str>>,
    #[serde(rename = "$token", borrow)]
    dollar_token: Option<Cow<'a, str>>,
    #[serde(borrow)]
    api_key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    properties: Option<&'a RawValue>,
    #[serde(rename = "$set", borrow)]
    set: Option<&'a RawValue>,
    #[serde(rename = "$set_once", borrow)]
    set_once: Option<&'a RawValue>,
}

/// The few properties liveops reads; everything else is skipped unread.
#[derive(Deserialize, Default)]
struct PhProps<'a> {
    distinct_id: Option<Value>,
    #[serde(borrow)]
    token: Option<Cow<'a, str>>,
    #[serde(rename = "$anon_distinct_id")]
    anon_distinct_id: Option<Value>,
    alias: Option<Value>,
    #[serde(rename = "$set", borrow)]
    set: Option<&'a RawValue>,
    #[serde(rename = "$set_once", borrow)]
    set_once: Option<&'a RawValue>,
}

/// An object's text, or `None` for anything else (or an empty object).
fn raw_object(v: Option<&RawValue>) -> Option<String> {
    let text = v?.get().trim();
    (text.starts_with('{') && text != "{}").then(|| text.to_owned())
}

/// Only the key-bearing fields of a PostHog body; everything else is
/// skipped unread, so a body can be authenticated before it is decoded.
#[derive(Deserialize)]
struct KeyOnly<'a> {
    #[serde(borrow)]
    api_key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    token: Option<Cow<'a, str>>,
    #[serde(rename = "$token", borrow)]
    dollar_token: Option<Cow<'a, str>>,
    #[serde(rename = "writeKey", borrow)]
    write_key: Option<Cow<'a, str>>,
    #[serde(borrow)]
    properties: Option<&'a RawValue>,
    #[serde(borrow)]
    batch: Option<Vec<&'a RawValue>>,
}

#[derive(Deserialize)]
struct TokenProp<'a> {
    #[serde(borrow)]
    token: Option<Cow<'a, str>>,
}

impl KeyOnly<'_> {
    fn key(&self) -> Option<String> {
        self.api_key
            .as_deref()
            .or(self.token.as_deref())
            .or(self.dollar_token.as_deref())
            .or(self.write_key.as_deref())
            .map(str::to_owned)
            .or_else(|| {
                let props = self.properties?.get();
                if !props.trim_start().starts_with('{') {
                    return None;
                }
                let p: TokenProp<'_> = serde_json::from_str(props).ok()?;
                p.token.map(|t| t.into_owned())
            })
    }
}

/// The project key a PostHog or Segment body (already unpacked) carries,
/// read without decoding its events: at the top, or on the first event
/// that has one. The full decode checks that all events agree.
pub fn body_key(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let items: Vec<&RawValue> = match text.trim_start().as_bytes().first()? {
        b'[' => serde_json::from_str(text).ok()?,
        b'{' => {
            let top: KeyOnly<'_> = serde_json::from_str(text).ok()?;
            if let Some(k) = top.key() {
                return Some(k);
            }
            top.batch?
        }
        _ => return None,
    };
    items.iter().find_map(|item| {
        serde_json::from_str::<KeyOnly<'_>>(item.get())
            .ok()
            .and_then(|k| k.key())
    })
}

/// Decodes a PostHog capture body (already unpacked): a bare array of
/// events, `{"batch": [...]}` with a key, or one event.
pub fn posthog(body: &[u8], ctx: &mut Context<'_>) -> Result<Decoded, BodyError> {
    let text = std::str::from_utf8(body).map_err(|e| BodyError::Json(e.to_string()))?;
    let first = text.trim_start().as_bytes().first().copied();
    let (items, top) = match first {
        Some(b'[') => {
            let items: Vec<&RawValue> =
                serde_json::from_str(text).map_err(|e| BodyError::Json(e.to_string()))?;
            (items, None)
        }
        Some(b'{') => {
            let top: PhTop<'_> =
                serde_json::from_str(text).map_err(|e| BodyError::Json(e.to_string()))?;
            match top.batch {
                Some(ref b) => (b.clone(), Some(top)),
                None => {
                    let one: &RawValue =
                        serde_json::from_str(text).map_err(|e| BodyError::Json(e.to_string()))?;
                    (vec![one], None)
                }
            }
        }
        _ => {
            // Still say why precisely when it is not JSON at all.
            serde_json::from_str::<Value>(text).map_err(|e| BodyError::Json(e.to_string()))?;
            return Err(BodyError::Invalid(
                "the body must be an event, an array of events or a batch".into(),
            ));
        }
    };
    if items.is_empty() {
        return Err(BodyError::Empty);
    }
    let historical = top
        .as_ref()
        .and_then(|t| t.historical_migration)
        .unwrap_or(false);
    let sent_at = top
        .as_ref()
        .and_then(|t| t.sent_at.as_deref())
        .and_then(parse_time)
        .filter(|_| !historical);
    let mut key: Option<String> = top
        .as_ref()
        .and_then(|t| t.api_key.as_deref().or(t.token.as_deref()))
        .map(str::to_owned);
    let mut events = Vec::with_capacity(items.len());
    for item in items {
        let ev: PhEvent<'_> = match serde_json::from_str(item.get()) {
            Ok(ev) => ev,
            Err(e) => {
                events.push(Err(Rejected::Malformed(format!("not an event: {e}"))));
                continue;
            }
        };
        let props: PhProps<'_> = match ev.properties {
            Some(raw) if raw.get().trim_start().starts_with('{') => {
                match serde_json::from_str(raw.get()) {
                    Ok(p) => p,
                    Err(e) => {
                        events.push(Err(Rejected::Malformed(format!("bad properties: {e}"))));
                        continue;
                    }
                }
            }
            _ => PhProps::default(),
        };
        let ev_key = ev
            .token
            .as_deref()
            .or(ev.dollar_token.as_deref())
            .or(ev.api_key.as_deref())
            .or(props.token.as_deref());
        if let Some(k) = ev_key {
            match &key {
                Some(existing) if existing != k => {
                    return Err(BodyError::Invalid(
                        "the events of a batch carry different project keys".into(),
                    ));
                }
                Some(_) => {}
                None => key = Some(k.to_owned()),
            }
        }
        events.push(posthog_event(&ev, &props, sent_at, ctx));
    }
    Ok(Decoded { key, events })
}

fn posthog_event(
    ev: &PhEvent<'_>,
    props: &PhProps<'_>,
    sent_at: Option<i64>,
    ctx: &mut Context<'_>,
) -> Result<Event, Rejected> {
    let name = ev.event.as_deref().and_then(clip).ok_or(Rejected::NoName)?;
    let distinct_id = ev
        .distinct_id
        .as_ref()
        .or(ev.dollar_distinct_id.as_ref())
        .or(props.distinct_id.as_ref())
        .and_then(id_of)
        .ok_or(Rejected::NoDistinctId)?;
    let at_ms = match &ev.timestamp {
        Some(Value::Null) | None => match ev.offset {
            Some(offset) => ctx.now_ms - offset,
            None => ctx.now_ms,
        },
        Some(ts) => {
            let at = ts
                .as_str()
                .and_then(parse_time)
                .ok_or_else(|| Rejected::BadTimestamp(ts.to_string()))?;
            match sent_at {
                Some(sent) => at + (ctx.now_ms - sent),
                None => at,
            }
        }
    };
    let uuid = ev
        .uuid
        .as_deref()
        .and_then(clip)
        .unwrap_or_else(|| (ctx.new_id)());
    let set = raw_object(ev.set.or(props.set));
    let set_once = raw_object(ev.set_once.or(props.set_once));
    // Properties are kept as sent, except that the project key and the
    // person updates (stored on the person) come out.
    let properties = match ev.properties {
        Some(raw) if raw.get().trim_start().starts_with('{') => {
            if props.token.is_some() || props.set.is_some() || props.set_once.is_some() {
                let mut map: Map<String, Value> = serde_json::from_str(raw.get())
                    .map_err(|e| Rejected::Malformed(format!("bad properties: {e}")))?;
                map.remove("token");
                map.remove("$set");
                map.remove("$set_once");
                Value::Object(map).to_string()
            } else {
                raw.get().trim().to_owned()
            }
        }
        _ => "{}".to_owned(),
    };
    let merge_with = match name.as_str() {
        "$identify" => props.anon_distinct_id.as_ref().and_then(id_of),
        "$create_alias" | "$merge_dangerously" => props.alias.as_ref().and_then(id_of),
        _ => None,
    }
    .filter(|other| *other != distinct_id);
    Ok(Event {
        uuid,
        name,
        distinct_id,
        at_ms,
        properties,
        set,
        set_once,
        merge_with,
    })
}

/// Segment's limit on one message.
pub const SEGMENT_MESSAGE_LIMIT: usize = 32 * 1024;
/// Segment's limit on one batch request.
pub const SEGMENT_BATCH_LIMIT: usize = 500 * 1024;

/// Decodes a Segment HTTP API body. `kind` is the path's call (`track`,
/// `identify`, …) or `batch`.
pub fn segment(body: &[u8], kind: &str, ctx: &mut Context<'_>) -> Result<Decoded, BodyError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| BodyError::Json(e.to_string()))?;
    let Value::Object(mut top) = v else {
        return Err(BodyError::Invalid("the body must be a JSON object".into()));
    };
    let key = top
        .get("writeKey")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let sent_at = top
        .get("sentAt")
        .and_then(Value::as_str)
        .and_then(parse_time);
    let (items, shared_context) = if kind == "batch" {
        let items = match top.remove("batch") {
            Some(Value::Array(items)) => items,
            _ => return Err(BodyError::Invalid("`batch` must be an array".into())),
        };
        (
            items,
            top.get("context").and_then(Value::as_object).cloned(),
        )
    } else {
        top.entry("type")
            .or_insert_with(|| Value::String(kind.to_owned()));
        (vec![Value::Object(top)], None)
    };
    if items.is_empty() {
        return Err(BodyError::Empty);
    }
    let events = items
        .into_iter()
        .map(|item| {
            let size = item.to_string().len();
            if size > SEGMENT_MESSAGE_LIMIT {
                return Err(Rejected::TooLarge(size, SEGMENT_MESSAGE_LIMIT));
            }
            let Value::Object(mut msg) = item else {
                return Err(Rejected::Malformed("a message must be an object".into()));
            };
            if let Some(shared) = &shared_context {
                let ctx_obj = msg
                    .entry("context")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(c) = ctx_obj {
                    for (k, v) in shared {
                        c.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            segment_event(&msg, sent_at, ctx)
        })
        .collect();
    Ok(Decoded { key, events })
}

fn segment_event(
    msg: &Map<String, Value>,
    sent_at: Option<i64>,
    ctx: &mut Context<'_>,
) -> Result<Event, Rejected> {
    let kind = msg.get("type").and_then(Value::as_str).unwrap_or("");
    let user = msg.get("userId").and_then(id_of);
    let anon = msg.get("anonymousId").and_then(id_of);
    let distinct_id = user
        .clone()
        .or(anon.clone())
        .ok_or(Rejected::NoDistinctId)?;
    let mut properties = msg
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut set = None;
    let mut merge_with = None;
    let name = match kind {
        "track" => msg
            .get("event")
            .and_then(Value::as_str)
            .and_then(clip)
            .ok_or(Rejected::NoName)?,
        "identify" => {
            set = object_text(msg.get("traits"));
            merge_with = anon.filter(|a| user.as_ref().is_some_and(|u| u != a));
            "$identify".to_owned()
        }
        "page" | "screen" => {
            if let Some(n) = msg.get("name").and_then(Value::as_str) {
                let field = if kind == "page" {
                    "$page_name"
                } else {
                    "$screen_name"
                };
                properties.insert(field.into(), Value::String(n.to_owned()));
            }
            if kind == "page" {
                if let Some(url) = properties.get("url").cloned() {
                    properties.entry("$current_url").or_insert(url);
                }
                "$pageview".to_owned()
            } else {
                "$screen".to_owned()
            }
        }
        "group" => {
            let group = msg
                .get("groupId")
                .and_then(id_of)
                .ok_or_else(|| Rejected::Malformed("a group call needs `groupId`".into()))?;
            properties.insert("$group_id".into(), Value::String(group));
            if let Some(t) = msg.get("traits") {
                properties.insert("$group_set".into(), t.clone());
            }
            "$groupidentify".to_owned()
        }
        "alias" => {
            merge_with = msg
                .get("previousId")
                .and_then(id_of)
                .filter(|p| *p != distinct_id);
            if merge_with.is_none() {
                return Err(Rejected::Malformed(
                    "an alias call needs `previousId`".into(),
                ));
            }
            "$create_alias".to_owned()
        }
        other => {
            return Err(Rejected::Malformed(format!(
                "unknown call type `{other}`: use track, identify, page, screen, group or alias"
            )));
        }
    };
    if let Some(Value::Object(c)) = msg.get("context") {
        let pick = |path: &[&str]| -> Option<Value> {
            let mut v = c.get(path[0])?;
            for p in &path[1..] {
                v = v.get(*p)?;
            }
            Some(v.clone())
        };
        for (path, to) in [
            (&["ip"][..], "$ip"),
            (&["userAgent"][..], "$user_agent"),
            (&["page", "url"][..], "$current_url"),
            (&["library", "name"][..], "$lib"),
            (&["library", "version"][..], "$lib_version"),
        ] {
            if let Some(v) = pick(path) {
                properties.entry(to).or_insert(v);
            }
        }
    }
    let at_ms = event_time(msg, sent_at, ctx.now_ms)?;
    let uuid = msg
        .get("messageId")
        .and_then(id_of)
        .unwrap_or_else(|| (ctx.new_id)());
    Ok(Event {
        uuid,
        name,
        distinct_id,
        at_ms,
        properties: Value::Object(properties).to_string(),
        set,
        set_once: None,
        merge_with,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn decode_ph(body: &str) -> Result<Decoded, BodyError> {
        let mut n = 0;
        let mut new_id = || {
            n += 1;
            format!("gen-{n}")
        };
        let mut ctx = Context {
            now_ms: 1_000_000,
            new_id: &mut new_id,
        };
        posthog(body.as_bytes(), &mut ctx)
    }

    fn decode_seg(body: &str, kind: &str) -> Result<Decoded, BodyError> {
        let mut new_id = || "gen".to_owned();
        let mut ctx = Context {
            now_ms: 1_000_000,
            new_id: &mut new_id,
        };
        segment(body.as_bytes(), kind, &mut ctx)
    }

    #[test]
    fn body_keys_are_read_without_decoding() {
        for (body, key) in [
            (r#"{"api_key":"k1","batch":[{"event":"a"}]}"#, Some("k1")),
            (
                r#"[{"event":"a","properties":{"token":"k2","x":[1,2]}}]"#,
                Some("k2"),
            ),
            (r#"{"event":"a","properties":{"token":"k3"}}"#, Some("k3")),
            (r#"{"batch":[{"event":"a","$token":"k4"}]}"#, Some("k4")),
            (r#"{"writeKey":"wk","batch":[]}"#, Some("wk")),
            (r#"[{"event":"a","properties":"text"}]"#, None),
            (r#"{"event":"a"}"#, None),
            ("not json", None),
            ("", None),
        ] {
            assert_eq!(body_key(body.as_bytes()).as_deref(), key, "{body}");
        }
    }

    #[test]
    fn posthog_shapes_keys_and_ids() {
        // A python-SDK batch with one good and two bad events.
        let d = decode_ph(
            r#"{"api_key":"k1","batch":[
                {"event":"signed up","distinct_id":42,"uuid":"u1","timestamp":"1970-01-01T00:00:01Z","properties":{"plan":"pro"}},
                {"event":"","distinct_id":"a"},
                {"event":"x","timestamp":"yesterday","distinct_id":"a"}
            ]}"#,
        )
        .expect("decodes");
        assert_eq!(d.key.as_deref(), Some("k1"));
        let e = d.events[0].as_ref().expect("good event");
        assert_eq!(
            (
                e.name.as_str(),
                e.distinct_id.as_str(),
                e.uuid.as_str(),
                e.at_ms
            ),
            ("signed up", "42", "u1", 1000)
        );
        assert_eq!(d.events[1], Err(Rejected::NoName));
        assert!(matches!(d.events[2], Err(Rejected::BadTimestamp(_))));
        // posthog-js: a bare array, the key on each event; clock skew corrected.
        let d = decode_ph(
            r#"[{"event":"$pageview","properties":{"distinct_id":"d","token":"k2"},"timestamp":"1970-01-01T00:00:02Z"}]"#,
        )
        .expect("decodes");
        assert_eq!(d.key.as_deref(), Some("k2"));
        let e = d.events[0].as_ref().expect("good");
        assert_eq!(e.uuid, "gen-1");
        assert!(!e.properties.contains("token"));
        let d = decode_ph(r#"{"batch":[{"event":"a","distinct_id":"d","timestamp":"1970-01-01T00:00:10Z"}],"sentAt":"1970-01-01T00:00:20Z"}"#)
            .expect("decodes");
        assert_eq!(
            d.events[0].as_ref().map(|e| e.at_ms).ok(),
            Some(1_000_000 - 10_000)
        );
        assert!(matches!(
            decode_ph(
                r#"[{"event":"a","distinct_id":"d","token":"k1"},{"event":"a","distinct_id":"d","token":"k2"}]"#
            ),
            Err(BodyError::Invalid(_))
        ));
        assert_eq!(decode_ph("[]").err(), Some(BodyError::Empty));
        assert!(matches!(decode_ph("{not json"), Err(BodyError::Json(_))));
        assert!(matches!(decode_ph("7"), Err(BodyError::Invalid(_))));
    }

    #[test]
    fn posthog_identify_alias_and_person_properties() {
        let d = decode_ph(
            r#"[{"event":"$identify","distinct_id":"user-1","properties":{"$anon_distinct_id":"anon-1","$set":{"email":"a@b"}},"$set_once":{"first":"x"}},
                {"event":"$create_alias","distinct_id":"user-1","properties":{"alias":"user-1b"}}]"#,
        )
        .expect("decodes");
        let e = d.events[0].as_ref().expect("identify");
        assert_eq!(e.merge_with.as_deref(), Some("anon-1"));
        assert_eq!(e.set.as_deref(), Some(r#"{"email":"a@b"}"#));
        assert_eq!(e.set_once.as_deref(), Some(r#"{"first":"x"}"#));
        assert!(!e.properties.contains("$set"));
        let a = d.events[1].as_ref().expect("alias");
        assert_eq!(a.merge_with.as_deref(), Some("user-1b"));
    }

    #[test]
    fn bodies_unpack_from_gzip_and_base64() {
        let json = br#"[{"event":"a","distinct_id":"d"}]"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(json).expect("gzip");
        let gz = gz.finish().expect("gzip");
        assert_eq!(
            *unpack(&gz, Compression::None, 1000).expect("magic"),
            json[..]
        );
        assert_eq!(
            *unpack(&gz, Compression::Gzip, 1000).expect("hint"),
            json[..]
        );
        assert_eq!(
            unpack(&gz, Compression::Gzip, 10),
            Err(BodyError::TooLarge(10))
        );
        assert!(matches!(
            unpack(json, Compression::Gzip, 1000),
            Err(BodyError::Compression(_))
        ));
        let b64 = base64::engine::general_purpose::STANDARD.encode(json);
        let form: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("data", &b64)
            .finish();
        assert_eq!(
            *unpack(form.as_bytes(), Compression::Base64, 1000).expect("form"),
            json[..]
        );
        assert_eq!(
            *unpack(form.as_bytes(), Compression::None, 1000).expect("sniffed"),
            json[..]
        );
    }

    #[test]
    fn segment_calls_become_events() {
        let d = decode_seg(
            r#"{"writeKey":"wk","context":{"ip":"10.0.0.1"},"batch":[
                {"type":"track","event":"Order Completed","userId":"u1","messageId":"m1","properties":{"total":9}},
                {"type":"identify","userId":"u1","anonymousId":"a1","traits":{"plan":"pro"},"messageId":"m2"},
                {"type":"page","anonymousId":"a2","name":"Home","properties":{"url":"https://x/"},"messageId":"m3"},
                {"type":"alias","userId":"u2","previousId":"a3","messageId":"m4"},
                {"type":"track","messageId":"m5","event":"x"},
                {"type":"dance","userId":"u1"}
            ]}"#,
            "batch",
        )
        .expect("decodes");
        assert_eq!(d.key.as_deref(), Some("wk"));
        let t = d.events[0].as_ref().expect("track");
        assert_eq!(
            (t.name.as_str(), t.uuid.as_str()),
            ("Order Completed", "m1")
        );
        assert!(
            t.properties.contains(r#""$ip":"10.0.0.1""#),
            "{}",
            t.properties
        );
        let i = d.events[1].as_ref().expect("identify");
        assert_eq!(i.name, "$identify");
        assert_eq!(i.merge_with.as_deref(), Some("a1"));
        assert_eq!(i.set.as_deref(), Some(r#"{"plan":"pro"}"#));
        let p = d.events[2].as_ref().expect("page");
        assert_eq!(
            (p.name.as_str(), p.distinct_id.as_str()),
            ("$pageview", "a2")
        );
        assert!(p.properties.contains("$current_url"));
        let a = d.events[3].as_ref().expect("alias");
        assert_eq!(a.merge_with.as_deref(), Some("a3"));
        assert_eq!(d.events[4], Err(Rejected::NoDistinctId));
        assert!(matches!(d.events[5], Err(Rejected::Malformed(_))));
        // A single call on its own path.
        let d = decode_seg(r#"{"userId":"u","event":"Clicked"}"#, "track").expect("decodes");
        assert_eq!(
            d.events[0].as_ref().map(|e| e.name.as_str()).ok(),
            Some("Clicked")
        );
        let big = format!(
            r#"{{"batch":[{{"type":"track","userId":"u","event":"e","properties":{{"x":"{}"}}}}]}}"#,
            "y".repeat(40_000)
        );
        let d = decode_seg(&big, "batch").expect("decodes");
        assert!(matches!(d.events[0], Err(Rejected::TooLarge(_, _))));
    }
}
