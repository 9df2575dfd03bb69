//! The security contract: lockfile scans, findings and the actions on
//! them, imports, patch SLAs, the credential inventory and the OSV
//! database, as the API takes and shows them.

use liveops_store::security::{Finding, NewCredential};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};
use crate::security::Vulnerability;
use crate::security::findings::{Act, Recorded, Scanned};
use crate::security::inventory::{Inventoried, STALE_AFTER_DAYS};
use crate::state::format_ms;
use crate::support::tickets::clean_text;
use crate::timerange::parse_when;

const DAY_MS: i64 = 86_400_000;

/// A service's name: 1 to 100 letters, digits, `-`, `_`, `.` or `/`
/// (`default` when not given).
pub fn service_name(s: Option<&str>) -> ApiResult<String> {
    let s = s.unwrap_or("default").trim();
    if s.is_empty()
        || s.len() > 100
        || !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
    {
        return Err(ApiError::unprocessable(
            "`service` is 1 to 100 letters, digits, `-`, `_`, `.` or `/`",
        ));
    }
    Ok(s.to_owned())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockfileBody {
    /// The file's name or path: it says the format (Cargo.lock, package-lock.json, …).
    pub name: String,
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanBody {
    /// The service the lockfiles belong to (default `default`).
    pub service: Option<String>,
    pub files: Vec<LockfileBody>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VulnerabilityView {
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub file: String,
    pub line: Option<u32>,
    pub advisory: String,
    pub aliases: Vec<String>,
    pub summary: String,
    /// critical, high, medium, low or unknown.
    pub severity: String,
    pub score: Option<f64>,
    pub fixed: Vec<String>,
    /// The smallest upgrade that clears this advisory.
    pub fix: Option<String>,
    /// The smallest upgrade that clears every advisory on the package.
    pub upgrade: Option<String>,
}

pub fn vulnerability_view(v: &Vulnerability) -> VulnerabilityView {
    VulnerabilityView {
        ecosystem: v.package.ecosystem.as_str().into(),
        package: v.package.name.clone(),
        version: v.package.version.clone(),
        file: v.file.clone(),
        line: v.line,
        advisory: v.advisory.clone(),
        aliases: v.aliases.clone(),
        summary: v.summary.clone(),
        severity: v.severity.as_str().into(),
        score: v.score,
        fixed: v.fixed.clone(),
        fix: v.fix.clone(),
        upgrade: v.upgrade.clone(),
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScanView {
    pub service: String,
    pub packages: usize,
    pub vulnerabilities: Vec<VulnerabilityView>,
    /// Finding numbers.
    pub opened: Vec<i64>,
    pub reopened: Vec<i64>,
    pub fixed: Vec<i64>,
    pub still_present: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    pub number: i64,
    pub service: String,
    /// vulnerability, scanner or pentest.
    pub kind: String,
    pub title: String,
    pub severity: String,
    pub package: Option<String>,
    pub version: Option<String>,
    pub fixed_version: Option<String>,
    pub advisory: Option<String>,
    pub aliases: Option<String>,
    /// audit, sarif:TOOL or pentest:NAME.
    pub source: String,
    pub location: Option<String>,
    /// open, fixed or accepted.
    pub state: String,
    pub opened_at: String,
    pub last_seen_at: String,
    pub fixed_at: Option<String>,
    pub accepted_reason: Option<String>,
    pub accepted_until: Option<String>,
    /// When the patch SLA for its severity runs out (open findings).
    pub sla_due: Option<String>,
    pub sla_breached: bool,
    /// The backlog item made for it.
    pub item: Option<i64>,
}

/// A finding as the API shows it; `slas` are the project's patch SLAs.
pub fn finding_view(f: Finding, slas: &[(String, i64)], now: i64) -> FindingView {
    let due = slas
        .iter()
        .find(|(s, _)| *s == f.severity)
        .map(|(_, d)| f.opened_at + d * DAY_MS)
        .filter(|_| f.state == "open");
    let item = f.item_number;
    FindingView {
        number: f.number,
        service: f.service,
        kind: f.kind,
        title: f.title,
        severity: f.severity,
        package: f.package,
        version: f.version,
        fixed_version: f.fixed_version,
        advisory: f.advisory,
        aliases: f.aliases,
        source: f.source,
        location: f.location,
        state: f.state,
        opened_at: format_ms(f.opened_at),
        last_seen_at: format_ms(f.last_seen_at),
        fixed_at: f.fixed_at.map(format_ms),
        accepted_reason: f.accepted_reason,
        accepted_until: f.accepted_until.map(format_ms),
        sla_due: due.map(format_ms),
        sla_breached: due.is_some_and(|d| d <= now),
        item,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// open, fixed or accepted; all by default.
    pub state: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingAction {
    /// accept (with `reason` and `until`), backlog (a security item), or
    /// patch (a backlog item scheduled into a new patch release).
    pub action: String,
    pub reason: Option<String>,
    /// Until when the risk is accepted: a date or RFC 3339 time, at most a
    /// year ahead.
    pub until: Option<String>,
    /// For patch: the release version (the next patch by default).
    pub version: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FindingActionView {
    pub finding: FindingView,
    /// The release planned for the patch.
    pub release: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    pub service: Option<String>,
    /// For pentest CSV: the report's name, such as the firm or the date.
    pub name: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImportView {
    pub results: usize,
    pub opened: Vec<i64>,
    pub reopened: Vec<i64>,
    pub fixed: Vec<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SlaView {
    pub severity: String,
    /// Days from a finding's opening to its patch.
    pub days: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CredentialView {
    /// api_key, oauth_client_secret, signing_key, tls_certificate, or
    /// liveops_token for liveops' own API tokens.
    pub kind: String,
    pub name: String,
    pub owner: String,
    pub system: String,
    pub expires_at: Option<String>,
    pub days_left: Option<i64>,
    pub last_used_at: Option<String>,
    /// Unused for 90 days or more (or never used, 90 days after creation).
    pub stale: bool,
    pub fingerprint: Option<String>,
}

/// A credential as the API shows it.
pub fn credential_view(c: Inventoried, now: i64) -> CredentialView {
    let used = c.last_used_at.unwrap_or(c.created_at);
    CredentialView {
        kind: c.kind,
        name: c.name,
        owner: c.owner,
        system: c.system,
        days_left: c.expires_at.map(|e| (e - now).div_euclid(DAY_MS)),
        expires_at: c.expires_at.map(format_ms),
        last_used_at: c.last_used_at.map(format_ms),
        stale: now - used >= STALE_AFTER_DAYS * DAY_MS,
        fingerprint: c.fingerprint,
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialBody {
    /// api_key, oauth_client_secret, signing_key or tls_certificate.
    pub kind: String,
    pub name: String,
    pub owner: String,
    /// The system it opens, such as `stripe` or `api.shop.example`.
    pub system: String,
    /// A date or RFC 3339 time.
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CertificateQuery {
    pub owner: String,
    pub system: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OsvStatus {
    /// Advisories per ecosystem in the offline database.
    pub ecosystems: Vec<EcosystemCount>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EcosystemCount {
    pub ecosystem: String,
    pub advisories: i64,
}

impl FindingAction {
    /// Reads the action; `until` is checked against the clock by the service.
    pub fn parse(&self) -> ApiResult<Act> {
        match self.action.as_str() {
            "accept" => {
                let reason = clean_text("reason", self.reason.as_deref().unwrap_or(""), 2000)
                    .map_err(ApiError::unprocessable)?;
                let until = parse_when(
                    "until",
                    self.until
                        .as_deref()
                        .ok_or_else(|| ApiError::unprocessable("accepting needs `until`"))?,
                )?;
                Ok(Act::Accept { reason, until })
            }
            "backlog" => Ok(Act::Backlog),
            "patch" => Ok(Act::Patch {
                version: self.version.clone(),
            }),
            other => Err(ApiError::unprocessable(format!(
                "`{other}` is not an action: accept, backlog or patch"
            ))),
        }
    }
}

impl CredentialBody {
    pub fn parse(&self) -> ApiResult<NewCredential> {
        let text = |f: &str, v: &str| clean_text(f, v, 200).map_err(ApiError::unprocessable);
        let when = |f: &str, v: &Option<String>| {
            v.as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(|t| parse_when(f, t))
                .transpose()
        };
        Ok(NewCredential {
            kind: self.kind.clone(),
            name: text("name", &self.name)?,
            owner: text("owner", &self.owner)?,
            system: text("system", &self.system)?,
            expires_at: when("expires_at", &self.expires_at)?,
            last_used_at: when("last_used_at", &self.last_used_at)?,
            fingerprint: None,
        })
    }
}

pub fn scan_view(service: String, s: Scanned) -> ScanView {
    ScanView {
        service,
        packages: s.packages,
        vulnerabilities: s.vulnerabilities.iter().map(vulnerability_view).collect(),
        opened: s.outcome.opened,
        reopened: s.outcome.reopened,
        fixed: s.outcome.fixed,
        still_present: s.outcome.still_present,
    }
}

pub fn import_view(r: Recorded) -> ImportView {
    ImportView {
        results: r.results,
        opened: r.outcome.opened,
        reopened: r.outcome.reopened,
        fixed: r.outcome.fixed,
    }
}

/// The patch SLAs a body sets, as (severity, days).
pub fn slas_of(body: &[SlaView]) -> Vec<(String, i64)> {
    body.iter().map(|s| (s.severity.clone(), s.days)).collect()
}

pub fn sla_views(slas: Vec<(String, i64)>) -> Vec<SlaView> {
    slas.into_iter()
        .map(|(severity, days)| SlaView { severity, days })
        .collect()
}
