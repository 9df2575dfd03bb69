//! Schedules with layers and overrides, support tiers, and escalation policies.

use jiff::Timestamp;
use jiff::civil::{DateTime, Time, Weekday};
use liveops_core::support::escalation::{Level, Policy, Target, Tier};
use liveops_core::support::schedule::{
    Layer, Override, Restriction, Rotation, Schedule, ShiftLength, time_zone,
};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleRow {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub time_zone: String,
    pub created_at: i64,
}

/// A layer as stored: members in rotation order, first hand-off as local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRow {
    pub members: Vec<String>,
    pub start_local: String,
    pub shift: String,
    /// Weekdays as `mon,tue,…`, with the daily window.
    pub restrict_days: Option<String>,
    pub restrict_from: Option<String>,
    pub restrict_to: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideRow {
    pub id: String,
    pub user_id: String,
    pub start_at: i64,
    pub end_at: i64,
}

fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("stored {what} is not valid: {e}"))
}

pub const WEEKDAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

impl LayerRow {
    /// Builds the core layer, checking every field; used both to validate
    /// input before storing it and to load it back.
    pub fn to_layer(&self, tz_name: &str) -> std::result::Result<Layer, String> {
        let tz = time_zone(tz_name).map_err(|e| e.to_string())?;
        let start: DateTime = self.start_local.parse().map_err(|_| {
            format!(
                "`{}` is not a local date and time like 2026-01-05T09:00",
                self.start_local
            )
        })?;
        let shift = ShiftLength::parse(&self.shift).map_err(|e| e.to_string())?;
        let rotation =
            Rotation::new(self.members.clone(), start, tz, shift).map_err(|e| e.to_string())?;
        let restriction = match (&self.restrict_days, &self.restrict_from, &self.restrict_to) {
            (None, None, None) => None,
            (Some(days), Some(from), Some(to)) => {
                let mut weekdays = Vec::new();
                for d in days.split(',').map(str::trim).filter(|d| !d.is_empty()) {
                    let wd = WEEKDAYS
                        .iter()
                        .find(|(n, _)| *n == d.to_ascii_lowercase())
                        .map(|(_, w)| *w)
                        .ok_or_else(|| {
                            format!("`{d}` is not a weekday: use mon, tue, wed, thu, fri, sat, sun")
                        })?;
                    weekdays.push(wd);
                }
                let parse_time = |t: &str| {
                    t.parse::<Time>()
                        .map_err(|_| format!("`{t}` is not a time of day like 09:00"))
                };
                Some(
                    Restriction::new(weekdays, parse_time(from)?, parse_time(to)?)
                        .map_err(|e| e.to_string())?,
                )
            }
            _ => return Err("a restriction needs days, from and to together".into()),
        };
        Ok(Layer {
            rotation,
            restriction,
        })
    }
}

