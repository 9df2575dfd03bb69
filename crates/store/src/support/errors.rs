//! Error tracking's state: each project's DSN (number and public key) and
//! alert settings, the issues events group into with their states, the
//! fingerprints each issue is made of (with their own counts, so a merge
//! can be undone), the releases and environments an issue was seen in, and
//! what happened to it. The events themselves live in telemetry.

use liveops_core::support::errors::{Matcher, Rule};
use liveops_core::support::escalation::Tier;
use liveops_core::support::issue_alerts::Severities;
use std::collections::HashMap;

use liveops_core::support::issues::{IgnoreUntil, Resolution, Status, newest};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::parse_stored;
use crate::{Db, Result, StoreError, new_id};

/// A project's DSN and what its error alerts do.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorSettings {
    pub project_id: String,
    /// Sentry's project id: digits, as the SDKs require.
    pub number: i64,
    pub public_key: String,
    /// The integration new issues and regressions are filed into.
    pub alert_integration: Option<String>,
    pub alert_new: bool,
    pub alert_regression: bool,
    /// A spike: this many events of one issue within `spike_minutes`.
    pub spike_events: Option<i64>,
    pub spike_minutes: i64,
    /// A spike: one issue's events within `spike_minutes` are at least this
    /// share (%) of its route's requests.
    pub spike_percent: Option<f64>,
    /// The tier whose on-call people are told, through their own
    /// notification rules.
    pub notify_tier: Option<Tier>,
    /// The severity alerts take from their issue's level.
    pub severities: Severities,
}

const SETTINGS_COLS: &str = "project_id, number, public_key, alert_integration, alert_new, \
     alert_regression, spike_events, spike_minutes, spike_percent, notify_tier, severities";

fn settings_from(r: &AnyRow) -> Result<ErrorSettings> {
    Ok(ErrorSettings {
        project_id: r.try_get("project_id")?,
        number: r.try_get("number")?,
        public_key: r.try_get("public_key")?,
        alert_integration: r.try_get("alert_integration")?,
        alert_new: r.try_get::<i64, _>("alert_new")? != 0,
        alert_regression: r.try_get::<i64, _>("alert_regression")? != 0,
        spike_events: r.try_get("spike_events")?,
        spike_minutes: r.try_get("spike_minutes")?,
        spike_percent: r.try_get("spike_percent")?,
        notify_tier: r
            .try_get::<Option<String>, _>("notify_tier")?
            .map(|t| {
                Tier::parse(&t)
                    .ok_or_else(|| StoreError::Other(format!("stored tier `{t}` is not valid")))
            })
            .transpose()?,
        severities: Severities::parse(&r.try_get::<String, _>("severities")?)
            .map_err(|e| StoreError::Other(format!("stored severities: {e}")))?,
    })
}

/// A project's error settings, made with `key` when it has none yet.
pub async fn ensure_settings(
    conn: &mut AnyConnection,
    project_id: &str,
    key: &str,
    now: i64,
) -> Result<ErrorSettings> {
    if let Some(s) = settings_in(conn, project_id).await? {
        return Ok(s);
    }
    let number: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(number), 0) + 1 FROM error_settings")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO error_settings (project_id, number, public_key, created_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(project_id)
    .bind(number)
    .bind(key)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a DSN with this number"))?;
    settings_in(conn, project_id)
        .await?
        .ok_or(StoreError::NotFound)
}

