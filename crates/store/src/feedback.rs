//! Customer feedback and the product backlog in the state store: feedback
//! items, backlog items with their scores, links (votes) and merges.

use liveops_core::feedback::backlog::{ItemKind, ItemStatus, Score};
use liveops_core::feedback::{FeedbackKind, FeedbackState};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::{Db, Result, StoreError, new_id};

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Other(format!("stored {what} `{v}` is not valid"))
}

/// A backlog item, with the votes its linked feedback gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: String,
    pub number: i64,
    pub kind: ItemKind,
    pub title: String,
    pub body: String,
    pub status: ItemStatus,
    pub score: Option<Score>,
    pub release_id: Option<String>,
    /// The scheduled release's version.
    pub release_version: Option<String>,
    pub merged_into: Option<String>,
    /// The number of the item it was merged into.
    pub merged_into_number: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// Linked feedback, spam left out: every request is a vote.
    pub votes: i64,
    /// Distinct people among those votes.
    pub voters: i64,
    /// The incident whose postmortem raised it as an action item.
    pub postmortem_incident: Option<i64>,
    /// The post-launch review whose finding it came from.
    pub launch_review: Option<i64>,
    /// Shown in the public changelog once released.
    pub public: bool,
}

const ITEM_COLS: &str = "i.id, i.number, i.kind, i.title, i.body, i.status, i.score_method, i.reach, \
     i.impact, i.confidence, i.effort, i.ease, i.release_id, i.merged_into, i.created_by, \
     i.created_at, i.updated_at, i.public, \
     (SELECT r.version FROM releases r WHERE r.id = i.release_id) AS release_version, \
     (SELECT m.number FROM backlog_items m WHERE m.id = i.merged_into) AS merged_into_number, \
     (SELECT count(*) FROM feedback f WHERE f.item_id = i.id AND f.state <> 'spam') AS votes, \
     (SELECT count(DISTINCT COALESCE(f.distinct_id, f.reporter_email, f.id)) FROM feedback f \
      WHERE f.item_id = i.id AND f.state <> 'spam') AS voters, \
     (SELECT inc.number FROM postmortem_actions pa JOIN postmortems pm ON pm.id = pa.postmortem_id \
      JOIN support_incidents inc ON inc.id = pm.incident_id WHERE pa.item_id = i.id) AS postmortem_incident, \
     (SELECT lr.number FROM launch_review_items x JOIN launch_reviews lr ON lr.id = x.review_id \
      WHERE x.item_id = i.id) AS launch_review";

fn item_from(r: &AnyRow) -> Result<Item> {
    let kind: String = r.try_get("kind")?;
    let status: String = r.try_get("status")?;
    let method: Option<String> = r.try_get("score_method")?;
    let f = |c: &str| -> Result<f64> {
        r.try_get::<Option<f64>, _>(c)?
            .ok_or_else(|| StoreError::Other(format!("stored score lacks {c}")))
    };
    let score = match method.as_deref() {
        None => None,
        Some("rice") => Some(Score::Rice {
            reach: f("reach")?,
            impact: f("impact")?,
            confidence: f("confidence")?,
            effort: f("effort")?,
        }),
        Some("ice") => Some(Score::Ice {
            impact: f("impact")?,
            confidence: f("confidence")?,
            ease: f("ease")?,
        }),
        Some(other) => return Err(bad("score method", other)),
    };
    Ok(Item {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        kind: ItemKind::parse(&kind).ok_or_else(|| bad("item kind", &kind))?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        status: ItemStatus::parse(&status).ok_or_else(|| bad("item status", &status))?,
        score,
        release_id: r.try_get("release_id")?,
        release_version: r.try_get("release_version")?,
        merged_into: r.try_get("merged_into")?,
        merged_into_number: r.try_get("merged_into_number")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        votes: r.try_get("votes")?,
        voters: r.try_get("voters")?,
        postmortem_incident: r.try_get("postmortem_incident")?,
        launch_review: r.try_get("launch_review")?,
        public: r.try_get::<i64, _>("public")? != 0,
    })
}

/// Which items to list.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter<'a> {
    pub status: Option<ItemStatus>,
    pub kind: Option<ItemKind>,
    pub release_id: Option<&'a str>,
    /// Leave out merged and won't-do items.
    pub open_only: bool,
}