pub async fn insert_schedule(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
    tz: &str,
    layers: &[LayerRow],
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO support_schedules (id, project_id, name, time_zone, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(name)
    .bind(tz)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a schedule with this name"))?;
    insert_layers(conn, &id, layers).await?;
    Ok(id)
}

pub async fn insert_override(
    conn: &mut AnyConnection,
    schedule_id: &str,
    user_id: &str,
    start_at: i64,
    end_at: i64,
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO support_schedule_overrides (id, schedule_id, user_id, start_at, end_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(schedule_id)
    .bind(user_id)
    .bind(start_at)
    .bind(end_at)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

fn schedule_from(row: &AnyRow) -> Result<ScheduleRow> {
    Ok(ScheduleRow {
        id: row.try_get("id")?,
        project_id: row.try_get("project_id")?,
        name: row.try_get("name")?,
        time_zone: row.try_get("time_zone")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A schedule with everything needed to say who is on call.
#[derive(Debug, Clone)]
pub struct LoadedSchedule {
    pub row: ScheduleRow,
    pub layers: Vec<LayerRow>,
    pub overrides: Vec<OverrideRow>,
    pub schedule: Schedule,
}

impl Db {
    pub async fn schedules(&self, project_id: &str) -> Result<Vec<ScheduleRow>> {
        let rows = sqlx::query(
            "SELECT id, project_id, name, time_zone, created_at FROM support_schedules \
             WHERE project_id = $1 ORDER BY name",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(schedule_from).collect()
    }

    /// A schedule by id or name.
    pub async fn schedule(&self, project_id: &str, id_or_name: &str) -> Result<LoadedSchedule> {
        let row = sqlx::query(
            "SELECT id, project_id, name, time_zone, created_at FROM support_schedules \
             WHERE project_id = $1 AND (id = $2 OR name = $2)",
        )
        .bind(project_id)
        .bind(id_or_name)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        let row = schedule_from(&row)?;
        let layers: Vec<LayerRow> = sqlx::query(
            "SELECT members, start_local, shift, restrict_days, restrict_from, restrict_to \
             FROM support_schedule_layers WHERE schedule_id = $1 ORDER BY position",
        )
        .bind(&row.id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            let members: String = r.try_get("members")?;
            Ok(LayerRow {
                members: members.split(',').map(str::to_owned).collect(),
                start_local: r.try_get("start_local")?,
                shift: r.try_get("shift")?,
                restrict_days: r.try_get("restrict_days")?,
                restrict_from: r.try_get("restrict_from")?,
                restrict_to: r.try_get("restrict_to")?,
            })
        })
        .collect::<Result<_>>()?;
        let overrides: Vec<OverrideRow> = sqlx::query(
            "SELECT id, user_id, start_at, end_at FROM support_schedule_overrides \
             WHERE schedule_id = $1 ORDER BY created_at, id",
        )
        .bind(&row.id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(OverrideRow {
                id: r.try_get("id")?,
                user_id: r.try_get("user_id")?,
                start_at: r.try_get("start_at")?,
                end_at: r.try_get("end_at")?,
            })
        })
        .collect::<Result<_>>()?;
        let mut schedule = Schedule::default();
        for l in &layers {
            schedule
                .layers
                .push(l.to_layer(&row.time_zone).map_err(|e| bad("layer", e))?);
        }
        for o in &overrides {
            let start = Timestamp::from_millisecond(o.start_at).map_err(|e| bad("override", e))?;
            let end = Timestamp::from_millisecond(o.end_at).map_err(|e| bad("override", e))?;
            schedule.overrides.push(
                Override::new(o.user_id.clone(), start, end).map_err(|e| bad("override", e))?,
            );
        }
        Ok(LoadedSchedule {
            row,
            layers,
            overrides,
            schedule,
        })
    }
}

// ---------------------------------------------------------------- tiers

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierRow {
    pub tier: Tier,
    pub schedule_id: Option<String>,
    pub members: Vec<String>,
}

pub async fn set_tier(
    conn: &mut AnyConnection,
    project_id: &str,
    tier: Tier,
    schedule_id: Option<&str>,
    members: &[String],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO support_tiers (project_id, tier, schedule_id) VALUES ($1, $2, $3) \
         ON CONFLICT (project_id, tier) DO UPDATE SET schedule_id = excluded.schedule_id",
    )
    .bind(project_id)
    .bind(tier.as_str())
    .bind(schedule_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM support_tier_members WHERE project_id = $1 AND tier = $2")
        .bind(project_id)
        .bind(tier.as_str())
        .execute(&mut *conn)
        .await?;
    for m in members {
        sqlx::query(
            "INSERT INTO support_tier_members (project_id, tier, user_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(project_id)
        .bind(tier.as_str())
        .bind(m)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Db {
    /// The project's tiers; tiers never configured come back empty.
    pub async fn tiers(&self, project_id: &str) -> Result<Vec<TierRow>> {
        let mut out = Vec::new();
        for tier in Tier::ALL {
            let schedule_id: Option<Option<String>> = sqlx::query_scalar(
                "SELECT schedule_id FROM support_tiers WHERE project_id = $1 AND tier = $2",
            )
            .bind(project_id)
            .bind(tier.as_str())
            .fetch_optional(self.pool())
            .await?;
            let members: Vec<String> = sqlx::query_scalar(
                "SELECT user_id FROM support_tier_members WHERE project_id = $1 AND tier = $2 ORDER BY user_id",
            )
            .bind(project_id)
            .bind(tier.as_str())
            .fetch_all(self.pool())
            .await?;
            out.push(TierRow {
                tier,
                schedule_id: schedule_id.flatten(),
                members,
            });
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------- policies

/// How a policy's levels are stored (JSON in one column).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StoredLevel {
    pub targets: Vec<StoredTarget>,
    pub delay_secs: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum StoredTarget {
    User(String),
    Schedule(String),
    Tier(String),
}

impl StoredLevel {
    pub fn to_level(&self) -> std::result::Result<Level, String> {
        let targets = self
            .targets
            .iter()
            .map(|t| match t {
                StoredTarget::User(u) => Ok(Target::User(u.clone())),
                StoredTarget::Schedule(s) => Ok(Target::Schedule(s.clone())),
                StoredTarget::Tier(t) => Tier::parse(t)
                    .map(Target::Tier)
                    .ok_or_else(|| format!("`{t}` is not a tier: use l1, l2 or l3")),
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        Ok(Level {
            targets,
            delay: jiff::SignedDuration::from_secs(self.delay_secs),
        })
    }
}

#[derive(Debug, Clone)]
pub struct PolicyRow {
    pub id: String,
    pub name: String,
    pub levels: Vec<StoredLevel>,
    pub repeat: u32,
    pub ack_timeout_secs: Option<i64>,
    pub policy: Policy,
}

/// Checks levels and builds the core policy.
pub fn build_policy(levels: &[StoredLevel], repeat: u32) -> std::result::Result<Policy, String> {
    let levels = levels
        .iter()
        .map(StoredLevel::to_level)
        .collect::<std::result::Result<Vec<_>, String>>()?;
    Policy::new(levels, repeat).map_err(|e| e.to_string())
}

pub async fn insert_policy(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
    levels: &[StoredLevel],
    repeat: u32,
    ack_timeout_secs: Option<i64>,
    now: i64,
) -> Result<String> {
    let id = new_id();
    let json = serde_json::to_string(levels).map_err(|e| StoreError::Other(e.to_string()))?;
    sqlx::query(
        "INSERT INTO support_policies (id, project_id, name, levels, repeat_count, ack_timeout_secs, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(name)
    .bind(json)
    .bind(i64::from(repeat))
    .bind(ack_timeout_secs)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("an escalation policy with this name"))?;
    Ok(id)
}

fn policy_from(row: &AnyRow) -> Result<PolicyRow> {
    let json: String = row.try_get("levels")?;
    let levels: Vec<StoredLevel> = serde_json::from_str(&json).map_err(|e| bad("policy", e))?;
    let repeat =
        u32::try_from(row.try_get::<i64, _>("repeat_count")?).map_err(|e| bad("policy", e))?;
    let policy = build_policy(&levels, repeat).map_err(|e| bad("policy", e))?;
    Ok(PolicyRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        levels,
        repeat,
        ack_timeout_secs: row.try_get("ack_timeout_secs")?,
        policy,
    })
}

impl Db {
    pub async fn policies(&self, project_id: &str) -> Result<Vec<PolicyRow>> {
        let rows = sqlx::query(
            "SELECT id, name, levels, repeat_count, ack_timeout_secs FROM support_policies \
             WHERE project_id = $1 ORDER BY name",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(policy_from).collect()
    }

    /// A policy by id or name.
    pub async fn policy(&self, project_id: &str, id_or_name: &str) -> Result<PolicyRow> {
        let row = sqlx::query(
            "SELECT id, name, levels, repeat_count, ack_timeout_secs FROM support_policies \
             WHERE project_id = $1 AND (id = $2 OR name = $2)",
        )
        .bind(project_id)
        .bind(id_or_name)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        policy_from(&row)
    }
}

// ---------------------------------------------------------------- leaving a project

/// Why a person cannot simply be taken off a project's rotas: they are the
/// only member of a schedule layer, or the only target left in a policy
/// level, and taking them off would leave it paging nobody. Each line names
/// what to change first.
pub async fn rota_blockers(
    conn: &mut AnyConnection,
    project_id: &str,
    user_id: &str,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let layers = sqlx::query(
        "SELECT s.name, l.position, l.members FROM support_schedule_layers l \
         JOIN support_schedules s ON s.id = l.schedule_id WHERE s.project_id = $1 \
         ORDER BY s.name, l.position",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    for r in layers {
        let members: String = r.try_get("members")?;
        if members.split(',').all(|m| m == user_id) && !members.is_empty() {
            let name: String = r.try_get("name")?;
            let position: i64 = r.try_get("position")?;
            out.push(format!(
                "they are the only member of layer {} of schedule `{name}`",
                position + 1
            ));
        }
    }
    let policies = sqlx::query(
        "SELECT name, levels FROM support_policies WHERE project_id = $1 ORDER BY name",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    for r in policies {
        let json: String = r.try_get("levels")?;
        let levels: Vec<StoredLevel> = serde_json::from_str(&json).map_err(|e| bad("policy", e))?;
        let name: String = r.try_get("name")?;
        for (i, l) in levels.iter().enumerate() {
            if !l.targets.is_empty()
                && l.targets
                    .iter()
                    .all(|t| matches!(t, StoredTarget::User(u) if u == user_id))
            {
                out.push(format!(
                    "they are the only target of level {} of policy `{name}`",
                    i + 1
                ));
            }
        }
    }
    Ok(out)
}

/// Takes a person off every rota of a project: schedule layers (in their
/// rotation order, less them), overrides, tiers and policy levels. Call
/// [`rota_blockers`] first; a layer or level this would empty is left alone.
pub async fn remove_from_rotas(
    conn: &mut AnyConnection,
    project_id: &str,
    user_id: &str,
) -> Result<()> {
    let layers = sqlx::query(
        "SELECT l.id, l.members FROM support_schedule_layers l \
         JOIN support_schedules s ON s.id = l.schedule_id WHERE s.project_id = $1",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    for r in layers {
        let id: String = r.try_get("id")?;
        let members: String = r.try_get("members")?;
        let kept: Vec<&str> = members.split(',').filter(|m| *m != user_id).collect();
        if kept.is_empty() || kept.len() == members.split(',').count() {
            continue;
        }
        sqlx::query("UPDATE support_schedule_layers SET members = $1 WHERE id = $2")
            .bind(kept.join(","))
            .bind(&id)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query(
        "DELETE FROM support_schedule_overrides WHERE user_id = $1 AND schedule_id IN \
         (SELECT id FROM support_schedules WHERE project_id = $2)",
    )
    .bind(user_id)
    .bind(project_id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM support_tier_members WHERE project_id = $1 AND user_id = $2")
        .bind(project_id)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    let policies = sqlx::query("SELECT id, levels FROM support_policies WHERE project_id = $1")
        .bind(project_id)
        .fetch_all(&mut *conn)
        .await?;
    for r in policies {
        let id: String = r.try_get("id")?;
        let json: String = r.try_get("levels")?;
        let mut levels: Vec<StoredLevel> =
            serde_json::from_str(&json).map_err(|e| bad("policy", e))?;
        let mut changed = false;
        for l in &mut levels {
            let before = l.targets.len();
            let kept: Vec<StoredTarget> = l
                .targets
                .iter()
                .filter(|t| !matches!(t, StoredTarget::User(u) if u == user_id))
                .cloned()
                .collect();
            if !kept.is_empty() && kept.len() != before {
                l.targets = kept;
                changed = true;
            }
        }
        if changed {
            let json =
                serde_json::to_string(&levels).map_err(|e| StoreError::Other(e.to_string()))?;
            sqlx::query("UPDATE support_policies SET levels = $1 WHERE id = $2")
                .bind(json)
                .bind(&id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- editing

/// Replaces a schedule's time zone and layers, keeping its id, so the tiers,
/// policies and overrides that name it stay with it.
pub async fn update_schedule(
    conn: &mut AnyConnection,
    schedule_id: &str,
    tz: &str,
    layers: &[LayerRow],
) -> Result<()> {
    sqlx::query("UPDATE support_schedules SET time_zone = $1 WHERE id = $2")
        .bind(tz)
        .bind(schedule_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM support_schedule_layers WHERE schedule_id = $1")
        .bind(schedule_id)
        .execute(&mut *conn)
        .await?;
    insert_layers(conn, schedule_id, layers).await
}

async fn insert_layers(
    conn: &mut AnyConnection,
    schedule_id: &str,
    layers: &[LayerRow],
) -> Result<()> {
    for (pos, l) in layers.iter().enumerate() {
        sqlx::query(
            "INSERT INTO support_schedule_layers \
             (id, schedule_id, position, members, start_local, shift, restrict_days, restrict_from, restrict_to) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new_id())
        .bind(schedule_id)
        .bind(pos as i64)
        .bind(l.members.join(","))
        .bind(&l.start_local)
        .bind(&l.shift)
        .bind(l.restrict_days.as_deref())
        .bind(l.restrict_from.as_deref())
        .bind(l.restrict_to.as_deref())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes a schedule with its layers and overrides; a tier that followed
/// it falls back to its members. False when there was none.
pub async fn delete_schedule(
    conn: &mut AnyConnection,
    project_id: &str,
    schedule_id: &str,
) -> Result<bool> {
    sqlx::query("DELETE FROM support_schedule_layers WHERE schedule_id = $1")
        .bind(schedule_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM support_schedule_overrides WHERE schedule_id = $1")
        .bind(schedule_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE support_tiers SET schedule_id = NULL WHERE schedule_id = $1")
        .bind(schedule_id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM support_schedules WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(schedule_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Replaces a policy's levels, repeats and acknowledgement timeout.
pub async fn update_policy(
    conn: &mut AnyConnection,
    policy_id: &str,
    levels: &[StoredLevel],
    repeat: u32,
    ack_timeout_secs: Option<i64>,
) -> Result<()> {
    let json = serde_json::to_string(levels).map_err(|e| StoreError::Other(e.to_string()))?;
    sqlx::query(
        "UPDATE support_policies SET levels = $1, repeat_count = $2, ack_timeout_secs = $3 WHERE id = $4",
    )
    .bind(json)
    .bind(i64::from(repeat))
    .bind(ack_timeout_secs)
    .bind(policy_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes a policy; integrations that used it page nobody until given
/// another. False when there was none.
pub async fn delete_policy(
    conn: &mut AnyConnection,
    project_id: &str,
    policy_id: &str,
) -> Result<bool> {
    sqlx::query("UPDATE support_integrations SET policy_id = NULL WHERE policy_id = $1")
        .bind(policy_id)
        .execute(&mut *conn)
        .await?;
    let done = sqlx::query("DELETE FROM support_policies WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(policy_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The id of a project's schedule, policy, component or integration by
/// name, read in the caller's transaction (so it sees what the same
/// transaction made).
pub async fn id_by_name(
    conn: &mut AnyConnection,
    kind: Named,
    project_id: &str,
    name: &str,
) -> Result<Option<String>> {
    let table = match kind {
        Named::Schedule => "support_schedules",
        Named::Policy => "support_policies",
        Named::Component => "support_components",
        Named::Integration => "support_integrations",
    };
    Ok(sqlx::query_scalar(&format!(
        "SELECT id FROM {table} WHERE project_id = $1 AND (name = $2 OR id = $2)"
    ))
    .bind(project_id)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?)
}

/// What [`id_by_name`] looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    Schedule,
    Policy,
    Component,
    Integration,
}

/// The escalation policies whose levels page a schedule, by name.
pub async fn schedule_users(
    conn: &mut AnyConnection,
    project_id: &str,
    schedule_id: &str,
) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT name, levels FROM support_policies WHERE project_id = $1 ORDER BY name",
    )
    .bind(project_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let levels: String = r.try_get("levels")?;
        let levels: Vec<StoredLevel> =
            serde_json::from_str(&levels).map_err(|e| bad("policy", e))?;
        if levels.iter().any(|l| {
            l.targets
                .iter()
                .any(|t| matches!(t, StoredTarget::Schedule(s) if s == schedule_id))
        }) {
            out.push(r.try_get("name")?);
        }
    }
    Ok(out)
}

/// The integrations whose alerts a policy pages for, by name.
pub async fn policy_users(conn: &mut AnyConnection, policy_id: &str) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT name FROM support_integrations WHERE policy_id = $1 ORDER BY name",
    )
    .bind(policy_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Removes an override from a schedule; false when it has none of that id.
pub async fn delete_override(
    conn: &mut AnyConnection,
    schedule_id: &str,
    id: &str,
) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM support_schedule_overrides WHERE schedule_id = $1 AND id = $2")
            .bind(schedule_id)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected() > 0)
}
