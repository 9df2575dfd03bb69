//! Post-production reviews in the state store: postmortems with their
//! marks, sign-offs and action items (each a backlog item), and post-launch
//! reviews with the backlog items raised from their findings.

use liveops_core::feedback::backlog::ItemKind;
use liveops_core::reviews::postmortem::{ActionKind, Mark, PostmortemState};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::feedback::{NUMBER_TRIES, insert_item_in};
use crate::{Db, Result, StoreError, new_id};

fn bad(what: &str, v: &str) -> StoreError {
    StoreError::Other(format!("stored {what} `{v}` is not valid"))
}

/// The sections people write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sections {
    pub summary: String,
    pub impact: String,
    pub root_causes: String,
    pub trigger: String,
    pub detection: String,
    pub resolution: String,
    pub went_well: String,
    pub went_wrong: String,
    pub got_lucky: String,
}

/// A postmortem, with its incident's number and title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postmortem {
    pub id: String,
    pub project_id: String,
    pub incident_id: String,
    pub incident_number: i64,
    pub incident_title: String,
    pub state: PostmortemState,
    pub sections: Sections,
    /// The figures drafted from data, as the server wrote them.
    pub facts: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
}

const PM_COLS: &str = "p.id, p.project_id, p.incident_id, i.number AS incident_number, \
     i.title AS incident_title, p.state, p.summary, p.facts, p.impact, p.root_causes, p.trigger_text, \
     p.detection, p.resolution, p.went_well, p.went_wrong, p.got_lucky, p.created_at, p.updated_at, \
     p.published_at FROM postmortems p JOIN support_incidents i ON i.id = p.incident_id";

fn postmortem_from(r: &AnyRow) -> Result<Postmortem> {
    let state: String = r.try_get("state")?;
    Ok(Postmortem {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        incident_id: r.try_get("incident_id")?,
        incident_number: r.try_get("incident_number")?,
        incident_title: r.try_get("incident_title")?,
        state: state.parse().map_err(|_| bad("postmortem state", &state))?,
        sections: Sections {
            summary: r.try_get("summary")?,
            impact: r.try_get("impact")?,
            root_causes: r.try_get("root_causes")?,
            trigger: r.try_get("trigger_text")?,
            detection: r.try_get("detection")?,
            resolution: r.try_get("resolution")?,
            went_well: r.try_get("went_well")?,
            went_wrong: r.try_get("went_wrong")?,
            got_lucky: r.try_get("got_lucky")?,
        },
        facts: r.try_get("facts")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        published_at: r.try_get("published_at")?,
    })
}

/// An action item with its backlog item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub id: String,
    pub postmortem_id: String,
    pub kind: ActionKind,
    pub item_id: String,
    pub item_number: i64,
    pub title: String,
    /// The backlog item's status.
    pub status: String,
    pub owner_id: Option<String>,
    pub owner_email: Option<String>,
    pub due_at: Option<i64>,
    pub reminded_at: Option<i64>,
    pub created_at: i64,
}

const ACTION_COLS: &str = "a.id, a.postmortem_id, a.kind, a.item_id, b.number AS item_number, \
     b.title, b.status, a.owner_id, u.email AS owner_email, a.due_at, a.reminded_at, a.created_at";

const ACTION_FROM: &str = "FROM postmortem_actions a JOIN backlog_items b ON b.id = a.item_id \
     LEFT JOIN users u ON u.id = a.owner_id";

fn action_from(r: &AnyRow) -> Result<Action> {
    let kind: String = r.try_get("kind")?;
    Ok(Action {
        id: r.try_get("id")?,
        postmortem_id: r.try_get("postmortem_id")?,
        kind: kind.parse().map_err(|_| bad("action kind", &kind))?,
        item_id: r.try_get("item_id")?,
        item_number: r.try_get("item_number")?,
        title: r.try_get("title")?,
        status: r.try_get("status")?,
        owner_id: r.try_get("owner_id")?,
        owner_email: r.try_get("owner_email")?,
        due_at: r.try_get("due_at")?,
        reminded_at: r.try_get("reminded_at")?,
        created_at: r.try_get("created_at")?,
    })
}

