//! Findings: what lockfile scans and scanner imports record, and what the
//! team decides about a finding (accept its risk for a while, raise a
//! backlog item, plan a patch release). Each is one change with its audit
//! entry.

use liveops_store::audit::Actor;
use liveops_store::security::{self as store, Finding, NewFinding, ScanOutcome};
use liveops_store::{StoreError, feedback::Item};
use liveops_wire::sarif::ScanResult;
use serde_json::json;

use super::{Result, SecurityError, Vulnerability};
use crate::state::AppState;
use crate::work::{Audit, Work};

const DAY_MS: i64 = 86_400_000;

/// What a lockfile scan found and changed.
#[derive(Debug, Clone)]
pub struct Scanned {
    pub packages: usize,
    pub vulnerabilities: Vec<Vulnerability>,
    pub outcome: ScanOutcome,
}

/// Scans a service's lockfiles, given as (file name, text), against the
/// OSV database: new findings open, those no longer present are fixed.
pub async fn scan(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    service: &str,
    files: &[(String, String)],
) -> Result<Scanned> {
    if files.is_empty() || files.len() > 200 {
        return Err(SecurityError::invalid("send 1 to 200 lockfiles in `files`"));
    }
    let locks = super::read_lockfiles(files)?;
    let vulnerabilities = super::audit(&state.db, &locks).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let outcome = store::record_scan(
        w.conn(),
        project_id,
        service,
        "audit",
        &super::findings_of(&vulnerabilities),
        now,
    )
    .await?;
    w.commit(Audit::new("security.scan", service).detail(counts(&outcome)))
        .await?;
    Ok(Scanned {
        packages: locks.iter().map(|(_, l)| l.packages.len()).sum(),
        vulnerabilities,
        outcome,
    })
}

fn counts(o: &ScanOutcome) -> serde_json::Value {
    json!({ "opened": o.opened.len(), "reopened": o.reopened.len(), "fixed": o.fixed.len() })
}

/// What an import recorded.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub results: usize,
    pub outcome: ScanOutcome,
}

/// Records a scanner's or a penetration test's results for a service, one
/// batch per source (`sarif:TOOL`, `pentest:NAME`): each source's scan
/// fixes only what that source no longer reports.
pub async fn import(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    service: &str,
    kind: &str,
    batches: Vec<(String, Vec<ScanResult>)>,
) -> Result<Recorded> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let mut all = Recorded::default();
    let mut sources = Vec::new();
    for (source, results) in batches {
        let findings: Vec<NewFinding> = results
            .iter()
            .map(|r| NewFinding {
                kind: kind.into(),
                key: r.key.clone(),
                title: r.title.clone(),
                severity: r.severity.clone(),
                advisory: Some(r.rule.clone()),
                location: r.location.clone(),
                ..NewFinding::default()
            })
            .collect();
        let o = store::record_scan(w.conn(), project_id, service, &source, &findings, now).await?;
        all.results += results.len();
        all.outcome.opened.extend(o.opened);
        all.outcome.reopened.extend(o.reopened);
        all.outcome.fixed.extend(o.fixed);
        all.outcome.still_present.extend(o.still_present);
        sources.push(source);
    }
    let mut detail = counts(&all.outcome);
    detail["sources"] = json!(sources);
    w.commit(Audit::new("security.import", service).detail(detail))
        .await?;
    Ok(all)
}

/// A finding by number (`7` or `#7`).
pub async fn find(state: &AppState, project_id: &str, number: &str) -> Result<Finding> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| SecurityError::not_found(format!("no finding `{number}`")))?;
    match state.db.security_finding(project_id, n).await {
        Ok(f) => Ok(f),
        Err(StoreError::NotFound) => Err(SecurityError::not_found(format!("no finding #{n}"))),
        Err(e) => Err(e.into()),
    }
}

