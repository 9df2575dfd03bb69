//! OTLP/HTTP traces and metrics: `Export*ServiceRequest` bodies in protobuf (decoded
//! with prost) or JSON (decoded here, tolerantly: hex or base64 ids, 64-bit
//! integers as strings or numbers, enums as numbers or names), turned into
//! core spans one by one, and the answers the exporters expect.

use std::io::Read;

use base64::Engine;
use liveops_core::performance::metric::{MetricKind, MetricPoint};
use liveops_core::performance::span::{DbCall, HttpCall, Span, SpanKind};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1 as metrics_pb;
use prost::Message;
use serde_json::{Map, Value};

use crate::analytics::BodyError;

/// The body's encoding, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// `application/x-protobuf` or `application/json` (parameters ignored);
    /// `None` for anything else.
    pub fn from_content_type(ct: Option<&str>) -> Option<Encoding> {
        let ct = ct.unwrap_or("application/x-protobuf");
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Ungzips a body when it says (or looks) so, never past `limit` bytes.
pub fn unpack(body: &[u8], gzip: bool, limit: usize) -> Result<Vec<u8>, BodyError> {
    let out = if gzip || body.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(body)
            .take(limit as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| BodyError::Compression(e.to_string()))?;
        out
    } else {
        body.to_vec()
    };
    if out.len() > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(out)
}

/// An attribute value, whichever encoding it came in.
#[derive(Debug, Clone, PartialEq)]
enum Attr {
    Str(String),
    Bool(bool),
    Int(i64),
    Double(f64),
    Bytes(Vec<u8>),
    Array(Vec<Attr>),
    Map(Vec<(String, Attr)>),
}

