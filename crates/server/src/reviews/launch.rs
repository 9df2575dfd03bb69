//! Post-launch reviews: the facts of a release's first weeks (or any
//! period) against the same length of time before, read from analytics,
//! support, feedback, performance and security, with pre-filled sections.

use liveops_core::analytics::retention::{Cohort, ReturnMode};
use liveops_core::analytics::{Interval, revenue};
use liveops_core::reviews::launch::{self, Adoption, Conversion, Sections};
use liveops_telemetry::analytics::{Feature, RetentionQuery};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use liveops_core::feedback::backlog::ItemKind;
use liveops_store::StoreError;
use liveops_store::reviews::{self as store, LaunchReview, NewLaunchReview};

use super::postmortems::{MAX_SECTION, Who, long_text};
use crate::reviews::{Result, ReviewsError};
use crate::state::{AppState, format_ms};
use crate::timerange::parse_when;
use crate::work::{Audit, Work};

/// A feature's use during the review and before it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AdoptionView {
    pub feature: String,
    pub users: u64,
    pub users_before: u64,
    /// Share of the period's active users.
    pub adoption: f64,
    /// Nobody used it before: most likely it shipped in the period.
    pub new: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ConversionView {
    pub funnel: String,
    pub conversion: Option<f64>,
    pub conversion_before: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct ThemeView {
    /// The backlog item the feedback went to.
    pub item: String,
    pub feedback: i64,
}

/// What a post-launch review reads, each against the period before.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct LaunchFacts {
    pub from: String,
    pub to: String,
    pub active_users: u64,
    pub active_users_before: u64,
    pub adoption: Vec<AdoptionView>,
    pub conversions: Vec<ConversionView>,
    /// Week-1 retention of the people new in the period's first week, and
    /// in the period before; absent for periods under two weeks.
    pub retention: Option<f64>,
    pub retention_before: Option<f64>,
    pub incidents: i64,
    pub major_incidents: i64,
    pub tickets: i64,
    pub tickets_before: i64,
    pub regressions: Vec<String>,
    pub feedback: i64,
    pub feedback_before: i64,
    pub themes: Vec<ThemeView>,
    pub findings_opened: i64,
    pub findings_fixed: i64,
    /// Error issues first seen in the period, and before it.
    #[serde(default)]
    pub new_issues: i64,
    #[serde(default)]
    pub new_issues_before: i64,
    /// Resolved error issues that came back in the period.
    #[serde(default)]
    pub regressed_issues: i64,
    /// Revenue in the base currency during the period and before it (see
    /// the revenue API for what counts).
    #[serde(default)]
    pub revenue: Option<f64>,
    #[serde(default)]
    pub revenue_before: Option<f64>,
    #[serde(default)]
    pub revenue_currency: Option<String>,
    /// Facts worth a backlog item each.
    pub findings: Vec<String>,
}

