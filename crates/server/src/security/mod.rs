//! Security audits shared by the API, the jobs and the standalone CLI:
//! loading OSV records into the state store, matching lockfile packages
//! against them, recording findings per service, and the patch-SLA and
//! credential-expiry watches.

pub mod findings;
pub mod inventory;
pub mod watch;

crate::area_error!(
    /// What went wrong in the security area.
    SecurityError
);

pub type Result<T, E = SecurityError> = std::result::Result<T, E>;

crate::area_error_from!(crate::feedback::FeedbackError => SecurityError);
crate::area_error_from!(crate::releases::ReleasesError => SecurityError);
crate::area_error_from!(crate::support::SupportError => SecurityError);

impl From<AuditError> for SecurityError {
    fn from(e: AuditError) -> SecurityError {
        match e {
            AuditError::Store(s) => SecurityError::Store(s),
            other => SecurityError::Invalid(other.to_string()),
        }
    }
}

use liveops_core::security::Package;
use liveops_core::security::advisory::{
    Advisory, SeverityLevel, is_vulnerable, smallest_fix, smallest_fix_all,
};
use liveops_store::Db;
use liveops_store::security::{NewFinding, OsvRow};
use liveops_wire::lockfile::{Format, Lockfile};

/// The store row for an advisory and its published text.
pub fn osv_row(a: &Advisory, record: &[u8]) -> OsvRow {
    let mut packages: Vec<(String, String)> = a
        .affected
        .iter()
        .map(|x| {
            (
                x.ecosystem.as_str().to_owned(),
                x.ecosystem.normalise_name(&x.name),
            )
        })
        .collect();
    packages.sort();
    packages.dedup();
    OsvRow {
        id: a.id.clone(),
        modified: a.modified.to_string(),
        withdrawn: a.withdrawn.is_some(),
        summary: a.summary.clone().unwrap_or_else(|| {
            a.details
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect()
        }),
        severity: a.severity_level().as_str().to_owned(),
        score: a.cvss3_score(),
        aliases: a.aliases.clone(),
        record: String::from_utf8_lossy(record).into_owned(),
        packages,
    }
}

/// One vulnerable package found.
#[derive(Debug, Clone, PartialEq)]
pub struct Vulnerability {
    pub package: Package,
    /// The lockfile it is pinned in, and the line.
    pub file: String,
    pub line: Option<u32>,
    pub advisory: String,
    pub aliases: Vec<String>,
    pub summary: String,
    pub severity: SeverityLevel,
    pub score: Option<f64>,
    /// The fixed versions the advisory names for the package.
    pub fixed: Vec<String>,
    /// The smallest upgrade that clears this advisory.
    pub fix: Option<String>,
    /// The smallest upgrade that clears every advisory on the package.
    pub upgrade: Option<String>,
}

/// Why an audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "{0}: not a lockfile liveops reads (Cargo.lock, package-lock.json, yarn.lock, pnpm-lock.yaml, requirements*.txt, poetry.lock, Pipfile.lock, go.mod)"
    )]
    UnknownFile(String),
    #[error("{file}: {error}")]
    Lockfile {
        file: String,
        error: liveops_wire::lockfile::LockfileError,
    },
    #[error(transparent)]
    Store(#[from] liveops_store::StoreError),
}

/// Parses lockfiles given as (file name, text).
pub fn read_lockfiles(files: &[(String, String)]) -> Result<Vec<(String, Lockfile)>, AuditError> {
    files
        .iter()
        .map(|(name, text)| {
            let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
            let format =
                Format::detect(base).ok_or_else(|| AuditError::UnknownFile(name.clone()))?;
            let parsed = liveops_wire::lockfile::parse(format, text).map_err(|error| {
                AuditError::Lockfile {
                    file: name.clone(),
                    error,
                }
            })?;
            Ok((name.clone(), parsed))
        })
        .collect()
}

