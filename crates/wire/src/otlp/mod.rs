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

mod json;
mod metrics;
mod traces;

use json::*;
pub use metrics::decode_metrics;
use metrics::*;
use traces::*;
pub use traces::{SpanException, decode_traces, decode_traces_with_exceptions};

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

type Resource = (Vec<(String, Attr)>, Vec<RawSpan>);

type MetricResource = (Vec<(String, Attr)>, Vec<RawMetric>);

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