const DAY_MS: i64 = 86_400_000;

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// Reads the facts of `[from, to)` and pre-fills the sections.
pub async fn generate(
    state: &AppState,
    project_id: &str,
    from: i64,
    to: i64,
) -> Result<(LaunchFacts, Sections)> {
    let before_from = from - (to - from);
    let features: Vec<Feature> = state
        .db
        .features(project_id)
        .await?
        .into_iter()
        .map(|f| Feature {
            name: f.name,
            events: f.events,
        })
        .collect();
    let funnels = state.db.key_funnels(project_id).await?;
    let id = project_id.to_owned();
    let (now, before, conversions, retention) =
        crate::analytics::telemetry(state, move |a| -> Result<_, _> {
            let now = a.features(&id, &features, from, to)?;
            let before = a.features(&id, &features, before_from, from)?;
            // Week-1 retention of the people new in the ISO week a period
            // starts in, once the week after it is inside the period.
            let retention = |start: i64, end: i64| -> Result<Option<f64>, _> {
                if end - start < 14 * DAY_MS {
                    return Ok(None);
                }
                let q = RetentionQuery {
                    persons: None,
                    start: Vec::new(),
                    returning: Vec::new(),
                    interval: Interval::Week,
                    from_ms: start,
                    periods: 2,
                    cohort: Cohort::FirstTime,
                    mode: ReturnMode::On,
                };
                a.retention(&id, &q).map(|cohorts| {
                    cohorts.first().and_then(|c| match c.counts.as_slice() {
                        [size, back, ..] if *size > 0 => Some(round4(*back as f64 / *size as f64)),
                        _ => None,
                    })
                })
            };
            let retention = (retention(before_from, from)?, retention(from, to)?);
            let mut conversions = Vec::new();
            for f in &funnels {
                let conv =
                    |from: i64, to: i64| crate::analytics::funnels::conversion(a, &id, f, from, to);
                conversions.push(ConversionView {
                    funnel: f.name.clone(),
                    conversion: conv(from, to)?,
                    conversion_before: conv(before_from, from)?,
                });
            }
            Ok((now, before, conversions, retention))
        })
        .await?;
    // One read of both periods' payments, summed per period.
    let (payments, money) =
        crate::analytics::revenue::payments(state, project_id, before_from, to).await?;
    let payments: Vec<_> = payments.into_iter().map(|(_, p)| p).collect();
    let sum = |from, to| revenue::revenue(&payments, &money.rates, Interval::Day, from, to);
    let (revenue, revenue_before) = (sum(from, to), sum(before_from, from));
    let revenue = (revenue.orders + revenue_before.orders > 0).then(|| launch::Revenue {
        currency: revenue.base.to_string(),
        before: revenue_before.revenue,
        after: revenue.revenue,
    });
    let counts = state.db.period_counts(project_id, from, to).await?;
    let counts_before = state
        .db
        .period_counts(project_id, before_from, from)
        .await?;
    let themes = state.db.feedback_themes(project_id, from, to, 5).await?;
    let regressions = state.db.regressions_between(project_id, from, to).await?;
    let (new_issues, regressed_issues) =
        state.db.issue_counts_between(project_id, from, to).await?;
    let (new_issues_before, _) = state
        .db
        .issue_counts_between(project_id, before_from, from)
        .await?;
    let mut adoption: Vec<AdoptionView> = now
        .features
        .iter()
        .map(|f| {
            let users_before = before
                .features
                .iter()
                .find(|b| b.name == f.name)
                .map_or(0, |b| b.users);
            AdoptionView {
                feature: f.name.clone(),
                users: f.users,
                users_before,
                adoption: round4(f.adoption),
                new: users_before == 0 && f.users > 0,
            }
        })
        .collect();
    // New features first: they are what the period shipped.
    adoption.sort_by_key(|a| !a.new);
    let core = launch::Facts {
        adoption: adoption
            .iter()
            .map(|a| Adoption {
                feature: a.feature.clone(),
                users_before: a.users_before,
                users_after: a.users,
                active_users: now.active_users,
            })
            .collect(),
        conversions: conversions
            .iter()
            .map(|c| Conversion {
                funnel: c.funnel.clone(),
                before: c.conversion_before,
                after: c.conversion,
            })
            .collect(),
        retention_before: retention.0,
        retention_after: retention.1,
        incidents: counts.incidents.max(0) as u64,
        major_incidents: counts.major_incidents.max(0) as u64,
        tickets: counts.tickets.max(0) as u64,
        tickets_before: counts_before.tickets.max(0) as u64,
        regressions: regressions.clone(),
        feedback: counts.feedback.max(0) as u64,
        feedback_before: counts_before.feedback.max(0) as u64,
        themes: themes
            .iter()
            .map(|(t, n)| (t.clone(), (*n).max(0) as u64))
            .collect(),
        findings_opened: counts.findings_opened.max(0) as u64,
        findings_closed: counts.findings_fixed.max(0) as u64,
        new_issues: new_issues.max(0) as u64,
        new_issues_before: new_issues_before.max(0) as u64,
        regressed_issues: regressed_issues.max(0) as u64,
        revenue: revenue.clone(),
    };
    let sections = launch::prefill(&core);
    Ok((
        LaunchFacts {
            from: format_ms(from),
            to: format_ms(to),
            active_users: now.active_users,
            active_users_before: before.active_users,
            adoption,
            conversions,
            retention: retention.1,
            retention_before: retention.0,
            incidents: counts.incidents,
            major_incidents: counts.major_incidents,
            tickets: counts.tickets,
            tickets_before: counts_before.tickets,
            regressions,
            feedback: counts.feedback,
            feedback_before: counts_before.feedback,
            themes: themes
                .into_iter()
                .map(|(item, feedback)| ThemeView { item, feedback })
                .collect(),
            findings_opened: counts.findings_opened,
            findings_fixed: counts.findings_fixed,
            new_issues,
            new_issues_before,
            regressed_issues,
            revenue: revenue.as_ref().map(|r| r.after),
            revenue_before: revenue.as_ref().map(|r| r.before),
            revenue_currency: revenue.map(|r| r.currency),
            findings: sections.findings.clone(),
        },
        sections,
    ))
}