impl Attr {
    fn text(&self) -> Option<String> {
        match self {
            Attr::Str(s) => Some(s.clone()),
            Attr::Int(n) => Some(n.to_string()),
            Attr::Double(d) => Some(d.to_string()),
            Attr::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            Attr::Int(n) => Some(*n),
            Attr::Double(d) if d.is_finite() => Some(*d as i64),
            Attr::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Writes the value as JSON (bytes as base64, non-finite numbers as
    /// null), straight into `out`: cheaper than building a document.
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Attr::Str(s) => write_str(out, s),
            Attr::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Attr::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
            Attr::Double(d) if d.is_finite() => {
                out.extend_from_slice(
                    serde_json::Number::from_f64(*d)
                        .map_or_else(|| "null".into(), |n| n.to_string())
                        .as_bytes(),
                );
            }
            Attr::Double(_) => out.extend_from_slice(b"null"),
            Attr::Bytes(b) => write_str(out, &base64::engine::general_purpose::STANDARD.encode(b)),
            Attr::Array(a) => {
                out.push(b'[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write_json(out);
                }
                out.push(b']');
            }
            Attr::Map(m) => write_object(out, m),
        }
    }
}

fn write_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a string into memory cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// An object of attributes; a key given twice keeps its first value.
fn write_object(out: &mut Vec<u8>, kvs: &[(String, Attr)]) {
    out.push(b'{');
    for (i, (k, v)) in kvs.iter().enumerate() {
        if kvs[..i].iter().any(|(seen, _)| seen == k) {
            continue;
        }
        if out.last() != Some(&b'{') {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        v.write_json(out);
    }
    out.push(b'}');
}

/// A span before it is checked, from either encoding.
#[derive(Debug, Default)]
struct RawSpan {
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_id: Vec<u8>,
    name: String,
    kind: i64,
    start_ns: u64,
    end_ns: u64,
    status_code: i64,
    attributes: Vec<(String, Attr)>,
}

/// What the exporter hears: the spans that were refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Refusals {
    pub rejected: u64,
    /// The first few reasons, joined.
    pub message: String,
}

impl Refusals {
    fn add(&mut self, why: String) {
        self.rejected += 1;
        if self.rejected <= 5 {
            if !self.message.is_empty() {
                self.message.push_str("; ");
            }
            self.message.push_str(&why);
        }
    }
}

/// Decodes an export request into spans, refusing bad spans one by one.
pub fn decode_traces(body: &[u8], encoding: Encoding) -> Result<(Vec<Span>, Refusals), BodyError> {
    let resources = match encoding {
        Encoding::Protobuf => from_protobuf(body)?,
        Encoding::Json => from_json(body)?,
    };
    let mut spans = Vec::new();
    let mut refusals = Refusals::default();
    for (resource, raws) in resources {
        let find = |k: &str| {
            resource
                .iter()
                .find(|(key, _)| key == k)
                .and_then(|(_, v)| v.text())
        };
        let service = find("service.name").unwrap_or_else(|| "unknown_service".into());
        let version = find("service.version");
        let host = find("host.name");
        for raw in raws {
            match span(raw, &service, &version, &host) {
                Ok(s) => spans.push(s),
                Err(why) => refusals.add(why),
            }
        }
    }
    Ok((spans, refusals))
}

type Resource = (Vec<(String, Attr)>, Vec<RawSpan>);

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

fn span(
    raw: RawSpan,
    service: &str,
    version: &Option<String>,
    host: &Option<String>,
) -> Result<Span, String> {
    if raw.trace_id.len() != 16 || raw.trace_id.iter().all(|b| *b == 0) {
        return Err(format!("span `{}` has no valid 16-byte trace id", raw.name));
    }
    if raw.span_id.len() != 8 || raw.span_id.iter().all(|b| *b == 0) {
        return Err(format!("span `{}` has no valid 8-byte span id", raw.name));
    }
    if raw.end_ns < raw.start_ns {
        return Err(format!("span `{}` ends before it starts", raw.name));
    }
    let start_ns =
        i64::try_from(raw.start_ns).map_err(|_| format!("span `{}` starts too late", raw.name))?;
    let duration_ns = i64::try_from(raw.end_ns - raw.start_ns).unwrap_or(i64::MAX);
    let parent_id = (raw.parent_id.len() == 8 && raw.parent_id.iter().any(|b| *b != 0))
        .then(|| hex(&raw.parent_id));
    let attrs = &raw.attributes;
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| attrs.iter().find(|(k, _)| k == n).map(|(_, v)| v))
    };
    let text = |names: &[&str]| get(names).and_then(Attr::text).filter(|s| !s.is_empty());
    let int = |names: &[&str]| get(names).and_then(Attr::int);
    let method = text(&["http.request.method", "http.method"]);
    let status =
        int(&["http.response.status_code", "http.status_code"]).and_then(|s| u16::try_from(s).ok());
    let route = text(&["http.route"]);
    let path = text(&["url.path"])
        .or_else(|| text(&["http.target"]).map(|t| t.split('?').next().unwrap_or("").to_owned()));
    let size = |names: &[&str]| int(names).and_then(|n| u64::try_from(n).ok());
    let request_bytes = size(&[
        "http.request.body.size",
        "http.request_content_length",
        "http.request.size",
    ]);
    let response_bytes = size(&[
        "http.response.body.size",
        "http.response_content_length",
        "http.response.size",
    ]);
    let is_http = method.is_some() || status.is_some() || route.is_some() || path.is_some();
    let http = is_http.then_some(HttpCall {
        method,
        route,
        path,
        status,
        request_bytes,
        response_bytes,
    });
    let db = text(&["db.system.name", "db.system"]).map(|system| DbCall {
        system,
        statement: text(&["db.query.text", "db.statement"]),
        operation: text(&["db.operation.name", "db.operation"]),
        namespace: text(&["db.namespace", "db.name"]),
        table: text(&["db.collection.name", "db.sql.table"]),
    });
    // The rest of the attributes, for the evidence view; what was read into
    // fields above is not kept twice.
    let rest: Vec<(String, Attr)> = attrs
        .iter()
        .filter(|(k, _)| !READ_INTO_FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    let mut json = Vec::with_capacity(48 * rest.len() + 2);
    write_object(&mut json, &rest);
    let attributes = String::from_utf8(json).unwrap_or_else(|_| "{}".into());
    Ok(Span {
        trace_id: hex(&raw.trace_id),
        span_id: hex(&raw.span_id),
        parent_id,
        service: service.to_owned(),
        version: version.clone(),
        host: host.clone(),
        name: raw.name,
        kind: SpanKind::from_otlp(raw.kind),
        start_ns,
        duration_ns,
        status_error: raw.status_code == 2,
        http,
        db,
        attributes,
    })
}

/// Attributes that become fields of [`Span`].
const READ_INTO_FIELDS: &[&str] = &[
    "http.request.method",
    "http.method",
    "http.response.status_code",
    "http.status_code",
    "http.route",
    "url.path",
    "http.target",
    "http.request.body.size",
    "http.request_content_length",
    "http.request.size",
    "http.response.body.size",
    "http.response_content_length",
    "http.response.size",
    "db.system.name",
    "db.system",
    "db.query.text",
    "db.statement",
    "db.operation.name",
    "db.operation",
    "db.namespace",
    "db.name",
    "db.collection.name",
    "db.sql.table",
];

// --- protobuf ---

