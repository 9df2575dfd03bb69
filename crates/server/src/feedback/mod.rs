//! Customer feedback and the product backlog, shared by the API, the web UI
//! and the public form: intake with spam signals, duplicate suggestions,
//! links (votes), merges, imports and ticket conversion.

pub mod public;

use liveops_core::feedback::backlog::{ItemKind, ItemStatus, Score};
use liveops_core::feedback::similar::Corpus;
use liveops_core::feedback::{FeedbackKind, FeedbackState};
use liveops_store::StoreError;
use liveops_store::audit::Actor;
use liveops_store::feedback::{self as store, Feedback, Item, ItemFilter, NewFeedback};
use liveops_store::releases::ReleaseRow;

use crate::state::AppState;
use crate::support::tickets::clean_text;
use crate::work::{Audit, Work};

crate::area_error!(
    /// What went wrong in customer feedback.
    FeedbackError
);

pub type Result<T, E = FeedbackError> = std::result::Result<T, E>;

crate::area_error_from!(crate::analytics::AnalyticsError => FeedbackError);
crate::area_error_from!(crate::releases::ReleasesError => FeedbackError);

/// Feedback, newest first. With a cohort, only the feedback whose
/// distinct id belongs to one of its persons: every piece that passes the
/// other filters is matched (feedback is counted in thousands, not
/// millions), then the newest `limit` are kept.
pub async fn list(
    state: &AppState,
    project_id: &str,
    st: Option<FeedbackState>,
    kind: Option<FeedbackKind>,
    limit: i64,
    in_cohort: Option<&str>,
) -> Result<Vec<Feedback>> {
    let Some(which) = in_cohort.map(str::trim).filter(|c| !c.is_empty()) else {
        return Ok(state.db.feedback_list(project_id, st, kind, limit).await?);
    };
    let (_, members) = crate::analytics::cohorts::resolve(state, project_id, which).await?;
    let all = state
        .db
        .feedback_list(project_id, st, kind, i64::MAX)
        .await?;
    let ids: Vec<String> = all.iter().filter_map(|f| f.distinct_id.clone()).collect();
    let id = project_id.to_owned();
    let who = crate::analytics::telemetry(state, move |a| a.who(&id, &ids)).await?;
    let mut who = who.into_iter();
    let mut out = Vec::new();
    for f in all {
        if f.distinct_id.is_none() {
            continue;
        }
        if who.next().is_some_and(|w| members.contains(&w)) {
            out.push(f);
            if out.len() as i64 >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// A backlog item that new feedback may duplicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub number: i64,
    pub title: String,
    pub status: ItemStatus,
    pub votes: i64,
    pub similarity: f64,
}

/// Feedback someone sent, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    pub kind: Option<String>,
    pub title: Option<String>,
    pub body: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub distinct_id: Option<String>,
    pub url: Option<String>,
    pub external_id: Option<String>,
    pub created_at: Option<i64>,
}

fn optional(field: &str, v: Option<&str>, max: usize) -> Result<Option<String>> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => clean_text(field, s, max)
            .map(Some)
            .map_err(FeedbackError::invalid),
    }
}

fn email(v: Option<&str>) -> Result<Option<String>> {
    let e = optional("email", v, 254)?;
    if let Some(e) = &e
        && liveops_core::Email::parse(e).is_err()
    {
        return Err(FeedbackError::invalid(format!(
            "`{e}` is not an e-mail address"
        )));
    }
    Ok(e)
}

/// Feedback checked and ready to store.
struct Checked {
    kind: Option<FeedbackKind>,
    title: String,
    body: String,
    email: Option<String>,
    name: Option<String>,
    distinct_id: Option<String>,
    url: Option<String>,
    external_id: Option<String>,
    created_at: Option<i64>,
}

fn check(sub: &Submission) -> Result<Checked> {
    let kind = match sub.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(FeedbackKind::parse(k).ok_or_else(|| {
            FeedbackError::invalid(format!(
                "`{k}` is not a kind of feedback: bug, enhancement, question or praise"
            ))
        })?),
    };
    let body = clean_text("body", &sub.body, 10_000).map_err(FeedbackError::invalid)?;
    let title = match optional("title", sub.title.as_deref(), 200)? {
        Some(t) => t,
        None => {
            let first = body.lines().next().unwrap_or("").trim();
            let mut t: String = first.chars().take(80).collect();
            if first.chars().count() > 80 {
                t.push('…');
            }
            t
        }
    };
    Ok(Checked {
        kind,
        title,
        body,
        email: email(sub.email.as_deref())?,
        name: optional("name", sub.name.as_deref(), 200)?,
        distinct_id: optional("distinct_id", sub.distinct_id.as_deref(), 200)?,
        url: optional("url", sub.url.as_deref(), 2000)?,
        external_id: optional("external_id", sub.external_id.as_deref(), 200)?,
        created_at: sub.created_at,
    })
}