/// What the team decides about a finding.
#[derive(Debug, Clone)]
pub enum Act {
    /// Accept the risk until a time, for a reason.
    Accept { reason: String, until: i64 },
    /// Raise a security backlog item for it.
    Backlog,
    /// Raise the item and plan a patch release for it (the next patch when
    /// no version is given).
    Patch { version: Option<String> },
}

/// Acts on a finding; returns the release planned, for a patch.
pub async fn act(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    number: &str,
    act: &Act,
) -> Result<Option<String>> {
    let f = find(state, project_id, number).await?;
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let (entry, release) = match act {
        Act::Accept { reason, until } => {
            if f.state == "fixed" {
                return Err(SecurityError::conflict(
                    "a fixed finding needs no acceptance",
                ));
            }
            if *until <= now || *until > now + 366 * DAY_MS {
                return Err(SecurityError::invalid(
                    "`until` must be in the future and at most a year ahead",
                ));
            }
            store::accept_finding(w.conn(), &f.id, reason, *until, &actor.name).await?;
            (
                Audit::new("security.finding.accept", f.number.to_string()),
                None,
            )
        }
        Act::Backlog | Act::Patch { .. } => {
            let item = match &f.item_id {
                Some(id) => liveops_store::feedback::item_by_id_in(w.conn(), id).await?,
                None => raise_item(&mut w, project_id, &f).await?,
            };
            let release = match act {
                Act::Patch { version } => {
                    let r = crate::releases::create_release_in(
                        &mut w,
                        state,
                        project_id,
                        &crate::releases::ReleasePlan {
                            version: version.clone(),
                            kind: "patch".into(),
                            ..crate::releases::ReleasePlan::default()
                        },
                        None,
                    )
                    .await?;
                    crate::releases::schedule_in(&mut w, item.clone(), Some(&r)).await?;
                    Some(r.version)
                }
                _ => None,
            };
            let name = if release.is_some() {
                "security.finding.patch"
            } else {
                "security.finding.backlog"
            };
            (
                Audit::new(name, f.number.to_string())
                    .detail(json!({ "item": item.number, "release": release })),
                release,
            )
        }
    };
    w.commit(entry).await?;
    Ok(release)
}

/// The security backlog item for a finding, linked to it.
async fn raise_item(w: &mut Work, project_id: &str, f: &Finding) -> Result<Item> {
    let body = format!(
        "Security finding #{} ({}, {}): {}{}{}",
        f.number,
        f.severity,
        f.service,
        f.title,
        f.advisory
            .as_deref()
            .map(|a| format!("\n\nAdvisory: {a}"))
            .unwrap_or_default(),
        f.fixed_version
            .as_deref()
            .map(|v| format!("\nFixed in: {v}"))
            .unwrap_or_default(),
    );
    let title = match (&f.package, &f.fixed_version) {
        (Some(p), Some(v)) => format!(
            "Upgrade {p} to {v} ({})",
            f.advisory.as_deref().unwrap_or("security")
        ),
        _ => format!("Fix: {}", f.title),
    };
    let title: String = title.chars().take(200).collect();
    let item =
        crate::feedback::create_item_in(w, project_id, "security", &title, Some(&body)).await?;
    store::set_finding_item(w.conn(), &f.id, &item.id).await?;
    Ok(item)
}

/// Sets patch SLAs in days by severity (critical, high, medium, low).
pub async fn set_slas(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    slas: &[(String, i64)],
) -> Result<()> {
    for (severity, days) in slas {
        if !matches!(severity.as_str(), "critical" | "high" | "medium" | "low") {
            return Err(SecurityError::invalid(format!(
                "`{severity}` is not a severity: critical, high, medium or low"
            )));
        }
        if !(1..=365).contains(days) {
            return Err(SecurityError::invalid("an SLA is 1 to 365 days"));
        }
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    for (severity, days) in slas {
        store::set_security_sla(w.conn(), project_id, severity, *days).await?;
    }
    w.commit(Audit::action("security.slas").detail(json!(slas)))
        .await?;
    Ok(())
}