fn from_protobuf(body: &[u8]) -> Result<Vec<Resource>, BodyError> {
    let req = ExportTraceServiceRequest::decode(body).map_err(|e| {
        BodyError::Invalid(format!(
            "the body is not an OTLP protobuf trace export: {e}"
        ))
    })?;
    Ok(req
        .resource_spans
        .into_iter()
        .map(|rs| {
            let resource = rs
                .resource
                .map(|r| attrs_pb(r.attributes))
                .unwrap_or_default();
            let spans = rs
                .scope_spans
                .into_iter()
                .flat_map(|ss| ss.spans)
                .map(|s| RawSpan {
                    trace_id: s.trace_id,
                    span_id: s.span_id,
                    parent_id: s.parent_span_id,
                    name: s.name,
                    kind: i64::from(s.kind),
                    start_ns: s.start_time_unix_nano,
                    end_ns: s.end_time_unix_nano,
                    status_code: s.status.map_or(0, |st| i64::from(st.code)),
                    attributes: attrs_pb(s.attributes),
                })
                .collect();
            (resource, spans)
        })
        .collect())
}

fn attrs_pb(kvs: Vec<KeyValue>) -> Vec<(String, Attr)> {
    kvs.into_iter()
        .filter_map(|kv| Some((kv.key, value_pb(kv.value?)?)))
        .collect()
}

fn value_pb(v: AnyValue) -> Option<Attr> {
    Some(match v.value? {
        any_value::Value::StringValue(s) => Attr::Str(s),
        any_value::Value::BoolValue(b) => Attr::Bool(b),
        any_value::Value::IntValue(n) => Attr::Int(n),
        any_value::Value::DoubleValue(d) => Attr::Double(d),
        any_value::Value::BytesValue(b) => Attr::Bytes(b),
        any_value::Value::ArrayValue(a) => {
            Attr::Array(a.values.into_iter().filter_map(value_pb).collect())
        }
        any_value::Value::KvlistValue(m) => Attr::Map(attrs_pb(m.values)),
        #[allow(unreachable_patterns)]
        _ => return None,
    })
}

// --- JSON ---

/// A field by its lowerCamelCase name or, as some senders write it, snake_case.
fn field<'a>(o: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    o.get(camel).or_else(|| o.get(snake))
}

fn array<'a>(o: &'a Map<String, Value>, camel: &str, snake: &str) -> &'a [Value] {
    field(o, camel, snake)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A 64-bit integer sent as a number or a decimal string.
fn uint(v: Option<&Value>) -> Result<u64, String> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .ok_or_else(|| format!("{n} is not a time")),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| format!("`{s}` is not a time")),
        Some(other) => Err(format!("{other} is not a time")),
    }
}

/// An id in hex (the OTLP JSON rule) or base64 (what some exporters send).
fn id(v: Option<&Value>, len: usize) -> Result<Vec<u8>, String> {
    let Some(s) = v.and_then(Value::as_str).filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    if s.len() == len * 2 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok((0..len)
            .filter_map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok())
            .collect());
    }
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        if let Ok(b) = base64::Engine::decode(engine, s)
            && b.len() == len
        {
            return Ok(b);
        }
    }
    Err(format!("`{s}` is not a {len}-byte id in hex or base64"))
}

/// An enum sent as a number or by its name (`SPAN_KIND_SERVER`).
fn enumeration(v: Option<&Value>, names: &[&str]) -> i64 {
    match v {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s
            .parse()
            .ok()
            .or_else(|| {
                names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(s))
                    .map(|i| i as i64)
            })
            .unwrap_or(0),
        _ => 0,
    }
}

const KINDS: &[&str] = &[
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
];
const STATUS: &[&str] = &["STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"];

fn value_json(v: &Value) -> Option<Attr> {
    let o = v.as_object()?;
    let (k, inner) = o.iter().next()?;
    Some(match k.as_str() {
        "stringValue" | "string_value" => Attr::Str(inner.as_str()?.to_owned()),
        "boolValue" | "bool_value" => Attr::Bool(inner.as_bool()?),
        "intValue" | "int_value" => Attr::Int(match inner {
            Value::String(s) => s.trim().parse().ok()?,
            Value::Number(n) => n.as_i64()?,
            _ => return None,
        }),
        "doubleValue" | "double_value" => Attr::Double(match inner {
            Value::String(s) => s.trim().parse().ok()?,
            Value::Number(n) => n.as_f64()?,
            _ => return None,
        }),
        "bytesValue" | "bytes_value" => Attr::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(inner.as_str()?)
                .ok()?,
        ),
        "arrayValue" | "array_value" => Attr::Array(
            inner
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(value_json).collect())
                .unwrap_or_default(),
        ),
        "kvlistValue" | "kvlist_value" => Attr::Map(attrs_json(inner.get("values"))),
        _ => return None,
    })
}

