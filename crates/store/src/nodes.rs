//! Several nodes on one state database. Job leases say which node runs
//! each background job: one row per job, taken by one upsert that succeeds
//! only for the holder or once the lease has expired, so two nodes racing
//! for it cannot both win. Instance facts are what every node must agree
//! on, recorded by the first.

use crate::{Db, Result};

/// Who holds a job's lease, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub job: String,
    pub holder: String,
    pub expires_at: i64,
}

impl Db {
    /// Takes or renews `job`'s lease for `holder` until `until`. True when
    /// `holder` now holds it: it held it already, nobody did, or the last
    /// holder's lease had expired by `now`.
    pub async fn take_lease(&self, job: &str, holder: &str, now: i64, until: i64) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO job_leases (job, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= $4",
        )
        .bind(job)
        .bind(holder)
        .bind(until)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Gives up every lease `holder` holds, so another node may take the
    /// jobs over at once rather than when the leases expire.
    pub async fn release_leases(&self, holder: &str) -> Result<u64> {
        let done = sqlx::query("UPDATE job_leases SET expires_at = 0 WHERE holder = $1")
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Every lease, by job: which node runs what.
    pub async fn leases(&self) -> Result<Vec<Lease>> {
        use sqlx::Row;
        let rows = sqlx::query("SELECT job, holder, expires_at FROM job_leases ORDER BY job")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Lease {
                    job: r.try_get("job")?,
                    holder: r.try_get("holder")?,
                    expires_at: r.try_get("expires_at")?,
                })
            })
            .collect()
    }
}

impl Db {
    /// The instance fact `name`, recording `value` first when nobody has:
    /// whichever node records it first, every node reads the same answer.
    pub async fn instance_fact(&self, name: &str, value: &str) -> Result<String> {
        use sqlx::Row;
        sqlx::query(
            "INSERT INTO instance_facts (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(value)
        .execute(self.pool())
        .await?;
        let row = sqlx::query("SELECT value FROM instance_facts WHERE name = $1")
            .bind(name)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("value")?)
    }
}

impl Db {
    /// How far `node`'s filer has read its spool of `stream` (0 before it
    /// has read anything).
    pub async fn spool_position(&self, node: &str, stream: &str) -> Result<u64> {
        use sqlx::Row;
        let row =
            sqlx::query("SELECT position FROM spool_positions WHERE node = $1 AND stream = $2")
                .bind(node)
                .bind(stream)
                .fetch_optional(self.pool())
                .await?;
        let at: i64 = match row {
            Some(r) => r.try_get("position")?,
            None => 0,
        };
        Ok(u64::try_from(at).unwrap_or(0))
    }
}

/// Records how far `node`'s filer has read its spool of `stream`, in the
/// transaction that files what it read.
pub async fn set_spool_position(
    conn: &mut sqlx::AnyConnection,
    node: &str,
    stream: &str,
    position: u64,
) -> Result<()> {
    let position = i64::try_from(position)
        .map_err(|_| crate::StoreError::Other("a spool position past 2^63".into()))?;
    sqlx::query(
        "INSERT INTO spool_positions (node, stream, position) VALUES ($1, $2, $3) \
         ON CONFLICT (node, stream) DO UPDATE SET position = excluded.position",
    )
    .bind(node)
    .bind(stream)
    .bind(position)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
