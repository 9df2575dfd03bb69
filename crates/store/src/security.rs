//! Security in the state store: the offline OSV database, findings per
//! project and service with their open → fixed / accepted lifecycle, patch
//! SLAs, and the credential inventory.

use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Db, Result, StoreError, new_id};

/// One advisory to store, with the packages it names.
#[derive(Debug, Clone, PartialEq)]
pub struct OsvRow {
    pub id: String,
    pub modified: String,
    pub withdrawn: bool,
    pub summary: String,
    /// critical, high, medium, low or unknown.
    pub severity: String,
    pub score: Option<f64>,
    pub aliases: Vec<String>,
    /// The record as published (JSON).
    pub record: String,
    /// (ecosystem, normalised name).
    pub packages: Vec<(String, String)>,
}

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OsvImported {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// A finding as a scan or import reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewFinding {
    pub kind: String,
    pub key: String,
    pub title: String,
    pub severity: String,
    pub package: Option<String>,
    pub version: Option<String>,
    pub fixed_version: Option<String>,
    pub advisory: Option<String>,
    pub aliases: Option<String>,
    pub location: Option<String>,
}

/// A finding with its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: String,
    pub number: i64,
    pub service: String,
    pub kind: String,
    pub key: String,
    pub title: String,
    pub severity: String,
    pub package: Option<String>,
    pub version: Option<String>,
    pub fixed_version: Option<String>,
    pub advisory: Option<String>,
    pub aliases: Option<String>,
    pub source: String,
    pub location: Option<String>,
    /// open, fixed or accepted.
    pub state: String,
    pub opened_at: i64,
    pub last_seen_at: i64,
    pub fixed_at: Option<i64>,
    pub accepted_reason: Option<String>,
    pub accepted_until: Option<i64>,
    pub accepted_by: Option<String>,
    pub item_id: Option<String>,
    /// The backlog item's number.
    pub item_number: Option<i64>,
    pub sla_warned_at: Option<i64>,
}

const FINDING_COLS: &str = "id, number, service, kind, finding_key, title, severity, package, version, \
     fixed_version, advisory, aliases, source, location, state, opened_at, last_seen_at, fixed_at, \
     accepted_reason, accepted_until, accepted_by, item_id, sla_warned_at, \
     (SELECT b.number FROM backlog_items b WHERE b.id = security_findings.item_id) AS item_number";

fn finding_from(r: &AnyRow) -> Result<Finding> {
    Ok(Finding {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        service: r.try_get("service")?,
        kind: r.try_get("kind")?,
        key: r.try_get("finding_key")?,
        title: r.try_get("title")?,
        severity: r.try_get("severity")?,
        package: r.try_get("package")?,
        version: r.try_get("version")?,
        fixed_version: r.try_get("fixed_version")?,
        advisory: r.try_get("advisory")?,
        aliases: r.try_get("aliases")?,
        source: r.try_get("source")?,
        location: r.try_get("location")?,
        state: r.try_get("state")?,
        opened_at: r.try_get("opened_at")?,
        last_seen_at: r.try_get("last_seen_at")?,
        fixed_at: r.try_get("fixed_at")?,
        accepted_reason: r.try_get("accepted_reason")?,
        accepted_until: r.try_get("accepted_until")?,
        accepted_by: r.try_get("accepted_by")?,
        item_id: r.try_get("item_id")?,
        item_number: r.try_get("item_number")?,
        sla_warned_at: r.try_get("sla_warned_at")?,
    })
}

/// What recording a scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanOutcome {
    pub opened: Vec<i64>,
    /// Seen before and still there (open or accepted).
    pub still_present: Vec<i64>,
    /// Fixed before, back again.
    pub reopened: Vec<i64>,
    /// No longer in the scan: fixed now.
    pub fixed: Vec<i64>,
}

/// A credential in the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub owner: String,
    pub system: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub fingerprint: Option<String>,
    pub warned_days: Option<i64>,
    pub created_at: i64,
}

fn credential_from(r: &AnyRow) -> Result<Credential> {
    Ok(Credential {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        name: r.try_get("name")?,
        owner: r.try_get("owner")?,
        system: r.try_get("system")?,
        expires_at: r.try_get("expires_at")?,
        last_used_at: r.try_get("last_used_at")?,
        fingerprint: r.try_get("fingerprint")?,
        warned_days: r.try_get("warned_days")?,
        created_at: r.try_get("created_at")?,
    })
}