fn attrs_json(v: Option<&Value>) -> Vec<(String, Attr)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|kv| {
                    let key = kv.get("key")?.as_str()?.to_owned();
                    Some((key, value_json(kv.get("value")?)?))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn from_json(body: &[u8]) -> Result<Vec<Resource>, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| BodyError::Json(e.to_string()))?;
    let Some(root) = v.as_object() else {
        return Err(BodyError::Invalid("an OTLP export is a JSON object".into()));
    };
    let mut out = Vec::new();
    for rs in array(root, "resourceSpans", "resource_spans") {
        let Some(rs) = rs.as_object() else { continue };
        let resource = attrs_json(rs.get("resource").and_then(|r| r.get("attributes")));
        let mut spans = Vec::new();
        for ss in array(rs, "scopeSpans", "scope_spans").iter().chain(array(
            rs,
            "instrumentationLibrarySpans",
            "instrumentation_library_spans",
        )) {
            let Some(ss) = ss.as_object() else { continue };
            for s in array(ss, "spans", "spans") {
                let Some(s) = s.as_object() else { continue };
                spans.push(raw_json(s));
            }
        }
        out.push((resource, spans));
    }
    Ok(out)
}

/// A JSON span; fields that cannot be read leave the span invalid, so that
/// [`span`] refuses it with the others' reasons.
fn raw_json(s: &Map<String, Value>) -> RawSpan {
    let name = s
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut raw = RawSpan {
        name,
        kind: enumeration(s.get("kind"), KINDS),
        status_code: enumeration(s.get("status").and_then(|st| st.get("code")), STATUS),
        attributes: attrs_json(s.get("attributes")),
        ..RawSpan::default()
    };
    // Ids and times that cannot be read are left empty or inverted.
    raw.trace_id = id(field(s, "traceId", "trace_id"), 16).unwrap_or_default();
    raw.span_id = id(field(s, "spanId", "span_id"), 8).unwrap_or_default();
    raw.parent_id = id(field(s, "parentSpanId", "parent_span_id"), 8).unwrap_or_default();
    match (
        uint(field(s, "startTimeUnixNano", "start_time_unix_nano")),
        uint(field(s, "endTimeUnixNano", "end_time_unix_nano")),
    ) {
        (Ok(a), Ok(b)) => {
            raw.start_ns = a;
            raw.end_ns = b;
        }
        _ => {
            raw.start_ns = 1;
            raw.end_ns = 0;
        }
    }
    raw
}

// --- metrics ---

/// A data point before it is checked, from either encoding.
#[derive(Debug, Default)]
struct RawPoint {
    at_ns: u64,
    value: Option<f64>,
    count: Option<u64>,
    sum: Option<f64>,
    attributes: Vec<(String, Attr)>,
}

#[derive(Debug)]
struct RawMetric {
    name: String,
    unit: String,
    kind: MetricKind,
    cumulative: bool,
    points: Vec<RawPoint>,
}

type MetricResource = (Vec<(String, Attr)>, Vec<RawMetric>);

/// Decodes a metrics export into data points, refusing bad points one by one.
pub fn decode_metrics(
    body: &[u8],
    encoding: Encoding,
) -> Result<(Vec<MetricPoint>, Refusals), BodyError> {
    let resources = match encoding {
        Encoding::Protobuf => metrics_from_protobuf(body)?,
        Encoding::Json => metrics_from_json(body)?,
    };
    let mut out = Vec::new();
    let mut refusals = Refusals::default();
    for (resource, metrics) in resources {
        let find = |k: &str| {
            resource
                .iter()
                .find(|(key, _)| key == k)
                .and_then(|(_, v)| v.text())
        };
        let service = find("service.name").unwrap_or_else(|| "unknown_service".into());
        let host = find("host.name");
        for m in metrics {
            if m.name.trim().is_empty() || m.name.chars().count() > 255 {
                for _ in &m.points {
                    refusals.add("a metric needs a name of 1 to 255 characters".into());
                }
                continue;
            }
            for p in m.points {
                let Some(value) = p.value.filter(|v| v.is_finite()) else {
                    refusals.add(format!("a point of `{}` has no finite value", m.name));
                    continue;
                };
                let Ok(at_ns) = i64::try_from(p.at_ns) else {
                    refusals.add(format!("a point of `{}` has an impossible time", m.name));
                    continue;
                };
                if at_ns == 0 {
                    refusals.add(format!("a point of `{}` has no time", m.name));
                    continue;
                }
                let mut json = Vec::new();
                write_object(&mut json, &p.attributes);
                out.push(MetricPoint {
                    service: service.clone(),
                    host: host.clone(),
                    name: m.name.clone(),
                    unit: m.unit.clone(),
                    kind: m.kind,
                    cumulative: m.cumulative,
                    at_ns,
                    value,
                    count: p.count,
                    sum: p.sum,
                    attributes: String::from_utf8(json).unwrap_or_else(|_| "{}".into()),
                });
            }
        }
    }
    Ok((out, refusals))
}