/// Where feedback came from, and so how it is recorded.
#[derive(Debug, Clone, Copy)]
pub enum Sender<'a> {
    /// A member (the API, the web UI, a ticket): audited as theirs.
    Member(&'a Actor),
    /// The public form or widget: intake, like telemetry, not audited.
    Public {
        /// The spam signal the form raised, if any.
        spam: Option<&'a str>,
    },
}

/// Stores checked feedback on the change's connection.
async fn insert(
    conn: &mut sqlx::AnyConnection,
    now: i64,
    project_id: &str,
    source: &str,
    c: &Checked,
    ticket_id: Option<&str>,
    spam: Option<&str>,
) -> Result<Option<Feedback>> {
    Ok(store::insert_feedback(
        conn,
        project_id,
        &NewFeedback {
            kind: c.kind,
            title: &c.title,
            body: &c.body,
            source,
            external_id: c.external_id.as_deref(),
            url: c.url.as_deref(),
            reporter_email: c.email.as_deref(),
            reporter_name: c.name.as_deref(),
            distinct_id: c.distinct_id.as_deref(),
            ticket_id,
            spam_signal: spam,
            created_at: c.created_at.unwrap_or(now),
        },
    )
    .await?)
}

/// Records feedback from any source and suggests the backlog items it may
/// duplicate. `None` when its id in the source was recorded before.
pub async fn submit(
    state: &AppState,
    from: Sender<'_>,
    project_id: &str,
    source: &str,
    sub: &Submission,
    ticket_id: Option<&str>,
) -> Result<Option<(Feedback, Vec<Suggestion>)>> {
    let c = check(sub)?;
    let stored = match from {
        Sender::Member(actor) => {
            let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
            let now = w.now();
            let f = insert(w.conn(), now, project_id, source, &c, ticket_id, None).await?;
            if let Some(f) = &f {
                w.commit(
                    Audit::new("feedback.create", f.number.to_string())
                        .detail(serde_json::json!({ "source": source })),
                )
                .await?;
            }
            f
        }
        Sender::Public { spam } => {
            let mut tx = state.db.begin().await?;
            let f = insert(&mut tx, state.now_ms(), project_id, source, &c, None, spam).await?;
            tx.commit().await?;
            f
        }
    };
    let Some(f) = stored else { return Ok(None) };
    let suggestions = if f.state == FeedbackState::Spam {
        Vec::new()
    } else {
        suggestions(state, project_id, &format!("{}\n{}", f.title, f.body), None).await?
    };
    Ok(Some((f, suggestions)))
}

/// The open backlog items most like `text`, best first.
pub async fn suggestions(
    state: &AppState,
    project_id: &str,
    text: &str,
    except: Option<&str>,
) -> Result<Vec<Suggestion>> {
    let items = state
        .db
        .items(
            project_id,
            &ItemFilter {
                open_only: true,
                ..ItemFilter::default()
            },
            10_000,
        )
        .await?;
    let items: Vec<Item> = items
        .into_iter()
        .filter(|i| Some(i.id.as_str()) != except)
        .collect();
    let corpus = Corpus::new(
        items
            .iter()
            .enumerate()
            .map(|(n, i)| (n, format!("{}\n{}", i.title, i.body))),
    );
    Ok(corpus
        .duplicates(text, 5)
        .into_iter()
        .filter_map(|m| {
            let i = items.get(m.key)?;
            Some(Suggestion {
                number: i.number,
                title: i.title.clone(),
                status: i.status,
                votes: i.votes,
                similarity: m.similarity,
            })
        })
        .collect())
}

pub async fn find_item(state: &AppState, project_id: &str, number: &str) -> Result<Item> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| FeedbackError::not_found(format!("no backlog item `{number}`")))?;
    match state.db.item(project_id, n).await {
        Ok(i) => Ok(i),
        Err(StoreError::NotFound) => Err(FeedbackError::not_found(format!("no backlog item #{n}"))),
        Err(e) => Err(e.into()),
    }
}

pub async fn find_feedback(state: &AppState, project_id: &str, number: &str) -> Result<Feedback> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| FeedbackError::not_found(format!("no feedback `{number}`")))?;
    match state.db.feedback(project_id, n).await {
        Ok(f) => Ok(f),
        Err(StoreError::NotFound) => Err(FeedbackError::not_found(format!("no feedback #{n}"))),
        Err(e) => Err(e.into()),
    }
}

