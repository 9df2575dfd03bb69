//! SARIF 2.1.0 and penetration-test CSV: scanner results read into findings
//! (semgrep, trivy, CodeQL and others write SARIF), and dependency audits
//! written out as SARIF for code-scanning dashboards.

use serde_json::{Value, json};

/// One result a scanner or a tester reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanResult {
    pub tool: String,
    pub rule: String,
    pub title: String,
    /// critical, high, medium, low or unknown.
    pub severity: String,
    /// `path:line` or an asset such as a URL.
    pub location: Option<String>,
    /// What identifies the result across runs.
    pub key: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the SARIF log is not JSON: {0}")]
    Json(String),
    #[error("the SARIF log has no `runs` array (is it SARIF 2.1.0?)")]
    NoRuns,
    #[error("the CSV could not be read: {0}")]
    Csv(String),
    #[error(
        "the CSV needs a `title` (or `name`, `finding`, `vulnerability`) column and a `severity` (or `risk`, `rating`) column"
    )]
    CsvColumns,
    #[error("row {row}: {why}")]
    Row { row: usize, why: String },
}

fn level_of_score(score: f64) -> &'static str {
    if score >= 9.0 {
        "critical"
    } else if score >= 7.0 {
        "high"
    } else if score >= 4.0 {
        "medium"
    } else if score > 0.0 {
        "low"
    } else {
        "unknown"
    }
}

/// Reads a severity word as testers and tools write it.
pub fn severity_word(s: &str) -> Option<&'static str> {
    match s.trim().to_ascii_lowercase().as_str() {
        "critical" | "crit" | "p1" => Some("critical"),
        "high" | "error" | "severe" | "p2" => Some("high"),
        "medium" | "moderate" | "warning" | "med" | "p3" => Some("medium"),
        "low" | "note" | "info" | "informational" | "p4" => Some("low"),
        other => other.parse::<f64>().ok().map(level_of_score),
    }
}

/// Reads every result of every run of a SARIF log.
pub fn parse_sarif(bytes: &[u8]) -> Result<Vec<ScanResult>, ReportError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| ReportError::Json(e.to_string()))?;
    let runs = v["runs"].as_array().ok_or(ReportError::NoRuns)?;
    let mut out = Vec::new();
    for run in runs {
        let tool = run["tool"]["driver"]["name"]
            .as_str()
            .unwrap_or("scanner")
            .to_owned();
        let rules: Vec<&Value> = run["tool"]["driver"]["rules"]
            .as_array()
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        let rule_by_id = |id: &str| rules.iter().find(|r| r["id"].as_str() == Some(id)).copied();
        for r in run["results"].as_array().into_iter().flatten() {
            let rule_id = r["ruleId"]
                .as_str()
                .or_else(|| r["rule"]["id"].as_str())
                .unwrap_or("result")
                .to_owned();
            let rule = rule_by_id(&rule_id).or_else(|| {
                r["ruleIndex"]
                    .as_u64()
                    .and_then(|i| rules.get(i as usize).copied())
            });
            // GitHub's convention: a CVSS-like score in the rule's properties.
            let score = rule
                .and_then(|x| x["properties"]["security-severity"].as_str())
                .and_then(|s| s.parse::<f64>().ok());
            let level = r["level"]
                .as_str()
                .or_else(|| rule.and_then(|x| x["defaultConfiguration"]["level"].as_str()))
                .unwrap_or("warning");
            let severity = match score {
                Some(s) => level_of_score(s),
                None => severity_word(level).unwrap_or("unknown"),
            };
            let message = r["message"]["text"]
                .as_str()
                .or_else(|| rule.and_then(|x| x["shortDescription"]["text"].as_str()))
                .unwrap_or(&rule_id);
            let title: String = message
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect();
            let physical = &r["locations"][0]["physicalLocation"];
            let location = physical["artifactLocation"]["uri"].as_str().map(|uri| {
                match physical["region"]["startLine"].as_u64() {
                    Some(line) => format!("{uri}:{line}"),
                    None => uri.to_owned(),
                }
            });
            let fingerprint = r["partialFingerprints"]
                .as_object()
                .and_then(|o| o.values().find_map(Value::as_str))
                .or_else(|| {
                    r["fingerprints"]
                        .as_object()
                        .and_then(|o| o.values().find_map(Value::as_str))
                })
                .map(str::to_owned)
                .or_else(|| location.clone())
                .unwrap_or_else(|| title.clone());
            out.push(ScanResult {
                key: format!("sarif:{tool}:{rule_id}:{fingerprint}"),
                tool: tool.clone(),
                rule: rule_id,
                title,
                severity: severity.into(),
                location,
            });
        }
    }
    Ok(out)
}

