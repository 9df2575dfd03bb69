//! Customer feedback and the product backlog, shared by the API, the web UI
//! and the public form: intake with spam signals, duplicate suggestions,
//! links (votes), merges, imports and ticket conversion.

pub mod public;

use liveops_core::feedback::backlog::{ItemKind, ItemStatus, Score};
use liveops_core::feedback::similar::Corpus;
use liveops_core::feedback::{FeedbackKind, FeedbackState};
use liveops_store::StoreError;
use liveops_store::audit::{self, Actor};
use liveops_store::feedback::{Feedback, Item, ItemFilter, NewFeedback};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::support::tickets::clean_text;

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

fn optional(field: &str, v: Option<&str>, max: usize) -> ApiResult<Option<String>> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => clean_text(field, s, max)
            .map(Some)
            .map_err(ApiError::unprocessable),
    }
}

fn email(v: Option<&str>) -> ApiResult<Option<String>> {
    let e = optional("email", v, 254)?;
    if let Some(e) = &e
        && liveops_core::Email::parse(e).is_err()
    {
        return Err(ApiError::unprocessable(format!(
            "`{e}` is not an e-mail address"
        )));
    }
    Ok(e)
}

/// Records feedback from any source and suggests the backlog items it may
/// duplicate. `spam` is the signal a public form raised, if any.
pub async fn submit(
    state: &AppState,
    project_id: &str,
    source: &str,
    sub: &Submission,
    ticket_id: Option<&str>,
    spam: Option<&str>,
) -> ApiResult<Option<(Feedback, Vec<Suggestion>)>> {
    let kind = match sub.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(FeedbackKind::parse(k).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "`{k}` is not a kind of feedback: bug, enhancement, question or praise"
            ))
        })?),
    };
    let body = clean_text("body", &sub.body, 10_000).map_err(ApiError::unprocessable)?;
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
    let email = email(sub.email.as_deref())?;
    let name = optional("name", sub.name.as_deref(), 200)?;
    let distinct_id = optional("distinct_id", sub.distinct_id.as_deref(), 200)?;
    let url = optional("url", sub.url.as_deref(), 2000)?;
    let external_id = optional("external_id", sub.external_id.as_deref(), 200)?;
    let stored = state
        .db
        .insert_feedback(
            project_id,
            &NewFeedback {
                kind,
                title: &title,
                body: &body,
                source,
                external_id: external_id.as_deref(),
                url: url.as_deref(),
                reporter_email: email.as_deref(),
                reporter_name: name.as_deref(),
                distinct_id: distinct_id.as_deref(),
                ticket_id,
                spam_signal: spam,
                created_at: sub.created_at.unwrap_or_else(|| state.now_ms()),
            },
        )
        .await?;
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
) -> ApiResult<Vec<Suggestion>> {
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

pub async fn find_item(state: &AppState, project_id: &str, number: &str) -> ApiResult<Item> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::not_found(format!("no backlog item `{number}`")))?;
    match state.db.item(project_id, n).await {
        Ok(i) => Ok(i),
        Err(StoreError::NotFound) => Err(ApiError::not_found(format!("no backlog item #{n}"))),
        Err(e) => Err(e.into()),
    }
}

pub async fn find_feedback(
    state: &AppState,
    project_id: &str,
    number: &str,
) -> ApiResult<Feedback> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ApiError::not_found(format!("no feedback `{number}`")))?;
    match state.db.feedback(project_id, n).await {
        Ok(f) => Ok(f),
        Err(StoreError::NotFound) => Err(ApiError::not_found(format!("no feedback #{n}"))),
        Err(e) => Err(e.into()),
    }
}

async fn audit_log(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    action: &str,
    target: &str,
) -> ApiResult<()> {
    let mut conn = state.db.pool().acquire().await?;
    audit::record(
        &mut conn,
        actor,
        Some(project_id),
        action,
        Some(target),
        None,
        state.now_ms(),
    )
    .await?;
    Ok(())
}

/// Adds a backlog item.
pub async fn create_item(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    kind: &str,
    title: &str,
    body: Option<&str>,
) -> ApiResult<Item> {
    let kind = ItemKind::parse(kind).ok_or_else(|| {
        ApiError::unprocessable(format!(
            "`{kind}` is not an item kind: enhancement, bug, tech_debt or security"
        ))
    })?;
    let title = clean_text("title", title, 200).map_err(ApiError::unprocessable)?;
    let body = optional("body", body, 20_000)?.unwrap_or_default();
    let item = state
        .db
        .insert_item(project_id, kind, &title, &body, &actor.name, state.now_ms())
        .await?;
    audit_log(
        state,
        actor,
        project_id,
        "backlog.create",
        &item.number.to_string(),
    )
    .await?;
    Ok(item)
}