/// A credential to add or refresh by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewCredential {
    pub kind: String,
    pub name: String,
    pub owner: String,
    pub system: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub fingerprint: Option<String>,
}

/// The patch SLA for severities a project has not set, in days.
pub fn default_sla_days(severity: &str) -> Option<i64> {
    match severity {
        "critical" => Some(7),
        "high" => Some(30),
        "medium" => Some(90),
        "low" => Some(180),
        _ => None,
    }
}

impl Db {
    /// Adds or refreshes advisories, a batch in one transaction: a record
    /// whose `modified` is unchanged is left alone.
    pub async fn import_osv(&self, rows: &[OsvRow], now: i64) -> Result<OsvImported> {
        let mut out = OsvImported::default();
        let mut tx = self.begin().await?;
        for r in rows {
            let current: Option<String> =
                sqlx::query_scalar("SELECT modified FROM osv_advisories WHERE id = $1")
                    .bind(&r.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            match current {
                Some(m) if m == r.modified => {
                    out.unchanged += 1;
                    continue;
                }
                Some(_) => {
                    sqlx::query("DELETE FROM osv_packages WHERE advisory_id = $1")
                        .bind(&r.id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(
                        "UPDATE osv_advisories SET modified = $1, withdrawn = $2, summary = $3, \
                         severity = $4, score = CASE WHEN $10 = 1 THEN $5 END, aliases = $6, \
                         record = $7, imported_at = $8 \
                         WHERE id = $9",
                    )
                    .bind(&r.modified)
                    .bind(i64::from(r.withdrawn))
                    .bind(&r.summary)
                    .bind(&r.severity)
                    .bind(r.score.unwrap_or(0.0))
                    .bind(r.aliases.join(" "))
                    .bind(&r.record)
                    .bind(now)
                    .bind(&r.id)
                    .bind(i64::from(r.score.is_some()))
                    .execute(&mut *tx)
                    .await?;
                    out.updated += 1;
                }
                None => {
                    sqlx::query(
                        "INSERT INTO osv_advisories (id, modified, withdrawn, summary, severity, \
                         score, aliases, record, imported_at) \
                         VALUES ($1, $2, $3, $4, $5, CASE WHEN $10 = 1 THEN $6 END, $7, $8, $9)",
                    )
                    .bind(&r.id)
                    .bind(&r.modified)
                    .bind(i64::from(r.withdrawn))
                    .bind(&r.summary)
                    .bind(&r.severity)
                    .bind(r.score.unwrap_or(0.0))
                    .bind(r.aliases.join(" "))
                    .bind(&r.record)
                    .bind(now)
                    .bind(i64::from(r.score.is_some()))
                    .execute(&mut *tx)
                    .await?;
                    out.added += 1;
                }
            }
            for (ecosystem, name) in &r.packages {
                sqlx::query(
                    "INSERT INTO osv_packages (ecosystem, name, advisory_id) VALUES ($1, $2, $3) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(ecosystem)
                .bind(name)
                .bind(&r.id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The records (JSON) of the advisories naming a package, withdrawn
    /// ones left out.
    pub async fn osv_records_for(&self, ecosystem: &str, name: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT a.record FROM osv_packages p JOIN osv_advisories a ON a.id = p.advisory_id \
             WHERE p.ecosystem = $1 AND p.name = $2 AND a.withdrawn = 0 ORDER BY a.id",
        )
        .bind(ecosystem)
        .bind(name)
        .fetch_all(self.pool())
        .await?)
    }

    /// How many advisories are stored, per ecosystem.
    pub async fn osv_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT ecosystem, count(DISTINCT advisory_id) FROM osv_packages GROUP BY ecosystem \
             ORDER BY ecosystem",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows)
    }

    /// Findings, most severe and oldest first.
    pub async fn security_findings(
        &self,
        project_id: &str,
        state: Option<&str>,
        service: Option<&str>,
    ) -> Result<Vec<Finding>> {
        let rows = sqlx::query(&format!(
            "SELECT {FINDING_COLS} FROM security_findings WHERE project_id = $1 \
             AND ($2 = '' OR state = $2) AND ($3 = '' OR service = $3) \
             ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 \
             WHEN 'low' THEN 3 ELSE 4 END, opened_at, number"
        ))
        .bind(project_id)
        .bind(state.unwrap_or(""))
        .bind(service.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(finding_from).collect()
    }

    pub async fn security_finding(&self, project_id: &str, number: i64) -> Result<Finding> {
        let r = sqlx::query(&format!(
            "SELECT {FINDING_COLS} FROM security_findings WHERE project_id = $1 AND number = $2"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        finding_from(&r)
    }

    /// Accepted findings whose acceptance ran out open again.
    pub async fn expire_acceptances(&self, now: i64) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE security_findings SET state = 'open', accepted_reason = NULL, \
             accepted_until = NULL, accepted_by = NULL \
             WHERE state = 'accepted' AND accepted_until <= $1",
        )
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// Open findings not yet announced as past their patch SLA, every project.
    pub async fn findings_for_sla_watch(&self, limit: i64) -> Result<Vec<(String, Finding)>> {
        let rows = sqlx::query(&format!(
            "SELECT project_id, {FINDING_COLS} FROM security_findings \
             WHERE state = 'open' AND sla_warned_at IS NULL ORDER BY opened_at LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("project_id")?, finding_from(r)?)))
            .collect()
    }

    /// Marks the SLA breach announced; false when another worker did first.
    pub async fn claim_sla_warning(&self, id: &str, now: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE security_findings SET sla_warned_at = $1 WHERE id = $2 AND sla_warned_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }

    /// The project's patch SLAs in days, defaults filled in.
    pub async fn security_slas(&self, project_id: &str) -> Result<Vec<(String, i64)>> {
        let set: Vec<(String, i64)> =
            sqlx::query_as("SELECT severity, days FROM security_slas WHERE project_id = $1")
                .bind(project_id)
                .fetch_all(self.pool())
                .await?;
        Ok(["critical", "high", "medium", "low"]
            .into_iter()
            .filter_map(|s| {
                set.iter()
                    .find(|(sev, _)| sev == s)
                    .map(|(_, d)| *d)
                    .or_else(|| default_sla_days(s))
                    .map(|d| (s.to_owned(), d))
            })
            .collect())
    }

    pub async fn credentials(&self, project_id: &str) -> Result<Vec<Credential>> {
        let rows = sqlx::query(
            "SELECT * FROM credentials WHERE project_id = $1 \
             ORDER BY CASE WHEN expires_at IS NULL THEN 1 ELSE 0 END, expires_at, name",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(credential_from).collect()
    }

    /// Credentials expiring before `until`, every project, with the project.
    pub async fn credentials_expiring(&self, until: i64) -> Result<Vec<(String, Credential)>> {
        let rows = sqlx::query(
            "SELECT * FROM credentials WHERE expires_at IS NOT NULL AND expires_at <= $1 \
             ORDER BY expires_at",
        )
        .bind(until)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("project_id")?, credential_from(r)?)))
            .collect()
    }

    /// Records the warning stage given; false when it was given already.
    pub async fn claim_credential_warning(&self, id: &str, days: i64) -> Result<bool> {
        Ok(sqlx::query(
            "UPDATE credentials SET warned_days = $1 WHERE id = $2 \
             AND (warned_days IS NULL OR warned_days > $1)",
        )
        .bind(days)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }
}

/// Records one scan of a service from `source`: new findings open,
/// fixed ones seen again reopen, and the source's open or accepted
/// findings for the service that the scan no longer has are fixed.
pub async fn record_scan(
    conn: &mut AnyConnection,
    project_id: &str,
    service: &str,
    source: &str,
    findings: &[NewFinding],
    now: i64,
) -> Result<ScanOutcome> {
    let mut out = ScanOutcome::default();
    let mut seen = std::collections::HashSet::new();
    for f in findings {
        if !seen.insert(f.key.clone()) {
            continue;
        }
        let existing: Option<(i64, String)> = sqlx::query_as(
            "SELECT number, state FROM security_findings WHERE project_id = $1 AND service = $2 \
             AND finding_key = $3",
        )
        .bind(project_id)
        .bind(service)
        .bind(&f.key)
        .fetch_optional(&mut *conn)
        .await?;
        match existing {
            Some((number, state)) => {
                sqlx::query(
                    "UPDATE security_findings SET last_seen_at = $1, title = $2, severity = $3, \
                     version = $4, fixed_version = $5, location = $6, \
                     state = CASE WHEN state = 'fixed' THEN 'open' ELSE state END, \
                     fixed_at = CASE WHEN state = 'fixed' THEN NULL ELSE fixed_at END, \
                     opened_at = CASE WHEN state = 'fixed' THEN $1 ELSE opened_at END \
                     WHERE project_id = $7 AND number = $8",
                )
                .bind(now)
                .bind(&f.title)
                .bind(&f.severity)
                .bind(&f.version)
                .bind(&f.fixed_version)
                .bind(&f.location)
                .bind(project_id)
                .bind(number)
                .execute(&mut *conn)
                .await?;
                if state == "fixed" {
                    out.reopened.push(number);
                } else {
                    out.still_present.push(number);
                }
            }
            None => {
                let number: i64 = sqlx::query_scalar(
                    "INSERT INTO security_findings (id, project_id, number, service, kind, \
                     finding_key, title, severity, package, version, fixed_version, advisory, \
                     aliases, source, location, state, opened_at, last_seen_at) VALUES ($1, $2, \
                     (SELECT COALESCE(MAX(number), 0) + 1 FROM security_findings WHERE project_id = $2), \
                     $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'open', $15, $15) \
                     RETURNING number",
                )
                .bind(new_id())
                .bind(project_id)
                .bind(service)
                .bind(&f.kind)
                .bind(&f.key)
                .bind(&f.title)
                .bind(&f.severity)
                .bind(&f.package)
                .bind(&f.version)
                .bind(&f.fixed_version)
                .bind(&f.advisory)
                .bind(&f.aliases)
                .bind(source)
                .bind(&f.location)
                .bind(now)
                .fetch_one(&mut *conn)
                .await
                .map_err(StoreError::conflict_as("a finding with this number"))?;
                out.opened.push(number);
            }
        }
    }
    let present: Vec<(i64, String)> = sqlx::query_as(
        "SELECT number, finding_key FROM security_findings WHERE project_id = $1 AND service = $2 \
         AND source = $3 AND state IN ('open', 'accepted')",
    )
    .bind(project_id)
    .bind(service)
    .bind(source)
    .fetch_all(&mut *conn)
    .await?;
    for (number, key) in present {
        if !seen.contains(&key) {
            sqlx::query(
                "UPDATE security_findings SET state = 'fixed', fixed_at = $1 \
                 WHERE project_id = $2 AND number = $3",
            )
            .bind(now)
            .bind(project_id)
            .bind(number)
            .execute(&mut *conn)
            .await?;
            out.fixed.push(number);
        }
    }
    Ok(out)
}

/// Accepts a finding's risk until a time, with the reason.
pub async fn accept_finding(
    conn: &mut AnyConnection,
    id: &str,
    reason: &str,
    until: i64,
    by: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE security_findings SET state = 'accepted', accepted_reason = $1, \
         accepted_until = $2, accepted_by = $3 WHERE id = $4",
    )
    .bind(reason)
    .bind(until)
    .bind(by)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_finding_item(conn: &mut AnyConnection, id: &str, item_id: &str) -> Result<()> {
    sqlx::query("UPDATE security_findings SET item_id = $1 WHERE id = $2")
        .bind(item_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn set_security_sla(
    conn: &mut AnyConnection,
    project_id: &str,
    severity: &str,
    days: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO security_slas (project_id, severity, days) VALUES ($1, $2, $3) \
         ON CONFLICT (project_id, severity) DO UPDATE SET days = excluded.days",
    )
    .bind(project_id)
    .bind(severity)
    .bind(days)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Adds a credential, or refreshes the one of the same name.
pub async fn upsert_credential(
    conn: &mut AnyConnection,
    project_id: &str,
    c: &NewCredential,
    now: i64,
) -> Result<Credential> {
    sqlx::query(
        "INSERT INTO credentials (id, project_id, kind, name, owner, system, expires_at, \
         last_used_at, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (project_id, name) DO UPDATE SET kind = excluded.kind, owner = excluded.owner, \
         system = excluded.system, expires_at = excluded.expires_at, \
         last_used_at = COALESCE(excluded.last_used_at, credentials.last_used_at), \
         fingerprint = excluded.fingerprint, \
         warned_days = CASE WHEN credentials.expires_at = excluded.expires_at \
             THEN credentials.warned_days ELSE NULL END",
    )
    .bind(new_id())
    .bind(project_id)
    .bind(&c.kind)
    .bind(&c.name)
    .bind(&c.owner)
    .bind(&c.system)
    .bind(c.expires_at)
    .bind(c.last_used_at)
    .bind(&c.fingerprint)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let r = sqlx::query("SELECT * FROM credentials WHERE project_id = $1 AND name = $2")
        .bind(project_id)
        .bind(&c.name)
        .fetch_one(&mut *conn)
        .await?;
    credential_from(&r)
}

pub async fn delete_credential(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
) -> Result<bool> {
    Ok(
        sqlx::query("DELETE FROM credentials WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            > 0,
    )
}
