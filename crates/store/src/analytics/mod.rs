//! Analytics settings in the state store: named features, key funnels,
//! and revenue (the base currency, the revenue property and the dated
//! currency rates). The events themselves live in telemetry; how long they
//! are kept is in [`crate::scaling`].

pub mod cohorts;
pub mod dashboards;
pub mod insights;

use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureRow {
    pub id: String,
    pub name: String,
    pub events: Vec<String>,
    pub created_at: i64,
}

pub async fn insert_feature(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
    events: &[String],
    now: i64,
) -> Result<FeatureRow> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO analytics_features (id, project_id, name, events, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(name)
    .bind(events.join("\n"))
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a feature with this name"))?;
    Ok(FeatureRow {
        id,
        name: name.to_owned(),
        events: events.to_vec(),
        created_at: now,
    })
}

/// Deletes a feature by name; false when there was none.
pub async fn delete_feature(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
) -> Result<bool> {
    let done = sqlx::query("DELETE FROM analytics_features WHERE project_id = $1 AND name = $2")
        .bind(project_id)
        .bind(name)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

impl Db {
    pub async fn features(&self, project_id: &str) -> Result<Vec<FeatureRow>> {
        let rows = sqlx::query(
            "SELECT id, name, events, created_at FROM analytics_features WHERE project_id = $1 ORDER BY name",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let events: String = r.try_get("events")?;
                Ok(FeatureRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    events: events.lines().map(str::to_owned).collect(),
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// A funnel the project watches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFunnel {
    pub name: String,
    /// Each step's events; any of them counts.
    pub steps: Vec<Vec<String>>,
    /// How long a person has to get from the first step to the last.
    pub window_ms: i64,
    pub created_at: i64,
}

impl Db {
    /// A project's key funnels, by name.
    pub async fn key_funnels(&self, project_id: &str) -> Result<Vec<KeyFunnel>> {
        let rows = sqlx::query(
            "SELECT name, steps, window_ms, created_at FROM analytics_key_funnels \
             WHERE project_id = $1 ORDER BY name",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let steps: String = r.try_get("steps")?;
                Ok(KeyFunnel {
                    name: r.try_get("name")?,
                    steps: steps
                        .lines()
                        .map(|l| l.split('|').map(str::to_owned).collect())
                        .collect(),
                    window_ms: r.try_get("window_ms")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// Adds a key funnel; a conflict when the name is taken.
pub async fn insert_key_funnel(
    conn: &mut AnyConnection,
    project_id: &str,
    f: &KeyFunnel,
) -> Result<()> {
    let steps: Vec<String> = f.steps.iter().map(|s| s.join("|")).collect();
    sqlx::query(
        "INSERT INTO analytics_key_funnels (project_id, name, steps, window_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(project_id)
    .bind(&f.name)
    .bind(steps.join("\n"))
    .bind(f.window_ms)
    .bind(f.created_at)
    .execute(&mut *conn)
    .await
    .map_err(crate::StoreError::conflict_as(
        "a key funnel with this name",
    ))?;
    Ok(())
}

/// Removes a key funnel; false when there was none.
pub async fn delete_key_funnel(
    conn: &mut AnyConnection,
    project_id: &str,
    name: &str,
) -> Result<bool> {
    Ok(
        sqlx::query("DELETE FROM analytics_key_funnels WHERE project_id = $1 AND name = $2")
            .bind(project_id)
            .bind(name)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Where a project's revenue is read from and what it is counted in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueSettings {
    pub base_currency: String,
    pub revenue_property: String,
}

impl Default for RevenueSettings {
    fn default() -> Self {
        RevenueSettings {
            base_currency: "EUR".into(),
            revenue_property: "$revenue".into(),
        }
    }
}

/// One dated rate: a unit of `currency` is worth `rate` of the base
/// currency from `day` (days since 1970-01-01) on.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRow {
    pub currency: String,
    pub day: i64,
    pub rate: f64,
}

impl Db {
    /// A project's revenue settings; the defaults when it has set none.
    pub async fn revenue_settings(&self, project_id: &str) -> Result<RevenueSettings> {
        let row = sqlx::query(
            "SELECT base_currency, revenue_property FROM revenue_settings WHERE project_id = $1",
        )
        .bind(project_id)
        .fetch_optional(self.pool())
        .await?;
        match row {
            None => Ok(RevenueSettings::default()),
            Some(r) => Ok(RevenueSettings {
                base_currency: r.try_get("base_currency")?,
                revenue_property: r.try_get("revenue_property")?,
            }),
        }
    }

    /// A project's currency rates, by currency and day.
    pub async fn currency_rates(&self, project_id: &str) -> Result<Vec<RateRow>> {
        let rows = sqlx::query(
            "SELECT currency, day, rate FROM currency_rates WHERE project_id = $1 \
             ORDER BY currency, day",
        )
        .bind(project_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RateRow {
                    currency: r.try_get("currency")?,
                    day: r.try_get("day")?,
                    rate: r.try_get("rate")?,
                })
            })
            .collect()
    }
}

/// Sets a project's revenue settings.
pub async fn put_revenue_settings(
    conn: &mut AnyConnection,
    project_id: &str,
    s: &RevenueSettings,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO revenue_settings (project_id, base_currency, revenue_property, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (project_id) DO UPDATE SET \
         base_currency = excluded.base_currency, revenue_property = excluded.revenue_property, \
         updated_at = excluded.updated_at",
    )
    .bind(project_id)
    .bind(&s.base_currency)
    .bind(&s.revenue_property)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How many rates a project has.
pub async fn count_rates(conn: &mut AnyConnection, project_id: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM currency_rates WHERE project_id = $1")
            .bind(project_id)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Adds rates; one for a currency and day already there replaces it.
pub async fn put_rates(
    conn: &mut AnyConnection,
    project_id: &str,
    rates: &[RateRow],
) -> Result<()> {
    for r in rates {
        sqlx::query(
            "INSERT INTO currency_rates (project_id, currency, day, rate) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_id, currency, day) DO UPDATE SET rate = excluded.rate",
        )
        .bind(project_id)
        .bind(&r.currency)
        .bind(r.day)
        .bind(r.rate)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Removes one currency's rate of one day; false when there was none.
pub async fn delete_rate(
    conn: &mut AnyConnection,
    project_id: &str,
    currency: &str,
    day: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "DELETE FROM currency_rates WHERE project_id = $1 AND currency = $2 AND day = $3",
    )
    .bind(project_id)
    .bind(currency)
    .bind(day)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Removes a currency's rates, or all of them; how many went.
pub async fn delete_rates(
    conn: &mut AnyConnection,
    project_id: &str,
    currency: Option<&str>,
) -> Result<u64> {
    let done = match currency {
        Some(c) => {
            sqlx::query("DELETE FROM currency_rates WHERE project_id = $1 AND currency = $2")
                .bind(project_id)
                .bind(c)
                .execute(&mut *conn)
                .await?
        }
        None => {
            sqlx::query("DELETE FROM currency_rates WHERE project_id = $1")
                .bind(project_id)
                .execute(&mut *conn)
                .await?
        }
    };
    Ok(done.rows_affected())
}