/// Links feedback to an item: one more vote for it.
pub async fn link(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    feedback: &Feedback,
    item: &Item,
) -> ApiResult<()> {
    if item.status == ItemStatus::Merged {
        return Err(ApiError::conflict(format!(
            "item #{} was merged into another; link the feedback there",
            item.number
        )));
    }
    if feedback.state == FeedbackState::Spam {
        return Err(ApiError::conflict(
            "this feedback is marked as spam; mark it as not spam first",
        ));
    }
    state.db.link_feedback(&feedback.id, Some(&item.id)).await?;
    audit_log(
        state,
        actor,
        project_id,
        "feedback.link",
        &format!("{} → #{}", feedback.number, item.number),
    )
    .await
}

/// Turns feedback into a new backlog item, linked to it.
pub async fn promote(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    feedback: &Feedback,
    kind: Option<&str>,
) -> ApiResult<Item> {
    let kind = kind.unwrap_or(feedback.kind.item_kind().as_str());
    let item = create_item(
        state,
        actor,
        project_id,
        kind,
        &feedback.title,
        Some(&feedback.body),
    )
    .await?;
    link(state, actor, project_id, feedback, &item).await?;
    Ok(state.db.item_by_id(&item.id).await?)
}

/// Merges `from` into `into`, moving its votes over.
pub async fn merge(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    from: &Item,
    into: &Item,
) -> ApiResult<Item> {
    if from.id == into.id {
        return Err(ApiError::unprocessable(
            "an item cannot be merged into itself",
        ));
    }
    for i in [from, into] {
        if matches!(i.status, ItemStatus::Merged | ItemStatus::Released) {
            return Err(ApiError::conflict(format!(
                "item #{} is {}; only open items merge",
                i.number,
                i.status.as_str()
            )));
        }
    }
    state.db.merge_items(from, into, state.now_ms()).await?;
    audit_log(
        state,
        actor,
        project_id,
        "backlog.merge",
        &format!("#{} → #{}", from.number, into.number),
    )
    .await?;
    Ok(state.db.item_by_id(&into.id).await?)
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
}

/// Applies edits through the workflow's rules.
pub async fn update_item(
    state: &AppState,
    actor: &Actor,
    project_id: &str,
    mut item: Item,
    change: ItemChange,
) -> ApiResult<Item> {
    if item.status == ItemStatus::Merged {
        return Err(ApiError::conflict(format!(
            "item #{} was merged; edit the item it was merged into",
            item.number
        )));
    }
    if let Some(t) = &change.title {
        item.title = clean_text("title", t, 200).map_err(ApiError::unprocessable)?;
    }
    if let Some(b) = &change.body {
        item.body = b.trim().chars().take(20_000).collect();
    }
    if let Some(k) = &change.kind {
        item.kind = ItemKind::parse(k).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "`{k}` is not an item kind: enhancement, bug, tech_debt or security"
            ))
        })?;
    }
    if let Some(s) = &change.status {
        let to = ItemStatus::parse(s).ok_or_else(|| {
            ApiError::unprocessable(format!(
                "`{s}` is not a status: triage, planned, in_progress, done or wont_do"
            ))
        })?;
        if !item.status.can_move_to(to) {
            return Err(ApiError::conflict(format!(
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
    state.db.save_item(&item, state.now_ms()).await?;
    audit_log(
        state,
        actor,
        project_id,
        "backlog.update",
        &item.number.to_string(),
    )
    .await?;
    Ok(state.db.item_by_id(&item.id).await?)
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
) -> ApiResult<Option<Score>> {
    let need = |name: &str, v: Option<f64>| {
        v.ok_or_else(|| ApiError::unprocessable(format!("{method} scoring needs `{name}`")))
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
            return Err(ApiError::unprocessable(format!(
                "`{other}` is not a scoring method: rice or ice"
            )));
        }
    };
    s.map(Some)
        .map_err(|e| ApiError::unprocessable(e.to_string()))
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
) -> ApiResult<ImportOutcome> {
    let name = name.trim();
    if name.is_empty()
        || name.len() > 50
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::unprocessable(
            "`source` names the export in 1 to 50 letters, digits, - or _ (for example `discourse`)",
        ));
    }
    let parsed = if json {
        liveops_wire::feedback::parse_json(bytes)
    } else {
        liveops_wire::feedback::parse_csv(bytes)
    }
    .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    let source = format!("import:{name}");
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
        match submit(state, project_id, &source, &sub, None, None).await {
            Ok(Some(_)) => out.imported += 1,
            Ok(None) => out.already += 1,
            Err(e) if e.status().is_client_error() => out
                .rejected
                .push((n, e.detail().unwrap_or("it was refused").to_owned())),
            Err(e) => return Err(e),
        }
    }
    out.rejected.sort();
    audit_log(
        state,
        actor,
        project_id,
        "feedback.import",
        &format!("{source}: {} new", out.imported),
    )
    .await?;
    Ok(out)
}
