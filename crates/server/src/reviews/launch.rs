//! Post-launch reviews: the facts of a release's first weeks (or any
//! period) against the same length of time before, read from analytics,
//! support, feedback, performance and security, with pre-filled sections.

use liveops_core::analytics::Interval;
use liveops_core::analytics::retention::{Cohort, ReturnMode};
use liveops_core::reviews::launch::{self, Adoption, Conversion, Sections};
use liveops_telemetry::analytics::{Feature, RetentionQuery};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::state::{AppState, format_ms};

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
) -> ApiResult<(LaunchFacts, Sections)> {
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
        crate::api::analytics::telemetry(state, move |a| -> Result<_, _> {
            let now = a.features(&id, &features, from, to)?;
            let before = a.features(&id, &features, before_from, from)?;
            // Week-1 retention of the people new in the ISO week a period
            // starts in, once the week after it is inside the period.
            let retention = |start: i64, end: i64| -> Result<Option<f64>, _> {
                if end - start < 14 * DAY_MS {
                    return Ok(None);
                }
                let q = RetentionQuery {
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
                let conv = |from: i64, to: i64| {
                    crate::api::analytics::key_funnel_conversion(a, &id, f, from, to)
                };
                conversions.push(ConversionView {
                    funnel: f.name.clone(),
                    conversion: conv(from, to)?,
                    conversion_before: conv(before_from, from)?,
                });
            }
            Ok((now, before, conversions, retention))
        })
        .await?;
    let counts = state.db.period_counts(project_id, from, to).await?;
    let counts_before = state
        .db
        .period_counts(project_id, before_from, from)
        .await?;
    let themes = state.db.feedback_themes(project_id, from, to, 5).await?;
    let regressions = state.db.regressions_between(project_id, from, to).await?;
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