async fn settings_in(conn: &mut AnyConnection, project_id: &str) -> Result<Option<ErrorSettings>> {
    sqlx::query(&format!(
        "SELECT {SETTINGS_COLS} FROM error_settings WHERE project_id = $1"
    ))
    .bind(project_id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(settings_from)
    .transpose()
}

/// Gives the DSN a new public key; the number stays.
pub async fn set_public_key(conn: &mut AnyConnection, project_id: &str, key: &str) -> Result<()> {
    let done = sqlx::query("UPDATE error_settings SET public_key = $1 WHERE project_id = $2")
        .bind(key)
        .bind(project_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// What error alerts do, as [`set_alerts`] stores them.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerts {
    pub integration: Option<String>,
    pub on_new: bool,
    pub on_regression: bool,
    pub spike_events: Option<i64>,
    pub spike_minutes: i64,
    pub spike_percent: Option<f64>,
    pub notify_tier: Option<Tier>,
    pub severities: Severities,
}

impl ErrorSettings {
    /// What the project's error alerts do.
    pub fn alerts(&self) -> Alerts {
        Alerts {
            integration: self.alert_integration.clone(),
            on_new: self.alert_new,
            on_regression: self.alert_regression,
            spike_events: self.spike_events,
            spike_minutes: self.spike_minutes,
            spike_percent: self.spike_percent,
            notify_tier: self.notify_tier,
            severities: self.severities.clone(),
        }
    }
}

/// Sets what error alerts do.
pub async fn set_alerts(conn: &mut AnyConnection, project_id: &str, a: &Alerts) -> Result<()> {
    let done = sqlx::query(
        "UPDATE error_settings SET alert_integration = $1, alert_new = $2, alert_regression = $3, \
         spike_events = $4, spike_minutes = $5, spike_percent = $6, notify_tier = $7, \
         severities = $8 WHERE project_id = $9",
    )
    .bind(a.integration.as_deref())
    .bind(i64::from(a.on_new))
    .bind(i64::from(a.on_regression))
    .bind(a.spike_events)
    .bind(a.spike_minutes)
    .bind(a.spike_percent)
    .bind(a.notify_tier.map(Tier::as_str))
    .bind(a.severities.to_string())
    .bind(project_id)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A project's grouping rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupingRuleRow {
    pub id: String,
    pub rule: Rule,
}

/// Adds a grouping rule after the project's others.
pub async fn insert_grouping_rule(
    conn: &mut AnyConnection,
    project_id: &str,
    rule: &Rule,
    now: i64,
) -> Result<GroupingRuleRow> {
    let id = new_id();
    let position: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM error_grouping_rules WHERE project_id = $1",
    )
    .bind(project_id)
    .fetch_one(&mut *conn)
    .await?;
    let (what, pattern) = rule.matcher.parts();
    let fingerprint =
        serde_json::to_string(&rule.fingerprint).map_err(|e| StoreError::Other(e.to_string()))?;
    sqlx::query(
        "INSERT INTO error_grouping_rules (id, project_id, position, matcher, pattern, fingerprint, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(position)
    .bind(what)
    .bind(pattern)
    .bind(&fingerprint)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(GroupingRuleRow {
        id,
        rule: rule.clone(),
    })
}

/// Gives a grouping rule another fingerprint; `false` when the project has
/// none by that id.
pub async fn set_grouping_rule_fingerprint(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
    fingerprint: &[String],
) -> Result<bool> {
    let parts = serde_json::to_string(fingerprint)
        .map_err(|e| StoreError::Other(format!("a fingerprint: {e}")))?;
    let done = sqlx::query(
        "UPDATE error_grouping_rules SET fingerprint = $1 WHERE project_id = $2 AND id = $3",
    )
    .bind(parts)
    .bind(project_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes a grouping rule; `false` when the project has none by that id.
pub async fn delete_grouping_rule(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM error_grouping_rules WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// An issue: events that group together, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRow {
    pub id: String,
    pub project_id: String,
    pub number: i64,
    pub title: String,
    pub culprit: Option<String>,
    pub level: String,
    pub status: Status,
    pub regressed_at: Option<i64>,
    pub resolution: Option<Resolution>,
    pub resolved_at: Option<i64>,
    pub resolved_by: Option<String>,
    pub ignore: IgnoreUntil,
    pub ignored_at: Option<i64>,
    /// Events counted when the ignore began.
    pub ignored_count: Option<i64>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub times_seen: i64,
    pub first_release: Option<String>,
    pub last_release: Option<String>,
}

const ISSUE_COLS: &str = "id, project_id, number, title, culprit, level, status, regressed_at, \
    resolution, resolved_release, resolved_at, resolved_by, ignore_events, ignore_users, \
    ignore_until, ignored_at, ignored_count, first_seen, last_seen, times_seen, first_release, \
    last_release";

fn issue_from(r: &AnyRow) -> Result<IssueRow> {
    let resolution: Option<String> = r.try_get("resolution")?;
    let release: Option<String> = r.try_get("resolved_release")?;
    let resolution = match resolution {
        None => None,
        Some(kind) => Some(
            Resolution::from_parts(&kind, release.as_deref()).ok_or_else(|| {
                StoreError::Other(format!("stored resolution `{kind}` is not valid"))
            })?,
        ),
    };
    let count = |c: &str| -> Result<Option<u64>> {
        Ok(r.try_get::<Option<i64>, _>(c)?
            .map(|n| u64::try_from(n).unwrap_or(0)))
    };
    Ok(IssueRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        number: r.try_get("number")?,
        title: r.try_get("title")?,
        culprit: r.try_get("culprit")?,
        level: r.try_get("level")?,
        status: parse_stored("issue status", &r.try_get::<String, _>("status")?)?,
        regressed_at: r.try_get("regressed_at")?,
        resolution,
        resolved_at: r.try_get("resolved_at")?,
        resolved_by: r.try_get("resolved_by")?,
        ignore: IgnoreUntil {
            events: count("ignore_events")?,
            users: count("ignore_users")?,
            until_ms: r.try_get("ignore_until")?,
        },
        ignored_at: r.try_get("ignored_at")?,
        ignored_count: r.try_get("ignored_count")?,
        first_seen: r.try_get("first_seen")?,
        last_seen: r.try_get("last_seen")?,
        times_seen: r.try_get("times_seen")?,
        first_release: r.try_get("first_release")?,
        last_release: r.try_get("last_release")?,
    })
}

/// Events of one fingerprint in one round of ingest.
#[derive(Debug, Clone)]
pub struct Sighting<'a> {
    pub fingerprint: &'a str,
    pub title: &'a str,
    pub culprit: Option<&'a str>,
    pub level: &'a str,
    pub count: i64,
    pub first: i64,
    pub last: i64,
    /// The newest release among them.
    pub release: Option<&'a str>,
}

/// The issues of fingerprints that have one, by fingerprint, in one query
/// per piece of fingerprints (see [`pieces`]).
pub async fn issues_of_fingerprints_in(
    conn: &mut AnyConnection,
    project_id: &str,
    fingerprints: &[&str],
) -> Result<HashMap<String, IssueRow>> {
    let cols: Vec<String> = ISSUE_COLS.split(", ").map(|c| format!("i.{c}")).collect();
    let cols = cols.join(", ");
    let mut out = HashMap::with_capacity(fingerprints.len());
    for chunk in pieces(fingerprints) {
        let sql = format!(
            "SELECT f.fingerprint AS print, {cols} FROM error_fingerprints f \
             JOIN error_issues i ON i.id = f.issue_id \
             WHERE f.project_id = $1 AND f.fingerprint IN ({})",
            marks(2, chunk.len(), 1)
        );
        let mut q = sqlx::query(&sql).bind(project_id);
        for f in chunk {
            q = q.bind(*f);
        }
        for r in q.fetch_all(&mut *conn).await? {
            out.insert(r.try_get("print")?, issue_from(&r)?);
        }
    }
    Ok(out)
}

/// The most rows one multi-row statement carries.
const MOST_ROWS: usize = 64;

/// `items` in runs of 64, then of the largest power of two left, so that
/// multi-row statements come in at most seven shapes, each prepared once
/// per connection and then reused, however the batches vary.
fn pieces<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = rest.len().min(MOST_ROWS);
        let n = 1 << n.ilog2();
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        Some(piece)
    })
}