/// Adds a backlog item as part of a change.
pub async fn create_item_in(
    w: &mut Work,
    project_id: &str,
    kind: &str,
    title: &str,
    body: Option<&str>,
) -> Result<Item> {
    let kind = ItemKind::parse(kind).ok_or_else(|| {
        FeedbackError::invalid(format!(
            "`{kind}` is not an item kind: enhancement, bug, tech_debt or security"
        ))
    })?;
    let title = clean_text("title", title, 200).map_err(FeedbackError::invalid)?;
    let body = optional("body", body, 20_000)?.unwrap_or_default();
    let now = w.now();
    let by = w.actor().name.clone();
    Ok(store::insert_item(w.conn(), project_id, kind, &title, &body, &by, now).await?)
}

/// Adds a backlog item.
pub async fn create_item(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    kind: &str,
    title: &str,
    body: Option<&str>,
) -> Result<Item> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let item = create_item_in(&mut w, project_id, kind, title, body).await?;
    w.commit(Audit::new("backlog.create", item.number.to_string()))
        .await?;
    Ok(item)
}

fn linkable(feedback: &Feedback, item: &Item) -> Result<()> {
    if item.status == ItemStatus::Merged {
        return Err(FeedbackError::conflict(format!(
            "item #{} was merged into another; link the feedback there",
            item.number
        )));
    }
    if feedback.state == FeedbackState::Spam {
        return Err(FeedbackError::conflict(
            "this feedback is marked as spam; mark it as not spam first",
        ));
    }
    Ok(())
}

/// What can be done with a piece of feedback.
#[derive(Debug, Clone)]
pub enum FeedbackAction {
    /// A vote for an existing item.
    Link(Box<Item>),
    /// A new item of the kind given (the feedback's own by default), linked.
    Promote(Option<String>),
    Unlink,
    Close,
    Spam,
    /// Back to new (or linked), from closed or spam.
    Reopen,
}

impl FeedbackAction {
    fn name(&self) -> &'static str {
        match self {
            FeedbackAction::Link(_) => "feedback.link",
            FeedbackAction::Promote(_) => "feedback.promote",
            FeedbackAction::Unlink => "feedback.unlink",
            FeedbackAction::Close => "feedback.close",
            FeedbackAction::Spam => "feedback.spam",
            FeedbackAction::Reopen => "feedback.reopen",
        }
    }
}

/// Reads an action as the API and the pages name it.
pub async fn action_named(
    state: &AppState,
    project_id: &str,
    action: &str,
    item: Option<i64>,
    kind: Option<&str>,
) -> Result<FeedbackAction> {
    Ok(match action {
        "link" => {
            let n = item.ok_or_else(|| FeedbackError::invalid("link needs `item`"))?;
            FeedbackAction::Link(Box::new(
                find_item(state, project_id, &n.to_string()).await?,
            ))
        }
        "promote" => FeedbackAction::Promote(kind.map(str::to_owned)),
        "unlink" => FeedbackAction::Unlink,
        "close" => FeedbackAction::Close,
        "spam" => FeedbackAction::Spam,
        "reopen" | "not_spam" => FeedbackAction::Reopen,
        other => {
            return Err(FeedbackError::invalid(format!(
                "`{other}` is not an action: link, promote, unlink, close, reopen, spam or not_spam"
            )));
        }
    })
}

/// Acts on a piece of feedback: one change, one audit entry. Returns the
/// item it went to, if any.
pub async fn act(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    f: &Feedback,
    action: FeedbackAction,
) -> Result<Option<Item>> {
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let name = action.name();
    let item = match action {
        FeedbackAction::Link(item) => {
            linkable(f, &item)?;
            store::link_feedback(w.conn(), &f.id, Some(&item.id)).await?;
            Some(*item)
        }
        FeedbackAction::Promote(kind) => {
            let kind = kind.unwrap_or_else(|| f.kind.item_kind().as_str().to_owned());
            let item = create_item_in(&mut w, project_id, &kind, &f.title, Some(&f.body)).await?;
            linkable(f, &item)?;
            store::link_feedback(w.conn(), &f.id, Some(&item.id)).await?;
            Some(store::item_by_id_in(w.conn(), &item.id).await?)
        }
        FeedbackAction::Unlink => {
            store::link_feedback(w.conn(), &f.id, None).await?;
            None
        }
        FeedbackAction::Close => {
            store::set_feedback_state(w.conn(), &f.id, FeedbackState::Closed).await?;
            None
        }
        FeedbackAction::Spam => {
            store::link_feedback(w.conn(), &f.id, None).await?;
            store::set_feedback_state(w.conn(), &f.id, FeedbackState::Spam).await?;
            None
        }
        FeedbackAction::Reopen => {
            let to = if f.item_id.is_some() {
                FeedbackState::Linked
            } else {
                FeedbackState::New
            };
            store::set_feedback_state(w.conn(), &f.id, to).await?;
            None
        }
    };
    let mut entry = Audit::new(name, f.number.to_string());
    if let Some(i) = &item {
        entry = entry.detail(serde_json::json!({ "item": i.number }));
    }
    w.commit(entry).await?;
    Ok(item)
}

