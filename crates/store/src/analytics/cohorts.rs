//! Cohorts in the state store: each project's named cohorts with their
//! rule, the distinct ids of static cohorts, and the size each cohort had
//! on the days it was measured.

use liveops_core::analytics::cohort::CohortRule;
use liveops_core::analytics::filter::parse_filters;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

/// A cohort as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortRow {
    pub id: String,
    pub name: String,
    pub rule: CohortRule,
    /// How many distinct ids a static cohort lists (0 for the others).
    pub listed: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The rule as the `definition` column holds it.
fn encode(rule: &CohortRule) -> String {
    match rule {
        CohortRule::Behavioural {
            event,
            min_count,
            days,
            did,
        } => serde_json::json!({
            "event": event, "min_count": min_count, "days": days, "did": did,
        })
        .to_string(),
        CohortRule::Property { filters } => {
            let filters: Vec<String> = filters.iter().map(ToString::to_string).collect();
            serde_json::json!({ "filters": filters }).to_string()
        }
        CohortRule::Static => String::new(),
    }
}

fn decode(kind: &str, definition: &str) -> Result<CohortRule> {
    let bad = |why: &str| StoreError::Other(format!("cohort definition: {why}"));
    if kind == "static" {
        return Ok(CohortRule::Static);
    }
    let v: serde_json::Value = serde_json::from_str(definition).map_err(|e| bad(&e.to_string()))?;
    match kind {
        "behavioural" => {
            let number = |k: &str| {
                v.get(k)
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| bad(k))
            };
            Ok(CohortRule::Behavioural {
                event: v
                    .get("event")
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| bad("event"))?
                    .to_owned(),
                min_count: number("min_count")?,
                days: number("days")?,
                did: v
                    .get("did")
                    .and_then(serde_json::Value::as_bool)
                    .ok_or_else(|| bad("did"))?,
            })
        }
        "property" => {
            let list: Vec<&str> = v
                .get("filters")
                .and_then(serde_json::Value::as_array)
                .ok_or_else(|| bad("filters"))?
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect();
            let filters = parse_filters(&list.join(";")).map_err(|e| bad(&e.to_string()))?;
            Ok(CohortRule::Property { filters })
        }
        other => Err(bad(&format!("unknown kind {other}"))),
    }
}

fn row(r: &sqlx::any::AnyRow) -> Result<CohortRow> {
    let kind: String = r.try_get("kind")?;
    let definition: String = r.try_get("definition")?;
    Ok(CohortRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        rule: decode(&kind, &definition)?,
        listed: r.try_get("listed")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const COLUMNS: &str = "c.id, c.name, c.kind, c.definition, c.created_at, c.updated_at, \
     (SELECT COUNT(*) FROM cohort_members m WHERE m.cohort_id = c.id) AS listed";

impl Db {
    /// A project's cohorts, by name.
    pub async fn cohorts(&self, project_id: &str) -> Result<Vec<CohortRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cohorts c WHERE c.project_id = $1 ORDER BY c.name"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(row).collect()
    }

    /// One cohort, by id or by name.
    pub async fn cohort(&self, project_id: &str, id_or_name: &str) -> Result<CohortRow> {
        let r = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM cohorts c WHERE c.project_id = $1 AND (c.id = $2 OR c.name = $2) \
             ORDER BY c.id = $2 DESC LIMIT 1"
        ))
        .bind(project_id)
        .bind(id_or_name)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        row(&r)
    }

    /// The distinct ids a static cohort lists, in order.
    pub async fn cohort_members(&self, cohort_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT distinct_id FROM cohort_members WHERE cohort_id = $1 ORDER BY distinct_id",
        )
        .bind(cohort_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The sizes a cohort was measured at, by day (days since 1970-01-01).
    pub async fn cohort_size_history(&self, cohort_id: &str) -> Result<Vec<(i64, i64)>> {
        let rows =
            sqlx::query("SELECT day, size FROM cohort_sizes WHERE cohort_id = $1 ORDER BY day")
                .bind(cohort_id)
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("day")?, r.try_get("size")?)))
            .collect()
    }
}

/// Adds a cohort; a conflict when the project has one by that name.
pub async fn insert_cohort(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
    rule: &CohortRule,
    now: i64,
) -> Result<CohortRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO cohorts (id, project_id, name, kind, definition, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(name)
    .bind(rule.kind())
    .bind(encode(rule))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a cohort with this name"))?;
    Ok(CohortRow {
        id,
        name: name.to_owned(),
        rule: rule.clone(),
        listed: 0,
        created_at: now,
        updated_at: now,
    })
}

/// Gives a cohort a new rule, in place (its id, which insights may name,
/// stays); its list is set apart with [`put_members`].
pub async fn update_cohort(
    conn: &mut AnyConnection,
    project_id: &str,
    id: &str,
    rule: &CohortRule,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE cohorts SET kind = $3, definition = $4, updated_at = $5 \
         WHERE project_id = $1 AND id = $2",
    )
    .bind(project_id)
    .bind(id)
    .bind(rule.kind())
    .bind(encode(rule))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A cohort's id by its name, read in the open change.
pub async fn cohort_id(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM cohorts WHERE project_id = $1 AND (id = $2 OR name = $2)",
    )
    .bind(project_id)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Lists a static cohort's distinct ids (`ids` sorted and without
/// repeats), in place of any it had.
pub async fn put_members(conn: &mut AnyConnection, cohort_id: &str, ids: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM cohort_members WHERE cohort_id = $1")
        .bind(cohort_id)
        .execute(&mut *conn)
        .await?;
    // Several rows per statement; well under either database's limit on
    // bound values.
    for chunk in ids.chunks(400) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${})", i + 2))
            .collect();
        let sql = format!(
            "INSERT INTO cohort_members (cohort_id, distinct_id) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(cohort_id);
        for id in chunk {
            q = q.bind(id);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Removes a cohort; its list and sizes go with it (`ON DELETE CASCADE`).
/// False when there was none.
pub async fn delete_cohort(conn: &mut AnyConnection, project_id: &str, id: &str) -> Result<bool> {
    let done = sqlx::query("DELETE FROM cohorts WHERE project_id = $1 AND id = $2")
        .bind(project_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

impl Db {
    /// Records the size a cohort had on a day (a measurement, not a
    /// change anyone made); a later measurement that day replaces it.
    pub async fn record_cohort_size(&self, cohort_id: &str, day: i64, size: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO cohort_sizes (cohort_id, day, size) VALUES ($1, $2, $3) \
         ON CONFLICT (cohort_id, day) DO UPDATE SET size = excluded.size",
        )
        .bind(cohort_id)
        .bind(day)
        .bind(size)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_come_back_as_they_went_in() {
        for rule in [
            CohortRule::behavioural("$pageview", 2, 30, false).expect("rule"),
            CohortRule::property("plan=pro;seats>=5").expect("rule"),
            CohortRule::Static,
        ] {
            assert_eq!(decode(rule.kind(), &encode(&rule)).expect("decoded"), rule);
        }
        assert!(decode("behavioural", "{}").is_err());
        assert!(decode("other", "{}").is_err());
    }
}
