//! Alert webhooks: Prometheus Alertmanager (version 4), Grafana alerting, and
//! a generic JSON shape with a dedup key and a trigger/resolve action.

use std::collections::BTreeMap;

use jiff::Timestamp;
use liveops_core::support::alert::{Alert, AlertGroup};
use liveops_core::support::incident::Severity;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertParseError {
    #[error("the body is not valid JSON for this webhook: {0}")]
    Json(String),
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> AlertParseError {
    AlertParseError::Invalid(msg.into())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmPayload {
    version: Option<String>,
    group_key: Option<String>,
    status: Option<String>,
    #[serde(default)]
    alerts: Vec<AmAlert>,
    #[serde(default)]
    common_labels: BTreeMap<String, String>,
    #[serde(default)]
    common_annotations: BTreeMap<String, String>,
    #[serde(default)]
    group_labels: BTreeMap<String, String>,
    /// Grafana only.
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AmAlert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    fingerprint: Option<String>,
}

fn parse_time(s: Option<&str>) -> Option<Timestamp> {
    // Alertmanager writes 0001-01-01T00:00:00Z for "unknown".
    s.and_then(|s| s.parse::<Timestamp>().ok())
        .filter(|t| t.as_second() > 0)
}

/// A stable fingerprint from the labels when the sender gave none.
fn label_fingerprint(labels: &BTreeMap<String, String>) -> String {
    // FNV-1a: stable across releases, unlike the std hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, v) in labels {
        for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xfe]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// Parses an Alertmanager (`version: "4"`) or Grafana (`version: "1"`) webhook.
pub fn parse_alertmanager(body: &[u8]) -> Result<AlertGroup, AlertParseError> {
    let p: AmPayload =
        serde_json::from_slice(body).map_err(|e| AlertParseError::Json(e.to_string()))?;
    match p.version.as_deref() {
        Some("4") | Some("1") => {}
        Some(v) => {
            return Err(invalid(format!(
                "unsupported webhook version `{v}`: expected 4 (Alertmanager) or 1 (Grafana)"
            )));
        }
        None => {
            return Err(invalid(
                "missing `version`: expected 4 (Alertmanager) or 1 (Grafana)",
            ));
        }
    }
    let key = p
        .group_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| invalid("missing `groupKey`"))?;
    if p.status
        .as_deref()
        .is_some_and(|s| s != "firing" && s != "resolved")
    {
        return Err(invalid("`status` must be firing or resolved"));
    }
    if p.alerts.is_empty() {
        return Err(invalid("`alerts` is empty"));
    }
    let mut alerts = Vec::with_capacity(p.alerts.len());
    for a in p.alerts {
        let firing = match a.status.as_str() {
            "firing" => true,
            "resolved" => false,
            other => {
                return Err(invalid(format!(
                    "alert status `{other}` is neither firing nor resolved"
                )));
            }
        };
        let annotation = |k: &str| a.annotations.get(k).or_else(|| p.common_annotations.get(k));
        let summary = annotation("summary")
            .or_else(|| annotation("description"))
            .or_else(|| a.labels.get("alertname"))
            .cloned()
            .unwrap_or_else(|| "alert".into());
        let severity = a
            .labels
            .get("severity")
            .or_else(|| p.common_labels.get("severity"))
            .map(|s| Severity::from_label(s));
        let fingerprint = a
            .fingerprint
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| label_fingerprint(&a.labels));
        alerts.push(Alert {
            fingerprint,
            firing,
            summary,
            severity,
            starts_at: parse_time(a.starts_at.as_deref()),
            labels: a.labels.into_iter().collect(),
        });
    }
    let title = p
        .title
        .filter(|t| !t.trim().is_empty())
        .or_else(|| p.common_annotations.get("summary").cloned())
        .or_else(|| p.group_labels.get("alertname").cloned())
        .or_else(|| p.common_labels.get("alertname").cloned())
        .unwrap_or_else(|| alerts[0].summary.clone());
    Ok(AlertGroup { key, title, alerts })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Generic {
    dedup_key: String,
    action: String,
    summary: Option<String>,
    severity: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    source: Option<String>,
    timestamp: Option<String>,
}

/// Parses the generic webhook:
/// `{"dedup_key", "action": "trigger"|"resolve", "summary", "severity", "labels", "source", "timestamp"}`.
pub fn parse_generic(body: &[u8]) -> Result<AlertGroup, AlertParseError> {
    let g: Generic =
        serde_json::from_slice(body).map_err(|e| AlertParseError::Json(e.to_string()))?;
    let key = g.dedup_key.trim();
    if key.is_empty() || key.len() > 255 {
        return Err(invalid("`dedup_key` needs 1 to 255 characters"));
    }
    let firing = match g.action.as_str() {
        "trigger" => true,
        "resolve" => false,
        other => {
            return Err(invalid(format!(
                "`action` must be trigger or resolve, not `{other}`"
            )));
        }
    };
    let summary = g
        .summary
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    if firing && summary.is_none() {
        return Err(invalid("a trigger needs a `summary`"));
    }
    let summary = summary.unwrap_or_else(|| key.to_owned());
    let severity = match g.severity.as_deref() {
        None => None,
        Some(s) => Some(s.parse::<Severity>().or_else(|_| match s {
            "critical" | "error" | "warning" | "info" => Ok(Severity::from_label(s)),
            _ => Err(invalid(format!(
                "unknown `severity` `{s}`: use sev1..sev4 or critical, error, warning, info"
            ))),
        })?),
    };
    let starts_at = match g.timestamp.as_deref() {
        None => None,
        Some(t) => Some(
            t.parse::<Timestamp>()
                .map_err(|_| invalid(format!("`timestamp` `{t}` is not RFC 3339")))?,
        ),
    };
    let mut labels: Vec<(String, String)> = g.labels.into_iter().collect();
    if let Some(source) = g.source {
        labels.push(("source".into(), source));
    }
    Ok(AlertGroup {
        key: key.to_owned(),
        title: summary.clone(),
        alerts: vec![Alert {
            fingerprint: key.to_owned(),
            firing,
            summary,
            severity,
            labels,
            starts_at,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const AM: &str = r#"{
      "version": "4", "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": 0,
      "status": "firing", "receiver": "liveops",
      "groupLabels": {"alertname": "HighLatency"},
      "commonLabels": {"alertname": "HighLatency", "severity": "critical"},
      "commonAnnotations": {"summary": "Checkout p95 above 500 ms"},
      "externalURL": "http://am:9093",
      "alerts": [
        {"status": "firing", "labels": {"alertname": "HighLatency", "instance": "a"},
         "annotations": {}, "startsAt": "2026-11-28T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://prom/graph", "fingerprint": "f1"},
        {"status": "resolved", "labels": {"alertname": "HighLatency", "instance": "b"},
         "annotations": {"summary": "b is fine"}, "startsAt": "2026-11-28T09:00:00Z",
         "endsAt": "2026-11-28T10:00:00Z", "generatorURL": "", "fingerprint": "f2"}
      ]
    }"#;

    #[test]
    fn alertmanager_v4() {
        let g = parse_alertmanager(AM.as_bytes()).expect("parse");
        assert_eq!(g.key, r#"{}:{alertname="HighLatency"}"#);
        assert_eq!(g.title, "Checkout p95 above 500 ms");
        assert_eq!(g.alerts.len(), 2);
        assert!(g.alerts[0].firing && !g.alerts[1].firing);
        assert_eq!(g.alerts[0].severity, Some(Severity::Sev1));
        assert_eq!(g.alerts[0].summary, "Checkout p95 above 500 ms");
        assert_eq!(g.alerts[1].summary, "b is fine");
        assert_eq!(g.severity(), Some(Severity::Sev1));
    }

    #[test]
    fn grafana_webhook() {
        let body = r#"{"receiver":"liveops","status":"firing","orgId":1,"version":"1",
          "groupKey":"{}/{}:{alertname=\"DiskFull\"}","title":"[FIRING:1] DiskFull","state":"alerting",
          "message":"disk","alerts":[{"status":"firing","labels":{"alertname":"DiskFull"},
          "annotations":{},"startsAt":"2026-11-28T10:00:00Z","endsAt":"0001-01-01T00:00:00Z",
          "fingerprint":"abc","silenceURL":"x","dashboardURL":"","panelURL":"","values":{"B":1}}]}"#;
        let g = parse_alertmanager(body.as_bytes()).expect("parse");
        assert_eq!(g.title, "[FIRING:1] DiskFull");
        assert_eq!(g.alerts[0].fingerprint, "abc");
        assert_eq!(g.alerts[0].severity, None);
    }

    #[test]
    fn bad_alertmanager_payloads_say_why() {
        let cases = [
            ("", "not valid JSON"),
            ("[]", "not valid JSON"),
            (
                r#"{"version":"3","groupKey":"k","alerts":[]}"#,
                "unsupported webhook version",
            ),
            (r#"{"version":"4","alerts":[]}"#, "groupKey"),
            (r#"{"version":"4","groupKey":"k","alerts":[]}"#, "empty"),
            (
                r#"{"version":"4","groupKey":"k","alerts":[{"status":"weird"}]}"#,
                "neither firing",
            ),
        ];
        for (body, msg) in cases {
            let err = parse_alertmanager(body.as_bytes())
                .expect_err(body)
                .to_string();
            assert!(err.contains(msg), "{body}: {err}");
        }
    }

    #[test]
    fn fingerprints_from_labels_are_stable() {
        let body = r#"{"version":"4","groupKey":"k","alerts":[{"status":"firing","labels":{"a":"1","b":"2"}}]}"#;
        let a = parse_alertmanager(body.as_bytes()).expect("parse");
        let b = parse_alertmanager(body.as_bytes()).expect("parse");
        assert_eq!(a.alerts[0].fingerprint, b.alerts[0].fingerprint);
        assert_eq!(a.alerts[0].fingerprint.len(), 16);
    }

    #[test]
    fn generic_webhook() {
        let g = parse_generic(br#"{"dedup_key":"db-1","action":"trigger","summary":"DB down","severity":"critical","source":"cron"}"#)
            .expect("parse");
        assert_eq!(g.key, "db-1");
        assert_eq!(g.severity(), Some(Severity::Sev1));
        assert!(
            g.alerts[0]
                .labels
                .contains(&("source".into(), "cron".into()))
        );
        let r = parse_generic(br#"{"dedup_key":"db-1","action":"resolve"}"#).expect("parse");
        assert!(!r.any_firing());
        for (body, msg) in [
            (
                r#"{"dedup_key":"","action":"trigger","summary":"x"}"#,
                "dedup_key",
            ),
            (
                r#"{"dedup_key":"k","action":"explode"}"#,
                "trigger or resolve",
            ),
            (r#"{"dedup_key":"k","action":"trigger"}"#, "summary"),
            (
                r#"{"dedup_key":"k","action":"trigger","summary":"x","severity":"huge"}"#,
                "severity",
            ),
            (
                r#"{"dedup_key":"k","action":"trigger","summary":"x","colour":"red"}"#,
                "unknown field",
            ),
            (
                r#"{"dedup_key":"k","action":"trigger","summary":"x","timestamp":"yesterday"}"#,
                "RFC 3339",
            ),
        ] {
            let err = parse_generic(body.as_bytes()).expect_err(body).to_string();
            assert!(err.contains(msg), "{body}: {err}");
        }
    }
}