/// The name of the first run's tool, when the log names one: a log with no
/// results still says which tool found nothing.
pub fn tool_name(bytes: &[u8]) -> Option<String> {
    tool_names(bytes).into_iter().next()
}

/// Every run's tool, in order, each once; runs without a name are
/// `scanner`, as their results are.
pub fn tool_names(bytes: &[u8]) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for run in v["runs"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = run["tool"]["driver"]["name"]
            .as_str()
            .unwrap_or("scanner")
            .to_owned();
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn norm(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// Reads a penetration-test report exported as CSV: a title and a severity
/// per row, with an optional id, asset or location, and description.
pub fn parse_pentest_csv(bytes: &[u8], tool: &str) -> Result<Vec<ScanResult>, ReportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ReportError::Csv(e.to_string()))?
        .iter()
        .map(norm)
        .collect();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let title = col(&["title", "name", "finding", "vulnerability", "issue"])
        .ok_or(ReportError::CsvColumns)?;
    let severity = col(&["severity", "risk", "rating", "risk_rating", "cvss"])
        .ok_or(ReportError::CsvColumns)?;
    let id = col(&["id", "finding_id", "ref", "reference"]);
    let location = col(&[
        "location",
        "asset",
        "url",
        "host",
        "endpoint",
        "affected_asset",
    ]);
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let n = i + 1;
        let row = row.map_err(|e| ReportError::Row {
            row: n,
            why: e.to_string(),
        })?;
        let get = |c: Option<usize>| {
            c.and_then(|c| row.get(c))
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let Some(t) = get(Some(title)) else {
            return Err(ReportError::Row {
                row: n,
                why: "it has no title".into(),
            });
        };
        let sev_text = get(Some(severity)).unwrap_or_default();
        let sev = severity_word(&sev_text).ok_or_else(|| ReportError::Row {
            row: n,
            why: format!(
                "`{sev_text}` is not a severity (critical, high, medium, low, or a CVSS score)"
            ),
        })?;
        let loc = get(location);
        let key = match get(id) {
            Some(id) => format!("pentest:{tool}:{id}"),
            None => format!("pentest:{tool}:{t}:{}", loc.as_deref().unwrap_or("")),
        };
        out.push(ScanResult {
            tool: tool.to_owned(),
            rule: get(id).unwrap_or_else(|| "pentest".into()),
            title: t.chars().take(300).collect(),
            severity: sev.into(),
            location: loc,
            key,
        });
    }
    Ok(out)
}

/// One vulnerable dependency, for a SARIF log.
#[derive(Debug, Clone, PartialEq)]
pub struct DependencyResult<'a> {
    pub advisory: &'a str,
    pub summary: &'a str,
    pub severity: &'a str,
    pub score: Option<f64>,
    pub package: &'a str,
    pub version: &'a str,
    pub fix: Option<&'a str>,
    pub file: &'a str,
    pub line: Option<u32>,
}