/// Merges `from` into `into`, moving its votes over.
pub async fn merge(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    from: &Item,
    into: &Item,
) -> Result<Item> {
    if from.id == into.id {
        return Err(FeedbackError::invalid(
            "an item cannot be merged into itself",
        ));
    }
    for i in [from, into] {
        if matches!(i.status, ItemStatus::Merged | ItemStatus::Released) {
            return Err(FeedbackError::conflict(format!(
                "item #{} is {}; only open items merge",
                i.number,
                i.status.as_str()
            )));
        }
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    store::merge_items(w.conn(), from, into, now).await?;
    let merged = store::item_by_id_in(w.conn(), &into.id).await?;
    w.commit(Audit::new(
        "backlog.merge",
        format!("#{} → #{}", from.number, into.number),
    ))
    .await?;
    Ok(merged)
}

/// Changes to an item, each optional.
#[derive(Debug, Clone, Default)]
pub struct ItemChange {
    pub title: Option<String>,
    pub body: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    /// `Some(None)` clears the score.
    pub score: Option<Option<Score>>,
    /// Whether the item shows in the public changelog once released.
    pub public: Option<bool>,
    /// `Some(None)` takes it out of its release.
    pub release: Option<Option<ReleaseRow>>,
}

/// Applies edits through the workflow's rules.
pub async fn update_item(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    mut item: Item,
    change: ItemChange,
) -> Result<Item> {
    if item.status == ItemStatus::Merged {
        return Err(FeedbackError::conflict(format!(
            "item #{} was merged; edit the item it was merged into",
            item.number
        )));
    }
    if let Some(t) = &change.title {
        item.title = clean_text("title", t, 200).map_err(FeedbackError::invalid)?;
    }
    if let Some(b) = &change.body {
        item.body = b.trim().chars().take(20_000).collect();
    }
    if let Some(k) = &change.kind {
        item.kind = ItemKind::parse(k).ok_or_else(|| {
            FeedbackError::invalid(format!(
                "`{k}` is not an item kind: enhancement, bug, tech_debt or security"
            ))
        })?;
    }
    if let Some(s) = &change.status {
        let to = ItemStatus::parse(s).ok_or_else(|| {
            FeedbackError::invalid(format!(
                "`{s}` is not a status: triage, planned, in_progress, done or wont_do"
            ))
        })?;
        if !item.status.can_move_to(to) {
            return Err(FeedbackError::conflict(format!(
                "an item cannot move from {} to {}{}",
                item.status.as_str(),
                to.as_str(),
                match to {
                    ItemStatus::Released => " by hand: shipping its release does that",
                    ItemStatus::Merged => ": use merge",
                    _ => "",
                }
            )));
        }
        if to == ItemStatus::WontDo {
            item.release_id = None;
        }
        item.status = to;
    }
    if let Some(score) = change.score {
        item.score = score;
    }
    if let Some(public) = change.public {
        item.public = public;
    }
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    store::save_item(w.conn(), &item, now).await?;
    let mut item = store::item_by_id_in(w.conn(), &item.id).await?;
    if let Some(release) = change.release
        && release.as_ref().map(|r| &r.id) != item.release_id.as_ref()
    {
        item = crate::releases::schedule_in(&mut w, item, release.as_ref()).await?;
    }
    w.commit(Audit::new("backlog.update", item.number.to_string()))
        .await?;
    Ok(item)
}

/// Reads score inputs: `rice` takes reach, impact, confidence and effort;
/// `ice` takes impact, confidence and ease.
pub fn score_from(
    method: &str,
    reach: Option<f64>,
    impact: Option<f64>,
    confidence: Option<f64>,
    effort: Option<f64>,
    ease: Option<f64>,
) -> Result<Option<Score>> {
    let need = |name: &str, v: Option<f64>| {
        v.ok_or_else(|| FeedbackError::invalid(format!("{method} scoring needs `{name}`")))
    };
    let s = match method {
        "" | "none" => return Ok(None),
        "rice" => Score::rice(
            need("reach", reach)?,
            need("impact", impact)?,
            need("confidence", confidence)?,
            need("effort", effort)?,
        ),
        "ice" => Score::ice(
            need("impact", impact)?,
            need("confidence", confidence)?,
            need("ease", ease)?,
        ),
        other => {
            return Err(FeedbackError::invalid(format!(
                "`{other}` is not a scoring method: rice or ice"
            )));
        }
    };
    s.map(Some)
        .map_err(|e| FeedbackError::invalid(e.to_string()))
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub imported: usize,
    /// Records imported before, by their id in the source.
    pub already: usize,
    /// (record number, reason).
    pub rejected: Vec<(usize, String)>,
}

/// Imports a CSV or JSON export under `source` (`import:<name>`).
pub async fn import(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    name: &str,
    json: bool,
    bytes: &[u8],
) -> Result<ImportOutcome> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 50
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(FeedbackError::invalid(
            "`source` names the export in 1 to 50 letters, digits, - or _ (for example `discourse`)",
        ));
    }
    let parsed = if json {
        liveops_wire::feedback::parse_json(bytes)
    } else {
        liveops_wire::feedback::parse_csv(bytes)
    }
    .map_err(|e| FeedbackError::invalid(e.to_string()))?;
    let source = format!("import:{name}");
    let mut w = Work::begin(&state.db, &*state.clock, actor, Some(project_id)).await?;
    let now = w.now();
    let mut out = ImportOutcome {
        rejected: parsed.rejected,
        ..ImportOutcome::default()
    };
    for (n, r) in parsed.rows {
        let sub = Submission {
            kind: r.kind.map(|k| k.as_str().to_owned()),
            title: Some(r.title),
            body: r.body.clone(),
            email: r.author_email,
            name: r.author_name,
            distinct_id: r.distinct_id,
            url: r.url,
            external_id: r.external_id,
            created_at: r.created_at,
        };
        let sub = if sub.body.is_empty() {
            Submission {
                body: sub.title.clone().unwrap_or_default(),
                ..sub
            }
        } else {
            sub
        };
        let stored = match check(&sub) {
            Ok(c) => insert(w.conn(), now, project_id, &source, &c, None, None).await,
            Err(e) => Err(e),
        };
        match stored {
            Ok(Some(_)) => out.imported += 1,
            Ok(None) => out.already += 1,
            Err(e) if e.is_client_error() => out.rejected.push((n, e.to_string())),
            Err(e) => return Err(e),
        }
    }
    out.rejected.sort();
    w.commit(
        Audit::new("feedback.import", source)
            .detail(serde_json::json!({ "imported": out.imported, "already": out.already })),
    )
    .await?;
    Ok(out)
}