fn number_pb(p: metrics_pb::NumberDataPoint) -> RawPoint {
    RawPoint {
        at_ns: p.time_unix_nano,
        value: p.value.map(|v| match v {
            metrics_pb::number_data_point::Value::AsDouble(d) => d,
            metrics_pb::number_data_point::Value::AsInt(n) => n as f64,
        }),
        count: None,
        sum: None,
        attributes: attrs_pb(p.attributes),
    }
}

fn histogram_point(
    at_ns: u64,
    count: u64,
    sum: Option<f64>,
    attributes: Vec<(String, Attr)>,
) -> RawPoint {
    RawPoint {
        at_ns,
        value: sum
            .and_then(|s| MetricPoint::histogram_mean(count, s))
            .or(Some(0.0)),
        count: Some(count),
        sum,
        attributes,
    }
}

fn metrics_from_protobuf(body: &[u8]) -> Result<Vec<MetricResource>, BodyError> {
    use metrics_pb::metric::Data;
    let req = ExportMetricsServiceRequest::decode(body).map_err(|e| {
        BodyError::Invalid(format!(
            "the body is not an OTLP protobuf metrics export: {e}"
        ))
    })?;
    Ok(req
        .resource_metrics
        .into_iter()
        .map(|rm| {
            let resource = rm
                .resource
                .map(|r| attrs_pb(r.attributes))
                .unwrap_or_default();
            let metrics = rm
                .scope_metrics
                .into_iter()
                .flat_map(|sm| sm.metrics)
                .filter_map(|m| {
                    let (kind, cumulative, points) = match m.data? {
                        Data::Gauge(g) => (
                            MetricKind::Gauge,
                            false,
                            g.data_points.into_iter().map(number_pb).collect(),
                        ),
                        Data::Sum(s) => (
                            MetricKind::Sum,
                            s.is_monotonic && s.aggregation_temporality == 2,
                            s.data_points.into_iter().map(number_pb).collect(),
                        ),
                        Data::Histogram(h) => (
                            MetricKind::Histogram,
                            false,
                            h.data_points
                                .into_iter()
                                .map(|p| {
                                    histogram_point(
                                        p.time_unix_nano,
                                        p.count,
                                        p.sum,
                                        attrs_pb(p.attributes),
                                    )
                                })
                                .collect(),
                        ),
                        Data::ExponentialHistogram(h) => (
                            MetricKind::Histogram,
                            false,
                            h.data_points
                                .into_iter()
                                .map(|p| {
                                    histogram_point(
                                        p.time_unix_nano,
                                        p.count,
                                        p.sum,
                                        attrs_pb(p.attributes),
                                    )
                                })
                                .collect(),
                        ),
                        Data::Summary(sm) => (
                            MetricKind::Histogram,
                            false,
                            sm.data_points
                                .into_iter()
                                .map(|p| {
                                    histogram_point(
                                        p.time_unix_nano,
                                        p.count,
                                        Some(p.sum),
                                        attrs_pb(p.attributes),
                                    )
                                })
                                .collect(),
                        ),
                    };
                    Some(RawMetric {
                        name: m.name,
                        unit: m.unit,
                        kind,
                        cumulative,
                        points,
                    })
                })
                .collect();
            (resource, metrics)
        })
        .collect())
}