/// A piece of feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    pub id: String,
    pub number: i64,
    pub kind: FeedbackKind,
    pub title: String,
    pub body: String,
    pub source: String,
    pub external_id: Option<String>,
    pub url: Option<String>,
    pub reporter_email: Option<String>,
    pub reporter_name: Option<String>,
    pub distinct_id: Option<String>,
    pub ticket_id: Option<String>,
    pub item_id: Option<String>,
    /// The linked item's number.
    pub item_number: Option<i64>,
    pub state: FeedbackState,
    pub spam_signal: Option<String>,
    pub created_at: i64,
}

const FEEDBACK_COLS: &str = "f.id, f.number, f.kind, f.title, f.body, f.source, f.external_id, f.url, \
     f.reporter_email, f.reporter_name, f.distinct_id, f.ticket_id, f.item_id, \
     (SELECT i.number FROM backlog_items i WHERE i.id = f.item_id) AS item_number, f.state, \
     f.spam_signal, f.created_at";

fn feedback_from(r: &AnyRow) -> Result<Feedback> {
    let kind: String = r.try_get("kind")?;
    let state: String = r.try_get("state")?;
    Ok(Feedback {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        kind: FeedbackKind::parse(&kind).ok_or_else(|| bad("feedback kind", &kind))?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        source: r.try_get("source")?,
        external_id: r.try_get("external_id")?,
        url: r.try_get("url")?,
        reporter_email: r.try_get("reporter_email")?,
        reporter_name: r.try_get("reporter_name")?,
        distinct_id: r.try_get("distinct_id")?,
        ticket_id: r.try_get("ticket_id")?,
        item_id: r.try_get("item_id")?,
        item_number: r.try_get("item_number")?,
        state: FeedbackState::parse(&state).ok_or_else(|| bad("feedback state", &state))?,
        spam_signal: r.try_get("spam_signal")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Feedback to record.
#[derive(Debug, Clone, Default)]
pub struct NewFeedback<'a> {
    pub kind: Option<FeedbackKind>,
    pub title: &'a str,
    pub body: &'a str,
    pub source: &'a str,
    pub external_id: Option<&'a str>,
    pub url: Option<&'a str>,
    pub reporter_email: Option<&'a str>,
    pub reporter_name: Option<&'a str>,
    pub distinct_id: Option<&'a str>,
    pub ticket_id: Option<&'a str>,
    pub spam_signal: Option<&'a str>,
    pub created_at: i64,
}

/// Numbers stay unique per project; concurrent writers retry on a clash.
pub(crate) const NUMBER_TRIES: usize = 5;

/// Adds a backlog item numbered after the project's last, on `conn` (so a
/// caller can add it inside its transaction); a conflict when another
/// writer took the number first.
pub(crate) async fn insert_item_in(
    conn: &mut sqlx::AnyConnection,
    project_id: &str,
    kind: ItemKind,
    title: &str,
    body: &str,
    created_by: &str,
    now: i64,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO backlog_items (id, project_id, number, kind, title, body, status, \
         created_by, created_at, updated_at) VALUES ($1, $2, \
         (SELECT COALESCE(MAX(number), 0) + 1 FROM backlog_items WHERE project_id = $2), \
         $3, $4, $5, 'triage', $6, $7, $7)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(kind.as_str())
    .bind(title)
    .bind(body)
    .bind(created_by)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a backlog item with this number"))?;
    Ok(id)
}

impl Db {
    pub async fn item_by_id(&self, id: &str) -> Result<Item> {
        let mut conn = self.pool().acquire().await?;
        item_by_id_in(&mut conn, id).await
    }

    pub async fn item(&self, project_id: &str, number: i64) -> Result<Item> {
        let r = sqlx::query(&format!(
            "SELECT {ITEM_COLS} FROM backlog_items i WHERE i.project_id = $1 AND i.number = $2"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        item_from(&r)
    }

    /// Items, highest score first, then most votes, then newest.
    pub async fn items(
        &self,
        project_id: &str,
        filter: &ItemFilter<'_>,
        limit: i64,
    ) -> Result<Vec<Item>> {
        let rows = sqlx::query(&format!(
            "SELECT {ITEM_COLS} FROM backlog_items i WHERE i.project_id = $1 \
             AND ($2 = '' OR i.status = $2) AND ($3 = '' OR i.kind = $3) \
             AND ($4 = '' OR i.release_id = $4) \
             AND ($5 = 0 OR i.status NOT IN ('merged', 'wont_do')) \
             ORDER BY CASE WHEN i.score IS NULL THEN 1 ELSE 0 END, i.score DESC, votes DESC, \
             i.number DESC LIMIT $6"
        ))
        .bind(project_id)
        .bind(filter.status.map_or("", ItemStatus::as_str))
        .bind(filter.kind.map_or("", ItemKind::as_str))
        .bind(filter.release_id.unwrap_or(""))
        .bind(i64::from(filter.open_only))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(item_from).collect()
    }

    pub async fn feedback_by_id(&self, id: &str) -> Result<Feedback> {
        let mut conn = self.pool().acquire().await?;
        feedback_by_id_in(&mut conn, id).await
    }

    pub async fn feedback(&self, project_id: &str, number: i64) -> Result<Feedback> {
        let r = sqlx::query(&format!(
            "SELECT {FEEDBACK_COLS} FROM feedback f WHERE f.project_id = $1 AND f.number = $2"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        feedback_from(&r)
    }

    /// Feedback newest first, optionally in one state or kind; spam only
    /// when asked for by state.
    pub async fn feedback_list(
        &self,
        project_id: &str,
        state: Option<FeedbackState>,
        kind: Option<FeedbackKind>,
        limit: i64,
    ) -> Result<Vec<Feedback>> {
        let rows = sqlx::query(&format!(
            "SELECT {FEEDBACK_COLS} FROM feedback f WHERE f.project_id = $1 \
             AND (($2 = '' AND f.state <> 'spam') OR f.state = $2) AND ($3 = '' OR f.kind = $3) \
             ORDER BY f.number DESC LIMIT $4"
        ))
        .bind(project_id)
        .bind(state.map_or("", FeedbackState::as_str))
        .bind(kind.map_or("", FeedbackKind::as_str))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(feedback_from).collect()
    }

    /// The feedback linked to an item: its votes.
    pub async fn feedback_for_item(&self, item_id: &str) -> Result<Vec<Feedback>> {
        let rows = sqlx::query(&format!(
            "SELECT {FEEDBACK_COLS} FROM feedback f WHERE f.item_id = $1 AND f.state <> 'spam' \
             ORDER BY f.number"
        ))
        .bind(item_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(feedback_from).collect()
    }
}

/// An item by id, on a connection (inside a change).
pub async fn item_by_id_in(conn: &mut AnyConnection, id: &str) -> Result<Item> {
    let r = sqlx::query(&format!(
        "SELECT {ITEM_COLS} FROM backlog_items i WHERE i.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    item_from(&r)
}

/// Adds a backlog item. Each try runs in a savepoint, so a number taken by
/// a concurrent change is tried again without spoiling the transaction.
pub async fn insert_item(
    conn: &mut AnyConnection,
    project_id: &str,
    kind: ItemKind,
    title: &str,
    body: &str,
    created_by: &str,
    now: i64,
) -> Result<Item> {
    let mut tries = 0;
    let id = loop {
        tries += 1;
        let mut sp = sqlx::Connection::begin(&mut *conn).await?;
        match insert_item_in(&mut sp, project_id, kind, title, body, created_by, now).await {
            Err(StoreError::Conflict(_)) if tries < NUMBER_TRIES => continue,
            Ok(id) => {
                sp.commit().await?;
                break id;
            }
            Err(e) => return Err(e),
        }
    };
    item_by_id_in(conn, &id).await
}

/// Writes an item's editable fields back.
pub async fn save_item(conn: &mut AnyConnection, item: &Item, now: i64) -> Result<()> {
    let (method, reach, impact, confidence, effort, ease) = match item.score {
        None => (None, None, None, None, None, None),
        Some(Score::Rice {
            reach,
            impact,
            confidence,
            effort,
        }) => (
            Some("rice"),
            Some(reach),
            Some(impact),
            Some(confidence),
            Some(effort),
            None,
        ),
        Some(Score::Ice {
            impact,
            confidence,
            ease,
        }) => (
            Some("ice"),
            None,
            Some(impact),
            Some(confidence),
            None,
            Some(ease),
        ),
    };
    // A NULL bound where PostgreSQL has prepared a float parameter is
    // refused on a reused statement, so floats always go in as numbers
    // with a flag saying whether they are set.
    let f = |v: Option<f64>| (v.unwrap_or(0.0), i64::from(v.is_some()));
    let (reach, has_reach) = f(reach);
    let (impact, has_impact) = f(impact);
    let (confidence, has_confidence) = f(confidence);
    let (effort, has_effort) = f(effort);
    let (ease, has_ease) = f(ease);
    let (score, has_score) = f(item.score.map(|s| s.value()));
    sqlx::query(
        "UPDATE backlog_items SET kind = $1, title = $2, body = $3, status = $4, \
         score_method = $5, reach = CASE WHEN $6 = 1 THEN $7 END, \
         impact = CASE WHEN $8 = 1 THEN $9 END, confidence = CASE WHEN $10 = 1 THEN $11 END, \
         effort = CASE WHEN $12 = 1 THEN $13 END, ease = CASE WHEN $14 = 1 THEN $15 END, \
         score = CASE WHEN $16 = 1 THEN $17 END, release_id = $18, updated_at = $19, \
         public = $21 WHERE id = $20",
    )
    .bind(item.kind.as_str())
    .bind(&item.title)
    .bind(&item.body)
    .bind(item.status.as_str())
    .bind(method)
    .bind(has_reach)
    .bind(reach)
    .bind(has_impact)
    .bind(impact)
    .bind(has_confidence)
    .bind(confidence)
    .bind(has_effort)
    .bind(effort)
    .bind(has_ease)
    .bind(ease)
    .bind(has_score)
    .bind(score)
    .bind(&item.release_id)
    .bind(now)
    .bind(&item.id)
    .bind(i64::from(item.public))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Merges `from` into `into`: its feedback (and so its votes) moves
/// over, and it is marked merged.
pub async fn merge_items(
    conn: &mut AnyConnection,
    from: &Item,
    into: &Item,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE feedback SET item_id = $1 WHERE item_id = $2")
        .bind(&into.id)
        .bind(&from.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE backlog_items SET status = 'merged', merged_into = $1, release_id = NULL, \
         updated_at = $2 WHERE id = $3",
    )
    .bind(&into.id)
    .bind(now)
    .bind(&from.id)
    .execute(&mut *conn)
    .await?;
    // Items merged earlier into `from` now point at `into`.
    sqlx::query("UPDATE backlog_items SET merged_into = $1 WHERE merged_into = $2")
        .bind(&into.id)
        .bind(&from.id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records feedback. With an external id already imported for the
/// source, returns `Ok(None)` and changes nothing.
pub async fn insert_feedback(
    conn: &mut AnyConnection,
    project_id: &str,
    n: &NewFeedback<'_>,
) -> Result<Option<Feedback>> {
    let id = new_id();
    let state = if n.spam_signal.is_some() {
        FeedbackState::Spam
    } else {
        FeedbackState::New
    };
    let mut tries = 0;
    loop {
        tries += 1;
        let mut sp = sqlx::Connection::begin(&mut *conn).await?;
        let r = sqlx::query(
            "INSERT INTO feedback (id, project_id, number, kind, title, body, source, external_id, \
             url, reporter_email, reporter_name, distinct_id, ticket_id, state, spam_signal, \
             created_at) VALUES ($1, $2, \
             (SELECT COALESCE(MAX(number), 0) + 1 FROM feedback WHERE project_id = $2), \
             $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
             ON CONFLICT (project_id, source, external_id) DO NOTHING",
        )
        .bind(&id)
        .bind(project_id)
        .bind(n.kind.unwrap_or(FeedbackKind::Enhancement).as_str())
        .bind(n.title)
        .bind(n.body)
        .bind(n.source)
        .bind(n.external_id)
        .bind(n.url)
        .bind(n.reporter_email)
        .bind(n.reporter_name)
        .bind(n.distinct_id)
        .bind(n.ticket_id)
        .bind(state.as_str())
        .bind(n.spam_signal)
        .bind(n.created_at)
        .execute(&mut *sp)
        .await
        .map_err(StoreError::conflict_as("feedback with this number"));
        match r {
            Err(StoreError::Conflict(_)) if tries < NUMBER_TRIES => continue,
            Err(e) => return Err(e),
            Ok(done) => {
                sp.commit().await?;
                if done.rows_affected() == 0 {
                    return Ok(None);
                }
                break;
            }
        }
    }
    feedback_by_id_in(conn, &id).await.map(Some)
}

/// Links feedback to an item (a vote), or unlinks it with `None`.
pub async fn link_feedback(
    conn: &mut AnyConnection,
    feedback_id: &str,
    item_id: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE feedback SET item_id = $1, \
         state = CASE WHEN $1 IS NULL THEN 'new' ELSE 'linked' END WHERE id = $2",
    )
    .bind(item_id)
    .bind(feedback_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn set_feedback_state(
    conn: &mut AnyConnection,
    feedback_id: &str,
    state: FeedbackState,
) -> Result<()> {
    sqlx::query("UPDATE feedback SET state = $1 WHERE id = $2")
        .bind(state.as_str())
        .bind(feedback_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Feedback by id, on a connection.
pub async fn feedback_by_id_in(conn: &mut AnyConnection, id: &str) -> Result<Feedback> {
    let r = sqlx::query(&format!(
        "SELECT {FEEDBACK_COLS} FROM feedback f WHERE f.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    feedback_from(&r)
}