/// Sections as the text people edit: one fact per line.
pub fn lines(v: &[String]) -> String {
    v.iter()
        .map(|l| format!("- {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LaunchReviewBody {
    /// A shipped release's version: the review covers its first `days`.
    pub release: Option<String>,
    /// Or a period: start (date or RFC 3339)…
    pub from: Option<String>,
    /// …and end, exclusive (now by default).
    pub to: Option<String>,
    /// With a release, how many days after it shipped (14 by default).
    pub days: Option<i64>,
    pub title: Option<String>,
}

/// A review by number (`3` or `#3`).
pub async fn find_review(state: &AppState, project_id: &str, number: &str) -> Result<LaunchReview> {
    let n: i64 = number
        .trim_start_matches('#')
        .parse()
        .map_err(|_| ReviewsError::not_found(format!("no review #{number}")))?;
    state
        .db
        .launch_review(project_id, n)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ReviewsError::not_found(format!("no review #{n}")),
            e => e.into(),
        })
}

/// Generates and keeps a post-launch review.
pub async fn review(
    state: &AppState,
    who: &Who<'_>,
    body: &LaunchReviewBody,
) -> Result<LaunchReview> {
    let now = state.now_ms();
    let release = match body.release.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => match state.db.release(who.project_id, v).await {
            Ok(r) => Some(r),
            Err(StoreError::NotFound) => {
                return Err(ReviewsError::invalid(format!("no release `{v}`")));
            }
            Err(e) => return Err(e.into()),
        },
    };
    let (from, to) = match &release {
        Some(r) => {
            if body.from.is_some() || body.to.is_some() {
                return Err(ReviewsError::invalid(
                    "give a release or a period (`from`, `to`), not both",
                ));
            }
            let shipped = r.shipped_at.ok_or_else(|| {
                ReviewsError::invalid(format!(
                    "release {} has not shipped; review it once it is live",
                    r.version
                ))
            })?;
            let days = body.days.unwrap_or(14);
            if !(1..=365).contains(&days) {
                return Err(ReviewsError::invalid("`days` must be 1 to 365"));
            }
            (
                shipped,
                (shipped + days * 86_400_000).min(now).max(shipped + 1),
            )
        }
        None => {
            let from = body
                .from
                .as_deref()
                .ok_or_else(|| ReviewsError::invalid("give a `release` or a `from` date"))
                .and_then(|f| Ok(parse_when("from", f)?))?;
            let to = body
                .to
                .as_deref()
                .map(|t| parse_when("to", t))
                .transpose()?
                .unwrap_or(now);
            if from >= to || to - from > 366 * 86_400_000 {
                return Err(ReviewsError::invalid(
                    "`from` must come before `to`, at most a year apart",
                ));
            }
            (from, to)
        }
    };
    let title = match body
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(t) => {
            crate::support::tickets::clean_text("title", t, 200).map_err(ReviewsError::invalid)?
        }
        None => match &release {
            Some(r) => format!("Post-launch review of {}", r.version),
            None => format!(
                "Review of {} to {}",
                &format_ms(from)[..10],
                &format_ms(to)[..10]
            ),
        },
    };
    let (facts, sections) = generate(state, who.project_id, from, to).await?;
    let body_json = serde_json::to_string(&facts).map_err(ReviewsError::internal)?;
    let mut w = Work::begin(&state.db, &*state.clock, &who.actor, Some(who.project_id)).await?;
    let r = store::insert_launch_review(
        w.conn(),
        who.project_id,
        &NewLaunchReview {
            title: &title,
            release_id: release.as_ref().map(|r| r.id.as_str()),
            from_at: from,
            to_at: to,
            facts: &body_json,
            went_well: &lines(&sections.went_well),
            failed: &lines(&sections.failed),
            improve: &lines(&sections.improve),
            created_by: &who.actor.name,
        },
        now,
    )
    .await?;
    w.commit(Audit::new("review.create", r.number.to_string()))
        .await?;
    Ok(r)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewSectionsBody {
    pub went_well: Option<String>,
    pub failed: Option<String>,
    pub improve: Option<String>,
}