/// An overdue action item, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueAction {
    pub action: Action,
    pub project_id: String,
    pub incident_number: i64,
}

/// A new action item.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub kind: ActionKind,
    pub title: &'a str,
    pub body: &'a str,
    pub owner_id: Option<&'a str>,
    pub due_at: Option<i64>,
    pub created_by: &'a str,
}

/// A post-launch review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchReview {
    pub id: String,
    pub project_id: String,
    pub number: i64,
    pub title: String,
    pub release_id: Option<String>,
    pub release_version: Option<String>,
    pub from_at: i64,
    pub to_at: i64,
    pub facts: String,
    pub went_well: String,
    pub failed: String,
    pub improve: String,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
}

const REVIEW_COLS: &str = "r.id, r.project_id, r.number, r.title, r.release_id, \
     (SELECT v.version FROM releases v WHERE v.id = r.release_id) AS release_version, r.from_at, \
     r.to_at, r.facts, r.went_well, r.failed, r.improve, r.created_by, r.created_at, r.updated_at \
     FROM launch_reviews r";

fn review_from(r: &AnyRow) -> Result<LaunchReview> {
    Ok(LaunchReview {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        number: r.try_get("number")?,
        title: r.try_get("title")?,
        release_id: r.try_get("release_id")?,
        release_version: r.try_get("release_version")?,
        from_at: r.try_get("from_at")?,
        to_at: r.try_get("to_at")?,
        facts: r.try_get("facts")?,
        went_well: r.try_get("went_well")?,
        failed: r.try_get("failed")?,
        improve: r.try_get("improve")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A new post-launch review.
#[derive(Debug, Clone)]
pub struct NewLaunchReview<'a> {
    pub title: &'a str,
    pub release_id: Option<&'a str>,
    pub from_at: i64,
    pub to_at: i64,
    pub facts: &'a str,
    pub went_well: &'a str,
    pub failed: &'a str,
    pub improve: &'a str,
    pub created_by: &'a str,
}

/// Notes that the action's reminder went out (with the outbox row the
/// caller queued in `conn`).
pub async fn mark_reminded(conn: &mut AnyConnection, action_id: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE postmortem_actions SET reminded_at = $1 WHERE id = $2")
        .bind(now)
        .bind(action_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What happened in a project over a period, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodCounts {
    pub incidents: i64,
    /// SEV1 and SEV2.
    pub major_incidents: i64,
    pub tickets: i64,
    /// Spam left out.
    pub feedback: i64,
    pub findings_opened: i64,
    pub findings_fixed: i64,
}

impl Db {
    /// Counts a project's incidents, tickets, feedback and security
    /// findings opened and fixed in `[from, to)`.
    pub async fn period_counts(
        &self,
        project_id: &str,
        from: i64,
        to: i64,
    ) -> Result<PeriodCounts> {
        let r = sqlx::query(
            "SELECT \
             (SELECT count(*) FROM support_incidents WHERE project_id = $1 AND created_at >= $2 \
              AND created_at < $3) AS incidents, \
             (SELECT count(*) FROM support_incidents WHERE project_id = $1 AND created_at >= $2 \
              AND created_at < $3 AND severity IN ('sev1', 'sev2')) AS major, \
             (SELECT count(*) FROM support_tickets WHERE project_id = $1 AND created_at >= $2 \
              AND created_at < $3) AS tickets, \
             (SELECT count(*) FROM feedback WHERE project_id = $1 AND created_at >= $2 \
              AND created_at < $3 AND state <> 'spam') AS feedback, \
             (SELECT count(*) FROM security_findings WHERE project_id = $1 AND opened_at >= $2 \
              AND opened_at < $3) AS opened, \
             (SELECT count(*) FROM security_findings WHERE project_id = $1 AND fixed_at >= $2 \
              AND fixed_at < $3) AS fixed",
        )
        .bind(project_id)
        .bind(from)
        .bind(to)
        .fetch_one(self.pool())
        .await?;
        Ok(PeriodCounts {
            incidents: r.try_get("incidents")?,
            major_incidents: r.try_get("major")?,
            tickets: r.try_get("tickets")?,
            feedback: r.try_get("feedback")?,
            findings_opened: r.try_get("opened")?,
            findings_fixed: r.try_get("fixed")?,
        })
    }

    /// The backlog items most feedback in `[from, to)` went to: (title,
    /// count), most first.
    pub async fn feedback_themes(
        &self,
        project_id: &str,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT b.title, count(*) AS n FROM feedback f JOIN backlog_items b ON b.id = f.item_id \
             WHERE f.project_id = $1 AND f.created_at >= $2 AND f.created_at < $3 \
             AND f.state <> 'spam' GROUP BY b.title ORDER BY n DESC, b.title LIMIT $4",
        )
        .bind(project_id)
        .bind(from)
        .bind(to)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("title")?, r.try_get("n")?)))
            .collect()
    }

    /// Release regressions first seen in `[from, to)`: "service route:
    /// detail" lines.
    pub async fn regressions_between(
        &self,
        project_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT service, route, detail FROM performance_findings WHERE project_id = $1 \
             AND kind = 'regression' AND first_seen >= $2 AND first_seen < $3 \
             ORDER BY first_seen LIMIT 50",
        )
        .bind(project_id)
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let service: String = r.try_get("service")?;
                let route: String = r.try_get("route")?;
                let detail: String = r.try_get("detail")?;
                Ok(format!("{service} {route}: {detail}"))
            })
            .collect()
    }

    /// Resolved incidents at `severities` since `since` that have no
    /// postmortem yet: (project id, incident number).
    pub async fn resolved_without_postmortem(
        &self,
        since: i64,
        severities: &[&str],
    ) -> Result<Vec<(String, i64)>> {
        if severities.is_empty() {
            return Ok(Vec::new());
        }
        // Severity in the query, so that a flood of lesser incidents cannot
        // fill the limit and keep the ones that need a postmortem out.
        let wanted: Vec<String> = (0..severities.len())
            .map(|k| format!("${}", k + 2))
            .collect();
        let sql = format!(
            "SELECT i.project_id, i.number FROM support_incidents i \
             WHERE i.state = 'resolved' AND i.resolved_at >= $1 AND i.severity IN ({}) \
             AND NOT EXISTS (SELECT 1 FROM postmortems p WHERE p.incident_id = i.id) \
             ORDER BY i.resolved_at LIMIT 100",
            wanted.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(since);
        for s in severities {
            q = q.bind(*s);
        }
        let rows = q.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("project_id")?, r.try_get("number")?)))
            .collect()
    }

    pub async fn postmortem_by_id(&self, id: &str) -> Result<Postmortem> {
        let mut conn = self.pool().acquire().await?;
        postmortem_by_id_in(&mut conn, id).await
    }

    /// The postmortem of the incident numbered `number`.
    pub async fn postmortem(&self, project_id: &str, number: i64) -> Result<Postmortem> {
        let r = sqlx::query(&format!(
            "SELECT {PM_COLS} WHERE p.project_id = $1 AND i.number = $2"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        postmortem_from(&r)
    }

    /// A project's postmortems, newest incident first.
    pub async fn postmortems(&self, project_id: &str) -> Result<Vec<Postmortem>> {
        sqlx::query(&format!(
            "SELECT {PM_COLS} WHERE p.project_id = $1 ORDER BY i.number DESC LIMIT 500"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(postmortem_from)
        .collect()
    }

    /// (reviewer e-mail, when), in order.
    pub async fn sign_offs(&self, id: &str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT u.email, s.signed_at FROM postmortem_sign_offs s JOIN users u ON u.id = s.user_id \
             WHERE s.postmortem_id = $1 ORDER BY s.signed_at, u.email",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("email")?, r.try_get("signed_at")?)))
            .collect()
    }

    pub async fn marks(&self, id: &str) -> Result<Vec<(String, Mark)>> {
        let rows =
            sqlx::query("SELECT entry_key, mark FROM postmortem_marks WHERE postmortem_id = $1")
                .bind(id)
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| {
                let m: String = r.try_get("mark")?;
                Ok((
                    r.try_get("entry_key")?,
                    m.parse().map_err(|_| bad("timeline mark", &m))?,
                ))
            })
            .collect()
    }

    /// A postmortem's action items, in the order they were added.
    pub async fn actions(&self, postmortem_id: &str) -> Result<Vec<Action>> {
        sqlx::query(&format!(
            "SELECT {ACTION_COLS} {ACTION_FROM} WHERE a.postmortem_id = $1 ORDER BY a.created_at, b.number"
        ))
        .bind(postmortem_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(action_from)
        .collect()
    }

    /// A project's open action items (backlog item not finished).
    pub async fn open_actions(&self, project_id: &str) -> Result<Vec<Action>> {
        sqlx::query(&format!(
            "SELECT {ACTION_COLS} {ACTION_FROM} WHERE b.project_id = $1 \
             AND b.status NOT IN ('done', 'released', 'wont_do', 'merged') \
             ORDER BY a.due_at IS NULL, a.due_at, b.number"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(action_from)
        .collect()
    }

    /// Unfinished action items past their due date with an owner, not
    /// reminded in the last `every` ms.
    pub async fn overdue_actions(&self, now: i64, every: i64) -> Result<Vec<OverdueAction>> {
        let rows = sqlx::query(&format!(
            "SELECT {ACTION_COLS}, p.project_id AS pm_project, i.number AS incident_number \
             {ACTION_FROM} JOIN postmortems p ON p.id = a.postmortem_id \
             JOIN support_incidents i ON i.id = p.incident_id \
             WHERE a.due_at < $1 AND a.owner_id IS NOT NULL \
             AND b.status NOT IN ('done', 'released', 'wont_do', 'merged') \
             AND (a.reminded_at IS NULL OR a.reminded_at <= $2) ORDER BY a.due_at LIMIT 200"
        ))
        .bind(now)
        .bind(now - every)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OverdueAction {
                    action: action_from(r)?,
                    project_id: r.try_get("pm_project")?,
                    incident_number: r.try_get("incident_number")?,
                })
            })
            .collect()
    }

    pub async fn launch_review(&self, project_id: &str, number: i64) -> Result<LaunchReview> {
        let r = sqlx::query(&format!(
            "SELECT {REVIEW_COLS} WHERE r.project_id = $1 AND r.number = $2"
        ))
        .bind(project_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        review_from(&r)
    }

    pub async fn launch_reviews(&self, project_id: &str) -> Result<Vec<LaunchReview>> {
        sqlx::query(&format!(
            "SELECT {REVIEW_COLS} WHERE r.project_id = $1 ORDER BY r.number DESC LIMIT 500"
        ))
        .bind(project_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(review_from)
        .collect()
    }

    /// The backlog items raised from a review: (number, title, status).
    pub async fn review_items(&self, review_id: &str) -> Result<Vec<(i64, String, String)>> {
        let rows = sqlx::query(
            "SELECT b.number, b.title, b.status FROM launch_review_items x \
             JOIN backlog_items b ON b.id = x.item_id WHERE x.review_id = $1 ORDER BY b.number",
        )
        .bind(review_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("number")?,
                    r.try_get("title")?,
                    r.try_get("status")?,
                ))
            })
            .collect()
    }
}

/// Drafts the incident's postmortem; a conflict if it has one.
pub async fn insert_postmortem(
    conn: &mut AnyConnection,
    project_id: &str,
    incident_id: &str,
    sections: &Sections,
    facts: &str,
    now: i64,
) -> Result<Postmortem> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO postmortems (id, project_id, incident_id, state, summary, facts, impact, \
         root_causes, trigger_text, detection, resolution, went_well, went_wrong, got_lucky, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
    )
    .bind(&id)
    .bind(project_id)
    .bind(incident_id)
    .bind(&sections.summary)
    .bind(facts)
    .bind(&sections.impact)
    .bind(&sections.root_causes)
    .bind(&sections.trigger)
    .bind(&sections.detection)
    .bind(&sections.resolution)
    .bind(&sections.went_well)
    .bind(&sections.went_wrong)
    .bind(&sections.got_lucky)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map_err(StoreError::conflict_as("a postmortem for this incident"))?;
    postmortem_by_id_in(conn, &id).await
}