/// Turns a support ticket into feedback (once per ticket).
pub async fn from_ticket(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    number: &str,
    kind: Option<String>,
) -> Result<(Feedback, Vec<Suggestion>)> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| FeedbackError::not_found(format!("no ticket `{number}`")))?;
    let t = match state.db.ticket_by_number(project_id, n).await {
        Ok(t) => t,
        Err(liveops_store::StoreError::NotFound) => {
            return Err(FeedbackError::not_found(format!("no ticket #{n}")));
        }
        Err(e) => return Err(e.into()),
    };
    let first = state
        .db
        .ticket_comments(&t.id)
        .await?
        .into_iter()
        .find(|c| c.public);
    let sub = Submission {
        kind,
        title: Some(t.subject.clone()),
        body: first.map_or_else(|| t.subject.clone(), |c| c.body),
        email: t.requester.contains('@').then(|| t.requester.clone()),
        name: None,
        distinct_id: None,
        url: None,
        external_id: Some(format!("ticket-{}", t.number)),
        created_at: None,
    };
    match submit(
        state,
        Sender::Member(actor),
        project_id,
        "ticket",
        &sub,
        Some(&t.id),
    )
    .await?
    {
        Some(done) => Ok(done),
        None => Err(FeedbackError::conflict(format!(
            "ticket #{n} was already turned into feedback"
        ))),
    }
}

/// The reporter's latest analytics events.
pub async fn activity(
    state: &AppState,
    project_id: &str,
    distinct_id: Option<&str>,
    limit: usize,
) -> Result<Vec<liveops_telemetry::analytics::StoredEvent>> {
    let Some(d) = distinct_id else {
        return Ok(Vec::new());
    };
    let (id, d) = (project_id.to_owned(), d.to_owned());
    Ok(crate::analytics::telemetry(state, move |a| {
        let Some(p) = a.person(&id, &d)? else {
            return Ok(Vec::new());
        };
        a.person_events(&id, &p.distinct_ids, limit)
    })
    .await?)
}