/// Matches every package of the lockfiles against the stored advisories,
/// most severe first.
pub async fn audit(
    db: &Db,
    lockfiles: &[(String, Lockfile)],
) -> Result<Vec<Vulnerability>, AuditError> {
    let mut out = Vec::new();
    for (file, lock) in lockfiles {
        for found in &lock.packages {
            let p = &found.package;
            let records = db
                .osv_records_for(p.ecosystem.as_str(), &p.ecosystem.normalise_name(&p.name))
                .await?;
            let advisories: Vec<Advisory> = records
                .iter()
                .filter_map(|r| liveops_wire::osv::parse_record(r.as_bytes()).ok())
                .collect();
            let hits: Vec<&Advisory> = advisories
                .iter()
                .filter(|a| is_vulnerable(a, p).unwrap_or(false))
                .collect();
            if hits.is_empty() {
                continue;
            }
            let upgrade = smallest_fix_all(advisories.iter(), p);
            for a in hits {
                let fixed: Vec<String> = a
                    .affected
                    .iter()
                    .filter(|x| {
                        x.ecosystem == p.ecosystem
                            && x.ecosystem.normalise_name(&x.name)
                                == p.ecosystem.normalise_name(&p.name)
                    })
                    .flat_map(|x| &x.ranges)
                    .flat_map(|r| &r.events)
                    .filter_map(|e| match e {
                        liveops_core::security::advisory::Event::Fixed(v) => Some(v.clone()),
                        _ => None,
                    })
                    .collect();
                out.push(Vulnerability {
                    package: p.clone(),
                    file: file.clone(),
                    line: found.line,
                    advisory: a.id.clone(),
                    aliases: a.aliases.clone(),
                    summary: a
                        .summary
                        .clone()
                        .unwrap_or_else(|| a.details.lines().next().unwrap_or("").to_owned()),
                    severity: a.severity_level(),
                    score: a.cvss3_score(),
                    fixed,
                    fix: smallest_fix(a, p),
                    upgrade: upgrade.clone(),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.advisory.cmp(&b.advisory))
    });
    Ok(out)
}

/// The findings a dependency audit reports, one per package and advisory.
pub fn findings_of(vulns: &[Vulnerability]) -> Vec<NewFinding> {
    vulns
        .iter()
        .map(|v| NewFinding {
            kind: "vulnerability".into(),
            key: format!(
                "osv:{}:{}:{}",
                v.advisory,
                v.package.ecosystem.as_str(),
                v.package.ecosystem.normalise_name(&v.package.name)
            ),
            title: format!("{} {}: {}", v.package.name, v.package.version, v.summary)
                .chars()
                .take(300)
                .collect(),
            severity: v.severity.as_str().into(),
            package: Some(format!(
                "{}:{}",
                v.package.ecosystem.as_str(),
                v.package.name
            )),
            version: Some(v.package.version.clone()),
            fixed_version: v.fix.clone().or_else(|| v.upgrade.clone()),
            advisory: Some(v.advisory.clone()),
            aliases: Some(v.aliases.join(" ")),
            location: Some(match v.line {
                Some(l) => format!("{}:{l}", v.file),
                None => v.file.clone(),
            }),
        })
        .collect()
}

/// A certificate as the inventory keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryCert {
    /// `CN=… (serial …)`: unique per certificate.
    pub name: String,
    pub subject: String,
    pub dns_names: Vec<String>,
    pub not_after_ms: i64,
    pub fingerprint: String,
}

/// Reads PEM or DER certificates for the inventory.
pub fn certificates(bytes: &[u8]) -> Result<Vec<InventoryCert>, String> {
    let certs = liveops_wire::x509::parse(bytes).map_err(|e| e.to_string())?;
    Ok(certs
        .into_iter()
        .map(|c| InventoryCert {
            name: format!("{} (serial {})", c.subject, c.serial)
                .chars()
                .take(200)
                .collect(),
            subject: c.subject,
            dns_names: c.dns_names,
            not_after_ms: c.not_after.saturating_mul(1000),
            fingerprint: c.sha256_fingerprint,
        })
        .collect())
}