/// Replaces the written sections.
pub async fn save_sections(
    conn: &mut AnyConnection,
    id: &str,
    s: &Sections,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE postmortems SET summary = $1, impact = $2, root_causes = $3, trigger_text = $4, \
         detection = $5, resolution = $6, went_well = $7, went_wrong = $8, got_lucky = $9, \
         updated_at = $10 WHERE id = $11",
    )
    .bind(&s.summary)
    .bind(&s.impact)
    .bind(&s.root_causes)
    .bind(&s.trigger)
    .bind(&s.detection)
    .bind(&s.resolution)
    .bind(&s.went_well)
    .bind(&s.went_wrong)
    .bind(&s.got_lucky)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Replaces the figures drafted from data.
pub async fn save_facts(conn: &mut AnyConnection, id: &str, facts: &str, now: i64) -> Result<()> {
    sqlx::query("UPDATE postmortems SET facts = $1, updated_at = $2 WHERE id = $3")
        .bind(facts)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Moves the postmortem from `from` to `to`, only if it is still in
/// `from` (false otherwise). Going back to draft clears the sign-offs.
pub async fn move_postmortem(
    conn: &mut AnyConnection,
    id: &str,
    from: PostmortemState,
    to: PostmortemState,
    now: i64,
) -> Result<bool> {
    let published = (to == PostmortemState::Published).then_some(now);
    let moved = sqlx::query(
        "UPDATE postmortems SET state = $1, updated_at = $2, published_at = $3 \
         WHERE id = $4 AND state = $5",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(published)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1;
    if moved && to == PostmortemState::Draft {
        sqlx::query("DELETE FROM postmortem_sign_offs WHERE postmortem_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(moved)
}

/// Records a reviewer's sign-off (again is a no-op).
pub async fn sign_off(conn: &mut AnyConnection, id: &str, user_id: &str, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO postmortem_sign_offs (postmortem_id, user_id, signed_at) VALUES ($1, $2, $3) \
         ON CONFLICT (postmortem_id, user_id) DO NOTHING",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stars or hides a timeline entry, or clears its mark.
pub async fn mark_entry(
    conn: &mut AnyConnection,
    id: &str,
    key: &str,
    mark: Option<Mark>,
) -> Result<()> {
    sqlx::query("DELETE FROM postmortem_marks WHERE postmortem_id = $1 AND entry_key = $2")
        .bind(id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    if let Some(m) = mark {
        sqlx::query(
            "INSERT INTO postmortem_marks (postmortem_id, entry_key, mark) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(key)
        .bind(m.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Adds an action item and the backlog item it becomes, together.
pub async fn add_action(
    conn: &mut AnyConnection,
    pm: &Postmortem,
    a: &NewAction<'_>,
    now: i64,
) -> Result<Action> {
    let id = new_id();
    let mut tries = 0;
    loop {
        tries += 1;
        // Each try in a savepoint: a number taken meanwhile is tried again
        // without spoiling the transaction.
        let mut sp = sqlx::Connection::begin(&mut *conn).await?;
        let item = match insert_item_in(
            &mut sp,
            &pm.project_id,
            a.kind.backlog_kind(),
            a.title,
            a.body,
            a.created_by,
            now,
        )
        .await
        {
            Err(StoreError::Conflict(_)) if tries < NUMBER_TRIES => continue,
            r => r?,
        };
        sqlx::query(
            "INSERT INTO postmortem_actions (id, postmortem_id, kind, item_id, owner_id, due_at, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&pm.id)
        .bind(a.kind.as_str())
        .bind(&item)
        .bind(a.owner_id)
        .bind(a.due_at)
        .bind(now)
        .execute(&mut *sp)
        .await?;
        sp.commit().await?;
        break;
    }
    let r = sqlx::query(&format!(
        "SELECT {ACTION_COLS} {ACTION_FROM} WHERE a.id = $1"
    ))
    .bind(&id)
    .fetch_one(&mut *conn)
    .await?;
    action_from(&r)
}

/// Adds a post-launch review.
pub async fn insert_launch_review(
    conn: &mut AnyConnection,
    project_id: &str,
    n: &NewLaunchReview<'_>,
    now: i64,
) -> Result<LaunchReview> {
    let id = new_id();
    let mut tries = 0;
    loop {
        tries += 1;
        let mut sp = sqlx::Connection::begin(&mut *conn).await?;
        let r = sqlx::query(
            "INSERT INTO launch_reviews (id, project_id, number, title, release_id, from_at, to_at, \
             facts, went_well, failed, improve, created_by, created_at, updated_at) VALUES ($1, $2, \
             (SELECT COALESCE(MAX(number), 0) + 1 FROM launch_reviews WHERE project_id = $2), \
             $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        )
        .bind(&id)
        .bind(project_id)
        .bind(n.title)
        .bind(n.release_id)
        .bind(n.from_at)
        .bind(n.to_at)
        .bind(n.facts)
        .bind(n.went_well)
        .bind(n.failed)
        .bind(n.improve)
        .bind(n.created_by)
        .bind(now)
        .execute(&mut *sp)
        .await
        .map_err(StoreError::conflict_as("a review with this number"));
        match r {
            Err(StoreError::Conflict(_)) if tries < NUMBER_TRIES => continue,
            Err(e) => return Err(e),
            Ok(_) => {
                sp.commit().await?;
                break;
            }
        }
    }
    let r = sqlx::query(&format!("SELECT {REVIEW_COLS} WHERE r.id = $1"))
        .bind(&id)
        .fetch_one(&mut *conn)
        .await?;
    review_from(&r)
}

/// Replaces a review's written sections.
pub async fn save_launch_review(
    conn: &mut AnyConnection,
    id: &str,
    went_well: &str,
    failed: &str,
    improve: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE launch_reviews SET went_well = $1, failed = $2, improve = $3, updated_at = $4 \
         WHERE id = $5",
    )
    .bind(went_well)
    .bind(failed)
    .bind(improve)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Raises a backlog item from a review's finding; returns its number.
pub async fn add_review_item(
    conn: &mut AnyConnection,
    review: &LaunchReview,
    kind: ItemKind,
    title: &str,
    body: &str,
    created_by: &str,
    now: i64,
) -> Result<i64> {
    let mut tries = 0;
    let item = loop {
        tries += 1;
        let mut sp = sqlx::Connection::begin(&mut *conn).await?;
        let item = match insert_item_in(
            &mut sp,
            &review.project_id,
            kind,
            title,
            body,
            created_by,
            now,
        )
        .await
        {
            Err(StoreError::Conflict(_)) if tries < NUMBER_TRIES => continue,
            r => r?,
        };
        sqlx::query("INSERT INTO launch_review_items (review_id, item_id) VALUES ($1, $2)")
            .bind(&review.id)
            .bind(&item)
            .execute(&mut *sp)
            .await?;
        sp.commit().await?;
        break item;
    };
    Ok(
        sqlx::query_scalar("SELECT number FROM backlog_items WHERE id = $1")
            .bind(item)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// A postmortem by id, on a connection.
pub async fn postmortem_by_id_in(conn: &mut AnyConnection, id: &str) -> Result<Postmortem> {
    let r = sqlx::query(&format!("SELECT {PM_COLS} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    postmortem_from(&r)
}