/// Saves a review's sections.
pub async fn save_review(
    state: &AppState,
    who: &Who<'_>,
    number: &str,
    body: &ReviewSectionsBody,
) -> Result<()> {
    let r = find_review(state, who.project_id, number).await?;
    let pick = |name: &str, given: &Option<String>, old: &str| -> Result<String> {
        match given {
            Some(v) => long_text(name, v, MAX_SECTION),
            None => Ok(old.to_owned()),
        }
    };
    let went_well = pick("went_well", &body.went_well, &r.went_well)?;
    let failed = pick("failed", &body.failed, &r.failed)?;
    let improve = pick("improve", &body.improve, &r.improve)?;
    let mut w = Work::begin(&state.db, &*state.clock, &who.actor, Some(who.project_id)).await?;
    let now = w.now();
    store::save_launch_review(w.conn(), &r.id, &went_well, &failed, &improve, now).await?;
    w.commit(Audit::new("review.edit", r.number.to_string()))
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingBody {
    /// The finding, as the backlog item's title.
    pub title: String,
    pub body: Option<String>,
    /// enhancement (default), bug, tech_debt or security.
    pub kind: Option<String>,
}

/// Raises a backlog item from one of a review's findings.
pub async fn raise_finding(
    state: &AppState,
    who: &Who<'_>,
    number: &str,
    body: &FindingBody,
) -> Result<()> {
    let r = find_review(state, who.project_id, number).await?;
    let title = crate::support::tickets::clean_text("title", &body.title, 200)
        .map_err(ReviewsError::invalid)?;
    let kind = match body.kind.as_deref() {
        None => ItemKind::Enhancement,
        Some(k) => ItemKind::parse(k).ok_or_else(|| {
            ReviewsError::invalid(format!(
                "kind `{k}` is not one of: enhancement, bug, tech_debt, security"
            ))
        })?,
    };
    let text = long_text("body", body.body.as_deref().unwrap_or(""), MAX_SECTION)?;
    let text = if text.is_empty() {
        format!("A finding of review #{}: {}", r.number, r.title)
    } else {
        text
    };
    let mut w = Work::begin(&state.db, &*state.clock, &who.actor, Some(who.project_id)).await?;
    let now = w.now();
    let item =
        store::add_review_item(w.conn(), &r, kind, &title, &text, &who.actor.name, now).await?;
    w.commit(
        Audit::new("review.finding", r.number.to_string())
            .detail(serde_json::json!({ "item": item })),
    )
    .await?;
    Ok(())
}

/// A review with the backlog items raised from it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub review: LaunchReview,
    /// (item number, title, status).
    pub items: Vec<(i64, String, String)>,
}

/// A review, read for showing.
pub async fn shown(state: &AppState, review: LaunchReview) -> Result<Shown> {
    let items = state.db.review_items(&review.id).await?;
    Ok(Shown { review, items })
}

/// A review by number, read for showing.
pub async fn shown_by_number(state: &AppState, project_id: &str, number: &str) -> Result<Shown> {
    let r = find_review(state, project_id, number).await?;
    shown(state, r).await
}