fn number_json(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn points_json(container: &Value, histogram: bool) -> Vec<RawPoint> {
    container
        .get("dataPoints")
        .or_else(|| container.get("data_points"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_object)
                .map(|p| {
                    let at_ns = uint(field(p, "timeUnixNano", "time_unix_nano")).unwrap_or(0);
                    let attributes = attrs_json(p.get("attributes"));
                    if histogram {
                        let count = number_json(p.get("count")).map_or(0, |c| c.max(0.0) as u64);
                        histogram_point(at_ns, count, number_json(p.get("sum")), attributes)
                    } else {
                        RawPoint {
                            at_ns,
                            value: number_json(field(p, "asDouble", "as_double"))
                                .or_else(|| number_json(field(p, "asInt", "as_int"))),
                            count: None,
                            sum: None,
                            attributes,
                        }
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn metrics_from_json(body: &[u8]) -> Result<Vec<MetricResource>, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Vec::new());
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| BodyError::Json(e.to_string()))?;
    let Some(root) = v.as_object() else {
        return Err(BodyError::Invalid("an OTLP export is a JSON object".into()));
    };
    let mut out = Vec::new();
    for rm in array(root, "resourceMetrics", "resource_metrics") {
        let Some(rm) = rm.as_object() else { continue };
        let resource = attrs_json(rm.get("resource").and_then(|r| r.get("attributes")));
        let mut metrics = Vec::new();
        for sm in array(rm, "scopeMetrics", "scope_metrics") {
            let Some(sm) = sm.as_object() else { continue };
            for m in array(sm, "metrics", "metrics") {
                let Some(m) = m.as_object() else { continue };
                let name = m
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let unit = m
                    .get("unit")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let (kind, cumulative, points) = if let Some(g) = m.get("gauge") {
                    (MetricKind::Gauge, false, points_json(g, false))
                } else if let Some(sum) = m.get("sum") {
                    let temporality = enumeration(
                        field(
                            sum.as_object().unwrap_or(m),
                            "aggregationTemporality",
                            "aggregation_temporality",
                        ),
                        &[
                            "AGGREGATION_TEMPORALITY_UNSPECIFIED",
                            "AGGREGATION_TEMPORALITY_DELTA",
                            "AGGREGATION_TEMPORALITY_CUMULATIVE",
                        ],
                    );
                    let monotonic =
                        field(sum.as_object().unwrap_or(m), "isMonotonic", "is_monotonic")
                            .and_then(Value::as_bool)
                            .unwrap_or(false);
                    (
                        MetricKind::Sum,
                        monotonic && temporality == 2,
                        points_json(sum, false),
                    )
                } else if let Some(h) = m
                    .get("histogram")
                    .or_else(|| m.get("exponentialHistogram"))
                    .or_else(|| m.get("summary"))
                {
                    (MetricKind::Histogram, false, points_json(h, true))
                } else {
                    continue;
                };
                metrics.push(RawMetric {
                    name,
                    unit,
                    kind,
                    cumulative,
                    points,
                });
            }
        }
        out.push((resource, metrics));
    }
    Ok(out)
}

/// The answer to a metrics export.
pub fn metrics_response(refusals: &Refusals, encoding: Encoding) -> Vec<u8> {
    let partial = (refusals.rejected > 0).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(refusals.rejected).unwrap_or(i64::MAX),
        error_message: refusals.message.clone(),
    });
    match encoding {
        Encoding::Protobuf => ExportMetricsServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        Encoding::Json => match partial {
            Some(p) => serde_json::json!({"partialSuccess": {
                "rejectedDataPoints": p.rejected_data_points.to_string(), "errorMessage": p.error_message}})
            .to_string()
            .into_bytes(),
            None => b"{}".to_vec(),
        },
    }
}

/// The answer to an export: empty on full success, else a partial success.
pub fn trace_response(refusals: &Refusals, encoding: Encoding) -> Vec<u8> {
    let partial = (refusals.rejected > 0).then(|| ExportTracePartialSuccess {
        rejected_spans: i64::try_from(refusals.rejected).unwrap_or(i64::MAX),
        error_message: refusals.message.clone(),
    });
    match encoding {
        Encoding::Protobuf => ExportTraceServiceResponse {
            partial_success: partial,
        }
        .encode_to_vec(),
        Encoding::Json => {
            let v = match partial {
                Some(p) => serde_json::json!({"partialSuccess": {
                    "rejectedSpans": p.rejected_spans.to_string(), "errorMessage": p.error_message}}),
                None => serde_json::json!({}),
            };
            v.to_string().into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::resource::v1::Resource as PbResource;
    use opentelemetry_proto::tonic::trace::v1::{
        ResourceSpans, ScopeSpans, Span as PbSpan, Status,
    };

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..KeyValue::default()
        }
    }

    fn request() -> ExportTraceServiceRequest {
        let server = PbSpan {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "GET /users/{id}".into(),
            kind: 2,
            start_time_unix_nano: 1_700_000_000_000_000_000,
            end_time_unix_nano: 1_700_000_000_120_000_000,
            attributes: vec![
                kv(
                    "http.request.method",
                    any_value::Value::StringValue("GET".into()),
                ),
                kv(
                    "http.route",
                    any_value::Value::StringValue("/users/{id}".into()),
                ),
                kv("http.response.status_code", any_value::Value::IntValue(503)),
            ],
            ..PbSpan::default()
        };
        let db = PbSpan {
            trace_id: vec![1; 16],
            span_id: vec![3; 8],
            parent_span_id: vec![2; 8],
            name: "SELECT".into(),
            kind: 3,
            start_time_unix_nano: 1_700_000_000_010_000_000,
            end_time_unix_nano: 1_700_000_000_020_000_000,
            attributes: vec![
                kv(
                    "db.system",
                    any_value::Value::StringValue("postgresql".into()),
                ),
                kv(
                    "db.statement",
                    any_value::Value::StringValue("SELECT * FROM users WHERE id = 7".into()),
                ),
            ],
            status: Some(Status {
                code: 2,
                message: String::new(),
            }),
            ..PbSpan::default()
        };
        let broken = PbSpan {
            trace_id: vec![1; 3],
            span_id: vec![4; 8],
            name: "broken".into(),
            ..PbSpan::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(PbResource {
                    attributes: vec![
                        kv("service.name", any_value::Value::StringValue("shop".into())),
                        kv(
                            "service.version",
                            any_value::Value::StringValue("1.4.0".into()),
                        ),
                    ],
                    ..PbResource::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans: vec![server, db, broken],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        }
    }

    #[test]
    fn protobuf_spans_decode_with_their_http_and_db_attributes() {
        let (spans, refusals) =
            decode_traces(&request().encode_to_vec(), Encoding::Protobuf).expect("test input");
        assert_eq!(spans.len(), 2);
        assert_eq!(refusals.rejected, 1);
        assert!(
            refusals.message.contains("trace id"),
            "{}",
            refusals.message
        );
        let s = &spans[0];
        assert_eq!(s.trace_id, "01".repeat(16));
        assert_eq!(s.service, "shop");
        assert_eq!(s.version.as_deref(), Some("1.4.0"));
        assert_eq!(s.kind, SpanKind::Server);
        assert_eq!(s.duration_ns, 120_000_000);
        assert_eq!(s.route(), "GET /users/{id}");
        assert!(s.is_error());
        // What became a field is not kept twice.
        assert_eq!(s.attributes, "{}");
        let mut out = Vec::new();
        write_object(
            &mut out,
            &[
                ("a\"b".into(), Attr::Double(f64::NAN)),
                ("a\"b".into(), Attr::Int(1)),
                (
                    "l".into(),
                    Attr::Array(vec![Attr::Bool(true), Attr::Bytes(vec![1, 2])]),
                ),
                ("m".into(), Attr::Map(vec![("x".into(), Attr::Double(1.5))])),
            ],
        );
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(
            v,
            serde_json::json!({"a\"b": null, "l": [true, "AQI="], "m": {"x": 1.5}})
        );
        let d = &spans[1];
        assert_eq!(d.parent_id.as_deref(), Some("0202020202020202"));
        let db = d.db.as_ref().expect("test input");
        assert_eq!(db.system, "postgresql");
        assert_eq!(
            db.statement.as_deref(),
            Some("SELECT * FROM users WHERE id = 7")
        );
        assert!(d.status_error);
        let answer = trace_response(&refusals, Encoding::Protobuf);
        let back = ExportTraceServiceResponse::decode(&answer[..]).expect("test input");
        assert_eq!(back.partial_success.expect("test input").rejected_spans, 1);
    }

    #[test]
    fn json_quirks_are_tolerated() {
        let body = serde_json::json!({"resourceSpans": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
            "scopeSpans": [{"spans": [
                {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
                 "parentSpanId": "", "name": "GET /a", "kind": 2,
                 "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": 1544712661000000000u64,
                 "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}},
                                {"key": "http.target", "value": {"stringValue": "/a/12?x=1"}},
                                {"key": "http.status_code", "value": {"intValue": "200"}}]},
                {"trace_id": "W47/95gDgQPSabYzgT/GDA==", "span_id": "7uGbfsPBsXQ=",
                 "name": "q", "kind": "SPAN_KIND_CLIENT",
                 "start_time_unix_nano": 1, "end_time_unix_nano": 2,
                 "status": {"code": "STATUS_CODE_ERROR"}},
                {"traceId": "zz", "spanId": "eee19b7ec3c1b174", "name": "bad"},
                {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175",
                 "name": "late", "startTimeUnixNano": "soon", "endTimeUnixNano": "1"}
            ]}]
        }]});
        let (spans, refusals) =
            decode_traces(body.to_string().as_bytes(), Encoding::Json).expect("test input");
        assert_eq!(spans.len(), 2, "{refusals:?}");
        assert_eq!(refusals.rejected, 2);
        assert_eq!(spans[0].duration_ns, 1_000_000_000);
        assert_eq!(spans[0].route(), "GET /a/{id}");
        assert_eq!(spans[0].http.as_ref().and_then(|h| h.status), Some(200));
        assert_eq!(spans[1].trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(spans[1].kind, SpanKind::Client);
        assert!(spans[1].status_error);
        assert!(
            decode_traces(b"", Encoding::Json)
                .expect("test input")
                .0
                .is_empty()
        );
        assert!(decode_traces(b"[1]", Encoding::Json).is_err());
        assert!(decode_traces(b"\x0a\xff\xff", Encoding::Protobuf).is_err());
        let answer = trace_response(&refusals, Encoding::Json);
        assert!(
            String::from_utf8(answer)
                .expect("test input")
                .contains("\"rejectedSpans\":\"2\"")
        );
    }

    #[test]
    fn metrics_decode_gauges_sums_and_histograms() {
        let body = serde_json::json!({"resourceMetrics": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "api"}},
            {"key": "host.name", "value": {"stringValue": "web-1"}}]},
        "scopeMetrics": [{"metrics": [
            {"name": "queue.depth", "unit": "1", "gauge": {"dataPoints": [
                {"timeUnixNano": "1700000000000000000", "asInt": "7"},
                {"timeUnixNano": "1700000060000000000", "asDouble": 9.5}]}},
            {"name": "requests", "sum": {"aggregationTemporality": 2, "isMonotonic": true,
                "dataPoints": [{"timeUnixNano": 1700000000000000000u64, "asInt": 120,
                    "attributes": [{"key": "route", "value": {"stringValue": "/a"}}]}]}},
            {"name": "latency", "unit": "ms", "histogram": {"dataPoints": [
                {"timeUnixNano": "1700000000000000000", "count": "4", "sum": 10.0}]}},
            {"name": "broken", "gauge": {"dataPoints": [{"timeUnixNano": "1", "asDouble": "x"}]}},
            {"name": "", "gauge": {"dataPoints": [{"timeUnixNano": "1", "asDouble": 1}]}}
        ]}]}]});
        let (points, refusals) =
            decode_metrics(body.to_string().as_bytes(), Encoding::Json).expect("test input");
        assert_eq!(points.len(), 4, "{refusals:?}");
        assert_eq!(refusals.rejected, 2);
        assert_eq!(points[0].value, 7.0);
        assert_eq!(points[0].host.as_deref(), Some("web-1"));
        assert_eq!(points[0].kind, MetricKind::Gauge);
        assert_eq!(points[1].value, 9.5);
        assert!(points[2].cumulative);
        assert_eq!(points[2].attributes, r#"{"route":"/a"}"#);
        assert_eq!((points[3].count, points[3].value), (Some(4), 2.5));
        // The same through protobuf.
        use opentelemetry_proto::tonic::metrics::v1::{
            Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric,
            number_data_point,
        };
        let req = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                scope_metrics: vec![ScopeMetrics {
                    metrics: vec![Metric {
                        name: "cpu".into(),
                        data: Some(metric::Data::Gauge(Gauge {
                            data_points: vec![NumberDataPoint {
                                time_unix_nano: 5,
                                value: Some(number_data_point::Value::AsDouble(0.25)),
                                ..NumberDataPoint::default()
                            }],
                        })),
                        ..Metric::default()
                    }],
                    ..ScopeMetrics::default()
                }],
                ..ResourceMetrics::default()
            }],
        };
        let (points, _) =
            decode_metrics(&req.encode_to_vec(), Encoding::Protobuf).expect("test input");
        assert_eq!((points[0].name.as_str(), points[0].value), ("cpu", 0.25));
        assert_eq!(points[0].service, "unknown_service");
        let answer = metrics_response(&refusals, Encoding::Protobuf);
        let back = ExportMetricsServiceResponse::decode(&answer[..]).expect("test input");
        assert_eq!(
            back.partial_success.map(|p| p.rejected_data_points),
            Some(2)
        );
    }

    #[test]
    fn content_types_and_gzip() {
        assert_eq!(
            Encoding::from_content_type(Some("application/json; charset=utf-8")),
            Some(Encoding::Json)
        );
        assert_eq!(Encoding::from_content_type(None), Some(Encoding::Protobuf));
        assert_eq!(Encoding::from_content_type(Some("text/plain")), None);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &[7u8; 1000]).expect("test input");
        let packed = gz.finish().expect("test input");
        assert_eq!(unpack(&packed, true, 2000).expect("test input").len(), 1000);
        assert!(matches!(
            unpack(&packed, true, 999),
            Err(BodyError::TooLarge(_))
        ));
        assert!(unpack(b"not gzip", true, 100).is_err());
    }
}