/// `rows` groups of `per` placeholders from `$first` on: `($2, $3), ($4, $5)`
/// (or `$2, $3` when `per` is 1).
fn marks(first: usize, rows: usize, per: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (0..per)
                .map(|c| format!("${}", first + r * per + c))
                .collect();
            if per == 1 {
                row.join(", ")
            } else {
                format!("({})", row.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn next_number(conn: &mut AnyConnection, project_id: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(MAX(number), 0) + 1 FROM error_issues WHERE project_id = $1",
    )
    .bind(project_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// Makes a new unresolved issue of one fingerprint.
pub async fn insert_issue(
    conn: &mut AnyConnection,
    project_id: &str,
    s: &Sighting<'_>,
    now: i64,
) -> Result<IssueRow> {
    let id = new_id();
    let number = next_number(conn, project_id).await?;
    sqlx::query(
        "INSERT INTO error_issues (id, project_id, number, title, culprit, level, status, \
         first_seen, last_seen, times_seen, first_release, last_release, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'unresolved', $7, $8, $9, $10, $10, $11)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(number)
    .bind(s.title)
    .bind(s.culprit)
    .bind(s.level)
    .bind(s.first)
    .bind(s.last)
    .bind(s.count)
    .bind(s.release)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("an issue with this number"))?;
    sqlx::query(
        "INSERT INTO error_fingerprints (project_id, fingerprint, issue_id, title, culprit, \
         first_seen, last_seen, times_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(project_id)
    .bind(s.fingerprint)
    .bind(&id)
    .bind(s.title)
    .bind(s.culprit)
    .bind(s.first)
    .bind(s.last)
    .bind(s.count)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("this fingerprint"))?;
    issue_in(conn, project_id, &id).await
}

/// An upsert's `SET` that adds the row it brings to the row of `table`
/// already there: more events, the earlier first sighting, the later last.
fn counts_added(table: &str) -> String {
    format!(
        "times_seen = {table}.times_seen + excluded.times_seen, \
         first_seen = CASE WHEN excluded.first_seen < {table}.first_seen \
             THEN excluded.first_seen ELSE {table}.first_seen END, \
         last_seen = CASE WHEN excluded.last_seen > {table}.last_seen \
             THEN excluded.last_seen ELSE {table}.last_seen END"
    )
}

/// Counts more events of existing issues' fingerprints: one statement for
/// the fingerprints and one for the issues (each issue once, however many
/// of its fingerprints came), per piece (see [`pieces`]).
pub async fn add_sightings(
    conn: &mut AnyConnection,
    project_id: &str,
    seen: &[(&IssueRow, Sighting<'_>)],
) -> Result<()> {
    for chunk in pieces(seen) {
        let sql = format!(
            "INSERT INTO error_fingerprints (project_id, fingerprint, issue_id, title, culprit, \
             first_seen, last_seen, times_seen) VALUES {} \
             ON CONFLICT (project_id, fingerprint) DO UPDATE SET {}",
            marks(1, chunk.len(), 8),
            counts_added("error_fingerprints")
        );
        let mut q = sqlx::query(&sql);
        for (issue, s) in chunk {
            q = q
                .bind(project_id)
                .bind(s.fingerprint)
                .bind(&issue.id)
                .bind(s.title)
                .bind(s.culprit)
                .bind(s.first)
                .bind(s.last)
                .bind(s.count);
        }
        q.execute(&mut *conn).await?;
    }
    // Per issue: its events, the earliest and latest, the newest release.
    let mut issues: Vec<(&str, i64, i64, i64, Vec<&str>)> = Vec::new();
    for (issue, s) in seen {
        match issues.iter_mut().find(|i| i.0 == issue.id) {
            Some(i) => {
                i.1 += s.count;
                i.2 = i.2.min(s.first);
                i.3 = i.3.max(s.last);
                i.4.extend(s.release);
            }
            None => issues.push((
                &issue.id,
                s.count,
                s.first,
                s.last,
                s.release.into_iter().collect(),
            )),
        }
    }
    for chunk in pieces(&issues) {
        let sql = format!(
            "WITH seen (id, n, first_at, last_at, rel) AS (VALUES {}) \
             UPDATE error_issues SET times_seen = error_issues.times_seen + seen.n, \
             first_seen = CASE WHEN seen.first_at < error_issues.first_seen \
                 THEN seen.first_at ELSE error_issues.first_seen END, \
             last_seen = CASE WHEN seen.last_at > error_issues.last_seen \
                 THEN seen.last_at ELSE error_issues.last_seen END, \
             last_release = COALESCE(seen.rel, error_issues.last_release), \
             first_release = COALESCE(error_issues.first_release, seen.rel) \
             FROM seen WHERE error_issues.id = seen.id",
            marks(1, chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for (id, n, first, last, releases) in chunk {
            q = q
                .bind(*id)
                .bind(*n)
                .bind(*first)
                .bind(*last)
                .bind(newest(releases.iter().copied()));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Events of one fingerprint in one release and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSighting<'a> {
    pub fingerprint: &'a str,
    pub release: &'a str,
    pub environment: &'a str,
    pub count: i64,
    pub first: i64,
    pub last: i64,
}

/// Counts events of fingerprints per release and environment, one
/// statement per piece (see [`pieces`]; each key at most once in `rows`).
pub async fn add_release_sightings(
    conn: &mut AnyConnection,
    project_id: &str,
    rows: &[ReleaseSighting<'_>],
) -> Result<()> {
    for chunk in pieces(rows) {
        let sql = format!(
            "INSERT INTO error_fingerprint_releases (project_id, fingerprint, release, \
             environment, first_seen, last_seen, times_seen) VALUES {} \
             ON CONFLICT (project_id, fingerprint, release, environment) DO UPDATE SET {}",
            marks(1, chunk.len(), 7),
            counts_added("error_fingerprint_releases")
        );
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = q
                .bind(project_id)
                .bind(r.fingerprint)
                .bind(r.release)
                .bind(r.environment)
                .bind(r.first)
                .bind(r.last)
                .bind(r.count);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// A change of state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateChange {
    Unresolve,
    /// Back after a fix, at this instant.
    Regress(i64),
    Resolve {
        resolution: Resolution,
        by: String,
        at: i64,
    },
    Ignore {
        until: IgnoreUntil,
        at: i64,
        /// The events counted so far.
        count: i64,
    },
}

fn opt_count(n: Option<u64>) -> Option<i64> {
    n.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

/// Moves an issue to a new state.
pub async fn set_state(
    conn: &mut AnyConnection,
    issue_id: &str,
    change: &StateChange,
) -> Result<()> {
    let clear_ignore = "ignore_events = NULL, ignore_users = NULL, ignore_until = NULL, \
                        ignored_at = NULL, ignored_count = NULL";
    let clear_resolve =
        "resolution = NULL, resolved_release = NULL, resolved_at = NULL, resolved_by = NULL";
    let q = match change {
        StateChange::Unresolve => sqlx::query_scalar::<_, i64>(
            // RETURNING is in both SQLite 3.35+ and PostgreSQL.
            &format!("UPDATE error_issues SET status = 'unresolved', {clear_ignore}, {clear_resolve} WHERE id = $1 RETURNING number")
        )
        .bind(issue_id)
        .fetch_optional(&mut *conn)
        .await?,
        StateChange::Regress(at) => sqlx::query_scalar::<_, i64>(&format!(
            "UPDATE error_issues SET status = 'unresolved', regressed_at = $2, {clear_ignore}, \
             {clear_resolve} WHERE id = $1 RETURNING number"
        ))
        .bind(issue_id)
        .bind(*at)
        .fetch_optional(&mut *conn)
        .await?,
        StateChange::Resolve { resolution, by, at } => sqlx::query_scalar::<_, i64>(&format!(
            "UPDATE error_issues SET status = 'resolved', regressed_at = NULL, resolution = $2, \
             resolved_release = $3, resolved_at = $4, resolved_by = $5, {clear_ignore} \
             WHERE id = $1 RETURNING number"
        ))
        .bind(issue_id)
        .bind(resolution.kind())
        .bind(resolution.release())
        .bind(*at)
        .bind(by)
        .fetch_optional(&mut *conn)
        .await?,
        StateChange::Ignore { until, at, count } => sqlx::query_scalar::<_, i64>(&format!(
            "UPDATE error_issues SET status = 'ignored', ignore_events = $2, ignore_users = $3, \
             ignore_until = $4, ignored_at = $5, ignored_count = $6, {clear_resolve} \
             WHERE id = $1 RETURNING number"
        ))
        .bind(issue_id)
        .bind(opt_count(until.events))
        .bind(opt_count(until.users))
        .bind(until.until_ms)
        .bind(*at)
        .bind(*count)
        .fetch_optional(&mut *conn)
        .await?,
    };
    q.map(drop).ok_or(StoreError::NotFound)
}

/// Notes what happened to an issue.
#[allow(clippy::too_many_arguments)]
pub async fn add_activity(
    conn: &mut AnyConnection,
    issue: &IssueRow,
    kind: &str,
    release: Option<&str>,
    actor: &str,
    detail: Option<&str>,
    at: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO error_issue_activity (id, issue_id, project_id, kind, release, actor, detail, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(&issue.id)
    .bind(&issue.project_id)
    .bind(kind)
    .bind(release)
    .bind(actor)
    .bind(detail)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sums an issue's counts from its fingerprints again (after a merge or
/// an unmerge).
async fn recount(conn: &mut AnyConnection, issue_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE error_issues SET \
         times_seen = (SELECT COALESCE(SUM(times_seen), 0) FROM error_fingerprints WHERE issue_id = $1), \
         first_seen = COALESCE((SELECT MIN(first_seen) FROM error_fingerprints WHERE issue_id = $1), first_seen), \
         last_seen = COALESCE((SELECT MAX(last_seen) FROM error_fingerprints WHERE issue_id = $1), last_seen) \
         WHERE id = $1",
    )
    .bind(issue_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves every fingerprint of `from` (with the releases it was seen in)
/// into `into` and removes `from`.
pub async fn merge(conn: &mut AnyConnection, into: &IssueRow, from: &IssueRow) -> Result<()> {
    sqlx::query("UPDATE error_fingerprints SET issue_id = $1 WHERE issue_id = $2")
        .bind(&into.id)
        .bind(&from.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM error_issues WHERE id = $1")
        .bind(&from.id)
        .execute(&mut *conn)
        .await?;
    recount(conn, &into.id).await
}

/// Splits one fingerprint off `issue` into a new unresolved issue. Fails
/// with `Conflict` when it is the issue's only one.
pub async fn unmerge(
    conn: &mut AnyConnection,
    issue: &IssueRow,
    fingerprint: &str,
    now: i64,
) -> Result<IssueRow> {
    let row = sqlx::query(
        "SELECT title, culprit, first_seen, last_seen, times_seen FROM error_fingerprints \
         WHERE project_id = $1 AND fingerprint = $2 AND issue_id = $3",
    )
    .bind(&issue.project_id)
    .bind(fingerprint)
    .bind(&issue.id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM error_fingerprints WHERE issue_id = $1")
            .bind(&issue.id)
            .fetch_one(&mut *conn)
            .await?;
    if count < 2 {
        return Err(StoreError::Conflict("an issue of one fingerprint"));
    }
    let id = new_id();
    let number = next_number(conn, &issue.project_id).await?;
    sqlx::query(
        "INSERT INTO error_issues (id, project_id, number, title, culprit, level, status, \
         first_seen, last_seen, times_seen, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'unresolved', $7, $8, $9, $10)",
    )
    .bind(&id)
    .bind(&issue.project_id)
    .bind(number)
    .bind(row.try_get::<String, _>("title")?)
    .bind(row.try_get::<Option<String>, _>("culprit")?)
    .bind(&issue.level)
    .bind(row.try_get::<i64, _>("first_seen")?)
    .bind(row.try_get::<i64, _>("last_seen")?)
    .bind(row.try_get::<i64, _>("times_seen")?)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE error_fingerprints SET issue_id = $1 WHERE project_id = $2 AND fingerprint = $3",
    )
    .bind(&id)
    .bind(&issue.project_id)
    .bind(fingerprint)
    .execute(&mut *conn)
    .await?;
    recount(conn, &issue.id).await?;
    issue_in(conn, &issue.project_id, &id).await
}

/// Links an issue to an incident or a ticket (through their own link
/// tables, so their pages list it) or a backlog item; false when it was.
pub async fn link(
    conn: &mut AnyConnection,
    issue: &IssueRow,
    kind: &str,
    target_id: &str,
    now: i64,
) -> Result<bool> {
    let number = issue.number.to_string();
    let done = match kind {
        "incident" => sqlx::query(
            "INSERT INTO support_incident_links (incident_id, kind, target_id, created_at) \
             VALUES ($1, 'issue', $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(target_id)
        .bind(&number)
        .bind(now),
        "ticket" => sqlx::query(
            "INSERT INTO support_ticket_links (ticket_id, kind, target_id, created_at) \
             VALUES ($1, 'issue', $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(target_id)
        .bind(&number)
        .bind(now),
        _ => sqlx::query(
            "INSERT INTO error_issue_links (issue_id, kind, target_id, created_at) \
             VALUES ($1, 'backlog', $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&issue.id)
        .bind(target_id)
        .bind(now),
    }
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Notes that a spike of the issue was alerted.
pub async fn mark_spike(conn: &mut AnyConnection, issue_id: &str, at: i64) -> Result<()> {
    sqlx::query("UPDATE error_issues SET spike_alerted_at = $1 WHERE id = $2")
        .bind(at)
        .bind(issue_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One issue, read in the caller's transaction.
pub async fn issue_in(conn: &mut AnyConnection, project_id: &str, id: &str) -> Result<IssueRow> {
    sqlx::query(&format!(
        "SELECT {ISSUE_COLS} FROM error_issues WHERE project_id = $1 AND id = $2"
    ))
    .bind(project_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .as_ref()
    .map(issue_from)
    .transpose()?
    .ok_or(StoreError::NotFound)
}

/// How the issue list is sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueOrder {
    LastSeen,
    FirstSeen,
    Events,
}

/// Which issues a list shows.
#[derive(Debug, Clone, Default)]
pub struct IssueFilter<'a> {
    pub status: Option<Status>,
    /// Seen in this release.
    pub release: Option<&'a str>,
    /// Seen in this environment.
    pub environment: Option<&'a str>,
    /// Only these issues (those a tag search found).
    pub ids: Option<&'a [String]>,
}

/// A release and environment an issue was seen in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSeen {
    pub release: String,
    pub environment: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub times_seen: i64,
}

/// One fingerprint of an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FingerprintRow {
    pub fingerprint: String,
    pub title: String,
    pub times_seen: i64,
    pub last_seen: i64,
}

/// Something that happened to an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRow {
    pub kind: String,
    pub release: Option<String>,
    pub actor: String,
    pub detail: Option<String>,
    pub at: i64,
}

impl Db {
    /// A project's grouping rules, in the order they are tried.
    pub async fn grouping_rules(&self, project_id: &str) -> Result<Vec<GroupingRuleRow>> {
        sqlx::query(
            "SELECT id, matcher, pattern, fingerprint FROM error_grouping_rules \
             WHERE project_id = $1 ORDER BY position, id",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            let what: String = r.try_get("matcher")?;
            let pattern: String = r.try_get("pattern")?;
            let parts: String = r.try_get("fingerprint")?;
            Ok(GroupingRuleRow {
                id: r.try_get("id")?,
                rule: Rule {
                    matcher: Matcher::new(&what, &pattern).map_err(StoreError::Other)?,
                    fingerprint: serde_json::from_str(&parts)
                        .map_err(|e| StoreError::Other(format!("a stored fingerprint: {e}")))?,
                },
            })
        })
        .collect()
    }

    /// A project's DSN and alert settings, if it has them yet.
    pub async fn error_settings(&self, project_id: &str) -> Result<Option<ErrorSettings>> {
        sqlx::query(&format!(
            "SELECT {SETTINGS_COLS} FROM error_settings WHERE project_id = $1"
        ))
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(settings_from)
        .transpose()
    }

    /// The settings of projects that alert on spikes, through an integration
    /// or to the on-call people.
    pub async fn spike_watches(&self) -> Result<Vec<ErrorSettings>> {
        sqlx::query(&format!(
            "SELECT {SETTINGS_COLS} FROM error_settings \
             WHERE (spike_events IS NOT NULL OR spike_percent IS NOT NULL) \
             AND (alert_integration IS NOT NULL OR notify_tier IS NOT NULL)"
        ))
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(settings_from)
        .collect()
    }

    /// Unresolved issues seen since `since` whose last spike alert (if
    /// any) is older than `quiet_since`.
    pub async fn spike_candidates(
        &self,
        project_id: &str,
        since: i64,
        quiet_since: i64,
    ) -> Result<Vec<IssueRow>> {
        sqlx::query(&format!(
            "SELECT {ISSUE_COLS} FROM error_issues WHERE project_id = $1 AND status = 'unresolved' \
             AND last_seen >= $2 AND (spike_alerted_at IS NULL OR spike_alerted_at < $3) \
             ORDER BY last_seen DESC LIMIT 200"
        ))
        .bind(project_id)
        .bind(since)
        .bind(quiet_since)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(issue_from)
        .collect()
    }

    /// The settings of the DSN numbered `number`.
    pub async fn error_settings_by_number(&self, number: i64) -> Result<Option<ErrorSettings>> {
        sqlx::query(&format!(
            "SELECT {SETTINGS_COLS} FROM error_settings WHERE number = $1"
        ))
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(settings_from)
        .transpose()
    }

    /// Issues by the filter, in order, at most `limit` after `offset`.
    pub async fn issues(
        &self,
        project_id: &str,
        filter: &IssueFilter<'_>,
        order: IssueOrder,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<IssueRow>> {
        let mut sql = format!("SELECT {ISSUE_COLS} FROM error_issues i WHERE project_id = $1");
        let mut n = 1;
        let mut binds: Vec<String> = Vec::new();
        if let Some(s) = filter.status {
            n += 1;
            sql.push_str(&format!(" AND status = ${n}"));
            binds.push(s.as_str().to_owned());
        }
        if filter.release.is_some() || filter.environment.is_some() {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM error_fingerprints f JOIN error_fingerprint_releases r \
                 ON r.project_id = f.project_id AND r.fingerprint = f.fingerprint \
                 WHERE f.issue_id = i.id",
            );
            if let Some(r) = filter.release {
                n += 1;
                sql.push_str(&format!(" AND r.release = ${n}"));
                binds.push(r.to_owned());
            }
            if let Some(e) = filter.environment {
                n += 1;
                sql.push_str(&format!(" AND r.environment = ${n}"));
                binds.push(e.to_owned());
            }
            sql.push(')');
        }
        if let Some(ids) = filter.ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let marks: Vec<String> = ids
                .iter()
                .map(|id| {
                    n += 1;
                    binds.push(id.clone());
                    format!("${n}")
                })
                .collect();
            sql.push_str(&format!(" AND id IN ({})", marks.join(", ")));
        }
        sql.push_str(match order {
            IssueOrder::LastSeen => " ORDER BY last_seen DESC, number DESC",
            IssueOrder::FirstSeen => " ORDER BY first_seen DESC, number DESC",
            IssueOrder::Events => " ORDER BY times_seen DESC, number DESC",
        });
        sql.push_str(&format!(" LIMIT ${} OFFSET ${}", n + 1, n + 2));
        let mut q = sqlx::query(&sql).bind(project_id);
        for b in &binds {
            q = q.bind(b);
        }
        q.bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(issue_from)
            .collect()
    }

    /// An issue by its number in the project.
    pub async fn issue_by_number(&self, project_id: &str, number: i64) -> Result<IssueRow> {
        sqlx::query(&format!(
            "SELECT {ISSUE_COLS} FROM error_issues WHERE project_id = $1 AND number = $2"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(issue_from)
        .transpose()?
        .ok_or(StoreError::NotFound)
    }

    /// The fingerprints that make up an issue, most events first.
    pub async fn issue_fingerprints(&self, issue_id: &str) -> Result<Vec<FingerprintRow>> {
        sqlx::query(
            "SELECT fingerprint, title, times_seen, last_seen FROM error_fingerprints \
             WHERE issue_id = $1 ORDER BY times_seen DESC, fingerprint",
        )
        .bind(issue_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(FingerprintRow {
                fingerprint: r.try_get("fingerprint")?,
                title: r.try_get("title")?,
                times_seen: r.try_get("times_seen")?,
                last_seen: r.try_get("last_seen")?,
            })
        })
        .collect()
    }

    /// Just the fingerprint keys of an issue, for telemetry's questions.
    pub async fn issue_prints(&self, issue_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT fingerprint FROM error_fingerprints WHERE issue_id = $1 ORDER BY fingerprint",
        )
        .bind(issue_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The fingerprints of many issues at once: (issue id, fingerprint).
    pub async fn fingerprints_of_issues(
        &self,
        project_id: &str,
        ids: &[String],
    ) -> Result<Vec<(String, String)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT issue_id, fingerprint FROM error_fingerprints WHERE project_id = $1 \
             AND issue_id IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(project_id);
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("issue_id")?, r.try_get("fingerprint")?)))
            .collect()
    }

    /// The issues of fingerprints: (fingerprint, issue id).
    pub async fn issues_of_fingerprints(
        &self,
        project_id: &str,
        fingerprints: &[String],
    ) -> Result<Vec<(String, String)>> {
        if fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..fingerprints.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT fingerprint, issue_id FROM error_fingerprints WHERE project_id = $1 \
             AND fingerprint IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(project_id);
        for f in fingerprints {
            q = q.bind(f);
        }
        q.fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("fingerprint")?, r.try_get("issue_id")?)))
            .collect()
    }

    /// The releases and environments an issue was seen in, newest first.
    pub async fn issue_releases(&self, issue_id: &str) -> Result<Vec<ReleaseSeen>> {
        sqlx::query(
            "SELECT r.release, r.environment, MIN(r.first_seen) AS first_seen, \
             MAX(r.last_seen) AS last_seen, CAST(SUM(r.times_seen) AS BIGINT) AS times_seen \
             FROM error_fingerprint_releases r JOIN error_fingerprints f \
             ON r.project_id = f.project_id AND r.fingerprint = f.fingerprint \
             WHERE f.issue_id = $1 GROUP BY r.release, r.environment ORDER BY first_seen DESC",
        )
        .bind(issue_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(ReleaseSeen {
                release: r.try_get("release")?,
                environment: r.try_get("environment")?,
                first_seen: r.try_get("first_seen")?,
                last_seen: r.try_get("last_seen")?,
                times_seen: r.try_get("times_seen")?,
            })
        })
        .collect()
    }

    /// The numbers of the incidents, tickets and backlog items an issue is
    /// linked to.
    pub async fn issue_links(&self, issue: &IssueRow) -> Result<(Vec<i64>, Vec<i64>, Vec<i64>)> {
        let number = issue.number.to_string();
        let incidents: Vec<i64> = sqlx::query_scalar(
            "SELECT i.number FROM support_incident_links l JOIN support_incidents i ON i.id = l.incident_id \
             WHERE l.kind = 'issue' AND l.target_id = $1 AND i.project_id = $2 ORDER BY i.number",
        )
        .bind(&number)
        .bind(&issue.project_id)
        .fetch_all(self.pool())
        .await?;
        let tickets: Vec<i64> = sqlx::query_scalar(
            "SELECT t.number FROM support_ticket_links l JOIN support_tickets t ON t.id = l.ticket_id \
             WHERE l.kind = 'issue' AND l.target_id = $1 AND t.project_id = $2 ORDER BY t.number",
        )
        .bind(&number)
        .bind(&issue.project_id)
        .fetch_all(self.pool())
        .await?;
        let backlog: Vec<i64> = sqlx::query_scalar(
            "SELECT b.number FROM error_issue_links l JOIN backlog_items b ON b.id = l.target_id \
             WHERE l.issue_id = $1 AND l.kind = 'backlog' ORDER BY b.number",
        )
        .bind(&issue.id)
        .fetch_all(self.pool())
        .await?;
        Ok((incidents, tickets, backlog))
    }

    /// What happened to an issue, oldest first.
    pub async fn issue_activity(&self, issue_id: &str) -> Result<Vec<ActivityRow>> {
        sqlx::query(
            "SELECT kind, release, actor, detail, at FROM error_issue_activity \
             WHERE issue_id = $1 ORDER BY at, id",
        )
        .bind(issue_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(ActivityRow {
                kind: r.try_get("kind")?,
                release: r.try_get("release")?,
                actor: r.try_get("actor")?,
                detail: r.try_get("detail")?,
                at: r.try_get("at")?,
            })
        })
        .collect()
    }

    /// The issues resolved in a release (`1.3.0` also finds `pkg@1.3.0`),
    /// by number: (number, title).
    pub async fn issues_resolved_in(
        &self,
        project_id: &str,
        release: &str,
    ) -> Result<Vec<(i64, String)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT i.number, i.title FROM error_issue_activity a \
             JOIN error_issues i ON i.id = a.issue_id WHERE a.project_id = $1 \
             AND a.kind = 'resolved' AND (a.release = $2 OR a.release LIKE $3) ORDER BY i.number",
        )
        .bind(project_id)
        .bind(release)
        .bind(format!("%@{release}"))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("number")?, r.try_get("title")?)))
            .collect()
    }

    /// Issues first seen in a release, and issues that regressed in it
    /// (each counted once): for launch reviews.
    pub async fn issue_counts_for_release(
        &self,
        project_id: &str,
        release: &str,
    ) -> Result<(i64, i64)> {
        let new: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM error_issues WHERE project_id = $1 AND first_release = $2",
        )
        .bind(project_id)
        .bind(release)
        .fetch_one(self.pool())
        .await?;
        let regressed: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT issue_id) FROM error_issue_activity \
             WHERE project_id = $1 AND kind = 'regressed' AND release = $2",
        )
        .bind(project_id)
        .bind(release)
        .fetch_one(self.pool())
        .await?;
        Ok((new, regressed))
    }

    /// Issues seen since `since` that have a backlog item made from them
    /// (one that still exists): the issue, and the item's id.
    pub async fn backlog_issues_seen_since(&self, since: i64) -> Result<Vec<(IssueRow, String)>> {
        let cols = ISSUE_COLS
            .split(", ")
            .map(|c| format!("i.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        sqlx::query(&format!(
            "SELECT {cols}, l.target_id AS item_id FROM error_issue_links l \
             JOIN error_issues i ON i.id = l.issue_id \
             JOIN backlog_items b ON b.id = l.target_id \
             WHERE l.kind = 'backlog' AND i.last_seen >= $1 ORDER BY i.last_seen"
        ))
        .bind(since)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| Ok((issue_from(r)?, r.try_get("item_id")?)))
        .collect()
    }

    /// Issues first seen in `[from, to)`, most events first, at most `limit`.
    pub async fn issues_first_seen_between(
        &self,
        project_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<IssueRow>> {
        sqlx::query(&format!(
            "SELECT {ISSUE_COLS} FROM error_issues WHERE project_id = $1 \
             AND first_seen >= $2 AND first_seen < $3 \
             ORDER BY times_seen DESC, number LIMIT $4"
        ))
        .bind(project_id)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(issue_from)
        .collect()
    }

    /// Issues first seen in `[from, to)`, and regressions in it.
    pub async fn issue_counts_between(
        &self,
        project_id: &str,
        from: i64,
        to: i64,
    ) -> Result<(i64, i64)> {
        let new: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM error_issues WHERE project_id = $1 \
             AND first_seen >= $2 AND first_seen < $3",
        )
        .bind(project_id)
        .bind(from)
        .bind(to)
        .fetch_one(self.pool())
        .await?;
        let regressed: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT issue_id) FROM error_issue_activity \
             WHERE project_id = $1 AND kind = 'regressed' AND at >= $2 AND at < $3",
        )
        .bind(project_id)
        .bind(from)
        .bind(to)
        .fetch_one(self.pool())
        .await?;
        Ok((new, regressed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_split_into_few_shapes_in_order() {
        let items: Vec<usize> = (0..150).collect();
        let sizes: Vec<usize> = pieces(&items).map(<[usize]>::len).collect();
        assert_eq!(sizes, [64, 64, 16, 4, 2]);
        let back: Vec<usize> = pieces(&items).flatten().copied().collect();
        assert_eq!(back, items);
        assert_eq!(
            pieces(&items[..7]).map(<[usize]>::len).collect::<Vec<_>>(),
            [4, 2, 1]
        );
        assert_eq!(pieces::<usize>(&[]).count(), 0);
    }
}
