//! OTLP trace exports: spans from protobuf or JSON, checked one by one.

use super::*;

/// A span before it is checked, from either encoding.
#[derive(Debug, Default)]
pub(super) struct RawSpan {
    trace_id: Vec<u8>,
    span_id: Vec<u8>,
    parent_id: Vec<u8>,
    name: String,
    kind: i64,
    start_ns: u64,
    end_ns: u64,
    status_code: i64,
    attributes: Vec<(String, Attr)>,
    /// Its `exception` events: when, and their attributes.
    exceptions: Vec<(u64, Vec<(String, Attr)>)>,
}

/// An exception a span recorded (an event named `exception`, per the
/// OpenTelemetry semantic conventions), with where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanException {
    pub trace_id: String,
    pub span_id: String,
    pub service: String,
    pub version: Option<String>,
    pub host: Option<String>,
    pub at_ns: i64,
    /// `exception.type`.
    pub ty: Option<String>,
    /// `exception.message`.
    pub message: Option<String>,
    /// `exception.stacktrace`, as the language prints it.
    pub stacktrace: Option<String>,
    /// The span's HTTP route or name, where it happened.
    pub transaction: String,
}

/// Decodes an export request into spans, refusing bad spans one by one.
pub fn decode_traces(body: &[u8], encoding: Encoding) -> Result<(Vec<Span>, Refusals), BodyError> {
    decode_traces_with_exceptions(body, encoding).map(|(spans, _, refusals)| (spans, refusals))
}

/// Like [`decode_traces`], with the exceptions the good spans recorded.
pub fn decode_traces_with_exceptions(
    body: &[u8],
    encoding: Encoding,
) -> Result<(Vec<Span>, Vec<SpanException>, Refusals), BodyError> {
    let resources = match encoding {
        Encoding::Protobuf => from_protobuf(body)?,
        Encoding::Json => from_json(body)?,
    };
    let mut spans = Vec::new();
    let mut exceptions = Vec::new();
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
        for mut raw in raws {
            let recorded = std::mem::take(&mut raw.exceptions);
            match span(raw, &service, &version, &host) {
                Ok(s) => {
                    for (at, attrs) in recorded {
                        exceptions.push(exception_of(&s, at, &attrs));
                    }
                    spans.push(s);
                }
                Err(why) => refusals.add(why),
            }
        }
    }
    Ok((spans, exceptions, refusals))
}

fn exception_of(s: &Span, at: u64, attrs: &[(String, Attr)]) -> SpanException {
    let text = |k: &str| {
        attrs
            .iter()
            .find(|(key, _)| key == k)
            .and_then(|(_, v)| v.text())
            .filter(|t| !t.is_empty())
    };
    SpanException {
        trace_id: s.trace_id.clone(),
        span_id: s.span_id.clone(),
        service: s.service.clone(),
        version: s.version.clone(),
        host: s.host.clone(),
        at_ns: i64::try_from(at)
            .ok()
            .filter(|t| *t > 0)
            .unwrap_or(s.start_ns),
        ty: text("exception.type"),
        message: text("exception.message"),
        stacktrace: text("exception.stacktrace"),
        transaction: s.route(),
    }
}

pub(super) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

pub(super) fn span(
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
pub(super) const READ_INTO_FIELDS: &[&str] = &[
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

pub(super) fn from_protobuf(body: &[u8]) -> Result<Vec<Resource>, BodyError> {
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
                    exceptions: s
                        .events
                        .into_iter()
                        .filter(|e| e.name == "exception")
                        .map(|e| (e.time_unix_nano, attrs_pb(e.attributes)))
                        .collect(),
                })
                .collect();
            (resource, spans)
        })
        .collect())
}

pub(super) fn attrs_pb(kvs: Vec<KeyValue>) -> Vec<(String, Attr)> {
    kvs.into_iter()
        .filter_map(|kv| Some((kv.key, value_pb(kv.value?)?)))
        .collect()
}

pub(super) fn value_pb(v: AnyValue) -> Option<Attr> {
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

pub(super) fn from_json(body: &[u8]) -> Result<Vec<Resource>, BodyError> {
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
pub(super) fn raw_json(s: &Map<String, Value>) -> RawSpan {
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
        exceptions: array(s, "events", "events")
            .iter()
            .filter_map(Value::as_object)
            .filter(|e| e.get("name").and_then(Value::as_str) == Some("exception"))
            .map(|e| {
                (
                    uint(field(e, "timeUnixNano", "time_unix_nano")).unwrap_or(0),
                    attrs_json(e.get("attributes")),
                )
            })
            .collect(),
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
