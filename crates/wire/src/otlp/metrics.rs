//! OTLP metric exports: gauges, sums and histograms from protobuf or JSON.

use super::*;

/// A data point before it is checked, from either encoding.
#[derive(Debug, Default)]
pub(super) struct RawPoint {
    at_ns: u64,
    value: Option<f64>,
    count: Option<u64>,
    sum: Option<f64>,
    attributes: Vec<(String, Attr)>,
}

#[derive(Debug)]
pub(super) struct RawMetric {
    name: String,
    unit: String,
    kind: MetricKind,
    cumulative: bool,
    points: Vec<RawPoint>,
}

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

pub(super) fn number_pb(p: metrics_pb::NumberDataPoint) -> RawPoint {
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

pub(super) fn histogram_point(
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

pub(super) fn metrics_from_protobuf(body: &[u8]) -> Result<Vec<MetricResource>, BodyError> {
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

pub(super) fn number_json(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn points_json(container: &Value, histogram: bool) -> Vec<RawPoint> {
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

pub(super) fn metrics_from_json(body: &[u8]) -> Result<Vec<MetricResource>, BodyError> {
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