/// A SARIF 2.1.0 log of a dependency audit: a rule per advisory and a
/// result per vulnerable package, at its lockfile line.
pub fn write_sarif(tool_version: &str, results: &[DependencyResult<'_>]) -> Value {
    let mut rules: Vec<Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in results {
        if seen.insert(r.advisory) {
            let mut rule = json!({
                "id": r.advisory,
                "shortDescription": {"text": r.summary},
                "helpUri": format!("https://osv.dev/vulnerability/{}", r.advisory),
                "properties": {"tags": ["security", "vulnerability"]},
            });
            if let Some(score) = r.score {
                rule["properties"]["security-severity"] = json!(format!("{score:.1}"));
            }
            rules.push(rule);
        }
    }
    let sarif_level = |s: &str| match s {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    };
    let results: Vec<Value> = results
        .iter()
        .map(|r| {
            let mut region = json!({});
            if let Some(l) = r.line {
                region = json!({"startLine": l});
            }
            json!({
                "ruleId": r.advisory,
                "level": sarif_level(r.severity),
                "message": {"text": format!("{} {} is affected by {}: {}{}", r.package, r.version,
                    r.advisory, r.summary,
                    r.fix.map(|f| format!(" Upgrade to {f}.")).unwrap_or_default())},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": r.file},
                    "region": region}}],
                "partialFingerprints": {"package": format!("{}@{}", r.package, r.version)},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "liveops", "version": tool_version,
                "informationUri": "https://osv.dev", "rules": rules}},
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_names_its_tool_once() {
        let log = br#"{"runs": [{"tool": {"driver": {"name": "trivy"}}, "results": []},
            {"tool": {"driver": {"name": "grype"}}}, {"tool": {"driver": {"name": "trivy"}}},
            {"tool": {}}]}"#;
        assert_eq!(tool_names(log), vec!["trivy", "grype", "scanner"]);
        assert_eq!(tool_name(log).as_deref(), Some("trivy"));
        assert!(tool_names(b"not json").is_empty());
    }

    #[test]
    fn semgrep_and_trivy_results_read_with_their_severities() {
        let log = br#"{"version": "2.1.0", "runs": [
          {"tool": {"driver": {"name": "semgrep", "rules": [
              {"id": "python.lang.security.audit.eval-detected", "defaultConfiguration": {"level": "warning"},
               "shortDescription": {"text": "eval detected"}}]}},
           "results": [{"ruleId": "python.lang.security.audit.eval-detected", "level": "error",
              "message": {"text": "Detected the use of eval()."},
              "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/views.py"}, "region": {"startLine": 42}}}],
              "fingerprints": {"matchBasedId/v1": "abc123"}}]},
          {"tool": {"driver": {"name": "Trivy", "rules": [
              {"id": "CVE-2023-1234", "properties": {"security-severity": "9.8"}}]}},
           "results": [{"ruleId": "CVE-2023-1234", "ruleIndex": 0, "level": "error",
              "message": {"text": "Package: openssl\nInstalled Version: 1.1.1"},
              "locations": [{"physicalLocation": {"artifactLocation": {"uri": "Dockerfile"}}}]}]}
        ]}"#;
        let got = parse_sarif(log).expect("sarif");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].tool, "semgrep");
        assert_eq!(got[0].severity, "high");
        assert_eq!(got[0].location.as_deref(), Some("app/views.py:42"));
        assert_eq!(
            got[0].key,
            "sarif:semgrep:python.lang.security.audit.eval-detected:abc123"
        );
        assert_eq!(
            (got[1].severity.as_str(), got[1].title.as_str()),
            ("critical", "Package: openssl")
        );
        assert!(matches!(parse_sarif(b"{}"), Err(ReportError::NoRuns)));
        assert!(matches!(parse_sarif(b"nope"), Err(ReportError::Json(_))));
    }

    #[test]
    fn pentest_csv_rows_need_a_title_and_a_severity() {
        let csv = "ID,Finding,Risk,Asset,Description\n\
                   PT-1,Stored XSS in comments,High,https://shop.example/comments,...\n\
                   PT-2,Verbose errors,Informational,https://shop.example/api,...\n\
                   PT-3,Weak TLS ciphers,5.3,shop.example:443,...\n";
        let got = parse_pentest_csv(csv.as_bytes(), "acme").expect("csv");
        let sev: Vec<&str> = got.iter().map(|r| r.severity.as_str()).collect();
        assert_eq!(sev, vec!["high", "low", "medium"]);
        assert_eq!(got[0].key, "pentest:acme:PT-1");
        assert!(matches!(
            parse_pentest_csv(b"Finding,Notes\nx,y\n", "acme"),
            Err(ReportError::CsvColumns)
        ));
        let e = parse_pentest_csv(b"Finding,Risk\nXSS,spicy\n", "acme").expect_err("bad severity");
        assert!(
            e.to_string().contains("row 1") && e.to_string().contains("spicy"),
            "{e}"
        );
    }

    #[test]
    fn audits_write_sarif_with_a_rule_per_advisory() {
        let r = DependencyResult {
            advisory: "GHSA-p6mc-m468-83gw",
            summary: "Prototype Pollution in lodash",
            severity: "high",
            score: Some(7.4),
            package: "lodash",
            version: "4.17.15",
            fix: Some("4.17.19"),
            file: "package-lock.json",
            line: Some(12),
        };
        let log = write_sarif("0.1.0", &[r.clone(), r]);
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
        assert_eq!(log["runs"][0]["results"][0]["level"], "error");
        assert_eq!(
            log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            12
        );
        // What we write, we read back.
        let back = parse_sarif(log.to_string().as_bytes()).expect("round trip");
        assert_eq!(back[0].severity, "high");
    }
}
